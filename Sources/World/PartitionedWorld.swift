import Activity
import Dispatch
import Metrics
import SimCore
import Synchronization

/// A simulation to run: the whole platform in one event loop (`World`), or split into partitions
/// (`PartitionedWorld`). `makeWorld(configuration:)` picks by `execution.partitions`.
public protocol WorldRun: AnyObject {
    var configuration: WorldConfiguration { get }
    var end: SimInstant { get }
    var now: SimInstant { get }
    var eventsProcessed: UInt64 { get }
    /// The most sessions in progress at once so far.
    var peakSessions: Int { get }
    var queueDiagnostics: String { get }
    /// With hybrid fidelity, what the steady windows covered so far (nil: segment fidelity).
    var hybridFigures: HybridFigures? { get }
    /// Receives every record the aggregators read (`--export-activity`; see `World.activityExport`).
    var activityExport: ((ActivityEvent, ApplyOutcome, Int64?, Bool) -> Void)? { get set }
    var unreadRecords: [ActivityEvent] { get }
    func run(until limit: SimInstant) throws
    func results() -> WorldResults
}

/// The world for a configuration: one event loop, or a partitioned run when the scenario asks for
/// one and its topology has more than one partition.
public func makeWorld(configuration c: WorldConfiguration) -> any WorldRun {
    PartitionPlan(c).count > 1 ? PartitionedWorld(configuration: c) : World(configuration: c)
}

/// The platform split into partitions (`PartitionPlan`: one per PoP tree with the regions it
/// serves), each a `World` with its own event loop, run side by side on the worker threads; a
/// further world runs the shared activity log and its aggregators.
///
/// Partitions share nothing while they run. Every `execution.syncInterval` of simulated time they
/// stop at a synchronisation point, where, in a fixed order:
/// 1. each partition's view of the log's append servers moves on to the log's state at the
///    synchronisation point before (a client decides whether its append is refused from that view
///    plus its own partition's appends since);
/// 2. the appends their clients made are merged by (send time, partition, order made), and the
///    log's world takes them during the next interval, alongside the partitions: append servers,
///    aggregators, publications, exactly as one world would for that arrival order;
/// 3. their session starts and ends are merged in the same order into the global concurrency;
/// 4. every origin replica's egress is shared out again between the partitions, in proportion to
///    the transfers each has on it (active and waiting), at least 1% of an equal share each.
///
/// So the report depends on the scenario and seed, never on the thread count or on how the run is
/// sliced. What is simplified against the one-loop model, and why (the cost of exchanging
/// messages more often than the partitions' work allows): a client is steered only among its
/// partition's PoPs (failover does not cross partitions); a partition sees the other
/// partitions' use of an origin replica up to one interval late, and of the log up to two.
public final class PartitionedWorld: WorldRun, @unchecked Sendable {
    public let configuration: WorldConfiguration
    public let plan: PartitionPlan
    /// The partitions' worlds (index = partition), then the log's.
    let worlds: [World]
    var log: World { worlds[plan.count] }
    var clock: SimInstant = .zero
    /// Sessions in progress over all partitions, replayed from their starts and ends.
    var concurrency: Gauge
    var concurrencySeries: TimeWeightedSeries
    /// Events each partition handled in the last interval: the heaviest start first.
    var lastEvents: [UInt64]
    /// Where the log's world is to run during the next interval (the last synchronisation point).
    var logDue: SimInstant?
    /// Appends handed to the log's world so far.
    var landings: UInt64 = 0

    public init(configuration c: WorldConfiguration) {
        configuration = c
        let plan = PartitionPlan(c)
        self.plan = plan
        // The log's world first: it owns no region or PoP, and loads every title once for all.
        let log = World(configuration: c, shard: plan.shard(plan.count), titles: nil)
        log.library.preloadAll(threads: c.threads)
        let titles = UncheckedBox(log.library)
        let built = Parallel.map(count: plan.count, threads: c.threads) { p in
            UncheckedBox(World(configuration: c, shard: plan.shard(p), titles: titles.value))
        }
        worlds = built.map(\.value) + [log]
        let initial = worlds.reduce(0.0) { $0 + Double($1.global.initial) }
        concurrency = Gauge(initial)
        concurrencySeries = TimeWeightedSeries(bucketWidth: c.metricsBucket, initial: initial)
        lastEvents = Array(repeating: 0, count: plan.count + 1)
        apportionOrigins(initial: true)
    }

    public var end: SimInstant { .zero + configuration.duration }
    public var now: SimInstant { clock }
    /// Events handled by every world, not counting the log's world taking the partitions' appends
    /// (one world does that inside the client's report).
    public var eventsProcessed: UInt64 { worlds.reduce(0) { $0 + $1.eventsProcessed } - landings }
    public var hybridFigures: HybridFigures? {
        worlds.compactMap(\.hybridFigures).reduce(nil) { ($0 ?? HybridFigures()) + $1 }
    }
    public var peakSessions: Int { worlds.reduce(0) { $0 + $1.peakSessions } }
    public var queueDiagnostics: String {
        "\(plan.count) partitions + the log; " + worlds.indices.map { "[\($0)] \(worlds[$0].queueDiagnostics)" }.joined(separator: "; ")
    }
    public var activityExport: ((ActivityEvent, ApplyOutcome, Int64?, Bool) -> Void)? {
        get { log.activityExport }
        set { log.activityExport = newValue }
    }
    public var unreadRecords: [ActivityEvent] { log.unreadRecords }

    /// Simulates up to `limit` (exclusive), or to the end; slicing does not change results.
    public func run(until limit: SimInstant) throws {
        let stop = min(limit, end)
        let interval = configuration.execution.syncInterval.microseconds
        if clock == .zero { applyHistory() }
        while clock < stop {
            let nextSync = min(end, SimInstant(microseconds: (clock.microseconds / interval + 1) * interval))
            let t = min(stop, nextSync)
            try runPartitions(until: t)
            clock = t
            if t == nextSync { try synchronise(at: t) }
        }
    }

    /// Before the first event: the plays of the partitions' sessions in progress at the start go
    /// to the aggregators, in the log's world, partition by partition, each in event time. A
    /// profile is in one partition, and history does not move the watermark, so the aggregators'
    /// state is what one world's global order gives.
    func applyHistory() {
        let plays = worlds.reduce(0) { $0 + $1.clients.history.count }
        log.activityLog.aggregator.reserveCapacity(clients: plays, profiles: plays)
        for p in 0..<plan.count {
            worlds[p].clients.sortHistory()
            for k in worlds[p].clients.history.indices { log.activityLog.applyHistory(worlds[p].clients.historyRecord(k, sessions: worlds[p].sessions)) }
            worlds[p].clients.history = []
        }
    }

    /// Each partition runs to `t`, and meanwhile the log's world takes the appends of the interval
    /// before (up to `logDue`), on up to `threads` threads, the busiest of the last interval first
    /// (which thread runs which world changes nothing but the wall time).
    func runPartitions(until t: SimInstant) throws {
        let before = worlds.map(\.eventsProcessed)
        var targets = Array(repeating: t, count: plan.count)
        if let logDue {
            targets.append(logDue)
            self.logDue = nil
        }
        let targetTimes = targets
        let workers = max(1, min(configuration.threads, targets.count))
        if workers == 1 {
            for w in targets.indices { try worlds[w].run(until: targets[w]) }
        } else {
            let order = targets.indices.sorted { lastEvents[$0] > lastEvents[$1] || (lastEvents[$0] == lastEvents[$1] && $0 < $1) }
            let next = Atomic<Int>(0)
            let failures = Mutex<[Error]>([])
            let shared = UncheckedBox(self)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    let k = next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard k < order.count else { return }
                    let w = order[k]
                    do { try shared.value.worlds[w].run(until: targetTimes[w]) } catch { failures.withLock { $0.append(error) } }
                }
            }
            if let error = failures.withLock({ $0.first }) { throw error }
        }
        for w in worlds.indices where worlds[w].eventsProcessed != before[w] { lastEvents[w] = worlds[w].eventsProcessed - before[w] }
    }

    /// The exchanges at a synchronisation point (see the type's documentation), in a fixed order.
    func synchronise(at t: SimInstant) throws {
        // 1. The log's world has taken the appends of the interval before: the partitions' view of
        // the append servers moves on to its state then (or stays at their own appends, if later).
        log.activityLog.inbox.removeAll(keepingCapacity: true)
        for p in 0..<plan.count {
            for q in log.activityLog.partitions.indices {
                worlds[p].activityLog.partitions[q].appendBusyUntil = max(worlds[p].activityLog.partitions[q].appendBusyUntil,
                                                                       log.activityLog.partitions[q].appendBusyUntil)
            }
        }
        // 2. This interval's appends, merged, for the log's world to take during the next interval
        // (at the end, at once).
        let landings = PartitionedWorld.merged(worlds.prefix(plan.count).map(\.activityLog.outbox)) { $0.time }
        for p in 0..<plan.count { worlds[p].activityLog.outbox.removeAll(keepingCapacity: true) }
        log.activityLog.inbox = landings
        self.landings += UInt64(landings.count)
        for (k, landing) in landings.enumerated() { log.sim.schedule(.land(index: UInt32(k)), at: landing.time) }
        if t == end {
            try log.run(until: t)
            log.activityLog.inbox.removeAll(keepingCapacity: true)
        } else {
            logDue = t
        }
        // 3. Sessions in progress.
        let changes = PartitionedWorld.merged(worlds.prefix(plan.count).map(\.concurrencyChanges)) { $0.time }
        for p in 0..<plan.count { worlds[p].concurrencyChanges.removeAll(keepingCapacity: true) }
        for change in changes {
            concurrency.add(change.delta, at: change.time)
            concurrencySeries.add(change.delta, at: change.time)
        }
        // 4. Origin capacity.
        apportionOrigins(initial: false)
    }

    /// Shares every origin replica's egress out between the partitions. At the start, in
    /// proportion to each partition's PoPs that read it first; later, to the transfers each has on
    /// it. Each gets at least 1% of an equal share, so that one that starts reading a replica (a
    /// failover) can start a transfer before the next synchronisation point.
    func apportionOrigins(initial: Bool) {
        let n = plan.count
        for o in 0..<log.origin.count {
            let weights: [Double] = (0..<n).map { p in
                let world = worlds[p]
                if initial { return Double(world.sites.indices.filter { world.owns(pop: $0) && world.origin.preferred(for: $0) == o }.count) }
                let link = world.links[world.links.replica(o)]
                return Double(link.flows.active + link.waiting.count)
            }
            let total = weights.reduce(0, +)
            let floor = max(total, 1) * 0.01 / Double(n)
            let shares = weights.map { max($0, floor) }
            let sum = shares.reduce(0, +)
            let full = log.links[log.links.replica(o)].capacity
            for p in 0..<n {
                let link = worlds[p].links.replica(o)
                worlds[p].links.setCapacity(link, full * shares[p] / sum)
                if !initial { worlds[p].delivery.admitWaiting(link) }
            }
        }
    }

    /// Items of several time-ordered lists, by (time, list, position in list).
    static func merged<T>(_ lists: [[T]], time: (T) -> SimInstant) -> [T] {
        var out: [T] = []
        out.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        var heads = Array(repeating: 0, count: lists.count)
        while true {
            var best = -1
            for l in lists.indices where heads[l] < lists[l].count {
                if best < 0 || time(lists[l][heads[l]]) < time(lists[best][heads[best]]) { best = l }
            }
            guard best >= 0 else { return out }
            out.append(lists[best][heads[best]])
            heads[best] += 1
        }
    }

    /// The partitions' results put together: each region and PoP from its partition; origins,
    /// totals, distributions and series summed in partition order; the global concurrency from the
    /// merged session starts and ends; the pipeline from the clients and the log's world.
    public func results() -> WorldResults {
        let parts = worlds.map { $0.results() }
        var merged = parts[plan.count]
        merged.eventsProcessed = eventsProcessed
        merged.hybrid = hybridFigures
        merged.regions = merged.regions.indices.map { parts[plan.regionPartition[$0]].regions[$0] }
        merged.pops = merged.pops.indices.map { parts[plan.popPartition[$0]].pops[$0] }
        var global = parts[0].global
        var pipeline = parts[0].pipeline
        for part in parts.dropFirst() {
            global.mergeExceptConcurrency(part.global)
            pipeline.merge(part.pipeline)
        }
        let endTime = merged.end
        global.concurrency = concurrency
        var series = concurrencySeries
        series.advance(to: endTime)
        global.concurrencySeries = series
        merged.global = global
        merged.pipeline = pipeline
        // Each partition with users ran its share of the control plane.
        let planes = parts.indices.compactMap { k in parts[k].controlPlane.map { (k, $0) } }
        if var plane = planes.first?.1 {
            for (k, part) in planes.dropFirst() { plane.merge(part, ownsRegion: { self.plan.regionPartition[$0] == k }) }
            merged.controlPlane = plane
        }
        for o in merged.origins.indices {
            merged.origins[o].bytes = TimeSeries(bucketWidth: configuration.metricsBucket)
            merged.origins[o].totalBytes = 0
            merged.origins[o].failures = 0
            merged.origins[o].waited = 0
            merged.origins[o].relayed = TimeSeries(bucketWidth: configuration.metricsBucket)
            merged.origins[o].filled = TimeSeries(bucketWidth: configuration.metricsBucket)
            merged.origins[o].missRequests = 0
            merged.origins[o].fillRequests = 0
            for part in parts {
                merged.origins[o].bytes.merge(part.origins[o].bytes)
                merged.origins[o].totalBytes += part.origins[o].totalBytes
                merged.origins[o].failures += part.origins[o].failures
                merged.origins[o].waited += part.origins[o].waited
                merged.origins[o].relayed.merge(part.origins[o].relayed)
                merged.origins[o].filled.merge(part.origins[o].filled)
                merged.origins[o].missRequests += part.origins[o].missRequests
                merged.origins[o].fillRequests += part.origins[o].fillRequests
            }
        }
        merged.titleCounts = parts.reduce(into: [Int64](repeating: 0, count: merged.titleCounts.count)) { sum, part in
            for i in sum.indices where i < part.titleCounts.count { sum[i] += part.titleCounts[i] }
        }
        for r in merged.releases.indices {
            merged.releases[r].requests = parts.reduce(0) { $0 + $1.releases[r].requests }
            merged.releases[r].hits = parts.reduce(0) { $0 + $1.releases[r].hits }
            let holding = parts.compactMap { $0.releases[r].sitesHolding }
            merged.releases[r].sitesHolding = holding.isEmpty ? nil : holding.reduce(0, +)
        }
        return merged
    }
}

/// A reference handed to worker threads that touch disjoint state (a partition's world each).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
