#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SimCore
import Stochastics

/// A last-mile trace that loops: per period, where it ends (µs from the trace's start), its
/// throughput (relative to the user's mean for model traces, bits/s for measured ones) and the
/// round trip it adds.
struct AccessTrace: Sendable {
    /// One period in 16 bytes, so that a lookup is one cache line: where it ends, its throughput,
    /// the round trip it adds.
    struct Period: Sendable {
        var endUs: Int64
        var throughput: Float
        var latencyUs: Int32
    }

    let periods: [Period]
    /// Time-weighted mean throughput.
    let mean: Double

    init(_ source: [AccessPeriod]) {
        precondition(!source.isEmpty && source.allSatisfy { $0.durationUs > 0 && $0.bitsPerSecond >= 0 }, "periods of positive length")
        var end: Int64 = 0
        let periods = source.map {
            end += $0.durationUs
            return Period(endUs: end, throughput: Float($0.bitsPerSecond), latencyUs: Int32(clamping: $0.latencyUs))
        }
        self.periods = periods
        mean = periods.indices.reduce(0) { $0 + Double(periods[$1].throughput) * Double(source[$1].durationUs) } / Double(end)
        precondition(mean > 0, "a trace with no throughput never delivers")
    }

    var lengthUs: Int64 { periods[periods.count - 1].endUs }
}

/// Where a session is on its last mile: its trace (none: constant), the instant the trace was at
/// its start, and the throughput scale (the user's mean for model traces, times a degraded link's
/// share; for measured traces the share alone).
struct AccessPath {
    var trace: Int
    var originUs: Int64
    var scale: Double
}

/// Every user's last mile over time: constant, Markov-modulated or from traces, by access class.
///
/// Owns: the classes' traces. A Markov class's traces are generated once, at the start,
/// from its own random stream (`tracesPerModel` traces of `modelTraceLength` each, so sessions
/// share a pool instead of each carrying a generator); a trace class's are the files the scenario
/// names. A session of a varying class plays one trace of its class from a random offset
/// (drawn from the session's stream), looping, and keeps in its record which trace, from when,
/// and the period it last looked at. Handles no event: ``Delivery`` asks it how long a transfer
/// takes at the user's throughput as it varies, how many bits had arrived by a given time, and the
/// round trip the last mile adds now.
final class LastMile {
    static let tracesPerModel = 64
    static let modelTraceLength = SimDuration.hours(1)

    /// Every trace's periods, one after another (a lookup binds no per-trace array, so it retains
    /// nothing), and per trace: where its periods start, how many, its length and mean.
    let periods: [AccessTrace.Period]
    let firstPeriod: [Int]
    let periodCount: [Int]
    let lengthUs: [Int64]
    let mean: [Double]
    /// Per class: its traces (empty for a constant class); per trace: whether its throughput is
    /// relative to the user's mean.
    let classTraces: [Range<Int>]
    private let traceRelative: [Bool]

    init(configuration c: WorldConfiguration) {
        var traces: [AccessTrace] = []
        var ranges: [Range<Int>] = []
        var relative: [Bool] = []
        let family = StreamFamily(seed: c.seed, label: "access.traces")
        for (k, access) in c.clients.access.enumerated() {
            let first = traces.count
            switch access.variation {
            case .constant:
                relative.append(true)
            case let .markov(model):
                relative.append(true)
                let streams = family.subfamily(UInt64(k))
                for t in 0..<LastMile.tracesPerModel {
                    var stream = streams.stream(UInt64(t))
                    traces.append(AccessTrace(LastMile.markovTrace(model, length: LastMile.modelTraceLength, &stream)))
                }
            case let .traces(files):
                precondition(files.allSatisfy { $0.reduce(0) { $0 + $1.durationUs } < Int64(UInt32.max) * 1_000 }, "traces shorter than 49 days")
                relative.append(false)
                traces += files.map { AccessTrace($0) }
            }
            ranges.append(first..<traces.count)
        }
        precondition(traces.count < Int(UInt16.max), "at most 65534 last-mile traces")
        periods = traces.flatMap(\.periods)
        var first = 0
        firstPeriod = traces.map { trace in
            defer { first += trace.periods.count }
            return first
        }
        periodCount = traces.map(\.periods.count)
        lengthUs = traces.map(\.lengthUs)
        mean = traces.map(\.mean)
        classTraces = ranges
        traceRelative = ranges.indices.flatMap { k in ranges[k].map { _ in relative[k] } }
    }

    /// A Gilbert–Elliott trace of `length`: good and bad states with exponential sojourns, a step's
    /// throughput a lognormal draw (mean 1, spread `sigma`) around its state's level; levels such
    /// that the long-run mean is 1.
    static func markovTrace(_ m: MarkovAccess, length: SimDuration, _ stream: inout RandomStream) -> [AccessPeriod] {
        let good = m.goodMean.seconds, bad = m.badMean.seconds
        let goodLevel = 1 / (good / (good + bad) + bad / (good + bad) * m.badLevel)
        let step = m.step.microseconds
        // Start in a state drawn from the stationary law.
        var inGood = stream.nextDouble() < good / (good + bad)
        var stateLeft = Int64(-log(1 - stream.nextDouble()) * (inGood ? good : bad) * 1e6)
        var periods: [AccessPeriod] = []
        var t: Int64 = 0
        while t < length.microseconds {
            let span = max(1, min(step, stateLeft, length.microseconds - t))
            let z = GSL.normalQuantile(min(max(stream.nextDouble(), 1e-12), 1 - 1e-12))
            let level = (inGood ? goodLevel : goodLevel * m.badLevel) * exp(m.sigma * z - m.sigma * m.sigma / 2)
            periods.append(AccessPeriod(durationUs: span, bitsPerSecond: level, latencyUs: inGood ? 0 : m.badRtt.microseconds))
            t += span
            stateLeft -= span
            if stateLeft <= 0 {
                inGood.toggle()
                stateLeft = Int64(-log(1 - stream.nextDouble()) * (inGood ? good : bad) * 1e6)
            }
        }
        return periods
    }

    /// The trace a session of class `k` plays and how far into it (ms, uniform) the session
    /// starts, drawn from `stream`; nil for a constant class (no draw).
    func assign(accessClass k: Int, _ stream: inout RandomStream) -> (trace: Int, offsetMs: UInt32)? {
        let range = classTraces[k]
        guard !range.isEmpty else { return nil }
        let trace = range.lowerBound + Int(stream.nextInt(below: UInt64(range.count)))
        let offset = UInt32(stream.nextDouble() * Double(lengthUs[trace] / 1_000))
        return (trace, offset)
    }

    /// The mean throughput of a user of class `k` whose own mean is `bandwidth`: the class's
    /// traces' mean for a measured-trace class.
    func meanThroughput(accessClass k: Int, bandwidth: Double) -> Double {
        let range = classTraces[k]
        guard let first = range.first, !traceRelative[first] else { return bandwidth }
        return range.reduce(0) { $0 + mean[$1] } / Double(range.count)
    }

    /// Starts loading the period session `path` is likely in next (the one it last looked at).
    @inline(__always)
    func prefetch(trace t: Int, hint: UInt32) {
        guard t < firstPeriod.count else { return }
        periods.prefetchElements(firstPeriod[t] + Int(hint) ..< firstPeriod[t] + Int(hint) + 1)
    }

    /// Whether trace `t`'s throughputs are relative to the user's mean (a model's) or bits/s.
    @inline(__always) func relative(trace t: Int) -> Bool { traceRelative[t] }

    /// The period of trace `t` holding position `pos` (µs into it), searching from `hint`; an index
    /// into the trace's periods.
    @inline(__always)
    private func period(_ t: Int, at pos: Int64, hint: Int) -> Int {
        let base = firstPeriod[t], n = periodCount[t]
        var h = hint < n ? hint : 0
        let start = h > 0 ? periods[base + h - 1].endUs : 0
        if pos >= start {
            // A session's time only moves on: its next lookup is a few periods further (a segment's
            // worth), on the same cache lines.
            var steps = 0
            while h < n && pos >= periods[base + h].endUs && steps < 32 {
                h += 1
                steps += 1
            }
            if h < n && pos < periods[base + h].endUs { return h }
        }
        // Binary search (the trace looped, or the session jumped): the first period ending after `pos`.
        var lo = 0, hi = n - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if periods[base + mid].endUs > pos { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    @inline(__always)
    private func position(_ path: AccessPath, at t: Int64) -> Int64 {
        let length = lengthUs[path.trace]
        let p = (t - path.originUs) % length
        return p < 0 ? p + length : p
    }

    /// The throughput (bits/s, scaled) and added round trip at `t`; `hint` is the period looked at
    /// last, updated.
    func now(_ path: AccessPath, at t: Int64, hint: inout UInt32) -> (bitsPerSecond: Double, latencyUs: Int64) {
        let i = period(path.trace, at: position(path, at: t), hint: Int(hint))
        hint = UInt32(i)
        let p = periods[firstPeriod[path.trace] + i]
        return (Double(p.throughput) * path.scale, Int64(p.latencyUs))
    }

    /// When `bits` have arrived, starting at `start`, at `cap` bits/s or the trace's throughput if
    /// lower (rounded up to the microsecond, as a constant-rate transfer is).
    func arrival(of bits: Int64, _ path: AccessPath, cap: Double, from start: Int64, hint: UInt32) -> Int64 {
        transfer(bits, path, cap: cap, from: start, hint: hint, firstCheck: .max, every: 1, firstDecides: true) { _, _ in false }.end
    }

    /// The transfer of `bits` from `start` at `cap` bits/s or the trace's throughput if lower: when
    /// it completes (rounded up to the microsecond), or the first check, at `firstCheck` and every
    /// `every` µs after, at which `abandons(time, bits arrived)` says to give it up. In one walk over
    /// the periods. With `firstDecides` (the player's simple rule: while the rate stays the same the
    /// gap between the time left and the buffer left stays constant) a transfer within one period
    /// is checked once; the algorithms' own rules are asked at every check.
    func transfer(_ bits: Int64, _ path: AccessPath, cap: Double, from start: Int64, hint: UInt32, firstCheck: Int64, every: Int64,
                  firstDecides: Bool, abandons: (Int64, Int64) -> Bool) -> (end: Int64, abandoned: Bool) {
        let base = firstPeriod[path.trace], n = periodCount[path.trace]
        var done = 0.0, t = start, i = Int(hint), check = firstCheck, first = true
        while true {
            let pos = position(path, at: t)
            i = period(path.trace, at: pos, hint: i)
            let p = periods[base + i]
            let end = t + (p.endUs - pos)
            let rate = min(cap, Double(p.throughput) * path.scale)
            var finish = Int64.max
            if rate > 0 {
                let need = ((Double(bits) - done) * 1e6 / rate).rounded(.up)
                if need <= Double(end - t) { finish = t + Int64(need) }
            }
            while check < min(finish, end) {
                if abandons(check, Int64(done + rate * Double(check - t) / 1e6)) { return (check, true) }
                if firstDecides && first && finish != .max { check = .max; break }  // one period to the end: the first check decided
                check += every
            }
            if finish != .max { return (finish, false) }
            done += rate * Double(end - t) / 1e6
            t = end
            first = false
            i = (i + 1) % n
        }
    }

    /// Bits arrived between `start` and `end` at `cap` bits/s or the trace's throughput if lower.
    func moved(_ path: AccessPath, cap: Double, from start: Int64, to end: Int64, hint: UInt32) -> Int64 {
        guard end > start else { return 0 }
        let base = firstPeriod[path.trace], n = periodCount[path.trace]
        var bits = 0.0, t = start, i = Int(hint)
        while t < end {
            let pos = position(path, at: t)
            i = period(path.trace, at: pos, hint: i)
            let p = periods[base + i]
            let stop = min(end, t + (p.endUs - pos))
            bits += min(cap, Double(p.throughput) * path.scale) * Double(stop - t) / 1e6
            t = stop
            i = (i + 1) % n
        }
        return Int64(bits)
    }
}
