#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SimCore

/// Draws index i with probability weights[i] / Σ weights in O(1): Walker's alias method, built by
/// Vose's algorithm (Vose, "A linear algorithm for generating random numbers with a given
/// distribution", IEEE TSE 1991).
///
/// Construction walks the weights in index order with array worklists, so the table (and every
/// draw) is the same on every run.
public struct AliasTable: Sendable, Equatable {
    /// Probability of keeping the drawn column rather than taking its alias.
    public let keep: [Double]
    public let alias: [Int32]
    /// The normalised probabilities the table was built from.
    public let probabilities: [Double]

    /// - Throws: when `weights` is empty, has a negative or non-finite entry, or sums to zero.
    /// - Complexity: O(n).
    public init(weights: [Double]) throws {
        guard !weights.isEmpty else { throw StochasticsError("discrete", "weights", "[]", expected: "at least one weight") }
        guard weights.count < Int(Int32.max) else { throw StochasticsError("discrete", "weights", "\(weights.count) entries", expected: "fewer than 2^31") }
        for (i, w) in weights.enumerated() where !(w.isFinite && w >= 0) {
            throw StochasticsError("discrete", "weights[\(i)]", w, expected: "finite and >= 0")
        }
        let total = weights.reduce(0, +)
        guard total > 0 else { throw StochasticsError("discrete", "weights", "all zero", expected: "a positive sum") }
        let n = weights.count
        let p = weights.map { $0 / total }
        var keep = [Double](repeating: 1, count: n)
        var alias = [Int32](repeating: 0, count: n)
        var scaled = p.map { $0 * Double(n) }
        var small: [Int] = []
        var large: [Int] = []
        for i in 0..<n {
            if scaled[i] < 1 { small.append(i) } else { large.append(i) }
        }
        while !small.isEmpty && !large.isEmpty {
            let s = small.removeLast()
            let l = large[large.count - 1]
            keep[s] = scaled[s]
            alias[s] = Int32(l)
            scaled[l] = (scaled[l] + scaled[s]) - 1
            if scaled[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        // What remains is 1 up to rounding.
        for i in large { keep[i] = 1; alias[i] = Int32(i) }
        for i in small { keep[i] = 1; alias[i] = Int32(i) }
        self.keep = keep
        self.alias = alias
        probabilities = p
    }

    public var count: Int { keep.count }

    /// One draw: an index in `0..<count`.
    /// - Complexity: O(1).
    @inlinable
    public func sample(_ stream: inout RandomStream) -> Int {
        let i = Int(stream.nextInt(below: UInt64(keep.count)))
        return stream.nextDouble() < keep[i] ? i : Int(alias[i])
    }
}

/// The Zipf distribution over ranks 1...n with exponent s >= 0: P(k) = k^-s / H(n, s).
///
/// Sampled by rejection-inversion (Hörmann and Derflinger, "Rejection-inversion to generate
/// variates from monotone discrete distributions", ACM TOMACS 1996), as in Apache Commons RNG: O(1)
/// expected time and no table, so n can be a whole catalog of files or a population of users.
public struct ZipfDistribution: Sendable, Equatable {
    public let n: Int
    public let exponent: Double
    /// H(n, s) = Σ_{k=1}^{n} k^-s.
    public let normaliser: Double

    private let hIntegralX1: Double
    private let hIntegralN: Double
    private let squeeze: Double

    /// - Throws: when n < 1 or the exponent is negative or not finite.
    public init(n: Int, exponent: Double) throws {
        guard n >= 1 else { throw StochasticsError("zipf", "n", Double(n), expected: ">= 1") }
        guard exponent.isFinite, exponent >= 0 else { throw StochasticsError("zipf", "exponent", exponent, expected: ">= 0") }
        self.n = n
        self.exponent = exponent
        normaliser = ZipfDistribution.harmonic(n: n, s: exponent)
        hIntegralX1 = ZipfDistribution.hIntegral(1.5, exponent) - 1
        hIntegralN = ZipfDistribution.hIntegral(Double(n) + 0.5, exponent)
        squeeze = 2 - ZipfDistribution.hIntegralInverse(ZipfDistribution.hIntegral(2.5, exponent) - ZipfDistribution.h(2, exponent), exponent)
    }

    /// One draw: a rank in 1...n, rank 1 the most likely.
    /// - Complexity: O(1) expected.
    public func sample(_ stream: inout RandomStream) -> Int {
        let s = exponent
        while true {
            let u = hIntegralN + stream.nextDouble() * (hIntegralX1 - hIntegralN)
            let x = ZipfDistribution.hIntegralInverse(u, s)
            var k = Int((x + 0.5).rounded(.down))
            if k < 1 { k = 1 } else if k > n { k = n }
            if Double(k) - x <= squeeze || u >= ZipfDistribution.hIntegral(Double(k) + 0.5, s) - ZipfDistribution.h(Double(k), s) {
                return k
            }
        }
    }

    /// P(rank = k).
    public func probability(_ k: Int) -> Double {
        guard k >= 1 && k <= n else { return 0 }
        return pow(Double(k), -exponent) / normaliser
    }

    /// H(n, s) exactly up to `exactLimit` (2^22) terms; beyond, the first 2^16 terms (or
    /// `exactLimit`, if smaller) exactly plus the Euler-Maclaurin tail: integral, endpoint and
    /// first-derivative terms, whose error falls as the third derivative at the cut (below 1e-10
    /// relative from a cut of 1,000 on).
    static func harmonic(n: Int, s: Double, exactLimit: Int = 1 << 22) -> Double {
        let exactTerms = n <= exactLimit ? n : min(exactLimit, 1 << 16)
        var sum = 0.0
        // Smallest terms first, for accuracy.
        for k in stride(from: exactTerms, through: 1, by: -1) { sum += pow(Double(k), -s) }
        if exactTerms == n { return sum }
        let a = Double(exactTerms + 1), b = Double(n)
        let f = { (x: Double) in pow(x, -s) }
        let integral = s == 1 ? log(b / a) : (pow(b, 1 - s) - pow(a, 1 - s)) / (1 - s)
        let derivative = { (x: Double) in -s * pow(x, -s - 1) }
        return sum + integral + (f(a) + f(b)) / 2 + (derivative(b) - derivative(a)) / 12
    }

    static func h(_ x: Double, _ s: Double) -> Double { exp(-s * log(x)) }

    static func hIntegral(_ x: Double, _ s: Double) -> Double {
        let logX = log(x)
        return helper2((1 - s) * logX) * logX
    }

    static func hIntegralInverse(_ x: Double, _ s: Double) -> Double {
        var t = x * (1 - s)
        if t < -1 { t = -1 }
        return exp(helper1(t) * x)
    }

    /// log1p(x) / x, continuous at 0.
    static func helper1(_ x: Double) -> Double {
        abs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x))
    }

    /// expm1(x) / x, continuous at 0.
    static func helper2(_ x: Double) -> Double {
        abs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x))
    }
}

/// A distribution given by points of its cumulative distribution function, linear in between:
/// for example measured watch times, or a CDF read off a published plot.
public struct EmpiricalDistribution: Sendable, Equatable {
    /// (value, cumulative probability), values strictly increasing, probabilities non-decreasing
    /// from >= 0 to exactly 1.
    public let points: [(value: Double, probability: Double)]

    public static func == (a: EmpiricalDistribution, b: EmpiricalDistribution) -> Bool {
        a.points.elementsEqual(b.points) { $0.value == $1.value && $0.probability == $1.probability }
    }

    /// - Throws: when there are fewer than two points, values do not strictly increase,
    ///   probabilities decrease, leave [0, 1], or do not end at 1.
    public init(points: [(value: Double, probability: Double)]) throws {
        guard points.count >= 2 else { throw StochasticsError("empirical", "points", "\(points.count) point(s)", expected: "at least 2 points") }
        for (i, p) in points.enumerated() {
            guard p.value.isFinite else { throw StochasticsError("empirical", "points[\(i)].value", p.value, expected: "finite") }
            guard p.probability >= 0 && p.probability <= 1 else {
                throw StochasticsError("empirical", "points[\(i)].probability", p.probability, expected: "in [0, 1]")
            }
            if i > 0 {
                guard p.value > points[i - 1].value else {
                    throw StochasticsError("empirical", "points[\(i)].value", p.value, expected: "> the previous value (\(StochasticsError.format(points[i - 1].value)))")
                }
                guard p.probability >= points[i - 1].probability else {
                    throw StochasticsError("empirical", "points[\(i)].probability", p.probability, expected: ">= the previous probability")
                }
            }
        }
        guard points.last!.probability == 1 else {
            throw StochasticsError("empirical", "points[\(points.count - 1)].probability", points.last!.probability, expected: "1 (the last point closes the CDF)")
        }
        self.points = points
    }

    /// The empirical CDF of observed values, linear between order statistics at probabilities
    /// i / (n - 1).
    public init(samples: [Double]) throws {
        let sorted = samples.filter { $0.isFinite }.sorted()
        guard sorted.count >= 2, sorted.first! < sorted.last! else {
            throw StochasticsError("empirical", "samples", "\(samples.count) value(s)", expected: "at least two distinct finite values")
        }
        var pts: [(value: Double, probability: Double)] = []
        let last = Double(sorted.count - 1)
        for (i, v) in sorted.enumerated() {
            let p = Double(i) / last
            if let previous = pts.last, previous.value == v {
                pts[pts.count - 1].probability = p  // ties: keep the highest probability
            } else {
                pts.append((v, p))
            }
        }
        try self.init(points: pts)
    }

    /// The value at cumulative probability `p`, interpolating linearly.
    /// - Complexity: O(log points).
    public func quantile(_ p: Double) -> Double {
        if p <= points[0].probability { return points[0].value }
        var lo = 0, hi = points.count - 1  // points[lo].p < p <= points[hi].p
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if points[mid].probability < p { lo = mid } else { hi = mid }
        }
        let a = points[lo], b = points[hi]
        let span = b.probability - a.probability
        return span > 0 ? a.value + (b.value - a.value) * (p - a.probability) / span : b.value
    }

    /// P(X <= x), interpolating linearly between points.
    public func cdf(_ x: Double) -> Double {
        if x < points[0].value { return 0 }
        if x >= points[points.count - 1].value { return 1 }
        var lo = 0, hi = points.count - 1  // points[lo].value <= x < points[hi].value
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if points[mid].value <= x { lo = mid } else { hi = mid }
        }
        let a = points[lo], b = points[hi]
        return a.probability + (b.probability - a.probability) * (x - a.value) / (b.value - a.value)
    }

    /// The mean of the piecewise-linear CDF (uniform between points, an atom at the first point).
    public var mean: Double {
        var m = points[0].value * points[0].probability
        for i in 1..<points.count {
            let a = points[i - 1], b = points[i]
            m += (a.value + b.value) / 2 * (b.probability - a.probability)
        }
        return m
    }
}
