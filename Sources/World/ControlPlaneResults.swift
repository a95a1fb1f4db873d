import Metrics
import SimCore

/// The control plane's figures at the end of a run, sampled (the report scales counts by the
/// sampling factor): per request class and user region, per pool, per cache.
public struct ControlPlaneResults: Sendable {
    public struct ClassRegion: Sendable {
        /// Requests answered, by final outcome (ok, fallback, error, timeout, shed).
        public var requests: Int64
        public var ok: Int64
        public var fallback: Int64
        public var errors: Int64
        public var timeouts: Int64
        public var shed: Int64
        /// Attempts made, first ones and retries.
        public var attempts: Int64
        /// Requests simulated call by call (the rest took a recent exact outcome).
        public var exact: Int64
        /// Latency of answered successes, from the first send to the answer.
        public var latency: LatencyRecorder
        public var overSlo: Int64
    }

    public struct RequestClass: Sendable {
        public var name: String
        public var slo: SimDuration
        public var priority: Int
        /// Per user region.
        public var regions: [ClassRegion]
        public var requestSeries: TimeSeries
        public var successSeries: TimeSeries
        public var latencySeries: LatencySeries
    }

    public struct Pool: Sendable {
        public enum Kind: String, Sendable { case service, cache, database }
        /// The service, cache or database shard ("history#2").
        public var name: String
        public var kind: Kind
        /// The region hosting this copy (index into the world's regions).
        public var region: Int
        public var instances: Int
        public var slots: Int
        public var arrivals: Int64
        public var rejected: Int64
        public var shed: Int64
        public var completed: Int64
        public var busySeries: TimeWeightedSeries
        public var queueSeries: TimeWeightedSeries
        /// Mean adaptive limit per instance at each bucket's start (empty without the control).
        public var limitSamples: [Double]
        public var sojournSeconds: Double
    }

    public struct Cache: Sendable {
        public var name: String
        public var region: Int
        public var hits: TimeSeries
        public var misses: TimeSeries
        public var flushes: Int
    }

    public var classes: [RequestClass]
    public var pools: [Pool]
    public var caches: [Cache]
    public var wastedCalls: Int64
    public var breakerRejections: Int64
    public var budgetDenials: Int64
    /// Age of the published data sets the answers that show them showed.
    public var staleness: LatencyRecorder
    public var exactFraction: Double
    /// Pool slots the scale asks for and those simulated (whole instances).
    public var intendedSlots: Double
    public var simulatedSlots: Int
    /// Whether any overload control was on.
    public var controlled: Bool

    /// Adds another partition's figures: its own regions' class figures (`owns`), and its share
    /// of every pool and cache.
    mutating func merge(_ other: ControlPlaneResults, ownsRegion: (Int) -> Bool) {
        for c in classes.indices {
            for r in classes[c].regions.indices where ownsRegion(r) { classes[c].regions[r] = other.classes[c].regions[r] }
            classes[c].requestSeries.merge(other.classes[c].requestSeries)
            classes[c].successSeries.merge(other.classes[c].successSeries)
            classes[c].latencySeries.merge(other.classes[c].latencySeries)
        }
        for p in pools.indices {
            let o = other.pools[p]
            pools[p].instances += o.instances
            pools[p].slots += o.slots
            pools[p].arrivals += o.arrivals
            pools[p].rejected += o.rejected
            pools[p].shed += o.shed
            pools[p].completed += o.completed
            pools[p].busySeries.merge(o.busySeries)
            pools[p].queueSeries.merge(o.queueSeries)
            pools[p].sojournSeconds += o.sojournSeconds
            pools[p].limitSamples = zip(pools[p].limitSamples, o.limitSamples).map { ($0 + $1) / 2 }
        }
        for k in caches.indices {
            caches[k].hits.merge(other.caches[k].hits)
            caches[k].misses.merge(other.caches[k].misses)
        }
        wastedCalls += other.wastedCalls
        breakerRejections += other.breakerRejections
        budgetDenials += other.budgetDenials
        staleness.merge(other.staleness)
        intendedSlots += other.intendedSlots
        simulatedSlots += other.simulatedSlots
    }
}

extension ControlPlane {
    /// Its figures up to `end`.
    func results(end: SimInstant) -> ControlPlaneResults {
        close(at: end)
        let c = configuration
        let classes = c.classes.indices.map { k in
            ControlPlaneResults.RequestClass(
                name: c.classes[k].name, slo: c.classes[k].slo, priority: c.classes[k].priority,
                regions: (0..<regionCount).map { r in
                    let f = classFigures[k * regionCount + r]
                    return .init(requests: f.requests, ok: f.outcomes[Outcome.ok.rawValue], fallback: f.outcomes[Outcome.fallback.rawValue],
                                 errors: f.outcomes[Outcome.error.rawValue], timeouts: f.outcomes[Outcome.timeout.rawValue],
                                 shed: f.outcomes[Outcome.shed.rawValue], attempts: f.attempts, exact: f.exact, latency: f.latency, overSlo: f.overSlo)
                },
                requestSeries: classSeries[k].requests, successSeries: classSeries[k].succeeded, latencySeries: classSeries[k].latency)
        }
        var pools: [ControlPlaneResults.Pool] = []
        for (cp, region) in c.regions.enumerated() {
            for u in 0..<unitCount {
                let p = self.pools[cp * unitCount + u]
                let kind: ControlPlaneResults.Pool.Kind = u < cacheUnit0 ? .service : u < cacheUnit0 + c.caches.count ? .cache : .database
                pools.append(.init(name: unitNames[u], kind: kind, region: region, instances: p.instances.count, slots: p.slots,
                                   arrivals: p.arrivals.value, rejected: p.rejected.value, shed: p.shed.value, completed: p.completed.value,
                                   busySeries: p.busySeries, queueSeries: p.queueSeries,
                                   limitSamples: c.controls.limit == nil ? [] : p.limitSamples, sojournSeconds: p.sojournSeconds))
            }
        }
        var caches: [ControlPlaneResults.Cache] = []
        for (cp, region) in c.regions.enumerated() {
            for (k, cache) in c.caches.enumerated() {
                let state = self.caches[cp * c.caches.count + k]
                caches.append(.init(name: cache.name, region: region, hits: state.hits, misses: state.misses, flushes: state.flushes))
            }
        }
        return ControlPlaneResults(classes: classes, pools: pools, caches: caches, wastedCalls: wastedCalls, breakerRejections: breakerRejections,
                                   budgetDenials: budgetDenials, staleness: staleness, exactFraction: c.exactFraction,
                                   intendedSlots: intendedSlots, simulatedSlots: simulatedSlots, controlled: c.controls.any)
    }
}
