import ArgumentParser
import Foundation
import Reports
import Scenario
import SimCore
import World

/// What `vodsim run` and `vodsim validate` use when given no scenario: the built-in copy of
/// Scenarios/smoke.yaml, so that they work from any folder.
let defaultScenario = BuiltInScenario.name

/// Options shared by the commands that read a scenario.
struct ScenarioOptions: ParsableArguments {
    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Override a scenario value, e.g. --set regions[0].users=2M or --set pops[nyc-1].egress=\"500 Gbps\" (repeatable).",
        valueName: "key.path=value"))
    var overrides: [String] = []

    // Taken as text, and whatever follows it: `--seed -5` is a bad seed, not a missing one.
    @Option(parsing: .unconditional, help: "Override the scenario's seed (a whole number from 0 to 2^63 - 1).")
    var seed: String?

    var allOverrides: [String] { overrides + (seed.map { ["seed=\($0)"] } ?? []) }

    func validate() throws {
        if let seed, UInt64(seed).map({ $0 <= UInt64(Int64.max) }) != true {
            throw ValidationError("--seed \(seed): a seed is a whole number from 0 to \(Int64.max)")
        }
    }

    /// Loads the scenario (the built-in one for nil), or prints every problem and exits with
    /// status 1.
    func load(_ file: String?) throws -> ResolvedScenario {
        let resolved: ResolvedScenario
        let path = file ?? BuiltInScenario.name
        do {
            if let file {
                resolved = try ScenarioLoader.load(path: file, overrides: allOverrides)
            } else {
                resolved = try ScenarioLoader.loadBuiltIn(overrides: allOverrides)
            }
        } catch {
            for problem in error.problems { Terminal.error(problem.description) }
            if error.problems.count > 1 { Terminal.error("\(error.problems.count) problems in \(path)") }
            throw ExitCode(1)
        }
        for warning in resolved.warnings { Terminal.warning(warning.description) }
        if let problem = MemoryEstimate(resolved).problem(available: Machine.memoryBytes) {
            Terminal.error("\(path): \(problem)")
            throw ExitCode(1)
        }
        return resolved
    }
}

/// `vodsim run`: simulate a scenario and write its report.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Simulate a scenario and write its report.",
        discussion: "With no scenario, runs the built-in default (a copy of Scenarios/smoke.yaml; --scenario-template prints it). The report goes to Reports/<scenario name>/ unless --out says otherwise."
    )

    @Argument(help: "The scenario file (YAML; default: the built-in smoke scenario).")
    var scenario: String?

    @Flag(name: .customLong("scenario-template"), help: "Print the built-in scenario, with its comments, to start a new scenario file from; run nothing.")
    var template = false

    @OptionGroup var options: ScenarioOptions

    @Option(help: "The report folder (default: Reports/<scenario name>/).")
    var out: String?

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Option(parsing: .unconditional, help: "Worker threads (default 1). The report is byte-identical whatever the number.")
    var threads: Int = 1

    @Option(name: .customLong("export-requests"), help: ArgumentHelp(
        "Also write every PoP request as CSV (time_us,pop,object_id,size_bytes,hit,request_bytes), for other cache simulators.",
        valueName: "file"))
    var exportRequests: String?

    @Option(name: .customLong("export-activity"), help: ArgumentHelp(
        "Also write every record the activity log accepted as CSV, with what the aggregators made of it, to recompute the data sets.",
        valueName: "file"))
    var exportActivity: String?

    func run() throws {
        if template {
            print(BuiltInScenario.text, terminator: "")
            return
        }
        let resolved = try options.load(scenario)
        if !quiet {
            print("vodsim \(VodsimVersion.string): \(resolved.name) (\(scenario ?? defaultScenario)), seed \(resolved.seed), resolved scenario sha256 \(resolved.hash.prefix(16))")
            fflush(nil)  // seen at once through a pipe, even if the run is then interrupted
            for key in resolved.notModelled { Terminal.note("\(key) is accepted but not modelled yet") }
        }
        guard threads >= 1 else {
            Terminal.error("--threads must be at least 1, got \(threads)")
            throw ExitCode(64)
        }
        if exportRequests != nil && resolved.worldConfiguration.execution.fidelity == .hybrid {
            Terminal.error("--export-requests needs execution.fidelity: segment: a hybrid run books a steady window's requests together, not one by one in time order")
            throw ExitCode(64)
        }
        let folderText = out ?? "Reports/\(resolved.name)"
        guard !folderText.isEmpty else {
            Terminal.error("--out needs a folder name, got an empty one")
            throw ExitCode(1)
        }
        let folder = URL(fileURLWithPath: folderText)
        try checkOutputs(folder: folder)
        Interruption.install()
        Interruption.message.set(PathKind(folder.path) == .missing
                                 ? "interrupted; no report was written (\(folderText) does not exist)"
                                 : "interrupted; the previous report at \(folderText) is kept")
        let run = ScenarioRun(resolved, threads: threads)
        let single = run.world as? World
        if exportRequests != nil && single == nil {
            Terminal.error("--export-requests needs one event loop (execution.partitions: one): a partitioned run's PoP requests are not in one time order")
            throw ExitCode(64)
        }
        var requests: StreamedFile?, activity: StreamedFile?
        do {
            if let exportRequests, let single { requests = try RequestExport.start(path: exportRequests, world: single) }
            if let exportActivity { activity = try ActivityExport.start(path: exportActivity, world: run.world) }
        } catch {
            requests?.abandon()
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
        defer { Interruption.message.setProgressShown(false) }
        try run.simulate(progress: quiet ? nil : ProgressLine.callback())
        if let activity { ActivityExport.finish(activity, world: run.world) }
        let report = run.report()
        try write(report, to: folder, exports: [requests, activity].compactMap { $0 })
        if !quiet {
            print()
            print(report.terminalSummary)
            print("report: \(folderText)/report.html, \(folderText)/report.json, \(folderText)/summary.md" + (exportRequests.map { ", requests: \($0)" } ?? "")
                  + (exportActivity.map { ", activity: \($0)" } ?? ""))
        }
    }

    /// Before anything is simulated: the report folder may be written (and replaced only if
    /// vodsim wrote it), each export file may be created, and no output lies inside another.
    func checkOutputs(folder: URL) throws {
        var problems: [String] = []
        do { try ReportFolder.check(folder) } catch { problems.append(error.description) }
        let exports = [("--export-requests", exportRequests, RequestExport.header),
                       ("--export-activity", exportActivity, ActivityExport.header)]
        var seen: [String] = []
        let folderPath = folder.standardizedFileURL.path
        for case let (role, path?, header) in exports {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            if absolute.hasPrefix(folderPath + "/") {
                problems.append("\(path): \(role) cannot write into the report folder \(folder.relativePath), which the report replaces whole; put it beside it")
                continue
            }
            if seen.contains(absolute) {
                problems.append("\(path): given to two exports; each needs a file of its own")
                continue
            }
            seen.append(absolute)
            do {
                try OutputPath.checkFile(path, role: role) { $0.starts(with: Data(header.utf8)) }
            } catch {
                problems.append(error.description)
            }
        }
        guard problems.isEmpty else {
            for problem in problems { Terminal.error(problem) }
            throw ExitCode(1)
        }
    }

    /// Writes the report and the exports so that either all appear or none does: the report is
    /// staged and the exports synced first, then the renames, under a hold on signal cleanup; a
    /// failure puts the previous report back.
    func write(_ report: RunReport, to folder: URL, exports: [StreamedFile]) throws {
        let staged: StagedFolder
        do {
            staged = try report.stage(to: folder)
        } catch {
            for file in exports { file.abandon() }
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
        do {
            for file in exports { try file.prepare() }
            try staged.swap()
        } catch {
            staged.discard()
            for file in exports { file.abandon() }
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
        do {
            try Staging.shared.critical {
                for file in exports { try file.publish() }
            }
        } catch {
            staged.rollback()
            for file in exports { file.abandon() }
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
        staged.finish()
        Interruption.message.set("interrupted; the report at \(folder.relativePath) is complete")
    }
}

/// `vodsim validate`: check a scenario and print it resolved.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a scenario and print it with every default filled in (YAML)."
    )

    @Argument(help: "The scenario file (YAML; default: the built-in smoke scenario).")
    var scenario: String?

    @OptionGroup var options: ScenarioOptions

    @Flag(name: .customLong("scenario-template"), help: "Print the built-in scenario, with its comments, to start a new scenario file from.")
    var template = false

    func run() throws {
        if template {
            print(BuiltInScenario.text, terminator: "")
            return
        }
        let resolved = try options.load(scenario)
        for key in resolved.notModelled { Terminal.note("\(key) is accepted but not modelled yet") }
        print("# \(resolved.name): resolved by vodsim \(VodsimVersion.string), sha256 \(resolved.hash)")
        print(resolved.yaml, terminator: "")
    }
}

/// The machine a run is on: what limits the scenarios it can take.
enum Machine {
    /// Physical memory, or the control group's limit when it is lower (a container's).
    static var memoryBytes: Double {
        var bytes = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        for file in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
               let limit = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0 {
                bytes = min(bytes, limit)
            }
        }
        return bytes
    }
}

/// Messages to the terminal: errors and notes on stderr, so stdout stays clean for data.
enum Terminal {
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    static func error(_ message: String) { write("error: \(message)\n") }
    static func warning(_ message: String) { write("warning: \(message)\n") }
    static func note(_ message: String) { write("note: \(message)\n") }

    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// The progress line: simulated time, events per second and an estimate of the time left, redrawn
/// at most twice a second on a terminal; one final line per run otherwise. Wall-clock time is used
/// only here, never in results.
final class ProgressLine {
    let enabled: Bool
    let clock = ContinuousClock()
    var started: ContinuousClock.Instant
    var lastDraw: ContinuousClock.Instant
    /// The run being drawn (nil: the scenario's own; else the comparison's label).
    var label: String?

    init(enabled: Bool) {
        self.enabled = enabled
        started = clock.now
        lastDraw = started
    }

    /// A callback for ``ScenarioRun/simulate(until:progress:)``: draws on a terminal, prints each
    /// run's final line.
    static func callback() -> (ScenarioRun.Progress) -> Void {
        let line = ProgressLine(enabled: Terminal.stderrIsTerminal)
        Interruption.message.setProgressShown(line.enabled)
        return { progress in line.show(progress) }
    }

    func show(_ p: ScenarioRun.Progress) {
        if p.label != label {
            label = p.label
            started = clock.now
        }
        if p.finished {
            finish(p)
        } else {
            update(p)
        }
    }

    var prefix: String { label.map { "\($0): " } ?? "" }

    func update(_ p: ScenarioRun.Progress) {
        guard enabled else { return }
        let wall = clock.now
        guard (wall - lastDraw) >= .milliseconds(500) else { return }
        lastDraw = wall
        let elapsed = (wall - started).secondsDouble
        let fraction = p.now.seconds / max(p.end.seconds, 1e-9)
        let eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        let line = "  \(prefix)simulated \(ProgressLine.clockText(p.now.seconds)) of \(ProgressLine.clockText(p.end.seconds))"
            + String(format: "  %.2fM events/s  ETA %.0f s", Double(p.events) / max(elapsed, 1e-9) / 1e6, eta)
        Terminal.write("\r" + line + "   ")
    }

    func finish(_ p: ScenarioRun.Progress) {
        let elapsed = (clock.now - started).secondsDouble
        if enabled { Terminal.write("\r" + String(repeating: " ", count: 78) + "\r") }
        Terminal.write(prefix + String(format: "simulated %@ in %.2f s: %llu events (%.2fM events/s)\n",
                              ProgressLine.clockText(p.end.seconds), elapsed, p.events, Double(p.events) / max(elapsed, 1e-9) / 1e6))
    }

    static func clockText(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%02d:%02d:%02d", s / 3_600, s % 3_600 / 60, s % 60)
    }
}
