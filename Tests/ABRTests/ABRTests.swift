import Testing
@testable import ABR

/// A movie with constant-size segments: every segment at every rung is exactly bitrate × duration.
func constantMovie(bitratesKbps: [Int64], segments: Int, segmentMs: Int64 = 4_000) -> TraceMovie {
    let manifest = PlaybackManifest(bitrates: bitratesKbps.map { Double($0 * 1_000) },
                                    segmentDurations: Array(repeating: segmentMs * 1_000, count: segments))
    let bits = (0..<segments).map { _ in bitratesKbps.map { $0 * segmentMs } }  // kbps × ms = bits
    return TraceMovie(manifest: manifest, bits: bits)
}

func trace(_ periods: [(seconds: Int64, kbps: Int64, latencyMs: Int64)]) -> NetworkTrace {
    NetworkTrace(periods: periods.map { .init(duration: $0.seconds * 1_000_000, bandwidth: $0.kbps * 1_000, latency: $0.latencyMs * 1_000) })
}

@Suite("Playback manifest")
struct PlaybackManifestTests {
    @Test("A segment's duration is the array's, whether the segments are uniform or not")
    func durations() {
        let uniform = PlaybackManifest(bitrates: [1e6], segmentDurations: [4_000_000, 4_000_000, 4_000_000, 1_500_000])
        #expect(uniform.uniformDuration == 4_000_000)
        let varied = PlaybackManifest(bitrates: [1e6], segmentDurations: [4_000_000, 2_000_000, 4_000_000, 3_000_000])
        #expect(varied.uniformDuration == 0)
        let single = PlaybackManifest(bitrates: [1e6], segmentDurations: [2_500_000])
        for m in [uniform, varied, single] {
            #expect(m.segmentCount == m.segmentDurations.count)
            #expect((0..<m.segmentCount).map { m.duration(of: $0) } == m.segmentDurations)
        }
    }
}

@Suite("ABR replay against hand-computed answers")
struct ReplayTests {
    /// Rungs 1, 2, 4 Mbit/s; 4 s segments of exactly rate × 4 s; a constant 3 Mbit/s link with no
    /// latency; 10 segments.
    /// - The first segment takes the lowest rung: 4 Mbit in 1.333334 s (rounded up to a
    ///   microsecond), and playback starts then (the startup buffer is one segment).
    /// - The estimate is then ~3 Mbit/s; with the 0.9 safety factor only 2 Mbit/s fits, so the
    ///   other nine segments take rung 1: 8 Mbit in 2.666667 s each, adding 4 s of media while
    ///   2.667 s plays: the buffer grows by 1.333 s per segment and never reaches 25 s.
    /// - No stall: the session ends 40 s of media after playback started.
    /// - Average bit rate: (1 × 1 + 9 × 2) / 10 = 1.9 Mbit/s; one switch of 1 Mbit/s; linear QoE
    ///   19 − 1 = 18.
    @Test("Throughput rule on a constant link: chosen rungs, play time and average bit rate")
    func constantLink() {
        let movie = constantMovie(bitratesKbps: [1_000, 2_000, 4_000], segments: 10)
        let result = TraceReplay.run(movie, network: trace([(1_000, 3_000, 0)]),
                                     configuration: PlayerConfiguration(algorithm: .throughput(safety: 0.9)))
        #expect(result.downloads.map(\.rung) == [0, 1, 1, 1, 1, 1, 1, 1, 1, 1])
        #expect(result.qoe.startupDelay == 1_333_334)
        #expect(result.qoe.rebufferEvents == 0)
        #expect(result.qoe.rebufferTime == 0)
        #expect(result.sessionTime == 1_333_334 + 40_000_000)
        #expect(result.qoe.playTime == 40_000_000)
        #expect(abs(result.qoe.averageBitrate - 1_900_000) < 1e-6)
        #expect(result.qoe.switches == 1)
        #expect(abs(result.qoe.linearQoE - 18) < 1e-9)
        #expect(result.downloads.allSatisfy { $0.bufferAfter <= 25_000_000 })
    }

    /// A player fixed at 2 Mbit/s (8 Mbit segments); 8 Mbit/s for 3 s, then 1 Mbit/s.
    /// - Segments 0–2 take 1 s each (0–3 s); playback starts at 1 s.
    /// - From 3 s each segment takes 8 s to bring 4 s of media. Segment 3 arrives at 11 s (buffer
    ///   2 s + 4 s); segment 4 at 19 s after a stall from 17 s (2 s); segments 5–9 each stall 4 s
    ///   (23–27, 31–35, 39–43, 47–51, 55–59). The last frame plays at 63 s.
    /// - Rebuffering: 6 stalls, 22 s; 1 s startup + 40 s media + 22 s stalled = 63 s.
    @Test("A rule that cannot adapt rebuffers exactly as derived on a step trace")
    func stepTrace() {
        let movie = constantMovie(bitratesKbps: [1_000, 2_000, 4_000], segments: 10)
        let result = TraceReplay.run(movie, network: trace([(3, 8_000, 0), (1_000, 1_000, 0)]),
                                     configuration: PlayerConfiguration(algorithm: .fixed(rung: 1), abandonment: false))
        #expect(result.downloads.map(\.completedAt) == [1, 2, 3, 11, 19, 27, 35, 43, 51, 59].map { Int64($0) * 1_000_000 })
        #expect(result.qoe.startupDelay == 1_000_000)
        #expect(result.qoe.rebufferEvents == 6)
        #expect(result.qoe.rebufferTime == 22_000_000)
        #expect(result.sessionTime == 63_000_000)
        #expect(abs(result.qoe.rebufferRatio - 22.0 / 62.0) < 1e-12)
        #expect(abs(result.qoe.linearQoE - (20 - 4.3 * 22)) < 1e-9)
    }

    /// Latency is charged once per request before bits flow: 10 segments of 4 Mbit at 8 Mbit/s
    /// with 100 ms latency take 0.6 s each.
    @Test("Latency is charged once per request")
    func latency() {
        let movie = constantMovie(bitratesKbps: [1_000], segments: 3)
        let result = TraceReplay.run(movie, network: trace([(1_000, 8_000, 100)]),
                                     configuration: PlayerConfiguration(algorithm: .fixed(rung: 0)))
        #expect(result.downloads.map(\.completedAt) == [600_000, 1_200_000, 1_800_000])
    }

    @Test("The trace loops when exhausted")
    func loops() {
        let movie = constantMovie(bitratesKbps: [1_000], segments: 4)
        // 1 s at 4 Mbit/s then 1 s at 0: each 4 Mbit segment takes the fast second, then waits
        // out the dead one.
        let result = TraceReplay.run(movie, network: trace([(1, 4_000, 0), (1, 0, 0)]),
                                     configuration: PlayerConfiguration(algorithm: .fixed(rung: 0), maxBuffer: 60_000_000))
        #expect(result.downloads.map(\.completedAt) == [1, 3, 5, 7].map { Int64($0) * 1_000_000 })
    }

    @Test("A full buffer makes the player wait instead of overfilling")
    func fullBuffer() {
        let movie = constantMovie(bitratesKbps: [1_000], segments: 20)
        let result = TraceReplay.run(movie, network: trace([(1_000, 100_000, 0)]),
                                     configuration: PlayerConfiguration(algorithm: .fixed(rung: 0), maxBuffer: 12_000_000))
        #expect(result.downloads.allSatisfy { $0.bufferAfter <= 12_000_000 })
        #expect(result.qoe.rebufferEvents == 0)
    }

    @Test("A download that would outlast the buffer is abandoned for a lower rung")
    func abandonment() {
        // Throughput rule climbs to the top rung on a fast link, then the link collapses.
        let movie = constantMovie(bitratesKbps: [500, 2_000, 8_000], segments: 30)
        let network = trace([(12, 40_000, 0), (1_000, 600, 0)])
        let result = TraceReplay.run(movie, network: network, configuration: PlayerConfiguration(algorithm: .throughput(safety: 0.9)))
        #expect(result.qoe.abandonments >= 1)
        #expect(result.qoe.wastedBits > 0)
        let abandoned = result.downloads.first { $0.abandoned }!
        let retry = result.downloads.first { $0.segment == abandoned.segment && !$0.abandoned }!
        #expect(retry.rung < abandoned.rung)
        let without = TraceReplay.run(movie, network: network,
                                      configuration: PlayerConfiguration(algorithm: .throughput(safety: 0.9), abandonment: false))
        #expect(result.qoe.rebufferTime < without.qoe.rebufferTime)
    }
}

@Suite("ABR algorithms")
struct AlgorithmTests {
    let manifest = PlaybackManifest(bitrates: [1e6, 2e6, 4e6], segmentDurations: Array(repeating: 4_000_000, count: 100))

    func input(buffer: Double, throughput: Double? = nil, last: Int? = nil) -> ABRInput {
        ABRInput(manifest: manifest, segment: 1, bufferSeconds: buffer, maxBufferSeconds: 25,
                 throughput: throughput, latency: 0, lastRung: last)
    }

    /// Vp = (25 − 4) / (ln 4 + 5) = 3.2884; thresholds Vp(v_m + 5): 16.44, 18.72, 21.0 s.
    /// Scores (Vp(v_m + 5) − Q) / S_m: at Q = 0 rung 0 leads; at Q = 15, rung 1 (1.86 > 1.5 >
    /// 1.44); at Q = 20, rung 2; at Q = 22 every score is negative: rung 2 after waiting 1 s.
    @Test("BOLA chooses by its utility scores (hand-computed)", arguments: [
        (0.0, 0, 0.0), (15.0, 1, 0.0), (20.0, 2, 0.0), (22.0, 2, 1.0),
    ])
    func bola(buffer: Double, rung: Int, delay: Double) {
        let d = ABRAlgorithm.bola(gammaP: 5).decide(input(buffer: buffer))
        #expect(d.rung == rung)
        #expect(abs(d.delaySeconds - delay) < 1e-9)
    }

    /// Reservoir 5 s, cushion 10 s: the map goes from 1 Mbit/s at 5 s to 4 Mbit/s at 15 s.
    @Test("BBA-0 follows its rate map with the paper's hysteresis", arguments: [
        (4.0, 2, 0),     // in the reservoir: lowest
        (16.0, 0, 2),    // past reservoir + cushion: highest
        (9.0, 0, 1),     // map 2.2 Mbit/s ≥ next rung up (2): highest rung below the map
        (8.0, 1, 1),     // map 1.9: between the neighbours of rung 1: stay
        (6.0, 2, 1),     // map 1.3 ≤ next rung down from 2 (2 Mbit/s): lowest rung above the map
        (14.0, 1, 2),    // map 3.7 ≥ 4? no; 3.7 > next up (4)? no: but ≥ rung up from 1 (4)? no: stay at 1? see below
    ])
    func bba(buffer: Double, previous: Int, expected: Int) {
        let d = ABRAlgorithm.bba(reservoir: 5, cushion: 10).decide(input(buffer: buffer, last: previous))
        if buffer == 14 {
            // map 3.7 Mbit/s: the next rung up (4) is not reached, the next down (1) not either: stay.
            #expect(d.rung == 1)
        } else {
            #expect(d.rung == expected)
        }
    }

    @Test("The throughput rule takes the highest rung that downloads within a segment at 90% of the estimate")
    func throughputRule() {
        let rule = ABRAlgorithm.throughput(safety: 0.9)
        #expect(rule.decide(input(buffer: 10)).rung == 0)                          // no estimate yet
        #expect(rule.decide(input(buffer: 10, throughput: 2.3e6)).rung == 1)      // 2 ≤ 2.07
        #expect(rule.decide(input(buffer: 10, throughput: 2.2e6)).rung == 0)      // 2 > 1.98
        #expect(rule.decide(input(buffer: 10, throughput: 50e6)).rung == 2)
    }

    @Test("A constant throughput gives exactly that estimate (zero-factor correction)")
    func estimator() {
        var e = ThroughputEstimator()
        #expect(e.throughput == nil)
        e.add(bits: 8e6, seconds: 2, latency: 0.05, segmentSeconds: 4)
        #expect(abs(e.throughput! - 4e6) < 1e-3)
        #expect(abs(e.latency(segmentSeconds: 4)! - 0.05) < 1e-12)
        e.add(bits: 2e6, seconds: 2, latency: 0.05, segmentSeconds: 4)
        #expect(e.throughput! < 4e6)   // the fast average drops first: min of the two
    }
}

@Suite("Player state machine")
struct PlayerTests {
    @Test("Startup waits for the startup buffer, then plays; an empty buffer stalls; a segment resumes")
    func phases() {
        let manifest = PlayerContext(
            manifest: PlaybackManifest(bitrates: [1e6], segmentDurations: Array(repeating: 2_000_000, count: 5)),
            configuration: PlayerConfiguration(algorithm: .fixed(rung: 0), maxBuffer: 10_000_000, startupBuffer: 4_000_000))
        var p = Player(manifest, at: 100)
        #expect(p.phase == .startup)
        p.complete(segment: 0, rung: 0, bits: 2_000_000, requestedAt: 100, firstByteAt: 100, at: 1_000_100, manifest)
        #expect(p.phase == .startup)        // 2 s < 4 s
        p.complete(segment: 1, rung: 0, bits: 2_000_000, requestedAt: 1_000_100, firstByteAt: 1_000_100, at: 2_000_100, manifest)
        #expect(p.phase == .playing)
        #expect(p.qoe.startupDelay == 2_000_000)
        p.advance(to: 7_000_100, manifest)  // 4 s buffered, 5 s pass: stalled for 1 s
        #expect(p.phase == .stalled)
        #expect(p.qoe.rebufferEvents == 1)
        #expect(p.qoe.rebufferTime == 1_000_000)
        p.complete(segment: 2, rung: 0, bits: 2_000_000, requestedAt: 6_000_100, firstByteAt: 6_000_100, at: 7_500_100, manifest)
        #expect(p.phase == .playing)
        #expect(p.qoe.rebufferTime == 1_500_000)
        #expect(p.qoe.playTime == 4_000_000)
    }

    /// 2 s segments, a 10 s buffer; resumed 0.5 s into segment 3 with segments 3 to 7 fetched.
    @Test("A resumed player plays on from mid-segment with its buffer, and asks for room-sized requests")
    func resumed() {
        let context = PlayerContext(
            manifest: PlaybackManifest(bitrates: [1e6, 3e6], segmentDurations: Array(repeating: 2_000_000, count: 20)),
            configuration: PlayerConfiguration(algorithm: .fixed(rung: 1), maxBuffer: 10_000_000, startupBuffer: 4_000_000))
        var p = Player.resumed(context, at: 0, position: 3, offset: 500_000, segments: 5, rung: 1, throughput: 20e6)
        #expect(p.phase == .playing && p.qoe.startupDelay == nil)
        #expect(p.buffered == 9_500_000)      // 5 segments less the half second played
        #expect(p.nextSegment == 8)
        // Room for a 2 s segment once the buffer is down to 8 s: 1.5 s from now.
        #expect(p.nextRequest(at: 0, context)?.delay == 1_500_000)
        p.advance(to: 1_500_000, context)     // the rest of segment 3, then 0 s into segment 4
        #expect(p.playing == 4 && p.playedInto == 0)
        #expect(p.qoe.playTime == 1_500_000)
        #expect(p.qoe.bitsPlayed == 4_500_000)  // 1.5 s at 3 Mbit/s
    }

    /// The world asks `roomDelay` first and decides only once there is room: the wait must be the
    /// one `nextRequest` gives, for a full buffer, a buffer with room, and an abandoned download's
    /// retry (which goes at once however full the buffer is).
    @Test("The wait for room in the buffer is the wait nextRequest gives, and nothing for a retry")
    func roomDelay() {
        let context = PlayerContext(
            manifest: PlaybackManifest(bitrates: [1e6, 3e6], segmentDurations: Array(repeating: 2_000_000, count: 20)),
            configuration: PlayerConfiguration(algorithm: .bba(reservoir: 2, cushion: 5), maxBuffer: 10_000_000, startupBuffer: 4_000_000))
        var full = Player.resumed(context, at: 0, position: 3, offset: 500_000, segments: 5, rung: 1, throughput: 20e6)
        var asked = full
        #expect(full.roomDelay(at: 200_000, context) == 1_300_000)
        #expect(asked.nextRequest(at: 200_000, context)?.delay == 1_300_000)
        #expect(full.roomDelay(at: 1_500_000, context) == 0)
        #expect(full.nextRequest(at: 1_500_000, context)?.delay == 0)

        var retrying = Player.resumed(context, at: 0, position: 3, segments: 5, rung: 1, throughput: 20e6)
        retrying.abandon(segment: 8, rung: 1, bitsReceived: 1_000, toRung: 0, at: 100_000, context)  // 9.9 s buffered
        var retryAsked = retrying
        #expect(retrying.roomDelay(at: 100_000, context) == 0)
        let retry = retryAsked.nextRequest(at: 100_000, context)
        #expect(retry?.delay == 0 && retry?.rung == 0)
        #expect(ABRAlgorithm.bola(gammaP: 5).waitsOnItsOwn && !ABRAlgorithm.bba(reservoir: 2, cushion: 5).waitsOnItsOwn)
    }

    /// A user who stops after 1 s of a title with 4 s of startup buffer: playback must start with
    /// the one segment there is.
    @Test("startNow starts a player still waiting for its startup buffer")
    func startNow() {
        let context = PlayerContext(
            manifest: PlaybackManifest(bitrates: [1e6], segmentDurations: Array(repeating: 2_000_000, count: 5)),
            configuration: PlayerConfiguration(algorithm: .fixed(rung: 0), maxBuffer: 10_000_000, startupBuffer: 4_000_000))
        var p = Player(context, at: 0)
        p.complete(segment: 0, rung: 0, bits: 2_000_000, requestedAt: 0, firstByteAt: 0, at: 300_000, context)
        #expect(p.phase == .startup)
        p.startNow(at: 300_000, context)
        #expect(p.phase == .playing && p.qoe.startupDelay == 300_000)
        var idle = Player(context, at: 0)
        idle.startNow(at: 100, context)       // nothing buffered: still waiting
        #expect(idle.phase == .startup)
    }

    @Test("QoE books the reporting bit rates when a platform gives them")
    func reportingBitrates() {
        let manifest = PlaybackManifest(bitrates: [1.2e6], segmentDurations: [2_000_000, 2_000_000])
        let configuration = PlayerConfiguration(algorithm: .fixed(rung: 0), maxBuffer: 10_000_000, startupBuffer: 2_000_000)
        for (reporting, expected) in [(nil, 1.2e6), ([1e6], 1e6)] as [([Double]?, Double)] {
            let context = PlayerContext(manifest: manifest, configuration: configuration, reportingBitrates: reporting)
            var p = Player(context, at: 0)
            p.complete(segment: 0, rung: 0, bits: 2_400_000, requestedAt: 0, firstByteAt: 0, at: 1, context)
            p.advance(to: 1_000_001, context)
            #expect(p.qoe.bitsPlayed == expected)
        }
    }

    @Test("A player's state is small enough for millions of sessions")
    func size() {
        // 10M concurrent sessions × this must fit comfortably in memory.
        #expect(MemoryLayout<Player>.size <= 272)
    }
}
