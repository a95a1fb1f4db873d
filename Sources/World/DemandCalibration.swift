import SimCore
import Stochastics

/// Session arrival rates per region, scaled so that concurrency peaks where the scenario says.
///
/// Sessions are an M_t/G/∞ system: arrivals at rate λ(t), each lasting a random D with survival
/// S. The expected number in progress is C(t) = ∫₀^∞ λ(t − a) S(a) da (Eick, Massey and Whitt,
/// "The physics of the M_t/G/∞ queue", Operations Research 1993), so the scale that makes the peak
/// of C equal the target is found by computing C once at unit scale. Here C is evaluated on a
/// one-minute grid of the (periodic) day by circular convolution, with ∫ S over each minute by
/// adaptive Simpson (exact to 1e-9 even where S jumps); rates are minute means, so the error is
/// well under 0.1% for watch times of seconds to hours.
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
    /// Per region, ∫ S over each minute of age, in seconds: w[j] = ∫_{jΔ}^{(j+1)Δ} S(a) da.
    public let survivalWeights: [[Double]]
    public let startUnixSeconds: Int64

    /// Calibrated on the titles a run's sessions will choose (`titleLengths`, seconds: their
    /// lengths cut the watch time), weighted by each region's popularity at the start.
    init(configuration c: WorldConfiguration, titleLengths lengths: [Double], popularity: Popularity) {
        self.init(configuration: c, titleLengths: c.regions.indices.map { r in
            TitleLengthMix(lengths: lengths, weights: lengths.indices.map { popularity.weight(region: r, title: $0, at: .zero) })
        })
    }

    /// Sessions of `regions` expected over a run of `duration`: those in progress at the start and
    /// those arriving after.
    func expectedSessions(regions: [Int], over duration: SimDuration) -> Double {
        regions.reduce(0.0) { r, region in
            r + expectedConcurrency(region: region, at: .zero) + arrivals[region].expectedArrivals(from: .zero, to: .zero + duration)
        }
    }

    /// - Parameter titleLengths: per region, the lengths of the titles sessions there choose, with
    ///   their popularity: a session ends at its title's end, so these cut the watch time. Without
    ///   them, the catalog's length law (`demand.titleLength`) stands in.
    /// - Precondition: the watch-duration distribution has a finite mean.
    public init(configuration c: WorldConfiguration, titleLengths: [TitleLengthMix]? = nil) {
        precondition(c.demand.watchDuration.mean.isFinite && c.demand.watchDuration.mean > 0, "watch duration needs a finite, positive mean")
        precondition(titleLengths == nil || titleLengths!.count == c.regions.count, "one title-length mix per region")
        if let mixes = titleLengths {
            let watch = c.demand.watchDuration
            survivalWeights = mixes.map { DemandCalibration.survivalWeights({ 1 - watch.cdf($0) }, titles: $0) }
        } else {
            let weights = DemandCalibration.survivalWeights(c.demand.survival, titles: nil)
            survivalWeights = Array(repeating: weights, count: c.regions.count)
        }
        startUnixSeconds = c.startUnixSeconds
        let n = DemandCalibration.minutesPerDay
        let k = Double(c.sampling)

        // Concurrency at unit scale, per region and UTC minute.
        var unit: [[Double]] = []
        var shapes: [[Double]] = []
        for (r, region) in c.regions.enumerated() {
            let shape = region.curve.relativeHourly.map { $0 * region.users / k * region.engagement }
            shapes.append(shape)
            let curve = try! DailyRateCurve(hourly: shape)
            let offset = region.utcOffset.seconds
            // Mean rate over each UTC minute.
            let rates = (0..<n).map { m in
                curve.integral(from: Double(m) * 60 + offset, to: Double(m + 1) * 60 + offset) / 60
            }
            unit.append(DemandCalibration.convolve(rates: rates, weights: survivalWeights[r]))
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
    /// what remains of it from the watch-duration law conditioned on exceeding that age.
    /// Returns (age, remaining) pairs in seconds.
    public func initialAges(region r: Int, watch: Distribution, _ stream: inout RandomStream) -> [(age: Double, remaining: Double)] {
        let process = arrivals[r]
        let survival = survivalWeights[r]
        var weights = [Double](repeating: 0, count: survival.count)
        for j in 0..<survival.count {
            // Sessions of age in [jΔ, (j+1)Δ) started around (j + ½)Δ before the epoch.
            let ageMid = (Double(j) + 0.5) * DemandCalibration.stepSeconds
            weights[j] = process.curve.rate(atSecondOfDay: process.phaseSeconds - ageMid) * survival[j]
        }
        let mean = weights.reduce(0, +)
        guard mean > 0 else { return [] }
        let count = (try! PoissonDistribution(mean: mean)).sample(&stream)
        let ages = try! AliasTable(weights: weights)
        var out: [(age: Double, remaining: Double)] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let age = (Double(ages.sample(&stream)) + stream.nextDouble()) * DemandCalibration.stepSeconds
            out.append((age, watch.sample(exceeding: age, &stream) - age))
        }
        return out
    }

    /// The remaining durations of ``initialAges(region:watch:_:)``, in seconds.
    public func initialSessions(region r: Int, watch: Distribution, _ stream: inout RandomStream) -> [Double] {
        initialAges(region: r, watch: watch, &stream).map(\.remaining)
    }

    /// w[j] = ∫_{jΔ}^{(j+1)Δ} S(a) da, S the survival of a session (watch time cut at the title's
    /// end), until S falls below 1e-9 (or 30 days). S = `survival` × the step function `titles`
    /// (when given): each piece between two steps is integrated with the step's value there.
    static func survivalWeights(_ survival: (Double) -> Double, titles: TitleLengthMix?) -> [Double] {
        let step = stepSeconds
        var w: [Double] = []
        var j = 0
        let limit = 30 * minutesPerDay
        while j < limit {
            let a = Double(j) * step
            var sum = 0.0
            if let titles {
                var from = a
                for x in titles.lengths(between: a, and: a + step) + [a + step] {
                    sum += titles.survival(from) * integrate(survival, from: from, to: x)
                    from = x
                }
            } else {
                sum = integrate(survival, from: a, to: a + step)
            }
            w.append(sum)
            j += 1
            // Beyond a survival of 1e-9 the rest of the integral is negligible for any law with a
            // finite mean that decays at least like a power.
            if survival(a + step) * (titles?.survival(a + step) ?? 1) < 1e-9 { break }
        }
        return w
    }

    /// ∫ f over [a, b] by adaptive Simpson (Lyness): subdivides where the estimate changes, so a
    /// survival function that jumps (a constant or empirical watch time) is integrated exactly to
    /// the tolerance, not smeared over a minute.
    static func integrate(_ f: (Double) -> Double, from a: Double, to b: Double) -> Double {
        func simpson(_ a: Double, _ fa: Double, _ b: Double, _ fb: Double) -> (m: Double, fm: Double, s: Double) {
            let m = (a + b) / 2, fm = f(m)
            return (m, fm, (b - a) / 6 * (fa + 4 * fm + fb))
        }
        func refine(_ a: Double, _ fa: Double, _ b: Double, _ fb: Double, _ m: Double, _ fm: Double, _ whole: Double,
                    _ tolerance: Double, _ depth: Int) -> Double {
            let left = simpson(a, fa, m, fm), right = simpson(m, fm, b, fb)
            let delta = left.s + right.s - whole
            if depth <= 0 || abs(delta) <= 15 * tolerance { return left.s + right.s + delta / 15 }
            return refine(a, fa, m, fm, left.m, left.fm, left.s, tolerance / 2, depth - 1)
                + refine(m, fm, b, fb, right.m, right.fm, right.s, tolerance / 2, depth - 1)
        }
        let fa = f(a), fb = f(b)
        let whole = simpson(a, fa, b, fb)
        return refine(a, fa, b, fb, whole.m, whole.fm, whole.s, 1e-9 * (b - a), 40)
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

/// The title lengths sessions meet in a region: each title's length with its share of the sessions
/// (its popularity), as a step survival function P(L > t).
public struct TitleLengthMix: Sendable {
    /// Distinct lengths, seconds, ascending.
    let lengths: [Double]
    /// tail[i] = share of sessions on titles of length ≥ lengths[i]; tail[count] = 0.
    let tail: [Double]

    public init(lengths: [Double], weights: [Double]) {
        precondition(lengths.count == weights.count && !lengths.isEmpty, "one weight per length")
        let order = lengths.indices.sorted { lengths[$0] < lengths[$1] || (lengths[$0] == lengths[$1] && $0 < $1) }
        let total = weights.reduce(0, +)
        precondition(total > 0, "weights must not all be zero")
        var distinct: [Double] = [], mass: [Double] = []
        for i in order {
            if distinct.last == lengths[i] { mass[mass.count - 1] += weights[i] } else {
                distinct.append(lengths[i])
                mass.append(weights[i])
            }
        }
        var tail = [Double](repeating: 0, count: distinct.count + 1)
        for i in stride(from: distinct.count - 1, through: 0, by: -1) { tail[i] = tail[i + 1] + mass[i] / total }
        self.lengths = distinct
        self.tail = tail
    }

    /// The first index whose length exceeds `t`.
    func firstLonger(than t: Double) -> Int {
        var lo = 0, hi = lengths.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if lengths[mid] > t { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// P(L > t).
    public func survival(_ t: Double) -> Double { min(1, tail[firstLonger(than: t)]) }

    /// The lengths strictly between `a` and `b`: where the survival steps.
    func lengths(between a: Double, and b: Double) -> [Double] {
        var out: [Double] = []
        var i = firstLonger(than: a)
        while i < lengths.count && lengths[i] < b {
            out.append(lengths[i])
            i += 1
        }
        return out
    }
}
