import Metrics
import Resilience
import SimCore
import Stochastics

/// One pool of instances in the control plane: a service's, a cache cluster's or a database
/// shard's replicas.
///
/// Owns: per instance, the calls in service (at most `concurrency`), its FIFO queue (bounded by
/// `queueLimit`: one more is rejected, which makes a pool without a queue an Erlang-B loss
/// system), whether it is up, and its adaptive concurrency limit when the controls have one; the
/// balancer's state; a slow-down factor (faults); the pool's figures (calls, rejections, sheds,
/// busy slots and queue length over time, time in the pool). It knows nothing of requests: a call
/// is a number the caller keeps. Asked by ``ControlPlane`` (`arrive`, `finish`, `setDown`), with
/// time and randomness passed in, so it is testable with a hand-driven clock.
///
/// A simplification: work is not preempted or cancelled. A call whose request has given up is
/// still served (wasted work, counted by the caller), as a server that does not see its client
/// leave would.
struct ServicePool {
    struct Instance {
        var busy = 0
        var queue: [UInt32] = []
        var head = 0
        var up = true
        var limit: ConcurrencyLimit?
        var queued: Int { queue.count - head }
        var inFlight: Int { busy + queued }
    }

    /// What became of an arriving call.
    enum Admission: Equatable {
        /// In service at `instance` until `done`.
        case started(instance: Int, done: SimDuration)
        case queued(instance: Int)
        /// The instance's queue was full (or no instance is up).
        case rejected
        /// The overload controls turned it away (its priority's share of the limit was in use).
        case shed
    }

    let concurrency: Int
    let queueLimit: Int?
    let serviceTime: Distribution
    let balancing: ControlPlaneConfiguration.Balancing
    let shedder: PriorityShedder?
    private(set) var instances: [Instance]
    private var nextRoundRobin = 0
    /// Service times are multiplied by this (slow faults).
    var slowFactor = 1.0
    // Figures.
    var arrivals = Counter()
    var rejected = Counter()
    var shed = Counter()
    var completed = Counter()
    /// Busy slots and waiting calls over time, summed over instances.
    var busySeries: TimeWeightedSeries
    var queueSeries: TimeWeightedSeries
    /// The instances' mean concurrency limit, sampled at each bucket's start.
    var limitSamples: [Double] = []
    /// Σ time in the pool (queue and service) of completed calls, seconds.
    var sojournSeconds = 0.0
    private var busyTotal = 0
    private var queuedTotal = 0

    init(_ p: ControlPlaneConfiguration.Pool, instances: Int, limit template: ControlPlaneConfiguration.Limit?, shedder: PriorityShedder?,
         bucket: SimDuration) {
        precondition(instances >= 1 && p.concurrency >= 1)
        concurrency = p.concurrency
        queueLimit = p.queueLimit
        serviceTime = p.serviceTime
        balancing = p.balancing
        // Never below the instance's own parallelism (it serves that many without a queue); from
        // the top, so that an instance that never gets busy never sheds.
        let limit = template.map { t -> ConcurrencyLimit in
            let top = max(Double(p.concurrency), Double(p.concurrency) * t.maxFactor)
            return ConcurrencyLimit(t.algorithm, initial: top, minLimit: Double(p.concurrency), maxLimit: top)
        }
        self.shedder = limit == nil ? nil : shedder
        self.instances = Array(repeating: Instance(limit: limit), count: instances)
        busySeries = TimeWeightedSeries(bucketWidth: bucket)
        queueSeries = TimeWeightedSeries(bucketWidth: bucket)
    }

    var slots: Int { instances.count * concurrency }
    var upInstances: Int { instances.reduce(0) { $0 + ($1.up ? 1 : 0) } }
    var inFlight: Int { busyTotal + queuedTotal }

    /// A call of `priority` arrives at `now`.
    mutating func arrive(_ call: UInt32, priority: Int, now: SimInstant, stream: inout RandomStream) -> Admission {
        arrivals.increment()
        guard let i = pick(&stream) else {
            rejected.increment()
            return .rejected
        }
        if let limit = instances[i].limit {
            let admitted = shedder?.admits(priority: priority, inFlight: instances[i].inFlight, limit: limit.limit)
                ?? (instances[i].inFlight < limit.admits)
            guard admitted else {
                // Not a drop for the limit: it learns from the latency of what it admits.
                shed.increment()
                return .shed
            }
        }
        if instances[i].busy < concurrency {
            instances[i].busy += 1
            setBusy(busyTotal + 1, now)
            return .started(instance: i, done: draw(&stream))
        }
        if let cap = queueLimit, instances[i].queued >= cap {
            rejected.increment()
            return .rejected
        }
        instances[i].queue.append(call)
        setQueued(queuedTotal + 1, now)
        return .queued(instance: i)
    }

    /// A call at `instance` finished its service, `sojourn` after it arrived: the next waiting
    /// call (if any) starts, for `done`.
    mutating func finish(instance i: Int, sojourn: SimDuration, now: SimInstant, stream: inout RandomStream) -> (call: UInt32, done: SimDuration)? {
        completed.increment()
        sojournSeconds += sojourn.seconds
        let inFlight = instances[i].inFlight
        instances[i].limit?.record(latencySeconds: sojourn.seconds, dropped: false, inFlight: inFlight)
        guard instances[i].queued > 0, instances[i].up else {
            instances[i].busy -= 1
            setBusy(busyTotal - 1, now)
            return nil
        }
        let call = dequeue(i)
        setQueued(queuedTotal - 1, now)
        return (call, draw(&stream))
    }

    /// Instance `i` goes down (its waiting calls are returned, to fail; calls in service end
    /// when they end, failed by the caller) or comes back.
    mutating func setUp(_ i: Int, _ up: Bool, now: SimInstant) -> [UInt32] {
        instances[i].up = up
        guard !up else { return [] }
        var dropped: [UInt32] = []
        while instances[i].queued > 0 { dropped.append(dequeue(i)) }
        setQueued(queuedTotal - dropped.count, now)
        return dropped
    }

    mutating func sampleLimit() {
        let limited = instances.compactMap(\.limit)
        limitSamples.append(limited.isEmpty ? Double.nan : limited.reduce(0) { $0 + $1.limit } / Double(limited.count))
    }

    mutating func close(at end: SimInstant) {
        busySeries.advance(to: end)
        queueSeries.advance(to: end)
    }

    private mutating func dequeue(_ i: Int) -> UInt32 {
        let call = instances[i].queue[instances[i].head]
        instances[i].head += 1
        if instances[i].head > 64 && instances[i].head * 2 > instances[i].queue.count {
            instances[i].queue.removeFirst(instances[i].head)
            instances[i].head = 0
        }
        return call
    }

    private func draw(_ stream: inout RandomStream) -> SimDuration {
        max(.microseconds(1), SimDuration(seconds: serviceTime.sample(&stream) * slowFactor))
    }

    /// The instance a call goes to, among those up.
    private mutating func pick(_ stream: inout RandomStream) -> Int? {
        let n = instances.count
        switch balancing {
        case .roundRobin:
            for _ in 0..<n {
                let i = nextRoundRobin
                nextRoundRobin = (nextRoundRobin + 1) % n
                if instances[i].up { return i }
            }
            return nil
        case .random, .leastOutstanding:
            let a = Int(stream.nextInt(below: UInt64(n)))
            var best = instances[a].up ? a : nil
            if balancing == .leastOutstanding && n > 1 {
                let b = Int(stream.nextInt(below: UInt64(n)))
                if instances[b].up, best.map({ instances[b].inFlight < instances[$0].inFlight }) ?? true { best = b }
            }
            if best != nil { return best }
            // Drawn instances down: the first up after the first draw.
            for k in 1..<max(n, 2) where instances[(a + k) % n].up { return (a + k) % n }
            return nil
        }
    }

    private mutating func setBusy(_ value: Int, _ now: SimInstant) {
        busyTotal = value
        busySeries.set(Double(value), at: now)
    }

    private mutating func setQueued(_ value: Int, _ now: SimInstant) {
        queuedTotal = value
        queueSeries.set(Double(value), at: now)
    }
}
