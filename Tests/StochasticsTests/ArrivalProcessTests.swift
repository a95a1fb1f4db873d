import Testing
@testable import SimCore
@testable import Stochastics

@Suite("Arrival process with a daily rate curve")
struct ArrivalProcessTests {
    /// A curve shaped like evening video demand, in arrivals per second.
    static let evening: [Double] = [0.55, 0.35, 0.22, 0.15, 0.12, 0.12, 0.15, 0.2, 0.25, 0.3, 0.33, 0.36,
                                    0.4, 0.42, 0.44, 0.47, 0.52, 0.6, 0.72, 0.85, 0.97, 1.0, 0.9, 0.75]

    @Test("Arrivals per local hour match the integral of the rate curve (chi-square)")
    func hourlyCounts() throws {
        let curve = try DailyRateCurve(hourly: ArrivalProcessTests.evening)
        // The simulation starts at 13:30 local time.
        let process = try ArrivalProcess(curve: curve, phaseSeconds: 13.5 * 3_600)
        var stream = RandomStream(seed: 4, label: "test.nhpp", id: 0)
        let days = 6.0
        let end = SimInstant.zero + SimDuration(seconds: days * 86_400)
        var counts = [Int](repeating: 0, count: 24)
        var t = SimInstant.zero
        while let next = process.nextArrival(after: t, &stream), next < end {
            #expect(next >= t)
            counts[Int(process.localSecondOfDay(next) / 3_600)] += 1
            t = next
        }
        let total = Double(counts.reduce(0, +))
        let probabilities = (0..<24).map { h in
            curve.integral(from: Double(h) * 3_600, to: Double(h + 1) * 3_600) / curve.dailyIntegral
        }
        #expect(abs(total - days * curve.dailyIntegral) < 4 * (days * curve.dailyIntegral).squareRoot())
        let test = Statistics.chiSquare(observed: counts, probabilities: probabilities)
        #expect(test.pValue > 0.001, "\(test), counts \(counts)")
    }

    @Test("A flat curve gives exponential gaps (a homogeneous Poisson process)")
    func flatCurveIsPoisson() throws {
        let process = try ArrivalProcess(curve: DailyRateCurve(hourly: Array(repeating: 2.0, count: 24)), phaseSeconds: 0)
        var stream = RandomStream(seed: 5, label: "test.flat", id: 0)
        var gaps: [Double] = []
        var t = SimInstant.zero
        for _ in 0..<100_000 {
            let next = process.nextArrival(after: t, &stream)!
            gaps.append((next - t).seconds)
            t = next
        }
        let mean = Statistics.mean(gaps)
        let cv = Statistics.variance(gaps).squareRoot() / mean
        #expect(abs(mean - 0.5) < 0.005, "mean gap \(mean)")
        #expect(abs(cv - 1) < 0.01, "coefficient of variation \(cv)")
    }

    @Test("Arrivals fall only where the curve is positive, shifted by the phase")
    func phase() throws {
        var hourly = Array(repeating: 0.0, count: 24)
        hourly[20] = 1  // positive between 19:00 and 21:00 local
        let process = try ArrivalProcess(curve: DailyRateCurve(hourly: hourly), phaseSeconds: 6 * 3_600)
        var stream = RandomStream(seed: 6, label: "test.phase", id: 0)
        var t = SimInstant.zero
        for _ in 0..<5_000 {
            t = process.nextArrival(after: t, &stream)!
            let local = process.localSecondOfDay(t)
            #expect(local > 19 * 3_600 && local < 21 * 3_600, "arrival at local second \(local)")
        }
        // The first possible arrival is 13 h after the epoch (19:00 local, epoch at 06:00).
        var fresh = RandomStream(seed: 6, label: "test.phase", id: 1)
        #expect(process.nextArrival(after: .zero, &fresh)! > SimInstant.zero + .hours(13))
    }

    @Test("A curve that is zero all day never produces an arrival")
    func silentCurve() throws {
        let process = try ArrivalProcess(curve: DailyRateCurve(hourly: Array(repeating: 0, count: 24)), phaseSeconds: 0)
        var stream = RandomStream(seed: 7, label: "test.silent", id: 0)
        #expect(process.nextArrival(after: .zero, &stream) == nil)
    }

    @Test("Rates and integrals follow the straight lines between hourly values")
    func integrals() throws {
        let curve = try DailyRateCurve(hourly: (0..<24).map { Double($0) })
        #expect(curve.rate(atSecondOfDay: 1.5 * 3_600) == 1.5)
        #expect(curve.rate(atSecondOfDay: 23.5 * 3_600) == 11.5)  // back towards 0 at midnight
        #expect(curve.rate(atSecondOfDay: 86_400 + 3_600) == 1)
        #expect(abs(curve.integral(from: 0, to: 3_600) - 1_800) < 1e-9)
        #expect(abs(curve.integral(from: 0, to: 86_400 * 3) - 3 * curve.dailyIntegral) < 1e-6)
        #expect(abs(curve.integral(from: 1_800, to: 5_400) - (0.5 + 1.5) / 2 * 3_600) < 1e-9)
        #expect(throws: StochasticsError.self) { try DailyRateCurve(hourly: [1, 2]) }
        #expect(throws: StochasticsError.self) { try DailyRateCurve(hourly: Array(repeating: -1, count: 24)) }
        #expect(curve.scaled(by: 2).peakRate == 46)
    }
}
