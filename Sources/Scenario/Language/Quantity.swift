/// The kinds of unit-bearing values in a scenario. Each has a base unit in which values are
/// stored: seconds, bytes, bits per second, plain counts, events per second, fractions.
public enum QuantityKind: String, Sendable, CaseIterable {
    case duration, dataSize, dataRate, count, eventRate, fraction, number

    /// The phrase used in messages: "expected a data rate such as 400 Gbps".
    public var noun: String {
        switch self {
        case .duration: "a duration"
        case .dataSize: "a data size"
        case .dataRate: "a data rate"
        case .count: "a count"
        case .eventRate: "an event rate"
        case .fraction: "a fraction"
        case .number: "a number"
        }
    }

    /// The plural phrase: "distribution of durations".
    public var plural: String {
        switch self {
        case .duration: "durations"
        case .dataSize: "data sizes"
        case .dataRate: "data rates"
        case .count: "counts"
        case .eventRate: "event rates"
        case .fraction: "fractions"
        case .number: "numbers"
        }
    }

    public var example: String {
        switch self {
        case .duration: "4 s"
        case .dataSize: "280 TB"
        case .dataRate: "400 Gbps"
        case .count: "1.2M"
        case .eventRate: "20k/s"
        case .fraction: "5%"
        case .number: "0.8"
        }
    }

    /// Units and their size in the base unit, largest first (the order canonical output prefers).
    public var units: [(String, Double)] {
        switch self {
        case .duration: [("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1), ("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6)]
        case .dataSize: [("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3), ("KB", 1e3), ("B", 1),
                         ("PiB", 1_125_899_906_842_624), ("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824),
                         ("MiB", 1_048_576), ("KiB", 1_024)]
        case .dataRate: [("Tbps", 1e12), ("Gbps", 1e9), ("Mbps", 1e6), ("kbps", 1e3), ("Kbps", 1e3), ("bps", 1),
                         ("TB/s", 8e12), ("GB/s", 8e9), ("MB/s", 8e6), ("kB/s", 8e3), ("B/s", 8)]
        case .count: [("B", 1e9), ("M", 1e6), ("k", 1e3), ("K", 1e3)]
        case .eventRate: [("/s", 1), ("/min", 1.0 / 60), ("/h", 1.0 / 3_600), ("/d", 1.0 / 86_400)]
        case .fraction: [("%", 0.01)]
        case .number: []
        }
    }
}

extension QuantityKind {
    /// The largest magnitude a value of this kind may have anywhere in a scenario, in base units:
    /// beyond it, conversions to the engine's integer microseconds and sums of times, sizes and
    /// rates could overflow. Keys state tighter limits of their own (docs/scenarios.md).
    public var modelMaximum: Double {
        switch self {
        case .duration: 3_650 * 86_400  // ten years
        case .dataSize: 1e18  // 1 EB
        case .dataRate: 1e15  // 1 Pbps
        case .count: 1e12
        case .eventRate: 1e12
        case .fraction: 1e6
        case .number: 1e9
        }
    }

    /// The smallest magnitude a non-zero value may have: the engine's resolution (1 µs, 1 byte,
    /// 1 bit per second); nil where any is fine.
    public var resolution: Double? {
        switch self {
        case .duration: 1e-6
        case .dataSize, .dataRate, .count: 1
        case .eventRate, .fraction, .number: nil
        }
    }

    /// Why `x` is outside what this kind can be (too large, finer than the resolution, a
    /// fractional count), or nil.
    public func rangeViolation(_ x: Double) -> String? {
        if !(abs(x) <= modelMaximum) {
            let limit = self == .count ? "1,000,000,000,000" : Quantity.format(modelMaximum, as: self)
            return "must be \(x < 0 ? ">= -" : "<= ")\(limit) (the largest \(noun.split(separator: " ").dropFirst().joined(separator: " ")) vodsim models)"
        }
        if let r = resolution, x != 0, abs(x) < r {
            return self == .count ? "must be a whole number" : "must be 0 or at least \(Quantity.format(r, as: self)) (the model's resolution)"
        }
        if self == .count && x != x.rounded() { return "must be a whole number" }
        return nil
    }
}

/// Why a quantity did not parse; the reader adds the location and key path.
public struct QuantityFailure: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Parsing and canonical formatting of unit-bearing scalars.
public enum Quantity {
    /// Parses `text` as a `kind` value in base units.
    ///
    /// Strict: the unit must be one of the kind's units, spelled exactly (`Gbps`, not `gbps` or
    /// `Gb/s`); a space between number and unit is optional. A unit of another kind is named in
    /// the error ("400 GB is a data size").
    public static func parse(_ text: String, as kind: QuantityKind) throws(QuantityFailure) -> Double {
        let trimmed = text.trimmingWhitespace
        let expected = "expected \(kind.noun) such as \(kind.example)"
        guard !trimmed.isEmpty else { throw QuantityFailure(message: "\(expected), got nothing") }
        switch kind {
        case .number:
            guard let x = parseDecimal(trimmed) else { throw QuantityFailure(message: "\(expected), got \(trimmed)") }
            return x
        case .fraction:
            if trimmed.hasSuffix("%") {
                guard let x = parseDecimal(String(trimmed.dropLast()).trimmingWhitespace) else {
                    throw QuantityFailure(message: "\(expected), got \(trimmed)")
                }
                return x / 100
            }
            guard let x = parseDecimal(trimmed) else { throw QuantityFailure(message: "\(expected) or 0.05, got \(trimmed)") }
            return x
        case .count:
            if let x = parseDecimal(trimmed) { return x }
            let (number, unit) = split(trimmed)
            guard let n = parseDecimal(number), !unit.isEmpty else { throw QuantityFailure(message: "\(expected), got \(trimmed)") }
            guard let factor = kind.units.first(where: { $0.0 == unit })?.1 else {
                throw QuantityFailure(message: unitProblem(unit, in: trimmed, kind: kind))
            }
            return exactProduct(n, factor)
        case .eventRate:
            guard let slash = trimmed.firstIndex(of: "/") else {
                throw QuantityFailure(message: "\(expected): a count per s, min, h or d, got \(trimmed)")
            }
            let countText = String(trimmed[..<slash]).trimmingWhitespace
            let per = "/" + String(trimmed[trimmed.index(after: slash)...]).trimmingWhitespace
            guard let factor = kind.units.first(where: { $0.0 == per })?.1 else {
                throw QuantityFailure(message: "\(expected); unknown time unit '\(per.dropFirst())' in \(trimmed) (use s, min, h or d)")
            }
            let count: Double
            do { count = try parse(countText, as: .count) } catch { throw QuantityFailure(message: "\(expected), got \(trimmed)") }
            return count * factor
        case .duration, .dataSize, .dataRate:
            let (number, unit) = split(trimmed)
            guard let n = parseDecimal(number) else { throw QuantityFailure(message: "\(expected), got \(trimmed)") }
            guard !unit.isEmpty else {
                throw QuantityFailure(message: "\(expected): \(trimmed) needs a unit (\(kind.units.map(\.0).prefix(6).joined(separator: ", ")))")
            }
            guard let factor = kind.units.first(where: { $0.0 == unit })?.1 else {
                throw QuantityFailure(message: unitProblem(unit, in: trimmed, kind: kind))
            }
            return exactProduct(n, factor)
        }
    }

    /// The message for a unit that is not one of `kind`'s: it may belong to another kind, or be a
    /// near miss.
    static func unitProblem(_ unit: String, in text: String, kind: QuantityKind) -> String {
        let expected = "expected \(kind.noun) such as \(kind.example)"
        let others: [QuantityKind] = [.duration, .dataSize, .dataRate]
        if let other = others.first(where: { $0 != kind && $0.units.contains { $0.0 == unit } }) {
            return "\(expected), got \(text), which is \(other.noun)"
        }
        let names = kind.units.map(\.0)
        if let alias = Quantity.aliases[unit], names.contains(alias) {
            return "\(expected), got \(text): unknown unit '\(unit)'; did you mean '\(alias)'?"
        }
        if let near = nearest(unit, among: names) {
            return "\(expected), got \(text): unknown unit '\(unit)'; did you mean '\(near)'?"
        }
        return "\(expected), got \(text): unknown unit '\(unit)' (units: \(names.joined(separator: ", ")))"
    }

    /// Spellings people write for units vodsim spells otherwise.
    static let aliases: [String: String] = [
        "sec": "s", "secs": "s", "second": "s", "seconds": "s", "m": "min", "mins": "min", "minute": "min",
        "minutes": "min", "hr": "h", "hrs": "h", "hour": "h", "hours": "h", "day": "d", "days": "d",
        "msec": "ms", "usec": "us", "Gb/s": "Gbps", "Mb/s": "Mbps", "kb/s": "kbps", "Tb/s": "Tbps",
        "gbps": "Gbps", "mbps": "Mbps", "tbps": "Tbps", "Kb/s": "kbps", "tb": "TB", "gb": "GB", "mb": "MB",
    ]

    /// Splits "400 Gbps" or "400Gbps" into ("400", "Gbps").
    static func split(_ text: String) -> (String, String) {
        var end = text.startIndex
        for (i, c) in zip(text.indices, text) {
            if c.isNumber || c == "." || c == "-" || c == "+" || ((c == "e" || c == "E") && i != text.startIndex && text[text.index(after: i)...].first.map { $0.isNumber || $0 == "-" || $0 == "+" } == true) {
                end = text.index(after: i)
            } else {
                break
            }
        }
        return (String(text[..<end]), String(text[end...]).trimmingWhitespace)
    }

    /// A decimal number, correctly rounded: the digits are kept as an integer mantissa and a
    /// power of ten, so that "1.2" times a million is exactly 1,200,000.
    static func parseDecimal(_ text: String) -> Double? {
        guard let d = Decimal10(text) else { return nil }
        return d.double
    }

    /// n × factor, exact when both are exact decimals with a small product (as unit factors are).
    static func exactProduct(_ n: Double, _ factor: Double) -> Double {
        let product = n * factor
        // Round away representation error from factors like 1e-3 when the true product is an
        // integer or a short decimal.
        let r = (product * 1e6).rounded() / 1e6
        return abs(r - product) <= abs(product) * 1e-12 ? r : product
    }

    // MARK: Canonical formatting

    /// The canonical text of a value in base units: the largest unit that gives a number with at
    /// most three decimals, e.g. 5400 s → "90 min", 4e11 bps → "400 Gbps", 1.2e6 → "1.2M".
    public static func format(_ value: Double, as kind: QuantityKind) -> String {
        switch kind {
        case .number: return formatDecimal(value)
        case .fraction: return formatDecimal(value * 100) + "%"
        case .count:
            // A suffix only when it reads exactly with two decimals at most: 1.2M, 250k, 1234567.
            for (unit, factor) in kind.units where unit != "K" && abs(value) >= factor {
                let scaled = value / factor
                if isDecimal(scaled, places: 2) { return formatDecimal(scaled) + unit }
            }
            return formatDecimal(value)
        case .eventRate:
            return format(value, as: .count) + "/s"
        case .duration, .dataSize, .dataRate:
            if value == 0 { return "0 " + (kind == .duration ? "s" : kind == .dataSize ? "B" : "bps") }
            // Units largest first, decimal and binary together; spellings with a twin are skipped.
            let units = kind.units.filter { !["µs", "KB", "Kbps"].contains($0.0) && !$0.0.hasSuffix("/s") }
                .sorted { $0.1 > $1.1 }
            // An integer in the largest unit that gives one (90 min, 1500 ms, 1 GiB), else a short
            // decimal in a decimal unit (1.25 s), else the smallest unit.
            if let (unit, factor) = units.first(where: { abs(value) >= $0.1 && isDecimal(value / $0.1, places: 0) }) {
                return formatDecimal(value / factor) + " " + unit
            }
            if let (unit, factor) = units.first(where: { !$0.0.hasSuffix("iB") && abs(value) >= $0.1 && isDecimal(value / $0.1, places: 3) }) {
                return formatDecimal(value / factor) + " " + unit
            }
            let smallest = units.last!
            return formatDecimal(value / smallest.1) + " " + smallest.0
        }
    }

    /// A value for a message: three significant digits in the largest unit it reaches
    /// (`43300 d`, `2.54e+200 d`).
    public static func approximate(_ value: Double, as kind: QuantityKind) -> String {
        guard value.isFinite else { return value > 0 ? "unbounded values" : "unboundedly negative values" }
        let units = kind.units.filter { !$0.0.contains("i") && !$0.0.hasPrefix("K") && $0.0 != "µs" && !(kind == .dataRate && $0.0.hasSuffix("/s")) }
        let (unit, factor) = units.first { abs(value) >= $0.1 } ?? (kind == .count ? ("", 1) : units.last ?? ("", 1))
        let scaled = value / factor
        let text = abs(scaled) < 1e9 ? formatDecimal(Double(String(format: "%.3g", scaled)) ?? scaled) : String(format: "%.3g", scaled)
        let spaced = kind == .duration || kind == .dataSize || kind == .dataRate
        return text + (spaced && !unit.isEmpty ? " " : "") + unit
    }

    /// Whether `x` has at most `places` decimals, exactly (up to representation error).
    static func isDecimal(_ x: Double, places: Int) -> Bool {
        var scaled = x
        for _ in 0..<places { scaled *= 10 }
        return abs(scaled - scaled.rounded()) <= abs(scaled) * 1e-12 + 1e-9
    }

    /// A plain decimal without exponent or trailing zeros, up to 9 decimals: "0.8", "1500", "-5".
    public static func formatDecimal(_ x: Double) -> String {
        if x == x.rounded() && abs(x) < 1e18 { return String(Int64(x)) }
        // Beyond 1e9 nine decimals overflow the integer arithmetic below; such values need none.
        if !x.isFinite || abs(x) >= 1e9 { return x.isFinite ? String(format: "%.0f", x) : String(x) }
        let negative = x < 0
        let scale = 1_000_000_000.0
        let scaled = (abs(x) * scale).rounded()
        let whole = (scaled / scale).rounded(.down)
        var fraction = String(Int64(scaled - whole * scale))
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        let text = fraction.isEmpty ? String(Int64(whole)) : "\(Int64(whole)).\(fraction)"
        return negative ? "-" + text : text
    }
}

/// A decimal literal as an integer mantissa and a power of ten.
struct Decimal10 {
    var mantissa: Int64
    var exponent: Int

    init?(_ text: String) {
        var chars = Substring(text)
        var negative = false
        if chars.first == "-" || chars.first == "+" {
            negative = chars.first == "-"
            chars = chars.dropFirst()
        }
        var mantissa: Int64 = 0
        var exponent = 0
        var digits = 0
        var seenPoint = false
        while let c = chars.first, c.isASCII, c.isNumber || c == "." {
            chars = chars.dropFirst()
            if c == "." {
                if seenPoint { return nil }
                seenPoint = true
                continue
            }
            digits += 1
            if mantissa < 100_000_000_000_000_000 {
                mantissa = mantissa * 10 + Int64(c.asciiValue! - 48)
                if seenPoint { exponent -= 1 }
            } else if !seenPoint {
                exponent += 1  // beyond 18 digits, keep the magnitude
            }
        }
        guard digits > 0 else { return nil }
        if let e = chars.first, e == "e" || e == "E" {
            chars = chars.dropFirst()
            // Beyond ±1000 the value is 0 or infinite either way, which the range checks name.
            guard let x = Int(chars), abs(x) < 1_000 else { return nil }
            exponent += x
            chars = chars.dropLast(chars.count)
        }
        guard chars.isEmpty else { return nil }
        self.mantissa = negative ? -mantissa : mantissa
        self.exponent = exponent
    }

    /// The nearest double: one correctly rounded multiplication or division by an exact power of
    /// ten whenever both fit in 2^53.
    var double: Double {
        let m = Double(mantissa)
        if exponent >= 0 {
            return m * Decimal10.power(exponent)
        }
        return m / Decimal10.power(-exponent)
    }

    static func power(_ n: Int) -> Double {
        var p = 1.0
        for _ in 0..<n { p *= 10 }
        return p
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
func nearest(_ word: String, among candidates: [String]) -> String? {
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(word.lowercased(), c.lowercased())
        if best == nil || d < best!.1 { best = (c, d) }
    }
    guard let (candidate, distance) = best else { return nil }
    let allowed = max(2, min(word.count, candidate.count) / 3)
    return distance <= allowed ? candidate : nil
}

/// Levenshtein distance.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a), y = Array(b)
    if x.isEmpty { return y.count }
    if y.isEmpty { return x.count }
    var previous = Array(0...y.count)
    var current = [Int](repeating: 0, count: y.count + 1)
    for i in 1...x.count {
        current[0] = i
        for j in 1...y.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[y.count]
}
