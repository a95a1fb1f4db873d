import ArgumentParser
import Foundation
import Reports
import Scenario

/// `vodsim check-fidelity`: a scenario at segment and at hybrid fidelity, metric by metric against
/// the fidelity contract.
struct FidelityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-fidelity",
        abstract: "Run a scenario at segment and at hybrid fidelity and compare them against the fidelity contract.",
        discussion: """
            Runs the scenario twice, with execution.fidelity set to segment (the reference) and to \
            hybrid, same seed, and prints each metric of the contract (docs/world.md, Fidelity) with \
            the difference and its tolerance. Exit status: 0 when every metric is within its \
            tolerance, 1 when one is not, or on a bad scenario.
            """
    )

    @Argument(help: "The scenario file (YAML; default: the built-in smoke scenario).")
    var scenario: String?

    @OptionGroup var options: ScenarioOptions

    @Option(parsing: .unconditional, help: "Worker threads for each run (default 1).")
    var threads: Int = 1

    @Option(help: "text or json.")
    var format: Format = .text

    enum Format: String, ExpressibleByArgument { case text, json }

    func run() throws {
        guard threads >= 1 else {
            Terminal.error("--threads must be at least 1, got \(threads)")
            throw ExitCode(64)
        }
        var reports: [JSONValue] = []
        var events: [UInt64] = []
        var seconds: [Double] = []
        for fidelity in ["segment", "hybrid"] {
            var withFidelity = options
            withFidelity.overrides.append("execution.fidelity=\(fidelity)")
            let resolved = try withFidelity.load(scenario)
            let clock = Date()
            let run = ScenarioRun(resolved, threads: threads)
            try run.simulate()
            seconds.append(Date().timeIntervalSince(clock))
            let report = run.report()
            events.append(run.world.eventsProcessed)
            reports.append(report.json)
        }
        let rows = FidelityCheck.compare(segment: reports[0], hybrid: reports[1])
        let passed = FidelityCheck.passed(rows)
        switch format {
        case .text:
            let name = scenario ?? defaultScenario
            print("\(name): segment \(events[0]) events, hybrid \(events[1]) events; steady share \(steadyShare(reports[1]))")
            print(FidelityCheck.table(rows).plain, terminator: "")
            let beyond = rows.filter { !$0.within }.count
            print(passed ? "within the fidelity contract" : "beyond the fidelity contract: \(beyond) metric(s)")
        case .json:
            print(FidelityCheck.json(rows).serialized(pretty: true))
        }
        // Wall time is printed to stderr only: it is not a result.
        Terminal.note("wall time: segment \(String(format: "%.1f", seconds[0])) s, hybrid \(String(format: "%.1f", seconds[1])) s")
        if !passed { throw ExitCode(1) }
    }

    private func steadyShare(_ report: JSONValue) -> String {
        guard let share = report.at(["fidelity", "steadySharePercent"])?.double else { return "no data" }
        return Tolerance.trim(share) + "% of session-time"
    }
}
