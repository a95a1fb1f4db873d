/// A small, strict XML reader for manifests: elements, attributes, text, comments, the XML
/// declaration and the predefined and numeric character references. No DTDs, no processing
/// instructions beyond the declaration, no namespaces beyond keeping prefixed names as written;
/// enough for MPDs, with line numbers for errors. (The real-code modules use the standard library
/// only, so Foundation's XMLParser is not available.)
struct XMLElement: Equatable {
    var name: String
    /// Attributes in document order.
    var attributes: [(String, String)]
    var children: [XMLElement]
    var text: String
    var line: Int

    static func == (a: XMLElement, b: XMLElement) -> Bool {
        a.name == b.name && a.children == b.children && a.text == b.text
            && a.attributes.count == b.attributes.count && zip(a.attributes, b.attributes).allSatisfy { $0 == $1 }
    }

    func attribute(_ name: String) -> String? { attributes.first { $0.0 == name }?.1 }

    func children(named name: String) -> [XMLElement] { children.filter { $0.name == name } }
}

struct XMLReader {
    let chars: [Character]
    var i = 0
    var line = 1

    static func parse(_ text: String) throws(ManifestError) -> XMLElement {
        var reader = XMLReader(chars: Array(text))
        return try reader.document()
    }

    mutating func document() throws(ManifestError) -> XMLElement {
        skipWhitespace()
        if starts(with: "<?xml") {
            guard let end = find("?>") else { throw ManifestError(line: line, "unterminated XML declaration") }
            advance(to: end + 2)
        }
        skipMisc()
        guard peek() == "<" else { throw ManifestError(line: line, "expected the root element") }
        let root = try element()
        skipMisc()
        guard i == chars.count else { throw ManifestError(line: line, "content after the root element") }
        return root
    }

    mutating func element() throws(ManifestError) -> XMLElement {
        let startLine = line
        expect("<")
        let name = readName()
        guard !name.isEmpty else { throw ManifestError(line: line, "expected an element name") }
        var attributes: [(String, String)] = []
        while true {
            skipWhitespace()
            guard let c = peek() else { throw ManifestError(line: line, "unterminated <\(name)>") }
            if c == "/" {
                bump()
                guard peek() == ">" else { throw ManifestError(line: line, "expected '>' after '/' in <\(name)>") }
                bump()
                return XMLElement(name: name, attributes: attributes, children: [], text: "", line: startLine)
            }
            if c == ">" {
                bump()
                break
            }
            let attribute = readName()
            guard !attribute.isEmpty else { throw ManifestError(line: line, "malformed attribute in <\(name)>") }
            skipWhitespace()
            guard peek() == "=" else { throw ManifestError(line: line, "attribute \(attribute) of <\(name)> needs a value") }
            bump()
            skipWhitespace()
            guard let quote = peek(), quote == "\"" || quote == "'" else {
                throw ManifestError(line: line, "attribute \(attribute) of <\(name)> needs a quoted value")
            }
            bump()
            var value = ""
            while let c = peek(), c != quote {
                if c == "<" { throw ManifestError(line: line, "'<' in the value of \(attribute)") }
                value += try c == "&" ? reference() : String(take())
            }
            guard peek() == quote else { throw ManifestError(line: line, "unterminated value of \(attribute)") }
            bump()
            if attributes.contains(where: { $0.0 == attribute }) {
                throw ManifestError(line: line, "attribute \(attribute) appears twice in <\(name)>")
            }
            attributes.append((attribute, value))
        }
        var children: [XMLElement] = []
        var text = ""
        while true {
            guard let c = peek() else { throw ManifestError(line: startLine, "<\(name)> is never closed") }
            if c == "<" {
                if starts(with: "</") {
                    advance(to: i + 2)
                    let closing = readName()
                    guard closing == name else {
                        throw ManifestError(line: line, "</\(closing)> closes <\(name)> (opened on line \(startLine))")
                    }
                    skipWhitespace()
                    guard peek() == ">" else { throw ManifestError(line: line, "expected '>' in </\(name)>") }
                    bump()
                    let trimmed = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                    return XMLElement(name: name, attributes: attributes, children: children, text: trimmed, line: startLine)
                }
                if starts(with: "<!--") {
                    try comment()
                    continue
                }
                children.append(try element())
            } else {
                text += try c == "&" ? reference() : String(take())
            }
        }
    }

    mutating func reference() throws(ManifestError) -> String {
        guard let end = chars[i...].firstIndex(of: ";"), end - i < 12 else {
            throw ManifestError(line: line, "unterminated character reference")
        }
        let name = String(chars[(i + 1)..<end])
        advance(to: end + 1)
        switch name {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        default:
            let code: UInt32? = name.hasPrefix("#x") ? UInt32(name.dropFirst(2), radix: 16) : name.hasPrefix("#") ? UInt32(name.dropFirst()) : nil
            guard let code, let scalar = Unicode.Scalar(code) else { throw ManifestError(line: line, "unknown entity &\(name);") }
            return String(Character(scalar))
        }
    }

    mutating func comment() throws(ManifestError) {
        guard let end = find("-->") else { throw ManifestError(line: line, "unterminated comment") }
        advance(to: end + 3)
    }

    mutating func skipMisc() {
        while true {
            skipWhitespace()
            if starts(with: "<!--"), (try? comment()) != nil { continue }
            return
        }
    }

    mutating func readName() -> String {
        var name = ""
        while let c = peek(), c.isLetter || c.isNumber || c == ":" || c == "_" || c == "-" || c == "." {
            name.append(take())
        }
        return name
    }

    func peek() -> Character? { i < chars.count ? chars[i] : nil }

    mutating func take() -> Character {
        let c = chars[i]
        bump()
        return c
    }

    mutating func bump() {
        if chars[i] == "\n" { line += 1 }
        i += 1
    }

    mutating func advance(to j: Int) { while i < j { bump() } }
    mutating func expect(_ c: Character) { precondition(peek() == c); bump() }

    mutating func skipWhitespace() { while let c = peek(), c.isWhitespace { bump() } }

    func starts(with s: String) -> Bool {
        var j = i
        for c in s {
            guard j < chars.count, chars[j] == c else { return false }
            j += 1
        }
        return true
    }

    func find(_ s: String) -> Int? {
        var j = i
        while j < chars.count {
            if XMLReader(chars: chars, i: j, line: 0).starts(with: s) { return j }
            j += 1
        }
        return nil
    }
}

/// Escapes text for an XML attribute value.
func xmlEscaped(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}
