import Foundation
import Testing

@Suite("vodsim sweep", .serialized)
struct SweepCommandTests {
    static let small = ["--set", "duration=10 min", "--set", "regions[us-east].users=4k"]

    @Test("A sweep emitted as jobs, run line by line and collected, gives the local sweep's summaries byte for byte, whatever -j")
    func collectFromEmittedJobs() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["sweep", "Scenarios/storage-sweep.yaml", "--vary", "pops[edge].storage=1,3 TB", "--replications", "2", "--quiet"] + Self.small
        let local = try CLI.run(args + ["--out", "local", "-j", "2"], in: dir)
        #expect(local.status == 0, "\(local.stderr)")
        let emitted = try CLI.run(args + ["--emit-jobs", "emitted"], in: dir)
        #expect(emitted.status == 0, "\(emitted.stderr)")
        let jobs = try String(contentsOf: dir.appendingPathComponent("emitted/jobs.txt"), encoding: .utf8)
        #expect(jobs.split(separator: "\n").count == 4)
        let slurm = try String(contentsOf: dir.appendingPathComponent("emitted/slurm.sh"), encoding: .utf8)
        #expect(slurm.contains("#SBATCH --array=1-4"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("emitted/runs").path))
        // What a scheduler does: each line, from the sweep folder, one at a time.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/bash")
        shell.arguments = ["-e", "jobs.txt"]
        shell.currentDirectoryURL = dir.appendingPathComponent("emitted")
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
        let collected = try CLI.run(["sweep", "collect", "emitted"], in: dir)
        #expect(collected.status == 0, "\(collected.stderr)")
        for file in ["sweep.csv", "sweep.md", "sweep.html", "sweep.json"] {
            #expect(try Data(contentsOf: dir.appendingPathComponent("local/\(file)")) == Data(contentsOf: dir.appendingPathComponent("emitted/\(file)")),
                    "\(file)")
        }
        let csv = try String(contentsOf: dir.appendingPathComponent("local/sweep.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("run,point,replication,seed,pops[edge].storage,metrics.concurrency.peak,"))
        #expect(csv.split(separator: "\n").count == 5)
        let md = try String(contentsOf: dir.appendingPathComponent("local/sweep.md"), encoding: .utf8)
        #expect(md.contains(" ± "))
    }

    @Test("A sweep interrupted and restarted reuses the reports it finished and runs only the rest")
    func resume() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = ["sweep", "Scenarios/storage-sweep.yaml", "--vary", "pops[edge].storage=1,3 TB", "--out", "s", "-j", "1"] + Self.small
        let first = try CLI.run(args + ["--quiet"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        let kept = dir.appendingPathComponent("s/runs/p0000-r00/report.json")
        let before = try Data(contentsOf: kept)
        let keptDate = try FileManager.default.attributesOfItem(atPath: kept.path)[.modificationDate] as? Date
        let summary = try Data(contentsOf: dir.appendingPathComponent("s/sweep.csv"))
        // The interruption: one run never finished (an atomic report folder is there whole or not at all).
        try FileManager.default.removeItem(at: dir.appendingPathComponent("s/runs/p0001-r00"))
        let second = try CLI.run(args, in: dir)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("2 runs: 1 reused, 1 to run"))
        #expect(try FileManager.default.attributesOfItem(atPath: kept.path)[.modificationDate] as? Date == keptDate)
        #expect(try Data(contentsOf: kept) == before)
        #expect(try Data(contentsOf: dir.appendingPathComponent("s/sweep.csv")) == summary)
        // A changed point is not reused.
        let changed = try CLI.run(["sweep", "Scenarios/storage-sweep.yaml", "--vary", "pops[edge].storage=1,4 TB", "--out", "s", "-j", "1"] + Self.small,
                                  in: dir)
        #expect(changed.stderr.contains("2 runs: 1 reused, 1 to run"))
    }

    @Test("A search finds the smallest storage meeting a hit-ratio target, listing the points it tried")
    func searchStorage() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["sweep", "Scenarios/storage-sweep.yaml", "--target", "metrics.delivery.hitRatio>=0.95",
                             "--search", "pops[edge].storage=0.5..8/0.5 TB", "--out", "s", "--quiet"] + Self.small, in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let md = try String(contentsOf: dir.appendingPathComponent("s/sweep.md"), encoding: .utf8)
        #expect(md.contains("is the smallest value meeting the target"))
        let csv = try String(contentsOf: dir.appendingPathComponent("s/sweep.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.count >= 3 && rows.count <= 2 + 4)
        // The answer meets the target; half a TB less does not (when it was tried).
        let answer = try #require(md.components(separatedBy: "**Answer: ").dropFirst().first?.components(separatedBy: "**").first)
        let tried = Dictionary(rows.map { ($0[4], Double($0[5 + 0 + 0]) ?? 0) }, uniquingKeysWith: { a, _ in a })
        #expect(tried[answer] != nil)
        let bad = try CLI.run(["sweep", "Scenarios/storage-sweep.yaml", "--target", "hitRatio>=0.95", "--vary", "x=1,2",
                               "--search", "pops[edge].storage=1..2 TB"], in: dir)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("cannot be combined with --vary"))
    }

    @Test("A constrained search answers the cheapest grid point meeting every constraint, as the runs' own figures say, and names the binding constraint")
    func constrainedSearch() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["sweep", "Scenarios/cost-sweep.yaml", "--minimise", "cost.byTier.pops", "--subject-to", "delivery.hitRatio>=0.9",
                             "--vary", "pops[edge].storage=0.5,2,4 TB", "--out", "c", "--quiet",
                             "--set", "duration=10 min", "--set", "regions[us-east].users=4k"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        // The answer worked out again from sweep.csv: the least cost among the points with enough hits.
        let csv = try String(contentsOf: dir.appendingPathComponent("c/sweep.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        let cost = try #require(header.firstIndex(of: "metrics.cost.byTier.pops"))
        let hits = try #require(header.firstIndex(of: "metrics.delivery.hitRatio"))
        let rows = lines.dropFirst().map { (storage: $0[4], cost: Double($0[cost])!, hits: Double($0[hits])!) }
        #expect(rows.count == 3)
        let feasible = rows.filter { $0.hits >= 0.9 }
        let best = try #require(feasible.min { $0.cost < $1.cost })
        let md = try String(contentsOf: dir.appendingPathComponent("c/sweep.md"), encoding: .utf8)
        #expect(md.contains("pops[edge].storage=\(best.storage))**"), "\(md)")
        // Storage costs money, so a cheaper point exists, and it misses the hit ratio: that constraint binds.
        #expect(rows.contains { $0.cost < best.cost && $0.hits < 0.9 })
        #expect(md.contains("`delivery.hitRatio >= 0.9`") && md.contains("**binds**"))
        let plan = try String(contentsOf: dir.appendingPathComponent("c/sweep.json"), encoding: .utf8)
        #expect(plan.contains("\"minimise\"") && plan.contains("metrics.cost.byTier.pops"))
        // What cannot be answered is refused before anything runs.
        let noObjective = try CLI.run(["sweep", "Scenarios/cost-sweep.yaml", "--subject-to", "delivery.hitRatio>=0.9", "--vary", "pops[edge].storage=1,2 TB"], in: dir)
        #expect(noObjective.status == 64 && noObjective.stderr.contains("--subject-to needs --minimise"))
        let noGrid = try CLI.run(["sweep", "Scenarios/cost-sweep.yaml", "--minimise", "cost.total"], in: dir)
        #expect(noGrid.status == 64 && noGrid.stderr.contains("give the grid with --vary"))
        let badConstraint = try CLI.run(["sweep", "Scenarios/cost-sweep.yaml", "--minimise", "cost.total", "--subject-to", "hitRatio~0.9",
                                         "--vary", "pops[edge].storage=1,2 TB"], in: dir)
        #expect(badConstraint.status == 64 && badConstraint.stderr.contains("--subject-to hitRatio~0.9: expected metric>=value"))
        // A scenario without prices has no cost to minimise: an error, not an empty answer.
        let noCost = try CLI.run(["sweep", "Scenarios/storage-sweep.yaml", "--minimise", "cost.total", "--vary", "pops[edge].storage=1,2 TB",
                                  "--out", "n", "--quiet", "--set", "duration=5 min"], in: dir)
        #expect(noCost.status == 1 && noCost.stderr.contains("metrics.cost.total: in no report of the sweep"))
    }

    @Test("A bad --vary key is reported with the run and the scenario's own message")
    func badKey() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["sweep", "Scenarios/storage-sweep.yaml", "--vary", "pops[edge].storag=1,2 TB", "--out", "s"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: run p0000-r00 (pops[edge].storag=1 TB): --set pops[edge].storag=1 TB: pops[0].storag: unknown key 'storag'"))
        #expect(r.stderr.contains("did you mean 'storage'"))
    }
}
