import Foundation
import Testing
@testable import Reports

/// A minimal report with the fields comparisons read.
private func report(hash: String = "abc", schema: Int64 = 1, startP99: Double = 400, hitRatio: Double = 0.95,
                    lost: Int64 = 0) -> JSONValue {
    .object([
        ("schemaVersion", .integer(schema)),
        ("scenario", .object([("name", .string("t")), ("hash", .string(hash))])),
        ("metrics", .object([
            ("experience", .object([("startTimeMs", .object([("p99", .number(startP99))]))])),
            ("delivery", .object([("hitRatio", .number(hitRatio))])),
            ("availability", .object([("all", .object([("sessionsLost", .integer(lost))]))])),
        ])),
    ])
}

private let rules = [
    MetricRule("metrics.experience.startTimeMs.p99", .lower, .relative(0.10)),
    MetricRule("metrics.delivery.hitRatio", .higher, .absolute(0.005)),
    MetricRule("metrics.availability.all.sessionsLost", .lower, .absolute(0)),
]

private func verdicts(_ current: JSONValue, _ baseline: JSONValue) throws -> [ComparisonRow.Verdict] {
    try ReportComparison.compare(current: current, baseline: baseline, rules: rules).map(\.verdict)
}

@Suite("Report comparison")
struct CompareTests {
    @Test("Improvements in either direction pass as better")
    func improvementsPass() throws {
        let rows = try ReportComparison.compare(current: report(startP99: 300, hitRatio: 0.99), baseline: report(), rules: rules)
        #expect(rows.map(\.verdict) == [.better, .better, .same])
        #expect(!ReportComparison.regressed(rows))
        #expect(rows[0].change == -100)
    }

    @Test("A change beyond tolerance in the worse direction is a regression")
    func regressionsFail() throws {
        // Start time up 20% against 10% allowed; hit ratio down 0.02 against 0.005; one session lost against 0.
        let rows = try ReportComparison.compare(current: report(startP99: 480, hitRatio: 0.93, lost: 1), baseline: report(), rules: rules)
        #expect(rows.map(\.verdict) == [.regressed, .regressed, .regressed])
        #expect(ReportComparison.regressed(rows))
    }

    @Test("Worse within the tolerance passes, at the boundary too, and just beyond it fails")
    func tolerancesRespected() throws {
        #expect(try verdicts(report(startP99: 440), report()) [0] == .worseWithinTolerance)  // exactly +10%
        #expect(try verdicts(report(startP99: 440.1), report())[0] == .regressed)
        #expect(try verdicts(report(hitRatio: 0.945), report())[1] == .worseWithinTolerance)  // exactly −0.005
        #expect(try verdicts(report(hitRatio: 0.9449), report())[1] == .regressed)
        // A relative tolerance of a zero baseline allows nothing worse.
        #expect(try verdicts(report(startP99: 0.001), report(startP99: 0))[0] == .regressed)
    }

    @Test("Reports of different scenarios or schemas are refused, saying why")
    func incomparableRefused() {
        #expect {
            _ = try ReportComparison.compare(current: report(hash: "aaaa"), baseline: report(hash: "bbbb"), rules: rules)
        } throws: { error in
            (error as? IncomparableReports)?.description.contains("different scenarios") == true
        }
        #expect {
            _ = try ReportComparison.compare(current: report(schema: 2), baseline: report(schema: 1), rules: rules)
        } throws: { error in
            (error as? IncomparableReports)?.description == "report schemas differ (2 vs 1)"
        }
        #expect(throws: IncomparableReports.self) {
            _ = try ReportComparison.compare(current: .object([("x", .integer(1))]), baseline: report(), rules: rules)
        }
    }

    @Test("A metric missing from one report is reported as missing, not as a regression")
    func missingMetric() throws {
        let extra = rules + [MetricRule("metrics.nowhere", .lower, .absolute(1))]
        let rows = try ReportComparison.compare(current: report(), baseline: report(), rules: extra)
        #expect(rows.last?.verdict == .missing)
        #expect(!ReportComparison.regressed(rows))
        #expect(ReportComparison.table(rows).plain.contains("metrics.nowhere"))
    }

    @Test("The comparison as JSON carries each row and the overall verdict")
    func comparisonJSON() throws {
        let rows = try ReportComparison.compare(current: report(startP99: 480), baseline: report(), rules: rules)
        let json = try JSONValue.parse(ReportComparison.json(rows).serialized())
        #expect(json["regressed"] == .bool(true))
        #expect(json.at(["metrics", "0", "verdict"]) == .string("REGRESSED"))
        #expect(json.at(["metrics", "0", "tolerance"]) == .string("10%"))
        #expect(json.at(["metrics", "1", "tolerance"]) == .string("±0.005"))
        #expect(json.at(["metrics", "0", "current"])?.double == 480)
    }

    @Test("Every default rule points at a metric the report has a place for, once")
    func defaultRulesDistinct() {
        let paths = MetricRule.defaults.map(\.path)
        #expect(Set(paths).count == paths.count)
        #expect(paths.allSatisfy { $0.hasPrefix("metrics.") })
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test("Parsing what the writer wrote gives back the same value, keys in order")
    func roundTrip() throws {
        let v: JSONValue = .object([
            ("z", .integer(-12)), ("a", .string("q\"uote\\\n\u{1}é😀")), ("m", .array([.number(0.5), .bool(true), .null, .bool(false)])),
            ("nested", .object([("k", .array([.object([("x", .number(1.25e-7))])]))])), ("empty", .object([])), ("list", .array([])),
        ])
        let parsed = try JSONValue.parse(v.serialized())
        #expect(parsed.serialized() == v.serialized())
        #expect(try JSONValue.parse(v.serialized(pretty: false)).serialized(pretty: false) == v.serialized(pretty: false))
        #expect(parsed.at(["nested", "k", "0", "x"])?.double == 1.25e-7)
        #expect(parsed.at(["m", "7"]) == nil)
        #expect(parsed.at(["z"])?.double == -12)
    }

    @Test("Escapes and surrogate pairs decode")
    func escapes() throws {
        #expect(try JSONValue.parse(#""\u00e9\ud83d\ude00\/\t""#) == .string("é😀/\t"))
        #expect(try JSONValue.parse("9223372036854775807") == .integer(Int64.max))
        #expect(try JSONValue.parse("1e400").double == .infinity || (try? JSONValue.parse("1e400")) == nil)
    }

    @Test("Malformed documents are refused with the byte offset")
    func malformed() {
        for (text, offset) in [("{\"a\": }", 6), ("[1, 2", 5), ("{\"a\" 1}", 5), ("tru", 3), ("{} x", 3), ("\"abc", 4)] {
            #expect {
                _ = try JSONValue.parse(text)
            } throws: { error in
                (error as? JSONParseError)?.offset == offset
            }
        }
    }
}

@Suite("SVG charts")
struct ChartTests {
    @Test("Axis scales end on a round number a little above the maximum")
    func niceScale() {
        #expect(LineChart.niceScale(0.93) == (1, 0.2))
        #expect(LineChart.niceScale(7) == (8, 2))
        #expect(LineChart.niceScale(1_353) == (1_500, 500))
        #expect(LineChart.niceScale(10_000_000) == (10_000_000, 2_000_000))
        #expect(LineChart.niceScale(0) == (1, 0.25))
    }

    @Test("A chart is deterministic, well-formed XML, with its labels, legend and shaded windows")
    func chartContent() throws {
        let chart = LineChart(title: "Egress <PoP & origin>", unit: "Gbit/s", labels: ["20:00", "20:15", "20:30", "20:45"],
                              series: [.init("us-east", [1, 2, .nan, 4]), .init("origin", [0.5, 0.5, 0.5, 0.5])],
                              shades: [.init(from: 1, to: 2, label: "PoP down")])
        let svg = chart.svg
        #expect(svg == chart.svg)
        #expect(svg.contains("Egress &lt;PoP &amp; origin&gt;"))
        #expect(svg.contains(">Gbit/s</text>"))
        #expect(svg.contains(">20:15</text>"))
        #expect(svg.contains(">us-east</text>") && svg.contains(">origin</text>"))
        #expect(svg.contains("class=\"shade\"") && svg.contains(">PoP down</text>"))
        // The gap (NaN) splits us-east in two polylines; origin is one.
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 3)
        // Well-formedness is checked by xmllint on whole report pages (CLITests.runOutputs).
    }

    /// The tick labels of a chart's y axis, bottom to top.
    func ticks(_ svg: String) -> [String] {
        svg.components(separatedBy: "class=\"tick\" text-anchor=\"end\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    @Test("Y-axis ticks carry the decimals their step needs: a small rebuffer ratio reads 0.002, 0.004, not 0.00")
    func tickPrecision() {
        let small = LineChart(title: "Rebuffer ratio", unit: "%", labels: ["a", "b"], series: [.init("r", [0.001, 0.0093])])
        #expect(ticks(small.svg) == ["0.000", "0.002", "0.004", "0.006", "0.008", "0.010"])
        let large = LineChart(title: "Sessions", unit: "sessions", labels: ["a", "b"], series: [.init("s", [0, 1_353])])
        #expect(ticks(large.svg) == ["0", "500", "1000", "1500"])
        #expect(LineChart.decimals(0.25) == 2 && LineChart.decimals(0.5) == 1 && LineChart.decimals(2) == 0)
    }

    @Test("A numeric x axis places points by value and labels the ticks it is given; bounds draw dashed in their line's colour")
    func numericAxisAndDashedBounds() {
        let chart = LineChart(title: "By percentile", unit: "ms", labels: [],
                              series: [.init("all", [100, 200, 400]), .init("low", [90, 180, 350], dashed: true, colourOf: 0)],
                              x: .init(positions: [0, 1, 4], ticks: [(0, "p0"), (1, "p90"), (4, "max")]))
        let svg = chart.svg
        #expect(svg.contains(">max</text>") && svg.contains(">p90</text>"))
        // Positions 0, 1, 4 of 0...4 over the plot's 674 px from x = 70: 70, 238.5, 744.
        #expect(svg.contains("points=\"70.0,"))
        #expect(svg.contains(" 238.5,"))
        #expect(svg.contains(" 744.0,"))
        #expect(svg.contains("stroke-dasharray=\"5 3\""))
        #expect(svg.components(separatedBy: "stroke=\"#1f77b4\"").count - 1 == 3)  // the line, the bound, the bound's legend
    }
}

@Suite("What-if comparison")
struct WhatIfTests {
    func run(storage: String, seed: Int64, p99: Double?, hits: Double, egress: [Double], schema: Int64 = 2) -> JSONValue {
        .object([
            ("schemaVersion", .integer(schema)),
            ("metrics", .object([
                ("experience", .object([("startTimeMs", .object([("p99", p99.map { .number($0) } ?? .null)]))])),
                ("delivery", .object([("hitRatio", .number(hits))])),
                ("pops", .array([.object([("id", .string("edge")), ("waited", .integer(Int64(hits * 100)))])])),
            ])),
            ("timeseries", .object([
                ("bucket", .string("5 min")),
                ("bucketStarts", .array([.string("2026-11-21T01:00:00Z"), .string("2026-11-21T01:05:00Z")])),
                ("originEgressGbps", .array(egress.map { .number($0) })),
            ])),
            ("resolvedScenario", .object([
                ("seed", .integer(seed)),
                ("pops", .array([.object([("id", .string("edge")), ("storage", .string(storage))])])),
                ("origin", .object([("regions", .array([.string("us-east")]))])),
            ])),
        ])
    }

    @Test("The scenarios' differences are listed key by key, records by id, values as written; equal keys are not")
    func differences() throws {
        let w = try WhatIfComparison(a: run(storage: "2 TB", seed: 7, p99: 400, hits: 0.9, egress: [1, 2]),
                                     b: run(storage: "4 TB", seed: 8, p99: 300, hits: 0.96, egress: [1, 1.5]), labelA: "small", labelB: "large")
        #expect(w.differences == [WhatIfComparison.Difference(key: "seed", a: "7", b: "8"),
                                  WhatIfComparison.Difference(key: "pops[edge].storage", a: "2 TB", b: "4 TB")])
    }

    @Test("Every figure is set side by side with its change; missing data stays missing")
    func figures() throws {
        let w = try WhatIfComparison(a: run(storage: "2 TB", seed: 7, p99: nil, hits: 0.9, egress: [1, 2]),
                                     b: run(storage: "4 TB", seed: 7, p99: 300, hits: 0.96, egress: [1, 1.5]), labelA: "A", labelB: "B")
        let byPath = Dictionary(uniqueKeysWithValues: w.figures.map { ($0.path, $0) })
        let p99 = try #require(byPath["metrics.experience.startTimeMs.p99"])
        #expect(p99.a == nil && p99.b == 300 && p99.change == nil)
        let hits = try #require(byPath["metrics.delivery.hitRatio"])
        #expect(abs(hits.change! - 0.06) < 1e-12 && abs(hits.relative! - 0.06 / 0.9) < 1e-12)
        #expect(byPath["metrics.pops[edge].waited"]?.b == 96)
        #expect(w.text.contains("pops[edge].storage") && w.text.contains("+0.06"))
        let html = w.html
        #expect(html.contains("<svg") && html.contains("originEgressGbps") && html.contains("pops[edge].storage"))
        #expect(html.contains("stroke-dasharray"))  // B dashed over A
    }

    @Test("Reports of different schema versions cannot be set side by side")
    func schemas() {
        #expect(throws: IncomparableReports.self) {
            try WhatIfComparison(a: run(storage: "2 TB", seed: 7, p99: 1, hits: 0.9, egress: [1]),
                                 b: run(storage: "2 TB", seed: 7, p99: 1, hits: 0.9, egress: [1], schema: 3), labelA: "A", labelB: "B")
        }
    }
}

@Suite("Report comparison, control plane")
struct ControlPlaneCompareTests {
    /// A report with one request class and one cache.
    func report(p99: Double, timeouts: Double) -> JSONValue {
        let figures: JSONValue = .object([("latencyMs", .object([("p50", .number(50)), ("p99", .number(p99))])), ("okPercent", .number(100 - timeouts)),
                                          ("errorPercent", .number(0)), ("timeoutPercent", .number(timeouts)), ("shedPercent", .number(0))])
        return .object([
            ("schemaVersion", .integer(1)),
            ("scenario", .object([("name", .string("t")), ("hash", .string("h"))])),
            ("metrics", .object([("controlPlane", .object([
                ("streamStartsPerSecond", .object([("mean", .number(2)), ("lowest", .number(1))])),
                ("classes", .array([figures])),
                ("caches", .array([.object([("hitRatio", .number(0.9))])])),
            ]))])),
        ])
    }

    @Test("With a control plane, comparisons also watch each class's latency and outcomes, stream starts and cache hit ratios")
    func watchesTheControlPlane() throws {
        let rows = try ReportComparison.compare(current: report(p99: 300, timeouts: 2), baseline: report(p99: 200, timeouts: 0), rules: [])
        #expect(rows.map(\.rule.path) == [
            "metrics.controlPlane.streamStartsPerSecond.mean", "metrics.controlPlane.streamStartsPerSecond.lowest",
            "metrics.controlPlane.classes.0.latencyMs.p50", "metrics.controlPlane.classes.0.latencyMs.p99",
            "metrics.controlPlane.classes.0.okPercent", "metrics.controlPlane.classes.0.errorPercent",
            "metrics.controlPlane.classes.0.timeoutPercent", "metrics.controlPlane.classes.0.shedPercent",
            "metrics.controlPlane.caches.0.hitRatio",
        ])
        #expect(rows.filter { $0.verdict == .regressed }.map(\.rule.path) == [
            "metrics.controlPlane.classes.0.latencyMs.p99", "metrics.controlPlane.classes.0.okPercent", "metrics.controlPlane.classes.0.timeoutPercent",
        ])
        let plain = try ReportComparison.compare(current: .object([("schemaVersion", .integer(1)), ("scenario", .object([("hash", .string("h"))]))]),
                                                 baseline: .object([("schemaVersion", .integer(1)), ("scenario", .object([("hash", .string("h"))]))]),
                                                 rules: [])
        #expect(plain.isEmpty, "no control plane, no extra rows")
    }
}
