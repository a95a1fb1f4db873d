import ArgumentParser
import Foundation
import Reports
import Scenario

/// `vodsim sweep`: many runs of one scenario over a grid of settings or a bisection search.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a scenario over a grid of settings (or search one setting for a target), with replications.",
        subcommands: [SweepRunCommand.self, SweepCollectCommand.self],
        defaultSubcommand: SweepRunCommand.self
    )
}

struct SweepRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Sweep a scenario (the default: `vodsim sweep SCENARIO ...`).",
        discussion: """
            Each point runs in its own vodsim process (-j at once), from its resolved scenario in \
            DIR/jobs/; reports land in DIR/runs/<run>/, summaries in DIR/sweep.csv, sweep.md and \
            sweep.html. A sweep restarted in the same folder reuses the reports it finds. \
            --emit-jobs writes the jobs, a job list and a Slurm array script without running them; \
            `vodsim sweep collect DIR` then writes the summaries. See docs/sweeps.md.
            """
    )

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @OptionGroup var options: ScenarioOptions

    @Option(help: ArgumentHelp("A key and its values: key.path=v1,v2,... or key.path=from..to/step (repeatable; the grid is their product).",
                               valueName: "key.path=values"))
    var vary: [String] = []

    @Option(help: "Runs per point, each with its own seed (the first is the scenario's).")
    var replications: Int = 1

    @Option(name: .customShort("j"), help: "Runs at once (worker processes).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: ArgumentHelp("With --search: what to meet, e.g. 'metrics.delivery.hitRatio>=0.95'.", valueName: "metric>=value"))
    var target: String?

    @Option(help: ArgumentHelp("Bisection over one key for the boundary of --target: key.path=from..to[/resolution].",
                               valueName: "key.path=range"))
    var search: String?

    @Option(help: ArgumentHelp("With --vary: the metric whose least value among the points meeting every --subject-to is the answer, e.g. cost.total.",
                               valueName: "metric"))
    var minimise: String?

    @Option(name: .customLong("subject-to"),
            help: ArgumentHelp("With --minimise: a constraint every answer meets, e.g. 'experience.startTimeMs.p99<=2000' (repeatable).",
                               valueName: "metric<=value"))
    var subjectTo: [String] = []

    @Option(help: ArgumentHelp("Also record this report.json path (repeatable).", valueName: "metric"))
    var metric: [String] = []

    @Option(help: "The sweep folder (default: Sweeps/<scenario name>).")
    var out: String?

    @Option(name: .customLong("emit-jobs"), help: ArgumentHelp("Write the jobs into this folder for a batch scheduler; run nothing.", valueName: "dir"))
    var emitJobs: String?

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    func run() throws {
        guard replications >= 1 else { throw usage("--replications must be at least 1, got \(replications)") }
        guard jobs >= 1 else { throw usage("-j must be at least 1, got \(jobs)") }
        guard (target == nil) == (search == nil) else { throw usage("--target and --search go together") }
        if search != nil && !vary.isEmpty { throw usage("--search varies one key by itself; it cannot be combined with --vary") }
        if search != nil && emitJobs != nil {
            throw usage("--emit-jobs writes a fixed set of points; a search chooses its points from results, so it runs locally")
        }
        if !subjectTo.isEmpty && minimise == nil { throw usage("--subject-to needs --minimise (the metric to make least)") }
        if minimise != nil && vary.isEmpty {
            throw usage("--minimise chooses among a grid's points: give the grid with --vary (--search bisects for one --target)")
        }
        let axes: [SweepAxis]
        let parsedTarget: SweepTarget?
        let constrained: ConstrainedSearch?
        do {
            axes = try vary.map(SweepAxis.parse)
            try Sweep.checkSeeds(axes)
            var parsed: SweepTarget?
            if let target { parsed = try SweepTarget.parse(target) }
            parsedTarget = parsed
            var constraints: [SweepTarget] = []
            for text in subjectTo { constraints.append(try SweepTarget.parse(text, option: "--subject-to")) }
            constrained = minimise.map { ConstrainedSearch(objective: Sweep.metricPath($0), constraints: constraints) }
        } catch {
            throw usage(error.description)
        }
        let base = try options.load(scenario)
        let folder = URL(fileURLWithPath: emitJobs ?? out ?? "Sweeps/\(base.name)")
        do {
            try SweepFolder.check(folder, option: emitJobs != nil ? "--emit-jobs" : "--out")
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
        var metrics: [String] = []
        let asked = (parsedTarget.map { [$0.metric] } ?? []) + (constrained.map { [$0.objective] + $0.constraints.map(\.metric) } ?? [])
        for m in asked + Sweep.defaultMetrics + metric.map(Sweep.metricPath) where !metrics.contains(m) {
            metrics.append(m)
        }
        let runner = SweepRunner(scenario: scenario, overrides: options.allOverrides, folder: folder, jobs: jobs, quiet: quiet)
        if let search, let parsedTarget {
            var plan = Sweep.Plan(scenario: scenario, name: base.name, baseSeed: base.seed, keys: [], replications: replications, metrics: metrics)
            try runner.search(&plan, spec: search, target: parsedTarget)
            return
        }
        var plan = Sweep.Plan(scenario: scenario, name: base.name, baseSeed: base.seed, keys: axes.map(\.key),
                              replications: replications, metrics: metrics, constrained: constrained)
        for point in Sweep.grid(axes) { plan.addPoint(point.map { Sweep.Setting(key: $0.key, value: $0.value) }) }
        try runner.prepare(plan)
        if emitJobs != nil {
            if !quiet {
                print("""
                    \(plan.runs.count) runs written to \(folder.path)/jobs/. Run them with any of:
                      sbatch \(folder.path)/slurm.sh               # a Slurm array job
                      (cd \(folder.path) && parallel < jobs.txt)    # GNU parallel, or any runner of one line per job
                    then: vodsim sweep collect \(folder.path)
                    """)
            }
            return
        }
        try runner.runPending(plan)
        try runner.summarise(plan)
        // A question the reports cannot answer is an error, not an empty answer.
        if let constrained = plan.constrained {
            let absent = SweepSummary(plan: plan, reports: runner.reports(plan)).absentMetrics(constrained)
            if !absent.isEmpty {
                Terminal.error("\(absent.joined(separator: ", ")): in no report of the sweep (not a report.json path; a scenario without a cost section has no cost)")
                throw ExitCode(1)
            }
        }
    }

    func usage(_ message: String) -> ExitCode {
        Terminal.error(message)
        return ExitCode(64)
    }
}

struct SweepCollectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect",
        abstract: "Write a sweep's summaries from the reports its jobs wrote (after --emit-jobs and a scheduler)."
    )

    @Argument(help: "The sweep folder.")
    var folder: String

    func run() throws {
        let url = URL(fileURLWithPath: folder)
        let plan: Sweep.Plan
        do {
            let data = try Data(contentsOf: url.appendingPathComponent("sweep.json"))
            plan = try Sweep.Plan.parse(JSONValue.parse(String(decoding: data, as: UTF8.self)))
        } catch {
            Terminal.error("\(folder)/sweep.json: \(error)")
            throw ExitCode(1)
        }
        let runner = SweepRunner(scenario: plan.scenario, overrides: [], folder: url, jobs: 1, quiet: false)
        try runner.summarise(plan)
    }
}

/// Runs a sweep's jobs as vodsim processes and writes its files.
struct SweepRunner {
    let scenario: String
    let overrides: [String]
    let folder: URL
    let jobs: Int
    let quiet: Bool

    /// This executable, for the worker processes and the job list.
    static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    func file(_ name: String) -> URL { folder.appendingPathComponent(name) }

    func write(_ text: String, to name: String) throws {
        let url = file(name)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url, options: .atomic)
        } catch {
            Terminal.error("cannot write \(url.path): \(error.localizedDescription)")
            throw ExitCode(1)
        }
    }

    /// Writes the resolved scenario of every run, the plan, the job list and the Slurm script.
    func prepare(_ plan: Sweep.Plan) throws {
        try writeJobs(plan.runs)
        try writePlanFiles(plan)
    }

    /// Writes the resolved scenario of each of `runs`. A run whose resolved scenario changed since
    /// an earlier sweep in this folder loses its report.
    func writeJobs(_ runs: [Sweep.Run]) throws {
        var problems = 0
        var pointHashes: [(id: String, hash: String, settings: String)] = []
        for run in runs {
            let settings = run.settings.map { "\($0.key)=\($0.value)" }
            let resolved: ResolvedScenario
            do {
                resolved = try ScenarioLoader.load(path: scenario, overrides: overrides + settings + ["seed=\(run.seed)"])
            } catch {
                for problem in error.problems { Terminal.error("run \(run.id) (\(settings.joined(separator: " "))): \(problem.description)") }
                problems += 1
                if problems >= 5 { break }
                continue
            }
            // Every setting must reach the run it labels: setting them again on the resolved
            // scenario changes nothing (a later override masking one would show here).
            let text = resolved.yaml
            guard resolved.seed == run.seed,
                  (try? ScenarioLoader.parse(text: text, file: scenario, overrides: settings + ["seed=\(run.seed)"]).hash) == resolved.hash else {
                Terminal.error("run \(run.id) (\(settings.joined(separator: " "))): internal: the resolved scenario does not carry its settings")
                throw ExitCode(70)
            }
            if run.replication == 0 {
                if let twin = pointHashes.first(where: { $0.hash == resolved.hash }) {
                    Terminal.warning("points \(twin.id) and \(run.id) resolve to the same scenario (\(twin.settings) and \(settings.joined(separator: " "))): their results will be the same")
                }
                pointHashes.append((run.id, resolved.hash, settings.joined(separator: " ")))
            }
            let job = "jobs/\(run.id).yaml"
            let existing = try? String(contentsOf: file(job), encoding: .utf8)
            if existing != text {
                try? FileManager.default.removeItem(at: file("runs/\(run.id)"))
                try write(text, to: job)
            }
        }
        if problems > 0 { throw ExitCode(1) }
    }

    /// sweep.json, jobs.txt and slurm.sh.
    func writePlanFiles(_ plan: Sweep.Plan) throws {
        try write(plan.json.serialized(), to: "sweep.json")
        let exe = SweepRunner.executable
        let lines = plan.runs.map { "\(shellQuoted(exe)) run jobs/\($0.id).yaml --out runs/\($0.id) --quiet" }
        try write(lines.joined(separator: "\n") + "\n", to: "jobs.txt")
        let absolute = folder.standardizedFileURL.path
        try write("""
            #!/bin/bash
            # One array task per line of jobs.txt (vodsim sweep --emit-jobs). Submit: sbatch slurm.sh
            # Then: vodsim sweep collect \(absolute)
            #SBATCH --job-name=vodsim-\(plan.name)
            #SBATCH --array=1-\(plan.runs.count)
            #SBATCH --chdir=\(absolute)
            #SBATCH --output=logs/slurm-%A_%a.out
            #SBATCH --cpus-per-task=1
            set -euo pipefail
            line=$(sed -n "${SLURM_ARRAY_TASK_ID}p" jobs.txt)
            eval "$line"

            """, to: "slurm.sh")
        try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: file("slurm.sh").path)
        // Slurm writes each task's output here and does not create the folder.
        try? FileManager.default.createDirectory(at: file("logs"), withIntermediateDirectories: true)
    }

    func shellQuoted(_ s: String) -> String {
        s.allSatisfy { $0.isLetter || $0.isNumber || "/._-+".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    func hasReport(_ id: String) -> Bool { FileManager.default.fileExists(atPath: file("runs/\(id)/report.json").path) }

    /// Runs every run without a report, `jobs` at once; fails when any run failed.
    func runPending(_ plan: Sweep.Plan, only ids: Set<String>? = nil) throws {
        try? FileManager.default.createDirectory(at: file("logs"), withIntermediateDirectories: true)
        let pending = plan.runs.filter { (ids?.contains($0.id) ?? true) && !hasReport($0.id) }
        let reused = plan.runs.filter { (ids?.contains($0.id) ?? true) }.count - pending.count
        if !quiet && ids == nil { Terminal.note("\(plan.runs.count) runs: \(reused) reused, \(pending.count) to run, \(jobs) at once") }
        let exe = SweepRunner.executable
        let failures = FailureList()
        let slots = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        for run in pending {
            slots.wait()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: exe)
            process.arguments = ["run", "jobs/\(run.id).yaml", "--out", "runs/\(run.id)", "--quiet"]
            process.currentDirectoryURL = folder
            let log = file("logs/\(run.id).log")
            guard FileManager.default.createFile(atPath: log.path, contents: nil), let handle = try? FileHandle(forWritingTo: log) else {
                Terminal.error("cannot write \(log.path)")
                throw ExitCode(1)
            }
            process.standardError = handle
            process.standardOutput = handle
            group.enter()
            let id = run.id
            process.terminationHandler = { p in
                if p.terminationStatus != 0 { failures.add("\(id) exited with \(p.terminationStatus) (logs/\(id).log)") }
                try? handle.close()
                slots.signal()
                group.leave()
            }
            do {
                try process.run()
            } catch {
                failures.add("\(id): cannot start \(exe): \(error.localizedDescription)")
                slots.signal()
                group.leave()
            }
        }
        group.wait()
        let failed = failures.items
        if !failed.isEmpty {
            for f in failed.sorted() { Terminal.error("run \(f)") }
            Terminal.error("\(failed.count) run(s) failed; rerun the same command to retry them (finished runs are kept)")
            throw ExitCode(1)
        }
    }

    func reports(_ plan: Sweep.Plan) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for run in plan.runs {
            guard let data = FileManager.default.contents(atPath: file("runs/\(run.id)/report.json").path),
                  let json = try? JSONValue.parse(String(decoding: data, as: UTF8.self)) else { continue }
            out[run.id] = json
        }
        return out
    }

    func summarise(_ plan: Sweep.Plan) throws {
        let summary = SweepSummary(plan: plan, reports: reports(plan))
        try write(summary.csv, to: "sweep.csv")
        try write(summary.markdown, to: "sweep.md")
        try write(summary.html, to: "sweep.html")
        let missing = summary.missing
        if !quiet {
            print(summary.markdown, terminator: "")
            print("sweep: \(folder.path)/sweep.md, sweep.csv, sweep.html")
        }
        if !missing.isEmpty {
            Terminal.error("\(missing.count) run(s) have no report yet (first: \(missing[0])); the summaries leave them out")
            throw ExitCode(1)
        }
    }

    /// Bisection over one key; each value tried is a point with its replications.
    func search(_ plan: inout Sweep.Plan, spec: String, target: SweepTarget) throws {
        guard let eq = spec.firstIndex(of: "=") else { throw usage("--search \(spec): expected key.path=from..to[/resolution]") }
        let key = String(spec[..<eq])
        let range: NumericRange, step: Double?
        do {
            (range, step) = try NumericRange.parse(stepped: String(spec[spec.index(after: eq)...]), option: "--search \(spec)",
                                                   stepName: "resolution")
        } catch {
            throw usage(error.description)
        }
        guard range.upper > range.lower else { throw usage("--search \(spec): the range is empty (from ≥ to)") }
        let resolution = step ?? (range.upper - range.lower) / 32
        plan.keys = [key]
        var current = plan
        let result = try Bisection.search(lower: range.lower, upper: range.upper, resolution: resolution, target: target) { x in
            let value = range.text(x)
            let setting = Sweep.Setting(key: key, value: value)
            let point = current.runs.first { $0.settings == [setting] }?.point ?? current.addPoint([setting])
            let runs = current.runs.filter { $0.point == point }
            try writeJobs(runs)
            try runPending(current, only: Set(runs.map(\.id)))
            let summary = SweepSummary(plan: current, reports: reports(current))
            guard let stats = summary.statistics(point: point, metric: target.metric) else {
                Terminal.error("\(target.metric) is not in the report of \(key)=\(value): not a report.json path")
                throw ExitCode(1)
            }
            if !quiet { Terminal.note("\(key)=\(value): \(target.metric) = \(SweepSummary.number(stats.mean)) (\(target.met(stats.mean) ? "meets" : "misses") the target)") }
            return stats.mean
        }
        current.search = Sweep.SearchRecord(key: key, target: target, range: range, resolution: resolution,
                                            answer: result.answer.map(range.text), direction: result.direction.rawValue)
        plan = current
        try writePlanFiles(plan)
        try summarise(plan)
    }

    func usage(_ message: String) -> ExitCode {
        Terminal.error(message)
        return ExitCode(64)
    }
}

/// Failures reported from process termination handlers (other threads).
final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
