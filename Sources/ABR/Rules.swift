#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the adaptation rules with a memory remember between decisions, kept by each player: 32
/// bytes, so that millions of players still fit.
///
/// - BOLA-E: the placeholder (milliseconds of virtual buffer), whether it is past its first
///   decision, the rung it last asked for, and its insufficient-buffer safety.
/// - The throughput rule's insufficient-buffer safety.
/// - The dynamic rule: which of the two is in charge.
/// - robustMPC: its last five throughput samples and prediction errors and its last prediction,
///   as half-precision floats (about three significant digits: the harmonic mean and the error
///   bound they feed do not need more).
///
/// BOLA-E's placeholder and robustMPC's history share three words: no algorithm uses both.
/// The insufficient-buffer rule's safety starts at 0.9 and is multiplied by 0.9 at each decision
/// down to 0.5 (Sabre's `low_buffer_safety_factor[_init]`), so a count of decisions stands for it.
public struct RuleState: Sendable {
    /// Word 0: BOLA-E's placeholder (a `Double`); or robustMPC's eleven half floats, in words 0-2.
    private var words = InlineArray<3, UInt64>(repeating: 0)
    /// Decisions so far of the throughput rule's (low nibble) and BOLA-E's (high nibble)
    /// insufficient-buffer rule, saturating at 7.
    var safetySteps: UInt8 = 0
    var flags: UInt8 = 0
    /// The rung BOLA-E last downloaded (or started to), as Sabre's `last_quality`.
    var bolaLastRung: Int8 = 0
    /// robustMPC's rings: samples (low three bits: how many, up to five; high bits: where the next
    /// goes), then errors alike.
    var mpcSampleRing: UInt8 = 0
    var mpcErrorRing: UInt8 = 0

    /// BOLA-E's placeholder, milliseconds (double precision: BOLA-E sets it to exactly the level
    /// where two rungs tie, so rounding it would tip choices).
    var placeholderMs: Double {
        get { Double(bitPattern: words[0]) }
        set { words[0] = newValue.bitPattern }
    }

    /// robustMPC's half floats: throughput samples in Mbit/s (0-4), relative errors (5-9), the
    /// last prediction in Mbit/s (10).
    subscript(mpc k: Int) -> Float16 {
        get { Float16(bitPattern: UInt16(truncatingIfNeeded: words[k >> 2] >> UInt64(16 * (k & 3)))) }
        set {
            let shift = UInt64(16 * (k & 3))
            words[k >> 2] = words[k >> 2] & ~(0xFFFF << shift) | UInt64(newValue.bitPattern) << shift
        }
    }

    public init() {}

    var usingBola: Bool {
        get { flags & 1 != 0 }
        set { flags = newValue ? flags | 1 : flags & ~1 }
    }

    /// BOLA-E has made its first decision (Sabre's `State.STEADY`).
    var bolaSteady: Bool {
        get { flags & 2 != 0 }
        set { flags = newValue ? flags | 2 : flags & ~2 }
    }

    static let safeties: [Double] = [0.9, 0.81, 0.729, 0.6561, 0.59049, 0.531441, 0.5, 0.5]

    /// The throughput rule's insufficient-buffer safety for this decision; counts the decision.
    mutating func nextThroughputSafety() -> Double {
        let n = safetySteps & 0x0F
        safetySteps = (safetySteps & 0xF0) | min(n + 1, 7)
        return Self.safeties[Int(n)]
    }

    mutating func nextBolaSafety() -> Double {
        let n = safetySteps >> 4
        safetySteps = (safetySteps & 0x0F) | (min(n + 1, 7) << 4)
        return Self.safeties[Int(n)]
    }

    mutating func resetBolaSafety() { safetySteps &= 0x0F }

    /// robustMPC has made a prediction (so the next sample has an error to book).
    var mpcPredicted: Bool {
        get { flags & 4 != 0 }
        set { flags = newValue ? flags | 4 : flags & ~4 }
    }

    /// Adds `value` to robustMPC's ring of five at `base` whose count and next index are in `ring`.
    static func push(_ value: Float16, into state: inout RuleState, base: Int, ring: WritableKeyPath<RuleState, UInt8>) {
        let r = state[keyPath: ring]
        let count = Int(r & 7), next = Int(r >> 3)
        state[mpc: base + next] = value
        state[keyPath: ring] = UInt8(min(count + 1, 5)) | UInt8((next + 1) % 5) << 3
    }
}

/// The throughput rule and its insufficient-buffer rule, and its abandonment rule (Sabre's
/// `ThroughputRule`; dash.js ThroughputRule, InsufficientBufferRule and AbandonRequestsRule).
enum ThroughputRule {
    static let safety = 0.9
    /// Abandon when the download would take longer than this many segment durations.
    static let abandonMultiplier = 1.8
    /// Seconds after the request before abandonment is considered.
    static let abandonGrace = 0.5

    /// The highest rung whose segment downloads within one segment duration at `throughput`
    /// bits/s after `latency` seconds (the lowest when none does).
    static func rung(for throughput: Double, latency: Double, _ m: PlaybackManifest, segmentSeconds p: Double) -> Int {
        let bitrates = m.bitrates
        var rung = 0
        while rung + 1 < bitrates.count && latency + p * bitrates[rung + 1] / throughput <= p {
            rung += 1
        }
        return rung
    }

    static func decide(_ input: ABRInput, safety: Double, insufficientBuffer: Bool, state: inout RuleState) -> Int {
        guard let tput = input.throughput, tput > 0 else { return 0 }
        let latency = input.latency ?? 0
        let chosen = rung(for: safety * tput, latency: latency, input.manifest, segmentSeconds: input.segmentSeconds)
        guard insufficientBuffer else { return chosen }
        return capped(chosen, input, throughput: tput, latency: latency, safety: state.nextThroughputSafety())
    }

    /// The insufficient-buffer rule: no rung whose whole segment would not arrive, at `safety` ×
    /// the throughput, before the buffer (less one latency) runs out.
    static func capped(_ rung: Int, _ input: ABRInput, throughput: Double, latency: Double, safety: Double) -> Int {
        let safeBits = safety * (input.bufferSeconds - latency) * throughput
        let bitrates = input.manifest.bitrates, p = input.segmentSeconds
        for q in 0..<rung where bitrates[q + 1] * p > safeBits { return q }
        return rung
    }

    /// Abandon when, at the rate measured so far, the whole request would take longer than 1.8
    /// segment durations; for the rung the throughput rule would choose at that rate (after the
    /// estimated `latency`, asked for only then), if lower and if its whole segment is smaller
    /// than what is left of this one.
    static func abandonment(_ progress: DownloadProgress, _ m: PlaybackManifest, segmentSeconds p: Double,
                            latency: () -> Double) -> Int? {
        let elapsed = Double(progress.sinceRequestUs) / 1e6, transfer = Double(progress.sinceFirstByteUs) / 1e6
        guard elapsed >= abandonGrace, transfer > 0, progress.bitsReceived > 0 else { return nil }
        let rate = progress.bitsReceived / transfer
        let left = progress.bitsTotal - progress.bitsReceived
        guard elapsed + left / rate > abandonMultiplier * p else { return nil }
        let bitrates = m.bitrates
        let lower = rung(for: rate * safety, latency: latency(), m, segmentSeconds: p)
        let size = progress.bitsTotal * bitrates[lower] / bitrates[progress.rung]
        return lower < progress.rung && size < left ? lower : nil
    }
}

/// A download in progress, as the abandonment rules see it. Times in whole microseconds, which
/// the rules turn into seconds or (BOLA-E) milliseconds exactly.
public struct DownloadProgress: Sendable {
    public var rung: Int
    public var bitsReceived: Double
    public var bitsTotal: Double
    /// Since the request was sent, and since its first byte.
    public var sinceRequestUs: Int64
    public var sinceFirstByteUs: Int64
    /// The buffer left now.
    public var bufferUs: Int64
}

/// BOLA-E's constants for one title and buffer, and its decisions (Sabre's `BolaEnh`). A
/// ``PlayerContext`` works them out once (``ABRAlgorithm/bolaE(for:maxBufferSeconds:)``).
///
/// It works in Sabre's units (milliseconds, kbit/s) and in Sabre's order of operations: BOLA-E
/// puts the placeholder at exactly the buffer level where two rungs score the same, so which one
/// wins is decided by the last bit of the arithmetic, and doing it the same way is what lets
/// vodsim reproduce Sabre's choices rather than merely resemble them.
struct BolaE {
    /// Milliseconds: the lowest rung's threshold with the insufficient-buffer rule, and the buffer
    /// each rung adds to the minimum.
    static let minimumBufferMs = 10_000.0
    static let minimumBufferPerRungMs = 2_000.0

    let vp: Double
    let gp: Double
    /// The nominal segment duration (the first segment's), ms: Sabre's `segment_time`.
    let segmentMs: Double
    let insufficientBuffer: Bool

    /// The constants for `m` and a buffer of `maxBufferSeconds`. Keeps no reference to `m`: the
    /// methods take it again, so that asking costs no retain of its arrays.
    init(_ m: PlaybackManifest, maxBufferSeconds: Double, insufficientBuffer: Bool, gammaP: Double) {
        self.insufficientBuffer = insufficientBuffer
        segmentMs = Double(m.duration(of: 0)) / 1_000
        let bufferMs = Self.milliseconds(maxBufferSeconds)
        let top = m.bolaEUtility(m.rungs - 1)
        if insufficientBuffer {
            let buffer = max(Self.minimumBufferMs + Self.minimumBufferPerRungMs * Double(m.rungs), bufferMs)
            // One rung: no choice to make, and γp would be 0.
            gp = m.rungs > 1 ? (top - 1) / (buffer / Self.minimumBufferMs - 1) : 1
            vp = Self.minimumBufferMs / gp
        } else {
            gp = gammaP - 1
            vp = (bufferMs - segmentMs) / (top + gp)
        }
    }

    /// Seconds (from whole microseconds) to milliseconds, exactly where the microseconds allow.
    static func milliseconds(_ seconds: Double) -> Double { (seconds * 1e6).rounded() / 1_000 }

    func score(_ m: PlaybackManifest, _ q: Int, level: Double) -> Double { (vp * (m.bolaEUtility(q) + gp) - level) / m.kbps(q) }

    func rung(_ m: PlaybackManifest, level: Double) -> Int {
        var best = 0, bestScore = -Double.infinity
        for q in 0..<m.rungs {
            let s = score(m, q, level: level)
            if s > bestScore { best = q; bestScore = s }
        }
        return best
    }

    /// The buffer level below which some lower rung scores better than `q`.
    func minimumLevel(_ m: PlaybackManifest, _ q: Int) -> Double {
        var level = 0.0
        let b = m.kbps(q), u = m.bolaEUtility(q)
        for lower in 0..<q where m.bolaEUtility(lower) < u {
            let bl = m.kbps(lower), ul = m.bolaEUtility(lower)
            level = max(level, vp * (gp + (b * ul - bl * u) / (b - bl)))
        }
        return level
    }

    /// The buffer level above which BOLA-E would rather wait than download `q`.
    func maximumLevel(_ m: PlaybackManifest, _ q: Int) -> Double { vp * (m.bolaEUtility(q) + gp) }

    /// The throughput rule's rung at `kbps` after `latencyMs` (Sabre's `quality_from_throughput`).
    func throughputRung(_ m: PlaybackManifest, kbps: Double, latencyMs: Double) -> Int {
        var q = 0
        while q + 1 < m.rungs && latencyMs + segmentMs * m.kbps(q + 1) / kbps <= segmentMs { q += 1 }
        return q
    }

    func decide(_ input: ABRInput, variant: BolaVariant, state: inout RuleState) -> ABRDecision {
        let m = input.manifest
        guard let tput = input.throughput, tput > 0 else { return ABRDecision(rung: Int(state.bolaLastRung)) }
        let level = Self.milliseconds(input.bufferSeconds)
        let kbps = tput / 1_000, latency = (input.latency ?? 0) * 1_000
        if !state.bolaSteady {
            // The first decision: the sustainable rung, with as much placeholder as makes BOLA agree.
            state.bolaSteady = true
            state.resetBolaSafety()
            let rung = throughputRung(m, kbps: kbps, latencyMs: latency)
            state.placeholderMs = max(0, minimumLevel(m, rung) - level)
            return ABRDecision(rung: rung)
        }
        var placeholder = state.placeholderMs
        var rung = self.rung(m, level: level + placeholder)
        let throughputRung = throughputRung(m, kbps: kbps, latencyMs: latency)
        let last = Int(state.bolaLastRung)
        if rung > last && rung > throughputRung {
            rung = max(last, throughputRung) + (variant == .u ? 1 : 0)
        }
        var delay = level + placeholder - maximumLevel(m, rung)
        if delay > 0 {
            if delay <= placeholder {
                placeholder -= delay
                delay = 0
            } else {
                delay -= placeholder
                placeholder = 0
            }
        } else {
            delay = 0
        }
        if rung == m.rungs - 1 { delay = 0 }
        if insufficientBuffer {
            let safeBits = state.nextBolaSafety() * (level - latency) * kbps
            for q in 0..<rung where m.kbps(q + 1) * segmentMs > safeBits {
                rung = q
                delay = 0
                placeholder = min(max(0, minimumLevel(m, q) - level), placeholder)
                break
            }
        }
        state.placeholderMs = placeholder
        return ABRDecision(rung: rung, delaySeconds: delay / 1_000)
    }

    /// A download ended (`abandonedTo` nil) or was abandoned: keep the placeholder consistent with
    /// the rung fetched, or lower it after an abandonment (something went wrong). `levelAfterUs`:
    /// the buffer after it; `requestUs`: from request to last byte.
    func downloaded(_ m: PlaybackManifest, rung: Int, abandonedTo: Int?, levelAfterUs: Int64, requestUs: Int64, state: inout RuleState) {
        state.bolaLastRung = Int8(rung)
        let level = Double(levelAfterUs) / 1_000
        var placeholder = state.placeholderMs
        if let lower = abandonedTo {
            let want = lower > 0 ? minimumLevel(m, lower) : Self.minimumBufferMs
            placeholder = min(placeholder, max(0, want - level))
        } else {
            let levelWas = level + Double(requestUs) / 1_000
            placeholder = min(placeholder, max(0, maximumLevel(m, rung) - levelWas))
            // Not when the buffer ran dry: an empty buffer is handled by itself.
            if level > 0 { placeholder = max(placeholder, minimumLevel(m, rung) - levelWas) }
        }
        state.placeholderMs = placeholder
    }

    /// Abandon for the lower rung that scores best against what is left of this one, judged as if
    /// a new request's latency had already passed.
    func abandonment(_ m: PlaybackManifest, _ progress: DownloadProgress, placeholderMs: Double) -> Int? {
        let remaining = progress.bitsTotal - progress.bitsReceived
        guard progress.bitsReceived > 0, remaining > 0, progress.sinceFirstByteUs > 0 else { return nil }
        let transfer = Double(progress.sinceFirstByteUs) / 1_000
        let latency = Double(progress.sinceRequestUs - progress.sinceFirstByteUs) / 1_000
        let level = max(0, Double(progress.bufferUs) / 1_000 + placeholderMs - latency)
        let rate = progress.bitsReceived / transfer
        let size = remaining - latency * rate
        guard size > 0 else { return nil }
        var best: Int?
        let top = m.kbps(progress.rung)
        var bestScore = (vp * (gp + m.bolaEUtility(progress.rung)) - level) / size
        for q in 0..<progress.rung {
            let other = progress.bitsTotal * m.kbps(q) / top
            let s = (vp * (gp + m.bolaEUtility(q)) - level) / other
            // Only for a smaller download than what is left: the score alone does not ensure it.
            if other < size && s > bestScore {
                bestScore = s
                best = q
            }
        }
        return best
    }
}

/// robustMPC's predictor and planner.
enum RobustMPC {
    static let rebufferPenalty = 4.3
    static let window = 5

    static func decide(_ input: ABRInput, horizon: Int, state: inout RuleState) -> Int {
        let samples = Int(state.mpcSampleRing & 7)
        guard samples > 0 else { return 0 }
        // The error of the last prediction against the sample that followed it.
        let newest = Double(state[mpc: (Int(state.mpcSampleRing >> 3) + window - 1) % window])
        if state.mpcPredicted {
            RuleState.push(Float16(abs(Double(state[mpc: 10]) - newest) / newest), into: &state, base: window, ring: \.mpcErrorRing)
        }
        var inverse = 0.0
        for k in 0..<samples { inverse += 1 / Double(state[mpc: k]) }
        let harmonic = Double(samples) / inverse
        var maxError = 0.0
        for k in 0..<Int(state.mpcErrorRing & 7) { maxError = max(maxError, Double(state[mpc: window + k])) }
        state[mpc: 10] = Float16(harmonic)
        state.mpcPredicted = true
        return plan(input, throughput: harmonic / (1 + maxError) * 1e6, horizon: horizon)
    }

    /// The first rung of the best plan over the next `horizon` segments at `throughput` bits/s:
    /// depth-first over every plan, with the partial QoE carried down; ties go to the later plan
    /// in lexicographic order, as Pensieve's `>=`.
    static func plan(_ input: ABRInput, throughput: Double, horizon: Int) -> Int {
        let m = input.manifest
        let steps = max(1, min(horizon, m.segmentCount - input.segment))
        let mbps = m.bitrates.map { $0 / 1e6 }
        var best = -Double.infinity, bestFirst = 0
        func search(_ depth: Int, buffer: Double, previous: Int, qoe: Double, first: Int) {
            if depth == steps {
                if qoe >= best { best = qoe; bestFirst = first }
                return
            }
            let duration = Double(m.duration(of: input.segment + depth)) / 1e6
            for r in 0..<m.rungs {
                let download = m.bitrates[r] * duration / throughput
                let stall = max(0, download - buffer)
                let after = max(0, buffer - download) + duration
                let gain = mbps[r] - rebufferPenalty * stall - abs(mbps[r] - mbps[previous])
                search(depth + 1, buffer: after, previous: r, qoe: qoe + gain, first: depth == 0 ? r : first)
            }
        }
        search(0, buffer: input.bufferSeconds, previous: min(input.lastRung ?? 0, m.rungs - 1), qoe: 0, first: 0)
        return bestFirst
    }

    /// A download's throughput over the whole request (Pensieve's size over delay), bits/s.
    static func record(bitsPerSecond: Double, state: inout RuleState) {
        RuleState.push(Float16(bitsPerSecond / 1e6), into: &state, base: 0, ring: \.mpcSampleRing)
    }
}

extension ABRAlgorithm {
    /// BOLA-E's constants for `m`, if this algorithm runs BOLA-E.
    func bolaE(for m: PlaybackManifest, maxBufferSeconds: Double) -> BolaE? {
        switch self {
        case let .bolaE(_, ibr, gammaP): return BolaE(m, maxBufferSeconds: maxBufferSeconds, insufficientBuffer: ibr, gammaP: gammaP)
        case .dynamic: return BolaE(m, maxBufferSeconds: maxBufferSeconds, insufficientBuffer: true, gammaP: 5)
        default: return nil
        }
    }

    /// The player waited `us` microseconds for room in its buffer before deciding (BOLA-E's
    /// placeholder grows by it: Sabre's `report_delay`).
    func waitedForRoom(_ us: Int64, state: inout RuleState) {
        switch self {
        case .bolaE, .dynamic: state.placeholderMs += Double(us) / 1_000
        default: break
        }
    }

    /// A download of `rung` finished (or was abandoned for `abandonedTo`), leaving `levelAfterUs`
    /// of buffer; the request took `requestUs` from request to last byte.
    func downloaded(_ m: PlaybackManifest, bolaE: BolaE?, rung: Int, bits: Double, abandonedTo: Int?,
                    levelAfterUs: Int64, requestUs: Int64, state: inout RuleState) {
        switch self {
        case .bolaE, .dynamic:
            bolaE!.downloaded(m, rung: rung, abandonedTo: abandonedTo, levelAfterUs: levelAfterUs, requestUs: requestUs, state: &state)
        case .robustMPC:
            if abandonedTo == nil && requestUs > 0 { RobustMPC.record(bitsPerSecond: bits / (Double(requestUs) / 1e6), state: &state) }
        default: break
        }
    }

    /// The algorithm's own abandonment rule, or `nil` when it has none (the player's simple rule
    /// applies then). `latency` (the estimate, seconds) is asked for only if a rule needs it.
    func ownAbandonment(_ progress: DownloadProgress, _ m: PlaybackManifest, bolaE: BolaE?, segmentSeconds: Double,
                        latency: () -> Double, state: RuleState) -> Int?? {
        switch self {
        case .throughput:
            return .some(ThroughputRule.abandonment(progress, m, segmentSeconds: segmentSeconds, latency: latency))
        case .bolaE:
            return .some(bolaE!.abandonment(m, progress, placeholderMs: state.placeholderMs))
        case .dynamic:
            if state.usingBola { return .some(bolaE!.abandonment(m, progress, placeholderMs: state.placeholderMs)) }
            return .some(ThroughputRule.abandonment(progress, m, segmentSeconds: segmentSeconds, latency: latency))
        case .bba, .bola, .robustMPC, .fixed:
            return nil
        }
    }
}
