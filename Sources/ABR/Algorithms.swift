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
        let first = segmentDurations[0]
        uniformDuration = segmentDurations.dropLast().allSatisfy { $0 == first } ? first : 0
    }

    public var rungs: Int { bitrates.count }

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

/// Adaptation algorithms, as pure functions of the player's state.
public enum ABRAlgorithm: Sendable, Equatable {
    /// Throughput rule: the highest rung whose segment, at `safety` × the estimated throughput and
    /// after the estimated latency, downloads within one segment duration (Sabre's
    /// `quality_from_throughput`; dash.js ThroughputRule). The first segment takes the lowest rung.
    case throughput(safety: Double)
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

    /// Whether decisions read the throughput and latency estimates (the throughput rule's do;
    /// BBA and BOLA look at the buffer only), so a player works them out only when they are read.
    public var readsEstimates: Bool {
        if case .throughput = self { return true }
        return false
    }

    /// Whether a decision may ask to wait before the request (BOLA's, when every score is
    /// negative); the others only ever wait for room in the buffer.
    public var waitsOnItsOwn: Bool {
        if case .bola = self { return true }
        return false
    }

    /// Chooses the next rung.
    public func decide(_ input: ABRInput) -> ABRDecision {
        let bitrates = input.manifest.bitrates
        switch self {
        case let .fixed(rung):
            return ABRDecision(rung: min(max(0, rung), bitrates.count - 1))

        case let .throughput(safety):
            guard let tput = input.throughput, tput > 0 else { return ABRDecision(rung: 0) }
            let p = input.segmentSeconds
            let latency = input.latency ?? 0
            var rung = 0
            while rung + 1 < bitrates.count && latency + p * bitrates[rung + 1] / (safety * tput) <= p {
                rung += 1
            }
            return ABRDecision(rung: rung)

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
            let utilities = bitrates.map { log($0 / bitrates[0]) }
            let vp = max(0, input.maxBufferSeconds - p) / (utilities[utilities.count - 1] + gammaP)
            let q = input.bufferSeconds
            var best = 0
            var bestScore = -Double.infinity
            for m in bitrates.indices {
                let score = (vp * (utilities[m] + gammaP) - q) / bitrates[m]
                if score > bestScore {
                    best = m
                    bestScore = score
                }
            }
            let threshold = vp * (utilities[best] + gammaP)
            return ABRDecision(rung: best, delaySeconds: bestScore < 0 ? q - threshold : 0)
        }
    }
}
