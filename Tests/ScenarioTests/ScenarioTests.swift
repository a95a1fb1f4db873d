import Foundation
import Reports
import Testing
import World
@testable import Scenario

/// The repository's root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite("Quantities")
struct QuantityTests {
    @Test("Units convert to base units exactly", arguments: [
        ("4 s", QuantityKind.duration, 4.0), ("30 min", .duration, 1_800), ("-5 h", .duration, -18_000), ("250ms", .duration, 0.25),
        ("5.5 h", .duration, 19_800), ("2 d", .duration, 172_800), ("100 us", .duration, 0.0001),
        ("280 TB", .dataSize, 2.8e14), ("1 GiB", .dataSize, 1_073_741_824), ("10 GB", .dataSize, 1e10),
        ("400 Gbps", .dataRate, 4e11), ("235 kbps", .dataRate, 235_000), ("1 GB/s", .dataRate, 8e9),
        ("1.2M", .count, 1_200_000), ("20k", .count, 20_000), ("200M", .count, 2e8), ("1.5B", .count, 1.5e9), ("42", .count, 42),
        ("20k/s", .eventRate, 20_000), ("120/min", .eventRate, 2), ("5%", .fraction, 0.05), ("0.25", .fraction, 0.25),
        ("0.8", .number, 0.8), ("1e3", .number, 1_000),
    ])
    func parse(text: String, kind: QuantityKind, expected: Double) throws {
        #expect(try Quantity.parse(text, as: kind) == expected)
    }

    @Test("Canonical text uses the largest exact unit and parses back to the same value", arguments: [
        (1_800.0, QuantityKind.duration, "30 min"), (5_400, .duration, "90 min"), (1.5, .duration, "1500 ms"), (-18_000, .duration, "-5 h"),
        (2.8e14, .dataSize, "280 TB"), (1_073_741_824, .dataSize, "1 GiB"), (4e11, .dataRate, "400 Gbps"), (235_000, .dataRate, "235 kbps"),
        (1_200_000, .count, "1.2M"), (1_234_567, .count, "1234567"), (250_000, .count, "250k"), (1.25, .duration, "1250 ms"), (2.5e11, .dataRate, "250 Gbps"), (0.05, .fraction, "5%"), (20_000, .eventRate, "20k/s"), (0, .duration, "0 s"),
    ])
    func canonical(value: Double, kind: QuantityKind, text: String) throws {
        #expect(Quantity.format(value, as: kind) == text)
        #expect(try Quantity.parse(text, as: kind) == value)
    }

    @Test("Decimals are formatted without exponents or trailing zeros")
    func decimals() {
        #expect(Quantity.formatDecimal(0.8) == "0.8")
        #expect(Quantity.formatDecimal(1_500) == "1500")
        #expect(Quantity.formatDecimal(0.00001) == "0.00001")
        #expect(Quantity.formatDecimal(-2.25) == "-2.25")
    }

    @Test("UTC date-times convert to Unix seconds and back", arguments: [
        ("2026-11-21T00:00:00Z", Int64(1_795_219_200)), ("2024-02-29T23:59:59Z", 1_709_251_199),
        ("1970-01-01T00:00:00Z", 0), ("1969-12-31T23:59:59Z", -1), ("2100-03-01T12:00:00Z", 4_107_585_600),
    ])
    func dateTimes(text: String, seconds: Int64) {
        #expect(DateTimeText.parse(text) == seconds)
        #expect(DateTimeText.format(seconds) == text)
    }

    @Test("Impossible dates and local times are refused")
    func badDates() {
        #expect(DateTimeText.parse("2025-02-29T00:00:00Z") == nil)
        #expect(DateTimeText.parse("2026-11-21T24:00:00Z") == nil)
        #expect(DateTimeText.parse("2026-11-21 00:00:00") == nil)
        #expect(DateTimeText.parseTimeOfDay("14:00") == 50_400)
        #expect(DateTimeText.parseTimeOfDay("24:30") == nil)
    }

    @Test("Key paths parse indices and ids")
    func keyPaths() {
        #expect(KeyPath.parse("pops[nyc-1].egress")?.components == [.key("pops"), .id("nyc-1"), .key("egress")])
        #expect(KeyPath.parse("regions[0].users")?.description == "regions[0].users")
        #expect(KeyPath.parse("a..b") == nil)
        #expect(KeyPath.parse("a[") == nil)
    }
}

@Suite("Scenario files")
struct ScenarioFileTests {
    @Test("Every default in the schema is itself valid scenario text")
    func defaultsParse() throws {
        // A minimal scenario resolves every default; an invalid default would be reported as internal.
        let resolved = try ScenarioLoader.parse(text: minimal, file: "s.yaml")
        #expect(resolved.root["catalog"]["ladder"].list.count == 6)
        #expect(resolved.root["origin"]["regions"].list.map(\.text) == ["us-east"])
    }

    @Test("The resolved scenario is a valid scenario that resolves to itself")
    func resolvedRoundTrip() throws {
        let smoke = try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("Scenarios/smoke.yaml").path)
        let again = try ScenarioLoader.parse(text: smoke.yaml, file: "resolved.yaml")
        #expect(again.hash == smoke.hash)
        #expect(again.yaml == smoke.yaml)
        // The JSON form in reports is a scenario too.
        let fromJSON = try ScenarioLoader.parse(text: smoke.root.json.serialized(), file: "resolved.json")
        #expect(fromJSON.hash == smoke.hash)
    }

    @Test("Every shipped scenario validates", arguments: ["smoke.yaml", "global-day.yaml", "fill-window.yaml"])
    func shippedScenarios(name: String) throws {
        let s = try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("Scenarios/\(name)").path)
        #expect(!s.name.isEmpty)
    }

    @Test("The annotated example in docs/scenarios.md is a valid scenario")
    func documentedExample() throws {
        let doc = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/scenarios.md"), encoding: .utf8)
        let section = try #require(doc.range(of: "## A complete annotated example"))
        let open = try #require(doc.range(of: "```yaml\n", range: section.upperBound..<doc.endIndex))
        let close = try #require(doc.range(of: "```", range: open.upperBound..<doc.endIndex))
        let example = try ScenarioLoader.parse(text: String(doc[open.upperBound..<close.lowerBound]), file: "docs/scenarios.md")
        #expect(example.name == "example")
        #expect(example.root["pops"].list.count == 3)
    }

    @Test("compare resolves the other run: the same scenario with its overrides")
    func comparison() throws {
        let s = try ScenarioLoader.parse(text: minimal + "compare:\n  label: pull\n  set: [placement.plans=off, placement.onMiss=immediate]\n",
                                         file: "s.yaml")
        #expect(s.comparison != nil)
        let other = try #require(s.comparison?.scenario)
        #expect(other.root["placement"]["plans"].text == "off" && other.root["placement"]["onMiss"].text == "immediate")
        #expect(s.root["placement"]["plans"].text == "daily")
        #expect(other.hash != s.hash)
        // Command-line overrides apply to both runs.
        let both = try ScenarioLoader.parse(text: minimal + "compare:\n  label: pull\n  set: [placement.plans=off]\n", file: "s.yaml",
                                            overrides: ["seed=9"])
        #expect(both.seed == 9 && both.comparison?.scenario.seed == 9)
    }

    @Test("Overrides change the resolved value and the hash")
    func overrides() throws {
        let base = try ScenarioLoader.parse(text: minimal, file: "s.yaml")
        let changed = try ScenarioLoader.parse(text: minimal, file: "s.yaml", overrides: [
            "regions[us-east].users=2M", "catalog.popularity={zipf: 1.1}", "seed=9", "metrics.bucket=5 min",
        ])
        #expect(changed.root["regions"].list[0]["users"].value == 2_000_000)
        #expect(changed.seed == 9)
        if case let .zipf(s) = changed.root["catalog"]["popularity"] { #expect(s == 1.1) } else { Issue.record("zipf expected") }
        #expect(changed.root["metrics"]["bucket"].value == 300)
        #expect(changed.hash != base.hash)
    }

    /// Every section is simulated now; the mechanism stays for keys that come before their model.
    @Test("Keys that are accepted but not simulated are listed (none today)")
    func notModelled() throws {
        let s = try ScenarioLoader.parse(text: minimal + "clients:\n  abr: bba\nactivity:\n  partitions: 8\nfaults: []\n", file: "s.yaml")
        #expect(s.notModelled == [])
        #expect(ResolvedScenario.unmodelledSections == [])
    }

    /// docs/scenarios.md carries the key reference generated from the schema. Set VODSIM_RECORD=1
    /// to rewrite it after changing the schema.
    @Test("The key reference in docs/scenarios.md matches the schema")
    func referenceInSync() throws {
        let url = repositoryRoot.appendingPathComponent("docs/scenarios.md")
        let doc = try String(contentsOf: url, encoding: .utf8)
        guard let begin = doc.range(of: ScenarioReference.beginMarker), let end = doc.range(of: ScenarioReference.endMarker) else {
            Issue.record("docs/scenarios.md lacks the reference markers")
            return
        }
        let current = String(doc[begin.upperBound..<end.lowerBound])
        let generated = "\n\n" + ScenarioReference.markdown
        if ProcessInfo.processInfo.environment["VODSIM_RECORD"] == "1" {
            try (String(doc[..<begin.upperBound]) + generated + String(doc[end.lowerBound...])).write(to: url, atomically: true, encoding: .utf8)
            return
        }
        #expect(current == generated, "docs/scenarios.md is out of date: run VODSIM_RECORD=1 scripts/test.sh --filter referenceInSync")
    }
}

@Suite("Run reports")
struct RunReportTests {
    func report(_ overrides: [String] = []) throws -> String {
        let s = try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("Scenarios/smoke.yaml").path, overrides: overrides)
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: world.end)
        return RunReport(scenario: s, results: world.results()).json.serialized()
    }

    @Test("The same scenario and seed give a byte-identical report.json; another seed a different one")
    func byteIdentical() throws {
        let a = try report(), b = try report()
        #expect(a == b)
        #expect(try report(["seed=43"]) != a)
    }

    @Test("report.json carries the schema version, version, seed, hash, resolved scenario and metrics, in a stable order")
    func reportShape() throws {
        let text = try report()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(json["schemaVersion"] as? Int == 2)
        #expect(json["vodsim"] as? String == VodsimVersion.string)
        #expect(json["seed"] as? Int == 42)
        #expect((json["scenario"] as? [String: Any])?["hash"] as? String != nil)
        #expect(json["resolvedScenario"] != nil)
        let keys = ["schemaVersion", "vodsim", "scenario", "seed", "sampling", "start", "end", "simulatedEvents",
                    "notModelledYet", "metrics", "timeseries", "resolvedScenario"]
        var position = text.startIndex
        for key in keys {
            let found = try #require(text.range(of: "\n  \"\(key)\":", range: position..<text.endIndex), "key \(key) out of order")
            position = found.upperBound
        }
        let metrics = try #require(json["metrics"] as? [String: Any])
        #expect(Set(metrics.keys) == ["sessions", "concurrency", "experience", "delivery", "regions", "pops", "origins", "releases", "topTitles", "activity", "availability", "incidents"])
        #expect((metrics["pops"] as? [Any])?.count == 3)
        let concurrency = try #require(metrics["concurrency"] as? [String: Any])
        #expect((concurrency["expectedDailyPeak"] as? Double ?? Double(concurrency["expectedDailyPeak"] as? Int ?? 0)) == 1_000)
    }

    /// Scenarios/fill-window.yaml at a tenth of its users: the release on the second evening is on
    /// every PoP when it comes out and is served from them; the comparison run (pull-through, no
    /// plans) holds it nowhere at that moment, and its origin carries more at the viewing peak.
    @Test("fill-window: the announced release is pre-positioned everywhere, unlike with fill on miss")
    func fillWindow() throws {
        let s = try ScenarioLoader.load(path: repositoryRoot.appendingPathComponent("Scenarios/fill-window.yaml").path,
                                        overrides: ["regions[us-east].users=1k", "regions[eu-west].users=1k"])
        let planned = World(configuration: s.worldConfiguration)
        try planned.run(until: planned.end)
        let other = World(configuration: try #require(s.comparison).scenario.worldConfiguration)
        try other.run(until: other.end)
        let report = RunReport(scenario: s, results: planned.results(),
                               comparison: .init(label: "fill-on-miss", overrides: [], results: other.results()))
        let release = try #require(planned.results().releases.first { $0.time.microseconds == 49 * 3_600_000_000 })
        #expect(release.sitesHolding == 3)
        #expect(Double(release.hits) / Double(release.requests) > 0.99)
        let pulled = try #require(other.results().releases.first { $0.time.microseconds == 49 * 3_600_000_000 })
        #expect(pulled.sitesHolding == 0)
        let json = report.json
        guard case let .object(sections) = json, let comparison = sections.first(where: { $0.0 == "comparison" })?.1 else {
            Issue.record("no comparison section")
            return
        }
        #expect(comparison["label"].map { $0 == .string("fill-on-miss") } ?? false)
        // Nightly plans move fill traffic off the viewing peak.
        let mine = report.originAtViewingPeak
        let theirs = RunReport(scenario: s, results: other.results()).originAtViewingPeak
        #expect(mine < theirs, "origin at the viewing peak: \(mine) vs \(theirs) Gbps")
        #expect(planned.results().pops.allSatisfy { $0.metrics.nights.allSatisfy(\.completed) })
    }
}
