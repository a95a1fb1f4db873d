#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CGSL
import SimCore

/// A parameter outside its distribution's domain, reported as a value with what was expected.
public struct StochasticsError: Error, Equatable, CustomStringConvertible {
    /// The distribution or process, e.g. `lognormal`.
    public var distribution: String
    /// The parameter, e.g. `sigma`.
    public var parameter: String
    /// The offending value, as written.
    public var value: String
    /// What was expected, e.g. `> 0`.
    public var expected: String

    public init(_ distribution: String, _ parameter: String, _ value: String, expected: String) {
        self.distribution = distribution
        self.parameter = parameter
        self.value = value
        self.expected = expected
    }

    init(_ distribution: String, _ parameter: String, _ value: Double, expected: String) {
        self.init(distribution, parameter, Self.format(value), expected: expected)
    }

    public var description: String { "\(distribution).\(parameter): must be \(expected), got \(value)" }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }
}

/// A continuous probability distribution over `Double`, with validated parameters.
///
/// Values are unit-free: the caller decides the unit (durations are in seconds by convention of
/// the scenario layer). Every distribution with a closed-form quantile is sampled by inversion,
/// one uniform draw per sample, so that two runs differing only in a parameter use the same random
/// numbers (common random numbers, which sharpen what-if comparisons). Gamma, which has no closed
/// form, uses GSL's Marsaglia-Tsang sampler.
public struct Distribution: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case constant(Double)
        case uniform(low: Double, high: Double)
        case exponential(mean: Double)
        /// ln X ~ Normal(ln median, sigma²).
        case lognormal(median: Double, sigma: Double)
        case gamma(shape: Double, scale: Double)
        /// Pareto type I: P(X > x) = (minimum / x)^shape for x >= minimum.
        case pareto(shape: Double, minimum: Double)
        case empirical(EmpiricalDistribution)
    }

    public let kind: Kind
    /// Draws are clamped to these limits (``clamped(to:)``): the range a model can take, so that
    /// a distribution's far tail cannot produce a value the model cannot represent. Unlimited
    /// unless set.
    public private(set) var limits: ClosedRange<Double> = -Double.infinity...Double.infinity

    private init(_ kind: Kind) { self.kind = kind }

    /// The same distribution with draws clamped to `limits` (moments and quantiles are those of
    /// the unclamped one; a scenario allows this only where at most one draw in a million falls
    /// outside).
    public func clamped(to limits: ClosedRange<Double>) -> Distribution {
        var d = self
        d.limits = limits
        return d
    }

    // MARK: Validated factories

    public static func constant(_ value: Double) throws -> Distribution {
        guard value.isFinite else { throw StochasticsError("constant", "value", value, expected: "finite") }
        return Distribution(.constant(value))
    }

    public static func uniform(low: Double, high: Double) throws -> Distribution {
        guard low.isFinite else { throw StochasticsError("uniform", "low", low, expected: "finite") }
        guard high.isFinite, high >= low else { throw StochasticsError("uniform", "high", high, expected: ">= low (\(StochasticsError.format(low)))") }
        return Distribution(.uniform(low: low, high: high))
    }

    public static func exponential(mean: Double) throws -> Distribution {
        guard mean.isFinite, mean > 0 else { throw StochasticsError("exponential", "mean", mean, expected: "> 0") }
        return Distribution(.exponential(mean: mean))
    }

    public static func lognormal(median: Double, sigma: Double) throws -> Distribution {
        guard median.isFinite, median > 0 else { throw StochasticsError("lognormal", "median", median, expected: "> 0") }
        guard sigma.isFinite, sigma > 0 else { throw StochasticsError("lognormal", "sigma", sigma, expected: "> 0") }
        return Distribution(.lognormal(median: median, sigma: sigma))
    }

    /// The lognormal with a given mean rather than median: median = mean · exp(−σ²/2).
    public static func lognormal(mean: Double, sigma: Double) throws -> Distribution {
        guard mean.isFinite, mean > 0 else { throw StochasticsError("lognormal", "mean", mean, expected: "> 0") }
        guard sigma.isFinite, sigma > 0 else { throw StochasticsError("lognormal", "sigma", sigma, expected: "> 0") }
        return Distribution(.lognormal(median: mean * exp(-sigma * sigma / 2), sigma: sigma))
    }

    public static func gamma(shape: Double, scale: Double) throws -> Distribution {
        guard shape.isFinite, shape > 0 else { throw StochasticsError("gamma", "shape", shape, expected: "> 0") }
        guard scale.isFinite, scale > 0 else { throw StochasticsError("gamma", "scale", scale, expected: "> 0") }
        return Distribution(.gamma(shape: shape, scale: scale))
    }

    public static func pareto(shape: Double, minimum: Double) throws -> Distribution {
        guard shape.isFinite, shape > 0 else { throw StochasticsError("pareto", "shape", shape, expected: "> 0") }
        guard minimum.isFinite, minimum > 0 else { throw StochasticsError("pareto", "minimum", minimum, expected: "> 0") }
        return Distribution(.pareto(shape: shape, minimum: minimum))
    }

    public static func empirical(_ table: EmpiricalDistribution) -> Distribution {
        Distribution(.empirical(table))
    }

    // MARK: Sampling and moments

    /// One draw.
    /// - Complexity: O(1); O(log points) for empirical.
    @inlinable @inline(__always)
    public func sample(_ stream: inout RandomStream) -> Double {
        min(max(unclampedSample(&stream), limits.lowerBound), limits.upperBound)
    }

    @inlinable @inline(__always)
    func unclampedSample(_ stream: inout RandomStream) -> Double {
        switch kind {
        case let .constant(v): return v
        case let .uniform(low, high): return low + (high - low) * stream.nextDouble()
        case let .exponential(mean): return -mean * log(stream.nextOpenDouble())
        case let .lognormal(median, sigma): return median * exp(sigma * GSL.normalQuantile(stream.nextOpenDouble()))
        case let .gamma(shape, scale): return GSL.withGenerator(&stream) { gsl_ran_gamma($0, shape, scale) }
        case let .pareto(shape, minimum): return minimum * pow(stream.nextOpenDouble(), -1 / shape)
        case let .empirical(table): return table.quantile(stream.nextDouble())
        }
    }

    /// The expected value; `.infinity` when it does not exist (Pareto with shape <= 1).
    public var mean: Double {
        switch kind {
        case let .constant(v): return v
        case let .uniform(low, high): return (low + high) / 2
        case let .exponential(mean): return mean
        case let .lognormal(median, sigma): return median * exp(sigma * sigma / 2)
        case let .gamma(shape, scale): return shape * scale
        case let .pareto(shape, minimum): return shape > 1 ? shape * minimum / (shape - 1) : .infinity
        case let .empirical(table): return table.mean
        }
    }

    /// P(X <= x).
    public func cdf(_ x: Double) -> Double {
        switch kind {
        case let .constant(v): return x >= v ? 1 : 0
        case let .uniform(low, high):
            if high == low { return x >= low ? 1 : 0 }
            return min(1, max(0, (x - low) / (high - low)))
        case let .exponential(mean): return x <= 0 ? 0 : -expm1(-x / mean)
        case let .lognormal(median, sigma):
            GSL.configure()
            return x <= 0 ? 0 : gsl_cdf_ugaussian_P(log(x / median) / sigma)
        case let .gamma(shape, scale):
            GSL.configure()
            return x <= 0 ? 0 : gsl_cdf_gamma_P(x, shape, scale)
        case let .pareto(shape, minimum): return x <= minimum ? 0 : 1 - pow(minimum / x, shape)
        case let .empirical(table): return table.cdf(x)
        }
    }

    /// One draw conditioned on exceeding `threshold`: X | X > threshold, by inversion of the
    /// conditional CDF. For a session already `threshold` old, its total length.
    /// Returns `threshold` itself when the distribution has (numerically) no mass beyond it.
    public func sample(exceeding threshold: Double, _ stream: inout RandomStream) -> Double {
        let below = cdf(threshold)
        let u = stream.nextOpenDouble()
        guard below < 1 - 1e-15 else { return threshold }
        return min(max(threshold, quantile(below + u * (1 - below))), max(threshold, limits.upperBound))
    }

    /// The value below which a fraction `p` of draws fall.
    /// - Precondition: 0 <= p <= 1.
    public func quantile(_ p: Double) -> Double {
        precondition(p >= 0 && p <= 1, "quantile of p = \(p)")
        switch kind {
        case let .constant(v): return v
        case let .uniform(low, high): return low + (high - low) * p
        case let .exponential(mean): return -mean * log1p(-p)
        case let .lognormal(median, sigma):
            if p == 0 { return 0 }
            if p == 1 { return .infinity }
            return median * exp(sigma * GSL.normalQuantile(p))
        case let .gamma(shape, scale):
            GSL.configure()
            return gsl_cdf_gamma_Pinv(p, shape, scale)
        case let .pareto(shape, minimum): return minimum * pow(1 - p, -1 / shape)
        case let .empirical(table): return table.quantile(p)
        }
    }

    public var description: String {
        func f(_ x: Double) -> String { StochasticsError.format(x) }
        switch kind {
        case let .constant(v): return "constant(\(f(v)))"
        case let .uniform(low, high): return "uniform(\(f(low)), \(f(high)))"
        case let .exponential(mean): return "exponential(mean: \(f(mean)))"
        case let .lognormal(median, sigma): return "lognormal(median: \(f(median)), sigma: \(f(sigma)))"
        case let .gamma(shape, scale): return "gamma(shape: \(f(shape)), scale: \(f(scale)))"
        case let .pareto(shape, minimum): return "pareto(shape: \(f(shape)), minimum: \(f(minimum)))"
        case let .empirical(table): return "empirical(\(table.points.count) points)"
        }
    }
}

/// A Poisson distribution over counts, sampled by GSL.
public struct PoissonDistribution: Sendable, Equatable {
    public let mean: Double

    public init(mean: Double) throws {
        guard mean.isFinite, mean >= 0 else { throw StochasticsError("poisson", "mean", mean, expected: ">= 0") }
        self.mean = mean
    }

    /// One draw.
    public func sample(_ stream: inout RandomStream) -> Int {
        guard mean > 0 else { return 0 }
        let m = mean
        return Int(GSL.withGenerator(&stream) { gsl_ran_poisson($0, m) })
    }

    /// P(X = k).
    public func probability(_ k: Int) -> Double {
        GSL.configure()
        return k < 0 ? 0 : gsl_ran_poisson_pdf(UInt32(k), mean)
    }
}
