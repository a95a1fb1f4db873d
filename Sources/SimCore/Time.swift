/// A span of simulated time, in whole microseconds.
///
/// The engine never uses floating-point time: every instant and duration is an `Int64` count of
/// microseconds, so event order cannot depend on rounding. Convert to and from `Double` seconds
/// only at the edges (scenario parsing, report writing).
@frozen
public struct SimDuration: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    /// The length of the span in microseconds; negative spans are allowed in arithmetic.
    public var microseconds: Int64

    @inlinable
    public init(microseconds: Int64) { self.microseconds = microseconds }

    public static let zero = SimDuration(microseconds: 0)

    @inlinable public static func microseconds(_ value: Int64) -> SimDuration { SimDuration(microseconds: value) }
    @inlinable public static func milliseconds(_ value: Int64) -> SimDuration { SimDuration(microseconds: value * 1_000) }
    @inlinable public static func seconds(_ value: Int64) -> SimDuration { SimDuration(microseconds: value * 1_000_000) }
    @inlinable public static func minutes(_ value: Int64) -> SimDuration { SimDuration(microseconds: value * 60_000_000) }
    @inlinable public static func hours(_ value: Int64) -> SimDuration { SimDuration(microseconds: value * 3_600_000_000) }

    /// The span nearest to `value` seconds (ties away from zero); for edges such as sampled delays.
    /// - Precondition: `value` is finite and within ±292,000 years.
    @inlinable
    public init(seconds value: Double) {
        let us = (value * 1_000_000).rounded()
        precondition(us.isFinite && abs(us) < 9.2e18, "duration of \(value) s is not representable")
        self.init(microseconds: Int64(us))
    }

    /// The span in seconds, for reports and arithmetic with rates.
    @inlinable public var seconds: Double { Double(microseconds) / 1_000_000 }

    @inlinable public static func < (a: SimDuration, b: SimDuration) -> Bool { a.microseconds < b.microseconds }
    @inlinable public static func + (a: SimDuration, b: SimDuration) -> SimDuration { SimDuration(microseconds: a.microseconds + b.microseconds) }
    @inlinable public static func - (a: SimDuration, b: SimDuration) -> SimDuration { SimDuration(microseconds: a.microseconds - b.microseconds) }
    @inlinable public static func * (a: SimDuration, k: Int64) -> SimDuration { SimDuration(microseconds: a.microseconds * k) }
    @inlinable public static func += (a: inout SimDuration, b: SimDuration) { a.microseconds += b.microseconds }

    public var description: String { SimDuration.format(microseconds: microseconds) }

    /// Formats a microsecond count with the largest unit that keeps it readable, e.g. `1.5 s`.
    static func format(microseconds us: Int64) -> String {
        let magnitude = us.magnitude
        if magnitude < 1_000 { return "\(us) us" }
        if magnitude < 1_000_000 { return "\(Double(us) / 1_000) ms" }
        return "\(Double(us) / 1_000_000) s"
    }
}

/// A point on the simulated clock, in microseconds since the simulation's epoch (its start).
///
/// Instants and durations are separate types so that adding two instants, or passing a duration
/// where a deadline is meant, does not compile. The mapping of the epoch to a UTC date-time belongs
/// to the scenario, not to the engine.
@frozen
public struct SimInstant: Hashable, Comparable, Sendable, BitwiseCopyable, CustomStringConvertible {
    /// Microseconds since the epoch.
    public var microseconds: Int64

    @inlinable
    public init(microseconds: Int64) { self.microseconds = microseconds }

    /// The epoch: the instant at which every simulation starts.
    public static let zero = SimInstant(microseconds: 0)
    /// Later than any instant a simulation reaches; used as "never".
    public static let distantFuture = SimInstant(microseconds: Int64.max)

    /// Seconds since the epoch, for reports.
    @inlinable public var seconds: Double { Double(microseconds) / 1_000_000 }

    @inlinable public static func < (a: SimInstant, b: SimInstant) -> Bool { a.microseconds < b.microseconds }
    @inlinable public static func + (a: SimInstant, d: SimDuration) -> SimInstant { SimInstant(microseconds: a.microseconds + d.microseconds) }
    @inlinable public static func - (a: SimInstant, d: SimDuration) -> SimInstant { SimInstant(microseconds: a.microseconds - d.microseconds) }
    @inlinable public static func - (a: SimInstant, b: SimInstant) -> SimDuration { SimDuration(microseconds: a.microseconds - b.microseconds) }
    @inlinable public static func += (a: inout SimInstant, d: SimDuration) { a.microseconds += d.microseconds }

    public var description: String { "t+" + SimDuration.format(microseconds: microseconds) }
}
