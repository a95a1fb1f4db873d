import CGSL

/// Sample statistics and goodness-of-fit tests, computed with GSL.
public enum Statistics {
    /// The arithmetic mean; 0 for no values.
    public static func mean(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        GSL.configure()
        return values.withUnsafeBufferPointer { gsl_stats_mean($0.baseAddress, 1, $0.count) }
    }

    /// The unbiased sample variance (divides by n − 1); 0 for fewer than two values.
    public static func variance(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        GSL.configure()
        return values.withUnsafeBufferPointer { gsl_stats_variance($0.baseAddress, 1, $0.count) }
    }

    /// The mean and the half-width of its two-sided confidence interval at `level`, from
    /// Student's t with n − 1 degrees of freedom (replications of a simulation are i.i.d.).
    /// The half-width is `nil` for fewer than two values.
    public static func confidenceInterval(_ values: [Double], level: Double = 0.95) -> (mean: Double, halfWidth: Double?) {
        precondition(level > 0 && level < 1, "confidence level \(level)")
        let m = mean(values)
        guard values.count > 1 else { return (m, nil) }
        let n = Double(values.count)
        let t = GSL.studentTQuantile(1 - (1 - level) / 2, degreesOfFreedom: n - 1)
        return (m, t * (variance(values) / n).squareRoot())
    }

    /// The result of Pearson's chi-square goodness-of-fit test.
    public struct ChiSquare: Sendable, CustomStringConvertible {
        public var statistic: Double
        public var degreesOfFreedom: Int
        /// P(X² >= statistic) under the hypothesis.
        public var pValue: Double
        /// Bins after pooling sparse ones.
        public var bins: Int
        public var description: String {
            "chi-square \(statistic) on \(degreesOfFreedom) dof (p = \(pValue), \(bins) bins)"
        }
    }

    /// Pearson's chi-square test of observed counts against expected probabilities.
    ///
    /// Adjacent bins are pooled, in order, until each expects at least `minimumExpected` draws (the
    /// usual validity condition); the degrees of freedom are bins − 1 − `estimatedParameters`.
    /// - Precondition: same length, probabilities summing to about 1.
    public static func chiSquare(observed: [Int], probabilities: [Double], minimumExpected: Double = 5,
                                 estimatedParameters: Int = 0) -> ChiSquare {
        precondition(observed.count == probabilities.count && !observed.isEmpty, "chi-square needs matching, non-empty bins")
        let n = Double(observed.reduce(0, +))
        var pooledObserved: [Double] = []
        var pooledExpected: [Double] = []
        var o = 0.0, e = 0.0
        for i in 0..<observed.count {
            o += Double(observed[i])
            e += probabilities[i] * n
            if e >= minimumExpected {
                pooledObserved.append(o)
                pooledExpected.append(e)
                o = 0
                e = 0
            }
        }
        if e > 0 || o > 0 {
            if pooledExpected.isEmpty {
                pooledObserved.append(o)
                pooledExpected.append(e)
            } else {
                pooledObserved[pooledObserved.count - 1] += o
                pooledExpected[pooledExpected.count - 1] += e
            }
        }
        var statistic = 0.0
        for i in 0..<pooledObserved.count {
            let d = pooledObserved[i] - pooledExpected[i]
            statistic += d * d / pooledExpected[i]
        }
        let dof = max(1, pooledObserved.count - 1 - estimatedParameters)
        return ChiSquare(statistic: statistic, degreesOfFreedom: dof,
                         pValue: GSL.chiSquareUpperTail(statistic, degreesOfFreedom: Double(dof)),
                         bins: pooledObserved.count)
    }
}
