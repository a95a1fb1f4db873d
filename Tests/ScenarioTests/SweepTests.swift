import Foundation
import Reports
import Stochastics
import Testing
@testable import Scenario

@Suite("Sweeps")
struct SweepTests {
    @Test("--vary lists and ranges expand to values, with units, and the grid is their product, first key slowest")
    func gridExpansion() throws {
        let storage = try SweepAxis.parse("pops[edge].storage=2..6/2 TB")
        #expect(storage == SweepAxis(key: "pops[edge].storage", values: ["2 TB", "4 TB", "6 TB"]))
        #expect(try SweepAxis.parse("x=0.1..0.3/0.1").values == ["0.1", "0.2", "0.3"])
        #expect(try SweepAxis.parse("x=1 TB..2 TB/0.5 TB").values == ["1 TB", "1.5 TB", "2 TB"])
        let share = try SweepAxis.parse("clients.peakConcurrency=4%,5%, 6%")
        #expect(share.values == ["4%", "5%", "6%"])
        #expect(try SweepAxis.parse("k=1,2.5,4 TB").values == ["1 TB", "2.5 TB", "4 TB"])
        #expect(try SweepAxis.parse("k=a,b").values == ["a", "b"])
        let grid = Sweep.grid([storage, share])
        #expect(grid.count == 9)
        #expect(grid[0].map(\.value) == ["2 TB", "4%"])
        #expect(grid[1].map(\.value) == ["2 TB", "5%"])
        #expect(grid[8].map(\.value) == ["6 TB", "6%"])
        for bad in ["novalue", "x=", "x=1,,2", "x=1..5", "x=5..1/1", "x=1..5/0", "x=1 TB..5 GB/1"] {
            #expect(throws: SweepError.self, "\(bad)") { try SweepAxis.parse(bad) }
        }
    }

    @Test("A plan gives each point R runs, the first with the scenario's seed, and round-trips through sweep.json")
    func planRoundTrip() throws {
        var plan = Sweep.Plan(scenario: "s.yaml", name: "s", baseSeed: 42, keys: ["a"], replications: 3, metrics: ["metrics.delivery.hitRatio"])
        plan.addPoint([Sweep.Setting(key: "a", value: "1 TB")])
        plan.addPoint([Sweep.Setting(key: "a", value: "2 TB")])
        #expect(plan.runs.map(\.id) == ["p0000-r00", "p0000-r01", "p0000-r02", "p0001-r00", "p0001-r01", "p0001-r02"])
        #expect(plan.runs[0].seed == 42 && plan.runs[3].seed == 42)
        #expect(plan.runs[1].seed == plan.runs[4].seed && plan.runs[1].seed != plan.runs[2].seed && plan.runs[1].seed != 42)
        plan.search = Sweep.SearchRecord(key: "a", target: try SweepTarget.parse("hitRatio>=0.95"),
                                         range: NumericRange(lower: 1, upper: 2, unit: "TB"), resolution: 0.25, answer: "1.5 TB", direction: "smallest")
        let parsed = try Sweep.Plan.parse(JSONValue.parse(plan.json.serialized()))
        #expect(parsed == plan)
    }

    @Test("Confidence intervals match Student t on known data")
    func confidenceIntervals() throws {
        // 2, 4, 6, 8: mean 5, s² = 20/3, t(0.975; 3) = 3.182446305; half-width = t × s / 2.
        let runs = (0..<4).map { Sweep.Run(id: "p0000-r0\($0)", point: 0, replication: $0, seed: UInt64($0), settings: []) }
        let plan = Sweep.Plan(scenario: "s", name: "s", baseSeed: 0, keys: [], replications: 4, metrics: ["metrics.x"], runs: runs)
        var reports: [String: JSONValue] = [:]
        for (run, x) in zip(runs, [2.0, 4, 6, 8]) { reports[run.id] = .object([("metrics", .object([("x", .number(x))]))]) }
        let stats = try #require(SweepSummary(plan: plan, reports: reports).statistics(point: 0, metric: "metrics.x"))
        #expect(stats.mean == 5)
        #expect(abs(stats.halfWidth! - 3.182446305 * (20.0 / 3).squareRoot() / 2) < 1e-8)
        #expect(SweepSummary(plan: plan, reports: reports).csv.hasSuffix("p0000-r03,0,3,3,8\n"))
    }

    @Test("sweep.html: metric titles in words, intervals dashed and not below 0 for a metric never negative, means rounded to their interval")
    func sweepPage() throws {
        var plan = Sweep.Plan(scenario: "s.yaml", name: "s", baseSeed: 1, keys: ["k"], replications: 3,
                              metrics: ["metrics.experience.rebufferRatioPercent", "metrics.experience.startTimeMs.p99"])
        plan.addPoint([Sweep.Setting(key: "k", value: "1")])
        plan.addPoint([Sweep.Setting(key: "k", value: "2")])
        var reports: [String: JSONValue] = [:]
        let rebuffer: [Double] = [0.0001, 0.0002, 0.009, 0.3, 0.31, 0.305]
        for (run, x) in zip(plan.runs, rebuffer) {
            reports[run.id] = .object([("metrics", .object([("experience", .object([
                ("rebufferRatioPercent", .number(x)), ("startTimeMs", .object([("p99", .number(1_000 + x * 100))])),
            ]))]))])
        }
        let summary = SweepSummary(plan: plan, reports: reports)
        let html = summary.html
        #expect(html.contains(">Experience: rebuffer ratio (%)</text>"))
        #expect(html.contains(">Experience: start time p99 (ms)</text>"))
        #expect(!html.contains(">experience.rebufferRatioPercent</text>"))
        #expect(html.contains("stroke-dasharray"))
        // The first point's interval, 0.003 ± 0.013, would reach below 0: drawn from 0.
        #expect(!html.contains(",-") && !html.contains("\"-"))
        #expect(summary.markdown.contains(" 0.003 ± 0.013 |"))
        #expect(SweepSummary.withInterval(mean: 1_234.5678, halfWidth: 35.2) == "1235 ± 35")
        #expect(SweepSummary.withInterval(mean: 0.97312, halfWidth: 0.00421) == "0.9731 ± 0.0042")
    }

    @Test("Bisection finds the known threshold of a monotone synthetic metric, both ways, to the resolution")
    func bisectionThreshold() throws {
        // hit ratio rising with storage: 0.95 is crossed at 7.3 TB.
        let rising = try SweepTarget.parse("metrics.delivery.hitRatio>=0.95")
        let up = Bisection.search(lower: 1, upper: 12, resolution: 0.25, target: rising) { 0.95 + (($0 - 7.3) * 0.01) }
        #expect(up.direction == .smallest)
        #expect(up.answer == 7.5)  // the first multiple of 0.25 from 1 at or above 7.3
        #expect(up.tried.count <= 2 + 6)
        #expect(up.tried.allSatisfy { $0.met == ($0.value >= 7.3) })
        // start time falling with egress: the largest value keeping p99 above... reversed target.
        let falling = try SweepTarget.parse("startTimeMs.p99<=500")
        let down = Bisection.search(lower: 0, upper: 100, resolution: 1, target: falling) { 1_000 - $0 * 10 }
        #expect(down.direction == .smallest && down.answer == 50)
        let largest = Bisection.search(lower: 0, upper: 100, resolution: 1, target: falling) { $0 * 10 }
        #expect(largest.direction == .largest && largest.answer == 50)
        let nowhere = Bisection.search(lower: 0, upper: 10, resolution: 1, target: rising) { _ in 0.5 }
        #expect(nowhere.direction == .metNowhere && nowhere.answer == nil && nowhere.tried.count == 2)
        #expect(throws: SweepError.self) { try SweepTarget.parse("hitRatio=0.95") }
    }
}

@Suite("Constrained search")
struct ConstrainedSearchTests {
    typealias F = ConstrainedSearch.PointFigures
    let search = ConstrainedSearch(objective: "metrics.cost.total", constraints: [
        SweepTarget(metric: "metrics.experience.startTimeMs.p99", comparison: .atMost, value: 2_000),
        SweepTarget(metric: "metrics.delivery.hitRatio", comparison: .atLeast, value: 0.95),
    ])

    @Test("The answer is the least objective among the points meeting every constraint; a constraint binds when dropping it alone finds a cheaper point")
    func cheapestFeasible() {
        let points = [
            F(point: 0, objective: 10, constraints: [2_500, 0.97]),  // cheapest: too slow
            F(point: 1, objective: 12, constraints: [1_900, 0.94]),  // too few hits
            F(point: 2, objective: 15, constraints: [1_500, 0.96]),  // the answer
            F(point: 3, objective: 20, constraints: [900, 0.99]),
        ]
        let answer = search.answer(points)
        #expect(answer.point == 2 && answer.objective == 15)
        #expect(answer.binding == [0, 1])
        #expect(answer.missedBy == [1, 1])
    }

    @Test("A constraint that only more expensive points miss does not bind; ties go to the point listed first")
    func slackAndTies() {
        let points = [
            F(point: 0, objective: 20, constraints: [2_500, 0.99]),
            F(point: 1, objective: 10, constraints: [1_000, 0.97]),
            F(point: 2, objective: 10, constraints: [900, 0.98]),
        ]
        let answer = search.answer(points)
        #expect(answer.point == 1)
        #expect(answer.binding.isEmpty)
    }

    @Test("With no point meeting every constraint there is no answer, and each constraint's misses are counted; a point without figures is left out")
    func infeasible() {
        let points = [
            F(point: 0, objective: 10, constraints: [2_500, 0.97]),
            F(point: 1, objective: 12, constraints: [2_100, 0.90]),
            F(point: 2, objective: nil, constraints: [1_000, 0.99]),
        ]
        let answer = search.answer(points)
        #expect(answer.point == nil && answer.objective == nil)
        #expect(answer.missedBy == [2, 1])
        #expect(answer.withoutData == [2])
    }
}
