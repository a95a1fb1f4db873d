import ArgumentParser
import Foundation
import Reports
import Scenario
import Stochastics

/// `vodsim check-fidelity`: a scenario at segment and at hybrid fidelity, metric by metric against
/// the fidelity contract; over replications, with the confidence interval of each difference.
struct FidelityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-fidelity",
        abstract: "Run a scenario at segment and at hybrid fidelity and compare them against the fidelity contract.",
        discussion: """
            Runs the scenario twice, with execution.fidelity set to segment (the reference) and to \
            hybrid, same seed, and prints each metric of the contract (docs/world.md, Fidelity) with \
            the difference and its tolerance. With --replications N, runs N such pairs with the \
            seeds a sweep's replications get (the first is the scenario's) and judges each metric by \
            the 90% confidence interval of the mean paired difference (two one-sided tests at 5%): \
            within when all of it is within the tolerance, BEYOND when all of it is beyond, \
            unresolved otherwise (the seeds \
            cannot tell; add replications or lower the sampling factor). Exit status: 0 when every \
            metric is within its tolerance; 1 when one is beyond it, or on a bad scenario; 3 when \
            none is beyond but one is unresolved.
            """
    )

    @Argument(help: "The scenario file (YAML; default: the built-in smoke scenario).")
    var scenario: String?

    @OptionGroup var options: ScenarioOptions

    @Option(parsing: .unconditional, help: "Worker threads for each run (default 1).")
    var threads: Int = 1

    @Option(parsing: .unconditional, help: "Pairs of runs, each pair with its own seed (default 1).")
    var replications: Int = 1

    @Option(help: "text or json.")
    var format: Format = .text

    enum Format: String, ExpressibleByArgument { case text, json }

    func run() throws {
        guard threads >= 1 else {
            Terminal.error("--threads must be at least 1, got \(threads)")
            throw ExitCode(64)
        }
        guard (1...100).contains(replications) else {
            Terminal.error("--replications must be from 1 to 100, got \(replications)")
            throw ExitCode(64)
        }
        // Every run's scenario is loaded (and so checked) before the first one simulates.
        let baseSeed = try options.load(scenario).seed
        let seeds = (0..<replications).map { Sweep.seed(base: baseSeed, replication: $0) }
        var runs: [[ResolvedScenario]] = []
        for seed in seeds {
            runs.append(try ["segment", "hybrid"].map { fidelity in
                var pinned = options
                pinned.overrides.append("execution.fidelity=\(fidelity)")
                pinned.seed = String(seed)
                let resolved = try pinned.load(scenario)
                // The seed printed is the seed that ran.
                guard resolved.seed == seed else {
                    Terminal.error("\(scenario ?? defaultScenario): replication seed \(seed) resolved to \(resolved.seed)")
                    throw ExitCode(1)
                }
                return resolved
            })
        }
        var reports: [(segment: JSONValue, hybrid: JSONValue)] = []
        var events: [(UInt64, UInt64)] = []
        var steady: [Double] = []
        var seconds = (segment: 0.0, hybrid: 0.0)
        for (r, pair) in runs.enumerated() {
            var json: [JSONValue] = []
            var counts: [UInt64] = []
            for (f, resolved) in pair.enumerated() {
                if replications > 1 { Terminal.note("replication \(r + 1) of \(replications) (seed \(seeds[r])): \(f == 0 ? "segment" : "hybrid")") }
                let clock = Date()
                let run = ScenarioRun(resolved, threads: threads)
                try run.simulate()
                let elapsed = Date().timeIntervalSince(clock)
                if f == 0 { seconds.segment += elapsed } else { seconds.hybrid += elapsed }
                json.append(run.report().json)
                counts.append(run.world.eventsProcessed)
            }
            reports.append((json[0], json[1]))
            events.append((counts[0], counts[1]))
            if let share = json[1].at(["fidelity", "steadySharePercent"])?.double { steady.append(share) }
        }
        let name = scenario ?? defaultScenario
        let failed: Bool
        let unresolved: Bool
        if replications == 1 {
            let rows = FidelityCheck.compare(segment: reports[0].segment, hybrid: reports[0].hybrid)
            failed = !FidelityCheck.passed(rows)
            unresolved = false
            switch format {
            case .text:
                print("\(name): segment \(events[0].0) events, hybrid \(events[0].1) events; steady share \(steadyShare(steady))")
                print(FidelityCheck.table(rows).plain, terminator: "")
                let beyond = rows.filter { !$0.within }.count
                print(failed ? "beyond the fidelity contract: \(beyond) metric(s)" : "within the fidelity contract")
            case .json:
                print(FidelityCheck.json(rows).serialized(pretty: true))
            }
        } else {
            let estimates = FidelityCheck.estimates(reports) { Statistics.confidenceInterval($0, level: 0.90).halfWidth }
            let verdicts = estimates.map(\.verdict)
            failed = verdicts.contains(.beyond)
            unresolved = verdicts.contains(.unresolved)
            switch format {
            case .text:
                let segmentEvents = events.reduce(0) { $0 + $1.0 }, hybridEvents = events.reduce(0) { $0 + $1.1 }
                print("\(name): \(replications) replications, seeds \(seeds.map(String.init).joined(separator: ", "));"
                      + " segment \(segmentEvents) events, hybrid \(hybridEvents) events in all; steady share \(steadyShare(steady))")
                print(FidelityCheck.table(estimates).plain, terminator: "")
                let beyond = verdicts.filter { $0 == .beyond }.count, open = verdicts.filter { $0 == .unresolved }.count
                print(failed ? "beyond the fidelity contract: \(beyond) metric(s)" + (open > 0 ? "; \(open) unresolved" : "")
                      : unresolved ? "unresolved: \(open) metric(s) the replications cannot place within or beyond the contract; none beyond it"
                      : "within the fidelity contract")
            case .json:
                print(FidelityCheck.json(estimates, seeds: seeds).serialized(pretty: true))
            }
        }
        // Wall time is printed to stderr only: it is not a result.
        Terminal.note("wall time: segment \(String(format: "%.1f", seconds.segment)) s, hybrid \(String(format: "%.1f", seconds.hybrid)) s")
        if failed { throw ExitCode(1) }
        if unresolved { throw ExitCode(3) }
    }

    /// The hybrid runs' mean steady share.
    private func steadyShare(_ shares: [Double]) -> String {
        guard !shares.isEmpty else { return "no data" }
        return Tolerance.trim(shares.reduce(0, +) / Double(shares.count)) + "% of session-time"
    }
}
