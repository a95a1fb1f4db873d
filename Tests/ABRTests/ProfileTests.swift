import Foundation
import Testing
@testable import ABR

/// Sabre's ladder: 300, 750, 1500, 3000, 6000 kbit/s in 4 s segments.
let sabreLadder = PlaybackManifest(bitrates: [300e3, 750e3, 1_500e3, 3_000e3, 6_000e3],
                                   segmentDurations: Array(repeating: 4_000_000, count: 60))

func ruleInput(_ manifest: PlaybackManifest, buffer: Double, throughput: Double?, latency: Double = 0, last: Int? = nil,
               maxBuffer: Double = 25, segment: Int = 5) -> ABRInput {
    ABRInput(manifest: manifest, segment: segment, bufferSeconds: buffer, maxBufferSeconds: maxBuffer,
             throughput: throughput, latency: latency, lastRung: last)
}

@Suite("Adaptation rules with a memory")
struct RuleTests {
    let ladder = PlaybackManifest(bitrates: [1e6, 2e6, 4e6], segmentDurations: Array(repeating: 4_000_000, count: 100))

    /// 10 Mbit/s, 1 s of buffer, no latency: the throughput rule alone takes 4 Mbit/s. The
    /// insufficient-buffer rule allows safety × 1 s × 10 Mbit/s per segment: 9 Mbit at 0.9, 8.1 at
    /// 0.81 (both fit rung 1's 8 Mbit), 7.29 at 0.729 (only rung 0's 4).
    @Test("The insufficient-buffer rule caps the throughput rule, its safety falling 0.9, 0.81, 0.729 per decision")
    func insufficientBuffer() {
        let rule = ABRAlgorithm.throughput(safety: 0.9, insufficientBuffer: true)
        var state = RuleState()
        let input = ruleInput(ladder, buffer: 1, throughput: 10e6)
        #expect(ABRAlgorithm.throughput(safety: 0.9).decide(input).rung == 2)
        #expect(rule.decide(input, state: &state).rung == 1)
        #expect(rule.decide(input, state: &state).rung == 1)
        #expect(rule.decide(input, state: &state).rung == 0)
        // A full buffer is never capped.
        #expect(rule.decide(ruleInput(ladder, buffer: 20, throughput: 10e6), state: &state).rung == 2)
        #expect(RuleState.safeties.last == 0.5)
    }

    /// Sabre's own verbose output for this ladder and a 25 s buffer prints the thresholds
    /// 15007, 19595, 23065, 26536, 30007 ms and, below them, 11948 (rung 1 against 0) and 23065
    /// (rung 4 against 3).
    @Test("BOLA-E's thresholds are the ones Sabre prints for its ladder")
    func bolaEThresholds() {
        let bola = BolaE(sabreLadder, maxBufferSeconds: 25, insufficientBuffer: true, gammaP: 5)
        let maxima = (0..<5).map { bola.maximumLevel(sabreLadder, $0).rounded(.down) }
        #expect(maxima == [15007, 19595, 23065, 26536, 30007])
        #expect(bola.minimumLevel(sabreLadder, 1).rounded(.down) == 11948)
        #expect(bola.minimumLevel(sabreLadder, 4).rounded(.down) == 23065)
    }

    /// 5 Mbit/s sustains 3000 kbit/s: the first decision takes rung 3 and sets the placeholder to
    /// the level at which BOLA prefers rung 3 (19595 ms) less the 4 s buffered.
    @Test("BOLA-E's first decision takes the sustainable rung and sets the placeholder so BOLA agrees")
    func bolaEStartup() {
        var state = RuleState()
        let rule = ABRAlgorithm.bolaE()
        let decision = rule.decide(ruleInput(sabreLadder, buffer: 4, throughput: 5e6), state: &state)
        #expect(decision.rung == 3 && decision.delaySeconds == 0)
        #expect(state.bolaSteady)
        #expect(abs(state.placeholderMs - (19_595.1 - 4_000)) < 1)
    }

    /// Buffer plus placeholder at 30 s asks for the top rung; the last rung was 1 and 2 Mbit/s
    /// sustains rung 2: BOLA-O holds at max(1, 2) = 2, BOLA-U allows one more.
    @Test("BOLA-O holds an upswitch at the sustainable rung, BOLA-U goes one above")
    func oscillationVariants() {
        for (variant, expected) in [(BolaVariant.o, 2), (.u, 3)] {
            var state = RuleState()
            state.bolaSteady = true
            state.bolaLastRung = 1
            state.placeholderMs = 20_000
            let d = ABRAlgorithm.bolaE(variant: variant).decide(ruleInput(sabreLadder, buffer: 10, throughput: 2e6), state: &state)
            #expect(d.rung == expected)
        }
    }

    @Test("The dynamic rule switches to BOLA above its upper level and back below its lower, not in between")
    func dynamicHysteresis() {
        let rule = ABRAlgorithm.dynamic(bolaAbove: 10, throughputBelow: 5)
        var state = RuleState()
        var seen: [Bool] = []
        for buffer in [8.0, 11, 7, 4, 9] {
            _ = rule.decide(ruleInput(sabreLadder, buffer: buffer, throughput: 3e6), state: &state)
            seen.append(state.usingBola)
        }
        #expect(seen == [false, true, true, false, false])
    }

    /// Rungs 1, 2, 4 Mbit/s, 2 s buffered, last rung 1, 3 Mbit/s predicted, one segment ahead:
    /// rung 0 downloads in 1.33 s (QoE 1 − 1 = 0), rung 1 stalls 0.67 s (2 − 2.87 = −0.87),
    /// rung 2 stalls 3.33 s (4 − 14.33 − 2 = −12.3): rung 0.
    @Test("robustMPC's plan weighs bit rate against stalls and switches (hand-computed)")
    func mpcPlan() {
        #expect(RobustMPC.plan(ruleInput(ladder, buffer: 2, throughput: nil, last: 1), throughput: 3e6, horizon: 1) == 0)
        // With 20 s buffered the stall goes away and the top rung wins.
        #expect(RobustMPC.plan(ruleInput(ladder, buffer: 20, throughput: nil, last: 2), throughput: 3e6, horizon: 1) == 2)
    }

    /// Three samples of 3 Mbit/s predict 3; a fourth of 1.5 is an error of 100% on that
    /// prediction, so the next prediction is the harmonic mean 2.4 halved: 1.2 Mbit/s.
    @Test("robustMPC predicts the harmonic mean of recent throughput, discounted by its worst recent error")
    func mpcPrediction() {
        var state = RuleState()
        let rule = ABRAlgorithm.robustMPC(horizon: 5)
        let input = ruleInput(ladder, buffer: 6, throughput: nil, last: 2)
        #expect(rule.decide(input, state: &state).rung == 0)   // no sample yet
        for _ in 0..<3 { RobustMPC.record(bitsPerSecond: 3e6, state: &state) }
        #expect(rule.decide(input, state: &state).rung == RobustMPC.plan(input, throughput: 3e6, horizon: 5))
        RobustMPC.record(bitsPerSecond: 1.5e6, state: &state)
        let chosen = rule.decide(input, state: &state).rung
        #expect(chosen == RobustMPC.plan(input, throughput: 1.2e6, horizon: 5))
        #expect(chosen < RobustMPC.plan(input, throughput: 3e6, horizon: 5))
    }

    /// 16 Mbit at rung 2; 1 s after the request (0.1 s latency) 1.8 Mbit have arrived: 2 Mbit/s,
    /// 7.1 s to go, 8.1 s in all, past 1.8 × 4 s. At 0.9 × 2 Mbit/s rung 0 is what fits, and its
    /// 4 Mbit segment is less than the 14.2 left.
    @Test("The throughput rule abandons a request that would take 1.8 segment durations, after its grace")
    func throughputAbandonment() {
        func abandons(_ p: DownloadProgress) -> Int? { ThroughputRule.abandonment(p, ladder, segmentSeconds: 4, latency: { 0.1 }) }
        let late = DownloadProgress(rung: 2, bitsReceived: 1.8e6, bitsTotal: 16e6, sinceRequestUs: 1_000_000, sinceFirstByteUs: 900_000,
                                    bufferUs: 3_000_000)
        #expect(abandons(late) == 0)
        var early = late
        early.sinceRequestUs = 400_000
        early.sinceFirstByteUs = 300_000
        early.bitsReceived = 0.6e6
        #expect(abandons(early) == nil)
        var fast = late
        fast.bitsReceived = 9e6   // 10 Mbit/s: done in 1.7 s
        #expect(abandons(fast) == nil)
    }

    @Test("BOLA-E abandons a slow top-rung download when the buffer is low, not when it is full")
    func bolaEAbandonment() {
        let bola = BolaE(sabreLadder, maxBufferSeconds: 25, insufficientBuffer: true, gammaP: 5)
        let slow = DownloadProgress(rung: 4, bitsReceived: 1e6, bitsTotal: 24e6, sinceRequestUs: 1_050_000, sinceFirstByteUs: 1_000_000,
                                    bufferUs: 2_000_000)
        let lower = bola.abandonment(sabreLadder, slow, placeholderMs: 0)
        #expect(lower != nil && lower! < 4)
        var comfortable = slow
        comfortable.bufferUs = 29_000_000
        #expect(bola.abandonment(sabreLadder, comfortable, placeholderMs: 0) == nil)
    }
}

@Suite("Player with a rule that remembers")
struct StatefulPlayerTests {
    /// A BOLA-E player with a full buffer is told to wait; asking again when the wait is over
    /// gives the same rung at once, and the rule decided once (its safety counted once).
    @Test("A decision that asks to wait is kept for when the wait is over")
    func pendingDecision() {
        let context = PlayerContext(manifest: sabreLadder,
                                    configuration: PlayerProfile.named("sabre-default")!.configuration())
        var p = Player.resumed(context, at: 0, position: 0, segments: 6, rung: 2, throughput: 4e6)
        let first = p.nextRequest(at: 0, context)!
        #expect(first.delay > 0)
        let steps = p.rule.safetySteps
        let again = p.nextRequest(at: first.delay, context)!
        #expect(again.rung == first.rung && again.delay == 0)
        #expect(p.rule.safetySteps == steps)
    }

    @Test("A player's state is small enough for millions of sessions")
    func size() {
        // 10M concurrent sessions × this must fit in memory; the rules' memory is 32 bytes of it.
        #expect(MemoryLayout<RuleState>.size <= 32)
        #expect(MemoryLayout<Player>.size <= 272)
    }
}

@Suite("Replay arithmetic")
struct ReplayArithmeticTests {
    /// Bandwidths that do not divide a microsecond's worth of bits: a transfer split at every
    /// abandonment check must end exactly when the unsplit one does.
    @Test("Checking a download for abandonment changes nothing when it does not abandon")
    func checksOnlyObserve() {
        let movie = constantMovie(bitratesKbps: [500, 2_000, 8_000], segments: 12)
        let network = NetworkTrace(periods: [.init(duration: 700_001, bandwidth: 3_333_337, latency: 13_001),
                                             .init(duration: 1_300_003, bandwidth: 777_781, latency: 29_003)])
        for algorithm in [ABRAlgorithm.fixed(rung: 1), .fixed(rung: 2)] {
            var checked = PlayerConfiguration(algorithm: algorithm, abandonmentCheck: 7_001)
            checked.abandonmentGrace = 0
            var unchecked = checked
            unchecked.abandonment = false
            let a = TraceReplay.run(movie, network: network, configuration: checked)
            let b = TraceReplay.run(movie, network: network, configuration: unchecked)
            #expect(a.downloads == b.downloads)
            #expect(a.qoe == b.qoe)
        }
    }
}

/// Sabre run on vodsim's traces (scripts/sabre-agreement.py keeps what it printed in
/// Tests/ABRTests/Sabre/agreement.json): each profile must agree within 2% in bit rate and 0.5 s
/// in rebuffering, case by case.
@Suite("Agreement with Sabre")
struct SabreAgreementTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Case: Sendable, CustomStringConvertible {
        var profile: String, network: String, movie: String
        var averageBitrateKbps: Double, rebufferSeconds: Double
        var description: String { "\(profile) on \((network as NSString).lastPathComponent)" }
    }

    static let cases: [Case] = {
        let url = root.appendingPathComponent("Tests/ABRTests/Sabre/agreement.json")
        let object = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (object["cases"] as! [[String: Any]]).map {
            Case(profile: $0["profile"] as! String, network: $0["network"] as! String, movie: $0["movie"] as! String,
                 averageBitrateKbps: ($0["averageBitrateKbps"] as! NSNumber).doubleValue,
                 rebufferSeconds: ($0["rebufferSeconds"] as! NSNumber).doubleValue)
        }
    }()

    static func json(_ path: String) -> Any {
        try! JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent(path)))
    }

    static func network(_ path: String) -> NetworkTrace {
        NetworkTrace(periods: (json(path) as! [[String: NSNumber]]).map {
            .init(duration: Int64(($0["duration_ms"]!.doubleValue * 1_000).rounded()),
                  bandwidth: Int64(($0["bandwidth_kbps"]!.doubleValue * 1_000).rounded()),
                  latency: Int64(($0["latency_ms"]!.doubleValue * 1_000).rounded()))
        })
    }

    static func movie(_ path: String) -> TraceMovie {
        let o = json(path) as! [String: Any]
        let sizes = (o["segment_sizes_bits"] as! [[NSNumber]]).map { $0.map(\.int64Value) }
        let manifest = PlaybackManifest(bitrates: (o["bitrates_kbps"] as! [NSNumber]).map { $0.doubleValue * 1_000 },
                                        segmentDurations: Array(repeating: Int64((o["segment_duration_ms"] as! NSNumber).doubleValue * 1_000),
                                                                count: sizes.count))
        return TraceMovie(manifest: manifest, bits: sizes)
    }

    @Test("Every Sabre profile is covered on every trace")
    func coverage() {
        #expect(Set(Self.cases.map(\.profile)) == ["sabre-default", "sabre-bola-o", "sabre-throughput", "sabre-dynamicdash"])
        #expect(Self.cases.count == 28)
    }

    @Test("vodsim's profile agrees with Sabre", arguments: cases)
    func agrees(_ c: Case) {
        let result = TraceReplay.run(Self.movie(c.movie), network: Self.network(c.network),
                                     configuration: PlayerProfile.named(c.profile)!.configuration())
        let bitrate = result.qoe.averageBitrate / 1_000
        #expect(abs(bitrate - c.averageBitrateKbps) <= 0.02 * c.averageBitrateKbps, "bit rate \(bitrate) kbps, Sabre \(c.averageBitrateKbps)")
        #expect(abs(Double(result.qoe.rebufferTime) / 1e6 - c.rebufferSeconds) <= 0.5,
                "rebuffering \(Double(result.qoe.rebufferTime) / 1e6) s, Sabre \(c.rebufferSeconds)")
    }
}
