import ArgumentParser
import Foundation
import Reports
import Scenario
import SimCore
import World

/// `vodsim bench scenario`: a whole scenario's speed and memory, set-up and simulation apart.
struct ScenarioBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scenario",
        abstract: "Run a scenario and report wall time, simulated events, events/s, peak RSS and the simulated-to-wall ratio.",
        discussion: """
            Builds the world (population, catalog, manifests, placement) and simulates it, timing the \
            two apart; the report is not written unless --out is given. --simulate stops after a \
            shorter simulated span, to measure a long scenario's steady rate without running it whole.
            """
    )

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @OptionGroup var options: ScenarioOptions

    @Option(help: "Simulate only this much of the scenario, e.g. \"5 min\" (default: all of it).")
    var simulate: String?

    @Option(help: "Worker threads (results do not depend on it).")
    var threads: Int = 1

    @Option(help: "Also write the report into this folder.")
    var out: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
    }

    func run() throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        let resolved = try options.load(scenario)
        if let out {
            do { try ReportFolder.check(URL(fileURLWithPath: out)) } catch {
                Terminal.error("\(error)")
                throw ExitCode(1)
            }
        }
        let run = ScenarioRun(resolved, threads: threads)
        let world = run.world
        let t1 = clock.now
        var limit = world.end
        if let simulate {
            guard let seconds = try? Quantity.parse(simulate, as: .duration), seconds > 0 else {
                Terminal.error("--simulate: expected a duration such as 5 min, got \(simulate)")
                throw ExitCode(1)
            }
            limit = min(world.end, SimInstant.zero + SimDuration(seconds: seconds))
        }
        try run.simulate(until: limit)
        let t2 = clock.now
        if let out {
            do {
                try run.report().write(to: URL(fileURLWithPath: out))
            } catch {
                Terminal.error("\(error)")
                throw ExitCode(1)
            }
        }
        let setup = (t1 - t0).secondsDouble, simulation = (t2 - t1).secondsDouble
        // A scenario with a comparison simulates both runs: both count.
        let events = world.eventsProcessed + (run.comparisonWorld?.eventsProcessed ?? 0)
        let simulated = Double((limit - SimInstant.zero).microseconds) / 1e6
        let rate = simulation > 0 ? Double(events) / simulation : 0
        let rss = ProcessStats.peakResidentBytes()
        let estimate = MemoryEstimate(resolved).total
        let sessions = world.peakSessions
        let partitions = (world as? PartitionedWorld)?.plan.count ?? 1
        // Session-time simulated, approximated as the most sessions at once over the span (the
        // peak scenarios hold their concurrency within a few percent): once steady sessions
        // advance many segments per event, session-hours per second is the figure, not events.
        let sessionHours = Double(sessions) * simulated / 3_600
        let sessionHoursPerSecond = simulation > 0 ? sessionHours / simulation : 0
        let steadyShare = world.hybridFigures.map { $0.sessionTimeUs / max(1, Double(sessions) * simulated * 1e6) }
        if json {
            // Through the report's JSON writer: a scenario's name is the user's text and needs escaping.
            let object: JSONValue = .object([
                ("scenario", .string(resolved.name)), ("threads", .integer(Int64(threads))),
                ("setupSeconds", .rounded(setup, digits: 3)), ("simulationSeconds", .rounded(simulation, digits: 3)),
                ("wallSeconds", .rounded(setup + simulation, digits: 3)), ("simulatedSeconds", .rounded(simulated, digits: 0)),
                ("events", .integer(Int64(events))), ("eventsPerSecond", .rounded(rate, digits: 0)),
                ("simulatedToWall", .rounded(simulation > 0 ? simulated / simulation : 0, digits: 3)),
                ("peakRSSBytes", .integer(Int64(rss))), ("estimatedMemoryBytes", .integer(Int64(estimate))), ("sessionRecordBytes", .integer(Int64(World.sessionRecordBytes))),
                ("queuedEventBytes", .integer(Int64(World.queuedEventBytes))), ("peakSessions", .integer(Int64(sessions))),
                ("sampling", .integer(Int64(resolved.worldConfiguration.sampling))), ("partitions", .integer(Int64(partitions))),
                ("sessionHoursPerSecond", .rounded(sessionHoursPerSecond, digits: 1)),
                ("steadyShare", steadyShare.map { .rounded($0, digits: 4) } ?? .null),
            ])
            print(object.serialized(pretty: false))
        } else {
            print("""
                scenario:         \(resolved.name) (\(scenario)), sampling 1 in \(resolved.worldConfiguration.sampling), \(threads) thread(s), \(partitions) partition(s)
                set-up:           \(fixed(setup, 2)) s (population, catalog, manifests, placement)
                simulation:       \(fixed(simulation, 2)) s for \(fixed(simulated / 60, 1)) simulated minutes
                wall:             \(fixed(setup + simulation, 2)) s
                events:           \(events)
                events/s:         \(fixed(rate / 1e6, 2))M
                simulated/wall:   \(fixed(simulation > 0 ? simulated / simulation : 0, 2))x
                session-hours/s:  \(fixed(sessionHoursPerSecond, 0)) (simulated sessions at their peak × simulated time, per second of simulation)
                fidelity:         \(steadyShare.map { "hybrid, at least \(fixed(100 * $0, 1))% of session-time in steady windows (those ended by the stop)" } ?? "segment")
                peak sessions:    \(sessions) simulated at once
                peak RSS:         \(fixed(Double(rss) / 1_073_741_824, 2)) GiB (validation estimated \(fixed(estimate / 1_073_741_824, 2)) GiB for the whole run)
                layout:           \(World.sessionRecordBytes) bytes per session record, \(World.queuedEventBytes) per pending event
                event queue:      \(world.queueDiagnostics)
                """)
        }
    }

    func fixed(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
}
