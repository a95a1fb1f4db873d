import Reports
import Stochastics
import Yams

/// A validated scenario value with every default filled in, in base units.
public indirect enum Resolved: Sendable {
    case text(String)
    case integer(Int64)
    case boolean(Bool)
    case quantity(Double, QuantityKind)
    /// Seconds since 1970-01-01T00:00:00Z.
    case dateTime(Int64)
    /// Seconds since local midnight.
    case timeOfDay(Int)
    case choice(String)
    case distribution(DistributionValue)
    case zipf(Double)
    case curve(CurveValue)
    case list([Resolved])
    case object([(String, Resolved)])
    /// An optional key that was not given.
    case absent

    /// The value under `key` of an object (`.absent` when there is none).
    public subscript(key: String) -> Resolved {
        guard case let .object(pairs) = self else { return .absent }
        return pairs.first { $0.0 == key }?.1 ?? .absent
    }

    /// The same tree with the value at `keys` (object keys) replaced.
    func replacing(_ keys: ArraySlice<String>, with value: Resolved) -> Resolved {
        guard let key = keys.first else { return value }
        guard case var .object(pairs) = self, let i = pairs.firstIndex(where: { $0.0 == key }) else { return self }
        pairs[i].1 = pairs[i].1.replacing(keys.dropFirst(), with: value)
        return .object(pairs)
    }

    func replacing(_ keys: [String], with value: Resolved) -> Resolved { replacing(keys[...], with: value) }

    public var isAbsent: Bool { if case .absent = self { return true } else { return false } }

    public var text: String {
        switch self {
        case let .text(s), let .choice(s): return s
        default: preconditionFailure("not text: \(self)")
        }
    }

    public var integer: Int64 {
        guard case let .integer(i) = self else { preconditionFailure("not an integer: \(self)") }
        return i
    }

    public var boolean: Bool {
        guard case let .boolean(b) = self else { preconditionFailure("not a boolean: \(self)") }
        return b
    }

    /// A quantity in base units.
    public var value: Double {
        guard case let .quantity(x, _) = self else { preconditionFailure("not a quantity: \(self)") }
        return x
    }

    public var list: [Resolved] {
        switch self {
        case let .list(items): return items
        case .absent: return []
        default: preconditionFailure("not a list: \(self)")
        }
    }

    public var distribution: DistributionValue {
        guard case let .distribution(d) = self else { preconditionFailure("not a distribution: \(self)") }
        return d
    }

    // MARK: Canonical forms

    /// The scalar text of a value as it would be written in a scenario.
    var scalarText: String? {
        switch self {
        case let .text(s), let .choice(s): return s
        case let .integer(i): return String(i)
        case let .boolean(b): return b ? "true" : "false"
        case let .quantity(x, kind): return Quantity.format(x, as: kind)
        case let .dateTime(t): return DateTimeText.format(t)
        case let .timeOfDay(s): return DateTimeText.formatTimeOfDay(s)
        case let .curve(c): if case let .named(name) = c { return name } else { return nil }
        default: return nil
        }
    }

    /// The canonical JSON form: quantities as their canonical text (`"4 s"`), so that the JSON is
    /// also a valid scenario.
    public var json: JSONValue {
        switch self {
        case let .integer(i): return .integer(i)
        case let .boolean(b): return .bool(b)
        case let .quantity(x, .number): return JSONValue.rounded(x, digits: 9)
        case let .zipf(s): return .object([("zipf", JSONValue.rounded(s, digits: 9))])
        case let .curve(.hourly(values)): return .array(values.map { JSONValue.rounded($0, digits: 9) })
        case let .distribution(d): return d.json
        case let .list(items): return .array(items.map(\.json))
        case let .object(pairs): return .object(pairs.filter { !$0.1.isAbsent }.map { ($0.0, $0.1.json) })
        case .absent: return .null
        default: return .string(scalarText!)
        }
    }

    /// The canonical YAML node, for `vodsim validate`.
    var yamlNode: Node {
        switch self {
        case let .integer(i): return Node(String(i), .implicit)
        case let .boolean(b): return Node(b ? "true" : "false", .implicit)
        case let .quantity(x, .number): return Node(Quantity.formatDecimal(x), .implicit)
        case let .zipf(s): return Node([(Node("zipf"), Node(Quantity.formatDecimal(s), .implicit))], .implicit, .flow)
        case let .curve(.hourly(values)):
            return Node(values.map { Node(Quantity.formatDecimal($0), .implicit) }, .implicit, .flow)
        case let .distribution(d): return d.yamlNode
        case let .list(items): return Node(items.map(\.yamlNode), .implicit, .block)
        case let .object(pairs):
            return Node(pairs.filter { !$0.1.isAbsent }.map { (Node($0.0), $0.1.yamlNode) }, .implicit, .block)
        case .absent: return Node("null", .implicit)
        case let .text(s), let .choice(s):
            // Quote text that YAML would otherwise read as another type.
            return Node(s, .implicit, Resolved.needsQuotes(s) ? .doubleQuoted : .plain)
        default: return Node(scalarText!, .implicit, .plain)
        }
    }

    static func needsQuotes(_ s: String) -> Bool {
        if s.isEmpty { return true }
        let lower = s.lowercased()
        if ["true", "false", "yes", "no", "on", "off", "null", "~"].contains(lower) { return true }
        if Double(s) != nil { return true }
        return s.contains(": ") || s.contains(" #") || s.hasPrefix(" ") || s.hasSuffix(" ")
            || "-?:,[]{}#&*!|>'\"%@`".contains(s.first!)
    }
}

/// A daily demand shape: one of the built-in names, or 24 relative values.
public enum CurveValue: Sendable, Equatable {
    case named(String)
    case hourly([Double])
}

/// A validated distribution: its canonical spelling and the sampler, in base units.
public struct DistributionValue: Sendable {
    /// The distribution's name as written: exponential, lognormal, ...
    public var name: String
    /// Parameters in canonical order, as resolved values (quantities keep their kind).
    public var parameters: [(String, Resolved)]
    /// The sampler, in base units (seconds for durations, bits per second for rates).
    public var distribution: Distribution

    var json: JSONValue {
        if name == "empirical", case let .list(points) = parameters.first?.1 {
            return .object([(name, .array(points.map(\.json)))])
        }
        if name == "constant", let v = parameters.first?.1 { return .object([(name, v.json)]) }
        return .object([(name, .object(parameters.map { ($0.0, $0.1.json) }))])
    }

    var yamlNode: Node {
        if name == "empirical", case let .list(points) = parameters.first?.1 {
            return Node([(Node(name), Node(points.map { p -> Node in
                guard case let .list(pair) = p else { return p.yamlNode }
                return Node(pair.map(\.yamlNode), .implicit, .flow)
            }, .implicit, .flow))], .implicit, .flow)
        }
        if name == "constant", let v = parameters.first?.1 {
            return Node([(Node(name), v.yamlNode)], .implicit, .flow)
        }
        let inner = Node(parameters.map { (Node($0.0), $0.1.yamlNode) }, .implicit, .flow)
        return Node([(Node(name), inner)], .implicit, .flow)
    }
}

/// ISO 8601 UTC date-times and times of day, without Foundation's calendar (deterministic and
/// independent of the machine's time zone).
enum DateTimeText {
    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (also `+00:00`); returns seconds since the Unix epoch.
    static func parse(_ text: String) -> Int64? {
        var s = text
        if s.hasSuffix("+00:00") { s = String(s.dropLast(6)) + "Z" }
        let chars = Array(s)
        guard chars.count == 20, chars[4] == "-", chars[7] == "-", chars[10] == "T", chars[13] == ":",
              chars[16] == ":", chars[19] == "Z" else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(chars[range])) }
        guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10),
              let h = number(11..<13), let mi = number(14..<16), let sec = number(17..<19),
              (1...12).contains(mo), (1...daysIn(month: mo, year: y)).contains(d),
              (0...23).contains(h), (0...59).contains(mi), (0...59).contains(sec) else { return nil }
        return daysFromCivil(y, mo, d) * 86_400 + Int64(h * 3_600 + mi * 60 + sec)
    }

    static func format(_ t: Int64) -> String {
        let days = floorDiv(t, 86_400)
        let secs = t - days * 86_400
        let (y, m, d) = civilFromDays(days)
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(Int(secs / 3_600), 2)):\(pad(Int(secs % 3_600 / 60), 2)):\(pad(Int(secs % 60), 2))Z"
    }

    /// Parses `HH:MM` (00:00 to 24:00); returns seconds since midnight.
    static func parseTimeOfDay(_ text: String) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
              let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0...59).contains(m),
              h < 24 || m == 0 else { return nil }
        return h * 3_600 + m * 60
    }

    static func formatTimeOfDay(_ s: Int) -> String { "\(pad(s / 3_600, 2)):\(pad(s % 3_600 / 60, 2))" }

    static func pad(_ x: Int, _ width: Int) -> String {
        let s = String(x)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = Int64(m <= 2 ? y0 - 1 : y0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((m + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Howard Hinnant's civil_from_days.
    static func civilFromDays(_ z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }
}
