import Foundation
import Reports
import Testing
@testable import Scenario
@testable import World

/// Missing data is shown as missing: no 0 ms start time when nothing started, no "met" without
/// data, no 100% availability without an attempt, no 0% hit ratio for a PoP nobody asked.
@Suite("Reports without data")
struct NoDataTests {
    func report(_ overrides: [String]) throws -> RunReport {
        let s = try ScenarioLoader.loadBuiltIn(overrides: ["duration=20 min"] + overrides)
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: world.end)
        return RunReport(scenario: s, results: world.results())
    }

    @Test("When every PoP is down, start times are no data, not 0 ms; the targets say so; availability is 0")
    func nothingStarts() throws {
        let r = try report(["faults=[{type: popDown, pop: nyc-1, at: 0 s}, {type: popDown, pop: us-hub, at: 0 s}, {type: popDown, pop: ams-1, at: 0 s}]",
                            "clients.failoverRetries=0"])
        // Sessions in progress at the start had started before it; the new ones never do.
        let json = r.json
        let attempts = try #require(json.at(["metrics", "availability", "all", "attempts"])?.double)
        #expect(attempts > 0)
        #expect(json.at(["metrics", "availability", "all", "availabilityPercent"])?.double == 0)
        #expect(json.at(["metrics", "availability", "all", "meetsTarget"]) == .bool(false))
        for p in ["p50", "p90", "p99", "mean"] {
            #expect(json.at(["metrics", "experience", "startTimeMs", p]) == .null, "\(p)")
        }
        #expect(json.at(["metrics", "delivery", "hitRatio"])?.double != nil)  // in-progress sessions asked before failing
        let targets = r.targets
        #expect(targets.first { $0.metric == "video start time p50" }?.met == nil)
        #expect(targets.first { $0.metric == "video start time p50" }?.value == "no data")
        #expect(targets.first { $0.metric == "playback availability" }?.met == false)
        #expect(r.html.contains("<td class=\"nodata\">no data</td>"))
        #expect(r.markdown.split(separator: "\n").contains { $0.hasPrefix("| video start time p50 / p90 / p99") && $0.contains("| no data (nothing started)") })
        // A bucket without starts is null in the series and a gap in the chart, not 0 ms.
        let series = try #require(json.at(["timeseries", "startTimeMs", "p50"]))
        guard case let .array(values) = series else { Issue.record("not an array"); return }
        #expect(values.allSatisfy { $0 == .null })
    }

    @Test("With no session at all, availability and every experience figure are no data, never 100% or met")
    func noSessions() throws {
        let r = try report(["sampling=1000000", "regions[us-east].users=1", "regions[eu-west].users=1"])
        let json = r.json
        #expect(json.at(["metrics", "availability", "all", "attempts"])?.double == 0)
        #expect(json.at(["metrics", "availability", "all", "availabilityPercent"]) == .null)
        #expect(json.at(["metrics", "availability", "all", "meetsTarget"]) == .null)
        #expect(json.at(["metrics", "experience", "rebufferRatioPercent"]) == .null)
        #expect(json.at(["metrics", "experience", "averageBitrateKbps"]) == .null)
        #expect(json.at(["metrics", "delivery", "hitRatio"]) == .null)
        #expect(r.targets.allSatisfy { $0.met == nil && $0.value == "no data" }, "\(r.targets)")
        #expect(!r.html.contains(">met<"))
    }

    @Test("A PoP's hit ratio is empty in timeseries.csv while it is down, and a gap in its chart")
    func hitRatioGapWhileDown() throws {
        let r = try report(["faults=[{type: popDown, pop: ams-1, at: 5 min, duration: 10 min}]"])
        let json = r.json
        guard case let .array(ams)? = json.at(["timeseries", "hitRatio", "ams-1"]) else { Issue.record("no series"); return }
        #expect(ams[7] == .null && ams[12] == .null)
        #expect(ams[2] != .null && ams[18] != .null)
        let csv = RunReport.timeseriesCSV(json["timeseries"] ?? .null).split(separator: "\n", omittingEmptySubsequences: false)
        let header = csv[0].split(separator: ",", omittingEmptySubsequences: false)
        let column = try #require(header.firstIndex(of: "hitRatio.ams-1"))
        #expect(csv[8].split(separator: ",", omittingEmptySubsequences: false)[column] == "")
        #expect(csv[3].split(separator: ",", omittingEmptySubsequences: false)[column] != "")
    }

    @Test("The incident tables carry every figure report.json has for an incident")
    func incidentTablesComplete() throws {
        let r = try report(["faults=[{type: ingestOutage, at: 5 min, duration: 5 min}]"])
        for header in ["start p99", "rebuffer", "failed starts", "sessions lost", "hit ratio", "origin egress", "log lag (events)", "held at clients", "recovered"] {
            #expect(r.markdown.contains(" \(header) |"), "summary.md lacks \(header)")
            #expect(r.html.contains("<th>\(header)</th>"), "report.html lacks \(header)")
        }
        // The ingest outage shows where it acts: events held at clients during it.
        let during = try #require(r.json.at(["metrics", "incidents"])).at(["0", "during", "heldAtClients"])?.double
        #expect((during ?? 0) > 0)
        let rows = try #require(r.incidentSummaries.first).rows
        #expect(rows.map { $0[2] } == ["before", "during", "after"])
        #expect(rows[1][10] != "0", "held at clients during the outage: \(rows[1])")
    }
}
