import Foundation
import SimCore
import Testing
@testable import Scenario
@testable import World

/// The last mile as the shipped scenarios use it: the default access classes vary during a
/// session (docs/world.md, "The last mile"), and that is what makes players stall.
@Suite("The last mile")
struct LastMileTests {
    /// The default classes (the schema's), with every class made `variation: constant`.
    static let constantClasses = """
        clients.access=[{name: broadband, share: 60%, bandwidth: {lognormal: {median: 40 Mbps, sigma: 0.8}}, variation: constant},
         {name: mobile, share: 25%, bandwidth: {lognormal: {median: 10 Mbps, sigma: 1.0}}, variation: constant},
         {name: eveningWifi, share: 15%, bandwidth: {lognormal: {median: 6 Mbps, sigma: 0.8}}, variation: constant}]
        """

    static func run(_ overrides: [String]) throws -> Aggregate {
        let s = try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("Scenarios/smoke.yaml").path,
                                        overrides: ["duration=1 h"] + overrides)
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: world.end)
        return world.results().global
    }

    @Test("A varying last mile stalls a plausible share of sessions; the same users on constant links do not stall")
    func varyingLastMileStalls() throws {
        let varying = try Self.run([])
        let share = try #require(varying.stalledSessionShare), ratio = try #require(varying.rebufferRatio)
        // Measured streaming services: a few percent of sessions stall, a fraction of a percent of
        // the time (docs/world.md compares the figures).
        #expect(share > 0.01 && share < 0.25, "stalled sessions \(share)")
        #expect(ratio > 1e-4 && ratio < 1e-2, "rebuffer ratio \(ratio)")
        // The same users with each one's mean throughput held constant: only the few whose link
        // is below the lowest rung stall.
        let constant = try Self.run([Self.constantClasses])
        let constantShare = try #require(constant.stalledSessionShare)
        #expect(constant.sessionsPlayed.value > 1_000)
        #expect(constantShare < 0.005 && constantShare * 10 < share, "stalled sessions on constant links \(constantShare)")
        #expect(try #require(constant.rebufferRatio) * 10 < ratio)
    }

    @Test("A Markov trace keeps the user's mean throughput and spends the set share of time in bad spells")
    func markovTraceKeepsItsMean() {
        let model = MarkovAccess(goodMean: .seconds(30), badMean: .seconds(10), badLevel: 0.1, sigma: 0.2, step: .seconds(1))
        var stream = RandomStream(seed: 7, label: "test", id: 0)
        var total = 0.0, time = 0.0, bad = 0.0
        for _ in 0..<20 {
            for p in LastMile.markovTrace(model, length: .hours(1), &stream) {
                let seconds = Double(p.durationUs) / 1e6
                total += p.bitsPerSecond * seconds
                time += seconds
                if p.bitsPerSecond < 0.5 { bad += seconds }  // the bad level is 0.1/0.775 = 0.13 of the mean
            }
        }
        #expect(abs(total / time - 1) < 0.03, "mean \(total / time)")
        #expect(abs(bad / time - 0.25) < 0.03, "bad share \(bad / time)")
    }
}

/// Trace files as researchers have them: Sabre's JSON, Pensieve's cooked lines, Mahimahi's log.
@Suite("Last-mile trace files")
struct AccessTraceFileTests {
    @Test("Sabre's, Pensieve's and Mahimahi's formats read as the same periods")
    func threeFormats() throws {
        let sabre = try AccessTraceFiles.parse(#"[{"duration_ms": 1000, "bandwidth_kbps": 3000, "latency_ms": 40}, {"duration_ms": 500, "bandwidth_kbps": 0}]"#, json: true)
        #expect(sabre == [AccessPeriod(durationUs: 1_000_000, bitsPerSecond: 3e6, latencyUs: 40_000),
                          AccessPeriod(durationUs: 500_000, bitsPerSecond: 0)])
        let pensieve = try AccessTraceFiles.parse("0.0 3.0\n1.0 0.0\n1.5 6.0\n", json: false)
        #expect(pensieve == [AccessPeriod(durationUs: 1_000_000, bitsPerSecond: 3e6), AccessPeriod(durationUs: 500_000, bitsPerSecond: 0),
                             AccessPeriod(durationUs: 750_000, bitsPerSecond: 6e6)])
        // 250 packets of 1500 bytes in the first second: 3 Mbit/s; none in the second; 1 in the third.
        let mahimahi = try AccessTraceFiles.parse((0..<250).map { "\($0 * 4)" }.joined(separator: "\n") + "\n2500\n", json: false)
        #expect(mahimahi.map(\.bitsPerSecond) == [3e6, 0, 12_000] && mahimahi.allSatisfy { $0.durationUs == 1_000_000 })
    }

    @Test("A bad trace file is an error naming the class's key, the file and the line")
    func badTraceFiles() throws {
        #expect(throws: AccessTraceFiles.Failure.self) { try AccessTraceFiles.parse("[{\"duration_ms\": -1, \"bandwidth_kbps\": 5}]", json: true) }
        #expect(throws: AccessTraceFiles.Failure.self) { try AccessTraceFiles.parse("0 1\n0 2\n", json: false) }
        #expect(throws: AccessTraceFiles.Failure.self) { try AccessTraceFiles.parse("0 0\n1 0\n", json: false) }
        let smoke = repositoryRoot.appendingPathComponent("Scenarios/smoke.yaml").path
        do {
            _ = try ScenarioLoader.load(path: smoke, overrides: ["clients.access=[{name: c, share: 100%, variation: traces, traces: traces/none}]"])
            Issue.record("a missing trace folder loaded")
        } catch {
            #expect(error.description.contains("clients.access[0].traces: no trace file or folder at"), "\(error)")
        }
    }

    @Test("The shipped commute traces play in a scenario, and the traces are part of its hash")
    func commuteTracesPlay() throws {
        let smoke = repositoryRoot.appendingPathComponent("Scenarios/smoke.yaml").path
        let access = "clients.access=[{name: home, share: 80%, bandwidth: {lognormal: {median: 30 Mbps, sigma: 0.5}}, variation: constant}, {name: commute, share: 20%, variation: traces, traces: traces/commute}]"
        let s = try ScenarioLoader.load(path: smoke, overrides: ["duration=30 min", access])
        #expect(s.accessTraces[1]?.count == 6)
        let same = try ScenarioLoader.load(path: smoke, overrides: ["duration=30 min", access])
        #expect(same.hash == s.hash)
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: world.end)
        let r = world.results().global
        #expect(r.sessionsPlayed.value > 100 && (r.stalledSessionShare ?? 0) > 0)
    }
}
