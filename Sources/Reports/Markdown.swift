/// A Markdown or plain-text table with aligned columns, for summaries people read.
public struct TextTable {
    public var header: [String]
    public var rows: [[String]] = []
    /// Columns aligned to the right (numbers).
    public var rightAligned: Set<Int> = []

    public init(header: [String], rightAligned: Set<Int> = []) {
        self.header = header
        self.rightAligned = rightAligned
    }

    public mutating func add(_ row: [String]) {
        precondition(row.count == header.count, "table row has \(row.count) cells, header \(header.count)")
        rows.append(row)
    }

    var widths: [Int] {
        header.indices.map { c in max(header[c].count, rows.map { $0[c].count }.max() ?? 0) }
    }

    func pad(_ text: String, _ width: Int, right: Bool) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }

    /// A GitHub-flavoured Markdown table.
    public var markdown: String {
        let w = widths
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { pad($1, w[$0], right: rightAligned.contains($0)) }.joined(separator: " | ") + " |"
        }
        var out = line(header) + "\n"
        out += "|" + w.enumerated().map { c, width in
            let dashes = String(repeating: "-", count: max(3, width))
            return rightAligned.contains(c) ? " " + dashes.dropLast() + ": " : " " + dashes + " "
        }.joined(separator: "|") + "|\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }

    /// A plain table for terminals: columns separated by two spaces.
    public var plain: String {
        let w = widths
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { pad($1, w[$0], right: rightAligned.contains($0)) }.joined(separator: "  ")
        }
        var out = line(header) + "\n"
        out += w.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }
}
