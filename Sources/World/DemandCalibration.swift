import SimCore
import Stochastics

/// Session arrival rates per region, scaled so that concurrency peaks where the scenario says.
///
/// Sessions are an M_t/G/∞ system: arrivals at rate λ(t), each lasting a random D with survival
/// S. The expected number in progress is C(t) = ∫₀^∞ λ(t − a) S(a) da (Eick, Massey and Whitt,
/// "The physics of the M_t/G/∞ queue", Operations Research 1993), so the scale that makes the peak
/// of C equal the target is found by computing C once at unit scale. Here C is evaluated on a
/// one-minute grid of the (periodic) day by circular convolution, with ∫ S over each minute by
/// Simpson's rule; the error is well under 0.1% for watch times of minutes to hours.
public struct DemandCalibration: Sendable {
    /// Grid step.
    public static let stepSeconds = 60.0
    public static let minutesPerDay = 1_440

    /// Per region: session arrivals (sampled population) in local time.
    public let arrivals: [ArrivalProcess]
    /// Per region: sessions per second per user at relative demand 1 (the calibrated scale).
    public let scales: [Double]
    /// Per region: expected sessions in progress (sampled) at the start of each UTC minute of the day.
    public let expectedConcurrency: [[Double]]
    /// ∫ S over each minute of age, in seconds: w[j] = ∫_{jΔ}^{(j+1)Δ} S(a) da.
    public let survivalWeights: [Double]
    public let startUnixSeconds: Int64

    /// - Precondition: the watch-duration distribution has a finite mean.
    public init(configuration c: WorldConfiguration) {
        let watch = c.demand.watchDuration
        precondition(watch.mean.isFinite && watch.mean > 0, "watch duration needs a finite, positive mean")
        survivalWeights = DemandCalibration.survivalWeights(watch)
        startUnixSeconds = c.startUnixSeconds
        let n = DemandCalibration.minutesPerDay
        let k = Double(c.sampling)

        // Concurrency at unit scale, per region and UTC minute.
        var unit: [[Double]] = []
        var shapes: [[Double]] = []
        for region in c.regions {
            let shape = region.curve.relativeHourly.map { $0 * region.users / k * region.engagement }
            shapes.append(shape)
            let curve = try! DailyRateCurve(hourly: shape)
            let offset = region.utcOffset.seconds
            // Mean rate over each UTC minute.
            let rates = (0..<n).map { m in
                curve.integral(from: Double(m) * 60 + offset, to: Double(m + 1) * 60 + offset) / 60
            }
            unit.append(DemandCalibration.convolve(rates: rates, weights: survivalWeights))
        }

        var scales = [Double](repeating: 0, count: c.regions.count)
        switch c.demand.peakScope {
        case .global:
            let totalUsers = c.regions.reduce(0) { $0 + $1.users } / k
            var peak = 0.0
            for m in 0..<n { peak = max(peak, unit.reduce(0) { $0 + $1[m] }) }
            let s = peak > 0 ? c.demand.peakConcurrency * totalUsers / peak : 0
            for r in scales.indices { scales[r] = s }
        case .regional:
            for (r, region) in c.regions.enumerated() {
                let peak = unit[r].max() ?? 0
                let target = min(1, c.demand.peakConcurrency * region.engagement) * region.users / k
                scales[r] = peak > 0 ? target / peak : 0
            }
        }
        self.scales = scales
        expectedConcurrency = unit.enumerated().map { r, series in series.map { $0 * scales[r] } }

        let startSecondOfDay = Double(((c.startUnixSeconds % 86_400) + 86_400) % 86_400)
        arrivals = c.regions.enumerated().map { r, region in
            let curve = try! DailyRateCurve(hourly: shapes[r].map { $0 * scales[r] })
            let phase = (startSecondOfDay + region.utcOffset.seconds).truncatingRemainder(dividingBy: 86_400)
            return try! ArrivalProcess(curve: curve, phaseSeconds: phase < 0 ? phase + 86_400 : phase)
        }
    }

    /// Expected global concurrency (sampled) at the start of each UTC minute.
    public var expectedGlobalConcurrency: [Double] {
        (0..<DemandCalibration.minutesPerDay).map { m in expectedConcurrency.reduce(0) { $0 + $1[m] } }
    }

    /// The expected concurrency at simulated instant `t` for region `r`, interpolated on the grid.
    public func expectedConcurrency(region r: Int, at t: SimInstant) -> Double {
        let utc = Double(startUnixSeconds % 86_400) + t.seconds
        let x = (utc / 60).truncatingRemainder(dividingBy: Double(DemandCalibration.minutesPerDay))
        let m = Int(x.rounded(.down)), f = x - Double(m)
        let series = expectedConcurrency[r]
        return series[m] * (1 - f) + series[(m + 1) % DemandCalibration.minutesPerDay] * f
    }

    /// Sessions already in progress at the epoch in region `r`, so that a run starts in steady
    /// state rather than empty: the count is Poisson with mean C(0) (exact for M_t/G/∞), each
    /// session's age is drawn with density ∝ λ(−a)S(a) (one-minute bins, uniform within a bin), and
    /// its remaining time from the watch-duration law conditioned on exceeding that age.
    /// Returns the remaining durations in seconds.
    public func initialSessions(region r: Int, watch: Distribution, _ stream: inout RandomStream) -> [Double] {
        let process = arrivals[r]
        var weights = [Double](repeating: 0, count: survivalWeights.count)
        for j in 0..<survivalWeights.count {
            // Sessions of age in [jΔ, (j+1)Δ) started around (j + ½)Δ before the epoch.
            let ageMid = (Double(j) + 0.5) * DemandCalibration.stepSeconds
            weights[j] = process.curve.rate(atSecondOfDay: process.phaseSeconds - ageMid) * survivalWeights[j]
        }
        let mean = weights.reduce(0, +)
        guard mean > 0 else { return [] }
        let count = (try! PoissonDistribution(mean: mean)).sample(&stream)
        let ages = try! AliasTable(weights: weights)
        var remaining: [Double] = []
        remaining.reserveCapacity(count)
        for _ in 0..<count {
            let age = (Double(ages.sample(&stream)) + stream.nextDouble()) * DemandCalibration.stepSeconds
            remaining.append(watch.sample(exceeding: age, &stream) - age)
        }
        return remaining
    }

    /// w[j] = ∫_{jΔ}^{(j+1)Δ} S(a) da by Simpson's rule, until the tail beyond holds less than 1e-7
    /// of the mean (or 30 days).
    static func survivalWeights(_ d: Distribution) -> [Double] {
        let step = stepSeconds
        let mean = d.mean
        var w: [Double] = []
        var total = 0.0
        var j = 0
        let limit = 30 * minutesPerDay
        while j < limit {
            let a = Double(j) * step
            let s0 = 1 - d.cdf(a), sm = 1 - d.cdf(a + step / 2), s1 = 1 - d.cdf(a + step)
            let wj = step / 6 * (s0 + 4 * sm + s1)
            w.append(wj)
            total += wj
            j += 1
            if s1 <= 0 || total >= mean * (1 - 1e-7) { break }
        }
        return w
    }

    /// C[m] = Σ_j rate[(m − 1 − j) mod n] · w[j]: sessions started in minute m − 1 − j are between
    /// j and j + 1 minutes old at the start of minute m.
    static func convolve(rates: [Double], weights: [Double]) -> [Double] {
        let n = rates.count, span = weights.count
        // The rates extended backwards periodically, so the inner loop is a contiguous dot product:
        // extended[i] = rates[(i − span) mod n].
        let extended = (0..<(n + span)).map { rates[(($0 - span) % n + n) % n] }
        var out = [Double](repeating: 0, count: n)
        for m in 0..<n {
            var sum = 0.0
            let base = m - 1 + span
            for j in 0..<span { sum += extended[base - j] * weights[j] }
            out[m] = sum
        }
        return out
    }
}
