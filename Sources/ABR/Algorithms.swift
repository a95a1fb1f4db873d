#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a player knows about a title from its manifest: the bit rate it plans with for each rung
/// (lowest first) and every segment's duration. Shared by all players of a title.
public struct PlaybackManifest: Sendable, Equatable {
    /// Bits per second, ascending.
    public let bitrates: [Double]
    /// Microseconds.
    public let segmentDurations: [Int64]
    public let segmentCount: Int
    /// Per rung, worked out once per title: ln(S_m / S_0) (BOLA's utilities), the bit rate in
    /// kbit/s, and BOLA-E's utility ln(S_m) + 1 − ln(S_0) in kbit/s as Sabre computes it (see
    /// ``BolaE``). One array, so that a copy of the manifest retains one more buffer, not three.
    @usableFromInline let derived: [Double]
    /// The duration of every segment but the last when they all have one, else 0. Players read
    /// it at every step of play, and a title's segments are nearly always uniform: the common
    /// case reads one number instead of the array.
    public let uniformDuration: Int64

    public init(bitrates: [Double], segmentDurations: [Int64]) {
        precondition(!bitrates.isEmpty && bitrates.count <= Int(Int8.max), "1...127 rungs")
        precondition(zip(bitrates, bitrates.dropFirst()).allSatisfy { $0 < $1 }, "bit rates must ascend")
        precondition(!segmentDurations.isEmpty && segmentDurations.allSatisfy { $0 > 0 }, "segments need positive durations")
        self.bitrates = bitrates
        self.segmentDurations = segmentDurations
        segmentCount = segmentDurations.count
        let kbps = bitrates.map { $0 / 1_000 }
        derived = bitrates.map { log($0 / bitrates[0]) } + kbps + kbps.map { log($0) + (1 - log(kbps[0])) }
        let first = segmentDurations[0]
        uniformDuration = segmentDurations.dropLast().allSatisfy { $0 == first } ? first : 0
    }

    public var rungs: Int { bitrates.count }

    /// ln(S_m / S_0).
    @inlinable public func logRatio(_ rung: Int) -> Double { derived[rung] }
    /// S_m in kbit/s.
    @usableFromInline func kbps(_ rung: Int) -> Double { derived[bitrates.count &+ rung] }
    /// BOLA-E's utility of rung m.
    @usableFromInline func bolaEUtility(_ rung: Int) -> Double { derived[2 &* bitrates.count &+ rung] }

    /// Segment `segment`'s duration, microseconds.
    @inlinable
    public func duration(of segment: Int) -> Int64 {
        uniformDuration > 0 && segment &+ 1 < segmentCount && segment >= 0 ? uniformDuration : segmentDurations[segment]
    }
}

/// A throughput and latency estimate from past downloads: two exponentially weighted moving
/// averages with different half-lives, taking the more conservative (lower throughput, higher
/// latency), as dash.js and Sabre do. Each throughput sample weighs by its download time; latency
/// samples weigh one per segment, with the half-life counted in segments (half-life / segment
/// duration). Averages are corrected for their zero start ("zero factor").
public struct ThroughputEstimator: Sendable, Equatable {
    /// Half-lives in seconds (Sabre's and dash.js's defaults).
    public static let fastHalfLife = 3.0
    public static let slowHalfLife = 8.0
    private var fast = 0.0, slow = 0.0
    private var fastLatency = 0.0, slowLatency = 0.0
    private var weight = 0.0
    private var samples = 0.0

    public init() {}

    /// Adds a download: `bits` received in `seconds` after the first byte, `latency` seconds to
    /// the first byte; `segmentSeconds` is the nominal segment duration, which turns the latency
    /// half-lives into segments.
    public mutating func add(bits: Double, seconds: Double, latency: Double, segmentSeconds: Double) {
        add(bits: bits, seconds: seconds, latency: latency, latencyDecay: Self.latencyDecay(segmentSeconds: segmentSeconds))
    }

    /// What one latency sample leaves of the fast and slow latency averages, for segments of
    /// `segmentSeconds`: constant for a title, so a ``PlayerContext`` works it out once.
    public static func latencyDecay(segmentSeconds: Double) -> (fast: Double, slow: Double) {
        (pow(0.5, segmentSeconds / fastHalfLife), pow(0.5, segmentSeconds / slowHalfLife))
    }

    /// Adds a download, with the latency decay of ``latencyDecay(segmentSeconds:)``.
    public mutating func add(bits: Double, seconds: Double, latency: Double, latencyDecay: (fast: Double, slow: Double)) {
        guard seconds > 0 else { return }
        let sample = bits / seconds
        let af = pow(0.5, seconds / Self.fastHalfLife), aslow = pow(0.5, seconds / Self.slowHalfLife)
        fast = af * fast + (1 - af) * sample
        slow = aslow * slow + (1 - aslow) * sample
        let lf = latencyDecay.fast, lslow = latencyDecay.slow
        fastLatency = lf * fastLatency + (1 - lf) * latency
        slowLatency = lslow * slowLatency + (1 - lslow) * latency
        weight += seconds
        samples += 1
    }

    /// Bits per second, or `nil` before the first download.
    public var throughput: Double? {
        guard weight > 0 else { return nil }
        return min(fast / (1 - pow(0.5, weight / Self.fastHalfLife)), slow / (1 - pow(0.5, weight / Self.slowHalfLife)))
    }

    /// Seconds to the first byte, or `nil` before the first download.
    public func latency(segmentSeconds: Double) -> Double? {
        guard samples > 0 else { return nil }
        let f = fastLatency / (1 - pow(0.5, samples * segmentSeconds / Self.fastHalfLife))
        let s = slowLatency / (1 - pow(0.5, samples * segmentSeconds / Self.slowHalfLife))
        return max(f, s)
    }
}

/// What an algorithm may look at when choosing the next segment's rung.
public struct ABRInput: Sendable {
    public var manifest: PlaybackManifest
    /// The segment to download next.
    public var segment: Int
    /// Media buffered ahead of the play-head, seconds.
    public var bufferSeconds: Double
    /// The player's buffer capacity, seconds.
    public var maxBufferSeconds: Double
    /// The estimates, bits/s and seconds: `nil` before the first download, and from a player
    /// whose algorithm does not read them (``ABRAlgorithm/readsEstimates``).
    public var throughput: Double?
    public var latency: Double?
    /// The rung of the previous download, if any.
    public var lastRung: Int?
    /// BOLA-E's constants when the player has them worked out already (its context does).
    var bolaE: BolaE? = nil

    /// The next segment's duration in seconds.
    var segmentSeconds: Double { Double(manifest.duration(of: segment)) / 1e6 }
}

/// The rung to download next and how long to wait before asking for it.
public struct ABRDecision: Sendable, Equatable {
    public var rung: Int
    /// Seconds to wait before the request (BOLA waits when the buffer is above its target).
    public var delaySeconds: Double

    public init(rung: Int, delaySeconds: Double = 0) {
        self.rung = rung
        self.delaySeconds = delaySeconds
    }
}

/// BOLA-E's guard against oscillation when the buffer asks for a higher rung than the throughput
/// sustains (Spiteri, Sitaraman, Sparacio, MMSys 2018, §4): BOLA-O stays at the higher of the
/// previous rung and the sustainable one; BOLA-U goes one rung above it.
public enum BolaVariant: String, Sendable, Equatable {
    case o, u
}

/// Adaptation algorithms, as functions of the player's state and, for the ones with a memory
/// (BOLA-E's placeholder, the insufficient-buffer rule's safety, the dynamic switch, robustMPC's
/// history), a small ``RuleState`` the player keeps.
public enum ABRAlgorithm: Sendable, Equatable {
    /// Throughput rule: the highest rung whose segment, at `safety` × the estimated throughput and
    /// after the estimated latency, downloads within one segment duration (Sabre's
    /// `quality_from_throughput`; dash.js ThroughputRule). The first segment takes the lowest rung.
    /// With `insufficientBuffer`, the insufficient-buffer rule caps it (``RuleState``).
    case throughput(safety: Double, insufficientBuffer: Bool = false)
    /// BBA-0 (Huang, Johari, McKeown, Trunnell, Watson: "A buffer-based approach to rate adaptation:
    /// evidence from a large video streaming service", SIGCOMM 2014): below the `reservoir`
    /// (seconds) the lowest rung, above reservoir + `cushion` the highest, a linear rate map in
    /// between, and the paper's hysteresis (Algorithm 1): change rung only when the map crosses the
    /// next rung up or down.
    case bba(reservoir: Double, cushion: Double)
    /// BOLA-BASIC (Spiteri, Urgaonkar, Sitaraman: "BOLA: near-optimal bitrate adaptation for online
    /// videos", INFOCOM 2016): utility v_m = ln(S_m/S_1); V from the buffer size,
    /// Vp = (buffer − p)/(v_M + γp); choose the rung maximising (Vp·(v_m + γp) − Q)/S_m with Q the
    /// buffer level in seconds; when every score is negative, wait until the buffer drains to the
    /// chosen rung's threshold. `gammaP` is γp in seconds (Sabre's default 5).
    case bola(gammaP: Double)
    /// BOLA-E (Spiteri, Sitaraman, Sparacio, MMSys 2018; Sabre's `bolae`, its default, and dash.js's
    /// BolaRule): utilities ln(S_m/S_1) + 1; with the insufficient-buffer rule, V and γp follow
    /// from a buffer of max(10 s + 2 s per rung, the player's) so that the lowest rung's
    /// threshold is 10 s; without it, γp − 1 and the buffer size as BOLA-BASIC. The first
    /// decision after the first download takes the throughput rule's rung and sets a
    /// *placeholder*: virtual buffer so that BOLA would choose that rung, which is what "dynamic V"
    /// amounts to: the buffer BOLA sees is the real one plus the placeholder, which grows by the
    /// time spent waiting for room and shrinks whenever BOLA would wait. Rungs above both the
    /// previous and the sustainable one are held to `variant` (BOLA-O or BOLA-U).
    case bolaE(variant: BolaVariant = .u, insufficientBuffer: Bool = true, gammaP: Double = 5)
    /// dash.js's dynamic strategy (AbrController `_updateDynamicAbrStrategy`; Sabre's
    /// `dynamicdash`): the throughput rule with the insufficient-buffer rule while the buffer is
    /// low, BOLA-E (BOLA-U, insufficient-buffer rule) once it exceeds `bolaAbove` seconds, back to
    /// throughput when it falls below `throughputBelow`. Each keeps its own state meanwhile.
    case dynamic(bolaAbove: Double, throughputBelow: Double)
    /// robustMPC (Yin, Jindal, Sekar, Sinopoli: "A control-theoretic approach for dynamic adaptive
    /// video streaming over HTTP", SIGCOMM 2015; as run in Pensieve's comparisons, Mao et al.
    /// SIGCOMM 2017): predicts throughput as the harmonic mean of the last five downloads divided by
    /// 1 + the largest relative prediction error of the last five, then tries every plan of rungs
    /// for the next `horizon` segments and takes the first rung of the plan with the best linear
    /// QoE (R in Mbit/s − 4.3 × rebuffer s − |ΔR| in Mbit/s). Segment sizes are planned as bit
    /// rate × duration: manifests do not give them. Costs rungs^horizon steps per decision.
    case robustMPC(horizon: Int)
    /// Always the same rung: a player that cannot adapt (for baselines and tests).
    case fixed(rung: Int)

    /// The algorithm with its documented defaults, scaled to the player's buffer where the
    /// original is: BBA's reservoir and cushion keep the paper's proportions of its 240 s buffer
    /// (90 s and 126 s: 37.5% and 52.5%).
    public static func named(_ name: String, maxBufferSeconds: Double) -> ABRAlgorithm? {
        switch name {
        case "throughput": return .throughput(safety: 0.9)
        case "bba": return .bba(reservoir: 0.375 * maxBufferSeconds, cushion: 0.525 * maxBufferSeconds)
        case "bola": return .bola(gammaP: 5)
        default: return nil
        }
    }

    /// Whether decisions read the throughput and latency estimates, so a player works them out
    /// only when they are read. BBA and BOLA-BASIC look at the buffer only; robustMPC keeps its
    /// own history of downloads.
    public var readsEstimates: Bool {
        switch self {
        case .throughput, .bolaE, .dynamic: return true
        case .bba, .bola, .robustMPC, .fixed: return false
        }
    }

    /// Whether a decision may ask to wait before the request (BOLA's and BOLA-E's, when the buffer
    /// is above the chosen rung's threshold); the others only ever wait for room in the buffer.
    public var waitsOnItsOwn: Bool {
        switch self {
        case .bola, .bolaE, .dynamic: return true
        case .throughput, .bba, .robustMPC, .fixed: return false
        }
    }

    /// Whether the algorithm keeps a memory between decisions in ``RuleState``.
    public var hasState: Bool {
        switch self {
        case .throughput(_, let ibr): return ibr
        case .bolaE, .dynamic, .robustMPC: return true
        case .bba, .bola, .fixed: return false
        }
    }

    /// Chooses the next rung, for an algorithm without memory (or from a fresh state).
    public func decide(_ input: ABRInput) -> ABRDecision {
        var state = RuleState()
        return decide(input, state: &state)
    }

    /// Chooses the next rung, updating the algorithm's memory.
    public func decide(_ input: ABRInput, state: inout RuleState) -> ABRDecision {
        let bitrates = input.manifest.bitrates
        switch self {
        case let .fixed(rung):
            return ABRDecision(rung: min(max(0, rung), bitrates.count - 1))

        case let .throughput(safety, insufficientBuffer):
            return ABRDecision(rung: ThroughputRule.decide(input, safety: safety, insufficientBuffer: insufficientBuffer, state: &state))

        case let .bba(reservoir, cushion):
            let buffer = input.bufferSeconds
            let low = bitrates[0], high = bitrates[bitrates.count - 1]
            let previous = input.lastRung ?? 0
            if buffer <= reservoir { return ABRDecision(rung: 0) }
            if buffer >= reservoir + cushion { return ABRDecision(rung: bitrates.count - 1) }
            let mapped = low + (high - low) * (buffer - reservoir) / cushion
            let up = min(previous + 1, bitrates.count - 1)
            let down = max(previous - 1, 0)
            if mapped >= bitrates[up] && up != previous {
                // The highest rung strictly below the map.
                return ABRDecision(rung: bitrates.lastIndex { $0 < mapped } ?? 0)
            }
            if mapped <= bitrates[down] && down != previous {
                // The lowest rung strictly above the map.
                return ABRDecision(rung: bitrates.firstIndex { $0 > mapped } ?? bitrates.count - 1)
            }
            return ABRDecision(rung: previous)

        case let .bola(gammaP):
            let p = input.segmentSeconds
            let m = input.manifest
            let vp = max(0, input.maxBufferSeconds - p) / (m.logRatio(m.rungs - 1) + gammaP)
            let q = input.bufferSeconds
            var best = 0
            var bestScore = -Double.infinity
            for r in bitrates.indices {
                let score = (vp * (m.logRatio(r) + gammaP) - q) / bitrates[r]
                if score > bestScore {
                    best = r
                    bestScore = score
                }
            }
            let threshold = vp * (m.logRatio(best) + gammaP)
            return ABRDecision(rung: best, delaySeconds: bestScore < 0 ? q - threshold : 0)

        case let .bolaE(variant, insufficientBuffer, gammaP):
            return (input.bolaE ?? BolaE(input.manifest, maxBufferSeconds: input.maxBufferSeconds, insufficientBuffer: insufficientBuffer, gammaP: gammaP))
                .decide(input, variant: variant, state: &state)

        case let .dynamic(bolaAbove, throughputBelow):
            if state.usingBola && input.bufferSeconds < throughputBelow {
                state.usingBola = false
            } else if !state.usingBola && input.bufferSeconds > bolaAbove {
                state.usingBola = true
            }
            if state.usingBola {
                return (input.bolaE ?? BolaE(input.manifest, maxBufferSeconds: input.maxBufferSeconds, insufficientBuffer: true, gammaP: 5))
                    .decide(input, variant: .u, state: &state)
            }
            return ABRDecision(rung: ThroughputRule.decide(input, safety: ThroughputRule.safety, insufficientBuffer: true, state: &state))

        case let .robustMPC(horizon):
            return ABRDecision(rung: RobustMPC.decide(input, horizon: horizon, state: &state))
        }
    }
}
