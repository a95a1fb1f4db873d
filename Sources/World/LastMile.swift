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
    let endsUs: [Int64]
    let throughput: [Double]
    let latencyUs: [Int64]
    /// Time-weighted mean throughput.
    let mean: Double

    init(_ periods: [AccessPeriod]) {
        precondition(!periods.isEmpty && periods.allSatisfy { $0.durationUs > 0 && $0.bitsPerSecond >= 0 }, "periods of positive length")
        var end: Int64 = 0
        endsUs = periods.map { end += $0.durationUs; return end }
        throughput = periods.map(\.bitsPerSecond)
        latencyUs = periods.map(\.latencyUs)
        mean = periods.reduce(0) { $0 + $1.bitsPerSecond * Double($1.durationUs) } / Double(end)
        precondition(mean > 0, "a trace with no throughput never delivers")
    }

    var lengthUs: Int64 { endsUs[endsUs.count - 1] }

    /// The period holding position `pos` (µs into the trace), searching from `hint`.
    @inline(__always)
    func period(at pos: Int64, hint: Int) -> Int {
        let start = hint > 0 ? endsUs[hint - 1] : 0
        if pos >= start && pos < endsUs[hint] { return hint }
        if pos >= endsUs[hint] && hint + 1 < endsUs.count && pos < endsUs[hint + 1] { return hint + 1 }
        // Binary search: the first period ending after `pos`.
        var lo = 0, hi = endsUs.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if endsUs[mid] > pos { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
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
/// Owns: the classes and their traces. A Markov class's traces are generated once, at the start,
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

    let classes: [AccessClass]
    let traces: [AccessTrace]
    /// Per class: its traces (empty for a constant class), and whether their throughput is relative
    /// to the user's mean.
    let classTraces: [Range<Int>]
    let relative: [Bool]
    private let traceRelative: [Bool]

    init(configuration c: WorldConfiguration) {
        classes = c.clients.access
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
        self.traces = traces
        classTraces = ranges
        self.relative = relative
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

    /// Whether users of class `k` have a varying last mile.
    func varies(accessClass k: Int) -> Bool { !classTraces[k].isEmpty }

    /// The trace a session of class `k` plays and how far into it (ms, uniform) the session
    /// starts, drawn from `stream`; nil for a constant class (no draw).
    func assign(accessClass k: Int, _ stream: inout RandomStream) -> (trace: Int, offsetMs: UInt32)? {
        let range = classTraces[k]
        guard !range.isEmpty else { return nil }
        let trace = range.lowerBound + Int(stream.nextInt(below: UInt64(range.count)))
        let offset = UInt32(stream.nextDouble() * Double(traces[trace].lengthUs / 1_000))
        return (trace, offset)
    }

    /// The mean throughput of a user of class `k` whose own mean is `bandwidth`: the class's
    /// traces' mean for a measured-trace class.
    func meanThroughput(accessClass k: Int, bandwidth: Double) -> Double {
        guard !relative[k] else { return bandwidth }
        let range = classTraces[k]
        return range.reduce(0) { $0 + traces[$1].mean } / Double(range.count)
    }

    /// Whether trace `t`'s throughputs are relative to the user's mean (a model's) or bits/s.
    @inline(__always) func relative(trace t: Int) -> Bool { traceRelative[t] }

    @inline(__always)
    private func position(_ path: AccessPath, at t: Int64) -> Int64 {
        let length = traces[path.trace].lengthUs
        let p = (t - path.originUs) % length
        return p < 0 ? p + length : p
    }

    /// The throughput (bits/s, scaled) and added round trip at `t`; `hint` is the period looked at
    /// last, updated.
    func now(_ path: AccessPath, at t: Int64, hint: inout UInt32) -> (bitsPerSecond: Double, latencyUs: Int64) {
        let trace = traces[path.trace]
        let i = trace.period(at: position(path, at: t), hint: Int(hint))
        hint = UInt32(i)
        return (trace.throughput[i] * path.scale, trace.latencyUs[i])
    }

    /// When `bits` have arrived, starting at `start`, at `cap` bits/s or the trace's throughput if
    /// lower (rounded up to the microsecond, as a constant-rate transfer is).
    func arrival(of bits: Int64, _ path: AccessPath, cap: Double, from start: Int64, hint: UInt32) -> Int64 {
        let trace = traces[path.trace]
        var left = Double(bits), t = start, i = Int(hint)
        while true {
            let pos = position(path, at: t)
            i = trace.period(at: pos, hint: i)
            let end = t + (trace.endsUs[i] - pos)
            let rate = min(cap, trace.throughput[i] * path.scale)
            if rate > 0 {
                let need = (left * 1e6 / rate).rounded(.up)
                if need <= Double(end - t) { return t + Int64(need) }
                left -= rate * Double(end - t) / 1e6
            }
            t = end
            i = (i + 1) % trace.endsUs.count
        }
    }

    /// Bits arrived between `start` and `end` at `cap` bits/s or the trace's throughput if lower.
    func moved(_ path: AccessPath, cap: Double, from start: Int64, to end: Int64, hint: UInt32) -> Int64 {
        guard end > start else { return 0 }
        let trace = traces[path.trace]
        var bits = 0.0, t = start, i = Int(hint)
        while t < end {
            let pos = position(path, at: t)
            i = trace.period(at: pos, hint: i)
            let stop = min(end, t + (trace.endsUs[i] - pos))
            bits += min(cap, trace.throughput[i] * path.scale) * Double(stop - t) / 1e6
            t = stop
            i = (i + 1) % trace.endsUs.count
        }
        return Int64(bits)
    }

    /// Whether the throughput stays the same from `start` to `end` (one period).
    func isSteady(_ path: AccessPath, from start: Int64, to end: Int64, hint: UInt32) -> Bool {
        let trace = traces[path.trace]
        let pos = position(path, at: start)
        let i = trace.period(at: pos, hint: Int(hint))
        return end - start <= trace.endsUs[i] - pos
    }
}
