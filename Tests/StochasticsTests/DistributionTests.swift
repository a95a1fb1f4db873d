#if canImport(Glibc)
import Glibc
#endif
import CGSL
import Testing
@testable import SimCore
@testable import Stochastics

@Suite("GSL bridge")
struct GSLBridgeTests {
    @Test("GSL's generator draws exactly the stream's numbers and advances it in place")
    func generatorIsTheStream() {
        var viaGSL = RandomStream(seed: 42, label: "golden", id: 7)
        var direct = viaGSL
        let doubles = GSL.withGenerator(&viaGSL) { rng in (0..<3).map { _ in gsl_rng_uniform(rng) } }
        #expect(doubles == (0..<3).map { _ in direct.nextDouble() })
        #expect(viaGSL == direct)
        let words = GSL.withGenerator(&viaGSL) { rng in (0..<3).map { _ in UInt64(gsl_rng_get(rng)) } }
        #expect(words == (0..<3).map { _ in direct.next() >> 32 })
        #expect(GSL.withGenerator(&viaGSL) { rng in String(cString: gsl_rng_name(rng)) } == "vodsim-splitmix64")
    }

    @Test("A GSL sampler called through the bridge is reproducible")
    func samplerReproducible() {
        var a = RandomStream(seed: 1, label: "gamma", id: 0)
        var b = a
        let x = (0..<5).map { _ in GSL.withGenerator(&a) { gsl_ran_gamma($0, 2.5, 3) } }
        let y = (0..<5).map { _ in GSL.withGenerator(&b) { gsl_ran_gamma($0, 2.5, 3) } }
        #expect(x == y)
    }

    @Test("gsl_rng_alloc with the stream type seeds a usable generator")
    func allocatedGenerator() {
        let rng = gsl_rng_alloc(GSL.streamType)!
        defer { gsl_rng_free(rng) }
        gsl_rng_set(rng, 99)
        let u = gsl_rng_uniform(rng)
        #expect(u >= 0 && u < 1)
        var expected = RandomStream(seed: 99, label: "gsl.seed", id: 0)
        #expect(u == expected.nextDouble())
    }
}

@Suite("Distributions")
struct DistributionTests {
    @Test("Invalid parameters are refused with the parameter, the value and what was expected")
    func validation() {
        #expect(throws: StochasticsError("lognormal", "sigma", "-0.5", expected: "> 0")) {
            try Distribution.lognormal(median: 2400, sigma: -0.5)
        }
        #expect(throws: StochasticsError("exponential", "mean", "0", expected: "> 0")) { try Distribution.exponential(mean: 0) }
        #expect(throws: StochasticsError.self) { try Distribution.gamma(shape: .nan, scale: 1) }
        #expect(throws: StochasticsError.self) { try Distribution.pareto(shape: 1, minimum: -1) }
        #expect(throws: StochasticsError.self) { try Distribution.uniform(low: 5, high: 4) }
        #expect(throws: StochasticsError.self) { try PoissonDistribution(mean: -1) }
        #expect(throws: StochasticsError.self) { try ZipfDistribution(n: 0, exponent: 1) }
        #expect(throws: StochasticsError.self) { try ZipfDistribution(n: 10, exponent: -0.1) }
        #expect(throws: StochasticsError.self) { try AliasTable(weights: [1, -2]) }
        #expect(throws: StochasticsError.self) { try AliasTable(weights: [0, 0]) }
        #expect(throws: StochasticsError.self) { try AliasTable(weights: []) }
        let message = String(describing: StochasticsError("lognormal", "sigma", "-0.5", expected: "> 0"))
        #expect(message == "lognormal.sigma: must be > 0, got -0.5")
    }

    static let cases: [(String, Distribution)] = [
        ("exponential", try! .exponential(mean: 30)),
        ("lognormal", try! .lognormal(median: 2400, sigma: 0.8)),
        ("gamma small shape", try! .gamma(shape: 0.7, scale: 2)),
        ("gamma", try! .gamma(shape: 4.5, scale: 10)),
        ("pareto", try! .pareto(shape: 2.5, minimum: 1)),
        ("uniform", try! .uniform(low: -3, high: 7)),
        ("empirical", .empirical(try! EmpiricalDistribution(points: [(0, 0), (10, 0.3), (60, 0.9), (600, 1)]))),
    ]

    /// Twenty bins of equal probability cut at the distribution's own quantiles: the sampler and
    /// the quantile function must agree.
    @Test("Draws follow the distribution's own quantiles (chi-square, 20 bins)", arguments: 0..<cases.count)
    func samplerMatchesQuantiles(index: Int) {
        let (name, d) = DistributionTests.cases[index]
        var stream = RandomStream(seed: 2024, label: "test.dist.\(name)", id: 0)
        let edges = (1..<20).map { d.quantile(Double($0) / 20) }
        var counts = [Int](repeating: 0, count: 20)
        for _ in 0..<100_000 {
            let x = d.sample(&stream)
            var lo = 0, hi = edges.count
            while lo < hi { let mid = (lo + hi) / 2; if edges[mid] <= x { lo = mid + 1 } else { hi = mid } }
            counts[lo] += 1
        }
        let test = Statistics.chiSquare(observed: counts, probabilities: Array(repeating: 0.05, count: 20))
        #expect(test.pValue > 0.001, "\(name): \(test), counts \(counts)")
    }

    @Test("Sample means agree with the closed-form means", arguments: 0..<cases.count)
    func means(index: Int) {
        let (name, d) = DistributionTests.cases[index]
        var stream = RandomStream(seed: 77, label: "test.mean.\(name)", id: 0)
        let n = 200_000
        var sum = 0.0
        for _ in 0..<n { sum += d.sample(&stream) }
        let relative = abs(sum / Double(n) - d.mean) / max(1, abs(d.mean))
        #expect(relative < 0.02, "\(name): sample mean \(sum / Double(n)), expected \(d.mean)")
    }

    @Test("Quantiles have their textbook values")
    func quantiles() throws {
        #expect(try Distribution.lognormal(median: 2400, sigma: 0.8).quantile(0.5) == 2400)
        #expect(abs(try Distribution.exponential(mean: 2).quantile(0.5) - 2 * 0.6931471805599453) < 1e-12)
        #expect(try Distribution.pareto(shape: 1, minimum: 3).quantile(0.5) == 6)
        #expect(try Distribution.uniform(low: 0, high: 10).quantile(0.25) == 2.5)
        #expect(abs(try Distribution.lognormal(mean: 100, sigma: 1).mean - 100) < 1e-9)
        #expect(try Distribution.pareto(shape: 1, minimum: 1).mean == .infinity)
    }

    @Test("Poisson draws follow the Poisson probabilities")
    func poisson() throws {
        let p = try PoissonDistribution(mean: 4.2)
        var stream = RandomStream(seed: 3, label: "test.poisson", id: 0)
        var counts = [Int](repeating: 0, count: 30)
        for _ in 0..<50_000 { counts[min(29, p.sample(&stream))] += 1 }
        var probabilities = (0..<29).map { p.probability($0) }
        probabilities.append(1 - probabilities.reduce(0, +))
        let test = Statistics.chiSquare(observed: counts, probabilities: probabilities)
        #expect(test.pValue > 0.001, "\(test)")
        let zero = try PoissonDistribution(mean: 0)
        #expect(zero.sample(&stream) == 0)
    }
}

@Suite("Discrete samplers")
struct DiscreteTests {
    @Test("Alias-method draws pass chi-square against the exact probabilities")
    func aliasMatches() throws {
        let weights: [Double] = [5, 0, 1, 12.5, 3, 3, 0.25, 40, 7, 1]
        let table = try AliasTable(weights: weights)
        var stream = RandomStream(seed: 8, label: "test.alias", id: 0)
        var counts = [Int](repeating: 0, count: weights.count)
        for _ in 0..<200_000 { counts[table.sample(&stream)] += 1 }
        #expect(counts[1] == 0, "a zero weight is never drawn")
        let test = Statistics.chiSquare(observed: counts, probabilities: table.probabilities)
        #expect(test.pValue > 0.001, "\(test), counts \(counts)")
    }

    @Test("The chi-square check rejects draws from the wrong probabilities")
    func aliasNegativeControl() throws {
        let table = try AliasTable(weights: [1, 2, 3, 4])
        var stream = RandomStream(seed: 8, label: "test.alias.negative", id: 0)
        var counts = [0, 0, 0, 0]
        for _ in 0..<100_000 { counts[table.sample(&stream)] += 1 }
        let wrong = Statistics.chiSquare(observed: counts, probabilities: [0.1, 0.2, 0.35, 0.35])
        #expect(wrong.pValue < 1e-6, "\(wrong)")
    }

    @Test("Zipf draws pass chi-square against the exact pmf", arguments: [0.0, 0.6, 0.9, 1.0, 1.4])
    func zipfMatches(exponent: Double) throws {
        let zipf = try ZipfDistribution(n: 2_000, exponent: exponent)
        var stream = RandomStream(seed: 12, label: "test.zipf", id: UInt64(exponent * 10))
        var counts = [Int](repeating: 0, count: zipf.n)
        for _ in 0..<300_000 {
            let k = zipf.sample(&stream)
            #expect(k >= 1 && k <= zipf.n)
            counts[k - 1] += 1
        }
        let probabilities = (1...zipf.n).map { zipf.probability($0) }
        #expect(abs(probabilities.reduce(0, +) - 1) < 1e-9)
        let test = Statistics.chiSquare(observed: counts, probabilities: probabilities)
        #expect(test.pValue > 0.001, "s = \(exponent): \(test)")
    }

    @Test("The Zipf check tells exponent 0.9 from exponent 1.0")
    func zipfNegativeControl() throws {
        let drawn = try ZipfDistribution(n: 1_000, exponent: 0.9)
        let claimed = try ZipfDistribution(n: 1_000, exponent: 1.0)
        var stream = RandomStream(seed: 12, label: "test.zipf.negative", id: 0)
        var counts = [Int](repeating: 0, count: 1_000)
        for _ in 0..<300_000 { counts[drawn.sample(&stream) - 1] += 1 }
        let test = Statistics.chiSquare(observed: counts, probabilities: (1...1_000).map { claimed.probability($0) })
        #expect(test.pValue < 1e-6, "\(test)")
    }

    @Test("Zipf handles one rank, and huge catalogs without a table")
    func zipfEdges() throws {
        var stream = RandomStream(seed: 1, label: "test.zipf.edges", id: 0)
        let one = try ZipfDistribution(n: 1, exponent: 1.2)
        #expect(one.sample(&stream) == 1)
        let huge = try ZipfDistribution(n: 200_000_000, exponent: 0.8)
        for _ in 0..<1_000 { #expect((1...200_000_000).contains(huge.sample(&stream))) }
    }

    @Test("The harmonic-number tail formula matches the exact sum", arguments: [0.5, 1.0, 1.3])
    func harmonicTail(s: Double) {
        var exact = 0.0
        for k in stride(from: 300_000, through: 1, by: -1) { exact += pow(Double(k), -s) }
        let approximated = ZipfDistribution.harmonic(n: 300_000, s: s, exactLimit: 1_000)
        #expect(abs(approximated - exact) / exact < 1e-10, "s = \(s): \(approximated) vs \(exact)")
    }

    @Test("An empirical CDF rejects bad points and interpolates between good ones")
    func empirical() throws {
        #expect(throws: StochasticsError.self) { try EmpiricalDistribution(points: [(1, 0.5)]) }
        #expect(throws: StochasticsError.self) { try EmpiricalDistribution(points: [(1, 0), (1, 1)]) }
        #expect(throws: StochasticsError.self) { try EmpiricalDistribution(points: [(1, 0.6), (2, 0.5), (3, 1)]) }
        #expect(throws: StochasticsError.self) { try EmpiricalDistribution(points: [(1, 0), (2, 0.9)]) }
        let e = try EmpiricalDistribution(points: [(0, 0), (10, 0.5), (20, 1)])
        #expect(e.quantile(0.25) == 5)
        #expect(e.quantile(0.75) == 15)
        #expect(e.mean == 10)
        let fromSamples = try EmpiricalDistribution(samples: [3, 1, 2, 2, 5])
        #expect(fromSamples.quantile(0) == 1)
        #expect(fromSamples.quantile(1) == 5)
    }
}

@Suite("Statistics")
struct StatisticsTests {
    @Test("A 95% confidence interval uses Student's t with n - 1 degrees of freedom")
    func confidenceInterval() {
        let values: [Double] = [9, 11, 10, 12, 8, 10, 11, 9, 10, 10]
        let ci = Statistics.confidenceInterval(values)
        #expect(ci.mean == 10)
        // Squared deviations sum to 12, so s² = 12/9; t(0.975, 9) = 2.262157.
        let expected = 2.262157 * (12.0 / 9 / 10).squareRoot()
        #expect(abs(ci.halfWidth! - expected) < 1e-5)
        #expect(Statistics.confidenceInterval([4]).halfWidth == nil)
    }

    @Test("Chi-square pools sparse bins and reports the textbook p-value")
    func chiSquare() {
        // 6 faces, 60 rolls, statistic = (5²+5²)/10 = 5 on 5 dof: p = 0.4159.
        let test = Statistics.chiSquare(observed: [15, 5, 10, 10, 10, 10], probabilities: Array(repeating: 1.0 / 6, count: 6))
        #expect(abs(test.statistic - 5) < 1e-12)
        #expect(test.degreesOfFreedom == 5)
        #expect(abs(test.pValue - 0.4159) < 1e-4)
        let pooled = Statistics.chiSquare(observed: [1, 1, 98], probabilities: [0.01, 0.01, 0.98])
        #expect(pooled.bins == 1)
    }
}
