import Foundation
import Reports
import SimCore
import Testing
@testable import Scenario
@testable import World

/// The control plane in whole runs: the shipped metastable-failure scenarios with and without
/// the overload controls, Little's law on every pool, the play request on the video-start path,
/// the exact sample against a fully exact run, partitions.
@Suite("Control plane")
struct ControlPlaneScenarioTests {
    func run(_ s: ResolvedScenario, threads: Int = 1) throws -> (JSONValue, WorldResults) {
        let run = ScenarioRun(s, threads: threads)
        try run.simulate()
        let report = run.report()
        return (report.json, report.results)
    }

    func number(_ json: JSONValue, _ path: String) throws -> Double {
        try #require(json.at(path.split(separator: ".").map(String.init))?.double, "\(path)")
    }

    /// The class figures of `name` in report.json.
    func classJSON(_ json: JSONValue, _ name: String) throws -> JSONValue {
        guard case let .array(classes)? = json.at(["metrics", "controlPlane", "classes"]) else { throw CancellationError() }
        return try #require(classes.first { $0["name"] == .string(name) })
    }

    /// The flush at minute 20: without controls the users database's queue outgrows the clients'
    /// timeout, no answer fills the cache, and goodput stays down to the end; with them it comes
    /// back within minutes.
    @Test("A cache flush at peak collapses the control plane for good without overload controls, and briefly with them",
          arguments: [true, false])
    func cacheFlushIsMetastableWithoutControls(controls: Bool) throws {
        let s = try faultScenario("cache-flush", ["duration=40 min", "controlPlane.controls.enabled=\(controls)"])
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: world.end)
        let json = RunReport(scenario: s, results: world.results()).json
        // Every call slot in use is a call in a pool or a cache lookup waiting for one: none leaks.
        let plane = try #require(world.controlPlane)
        let inPools = plane.pools.reduce(0) { $0 + $1.inFlight }
        #expect(plane.callsInUse <= 2 * inPools, "\(plane.callsInUse) call slots in use, \(inPools) calls in pools")
        let before = try number(json, "metrics.incidents.0.controlPlane.goodputPerSecond.before")
        let after = try number(json, "metrics.incidents.0.controlPlane.goodputPerSecond.after")
        let recovery = json.at(["metrics", "incidents", "0", "controlPlane", "goodputRecoveryMinutes"])
        if controls {
            #expect(try #require(recovery?.double) <= 12)
        } else {
            #expect(recovery == .null, "goodput never came back within the run")
            #expect(after < 0.1 * before)
            let queue = try #require(json.at(["timeseries", "poolQueue", "users#0"]))
            guard case let .array(levels) = queue else { throw CancellationError() }
            #expect((levels.last?.double ?? 0) > 1_000, "the users database's queue is still growing at the end")
        }
    }

    @Test("A retry storm on a slow database stays collapsed after the slowdown without controls; the retry budget and shedding end it",
          arguments: [true, false])
    func retryStormIsMetastableWithoutControls(controls: Bool) throws {
        let s = try faultScenario("retry-storm", ["duration=35 min", "controlPlane.controls.enabled=\(controls)"])
        let (json, _) = try run(s)
        let before = try number(json, "metrics.incidents.0.controlPlane.goodputPerSecond.before")
        let after = try number(json, "metrics.incidents.0.controlPlane.goodputPerSecond.after")
        let play = try classJSON(json, "play")
        if controls {
            #expect(try number(json, "metrics.incidents.0.controlPlane.goodputRecoveryMinutes") <= 3)
            #expect(after > 0.8 * before)
            #expect(try number(json, "metrics.controlPlane.retriesDeniedByBudget") > 0)
        } else {
            #expect(after < 0.1 * before, "goodput \(after)/s after the slowdown against \(before)/s before")
            #expect(try #require(play["attemptsPerRequest"]?.double) > 1.5, "timeouts retried")
            #expect(try number(json, "metrics.controlPlane.wastedCalls") > 10_000, "the database served calls whose clients had gone")
        }
    }

    /// L = λW per pool: the time-average calls in the pool against the arrival rate of completed
    /// calls times their mean time in it (steady load, no fault, 40 minutes).
    @Test("Little's law holds on every pool within 1%")
    func littlesLawOnEveryPool() throws {
        let s = try faultScenario("cache-flush", ["duration=40 min", "faults=[]"])
        let (_, results) = try run(s)
        let cp = try #require(results.controlPlane)
        let seconds = results.end.seconds
        for p in cp.pools {
            let n = p.busySeries.bucketCount
            let l = (0..<n).reduce(0.0) { $0 + p.busySeries.mean($1) + p.queueSeries.mean($1) } / Double(n) * (Double(n) * 60 / seconds)
            let lambdaW = Double(p.completed) / seconds * (p.sojournSeconds / Double(p.completed))
            #expect(p.completed > 1_000)
            #expect(abs(l / lambdaW - 1) < 0.01, "\(p.name): L = \(l), λW = \(lambdaW)")
        }
    }

    @Test("The play request's latency is part of the video start time")
    func playLatencyDelaysStarts() throws {
        func startP50(_ playback: String) throws -> Double {
            let s = try faultScenario("cache-flush", ["duration=20 min", "faults=[]", "regions[us-east].users=30k",
                                                      "controlPlane.services[playback].serviceTime=\(playback)"])
            return try number(run(s).0, "metrics.experience.startTimeMs.p50")
        }
        let fast = try startP50("10 ms"), slow = try startP50("510 ms")
        #expect(abs((slow - fast) - 500) < 50, "start p50 \(fast) ms with a 10 ms playback service, \(slow) ms with 510 ms")
    }

    /// A quarter of the users exact (every pool a quarter, in whole instances): each class's
    /// latency percentiles and rates against the run with every user exact. The pools are those of
    /// cache-flush with four times the instances (a pool of one or two instances scaled down loses
    /// what its balancer spread: docs/control-plane.md).
    @Test("The exact sample's latency distribution matches a fully exact run within 10%")
    func exactSampleMatchesFullyExactRun() throws {
        let common = ["duration=30 min", "faults=[]", "controlPlane.databases[users].instances=8", "controlPlane.databases[users].concurrency=2",
                      "controlPlane.databases[watch-history].instances=4", "controlPlane.services[playback].instances=4",
                      "controlPlane.services[home].instances=4", "controlPlane.services[recommendations].instances=4",
                      "controlPlane.services[history].instances=4", "controlPlane.caches[sessions].instances=4"]
        let (full, _) = try run(try faultScenario("cache-flush", common))
        let (half, halfResults) = try run(try faultScenario("cache-flush", common + ["controlPlane.exactFraction=25%"]))
        let cp = try #require(halfResults.controlPlane)
        #expect(abs(cp.intendedSlots - Double(cp.simulatedSlots)) < 1e-9, "whole instances at a quarter scale")
        for name in ["home", "play", "progress"] {
            let a = try classJSON(full, name), b = try classJSON(half, name)
            let exact = try #require(b["exactPercent"]?.double)
            #expect(exact > 20 && exact < 30)
            for p in ["p50", "p90", "p99"] {
                let x = try #require(a.at(["latencyMs", p])?.double), y = try #require(b.at(["latencyMs", p])?.double)
                #expect(abs(y / x - 1) < 0.10, "\(name) \(p): \(y) ms with half exact, \(x) ms all exact")
            }
            let ra = try #require(a["perSecond"]?.double), rb = try #require(b["perSecond"]?.double)
            #expect(abs(rb / ra - 1) < 0.05)
        }
    }

    /// Two regions, each its own PoP tree and control-plane copy: partitioned, the report does not
    /// depend on the worker threads, and each region's figures match the single event loop's.
    @Test("A partitioned run's control plane gives the same report with 1 and 2 threads")
    func partitionedControlPlaneIsDeterministic() throws {
        let extra = [
            "regions=[{id: us-east, utcOffset: -5 h, users: 40k}, {id: eu-west, utcOffset: 1 h, users: 40k}]",
            "pops=[{id: nyc-1, region: us-east, servers: 8, storage: 40 TB, egress: 40 Gbps}, {id: ams-1, region: eu-west, servers: 8, storage: 40 TB, egress: 40 Gbps}]",
            "controlPlane.regions=[us-east, eu-west]", "duration=20 min", "faults=[{type: cacheFlush, target: sessions, region: eu-west, at: 5 min}]",
            "execution.partitions=popTrees",
        ]
        let s = try faultScenario("cache-flush", extra)
        let (one, _) = try run(s, threads: 1)
        let (two, _) = try run(s, threads: 2)
        #expect(one.serialized(pretty: false) == two.serialized(pretty: false))
        let (single, _) = try run(try faultScenario("cache-flush", Array(extra.dropLast()) + ["execution.partitions=one"]))
        let a = try number(one, "metrics.controlPlane.classes.2.requests"), b = try number(single, "metrics.controlPlane.classes.2.requests")
        #expect(abs(a / b - 1) < 0.01, "progress writes partitioned \(a), one loop \(b)")
    }
}

@Suite("Control-plane scenario errors")
struct ControlPlaneErrorTests {
    static let plane = """
        controlPlane:
          regions: [us-east]
          services:
            - {id: gateway, instances: 2, serviceTime: {exponential: {mean: 2 ms}}}
          caches:
            - {id: sessions, keys: user, capacity: 1M, backing: users, instances: 1, serviceTime: {exponential: {mean: 1 ms}}}
          databases:
            - {id: users, shards: 2, instances: 1, serviceTime: {exponential: {mean: 5 ms}}}
          classes:
            - {id: play, trigger: play, slo: 300 ms, calls: [[gateway], [sessions]]}

        """

    @Test("A control plane as documented is valid")
    func valid() {
        #expect(problems(minimal + Self.plane) == [])
    }

    @Test("A call to something the control plane does not have names what it has")
    func unknownTarget() {
        #expect(problems(minimal + Self.plane.replacingOccurrences(of: "[[gateway], [sessions]]", with: "[[gateway], [sesions]]")) ==
            ["s.yaml:19:5: controlPlane.classes: [0].calls[1]: sesions is not a service, cache or database (one of gateway, sessions, users)"])
    }

    @Test("A control-plane fault needs a control plane, an existing target and shard")
    func faultTargets() {
        let flush = "faults:\n  - {type: cacheFlush, target: sessions, at: 10 min}\n"
        #expect(problems(minimal + flush).first?.contains("cacheFlush strikes the control plane: add a controlPlane: section") == true)
        #expect(problems(minimal + Self.plane + flush) == [])
        #expect(problems(minimal + Self.plane + "faults:\n  - {type: cacheFlush, target: gateway, at: 10 min}\n").first?
            .contains("a cacheFlush needs a cache (one of sessions)") == true)
        #expect(problems(minimal + Self.plane + "faults:\n  - {type: shardDown, target: users, shard: 2, at: 10 min}\n").first?
            .contains("users has shards 0 to 1") == true)
    }

    @Test("Two play classes are one too many")
    func onePlayClass() {
        let two = Self.plane + "    - {id: play2, trigger: play, slo: 300 ms, calls: [[gateway]]}\n"
        #expect(problems(minimal + two).first?.contains("at most one class has trigger: play") == true)
    }
}

@Suite("Control-plane faults")
struct ControlPlaneFaultTests {
    func report(_ overrides: [String]) throws -> JSONValue {
        let s = try faultScenario("cache-flush", ["duration=20 min"] + overrides)
        let world = World(configuration: s.worldConfiguration)
        try world.run(until: world.end)
        return RunReport(scenario: s, results: world.results()).json
    }

    func classFigure(_ json: JSONValue, _ name: String, _ key: String) throws -> Double {
        guard case let .array(classes)? = json.at(["metrics", "controlPlane", "classes"]) else { throw CancellationError() }
        return try #require(classes.first { $0["name"] == .string(name) }?[key]?.double, "\(name).\(key)")
    }

    @Test("With every recommendations instance lost, home pages are answered degraded (fallbacks), not failed")
    func fallbackRescuesHomePages() throws {
        let json = try report(["faults=[{type: instanceLoss, target: recommendations, lost: 100%, at: 5 min, duration: 10 min}]"])
        let fallback = try classFigure(json, "home", "fallbackPercent"), error = try classFigure(json, "home", "errorPercent")
        #expect(fallback > 30 && fallback < 70, "about half the run: \(fallback)%")
        #expect(error == 0)
        // The play request does not call recommendations.
        #expect(try classFigure(json, "play", "fallbackPercent") == 0)
    }

    @Test("With the users region's control plane down, its users fail over to the other copy, a cross-region round trip away")
    func outageFailsOverToTheNextCopy() throws {
        // The other copy's session cache is cold for us-east's users: its users database gets room
        // for their misses (at cache-flush's size it would collapse as in that scenario).
        let two = ["regions=[{id: us-east, utcOffset: -5 h, users: 100k}, {id: eu-west, utcOffset: 1 h, users: 1k}]", "controlPlane.regions=[us-east, eu-west]",
                   "controlPlane.databases[users].concurrency=32"]
        let calm = try report(two + ["faults=[]"])
        let outage = try report(two + ["faults=[{type: controlPlaneOutage, region: us-east, at: 0 min}]"])
        let failed = try classFigure(outage, "play", "errorPercent")
        #expect(failed < 1, "attempts go to the copy that is up: \(failed)% failed")
        // us-east to eu-west: clients.crossRegionRtt 20 ms base + 6 h × 8 ms = 68 ms more per attempt.
        guard case let .array(classes)? = outage.at(["metrics", "controlPlane", "classes"]), case let .array(base)? = calm.at(["metrics", "controlPlane", "classes"]),
              let a = classes[2].at(["latencyMs", "p50"])?.double, let b = base[2].at(["latencyMs", "p50"])?.double else { throw CancellationError() }
        #expect(abs((a - b) - 68) < 10, "progress p50 \(b) ms at home, \(a) ms from the other copy")
        guard case let .array(pools)? = outage.at(["metrics", "controlPlane", "pools"]) else { throw CancellationError() }
        let east = pools.filter { $0["region"] == .string("us-east") }.compactMap { $0["callsPerSecond"]?.double }.reduce(0, +)
        #expect(east == 0, "the copy that is down serves nothing")
    }
}
