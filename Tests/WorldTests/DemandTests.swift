import Metrics
import SimCore
import Stochastics
import Testing
@testable import World

@Suite("Demand calibration")
struct DemandCalibrationTests {
    @Test("With global scope the expected global peak is exactly the configured share of all users")
    func globalPeak() {
        let c = configuration(regions: [
            RegionConfiguration(id: "a", utcOffset: .hours(-5), users: 1_000_000, curve: .evening),
            RegionConfiguration(id: "b", utcOffset: .hours(1), users: 3_000_000, curve: .evening),
            RegionConfiguration(id: "c", utcOffset: .hours(8), users: 2_000_000, curve: .flat, engagement: 0.5),
        ])
        let cal = DemandCalibration(configuration: c)
        let peak = cal.expectedGlobalConcurrency.max()!
        #expect(abs(peak - 0.05 * 6_000_000) < 1e-6 * peak)
        // Regional peaks do not align, so their sum exceeds the global peak.
        let sumOfPeaks = cal.expectedConcurrency.map { $0.max()! }.reduce(0, +)
        #expect(sumOfPeaks > peak * 1.05)
    }

    @Test("With regional scope every region peaks at its share of its own users")
    func regionalPeaks() {
        let c = configuration(regions: [
            RegionConfiguration(id: "a", utcOffset: .hours(-5), users: 1_000_000, curve: .evening),
            RegionConfiguration(id: "b", utcOffset: .hours(1), users: 3_000_000, curve: .evening, engagement: 1.5),
        ], scope: .regional)
        let cal = DemandCalibration(configuration: c)
        #expect(abs(cal.expectedConcurrency[0].max()! - 50_000) < 0.01)
        #expect(abs(cal.expectedConcurrency[1].max()! - 225_000) < 0.01)
    }

    @Test("A flat curve gives concurrency = arrival rate × mean watch time (Little's law)")
    func flatCurveLittle() {
        let watch = try! Distribution.exponential(mean: 1_800)
        var c = configuration(regions: [RegionConfiguration(id: "a", utcOffset: .zero, users: 1_000_000, curve: .flat)], watch: watch)
        c.demand.titleLength = nil
        let cal = DemandCalibration(configuration: c)
        let lambda = cal.arrivals[0].curve.meanRate
        for m in stride(from: 0, to: 1_440, by: 97) {
            #expect(abs(cal.expectedConcurrency[0][m] - lambda * 1_800) < 1e-4 * 50_000)
        }
        #expect(abs(lambda * 1_800 - 50_000) < 1)
    }

    @Test("The evening curve's concurrency peaks after its arrival peak at 21:00 local")
    func peakLags() {
        let c = configuration(regions: [RegionConfiguration(id: "a", utcOffset: .zero, users: 1_000_000, curve: .evening)])
        let cal = DemandCalibration(configuration: c)
        let series = cal.expectedConcurrency[0]
        let peakMinute = series.indices.max { series[$0] < series[$1] }!
        #expect(peakMinute > 21 * 60 && peakMinute < 23 * 60, "peak at minute \(peakMinute)")
    }
}

@Suite("Simulated demand")
struct SimulatedDemandTests {
    /// A flat region in steady state from the first instant: the simulated mean concurrency over
    /// the run equals λ·E[D] (Little's law) within 3%, with no warm-up period.
    @Test("Peak-free demand runs at λ·E[D] from the first minute (steady-state start, Little's law)")
    func littlesLaw() throws {
        let c = configuration(regions: [RegionConfiguration(id: "a", utcOffset: .zero, users: 40_000, curve: .flat)],
                              watch: try! .lognormal(median: 300, sigma: 0.5), hours: 2)
        let world = World(configuration: c)
        let initial = world.sessionsInProgress
        try world.run(until: world.end)
        let r = world.results()
        let target = 0.05 * 40_000.0
        #expect(abs(Double(initial) - target) < 4 * target.squareRoot(), "started with \(initial) sessions in progress")
        let mean = r.global.concurrency.timeAverage(until: r.end)
        #expect(abs(mean - target) / target < 0.03, "mean concurrency \(mean), λ·E[D] = \(target)")
        // The first bucket is already at the steady level.
        #expect(abs(r.global.concurrencySeries.mean(0) - target) / target < 0.05)
    }

    @Test("Sessions in progress at the start have the right remaining time (memoryless case)")
    func remainingTimes() {
        let watch = try! Distribution.exponential(mean: 1_200)
        var c = configuration(regions: [RegionConfiguration(id: "a", utcOffset: .hours(3), users: 1_000_000, curve: .evening)], watch: watch)
        c.demand.titleLength = nil  // no cut at the title's end: the memoryless case
        let cal = DemandCalibration(configuration: c)
        var stream = RandomStream(seed: 5, label: "test.initial", id: 0)
        let remaining = cal.initialSessions(region: 0, watch: watch, &stream)
        let expected = cal.expectedConcurrency(region: 0, at: .zero)
        #expect(abs(Double(remaining.count) - expected) < 4 * expected.squareRoot())
        // Exponential lengths are memoryless: what remains is again exponential with mean 1200 s.
        let mean = Statistics.mean(remaining)
        #expect(abs(mean - 1_200) / 1_200 < 0.03, "mean remaining \(mean)")
    }

    @Test("The same seed gives the same run; a different seed a different one")
    func determinism() throws {
        func run(seed: UInt64) throws -> (Int64, Double, SimInstant) {
            let c = configuration(regions: [
                RegionConfiguration(id: "a", utcOffset: .hours(-5), users: 10_000, curve: .evening),
                RegionConfiguration(id: "b", utcOffset: .hours(1), users: 10_000, curve: .evening),
            ], hours: 0.5, seed: seed)
            let world = World(configuration: c)
            try world.run(until: world.end)
            let r = world.results()
            return (r.global.sessionStarts.value, r.global.concurrency.maximum, r.global.concurrency.maximumAt)
        }
        let a = try run(seed: 1), b = try run(seed: 1), c = try run(seed: 2)
        #expect(a == b)
        #expect(a != c)
    }

    @Test("Running in slices gives the same result as one run")
    func slicing() throws {
        let c = configuration(regions: [RegionConfiguration(id: "a", utcOffset: .hours(2), users: 10_000, curve: .evening)], hours: 0.5)
        let whole = World(configuration: c)
        try whole.run(until: whole.end)
        let sliced = World(configuration: c)
        var t = SimInstant.zero
        while t < sliced.end {
            t = t + .seconds(37)
            try sliced.run(until: t)
        }
        let a = whole.results(), b = sliced.results()
        #expect(a.eventsProcessed == b.eventsProcessed)
        #expect(a.global.concurrency == b.global.concurrency)
        #expect(a.global.concurrencySeries == b.global.concurrencySeries)
        #expect(a.global.startTime == b.global.startTime)
    }

    @Test("Sampling 1 in k simulates k times fewer sessions at the same calibrated platform peak")
    func sampling() throws {
        let regions = [RegionConfiguration(id: "a", utcOffset: .zero, users: 100_000, curve: .evening)]
        let full = World(configuration: configuration(regions: regions, hours: 0.01, sampling: 1))
        let sampled = World(configuration: configuration(regions: regions, hours: 0.01, sampling: 10))
        let ratio = Double(full.sessionsInProgress) / Double(sampled.sessionsInProgress)
        #expect(abs(ratio - 10) < 1, "ratio \(ratio)")
        #expect(abs(full.results().expectedPeak - sampled.results().expectedPeak) < 1e-6 * full.results().expectedPeak)
    }
}
