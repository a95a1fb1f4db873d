import Foundation
import Reports
import Testing

/// `value` with the member at `path` replaced.
func replacing(_ value: JSONValue, _ path: ArraySlice<String>, with new: JSONValue) -> JSONValue {
    guard let key = path.first else { return new }
    switch value {
    case let .object(members):
        return .object(members.map { $0.0 == key ? ($0.0, replacing($0.1, path.dropFirst(), with: new)) : $0 })
    case var .array(items):
        if let i = Int(key), items.indices.contains(i) { items[i] = replacing(items[i], path.dropFirst(), with: new) }
        return .array(items)
    default:
        return value
    }
}

func readJSON(_ url: URL) throws -> JSONValue {
    try JSONValue.parse(String(contentsOf: url, encoding: .utf8))
}

let reportSchema: SchemaValidator = {
    let url = repositoryRoot.appendingPathComponent("docs/report.schema.json")
    return SchemaValidator(root: try! readJSON(url))
}()

@Suite("Report outputs and compare", .serialized)
struct ReportCommandTests {
    @Test("A run writes report.json valid against docs/report.schema.json, timeseries.csv and a self-contained report.html")
    func runOutputs() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "Scenarios/faults/pop-outage.yaml", "--out", "out", "--quiet"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.appendingPathComponent("out")
        let report = try readJSON(out.appendingPathComponent("report.json"))
        #expect(reportSchema.validate(report) == [])

        // timeseries.csv: a row per bucket, a column per series, the same values as report.json.
        let csv = try String(contentsOf: out.appendingPathComponent("timeseries.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard case let .array(buckets)? = report.at(["timeseries", "bucketStarts"]) else { Issue.record("no bucketStarts"); return }
        #expect(lines.count == buckets.count + 1)
        #expect(lines.allSatisfy { $0.count == lines[0].count })
        #expect(Array(lines[0].prefix(5)) == ["bucketStarts", "concurrency.all", "concurrency.us-east", "sessionStarts", "startTimeMs.p50"])
        let column = try #require(lines[0].firstIndex(of: "popEgressGbps.nyc-1"))
        for (row, line) in lines.dropFirst().enumerated() {
            #expect(Double(line[column]) == report.at(["timeseries", "popEgressGbps", "nyc-1", String(row)])?.double)
        }

        // report.html: one file, no scripts, nothing fetched; the charts and the fault window are there.
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href=") && !html.contains("@import"))
        // Ten charts over time and the platform's topology, each PoP's egress against its
        // capacity, the PoPs' utilisation, the origin per replica.
        #expect(html.components(separatedBy: "<svg ").count - 1 == 14)
        for title in ["Concurrent sessions", "Video start time", "Hit ratio per PoP", "Egress", "Fill queue", "Activity backlog", "The platform",
                      "PoP egress and capacity", "PoP utilisation", "Origin egress per replica and capacity"] {
            #expect(html.contains(">\(title)"), "chart \(title)")
        }
        #expect(html.contains(">popDown</text>"))
        #expect(html.contains("Against the targets"))
        #expect(try wellFormedXML(html.replacingOccurrences(of: "<!doctype html>", with: "")
            .replacingOccurrences(of: "<meta charset=\"utf-8\">", with: "<meta charset=\"utf-8\"/>")))
    }

    @Test("--threads 1 and --threads 2 write byte-identical report folders (a scenario with a comparison run)")
    func threadsIdentical() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in ["1", "2"] {
            let r = try CLI.run(["run", "Scenarios/faults/release-surge.yaml", "--set", "duration=40 min", "--out", "t\(n)", "--quiet",
                                 "--threads", n], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let one = dir.appendingPathComponent("t1"), two = dir.appendingPathComponent("t2")
        let files = try #require(FileManager.default.subpaths(atPath: one.path)).sorted()
        #expect(files == (FileManager.default.subpaths(atPath: two.path) ?? []).sorted())
        #expect(files.contains("report.json") && files.contains("report.html"))
        for file in files where !file.hasSuffix("/") {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: one.appendingPathComponent(file).path, isDirectory: &isDirectory),
                  !isDirectory.boolValue else { continue }
            #expect(try Data(contentsOf: one.appendingPathComponent(file)) == Data(contentsOf: two.appendingPathComponent(file)), "\(file)")
        }
        let report = try readJSON(one.appendingPathComponent("report.json"))
        #expect(report["comparison"] != nil)
    }

    @Test("A partitioned run (peak-10m's PoP trees) writes byte-identical report folders with 1 and 2 threads, at either fidelity",
          arguments: ["segment", "hybrid"])
    func partitionedThreadsIdentical(fidelity: String) throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in ["1", "2"] {
            let r = try CLI.run(["run", "Scenarios/peak-10m.yaml", "--set", "sampling=20000", "--set", "duration=5 min",
                                 "--set", "catalog.titles=500", "--set", "execution.fidelity=\(fidelity)",
                                 "--out", "p\(n)", "--quiet", "--threads", n], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let one = dir.appendingPathComponent("p1"), two = dir.appendingPathComponent("p2")
        for file in ["report.json", "timeseries.csv", "summary.md", "report.html"] {
            #expect(try Data(contentsOf: one.appendingPathComponent(file)) == Data(contentsOf: two.appendingPathComponent(file)), "\(file)")
        }
        let report = try readJSON(one.appendingPathComponent("report.json"))
        #expect(report["resolvedScenario"]?["execution"]?["partitions"] == .string("popTrees"))
        #expect(report["fidelity"]?["model"] == .string(fidelity))
        // Its PoP requests are not in one time order: asking for them is an error, not a shuffled file.
        let refused = try CLI.run(["run", "Scenarios/peak-10m.yaml", "--set", "sampling=20000", "--set", "duration=1 min",
                                   "--set", "execution.fidelity=\(fidelity)", "--export-requests", "requests.csv", "--quiet"], in: dir)
        #expect(refused.status == 64)
        #expect(refused.stderr.contains(fidelity == "hybrid" ? "execution.fidelity: segment" : "execution.partitions: one"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("requests.csv").path))
    }

    @Test("check-fidelity prints the contract's metrics and exits 0 within it, 1 beyond it")
    func checkFidelity() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = ["--set", "duration=20 min", "--set", "regions[us-east].users=3k", "--set", "regions[eu-west].users=3k"]
        let within = try CLI.run(["check-fidelity"] + small, in: dir)
        #expect(within.status == 0, "\(within.stderr)")
        #expect(within.stdout.contains("metrics.experience.startTimeMs.p99") && within.stdout.contains("within the fidelity contract"))
        // A horizon beyond an hour is out of range: a clear error with the key, before anything runs.
        let bad = try CLI.run(["check-fidelity", "--set", "execution.hybrid.horizon=2 h"], in: dir)
        #expect(bad.status == 1 && bad.stderr.contains("execution.hybrid.horizon"), "\(bad.stderr)")
    }

    @Test("check-fidelity --replications runs a pair per seed, the first the scenario's, and its exit status follows the verdict")
    func checkFidelityReplications() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = ["--set", "duration=15 min", "--set", "regions[us-east].users=2k", "--set", "regions[eu-west].users=2k"]
        let result = try CLI.run(["check-fidelity", "--replications", "2", "--format", "json"] + small, in: dir)
        let json = try JSONValue.parse(result.stdout)
        func array(_ v: JSONValue?) -> [JSONValue] { if case let .array(a)? = v { return a } else { return [] } }
        let seeds = array(json["seeds"])
        #expect(seeds.count == 2 && seeds.first == .integer(42) && seeds.last != .integer(42), "\(seeds)")
        let verdict: String? = if case let .string(v)? = json["verdict"] { v } else { nil }
        #expect(result.status == ["within": 0, "beyond": 1, "unresolved": 3][verdict ?? ""], "\(verdict ?? "no verdict"): \(result.status)")
        let starts = array(json["metrics"]).first { $0["metric"] == .string("metrics.sessions.started") }
        #expect(array(starts?["segment"]).count == 2 && starts?["verdict"] == .string("within"))
        let second: String = if case let .integer(n)? = seeds.last { String(n) } else { "?" }
        #expect(result.stderr.contains("replication 2 of 2 (seed \(second))"), "\(result.stderr)")
        let none = try CLI.run(["check-fidelity", "--replications", "0"], in: dir)
        #expect(none.status == 64 && none.stderr.contains("--replications"), "\(none.stderr)")
    }

    @Test("Every baseline in Reports/baselines is valid against the schema")
    func baselinesValid() throws {
        let base = repositoryRoot.appendingPathComponent("Reports/baselines")
        let names = try FileManager.default.contentsOfDirectory(atPath: base.path).sorted()
        #expect(names.count >= 5)
        for name in names {
            let report = try readJSON(base.appendingPathComponent("\(name)/report.json"))
            #expect(reportSchema.validate(report) == [], "\(name)")
        }
    }

    @Test("The schema catches a missing key, a wrong type and an undocumented key")
    func schemaCatchesDrift() throws {
        let report = try readJSON(repositoryRoot.appendingPathComponent("Reports/baselines/smoke/report.json"))
        let wrongType = replacing(report, ["metrics", "delivery", "hitRatio"], with: .string("high"))
        #expect(reportSchema.validate(wrongType) == [#"$.metrics.delivery.hitRatio: expected one of "number", "null", got "high""#])
        guard case let .object(members) = report else { return }
        let missing = JSONValue.object(members.filter { $0.0 != "seed" })
        #expect(reportSchema.validate(missing) == ["$: missing required key 'seed'"])
        let extra = JSONValue.object(members + [("surprise", .integer(1))])
        #expect(reportSchema.validate(extra) == ["$: unexpected key 'surprise' (not in the schema)"])
        let badTime = replacing(report, ["start"], with: .string("yesterday"))
        #expect(reportSchema.validate(badTime).count == 1)
    }

    /// A sandbox holding the smoke baseline as `base.json` and a changed copy as `current.json`.
    func comparePair(_ changes: [([String], JSONValue)]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-compare-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let base = try readJSON(repositoryRoot.appendingPathComponent("Reports/baselines/smoke/report.json"))
        var current = base
        for (path, value) in changes { current = replacing(current, path[...], with: value) }
        try base.serialized().write(to: dir.appendingPathComponent("base.json"), atomically: true, encoding: .utf8)
        try current.serialized().write(to: dir.appendingPathComponent("current.json"), atomically: true, encoding: .utf8)
        return dir
    }

    @Test("compare exits 0 on an identical or better report, with the table")
    func compareNoRegression() throws {
        let dir = try comparePair([(["metrics", "experience", "startTimeMs", "p99"], .number(100))])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["compare", "current.json", "base.json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("metric "))
        #expect(r.stdout.contains("metrics.experience.startTimeMs.p99"))
        #expect(r.stdout.contains("better"))
        #expect(r.stdout.hasSuffix("no regression\n"))
        let same = try CLI.run(["compare", "base.json", "base.json", "--format", "markdown"], in: dir)
        #expect(same.status == 0)
        #expect(same.stdout.hasPrefix("| metric "))
        #expect(same.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("|") && $0.hasSuffix("|") })
    }

    @Test("compare exits 1 on a regression beyond tolerance and names it; a tolerances file can allow it")
    func compareRegression() throws {
        // Hit ratio down by 0.02 (default tolerance ±0.005).
        let base = try readJSON(repositoryRoot.appendingPathComponent("Reports/baselines/smoke/report.json"))
        let hit = try #require(base.at(["metrics", "delivery", "hitRatio"])?.double)
        let dir = try comparePair([(["metrics", "delivery", "hitRatio"], .number(hit - 0.02))])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["compare", "current.json", "base.json"], in: dir)
        #expect(r.status == 1)
        #expect(r.stdout.contains("REGRESSED"))
        #expect(r.stdout.hasSuffix("regressed: 1 metric(s) beyond tolerance\n"))
        let json = try CLI.run(["compare", "current.json", "base.json", "--format", "json"], in: dir)
        #expect(json.status == 1)
        let parsed = try JSONValue.parse(json.stdout)
        #expect(parsed["regressed"] == .bool(true))

        try "metrics.delivery.hitRatio: 0.03\n".write(to: dir.appendingPathComponent("loose.yaml"), atomically: true, encoding: .utf8)
        let loose = try CLI.run(["compare", "current.json", "base.json", "--tolerances", "loose.yaml"], in: dir)
        #expect(loose.status == 0, "\(loose.stdout)")
        #expect(loose.stdout.contains("worse (within tolerance)"))
    }

    @Test("compare exits 2 on reports of different scenarios, unreadable reports and bad tolerance files, saying why")
    func compareRefuses() throws {
        let dir = try comparePair([(["scenario", "hash"], .string(String(repeating: "0", count: 64)))])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["compare", "current.json", "base.json"], in: dir)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("error: cannot compare current.json with base.json: the reports are of different scenarios"))
        let missing = try CLI.run(["compare", "nope.json", "base.json"], in: dir)
        #expect(missing.status == 2)
        #expect(missing.stderr == "error: nope.json: no such file\n")
        try "{\"schemaVersion\": 1,".write(to: dir.appendingPathComponent("broken.json"), atomically: true, encoding: .utf8)
        let broken = try CLI.run(["compare", "broken.json", "base.json"], in: dir)
        #expect(broken.status == 2)
        #expect(broken.stderr.hasPrefix("error: broken.json: not JSON"))
        try "metrics.delivery.hitRatio: lots\nmetrics.new.thing: 5%\n".write(to: dir.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        let bad = try CLI.run(["compare", "base.json", "base.json", "--tolerances", "bad.yaml"], in: dir)
        #expect(bad.status == 2)
        #expect(bad.stderr == """
            error: bad.yaml:1:28: metrics.delivery.hitRatio: expected a tolerance such as 10% (relative) or 0.05 (absolute), got lots
            error: bad.yaml:2:20: metrics.new.thing: not a metric compared by default; give {better: lower|higher, tolerance: ...}

            """)
    }

    @Test("A scenario with prices writes the same report folder byte for byte in two processes (no hash order in the cost)")
    func costIsDeterministic() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        for out in ["a", "b"] {
            let r = try CLI.run(["run", "Scenarios/cost-sweep.yaml", "--set", "duration=15 min", "--set", "regions[us-east].users=2k",
                                 "--set", "cost.egress.popToUsers={perMbpsMonth: 2}", "--out", out, "--quiet"], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
        }
        for file in ["report.json", "report.html", "summary.md", "timeseries.csv"] {
            #expect(try Data(contentsOf: dir.appendingPathComponent("a/\(file)")) == Data(contentsOf: dir.appendingPathComponent("b/\(file)")), "\(file)")
        }
    }

    @Test("compare --what-if sets two configurations side by side, writes compare.html, and keeps the regression mode's refusal")
    func compareWhatIf() throws {
        let dir = try comparePair([(["scenario", "hash"], .string(String(repeating: "0", count: 64))),
                                   (["resolvedScenario", "seed"], .integer(99)),
                                   (["metrics", "delivery", "hitRatio"], .number(0.5))])
        defer { try? FileManager.default.removeItem(at: dir) }
        // The regression gate still refuses different scenarios ...
        #expect(try CLI.run(["compare", "current.json", "base.json"], in: dir).status == 2)
        // ... a what-if sets them side by side.
        let r = try CLI.run(["compare", "base.json", "current.json", "--what-if", "--out", "whatif"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("seed") && r.stdout.contains("metrics.delivery.hitRatio"))
        let html = try String(contentsOf: dir.appendingPathComponent("whatif/compare.html"), encoding: .utf8)
        #expect(html.contains("<svg") && html.contains("Scenario keys that differ") && !html.contains("<script"))
        let json = try readJSON(dir.appendingPathComponent("whatif/compare.json"))
        guard case let .array(differences)? = json["differences"] else { Issue.record("no differences"); return }
        #expect(differences.count == 1 && differences.first?["key"] == .string("seed"))
        // A folder of the user's is not replaced; options of the other mode are refused.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("mine"), withIntermediateDirectories: true)
        try "keep".write(to: dir.appendingPathComponent("mine/notes.txt"), atomically: true, encoding: .utf8)
        let mine = try CLI.run(["compare", "base.json", "current.json", "--what-if", "--out", "mine"], in: dir)
        #expect(mine.status == 2)
        #expect(try String(contentsOf: dir.appendingPathComponent("mine/notes.txt"), encoding: .utf8) == "keep")
        #expect(try CLI.run(["compare", "base.json", "current.json", "--what-if", "--update"], in: dir).status == 64)
        #expect(try CLI.run(["compare", "base.json", "current.json", "--out", "x"], in: dir).status == 64)
    }

    @Test("compare --update rewrites the baseline with the current report, and only with a report")
    func compareUpdate() throws {
        let dir = try comparePair([(["metrics", "delivery", "hitRatio"], .number(0.5))])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["compare", "current.json", "baselines/smoke", "--update"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        // A path that does not exist yet and is not a .json file is a new baseline folder.
        let written = dir.appendingPathComponent("baselines/smoke/report.json")
        #expect(try Data(contentsOf: written) == Data(contentsOf: dir.appendingPathComponent("current.json")))
        try "not json".write(to: dir.appendingPathComponent("junk.json"), atomically: true, encoding: .utf8)
        let junk = try CLI.run(["compare", "junk.json", "base.json", "--update"], in: dir)
        #expect(junk.status == 2)
        #expect(try readJSON(dir.appendingPathComponent("base.json")) != .null)  // untouched
    }
}
