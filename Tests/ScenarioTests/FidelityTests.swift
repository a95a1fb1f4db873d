import Foundation
import Reports
import Stochastics
import Testing
@testable import Scenario
@testable import World

/// Runs a shipped scenario at `fidelity` and returns its report.json.
private func report(_ scenario: String, fidelity: String, _ overrides: [String] = []) throws -> JSONValue {
    let resolved = try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent(scenario).path,
                                           overrides: overrides + ["execution.fidelity=\(fidelity)"])
    let run = ScenarioRun(resolved, threads: 2)
    try run.simulate()
    return run.report().json
}

@Suite("Hybrid fidelity")
struct FidelityTests {
    /// Where no link ever fills, nothing outside a steady session's own player can change its
    /// segments, so a steady window books exactly what the segment model books: the same
    /// experience, requests, hits and bytes per bucket, the same activity and data sets, with a
    /// fraction of the events.
    @Test("With links that never fill, a hybrid run books exactly what the segment run does")
    func exactWithoutContention() throws {
        let roomy = ["duration=30 min", "pops[nyc-1].egress=200 Gbps", "pops[ams-1].egress=200 Gbps", "pops[us-hub].egress=200 Gbps"]
        let segment = try report("Scenarios/smoke.yaml", fidelity: "segment", roomy)
        let hybrid = try report("Scenarios/smoke.yaml", fidelity: "hybrid", roomy)
        for section in ["sessions", "concurrency", "experience", "delivery", "activity", "availability", "releases"] {
            #expect(segment["metrics"]?[section] == hybrid["metrics"]?[section], "metrics.\(section)")
        }
        // Per bucket too (the links' utilisation aside: a window's load is its mean over the window).
        for series in ["concurrency", "sessionStarts", "startTimeMs", "rebufferRatioPercent", "averageBitrateKbps", "hitRatio",
                       "popEgressGbps", "originEgressGbps"] {
            #expect(segment["timeseries"]?[series] != nil && segment["timeseries"]?[series] == hybrid["timeseries"]?[series], "timeseries.\(series)")
        }
        #expect(segment["fidelity"]?["model"] == .string("segment"))
        let share = try #require(hybrid["fidelity"]?["steadySharePercent"]?.double)
        #expect(share > 50, "steady share \(share)%")
        let events = (try #require(segment["simulatedEvents"]?.double), try #require(hybrid["simulatedEvents"]?.double))
        #expect(events.1 < events.0 / 3, "events \(events.0) → \(events.1)")
    }

    /// The contract (``FidelityRule/contract``) on the scenarios CI runs: a steady window never
    /// spans a fault's start or end and no session is steady while a fault is in force, which is
    /// what keeps the fault scenarios within it.
    @Test("Hybrid runs keep the fidelity contract on smoke and every fault scenario",
          arguments: ["Scenarios/smoke.yaml", "Scenarios/faults/pop-outage.yaml", "Scenarios/faults/origin-outage.yaml",
                      "Scenarios/faults/ingest-outage.yaml", "Scenarios/faults/release-surge.yaml"])
    func contract(scenario: String) throws {
        let rows = FidelityCheck.compare(segment: try report(scenario, fidelity: "segment"), hybrid: try report(scenario, fidelity: "hybrid"))
        for row in rows where !row.within {
            Issue.record("\(scenario): \(row.rule.path) segment \(row.segment.map { "\($0)" } ?? "no data"), hybrid \(row.hybrid.map { "\($0)" } ?? "no data"), tolerance \(row.rule.tolerance.description)")
        }
        #expect(rows.count == FidelityRule.contract.count)
    }

    /// Checker observers every five minutes (`runAudited`): links' flows and the steady windows'
    /// reservations match the sessions', and every session has something that will move it on.
    @Test("A hybrid run keeps the links' books and every session moving, through a PoP outage")
    func auditedHybrid() throws {
        let s = try faultScenario("pop-outage", ["regions[us-east].users=8k", "execution.fidelity=hybrid"])
        let world = World(configuration: s.worldConfiguration)
        try runAudited(world)
        let figures = try #require(world.results().hybrid)
        #expect(figures.windows > 0 && figures.segments > figures.windows)
    }

    @Test("A metric with data in one run only is beyond the contract; none in both is within it")
    func missingDataIsNotAgreement() {
        let rule = FidelityRule("x", .relative(0.5))
        #expect(!FidelityRow(rule: rule, segment: 1, hybrid: nil).within)
        #expect(!FidelityRow(rule: rule, segment: nil, hybrid: 1).within)
        #expect(FidelityRow(rule: rule, segment: nil, hybrid: nil).within)
        #expect(FidelityRow(rule: rule, segment: 2, hybrid: 2.9).within && !FidelityRow(rule: rule, segment: 2, hybrid: 3.1).within)
        let rebuffer = FidelityRule("y", .absoluteOrRelative(0.05, 0.1))
        #expect(FidelityRow(rule: rebuffer, segment: 0.1, hybrid: 0.149).within)  // 0.05 absolute is the larger
        #expect(FidelityRow(rule: rebuffer, segment: 2, hybrid: 2.19).within)     // 10% of 2 is the larger
        #expect(!FidelityRow(rule: rebuffer, segment: 2, hybrid: 2.21).within)
    }

    @Test("Over replications a metric is within when its whole confidence interval is, beyond when all of it is beyond, unresolved between")
    func replicatedVerdicts() {
        let rule = FidelityRule("x", .absolute(1))
        func estimate(_ pairs: [(Double?, Double?)], _ rule: FidelityRule = rule) -> FidelityEstimate {
            FidelityCheck.estimates(pairs.map { p in
                (segment: JSONValue.object([("x", p.0.map { .number($0) } ?? .null)]), hybrid: JSONValue.object([("x", p.1.map { .number($0) } ?? .null)]))
            }, rules: [rule]) { Statistics.confidenceInterval($0, level: 0.90).halfWidth }[0]
        }
        // Differences 0.2, 0.3, 0.4: mean 0.3, half-width t(0.95; 2) · 0.1/√3 ≈ 0.168, all within ±1.
        let within = estimate([(10, 10.2), (20, 20.3), (30, 30.4)])
        #expect(within.verdict == .within)
        #expect(abs(within.differenceMean! - 0.3) < 1e-12 && abs(within.differenceHalfWidth! - 2.919986 * 0.1 / 3.0.squareRoot()) < 1e-5)
        #expect(abs(within.segmentSpread! - 10) < 1e-12)  // the seeds' spread, not the difference's
        // Mean 2, narrow: beyond.
        #expect(estimate([(10, 11.9), (20, 22), (30, 32.1)]).verdict == .beyond)
        // Mean 0.5, but the pairs disagree widely: the interval straddles ±1.
        #expect(estimate([(10, 8.5), (20, 20.5), (30, 32.5)]).verdict == .unresolved)
        // Missing in one fidelity's run of one pair: beyond, whatever the rest; missing in both everywhere: within.
        #expect(estimate([(10, 10), (20, nil), (30, 30)]).verdict == .beyond)
        #expect(estimate([(nil, nil), (nil, nil)]).verdict == .within)
        // An identical metric must be identical in every pair.
        #expect(estimate([(5, 5), (6, 6)], FidelityRule("x", .exact)).verdict == .within)
        #expect(estimate([(5, 5), (6, 7)], FidelityRule("x", .exact)).verdict == .beyond)
        // One pair: the single-run rule.
        #expect(estimate([(10, 10.9)]).verdict == .within && estimate([(10, 11.1)]).verdict == .beyond)
    }
}
