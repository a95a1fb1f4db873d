import Foundation
import Testing

/// vodsim deletes or replaces only what it wrote itself, checks output paths before it simulates,
/// and a run that fails or is interrupted leaves the previous outputs as they were.
@Suite("Command line: output safety", .serialized)
struct OutputSafetyTests {
    /// Every file below `dir` (relative paths), to show nothing of the user's was touched.
    func files(_ dir: URL) -> [String] {
        (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? []).sorted()
    }

    @Test("--out refuses the current folder, an empty name, a file, a device and a folder vodsim did not write, before simulating")
    func outRefusesWhatVodsimDidNotWrite() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("mine/sub"), withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: dir.appendingPathComponent("mine/notes.txt"))
        try Data("keep".utf8).write(to: dir.appendingPathComponent("a-file"))
        let before = files(dir)
        let cases: [(out: String, says: String)] = [
            (".", "error: .: is the current folder or holds it"),
            ("..", "error: ..: is the current folder or holds it"),
            ("", "error: --out needs a folder name"),
            ("a-file", "error: a-file: is a file, not a folder"),
            ("/dev/null", "error: /dev/null: is a character device, not a folder"),
            ("mine", "error: mine: holds notes.txt, which vodsim did not write"),
            ("mine/sub/../..", "error: mine/sub/../..: is the current folder or holds it"),
        ]
        for c in cases {
            let r = try CLI.run(["run", "--out", c.out], in: dir)
            #expect(r.status == 1, "--out \(c.out)")
            #expect(r.stderr.hasPrefix(c.says), "--out \(c.out): \(r.stderr)")
            #expect(!r.stderr.contains("simulated"), "--out \(c.out) was checked only after simulating")
        }
        #expect(files(dir) == before)
    }

    @Test("A report folder vodsim wrote is replaced; a file the user added to it makes it refused")
    func reportFolderReplacedOnlyWhenAllVodsims() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["run", "--set", "duration=5 min", "--out", "r", "--quiet"]
        #expect(try CLI.run(args, in: dir).status == 0)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("r/.vodsim-report").path))
        #expect(try CLI.run(args, in: dir).status == 0)
        try Data("mine".utf8).write(to: dir.appendingPathComponent("r/datasets/notes.txt"))
        let refused = try CLI.run(args, in: dir)
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("error: r: holds datasets/notes.txt, which vodsim did not write"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("r/datasets/notes.txt").path))
        // An empty folder the user made for it is fine.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
        #expect(try CLI.run(["run", "--set", "duration=5 min", "--out", "empty", "--quiet"], in: dir).status == 0)
    }

    @Test("A scenario named like a folder of other things (baselines) does not replace it")
    func scenarioNameCannotReplaceBaselines() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("Reports/baselines/smoke"), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: dir.appendingPathComponent("Reports/baselines/smoke/report.json"))
        let r = try CLI.run(["run", "--set", "name=baselines", "--quiet"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: Reports/baselines: holds smoke/"))
        #expect(try String(contentsOf: dir.appendingPathComponent("Reports/baselines/smoke/report.json"), encoding: .utf8) == "{}")
    }

    @Test("Export paths are checked before the run: a missing folder, a folder, a device, a FIFO, a file vodsim did not write")
    func exportPathsCheckedFirst() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("folder"), withIntermediateDirectories: true)
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let cases: [(option: String, path: String, says: String)] = [
            ("--export-requests", "nowhere/r.csv", "error: nowhere/r.csv: cannot be written: the folder nowhere does not exist"),
            ("--export-requests", "folder", "error: folder: is a folder, not a regular file"),
            ("--export-activity", "/dev/null", "error: /dev/null: is a character device, not a regular file"),
            ("--export-activity", "fifo", "error: fifo: is a FIFO (named pipe), not a regular file"),
            ("--export-activity", "Scenarios/smoke.yaml", "error: Scenarios/smoke.yaml: exists and is not a file vodsim wrote for --export-activity"),
            ("--export-activity", "out/a.csv", "error: out/a.csv: --export-activity cannot write into the report folder out"),
        ]
        let scenario = try String(contentsOf: dir.appendingPathComponent("Scenarios/smoke.yaml"), encoding: .utf8)
        for c in cases {
            let r = try CLI.run(["run", "--out", "out", c.option, c.path], in: dir)
            #expect(r.status == 1, "\(c.option) \(c.path)")
            #expect(r.stderr.hasPrefix(c.says), "\(c.option) \(c.path): \(r.stderr)")
            #expect(!r.stderr.contains("simulated"))
        }
        #expect(try String(contentsOf: dir.appendingPathComponent("Scenarios/smoke.yaml"), encoding: .utf8) == scenario)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out").path))
        #expect(files(dir).filter { $0.contains("partial") }.isEmpty)
    }

    @Test("A run that fails after simulating leaves the previous report and no export or staging file")
    func failedRunKeepsPreviousReport() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try CLI.run(["run", "--set", "duration=5 min", "--out", "r", "--quiet"], in: dir).status == 0)
        let previous = try Data(contentsOf: dir.appendingPathComponent("r/report.json"))
        // The export's destination turns into a folder while the run goes on: its rename fails at the end.
        let (process, _, err) = try CLI.start(["run", "--set", "duration=40 min", "--set", "seed=7", "--out", "r", "--quiet",
                                               "--export-requests", "q.csv"], in: dir)
        // Once the export's temporary file exists, the checks are behind it.
        for _ in 0..<600 where !files(dir).contains(where: { $0.hasPrefix(".q.csv.partial-") }) { Thread.sleep(forTimeInterval: 0.05) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("q.csv/inside"), withIntermediateDirectories: true)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(stderr)")
        #expect(stderr.contains("q.csv: cannot move the file into place"), "\(stderr)")
        #expect(try Data(contentsOf: dir.appendingPathComponent("r/report.json")) == previous)
        #expect(files(dir).filter { $0.contains("partial") || $0.contains(".old-") }.isEmpty, "\(files(dir))")
    }

    @Test("SIGINT, SIGTERM and SIGHUP: one line, exit 130, 143, 129, the previous report kept, no staging files")
    func signalsKeepThePreviousReport() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try CLI.run(["run", "--set", "duration=5 min", "--out", "r", "--quiet"], in: dir).status == 0)
        let previous = try Data(contentsOf: dir.appendingPathComponent("r/report.json"))
        for (sig, status) in [(SIGINT, 130), (SIGTERM, 143), (SIGHUP, 129)] {
            let (process, out, err) = try CLI.start(["run", "Scenarios/global-day.yaml", "--out", "r", "--export-activity", "a.csv"], in: dir)
            // The header is flushed at once though stdout is a pipe: it says the run is under way.
            let header = out.fileHandleForReading.availableData
            #expect(String(decoding: header, as: UTF8.self).hasPrefix("vodsim "))
            Thread.sleep(forTimeInterval: 0.5)
            kill(process.processIdentifier, sig)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationStatus == Int32(status), "signal \(sig): \(stderr)")
            #expect(stderr == "interrupted; the previous report at r is kept\n", "signal \(sig)")
            #expect(try Data(contentsOf: dir.appendingPathComponent("r/report.json")) == previous)
            #expect(files(dir).filter { $0.contains("partial") || $0.contains("a.csv") }.isEmpty, "\(files(dir))")
        }
    }

    @Test("sweep --out and --emit-jobs refuse a folder that is not a sweep's")
    func sweepFolderRefused() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("mine"), withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: dir.appendingPathComponent("mine/notes.txt"))
        for option in ["--out", "--emit-jobs"] {
            let r = try CLI.run(["sweep", "Scenarios/smoke.yaml", "--vary", "seed=1,2", option, "mine"], in: dir)
            #expect(r.status == 1)
            #expect(r.stderr.hasPrefix("error: mine: holds files and is not a vodsim sweep folder"), "\(r.stderr)")
        }
        #expect(files(dir.appendingPathComponent("mine")) == ["notes.txt"])
    }

    @Test("Every varied key reaches the run it labels: a seed, a nested key and an indexed key")
    func variedKeysReachTheirRuns() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["sweep", "Scenarios/smoke.yaml", "--vary", "seed=1,2,3", "--vary", "clients.maxBuffer=20 s,40 s",
                             "--vary", "regions[us-east].users=2k,3k", "--replications", "2", "--emit-jobs", "s", "--quiet"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let plan = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("s/sweep.json"))) as? [String: Any])
        let runs = try #require(plan["runs"] as? [[String: Any]])
        #expect(runs.count == 24)
        var seeds: Set<Int> = []
        for run in runs {
            let id = try #require(run["id"] as? String)
            let set = try #require(run["set"] as? [String])
            let job = try String(contentsOf: dir.appendingPathComponent("s/jobs/\(id).yaml"), encoding: .utf8)
            let lines = job.split(separator: "\n").map(String.init)
            let seed = try #require(run["seed"] as? Int)
            #expect(lines.contains("seed: \(seed)"), "\(id)")
            if run["replication"] as? Int == 0 {
                #expect(set[0] == "seed=\(seed)", "\(id): labelled \(set[0]), runs with seed \(seed)")
            }
            seeds.insert(seed)
            #expect(lines.contains("  maxBuffer: \(set[1].dropFirst("clients.maxBuffer=".count))"), "\(id)")
            let users = set[2].dropFirst("regions[us-east].users=".count)
            #expect(job.contains("- id: us-east\n  utcOffset: -5 h\n  users: \(users)\n"), "\(id)")
        }
        #expect(seeds.count == 6)  // three seeds, two replications each
    }
}

/// About 260 hostile `--set` values and 25 malformed files, each refused with exit 1 and clean
/// messages: no crash, no backtrace, no parser internals.
@Suite("Command line: hostile input")
struct HostileInputTests {
    static func clean(_ r: CLI) -> Bool {
        r.status == 1 && !r.stderr.isEmpty
            && r.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("error: ") || $0.hasPrefix("warning: ") }
            && !["Fatal error", "Backtrac", "Signal", "libyaml", "Yams", "while parsing", "while scanning"].contains { r.stderr.contains($0) }
    }

    @Test("Every hostile --set value gives exit 1 and clean messages, never a crash")
    func hostileOverrides() throws {
        let corpus = try String(contentsOf: repositoryRoot.appendingPathComponent("Tests/CLITests/Golden/hostile-overrides.txt"), encoding: .utf8)
        let values = corpus.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(values.count >= 250)
        for value in values {
            let r = try CLI.run(["validate", "--set", value])
            #expect(Self.clean(r), "--set \(value): exit \(r.status), \(r.stderr)")
        }
    }

    @Test("Every malformed file gives exit 1 and clean messages")
    func malformedFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let texts = [
            "", "\n", "# only a comment\n", "- a list\n", "just text\n", "42\n", "name: [a\n", "name: {a: 1\n", "name: a\n  b: c\n",
            "a: *nope\n", "\tname: a\n", "name: \"abc\n", "name: 'abc\n", "name: a\n---\nname: b\n", "name: a\nname: b\n",
            "? [a, b]\n: c\n", "name: !foo a\n", "name: a\nregions: 5\n", "%YAML 9.9\n---\nname: a\n", "name: a\n...\nname: b\n",
            "&a name: *a\n", "name: \"\\x\"\n", String(repeating: "[", count: 5_000), "name: a\u{0}b\n", "regions:\n- - - - -\n",
        ]
        for (i, text) in texts.enumerated() {
            try Data(text.utf8).write(to: dir.appendingPathComponent("m\(i).yaml"))
            let r = try CLI.run(["validate", "m\(i).yaml"], in: dir)
            #expect(Self.clean(r), "file \(i) \(text.prefix(30).debugDescription): exit \(r.status), \(r.stderr)")
        }
        try Data([0xff, 0xfe, 0x00]).write(to: dir.appendingPathComponent("binary.yaml"))
        #expect(Self.clean(try CLI.run(["validate", "binary.yaml"], in: dir)))
        #expect(Self.clean(try CLI.run(["validate", "."], in: dir)))
    }
}
