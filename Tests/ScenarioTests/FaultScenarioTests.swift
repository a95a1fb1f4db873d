import Foundation
import Metrics
import SimCore
import Testing
@testable import Scenario
@testable import World

/// Loads a shipped fault scenario, with overrides.
func faultScenario(_ name: String, _ overrides: [String] = []) throws -> ResolvedScenario {
    try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("Scenarios/faults/\(name).yaml").path, overrides: overrides)
}

/// Bytes per second of a series averaged over minutes [from, to).
func rate(_ s: TimeSeries, minutes range: Range<Int>) -> Double {
    range.reduce(0.0) { $0 + ($1 < s.bucketCount ? s.ratePerSecond($1) : 0) } / Double(range.count)
}

/// Runs `world` to its end, auditing sessions and links every five minutes (checker observers:
/// every session is playing, stalled, starting or ended with a cause, and never downloads from a
/// PoP that is down; every link's books match the transfers on it; nothing waits on a link where
/// nothing runs).
func runAudited(_ world: World) throws {
    var t = SimInstant.zero
    while t < world.end {
        t = min(world.end, t + .minutes(5))
        try world.run(until: t)
        let problems = WorldAudit(world).sessions() + WorldAudit(world).links() + WorldAudit(world).queues()
        #expect(problems.isEmpty, "at \(t): \(problems.prefix(3))")
        if !problems.isEmpty { return }
    }
}

@Suite("Fault scenarios")
struct FaultScenarioTests {
    /// nyc-1 is down from minute 30 to 50: its egress drops to nothing, nyc-2's rises, its players
    /// fail over, and no session is lost.
    @Test("A PoP outage moves its sessions to the neighbours, and loses none while capacity suffices")
    func popOutage() throws {
        let s = try faultScenario("pop-outage", ["regions[us-east].users=8k"])
        let world = World(configuration: s.worldConfiguration)
        try runAudited(world)
        let r = world.results()
        let nyc1 = r.pops[0].metrics, nyc2 = r.pops[1].metrics
        #expect(rate(nyc1.egress, minutes: 32..<50) == 0)
        #expect(rate(nyc2.egress, minutes: 32..<50) > 1.3 * rate(nyc2.egress, minutes: 10..<30))
        #expect(nyc2.failoversIn.value > 0)
        #expect(r.global.lostSessions.value == 0)
        let incident = try #require(RunReport(scenario: s, results: r).incidentSummaries.first)
        #expect(incident.rows[0][0] == "popDown pop nyc-1")
    }

    /// The same outage with the neighbours too small for the load: sessions wait, users give up
    /// before their first frame, and the incident counts them.
    @Test("A PoP outage without enough capacity elsewhere shows as failed starts, counted")
    func popOutageOverload() throws {
        let s = try faultScenario("pop-outage", ["regions[us-east].users=8k", "pops[nyc-2].egress=20 Mbps", "pops[us-hub].egress=20 Mbps",
                                                 "clients.startupPatience=4 s"])
        let world = World(configuration: s.worldConfiguration)
        try runAudited(world)
        let r = world.results()
        let report = RunReport(scenario: s, results: r)
        let before = try #require(report.figures(10..<30)), during = try #require(report.figures(30..<50))
        #expect(during.failedStarts > before.failedStarts + 10, "failed starts \(before.failedStarts) → \(during.failedStarts)")
        #expect(try #require(r.global.availability) < RunReport.availabilityTarget)
    }

    /// The us-east replica is down from minute 30 to 60: the eu-west replica carries us-east's
    /// misses meanwhile, and the us-east one nothing.
    @Test("An origin-region outage moves reads to the other replica, and loses no session")
    func originOutage() throws {
        let s = try faultScenario("origin-outage", ["regions[us-east].users=4k", "regions[eu-west].users=4k"])
        let world = World(configuration: s.worldConfiguration)
        try runAudited(world)
        let r = world.results()
        let east = r.origins[0].bytes, west = r.origins[1].bytes
        #expect(rate(east, minutes: 31..<60) == 0)
        #expect(rate(east, minutes: 5..<30) > 0)
        #expect(rate(west, minutes: 31..<60) > 1.5 * rate(west, minutes: 5..<30))
        #expect(r.global.lostSessions.value == 0)
    }

    /// Title 0's demand is multiplied by 5 from minute 30 for an hour: more sessions start, and the
    /// PoPs serve them (it was planned).
    @Test("A release-night surge raises starts and egress over the same evening without it, and pre-positioning keeps the hit ratio")
    func surge() throws {
        let s = try faultScenario("release-surge", ["regions[us-east].users=8k"])
        let world = World(configuration: s.worldConfiguration)
        try runAudited(world)
        let calm = World(configuration: try #require(s.comparison).scenario.worldConfiguration)
        try calm.run(until: calm.end)
        let r = world.results(), c = calm.results()
        func starts(_ g: Aggregate) -> Double { (30..<90).reduce(0.0) { $0 + g.startSeries.sums[$1] } }
        #expect(starts(r.global) > 1.1 * starts(c.global), "starts \(starts(c.global)) → \(starts(r.global))")
        #expect(rate(r.pops[0].metrics.egress, minutes: 35..<90) > 1.05 * rate(c.pops[0].metrics.egress, minutes: 35..<90))
        let figures = try #require(RunReport(scenario: s, results: r).figures(30..<90))
        #expect(try #require(figures.hitRatio) > 0.95)
        #expect(world.sites.pops[0].titleFiles[0] > 0)
        #expect(r.global.lostSessions.value == 0)
    }

    /// Half the partitions refuse appends for 20 minutes: events wait at their clients, then drain
    /// with nothing lost; with 20-event client buffers, the overflow is lost and counted exactly.
    @Test("An ingest outage builds a backlog at the clients that drains; small buffers lose exactly what overflows")
    func ingestOutage() throws {
        let s = try faultScenario("ingest-outage", ["regions[us-east].users=4k"])
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: .zero + .minutes(45))
        #expect(world.activityLog.results(heldAtClients: world.clients.eventsHeld).pendingAtClients > 0)
        try world.run(until: world.end)
        let m = world.results().pipeline
        #expect(m.refused > 0)
        #expect(m.droppedClientBuffer == 0 && m.late == 0 && m.pendingAtClients == 0)
        #expect(m.produced == m.appended - m.resent + m.droppedClientBuffer + m.pendingAtClients)
        let small = World(configuration: try faultScenario("ingest-outage", ["regions[us-east].users=4k", "activity.clientBuffer=20"]).worldConfiguration)
        try small.run(until: small.end)
        let lossy = small.results().pipeline
        #expect(lossy.droppedClientBuffer > 0)
        #expect(lossy.produced == lossy.appended - lossy.resent + lossy.droppedClientBuffer + lossy.pendingAtClients)
        #expect(lossy.appended == lossy.aggregated + lossy.late + lossy.droppedRetention + lossy.duplicates + lossy.pendingInLog)
    }

    @Test("Random faults strike at times drawn from the fault injector's stream, on a random PoP if none is named")
    func randomFaults() throws {
        let text = regionsOnly + """
            pops:
              - {id: a, region: us-east, storage: 1 TB, egress: 4 Gbps}
              - {id: b, region: us-east, storage: 1 TB, egress: 4 Gbps}
            faults:
              - {type: popDown, perDay: 48, at: 0 s, duration: 5 min}

            """
        let s = try ScenarioLoader.parse(text: text, file: "s.yaml")
        let a = FaultInjector.incidents(s.worldConfiguration), again = FaultInjector.incidents(s.worldConfiguration)
        #expect(a.count > 0 && a.count < 6)  // 2 expected in the hour
        #expect(a.map(\.start) == again.map(\.start) && a.map(\.pop) == again.map(\.pop))
        #expect(a.allSatisfy { $0.pop != nil && $0.end == $0.start + .minutes(5) })
        let other = FaultInjector.incidents(try ScenarioLoader.parse(text: text, file: "s.yaml", overrides: ["seed=2"]).worldConfiguration)
        #expect(other.map(\.start) != a.map(\.start))
    }
}
