import Foundation
import Testing

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs the built `vodsim` and captures what a user would see.
struct CLI {
    var status: Int32
    var stdout: String
    var stderr: String

    /// The binary next to the test bundle (the same build), else the repository's debug build.
    static var binary: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("vodsim")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return repositoryRoot.appendingPathComponent(".build/debug/vodsim")
    }

    /// Starts `vodsim arguments` in `directory` with its output on pipes, for a test that acts
    /// on the process while it runs.
    static func start(_ arguments: [String], in directory: URL = repositoryRoot) throws -> (process: Process, out: Pipe, err: Pipe) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    static func run(_ arguments: [String], in directory: URL = repositoryRoot) throws -> CLI {
        let (process, out, err) = try start(arguments, in: directory)
        // Read before waiting, so a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// A fresh folder with a copy of the shipped scenarios, as a user's checkout would have.
func sandbox() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("Scenarios"), to: dir.appendingPathComponent("Scenarios"))
    return dir
}

/// Compares `actual` with a golden file; VODSIM_RECORD=1 rewrites it.
func expectGolden(_ actual: String, _ name: String) throws {
    let url = repositoryRoot.appendingPathComponent("Tests/CLITests/Golden/\(name)")
    if ProcessInfo.processInfo.environment["VODSIM_RECORD"] == "1" {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    let expected = try String(contentsOf: url, encoding: .utf8)
    #expect(actual == expected, "differs from Tests/CLITests/Golden/\(name); VODSIM_RECORD=1 scripts/test.sh --filter CLITests re-records it")
}

@Suite("Command line", .serialized)
struct CLITests {
    @Test("run with no scenario runs the default one and writes its report")
    func defaultRun() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run"], in: dir)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.hasPrefix("vodsim 0.1.0: smoke (built-in Scenarios/smoke.yaml), seed 42, resolved scenario sha256 "))
        #expect(r.stdout.contains("peak concurrent sessions"))
        #expect(r.stdout.hasSuffix("report: Reports/smoke/report.html, Reports/smoke/report.json, Reports/smoke/summary.md\n"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("Reports/smoke/report.json").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("Reports/smoke/summary.md").path))
        // Not a terminal: no progress redraws, one final line.
        #expect(!r.stderr.contains("\r"))
        #expect(r.stderr.hasSuffix("events/s)\n"))
        #expect(!r.stderr.contains("note:"))  // the default scenario uses only what is modelled
    }

    @Test("Two runs of the same scenario and seed write byte-identical reports")
    func identicalRuns() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try CLI.run(["run", "Scenarios/smoke.yaml", "--out", "a", "--quiet"], in: dir)
        _ = try CLI.run(["run", "Scenarios/smoke.yaml", "--out", "b", "--quiet"], in: dir)
        let a = try Data(contentsOf: dir.appendingPathComponent("a/report.json"))
        let b = try Data(contentsOf: dir.appendingPathComponent("b/report.json"))
        #expect(a == b)
        let seeded = try CLI.run(["run", "Scenarios/smoke.yaml", "--out", "c", "--quiet", "--seed", "7"], in: dir)
        #expect(seeded.status == 0)
        #expect(try Data(contentsOf: dir.appendingPathComponent("c/report.json")) != a)
    }

    @Test("--quiet prints nothing")
    func quiet() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "--quiet", "--out", "q"], in: dir)
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.isEmpty)
    }

    @Test("A bad scenario prints one line per problem and exits 1, without a stack trace")
    func badScenario() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = """
            name: bad
            start: 2026-11-21T00:00:00Z
            duraton: 2 h
            regions:
              - {id: us-east, utcOffset: -5 h, users: 20k}
            pops:
              - {id: p, region: us-eats, storage: 1 TB, egress: 400 GB}

            """
        try bad.write(to: dir.appendingPathComponent("bad.yaml"), atomically: true, encoding: .utf8)
        for command in ["validate", "run"] {
            let r = try CLI.run([command, "bad.yaml"], in: dir)
            #expect(r.status == 1)
            #expect(r.stdout.isEmpty)
            #expect(r.stderr == """
                error: bad.yaml:1:1: duration: missing required key 'duration' (a duration such as 4 s)
                error: bad.yaml:3:1: duraton: unknown key 'duraton'; did you mean 'duration'?
                error: bad.yaml:7:21: pops[0].region: unknown region 'us-eats'; did you mean 'us-east'?
                error: bad.yaml:7:53: pops[0].egress: expected a data rate such as 400 Gbps, got 400 GB, which is a data size
                error: 4 problems in bad.yaml

                """)
        }
        let missing = try CLI.run(["validate", "nope.yaml"], in: dir)
        #expect(missing.status == 1)
        #expect(missing.stderr == "error: nope.yaml: no such file\n")
    }

    @Test("With no scenario, run and validate use the built-in one from any folder; --scenario-template prints it")
    func builtInScenario() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try CLI.run(["run", "--set", "duration=5 min", "--quiet"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("Reports/smoke/report.json").path))
        let validate = try CLI.run(["validate"], in: dir)
        #expect(validate.status == 0)
        #expect(validate.stdout.hasPrefix("# smoke: resolved by vodsim"))
        let shipped = try String(contentsOf: repositoryRoot.appendingPathComponent("Scenarios/smoke.yaml"), encoding: .utf8)
        for command in ["run", "validate"] {
            let template = try CLI.run([command, "--scenario-template"], in: dir)
            #expect(template.status == 0)
            #expect(template.stdout == shipped, "the built-in scenario is Scenarios/smoke.yaml, byte for byte")
        }
    }

    @Test("Usage errors exit 64")
    func usage() throws {
        let r = try CLI.run(["run", "--bogus"])
        #expect(r.status == 64)
        #expect(r.stderr.hasPrefix("Error: Unknown option '--bogus'"))
        #expect(try CLI.run(["validate", "a.yaml", "b.yaml"]).status == 64)
        #expect(try CLI.run(["run", "--seed", "-5"]).status == 64)
        #expect(try CLI.run(["frobnicate"]).status == 64)
    }

    @Test("validate prints the resolved scenario (golden file)")
    func validateGolden() throws {
        let r = try CLI.run(["validate", "Scenarios/smoke.yaml"])
        #expect(r.status == 0)
        try expectGolden(r.stdout, "validate-smoke.yaml")
    }

    /// The export is for other cache simulators: recomputing each PoP's hit ratio from it must
    /// give the report's.
    @Test("--export-requests writes every PoP request as CSV, with the report's request and hit counts")
    func exportRequests() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "--set", "duration=20 min", "--out", "r", "--export-requests", "requests.csv"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasSuffix("report: r/report.html, r/report.json, r/summary.md, requests: requests.csv\n"))
        let csv = try String(contentsOf: dir.appendingPathComponent("requests.csv"), encoding: .utf8)
        var lines = csv.split(separator: "\n")
        #expect(lines.removeFirst() == "time_us,pop,object_id,size_bytes,hit,request_bytes")
        var requests: [String: Int] = [:], hits: [String: Int] = [:], moved: [String: Int] = [:], hitBytes: [String: Int] = [:]
        var lastTime = 0
        for line in lines {
            let f = line.split(separator: ",")
            try #require(f.count == 6, "\(line)")
            let time = try #require(Int(f[0]))
            #expect(time >= lastTime)
            lastTime = time
            #expect(Int(f[2]) != nil && Int(f[3])! > 0 && (f[4] == "0" || f[4] == "1"))
            requests[String(f[1]), default: 0] += 1
            moved[String(f[1]), default: 0] += Int(f[5])!
            if f[4] == "1" {
                hits[String(f[1]), default: 0] += 1
                hitBytes[String(f[1]), default: 0] += Int(f[5])!
            }
        }
        #expect(lastTime < 20 * 60 * 1_000_000)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("r/report.json"))) as? [String: Any])
        let pops = try #require((report["metrics"] as? [String: Any])?["pops"] as? [[String: Any]])
        #expect(pops.count == 3)
        for pop in pops {
            let id = try #require(pop["id"] as? String)
            let n = try #require(requests[id])
            #expect(pop["requests"] as? Int == n, "\(id)")
            let ratio = Double(hits[id, default: 0]) / Double(n)
            #expect(abs(ratio - (pop["hitRatio"] as? Double ?? -1)) < 1e-5, "\(id): \(ratio)")
            // The byte hit ratio, from the bytes each request moved.
            let byteRatio = Double(hitBytes[id, default: 0]) / Double(moved[id]!)
            #expect(abs(byteRatio - (pop["byteHitRatio"] as? Double ?? -1)) < 1e-5, "\(id): \(byteRatio)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("partial") } == [])
        // A folder that does not exist: an error before anything runs, and no report.
        let bad = try CLI.run(["run", "--quiet", "--out", "s", "--export-requests", "nowhere/requests.csv"], in: dir)
        #expect(bad.status == 1)
        #expect(bad.stderr == "error: nowhere/requests.csv: cannot be written: the folder nowhere does not exist\n")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("s").path))
    }

    /// The export must let anyone recompute the data sets. A plain reference implementation reads
    /// it (deduplicating by client and sequence itself, expanding heartbeat runs, judging lateness
    /// by the watermark each record was read at) and recomputes trending for every window published
    /// and continue watching as of the last publication: they must match the published files.
    @Test("--export-activity lets trending and continue watching be recomputed exactly")
    func exportActivity() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "--set", "duration=75 min", "--set", "activity.ackLoss=2%", "--set", "activity.datasetProfiles=100000",
                             "--out", "r", "--export-activity", "activity.csv", "--quiet"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try String(contentsOf: dir.appendingPathComponent("activity.csv"), encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.count > 1_000)
        let hour: Int64 = 3_600_000_000
        // Reference: dedup, lateness, then the aggregates.
        var seen = Set<String>()
        var plays: [String: Int64] = [:], watch: [String: Int64] = [:]  // "window,region,title"
        var watching: [Int: [Int: (position: Int64, time: Int64)]] = [:]  // profile → title → last report
        var duplicates = 0, exportedDuplicates = 0
        for f in rows {
            let client = f[0], sequence = Int64(f[1])!, count = Int64(f[2])!, profile = Int(f[3])!, region = f[4], title = Int(f[5])!
            let type = f[6], time = Int64(f[7])!, position = Int64(f[9])!, end = Int64(f[10])!, interval = Int64(f[11])!
            let completed = f[13] == "1"
            exportedDuplicates += Int(f[15])!
            if f[14] == "0" && f[15] == "0" && f[16] == "0" { continue }  // expired, or still unread
            let watermark = f[18].isEmpty ? Int64.min : Int64(f[18])!
            var lastApplied: (position: Int64, time: Int64)?
            for k in 0..<count {
                guard seen.insert("\(client):\(sequence + k)").inserted else { duplicates += 1; continue }
                let t = time + k * interval
                guard t >= watermark else { continue }
                let key = "\(t / hour * hour),\(region),\(title)"
                if type == "play" { plays[key, default: 0] += 1 }
                if type == "heartbeat" { watch[key, default: 0] += interval }
                lastApplied = (k == count - 1 ? end : position, t)
            }
            guard let last = lastApplied, type != "rating" else { continue }
            if type == "stop" && completed {
                watching[profile]?[title] = nil
            } else if last.time >= (watching[profile]?[title]?.time ?? .min) {
                watching[profile, default: [:]][title] = (type == "heartbeat" ? end : position, type == "heartbeat" ? time + (count - 1) * interval : time)
            }
        }
        #expect(duplicates > 0 && duplicates == exportedDuplicates)
        // Trending, every window published.
        let publications = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("r/datasets").path).sorted()
        #expect(publications.count == 2)
        var published: [String: [[String]]] = [:]
        for folder in publications {
            let text = try String(contentsOf: dir.appendingPathComponent("r/datasets/\(folder)/trending.csv"), encoding: .utf8)
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: ",").map(String.init)
                published["\(f[0]),\(f[2])", default: []].append([f[3], f[4], f[5], f[6]])
            }
        }
        #expect(!published.isEmpty)
        for (windowRegion, ranked) in published {
            let prefix = windowRegion + ","
            struct Entry { var title: Int; var plays: Int64; var watch: Int64 }
            let keys = Set(plays.keys).union(watch.keys).filter { $0.hasPrefix(prefix) }
            var entries: [Entry] = []
            for key in keys {
                let title = Int(key.split(separator: ",")[2])!
                entries.append(Entry(title: title, plays: plays[key] ?? 0, watch: watch[key] ?? 0))
            }
            entries.sort { a, b in
                if a.watch != b.watch { return a.watch > b.watch }
                if a.plays != b.plays { return a.plays > b.plays }
                return a.title < b.title
            }
            var expected: [[String]] = []
            for (i, e) in entries.prefix(10).enumerated() {
                expected.append(["\(i + 1)", "\(e.title)", "\(e.plays)", String(format: "%g", Double(e.watch) / 1e6)])
            }
            #expect(ranked.map { [$0[0], $0[1], $0[2], String(format: "%g", Double($0[3])!)] } == expected, "window,region \(windowRegion)")
        }
        // Continue watching, as of the last publication.
        let last = try String(contentsOf: dir.appendingPathComponent("r/datasets/\(publications.last!)/continue_watching.csv"), encoding: .utf8)
        var listed: [Int: [[String]]] = [:]
        for line in last.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            listed[Int(f[0])!, default: []].append([f[1], f[2], f[3], f[4]])
        }
        let reference = watching.filter { !$0.value.isEmpty }
        #expect(Set(listed.keys) == Set(reference.keys))
        for (profile, titles) in reference {
            let ranked = titles.sorted { $0.value.time > $1.value.time }.prefix(10)
            #expect(listed[profile] == ranked.enumerated().map { ["\($0.offset + 1)", "\($0.element.key)", "\($0.element.value.position)", "\($0.element.value.time)"] },
                    "profile \(profile)")
        }
    }

    @Test("An unwritable report folder is an error with the path, exit 1")
    func unwritableReport() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("x".utf8).write(to: dir.appendingPathComponent("blocker"))
        let r = try CLI.run(["run", "--quiet", "--out", "blocker/report"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: "))
        #expect(r.stderr.contains("blocker"))
    }
}

@Suite("Command line: manifests and ABR replay", .serialized)
struct ManifestAndABRCommandTests {
    @Test("manifest writes a multivariant playlist and a media playlist per rung, or an MPD")
    func manifests() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let hls = try CLI.run(["manifest", "--title", "3", "--out", "hls"], in: dir)
        #expect(hls.status == 0, "\(hls.stderr)")
        #expect(hls.stdout.hasPrefix("title 3 of smoke: "))
        let master = try String(contentsOf: dir.appendingPathComponent("hls/master.m3u8"), encoding: .utf8)
        #expect(master.hasPrefix("#EXTM3U\n"))
        for r in 0..<6 {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("hls/r\(r)/playlist.m3u8").path))
        }
        let dash = try CLI.run(["manifest", "Scenarios/smoke.yaml", "--title", "3", "--format", "dash", "--out", "dash"], in: dir)
        #expect(dash.status == 0)
        let mpd = try String(contentsOf: dir.appendingPathComponent("dash/manifest.mpd"), encoding: .utf8)
        #expect(mpd.contains("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\""))
        let missing = try CLI.run(["manifest", "--title", "10000"], in: dir)
        #expect(missing.status == 1)
        #expect(missing.stderr == "error: --title 10000: the catalog of smoke has titles 0 to 4999\n")
    }

    /// The hand-computed constant-link case of the ABR tests, through the command line and
    /// Sabre's file formats.
    @Test("abr replays Sabre's formats and prints the QoE (hand-computed case)")
    func abrReplay() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let network = #"[{"duration_ms": 1000000, "bandwidth_kbps": 3000, "latency_ms": 0}]"#
        let sizes = (0..<10).map { _ in "[4000000, 8000000, 16000000]" }.joined(separator: ", ")
        let movie = #"{"segment_duration_ms": 4000, "bitrates_kbps": [1000, 2000, 4000], "segment_sizes_bits": ["# + sizes + "]}"
        try network.write(to: dir.appendingPathComponent("net.json"), atomically: true, encoding: .utf8)
        try movie.write(to: dir.appendingPathComponent("movie.json"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["abr", "--network", "net.json", "--movie", "movie.json", "--algorithm", "throughput", "--json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["startupDelaySeconds"] as? Double == 1.333334)
        #expect(json["averageBitrateKbps"] as? Int == 1_900)
        #expect(json["rebufferEvents"] as? Int == 0)
        #expect(json["switches"] as? Int == 1)
        let bad = try CLI.run(["abr", "--network", "movie.json", "--movie", "movie.json"], in: dir)
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("error: movie.json: expected a non-empty list of {duration_ms, bandwidth_kbps, latency_ms}"))
        let usage = try CLI.run(["abr", "--network", "net.json"], in: dir)
        #expect(usage.status == 64)
    }

    @Test("abr replays a scenario title read from its manifest")
    func abrScenarioTitle() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["abr", "--network", "Scenarios/abr/step-down.json", "--scenario", "Scenarios/smoke.yaml",
                             "--title", "3", "--algorithm", "bba"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("bba: 773 segments, 6 rungs\n"))
    }
}
