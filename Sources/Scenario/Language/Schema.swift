/// Limits on a number, in the base unit of its kind.
public struct Bounds: Sendable {
    public var minimum: Double?
    public var minimumInclusive = true
    public var maximum: Double?
    public var maximumInclusive = true

    public static let any = Bounds()
    public static let positive = Bounds(minimum: 0, minimumInclusive: false)
    public static let nonNegative = Bounds(minimum: 0)

    public static func atLeast(_ x: Double) -> Bounds { Bounds(minimum: x) }
    public static func range(_ lo: Double, _ hi: Double) -> Bounds { Bounds(minimum: lo, maximum: hi) }
    /// (lo, hi]: above `lo`, at most `hi`.
    public static func above(_ lo: Double, atMost hi: Double) -> Bounds {
        Bounds(minimum: lo, minimumInclusive: false, maximum: hi)
    }

    /// The violated limit as "must be > 0", or `nil` when `x` is within bounds.
    func violation(_ x: Double, kind: QuantityKind) -> String? {
        if let lo = minimum, minimumInclusive ? x < lo : x <= lo {
            return "must be \(minimumInclusive ? ">=" : ">") \(Bounds.limit(lo, kind))"
        }
        if let hi = maximum, maximumInclusive ? x > hi : x >= hi {
            return "must be \(maximumInclusive ? "<=" : "<") \(Bounds.limit(hi, kind))"
        }
        return nil
    }

    /// A limit as text: zero needs no unit.
    static func limit(_ x: Double, _ kind: QuantityKind) -> String {
        x == 0 && kind != .fraction ? "0" : Quantity.format(x, as: kind)
    }

    /// The limits as a phrase for the reference documentation ("> 0", "0 to 1").
    func phrase(kind: QuantityKind) -> String? {
        switch (minimum, maximum) {
        case (nil, nil): return nil
        case let (lo?, nil): return "\(minimumInclusive ? ">=" : ">") \(Bounds.limit(lo, kind))"
        case let (nil, hi?): return "\(maximumInclusive ? "<=" : "<") \(Bounds.limit(hi, kind))"
        case let (lo?, hi?):
            return "\(minimumInclusive ? "" : "> ")\(Bounds.limit(lo, kind)) to \(maximumInclusive ? "" : "< ")\(Bounds.limit(hi, kind))"
        }
    }
}

/// What a scenario value may be.
public indirect enum ValueType: Sendable {
    /// Any text.
    case text
    /// Letters, digits, `.`, `_` and `-`: names of things that become file names or references.
    case identifier
    case integer(minimum: Int64, maximum: Int64)
    case boolean
    /// A unit-bearing number (or a plain number for `.number`, a percentage for `.fraction`).
    case quantity(QuantityKind, Bounds)
    /// An ISO 8601 UTC date-time: `2026-11-21T18:00:00Z`.
    case dateTime
    /// A local time of day: `02:00`.
    case timeOfDay
    case choice([String])
    /// A distribution of `kind` values whose support must lie within `bounds`.
    case distribution(QuantityKind, Bounds)
    /// Title popularity: `{zipf: 0.9}`.
    case zipf
    /// A daily demand shape: `evening`, `flat` or 24 numbers.
    case curve
    /// The id of an element of the top-level list `section` (e.g. a region).
    case reference(String)
    case list(ValueType, minimumCount: Int)
    /// A list of objects, all of one schema; ids (the schema's `idKey`) must be unique.
    case records(Schema, minimumCount: Int)
    case object(Schema)

    /// The phrase for messages and documentation.
    var phrase: String {
        switch self {
        case .text: "text"
        case .identifier: "an identifier (letters, digits, '.', '_', '-'; starting with a letter or digit)"
        case let .integer(lo, hi): hi == .max ? "an integer >= \(lo)" : "an integer from \(lo) to \(hi)"
        case .boolean: "true or false"
        case let .quantity(kind, _): "\(kind.noun) such as \(kind.example)"
        case .dateTime: "a UTC date-time such as 2026-11-21T18:00:00Z"
        case .timeOfDay: "a time of day such as 02:00"
        case let .choice(options): "one of " + options.joined(separator: ", ")
        case let .distribution(kind, _): "a distribution of \(kind.plural), e.g. {exponential: {mean: \(kind.example)}}"
        case .zipf: "{zipf: exponent}"
        case .curve: "evening, flat or 24 numbers"
        case let .reference(section): "the id of one of \(section)"
        case let .list(element, _): "a list of \(element.phrase)"
        case .records: "a list of mappings"
        case .object: "a mapping"
        }
    }
}

/// Whether a key must be given, has a default, or may be left out.
public enum Presence: Sendable {
    case required
    /// The default, written as scenario text and parsed like any value.
    case defaulted(String)
    case optional
}

/// One key of a mapping.
public struct Field: Sendable {
    public var key: String
    public var type: ValueType
    public var presence: Presence
    public var doc: String
    /// `false` while the model does not simulate this key yet: it is validated and reported, and
    /// the report lists it as not modelled.
    public var modelled: Bool

    public init(_ key: String, _ type: ValueType, _ presence: Presence, modelled: Bool = true, _ doc: String) {
        self.key = key
        self.type = type
        self.presence = presence
        self.doc = doc
        self.modelled = modelled
    }
}

/// A problem a record-level check found: the key it concerns (or `nil` for the whole record) and
/// the message.
public struct RecordProblem: Sendable {
    public var key: String?
    public var message: String
    public init(key: String?, _ message: String) {
        self.key = key
        self.message = message
    }
}

/// The keys of a mapping, in the order they are documented and emitted.
public struct Schema: Sendable {
    public var fields: [Field]
    /// For lists of records: the key whose values must be unique and that references name.
    public var idKey: String?
    /// Cross-field rules of one record, run after its fields were read.
    public var check: (@Sendable (Resolved) -> [RecordProblem])?

    public init(idKey: String? = nil, _ fields: [Field], check: (@Sendable (Resolved) -> [RecordProblem])? = nil) {
        self.fields = fields
        self.idKey = idKey
        self.check = check
    }

    public func field(_ key: String) -> Field? { fields.first { $0.key == key } }
}
