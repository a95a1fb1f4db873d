import Foundation
import Reports
import SimCore
import World

/// Running a scenario, as a library use case: the world (one event loop or a partitioned run), the
/// comparison run its `compare:` section asks for, worker threads, the request and activity
/// exports, progress, and the report. `vodsim run` and `vodsim bench scenario` are thin wrappers
/// around it (parse arguments, call, print, exit code); sweep workers are `vodsim run` processes.
///
/// Results depend on the scenario alone: not on `threads`, nor on how often progress is reported.
public final class ScenarioRun {
    public let scenario: ResolvedScenario
    public let threads: Int
    /// The scenario's world, and its comparison's (nil without `compare:`).
    public let world: any WorldRun
    public let comparisonWorld: (any WorldRun)?

    /// Where a run is, for a progress line: which run (nil: the scenario's own; else the
    /// comparison's label), the simulated time, the events so far, and whether it has ended.
    public struct Progress: Sendable {
        public var label: String?
        public var now: SimInstant
        public var end: SimInstant
        public var events: UInt64
        public var finished: Bool
    }

    /// Builds the worlds (population, catalog, manifests, placement, the sessions in progress at
    /// the start): the set-up a benchmark times apart from the simulation.
    public init(_ scenario: ResolvedScenario, threads: Int = 1) {
        precondition(threads >= 1, "at least one thread")
        self.scenario = scenario
        self.threads = threads
        var configuration = scenario.worldConfiguration
        configuration.threads = threads
        world = makeWorld(configuration: configuration)
        comparisonWorld = scenario.comparison.map { comparison in
            var other = comparison.scenario.worldConfiguration
            other.threads = threads
            return makeWorld(configuration: other)
        }
    }

    /// Simulates the scenario (and its comparison) to `limit`, or to the end. With more than one
    /// thread the comparison runs on a worker thread meanwhile (the two worlds share nothing);
    /// progress is reported for the scenario's own run then, for each run in turn otherwise.
    public func simulate(until limit: SimInstant? = nil, progress: ((Progress) -> Void)? = nil) throws {
        guard let other = comparisonWorld else { return try ScenarioRun.simulate(world, until: limit, label: nil, progress: progress) }
        let label = scenario.comparison?.label
        if threads > 1 {
            let box = WorkerRun(world: other)
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                do { try box.world.run(until: limit.map { min($0, box.world.end) } ?? box.world.end) } catch { box.error = error }
                done.signal()
            }
            thread.stackSize = 8 << 20
            thread.start()
            try ScenarioRun.simulate(world, until: limit, label: nil, progress: progress)
            done.wait()
            if let error = box.error { throw error }
        } else {
            try ScenarioRun.simulate(world, until: limit, label: nil, progress: progress)
            try ScenarioRun.simulate(other, until: limit, label: label, progress: progress)
        }
    }

    /// The report of what was simulated (call after ``simulate(until:progress:)``).
    public func report() -> RunReport {
        let comparison = both(scenario.comparison, comparisonWorld).map { c, other in
            RunReport.Comparison(label: c.label, overrides: c.overrides, results: other.results())
        }
        return RunReport(scenario: scenario, results: world.results(), comparison: comparison)
    }

    /// Runs `world` to `limit` in slices that only pace the progress reports (the result does not
    /// depend on them), then reports its end.
    static func simulate(_ world: any WorldRun, until limit: SimInstant?, label: String?, progress: ((Progress) -> Void)?) throws {
        let stop = limit.map { min($0, world.end) } ?? world.end
        guard let progress else { return try world.run(until: stop) }
        let slice = SimDuration(microseconds: max(1, world.configuration.duration.microseconds / 400))
        var t = world.now
        while t < stop {
            t = min(stop, t + slice)
            try world.run(until: t)
            progress(Progress(label: label, now: world.now, end: stop, events: world.eventsProcessed, finished: false))
        }
        progress(Progress(label: label, now: world.now, end: stop, events: world.eventsProcessed, finished: true))
    }
}

/// A world handed to one worker thread, and read again only after it signalled that it finished.
final class WorkerRun: @unchecked Sendable {
    let world: any WorldRun
    var error: Error?

    init(world: any WorldRun) { self.world = world }
}

private func both<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
