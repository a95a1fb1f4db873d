import Foundation
import Reports
import Testing
@testable import Scenario
@testable import World

/// The cost model (scenario `cost`, report `metrics.cost`): checked against figures the report
/// states independently of it (the links' bytes, the egress time series, the scenario's sizes).
@Suite("Cost")
struct CostTests {
    static let prices = """
        cost={currency: EUR, egress: {originToInternet: {perGB: 0.05}, originFill: {perGB: 0.02}, interPop: {perGB: 0.01}, \
        popToUsers: {perGB: 0.003}}, storage: {popPerTBMonth: 20, originPerTBMonth: 23}, popEgressPerGbpsMonth: 300, \
        appliances: {price: 12000, amortisationMonths: 36, powerWatts: 500, electricityPerKWh: 0.12}, originRequests: 0.0004}
        """

    func run(_ s: ResolvedScenario) throws -> (RunReport, WorldResults) {
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: world.end)
        let results = world.results()
        return (RunReport(scenario: s, results: results), results)
    }

    func number(_ json: JSONValue, _ path: String) throws -> Double {
        try #require(json.at(path.split(separator: ".").map(String.init))?.double, "\(path)")
    }

    @Test("Every byte a link carried is priced once, by its source: users', parent-to-child, fills, origin")
    func bytesBySource() throws {
        let s = try ScenarioLoader.loadBuiltIn(overrides: ["duration=20 min", Self.prices, "placement.onMiss=immediate"])
        let (report, results) = try run(s)
        let json = report.json
        let k = Double(results.sampling)
        let linkBytes = (results.pops.map { $0.metrics.egress.sums.reduce(0, +) } + results.origins.map(\.totalBytes)).reduce(0, +) * k
        var priced = 0.0
        let perGB = ["originToInternet": 0.05, "originFill": 0.02, "interPop": 0.01, "popToUsers": 0.003]
        for (source, price) in perGB {
            let tb = try number(json, "metrics.cost.egress.\(source).TB")
            priced += tb * 1e12
            // TB is rounded to the GB: half a GB at the price, at most.
            #expect(abs(try number(json, "metrics.cost.egress.\(source).cost") - tb * 1_000 * price) <= 0.5 * price + 1e-4, "\(source)")
        }
        #expect(abs(priced - linkBytes) <= 0.002 * linkBytes + 4e9, "priced \(priced) of \(linkBytes) bytes")
        // The smoke world has a tier (us-hub above nyc-1), fills and misses to the origin: every source carries.
        for source in perGB.keys { #expect(try number(json, "metrics.cost.egress.\(source).TB") > 0, "\(source)") }
        // What PoPs deliver to users is what their users downloaded.
        let delivered = results.pops.reduce(0.0) { $0 + $1.metrics.bytes } * k
        #expect(abs(try number(json, "metrics.cost.egress.popToUsers.TB") * 1e12 - delivered) <= 0.02 * delivered)
        #expect(json.at(["metrics", "cost", "currency"]) == .string("EUR"))
        let total = try number(json, "metrics.cost.total")
        #expect(abs(try number(json, "metrics.cost.byTier.pops") + number(json, "metrics.cost.byTier.origin") - total) < 0.001)
        guard case let .array(regions)? = json.at(["metrics", "cost", "regions"]) else { Issue.record("no regions"); return }
        #expect(abs(regions.compactMap { $0["total"]?.double }.reduce(0, +) - total) < 0.001 * Double(max(1, regions.count)))
    }

    @Test("Fixed prices follow the scenario's sizes pro rata: storage, ports, appliances, the catalog at the origin")
    func fixedPrices() throws {
        let s = try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("Scenarios/cost-sweep.yaml").path,
                                        overrides: ["duration=30 min", "regions[us-east].users=2k"])
        let (report, results) = try run(s)
        let json = report.json
        let months = 0.5 / 730
        let edge = "metrics.cost.pops.0"
        #expect(abs(try number(json, "\(edge).storage") - 3 * 20 * months) < 1e-4)          // 3 TB at 20 a TB-month
        #expect(abs(try number(json, "\(edge).egressCapacity") - 10 * 300 * months) < 1e-4)  // 10 Gbps at 300 a Gbps-month
        let appliances = 4 * 12_000 / 36 * months + 4 * 0.5 * 0.5 * 0.12                     // 4 servers: price over 36 months, 500 W
        #expect(abs(try number(json, "\(edge).appliances") - appliances) < 1e-4)
        let catalogTB = results.catalogNominalBytes / 1e12
        #expect(catalogTB > 1)
        #expect(abs(try number(json, "metrics.cost.origins.0.storage") - catalogTB * 23 * months) < 1e-4)
        #expect(abs(try number(json, "metrics.cost.hours") - 0.5) < 1e-9)
        let playHours = try number(json, "metrics.experience.playHours")
        #expect(abs(try number(json, "metrics.cost.perDeliveredHour") - number(json, "metrics.cost.total") / playHours) < 1e-3)
    }

    @Test("95/5 billing charges the 95th percentile of the 5-minute average rates, per Mbps-month")
    func ninetyFifth() throws {
        let s = try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("Scenarios/cost-sweep.yaml").path,
                                        overrides: ["duration=1 h", "regions[us-east].users=2k", "cost.egress.popToUsers={perMbpsMonth: 2}"])
        let (report, _) = try run(s)
        let json = report.json
        // One PoP without children: what it delivers to users is its whole egress series.
        guard case let .array(series)? = json.at(["timeseries", "popEgressGbps", "edge"]) else { Issue.record("no series"); return }
        let mbps = series.compactMap(\.double).map { $0 * 1_000 }.sorted()
        #expect(mbps.count == 12)
        let p95 = mbps[Int((0.95 * Double(mbps.count)).rounded(.up)) - 1]  // nearest rank: the 12th of 12
        let billed = try number(json, "metrics.cost.egress.popToUsers.billedMbps")
        #expect(abs(billed - p95) <= 0.6, "billed \(billed) Mbps, p95 \(p95)")
        #expect(abs(try number(json, "metrics.cost.egress.popToUsers.cost") - billed * 2 / 730) < 0.01)
        #expect(json.at(["metrics", "cost", "egress", "popToUsers", "billing"]) == .string("95/5"))
        #expect(try number(json, "metrics.cost.billingWindows.count") == 12)
    }

    @Test("Without a cost section the report has none, and no cost series")
    func noPricesNoCost() throws {
        let (report, _) = try run(try ScenarioLoader.loadBuiltIn(overrides: ["duration=10 min"]))
        let json = report.json
        #expect(json.at(["metrics", "cost"]) == nil)
        #expect(json.at(["timeseries", "costPerHour"]) == nil)
    }

    @Test("A source priced both per GB and 95/5 is refused with its key path")
    func bothBillings() {
        let found = problems(minimal + "cost:\n  egress:\n    originFill: {perGB: 0.02, perMbpsMonth: 1}\n")
        #expect(found.count == 1)
        #expect(found.first?.contains("cost.egress.originFill") == true && found.first?.contains("exactly one of perGB") == true, "\(found)")
    }
}

/// report.html's picture of the platform and the top-titles table.
@Suite("The platform's picture")
struct PlatformPictureTests {
    @Test("The titles' requests and hits add up to the edge's: the top titles are counted where delivery counts")
    func titlesAddUp() throws {
        // One PoP and no tier above it: every request at it is a session's own.
        let s = try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("Scenarios/cost-sweep.yaml").path,
                                        overrides: ["duration=20 min", "regions[us-east].users=2k"])
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: world.end)
        let results = world.results()
        let report = RunReport(scenario: s, results: results)
        let counts = results.titleCounts
        let requests = stride(from: 0, to: counts.count, by: 2).reduce(Int64(0)) { $0 + counts[$1] }
        let hits = stride(from: 1, to: counts.count, by: 2).reduce(Int64(0)) { $0 + counts[$1] }
        #expect(Double(requests) == report.delivery.requests)
        #expect(Double(hits) == report.delivery.hits)
        let top = report.topTitles
        #expect(top.count == RunReport.topTitleCount)
        #expect(zip(top, top.dropFirst()).allSatisfy { $0.requests >= $1.requests })
        #expect(report.html.contains("<h2>Top titles</h2>"))
        // The catalog's titles released before the run carry their release time.
        let released = Set(results.releaseTimes.map(\.title))
        #expect(top.allSatisfy { ($0.releasedAt != nil) == released.contains($0.title) })
    }

    @Test("The topology names every replica, PoP and region, colours them by peak utilisation and outlines a PoP a fault struck")
    func topology() throws {
        let s = try ScenarioLoader.loadBuiltIn(overrides: ["duration=20 min", "faults=[{type: popDown, pop: ams-1, at: 5 min, duration: 5 min}]"])
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: world.end)
        let report = RunReport(scenario: s, results: world.results())
        let svg = report.topologySVG
        for name in ["origin us-east", "us-hub", "nyc-1", "ams-1", "us-east", "eu-west"] { #expect(svg.contains(">\(name)<"), "\(name)") }
        #expect(svg.components(separatedBy: "stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"4 2\"").count == 2)  // ams-1 alone
        #expect(svg.contains(">popDown<"))
        for (i, peak) in report.popPeakUtilisation.enumerated() {
            #expect(svg.contains("fill=\"\(RunReport.utilisationColour(peak))\""), "PoP \(i)")
        }
        #expect(report.html.contains("<h2>The platform</h2>") && report.html.contains("PoP egress and capacity"))
    }
}
