/// Two runs of different configurations side by side (`vodsim compare A B --what-if`): what
/// differs in their resolved scenarios, key by key; every figure of their reports with the change;
/// and their time series overlaid. Unlike the regression comparison it judges nothing: a what-if
/// is a question, not a gate.
public struct WhatIfComparison {
    public let a: JSONValue
    public let b: JSONValue
    public let labelA: String
    public let labelB: String

    /// A scenario key set differently (or only) in one of the runs.
    public struct Difference: Sendable, Equatable {
        public var key: String
        /// The value as scenario text (JSON), nil where the run does not have the key.
        public var a: String?
        public var b: String?
    }

    /// One figure of the reports.
    public struct Figure: Sendable, Equatable {
        public var path: String
        public var a: Double?
        public var b: Double?
        public var change: Double? { a.flatMap { x in b.map { $0 - x } } }
        /// The change relative to A, nil when A is 0 or missing.
        public var relative: Double? { a.flatMap { x in x != 0 ? change.map { $0 / abs(x) } : nil } }
    }

    /// Reports of one schema version; anything else cannot be read side by side.
    public init(a: JSONValue, b: JSONValue, labelA: String, labelB: String) throws(IncomparableReports) {
        guard let va = a["schemaVersion"], let vb = b["schemaVersion"] else {
            throw IncomparableReports(description: "not a vodsim report (no schemaVersion)")
        }
        guard va == vb else {
            throw IncomparableReports(description: "report schemas differ (\(va.serialized(pretty: false)) vs \(vb.serialized(pretty: false)))")
        }
        self.a = a
        self.b = b
        self.labelA = labelA
        self.labelB = labelB
    }

    // MARK: Flattening

    /// The leaves of `value` by path: objects by key, lists of records by their `id` (or
    /// `region`, `partition`, `title`), other lists by index; with `lists`, a list of scalars is
    /// one leaf (a scenario's `regions: [a, b]`, a time series).
    static func leaves(_ value: JSONValue, _ path: String = "", lists: Bool = false) -> [(String, JSONValue)] {
        func join(_ key: String) -> String { path.isEmpty ? key : path + "." + key }
        switch value {
        case let .object(pairs):
            return pairs.flatMap { leaves($0.1, join($0.0), lists: lists) }
        case let .array(items):
            let records = items.allSatisfy { if case .object = $0 { true } else { false } }
            if !records {
                return lists ? [(path, value)] : items.enumerated().flatMap { leaves($0.1, "\(path)[\($0.0)]", lists: lists) }
            }
            return items.enumerated().flatMap { i, item -> [(String, JSONValue)] in
                let id = ["id", "region", "partition", "title"].lazy.compactMap { key -> String? in
                    switch item[key] {
                    case let .string(s)?: s
                    case let .integer(n)?: String(n)
                    default: nil
                    }
                }.first ?? String(i)
                return leaves(item, "\(path)[\(id)]", lists: lists)
            }
        default:
            return [(path, value)]
        }
    }

    /// The resolved scenarios' differences, in A's key order then B's own keys. The seed is one of
    /// them when it differs: it is part of what ran.
    public var differences: [Difference] {
        // A scenario's text values read as written (`4 TB`), not as JSON strings.
        func text(_ v: JSONValue) -> String { if case let .string(s) = v { s } else { v.serialized(pretty: false) } }
        let left = Self.leaves(a["resolvedScenario"] ?? .null, lists: true)
        let right = Self.leaves(b["resolvedScenario"] ?? .null, lists: true)
        let rightIndex = Dictionary(right.map { ($0.0, $0.1) }, uniquingKeysWith: { x, _ in x })
        let leftKeys = Set(left.map(\.0))
        var out: [Difference] = []
        for (key, value) in left where rightIndex[key] != value {
            out.append(Difference(key: key, a: text(value), b: rightIndex[key].map(text)))
        }
        for (key, value) in right where !leftKeys.contains(key) {
            out.append(Difference(key: key, a: nil, b: text(value)))
        }
        return out
    }

    /// Every number under `metrics` in either report (a figure without data is nil on its side).
    public var figures: [Figure] {
        func numbers(_ r: JSONValue) -> [(String, Double?)] {
            Self.leaves(r["metrics"] ?? .null, "metrics").compactMap { path, v in
                switch v {
                case .integer, .number: (path, v.double)
                case .null: (path, nil)
                default: nil
                }
            }
        }
        let left = numbers(a), right = numbers(b)
        let rightIndex = Dictionary(right.map { ($0.0, $0.1) }, uniquingKeysWith: { x, _ in x })
        let leftKeys = Set(left.map(\.0))
        return left.map { Figure(path: $0.0, a: $0.1, b: rightIndex[$0.0] ?? nil) }
            + right.filter { !leftKeys.contains($0.0) }.map { Figure(path: $0.0, a: nil, b: $0.1) }
    }

    // MARK: Output

    static func number(_ x: Double?) -> String { x.map(ReportComparison.number) ?? "no data" }

    static func percent(_ x: Double?) -> String {
        guard let x else { return "" }
        let p = x * 100
        return (p > 0 ? "+" : "") + Tolerance.trim((p * 10).rounded() / 10) + "%"
    }

    public var differenceTable: TextTable {
        var t = TextTable(header: ["scenario key", labelA, labelB])
        for d in differences { t.add([d.key, d.a ?? "(absent)", d.b ?? "(absent)"]) }
        return t
    }

    /// The figures; with `changedOnly`, those that differ.
    public func figureTable(changedOnly: Bool = false) -> TextTable {
        var t = TextTable(header: ["metric", labelA, labelB, "change", "relative"], rightAligned: [1, 2, 3, 4])
        for f in figures where !changedOnly || f.a != f.b {
            t.add([f.path, Self.number(f.a), Self.number(f.b), f.change.map { ($0 > 0 ? "+" : "") + ReportComparison.number($0) } ?? "–",
                   Self.percent(f.relative)])
        }
        return t
    }

    public var text: String {
        var out = "What if: \(labelA) (A) against \(labelB) (B)\n\n"
        let differences = self.differences
        out += differences.isEmpty ? "The resolved scenarios are the same.\n\n" : "Scenario keys that differ:\n\n" + differenceTable.plain + "\n"
        out += "Figures that differ (all of them with --format markdown or json):\n\n" + figureTable(changedOnly: true).plain
        return out
    }

    public var markdown: String {
        "# What if: \(labelA) against \(labelB)\n\n## Scenario keys that differ\n\n"
            + (differences.isEmpty ? "None: the resolved scenarios are the same.\n" : differenceTable.markdown)
            + "\n## Figures\n\n" + figureTable().markdown
    }

    public var json: JSONValue {
        .object([
            ("a", .string(labelA)), ("b", .string(labelB)),
            ("differences", .array(differences.map { d in
                .object([("key", .string(d.key)), ("a", d.a.map { .string($0) } ?? .null), ("b", d.b.map { .string($0) } ?? .null)])
            })),
            ("figures", .array(figures.map { f in
                .object([("metric", .string(f.path)), ("a", f.a.map { .rounded($0, digits: 6) } ?? .null),
                         ("b", f.b.map { .rounded($0, digits: 6) } ?? .null), ("change", f.change.map { .rounded($0, digits: 6) } ?? .null)])
            })),
        ])
    }

    /// compare.html: the differing keys, the two runs' time series overlaid on the same axes (A
    /// solid, B dashed, one colour per series), and every figure side by side.
    public var html: String {
        func series(_ r: JSONValue) -> [(String, [Double])] {
            Self.leaves(r["timeseries"] ?? .null, lists: true).compactMap { path, v in
                guard case let .array(items) = v, path != "bucketStarts" else { return nil }
                return (path, items.map { $0.double ?? .nan })
            }
        }
        let left = series(a), right = Dictionary(series(b).map { ($0.0, $0.1) }, uniquingKeysWith: { x, _ in x })
        var labels: [String] = []
        if case let .array(starts)? = a.at(["timeseries", "bucketStarts"]) {
            labels = starts.map { if case let .string(s) = $0 { String(s.dropFirst(11).prefix(5)) } else { "" } }
        }
        let sameBuckets = a.at(["timeseries", "bucket"]) == b.at(["timeseries", "bucket"])
            && a.at(["timeseries", "bucketStarts"]) == b.at(["timeseries", "bucketStarts"])
        var page = HTMLPage.head(title: "What if: \(labelA) against \(labelB)") + """
            <h1>What if: \(escape(labelA)) against \(escape(labelB))</h1>
            <p>A is <code>\(escape(labelA))</code> (solid lines), B is <code>\(escape(labelB))</code> (dashed, the same colour).\
            \(sameBuckets ? "" : " Their buckets differ: series are drawn bucket by bucket from each run's start, on A's time labels.")</p>
            <h2>Scenario keys that differ</h2>

            """
        page += differences.isEmpty ? "<p>None: the resolved scenarios are the same.</p>\n" : differenceTable.html
        page += "<h2>Over time</h2>\n"
        // Group series by their first path component: one chart per quantity, e.g. every
        // PoP's egress together.
        var groups: [(String, [(String, [Double])])] = []
        for (path, values) in left {
            let head = String(path.split(separator: ".").first ?? Substring(path))
            if let i = groups.firstIndex(where: { $0.0 == head }) { groups[i].1.append((path, values)) } else { groups.append((head, [(path, values)])) }
        }
        for (head, members) in groups {
            var lines: [LineChart.Series] = []
            for (path, values) in members.prefix(5) {
                let name = path == head ? "" : String(path.dropFirst(head.count + 1))
                let colour = lines.count
                lines.append(.init(name.isEmpty ? "A" : "A " + name, values))
                if let other = right[path] { lines.append(.init(name.isEmpty ? "B" : "B " + name, other, dashed: true, colourOf: colour)) }
            }
            let count = lines.map(\.values.count).max() ?? 0
            let axis = labels.count >= count ? labels : labels + Array(repeating: "", count: count - labels.count)
            page += LineChart(title: head + (members.count > 5 ? " (the first 5 of \(members.count))" : ""), unit: Self.unit(head),
                              labels: axis, series: lines).svg
        }
        page += "<h2>Figures</h2>\n" + figureTable().html
        return page + HTMLPage.end
    }

    /// A unit from a series' name (`originEgressGbps` → "Gbit/s").
    static func unit(_ name: String) -> String {
        for (suffix, unit) in [("Ms", "ms"), ("Kbps", "kbit/s"), ("Gbps", "Gbit/s"), ("Percent", "%"), ("Seconds", "s"), ("GB", "GB"),
                               ("Minutes", "min"), ("PerHour", "per hour"), ("Events", "events")] where name.hasSuffix(suffix) {
            return unit
        }
        return name == "hitRatio" ? "ratio" : ""
    }
}
