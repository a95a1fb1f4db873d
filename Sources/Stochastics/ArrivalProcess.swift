#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SimCore

/// A rate that repeats every day: 24 values, the rate at the start of each local hour, joined by
/// straight lines (the last hour runs back to the first value at midnight).
///
/// Linear rather than stepped, so that a demand curve has no jumps on the hour that would show in
/// concurrency charts; the integral is still exact and cheap.
public struct DailyRateCurve: Sendable, Equatable {
    public static let secondsPerDay = 86_400.0
    public static let secondsPerHour = 3_600.0

    /// Rate at 00:00, 01:00, ..., 23:00 local time, in events per second (or relative, before
    /// scaling).
    public let hourly: [Double]
    /// The expected number of events in one whole day.
    public let dailyIntegral: Double

    /// - Throws: unless there are exactly 24 finite, non-negative values.
    public init(hourly: [Double]) throws {
        guard hourly.count == 24 else {
            throw StochasticsError("rate curve", "hourly", "\(hourly.count) values", expected: "24 values, one per local hour")
        }
        for (h, r) in hourly.enumerated() where !(r.isFinite && r >= 0) {
            throw StochasticsError("rate curve", "hourly[\(h)]", r, expected: "finite and >= 0")
        }
        self.hourly = hourly
        var total = 0.0
        for h in 0..<24 { total += (hourly[h] + hourly[(h + 1) % 24]) / 2 * DailyRateCurve.secondsPerHour }
        dailyIntegral = total
    }

    /// The curve multiplied by `factor`.
    /// - Precondition: `factor` is finite and >= 0.
    public func scaled(by factor: Double) -> DailyRateCurve {
        precondition(factor.isFinite && factor >= 0, "rate curve scale \(factor)")
        return try! DailyRateCurve(hourly: hourly.map { $0 * factor })
    }

    /// The highest rate of the day (the curve peaks at a vertex).
    public var peakRate: Double { hourly.max()! }
    /// The mean rate over a day.
    public var meanRate: Double { dailyIntegral / DailyRateCurve.secondsPerDay }

    /// The rate at `secondOfDay` (any real; reduced modulo one day).
    public func rate(atSecondOfDay secondOfDay: Double) -> Double {
        let s = secondOfDay - (secondOfDay / DailyRateCurve.secondsPerDay).rounded(.down) * DailyRateCurve.secondsPerDay
        let h = min(23, Int(s / DailyRateCurve.secondsPerHour))
        let f = (s - Double(h) * DailyRateCurve.secondsPerHour) / DailyRateCurve.secondsPerHour
        return hourly[h] + (hourly[(h + 1) % 24] - hourly[h]) * f
    }

    /// The expected number of events between two local times (seconds, any reals, `from <= to`).
    public func integral(from: Double, to: Double) -> Double {
        precondition(from <= to, "integral from \(from) to \(to)")
        return cumulative(to) - cumulative(from)
    }

    /// Λ(τ): events expected from local time 0 to τ.
    func cumulative(_ tau: Double) -> Double {
        let days = (tau / DailyRateCurve.secondsPerDay).rounded(.down)
        var s = tau - days * DailyRateCurve.secondsPerDay
        var total = days * dailyIntegral
        var h = 0
        while s >= DailyRateCurve.secondsPerHour && h < 24 {
            total += (hourly[h] + hourly[(h + 1) % 24]) / 2 * DailyRateCurve.secondsPerHour
            s -= DailyRateCurve.secondsPerHour
            h += 1
        }
        if h < 24 && s > 0 {
            let r0 = hourly[h], slope = (hourly[(h + 1) % 24] - r0) / DailyRateCurve.secondsPerHour
            total += r0 * s + slope * s * s / 2
        }
        return total
    }
}

/// A non-homogeneous Poisson process whose rate follows a ``DailyRateCurve`` in local time:
/// session arrivals of a region, say.
///
/// Each gap is drawn by inverting the cumulative rate (Çinlar's method): draw E ~ Exp(1) and find
/// the x with Λ(t + x) − Λ(t) = E, exactly, segment by segment (the integral of a linear rate is a
/// quadratic). One uniform draw per arrival, no rejection, and whole days of a quiet curve are
/// skipped in one step, so the cost does not depend on how low the rate gets.
public struct ArrivalProcess: Sendable, Equatable {
    public let curve: DailyRateCurve
    /// Local time of day, in seconds, at the simulation's epoch (scenario start + UTC offset).
    public let phaseSeconds: Double

    public init(curve: DailyRateCurve, phaseSeconds: Double) throws {
        guard phaseSeconds.isFinite else { throw StochasticsError("arrival process", "phase", phaseSeconds, expected: "finite") }
        self.curve = curve
        self.phaseSeconds = phaseSeconds
    }

    /// The local time of day, in seconds since local midnight, at instant `t`.
    public func localSecondOfDay(_ t: SimInstant) -> Double {
        let s = phaseSeconds + t.seconds
        return s - (s / DailyRateCurve.secondsPerDay).rounded(.down) * DailyRateCurve.secondsPerDay
    }

    /// The rate, in events per second, at instant `t`.
    public func rate(at t: SimInstant) -> Double {
        curve.rate(atSecondOfDay: phaseSeconds + t.seconds)
    }

    /// The expected number of arrivals in [from, to).
    public func expectedArrivals(from: SimInstant, to: SimInstant) -> Double {
        curve.integral(from: phaseSeconds + from.seconds, to: phaseSeconds + to.seconds)
    }

    /// The first arrival after `t` (possibly at `t` itself after rounding to a microsecond), or
    /// `nil` when the rate is zero all day or so small that the next arrival is ten million days
    /// away.
    /// - Complexity: O(24) at most.
    public func nextArrival(after t: SimInstant, _ stream: inout RandomStream) -> SimInstant? {
        let daily = curve.dailyIntegral
        guard daily > 0 else { return nil }
        var e = -log(stream.nextOpenDouble())
        var delta = 0.0  // seconds after t
        if e >= daily {
            let days = (e / daily).rounded(.down)
            // A rate so small that the next arrival lies beyond any run (and beyond the engine's
            // clock): there is none.
            guard days < 1e7 else { return nil }
            e -= days * daily
            delta = days * DailyRateCurve.secondsPerDay
        }
        let hourly = curve.hourly
        var tau = phaseSeconds + t.seconds + delta
        // 48 segments: the residual fits in one day, plus slack for rounding at the boundary.
        for _ in 0..<48 {
            let day = (tau / DailyRateCurve.secondsPerDay).rounded(.down) * DailyRateCurve.secondsPerDay
            let s = tau - day
            let h = min(23, Int(s / DailyRateCurve.secondsPerHour))
            let segmentEnd = Double(h + 1) * DailyRateCurve.secondsPerHour
            let slope = (hourly[(h + 1) % 24] - hourly[h]) / DailyRateCurve.secondsPerHour
            let r0 = hourly[h] + slope * (s - Double(h) * DailyRateCurve.secondsPerHour)
            let dt = max(0, segmentEnd - s)
            let area = r0 * dt + slope * dt * dt / 2
            if e <= area {
                // r0·x + slope·x²/2 = e, in the form that stays accurate for either sign of slope.
                let root = (max(0, r0 * r0 + 2 * slope * e)).squareRoot()
                let denominator = r0 + root
                let x = denominator > 0 ? min(dt, 2 * e / denominator) : 0
                delta += x
                return t + SimDuration(microseconds: Int64((delta * 1_000_000).rounded()))
            }
            e -= area
            delta += dt
            tau = day + segmentEnd
        }
        // Only reachable through accumulated rounding on a curve that is almost zero.
        return t + SimDuration(microseconds: Int64((delta * 1_000_000).rounded()))
    }
}
