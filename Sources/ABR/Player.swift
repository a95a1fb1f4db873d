/// How a player behaves, apart from the title it plays.
public struct PlayerConfiguration: Sendable, Equatable {
    public var algorithm: ABRAlgorithm
    /// Buffer capacity in microseconds: no request is made that would overfill it.
    public var maxBuffer: Int64
    /// Playback starts when this much media is buffered (or the whole title is), microseconds.
    public var startupBuffer: Int64
    /// Whether to abandon a download that would outlast the buffer, for a lower rung.
    public var abandonment: Bool
    /// How long a download runs before abandonment is considered, microseconds (dash.js: 500 ms).
    public var abandonmentGrace: Int64
    /// Which rule decides abandonment.
    public var abandonmentRule: AbandonmentRule
    /// How often a running download is checked for abandonment, microseconds: the first check
    /// comes this long after the request (and no earlier than the grace period after the first
    /// byte), each next this long after the previous.
    public var abandonmentCheck: Int64
    /// Bits that must arrive between checks, whatever the time (Sabre: 12,000), so that a slow
    /// download is not judged on nothing.
    public var abandonmentCheckBits: Int64
    /// What the next request of an abandoned segment asks for.
    public var afterAbandonment: AfterAbandonment

    public init(algorithm: ABRAlgorithm, maxBuffer: Int64 = 25_000_000, startupBuffer: Int64 = 4_000_000,
                abandonment: Bool = true, abandonmentGrace: Int64 = 500_000, abandonmentRule: AbandonmentRule = .outlastsBuffer,
                abandonmentCheck: Int64 = 250_000, abandonmentCheckBits: Int64 = 0, afterAbandonment: AfterAbandonment = .chosenRung) {
        precondition(maxBuffer > 0 && startupBuffer >= 0, "buffer sizes must be positive")
        precondition(abandonmentCheck > 0 && abandonmentGrace >= 0, "abandonment checks need a positive period")
        self.algorithm = algorithm
        self.maxBuffer = maxBuffer
        self.startupBuffer = startupBuffer
        self.abandonment = abandonment
        self.abandonmentGrace = abandonmentGrace
        self.abandonmentRule = abandonmentRule
        self.abandonmentCheck = abandonmentCheck
        self.abandonmentCheckBits = abandonmentCheckBits
        self.afterAbandonment = afterAbandonment
    }
}

/// Which rule gives up a download in progress for a lower rung.
public enum AbandonmentRule: Sendable, Equatable {
    /// When, at the rate measured so far, the rest would outlast the buffer: for the highest lower
    /// rung whose whole segment would arrive in time (dash.js's AbandonRequestsRule, simplified).
    case outlastsBuffer
    /// The algorithm's own: the throughput rule's (Sabre's `ThroughputRule.check_abandon`, dash.js
    /// AbandonRequestsRule: the request would take over 1.8 segment durations), BOLA-E's
    /// (`BolaEnh.check_abandon`: a lower rung scores better against what is left), the dynamic
    /// rule's whichever is in charge; ``outlastsBuffer`` for algorithms without one.
    case algorithm
}

/// After an abandonment, the segment is asked for again at the rung the abandonment chose
/// (dash.js), or the algorithm decides afresh (Sabre, whose main loop discards the chosen rung).
public enum AfterAbandonment: Sendable, Equatable {
    case chosenRung, decideAgain
}

extension PlayerConfiguration {
    /// Why this configuration cannot play `manifest`, or `nil` when it can: the buffer must hold a
    /// segment, at most 31 segments (the rung ring), and the startup buffer plus one segment (or
    /// one segment must meet the startup buffer), else startup could never finish.
    public func problem(playing manifest: PlaybackManifest) -> String? {
        let durations = manifest.segmentDurations
        let shortest = durations.dropLast().min() ?? durations[0]
        let longest = durations.max()!
        if longest > maxBuffer { return "the buffer (\(maxBuffer / 1_000) ms) must hold a segment (\(longest / 1_000) ms)" }
        if maxBuffer / shortest >= 31 { return "the buffer may hold at most 31 segments of \(shortest / 1_000) ms" }
        if startupBuffer > longest && startupBuffer + longest > maxBuffer {
            return "the buffer (\(maxBuffer / 1_000) ms) must hold the startup buffer (\(startupBuffer / 1_000) ms) plus a segment"
        }
        return nil
    }
}

/// Quality of experience of one session.
public struct QoE: Sendable, Equatable {
    /// From the session start to the first frame, microseconds; `nil` if playback never started.
    public var startupDelay: Int64?
    public var rebufferEvents: Int32 = 0
    /// Time stalled after playback started, microseconds (the startup delay is not included).
    public var rebufferTime: Int64 = 0
    /// Media played, microseconds.
    public var playTime: Int64 = 0
    /// ∫ bit rate dt over played media, in bits (bits/s × s), for the time-average bit rate.
    public var bitsPlayed = 0.0
    public var segmentsPlayed: Int32 = 0
    /// Changes of rung between consecutively played segments.
    public var switches: Int32 = 0
    /// Σ |ΔR| over consecutively played segments, bits per second.
    public var bitrateChange = 0.0
    /// Σ over played segments of R/10⁶ − 4.3·rebuffer_s − |ΔR|/10⁶ (R in bits/s, so R/1000 in
    /// kbps as Pensieve and MPC write it: Mao et al., SIGCOMM 2017; Yin et al., SIGCOMM 2015). A
    /// segment carries the stall that ended when it arrived.
    public var linearQoE = 0.0
    public var abandonments: Int32 = 0
    /// Bits downloaded and thrown away by abandonments.
    public var wastedBits = 0.0

    public init() {}

    /// Bits per second, weighted by play time.
    public var averageBitrate: Double { playTime > 0 ? bitsPlayed / (Double(playTime) / 1e6) : 0 }
    /// Stalled time over stalled plus played time.
    public var rebufferRatio: Double {
        let total = rebufferTime + playTime
        return total > 0 ? Double(rebufferTime) / Double(total) : 0
    }
    /// Mean |ΔR| per played segment, bits per second.
    public var bitrateChangePerSegment: Double { segmentsPlayed > 0 ? bitrateChange / Double(segmentsPlayed) : 0 }
}

/// What a player needs besides its own state: the title's manifest and the players'
/// configuration. Shared, so that a player's own state stays small.
public final class PlayerContext: Sendable {
    public let manifest: PlaybackManifest
    public let configuration: PlayerConfiguration
    /// The nominal segment duration in seconds.
    public let segmentSeconds: Double
    /// The bit rate QoE books for each rung: by default what the manifest declares; a platform may
    /// book the encoding's nominal rate instead, so that DASH's peak @bandwidth and HLS's average
    /// are reported alike.
    public let reportingBitrates: [Double]
    /// ``ThroughputEstimator/latencyDecay(segmentSeconds:)`` of `segmentSeconds`, worked out once
    /// per context rather than per player.
    public let latencyDecay: (fast: Double, slow: Double)
    /// BOLA-E's constants, when the algorithm runs BOLA-E: worked out once per context rather than
    /// at every decision and abandonment check.
    let bolaE: BolaE?

    public init(manifest: PlaybackManifest, configuration: PlayerConfiguration, reportingBitrates: [Double]? = nil) {
        precondition(reportingBitrates.map { $0.count == manifest.rungs } ?? true, "a reporting bit rate per rung")
        // Checked once per context rather than per player: it walks every segment's duration, and
        // many players share a context.
        if let problem = configuration.problem(playing: manifest) { preconditionFailure(problem) }
        precondition(manifest.segmentCount < Int(Int32.max), "too many segments")
        self.manifest = manifest
        self.configuration = configuration
        segmentSeconds = Double(manifest.segmentDurations[0]) / 1e6
        latencyDecay = ThroughputEstimator.latencyDecay(segmentSeconds: segmentSeconds)
        bolaE = configuration.algorithm.bolaE(for: manifest, maxBufferSeconds: Double(configuration.maxBuffer) / 1e6)
        self.reportingBitrates = reportingBitrates ?? manifest.bitrates
    }
}

/// A request the player wants made.
public struct SegmentRequest: Sendable, Equatable {
    public var segment: Int
    public var rung: Int
    /// Microseconds to wait before sending it (a full buffer, or the algorithm's choice).
    public var delay: Int64
}

/// One adaptive-streaming player: a state machine of startup, playing, stalled and ended, driven
/// by whoever moves the bytes (a trace replay, a simulator, a real HTTP client).
///
/// Time is plain microseconds (`Int64`); the player holds no clock or network of its own. Its
/// state is a fixed-size value with no allocation of its own, so that a process can hold very
/// many players: the title and configuration come in a shared ``PlayerContext`` on every call, and the
/// rungs of buffered segments live in a fixed ring of 32, so a buffer holds at most 31 segments
/// (e.g. 2 s segments up to 62 s).
///
/// Protocol: ``nextRequest(at:_:)`` says what to fetch (and how long to wait first); the driver
/// delivers it and calls ``complete(segment:rung:bits:requestedAt:firstByteAt:at:_:)``; during a
/// download the driver may ask ``abandonmentRung(segment:rung:bitsReceived:bitsTotal:firstByteAt:at:_:)``
/// and, on a yes, calls ``abandon(segment:bitsReceived:toRung:at:_:)``. ``advance(to:_:)`` plays
/// media between calls.
public struct Player: Sendable {
    public enum Phase: UInt8, Sendable {
        case startup, playing, stalled, ended
    }

    public private(set) var qoe = QoE()
    public private(set) var estimator = ThroughputEstimator()
    /// Media buffered ahead of the play-head, microseconds.
    public private(set) var buffered: Int64 = 0
    /// Microseconds played into the segment at the play-head.
    public private(set) var playedInto: Int64 = 0
    public private(set) var now: Int64
    public let start: Int64
    /// Stall time not yet charged to a segment.
    private var pendingRebuffer: Int64 = 0
    private var nextSegmentIndex: Int32 = 0
    private var playingIndex: Int32 = 0
    private var rungs = InlineArray<32, UInt8>(repeating: 0)
    public private(set) var phase: Phase = .startup
    private var lastRungIndex: Int8 = -1
    private var lastPlayedRung: Int8 = -1
    /// The rung an abandoned download asked to retry at, or -1.
    private var retryRung: Int8 = -1
    /// A decision that asked to wait, kept for when the wait is over, or -1.
    private var pendingRung: Int8 = -1
    /// The memory of the adaptation rule (BOLA-E's placeholder, robustMPC's history...).
    public private(set) var rule = RuleState()

    /// The next segment to download.
    public var nextSegment: Int { Int(nextSegmentIndex) }
    /// The segment at the play-head.
    public var playing: Int { Int(playingIndex) }
    /// The rung of the previous download.
    public var lastRung: Int? { lastRungIndex >= 0 ? Int(lastRungIndex) : nil }

    /// A player of `context` (whose configuration was checked against its manifest when the
    /// context was made) starting at `start`.
    public init(_ context: PlayerContext, at start: Int64) {
        self.start = start
        now = start
    }

    /// A player already in steady state when observation begins (a session in progress at the
    /// start of a run): playing `offset` microseconds into segment `position`, with `segments`
    /// segments from there on downloaded at `rung`, and a throughput estimate primed with
    /// `throughput` bits/s. Its startup happened before and is not measured
    /// (``QoE/startupDelay`` stays `nil`).
    public static func resumed(_ context: PlayerContext, at time: Int64, position: Int, offset: Int64 = 0, segments: Int, rung: Int,
                               throughput: Double) -> Player {
        var p = Player(context, at: time)
        let m = context.manifest
        precondition(position >= 0 && position < m.segmentCount, "resume position out of the title")
        precondition(offset >= 0 && offset < m.segmentDurations[position], "resume offset out of the segment")
        p.phase = .playing
        p.playingIndex = Int32(position)
        let count = max(1, min(segments, m.segmentCount - position))
        for i in position..<(position + count) {
            p.rungs[i & 31] = UInt8(rung)
            p.buffered += m.segmentDurations[i]
        }
        p.nextSegmentIndex = Int32(position + count)
        p.lastRungIndex = Int8(rung)
        p.estimator.add(bits: throughput * context.segmentSeconds, seconds: context.segmentSeconds, latency: 0,
                        segmentSeconds: context.segmentSeconds)
        p.startPlaying(position, context)
        p.playedInto = offset
        p.buffered -= offset
        return p
    }

    /// Plays media from the last call to `time`: drains the buffer, counts stalls, charges each
    /// segment its QoE term as it starts playing.
    public mutating func advance(to time: Int64, _ context: PlayerContext) {
        precondition(time >= now, "the player's clock cannot go back")
        var dt = time - now
        now = time
        switch phase {
        case .startup, .ended:
            return
        case .stalled:
            qoe.rebufferTime += dt
            pendingRebuffer += dt
            return
        case .playing:
            let m = context.manifest
            while dt > 0 {
                guard buffered > 0 else {
                    // Out of media before the end of the title: a stall.
                    phase = .stalled
                    qoe.rebufferEvents += 1
                    qoe.rebufferTime += dt
                    pendingRebuffer += dt
                    return
                }
                let segment = Int(playingIndex)
                let remaining = m.duration(of: segment) - playedInto
                let step = min(dt, remaining)
                playedInto += step
                buffered -= step
                dt -= step
                qoe.playTime += step
                qoe.bitsPlayed += context.reportingBitrates[rung(of: segment)] * Double(step) / 1e6
                if step == remaining {
                    playingIndex += 1
                    playedInto = 0
                    if Int(playingIndex) == m.segmentCount {
                        phase = .ended
                        return
                    }
                    if buffered > 0 { startPlaying(Int(playingIndex), context) }
                }
            }
        }
    }

    /// The next download, or `nil` once every segment has been downloaded. A decision that asks
    /// to wait is kept: the driver calls again when the wait is over (or downloads at once) and
    /// gets the same rung, so a rule with a memory decides once per segment.
    public mutating func nextRequest(at time: Int64, _ context: PlayerContext) -> SegmentRequest? {
        advance(to: time, context)
        let m = context.manifest, c = context.configuration
        let segment = Int(nextSegmentIndex)
        guard segment < m.segmentCount else { return nil }
        if retryRung >= 0 {
            defer { retryRung = -1 }
            return SegmentRequest(segment: segment, rung: Int(retryRung), delay: 0)
        }
        if pendingRung >= 0 {
            defer { pendingRung = -1 }
            return SegmentRequest(segment: segment, rung: Int(pendingRung), delay: 0)
        }
        let fullDelay = roomDelay(for: segment, context)
        let input = ABRInput(
            manifest: m, segment: segment, bufferSeconds: Double(buffered - fullDelay) / 1e6,
            maxBufferSeconds: Double(c.maxBuffer) / 1e6, throughput: c.algorithm.readsEstimates ? estimator.throughput : nil,
            latency: c.algorithm.readsEstimates ? estimator.latency(segmentSeconds: context.segmentSeconds) : nil, lastRung: lastRung,
            bolaE: context.bolaE)
        let decision: ABRDecision
        if c.algorithm.hasState {
            if fullDelay > 0 { c.algorithm.waitedForRoom(fullDelay, state: &rule) }
            decision = c.algorithm.decide(input, state: &rule)
        } else {
            decision = c.algorithm.decide(input)
        }
        let algorithmDelay = Int64((decision.delaySeconds * 1e6).rounded(.up))
        let delay = fullDelay + max(0, algorithmDelay)
        if delay > 0 { pendingRung = Int8(decision.rung) }
        return SegmentRequest(segment: segment, rung: decision.rung, delay: delay)
    }

    /// Microseconds from `time` until the next segment fits in the buffer (0 if it fits now, if
    /// every segment is downloaded, or for the retry of an abandoned download, which goes at
    /// once): ``nextRequest(at:_:)`` never asks for less wait. A driver that
    /// asks again when the wait is over may skip the rung decision meanwhile, when the algorithm
    /// never adds a wait of its own (see ``ABRAlgorithm/waitsOnItsOwn``): the decision made now
    /// would be thrown away.
    public mutating func roomDelay(at time: Int64, _ context: PlayerContext) -> Int64 {
        advance(to: time, context)
        let segment = Int(nextSegmentIndex)
        return segment < context.manifest.segmentCount && retryRung < 0 && pendingRung < 0 ? roomDelay(for: segment, context) : 0
    }

    /// Never overfill the buffer: wait until `segment` fits. Inlined: called from a mutating
    /// method, an outlined call would first copy the whole player.
    @inline(__always)
    private func roomDelay(for segment: Int, _ context: PlayerContext) -> Int64 {
        max(0, buffered + context.manifest.duration(of: segment) - context.configuration.maxBuffer)
    }

    /// A download finished at `time`: `bits` of `segment` at `rung`, asked for at `requestedAt`,
    /// first byte at `firstByteAt`.
    public mutating func complete(segment: Int, rung: Int, bits: Int64, requestedAt: Int64, firstByteAt: Int64,
                                  at time: Int64, _ context: PlayerContext) {
        precondition(segment == nextSegment, "segments arrive in order: expected \(nextSegment), got \(segment)")
        advance(to: time, context)
        estimator.add(bits: Double(bits), seconds: Double(time - firstByteAt) / 1e6,
                      latency: Double(firstByteAt - requestedAt) / 1e6, latencyDecay: context.latencyDecay)
        rungs[segment & 31] = UInt8(rung)
        lastRungIndex = Int8(rung)
        pendingRung = -1
        nextSegmentIndex += 1
        buffered += context.manifest.duration(of: segment)
        let algorithm = context.configuration.algorithm
        if algorithm.hasState {
            algorithm.downloaded(context.manifest, bolaE: context.bolaE, rung: rung, bits: Double(bits), abandonedTo: nil,
                                 levelAfterUs: buffered, requestUs: time - requestedAt, state: &rule)
        }
        switch phase {
        case .startup:
            if buffered >= context.configuration.startupBuffer || nextSegment == context.manifest.segmentCount {
                phase = .playing
                qoe.startupDelay = time - start
                startPlaying(playing, context)
            }
        case .stalled:
            phase = .playing
            startPlaying(playing, context)
        case .playing, .ended:
            break
        }
    }

    /// Starts playback now if the player is still waiting for its startup buffer: for a session
    /// whose user will stop before that much media exists (nothing more will be fetched).
    public mutating func startNow(at time: Int64, _ context: PlayerContext) {
        advance(to: time, context)
        guard phase == .startup, buffered > 0 else { return }
        phase = .playing
        qoe.startupDelay = time - start
        startPlaying(playing, context)
    }

    /// During a download, whether to give it up for a lower rung, and for which: by the
    /// configuration's ``AbandonmentRule``. The simple rule (``AbandonmentRule/outlastsBuffer``):
    /// after the grace period, if at the throughput measured so far the rest would take longer
    /// than the buffer lasts, switch to the highest lower rung whose whole segment would arrive in
    /// time (the lowest if none would). Returns that rung, or `nil` to carry on. Never for
    /// ``ABRAlgorithm/fixed(rung:)``, and never during startup. Only observes: asking changes
    /// nothing.
    public func abandonmentRung(segment: Int, rung: Int, bitsReceived: Int64, bitsTotal: Int64, requestedAt: Int64? = nil,
                                firstByteAt: Int64, at time: Int64, _ context: PlayerContext) -> Int? {
        let c = context.configuration, m = context.manifest
        // A fixed rule cannot adapt, and abandoning for a lower rung would be adapting.
        if case .fixed = c.algorithm { return nil }
        guard c.abandonment, rung > 0, phase != .startup, time - firstByteAt >= c.abandonmentGrace,
              bitsReceived > 0, bitsReceived < bitsTotal else { return nil }
        let bufferUs = max(0, buffered - (time - now))
        if c.abandonmentRule == .algorithm {
            let progress = DownloadProgress(rung: rung, bitsReceived: Double(bitsReceived), bitsTotal: Double(bitsTotal),
                                            sinceRequestUs: time - (requestedAt ?? firstByteAt), sinceFirstByteUs: time - firstByteAt,
                                            bufferUs: bufferUs)
            if let own = c.algorithm.ownAbandonment(progress, m, bolaE: context.bolaE, segmentSeconds: context.segmentSeconds,
                                                    latency: { estimator.latency(segmentSeconds: context.segmentSeconds) ?? 0 }, state: rule) {
                return own
            }
        }
        let bufferSeconds = Double(bufferUs) / 1e6
        let rate = Double(bitsReceived) / (Double(time - firstByteAt) / 1e6)
        guard Double(bitsTotal - bitsReceived) / rate > bufferSeconds else { return nil }
        let duration = Double(m.duration(of: segment)) / 1e6
        for lower in stride(from: rung - 1, through: 0, by: -1) where m.bitrates[lower] * duration / rate < bufferSeconds {
            return lower
        }
        return 0
    }

    /// Gives up the current download of `segment` (at `rung`) after `bitsReceived`; the next
    /// request retries it at `toRung`, or as the algorithm decides afresh (``AfterAbandonment``).
    public mutating func abandon(segment: Int, rung: Int, bitsReceived: Int64, toRung: Int, at time: Int64, _ context: PlayerContext) {
        precondition(segment == nextSegment, "only the current download can be abandoned")
        advance(to: time, context)
        qoe.abandonments += 1
        qoe.wastedBits += Double(bitsReceived)
        pendingRung = -1
        let algorithm = context.configuration.algorithm
        if algorithm.hasState {
            algorithm.downloaded(context.manifest, bolaE: context.bolaE, rung: rung, bits: Double(bitsReceived), abandonedTo: toRung,
                                 levelAfterUs: buffered, requestUs: 0, state: &rule)
        }
        retryRung = context.configuration.afterAbandonment == .chosenRung ? Int8(toRung) : -1
    }

    /// The current download failed (its server went away): what arrived is wasted, and the next
    /// request asks for the same segment again, wherever it is sent. The buffer plays on meanwhile.
    public mutating func downloadFailed(segment: Int, bitsReceived: Int64, at time: Int64, _ context: PlayerContext) {
        precondition(segment == nextSegment, "only the current download can fail")
        advance(to: time, context)
        qoe.wastedBits += Double(bitsReceived)
        retryRung = -1
        pendingRung = -1
    }

    /// The rung of a buffered or playing segment.
    func rung(of segment: Int) -> Int { Int(rungs[segment & 31]) }

    /// A segment starts playing: its QoE term, with any stall it ended.
    private mutating func startPlaying(_ segment: Int, _ context: PlayerContext) {
        let bitrates = context.reportingBitrates
        let r = rung(of: segment)
        let rate = bitrates[r]
        var change = 0.0
        if lastPlayedRung >= 0 {
            change = abs(rate - bitrates[Int(lastPlayedRung)])
            if Int(lastPlayedRung) != r { qoe.switches += 1 }
        }
        qoe.bitrateChange += change
        qoe.linearQoE += rate / 1e6 - 4.3 * Double(pendingRebuffer) / 1e6 - change / 1e6
        qoe.segmentsPlayed += 1
        pendingRebuffer = 0
        lastPlayedRung = Int8(r)
    }
}
