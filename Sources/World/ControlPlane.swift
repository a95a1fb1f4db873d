import Metrics
import Placement
import Resilience
import SimCore
import Stochastics

/// The control plane: the requests clients make besides fetching video, the service pools,
/// caches and sharded databases that answer them, and the overload controls in front of them
/// (docs/control-plane.md).
///
/// Owns: every request in progress (its class, attempt, stage, the calls it waits for) and every
/// call (the pool and instance it is at); per control-plane region, a ``ServicePool`` for each
/// service, cache cluster and database shard, and a ``KeyCache`` for each cache; the controls'
/// state — per (region, pool) a circuit breaker, per (user region, class) a retry budget
/// (clients' throttling, pooled per region), each instance's adaptive limit (in its pool) — all
/// from the real `Resilience` module; the retry storms and outages in force; the figures per
/// class and user region, per pool, per cache. Handles `.control` events (a request's send, a
/// call's service done, a client's timeout, an answer reaching the client). The world asks it
/// for requests (``issue(_:region:user:title:session:sessionGeneration:now:)``) at a session's
/// triggers and hears the answers of the play request and the progress write through ``answered``.
///
/// A deterministic sample of users (``ControlPlaneConfiguration/exactFraction``) is simulated
/// call by call against pools scaled to the sample; the others' requests take the outcome and
/// latency of a recent exact request of the same class and control-plane region.
final class ControlPlane {
    typealias Config = ControlPlaneConfiguration

    enum Outcome: Int, CaseIterable {
        case ok, fallback, error, timeout, shed
        var succeeded: Bool { self == .ok || self == .fallback }
    }

    /// Event kinds (``WorldEvent/control(id:generation:kind:)``).
    enum Kind: UInt8 {
        /// An attempt reaches the control plane.
        case send
        /// A call's service is done.
        case serviceDone
        /// The client's timeout for an attempt.
        case timeout
        /// The final answer reaches the client.
        case answer
        /// An aggregate play request's answer reaches its session (id: session).
        case playAggregate
        /// An aggregate play request failed (id: session).
        case playAggregateFailed
        /// An aggregate progress write's answer reaches its session, or its failure (id: session).
        case writeAggregate
        case writeAggregateFailed
        /// A session's client sends its play request again (id: session).
        case playAgain
    }

    struct Request {
        var cls: UInt16 = 0
        var region: UInt16 = 0
        var cp: UInt16 = 0
        var generation: UInt16 = 0
        var attempts: UInt8 = 0
        var stage: UInt8 = 0
        var pending: UInt16 = 0
        var degraded = false
        var live = false
        var outcome = Outcome.ok
        var firstUs: Int64 = 0
        var attemptUs: Int64 = 0
        var user: UInt64 = 0
        var title: UInt32 = 0
        var session: UInt32 = .max
        var sessionGeneration: UInt16 = 0
    }

    struct Call {
        var request: UInt32 = 0
        var requestGeneration: UInt16 = 0
        var pool: Int32 = 0
        var instance: Int32 = 0
        var arrivedUs: Int64 = 0
        /// For a cache's backing call: the lookup call waiting for it (−1: none).
        var parent: Int32 = -1
        /// A cache lookup: the cache (flat index over regions × caches; −1: not a lookup).
        var cache: Int32 = -1
        var fallback: Fallback = .none
        var priority: UInt8 = 0
    }

    /// Per class and user region.
    struct ClassFigures {
        var requests: Int64 = 0
        var outcomes = [Int64](repeating: 0, count: Outcome.allCases.count)
        var attempts: Int64 = 0
        var latency = LatencyRecorder()
        var overSlo: Int64 = 0
        var exact: Int64 = 0
    }

    /// Per class, over time.
    struct ClassSeries {
        var requests: TimeSeries
        var succeeded: TimeSeries
        var latency: LatencySeries
    }

    /// Recent exact outcomes of a class in a control-plane region, for aggregate requests.
    struct Recent {
        var latencyUs: [Int64] = []
        var outcomes: [Outcome] = []
        var next = 0
        static let size = 256
        mutating func add(_ latency: Int64, _ outcome: Outcome) {
            if latencyUs.count < Recent.size {
                latencyUs.append(latency)
                outcomes.append(outcome)
            } else {
                latencyUs[next] = latency
                outcomes[next] = outcome
                next = (next + 1) % Recent.size
            }
        }
    }

    let configuration: Config
    let sim: Simulation<WorldEvent>
    let bucket: SimDuration
    let regionCount: Int
    /// Per user region: control-plane regions (indices into `configuration.regions`) nearest first,
    /// and the client's round trip to each (µs).
    let route: [[Int]]
    let rttUs: [[Int64]]
    /// Units per control-plane region: services, then caches, then every database's shards.
    let unitCount: Int
    let cacheUnit0: Int
    let databaseUnit0: [Int]
    /// Per unit, its name for the report ("playback", "history#2").
    let unitNames: [String]
    @exclusivity(unchecked) var pools: [ServicePool]
    @exclusivity(unchecked) var caches: [KeyCache]
    @exclusivity(unchecked) var breakers: [CircuitBreaker]
    @exclusivity(unchecked) var budgets: [RetryBudget]
    @exclusivity(unchecked) var cpDown: [Int]
    /// Retry storms in force: (user region or nil for all, attempts).
    @exclusivity(unchecked) var storms: [(incident: Int, region: Int?, attempts: Int)] = []
    @exclusivity(unchecked) var stream: RandomStream
    let exactBelow: UInt64
    let salt: UInt64
    @exclusivity(unchecked) var requests: [Request] = []
    @exclusivity(unchecked) var freeRequests: [UInt32] = []
    @exclusivity(unchecked) var calls: [Call] = []
    @exclusivity(unchecked) var freeCalls: [UInt32] = []
    // Figures.
    @exclusivity(unchecked) var classFigures: [ClassFigures]
    @exclusivity(unchecked) var classSeries: [ClassSeries]
    @exclusivity(unchecked) var recent: [Recent]
    /// Calls served for requests that had already given up (wasted work).
    @exclusivity(unchecked) var wastedCalls: Int64 = 0
    @exclusivity(unchecked) var breakerRejections: Int64 = 0
    @exclusivity(unchecked) var budgetDenials: Int64 = 0
    /// Age of the published data sets a home page showed.
    @exclusivity(unchecked) var staleness = LatencyRecorder()
    /// Slots intended (before rounding to whole instances) and simulated, over every pool.
    let intendedSlots: Double
    let simulatedSlots: Int

    /// The final answer of a request that names its session (the play request, the progress
    /// write carrying the activity batch): (its trigger, session, generation, succeeded).
    var answered: ((Config.Trigger, UInt32, UInt16, Bool) -> Void)?
    /// When the activity pipeline last published (nil: not yet), for the staleness of home pages.
    var lastPublished: (() -> SimInstant?)?
    /// A session's client asks again for its play request (session, generation).
    var playAgain: ((UInt32, UInt16) -> Void)?
    /// Extra latency per user region (a control-plane slow fault), µs.
    var extraUs: ((Int) -> Int64)?

    /// `scale` is the share of each pool and user-keyed cache simulated: the exact fraction over
    /// the sampling factor, times a partition's share of the region's users (1 for the whole platform).
    init(configuration c: Config, regions: Int, distances: RegionDistances, sampling: Int, shares: [Double], seed: UInt64,
         stream: RandomStream, sim: Simulation<WorldEvent>, bucket: SimDuration) {
        precondition(!c.regions.isEmpty && !c.classes.isEmpty)
        configuration = c
        self.sim = sim
        self.bucket = bucket
        regionCount = regions
        route = (0..<regions).map { r in
            c.regions.indices.sorted { a, b in
                let da = distances.rtt(from: r, to: c.regions[a]), db = distances.rtt(from: r, to: c.regions[b])
                return da != db ? da < db : a < b
            }
        }
        rttUs = (0..<regions).map { r in c.regions.map { (c.clientRtt + distances.rtt(from: r, to: $0)).microseconds } }
        var names = c.services.map(\.name) + c.caches.map(\.name)
        var firsts: [Int] = []
        for d in c.databases {
            firsts.append(names.count)
            names += (0..<d.shards).map { "\(d.name)#\($0)" }
        }
        unitNames = names
        unitCount = names.count
        cacheUnit0 = c.services.count
        databaseUnit0 = firsts
        let unitPools: [Config.Pool] = c.services.map(\.pool) + c.caches.map(\.pool) + c.databases.flatMap { d in Array(repeating: d.pool, count: d.shards) }
        var pools: [ServicePool] = []
        var intended = 0.0, simulated = 0
        var caches: [KeyCache] = []
        let k = Double(max(1, sampling))
        for cp in c.regions.indices {
            let scale = c.exactFraction / k * shares[cp]
            for p in unitPools {
                let want = Double(p.instances) * scale
                var pool = p
                var n = Int(want.rounded())
                if n < 1 {
                    // Fewer than one instance at this scale: one, with the slots the scale leaves.
                    n = 1
                    pool.concurrency = max(1, Int((want * Double(p.concurrency)).rounded()))
                }
                intended += want * Double(p.concurrency)
                simulated += n * pool.concurrency
                pools.append(ServicePool(pool, instances: n, limit: c.controls.limit, shedder: c.controls.shedding, bucket: bucket))
            }
            for cache in c.caches {
                // User keys are sampled with the users: the capacity scales with them. Title keys
                // are not, so each title's lookups are thinned by the scale: entries live 1/scale
                // longer, keeping each title's hits per lifetime (docs/control-plane.md).
                let capacity = cache.keys == .user ? cache.capacityKeys * scale : cache.capacityKeys
                let ttl = cache.keys == .title ? cache.ttl.map { SimDuration(seconds: $0.seconds / max(scale, 1e-9)) } : cache.ttl
                caches.append(KeyCache(capacity: max(1, Int(capacity.rounded())), ttl: ttl, bucket: bucket))
            }
        }
        self.pools = pools
        self.caches = caches
        intendedSlots = intended
        simulatedSlots = simulated
        breakers = c.controls.breaker.map { Array(repeating: $0, count: c.regions.count * names.count) } ?? []
        budgets = c.controls.retryBudget.map { Array(repeating: $0, count: regions * c.classes.count) } ?? []
        cpDown = Array(repeating: 0, count: c.regions.count)
        self.stream = stream
        exactBelow = c.exactFraction >= 1 ? .max : UInt64(c.exactFraction * 0x1p64)
        salt = seed &* 0x9E37_79B9_7F4A_7C15 ^ 0x4350_4C41_4E45
        classFigures = Array(repeating: ClassFigures(), count: c.classes.count * regions)
        classSeries = c.classes.map { _ in
            ClassSeries(requests: TimeSeries(bucketWidth: bucket), succeeded: TimeSeries(bucketWidth: bucket), latency: LatencySeries(bucketWidth: bucket))
        }
        recent = Array(repeating: Recent(), count: c.classes.count * c.regions.count)
    }

    /// Whether user `user`'s requests are simulated call by call.
    func isExact(user: UInt64) -> Bool {
        exactBelow == .max || Rendezvous.score(file: Int(truncatingIfNeeded: user), server: Int(truncatingIfNeeded: salt)) < exactBelow
    }

    /// How many requests of class `c` one trigger makes (the whole part, and the fraction with
    /// that probability).
    func count(_ c: Int) -> Int {
        let per = configuration.classes[c].perTrigger
        let whole = Int(per)
        let fraction = per - Double(whole)
        return whole + (fraction > 0 && stream.nextBernoulli(fraction) ? 1 : 0)
    }

    /// The control-plane region user region `r`'s clients reach now (nil: none is up).
    func home(_ r: Int) -> Int? { route[r].first { cpDown[$0] == 0 } }

    // MARK: Requests

    /// A client of user region `r` sends a request of class `c` at `now`. A play request names its
    /// session, which hears the answer.
    func issue(_ c: Int, region r: Int, user: UInt64, title: Int, session: UInt32 = .max, sessionGeneration: UInt16 = 0, now: SimInstant) {
        let exact = isExact(user: user)
        let cp = home(r)
        guard exact, let cp else {
            return aggregate(c, region: r, cp: cp ?? route[r][0], session: session, sessionGeneration: sessionGeneration, now: now, down: cp == nil)
        }
        let q = allocateRequest()
        requests[Int(q)] = Request(cls: UInt16(c), region: UInt16(r), cp: UInt16(cp), generation: requests[Int(q)].generation &+ 1, live: true,
                                   firstUs: now.microseconds, user: user, title: UInt32(title), session: session, sessionGeneration: sessionGeneration)
        classFigures[c * regionCount + r].exact += 1
        sendAttempt(q, at: now, delay: .zero)
    }

    /// A request of a user outside the exact sample: the outcome and latency of a recent exact one.
    private func aggregate(_ c: Int, region r: Int, cp: Int, session: UInt32, sessionGeneration: UInt16, now: SimInstant, down: Bool) {
        let ring = recent[c * configuration.regions.count + cp]
        var latency: Int64, outcome: Outcome
        if down {
            (latency, outcome) = (rttUs[r][cp], .error)
        } else if ring.latencyUs.isEmpty {
            // No exact request has finished yet here: the round trip and the mean service times.
            (latency, outcome) = (rttUs[r][cp] + idleLatencyUs(c), .ok)
        } else {
            let i = Int(stream.nextInt(below: UInt64(ring.latencyUs.count)))
            (latency, outcome) = (ring.latencyUs[i], ring.outcomes[i])
        }
        book(c, region: r, latencyUs: latency, outcome: outcome, attempts: 1, at: now + .microseconds(latency), exact: false)
        guard session != .max else { return }
        let play = configuration.classes[c].trigger == .play
        let kind: Kind = play ? (outcome.succeeded ? .playAggregate : .playAggregateFailed) : (outcome.succeeded ? .writeAggregate : .writeAggregateFailed)
        sim.schedule(.control(id: session, generation: sessionGeneration, kind: kind.rawValue), after: .microseconds(max(1, latency)))
    }

    /// A class's latency with no queueing: each stage's slowest mean service time, summed.
    func idleLatencyUs(_ c: Int) -> Int64 {
        var total = 0.0
        for stage in configuration.classes[c].stages {
            total += stage.map { meanServiceSeconds($0.target) }.max() ?? 0
        }
        return Int64(total * 1e6)
    }

    private func meanServiceSeconds(_ t: Config.Target) -> Double {
        switch t {
        case let .service(i): return configuration.services[i].pool.serviceTime.mean
        case let .cache(i): return configuration.caches[i].pool.serviceTime.mean
        case let .database(i): return configuration.databases[i].pool.serviceTime.mean
        }
    }

    /// Attempt `attempts + 1` of request `q` leaves the client after `delay` and reaches the
    /// control plane half a round trip later; the client's timeout starts now + `delay`.
    private func sendAttempt(_ q: UInt32, at now: SimInstant, delay: SimDuration) {
        let i = Int(q)
        requests[i].attempts += 1
        requests[i].generation &+= 1
        requests[i].stage = 0
        requests[i].pending = 0
        requests[i].degraded = false
        let leave = now + delay
        requests[i].attemptUs = leave.microseconds
        let r = Int(requests[i].region), cp = Int(requests[i].cp)
        let g = requests[i].generation
        let spec = configuration.classes[Int(requests[i].cls)]
        sim.schedule(.control(id: q, generation: g, kind: Kind.send.rawValue), at: leave + .microseconds(rttUs[r][cp] / 2 + (extraUs?(r) ?? 0)))
        sim.schedule(.control(id: q, generation: g, kind: Kind.timeout.rawValue), at: leave + spec.timeout)
        classFigures[Int(requests[i].cls) * regionCount + r].attempts += 1
    }

    /// Handles a `.control` event.
    func handle(id: UInt32, generation g: UInt16, kind raw: UInt8) {
        switch Kind(rawValue: raw)! {
        case .send:
            guard requests[Int(id)].live, requests[Int(id)].generation == g else { return }
            let cp = Int(requests[Int(id)].cp)
            guard cpDown[cp] == 0 else { return attemptFailed(id, .error, atClient: false) }
            startStage(id)
        case .serviceDone:
            serviceDone(id)
        case .timeout:
            guard requests[Int(id)].live, requests[Int(id)].generation == g else { return }
            attemptFailed(id, .timeout, atClient: true)
        case .answer:
            guard requests[Int(id)].live, requests[Int(id)].generation == g else { return }
            answer(id)
        case .playAggregate:
            answered?(.play, id, g, true)
        case .playAggregateFailed:
            answered?(.play, id, g, false)
        case .writeAggregate:
            answered?(.heartbeat, id, g, true)
        case .writeAggregateFailed:
            answered?(.heartbeat, id, g, false)
        case .playAgain:
            playAgain?(id, g)
        }
    }

    private func startStage(_ q: UInt32) {
        let i = Int(q)
        let spec = configuration.classes[Int(requests[i].cls)]
        let stage = spec.stages[Int(requests[i].stage)]
        let g = requests[i].generation
        requests[i].pending = UInt16(stage.count)
        for call in stage {
            startCall(q, call.target, fallback: call.fallback, parent: -1, priority: spec.priority)
            // A synchronous failure may have ended the attempt.
            guard requests[i].generation == g, requests[i].live else { return }
        }
    }

    /// The unit (pool within a region) a call to `target` for user `user` goes to.
    func unit(_ target: Config.Target, user: UInt64) -> Int {
        switch target {
        case let .service(s): return s
        case let .cache(c): return cacheUnit0 + c
        case let .database(d):
            // Shards by user id, rendezvous hashing (the real Placement code).
            var best = 0, bestScore: UInt64 = 0
            for shard in 0..<configuration.databases[d].shards {
                let score = Rendezvous.score(file: Int(truncatingIfNeeded: user), server: shard)
                if shard == 0 || score > bestScore { (best, bestScore) = (shard, score) }
            }
            return databaseUnit0[d] + best
        }
    }

    private func startCall(_ q: UInt32, _ target: Config.Target, fallback: Fallback, parent: Int32, priority: Int) {
        let i = Int(q)
        let now = sim.now
        let cp = Int(requests[i].cp)
        let u = unit(target, user: requests[i].user)
        let poolIndex = cp * unitCount + u
        if !breakers.isEmpty && !breakers[poolIndex].allows(nowSeconds: now.seconds) {
            breakerRejections += 1
            return finishCall(q, requestGeneration: requests[i].generation, ok: false, shed: false, fallback: fallback, parent: parent)
        }
        let call = allocateCall()
        var cache: Int32 = -1
        if case let .cache(c) = target { cache = Int32(cp * configuration.caches.count + c) }
        calls[Int(call)] = Call(request: q, requestGeneration: requests[i].generation, pool: Int32(poolIndex), instance: -1,
                                arrivedUs: now.microseconds, parent: parent, cache: cache, fallback: fallback, priority: UInt8(priority))
        switch pools[poolIndex].arrive(call, priority: priority, now: now, stream: &stream) {
        case let .started(instance, done):
            calls[Int(call)].instance = Int32(instance)
            sim.schedule(.control(id: call, generation: 0, kind: Kind.serviceDone.rawValue), after: done)
        case let .queued(instance):
            calls[Int(call)].instance = Int32(instance)
        case let turnedAway:
            freeCalls.append(call)
            if !breakers.isEmpty { breakers[poolIndex].record(failed: true, nowSeconds: now.seconds) }
            finishCall(q, requestGeneration: requests[i].generation, ok: false, shed: turnedAway == .shed, fallback: fallback, parent: parent)
        }
    }

    private func serviceDone(_ call: UInt32) {
        let now = sim.now
        let c = calls[Int(call)]
        let p = Int(c.pool), inst = Int(c.instance)
        let instanceUp = pools[p].instances[inst].up
        if let next = pools[p].finish(instance: inst, sojourn: .microseconds(now.microseconds - c.arrivedUs), now: now, stream: &stream) {
            sim.schedule(.control(id: next.call, generation: 0, kind: Kind.serviceDone.rawValue), after: next.done)
        }
        freeCalls.append(call)
        let q = Int(c.request)
        let alive = requests[q].live && requests[q].generation == c.requestGeneration
        if !breakers.isEmpty { breakers[p].record(failed: !(instanceUp && alive), nowSeconds: now.seconds) }
        guard alive else {
            wastedCalls += 1
            return release(c.parent)
        }
        guard instanceUp else {
            return finishCall(c.request, requestGeneration: c.requestGeneration, ok: false, shed: false, fallback: c.fallback, parent: c.parent)
        }
        if c.cache >= 0 {
            if caches[Int(c.cache)].lookup(cacheKey(c), now: now) {
                return finishCall(c.request, requestGeneration: c.requestGeneration, ok: true, shed: false, fallback: c.fallback, parent: c.parent)
            }
            // A miss: the backing store is asked; the lookup waits for it (its slot kept as the parent).
            let cacheIndex = Int(c.cache) % configuration.caches.count
            let keep = allocateCall()
            calls[Int(keep)] = c
            startCall(c.request, configuration.caches[cacheIndex].backing, fallback: c.fallback, parent: Int32(keep),
                      priority: Int(c.priority))
            return
        }
        finishCall(c.request, requestGeneration: c.requestGeneration, ok: true, shed: false, fallback: c.fallback, parent: c.parent)
    }

    /// The key a cache lookup asks for.
    private func cacheKey(_ c: Call) -> UInt64 {
        let q = Int(c.request)
        let cache = Int(c.cache) % configuration.caches.count
        return configuration.caches[cache].keys == .user ? requests[q].user : UInt64(requests[q].title)
    }

    /// A call of request `q` ended. A backing call answers its cache lookup (filling the cache
    /// when it succeeded); a call of the stage counts down the stage.
    private func finishCall(_ q: UInt32, requestGeneration g: UInt16, ok: Bool, shed: Bool, fallback: Fallback, parent: Int32) {
        let i = Int(q)
        guard requests[i].live, requests[i].generation == g else { return release(parent) }
        if parent >= 0 {
            let lookup = calls[Int(parent)]
            freeCalls.append(UInt32(parent))
            if ok { caches[Int(lookup.cache)].fill(cacheKey(lookup), now: sim.now) }
            return finishCall(q, requestGeneration: g, ok: ok, shed: shed, fallback: lookup.fallback, parent: lookup.parent)
        }
        if !ok {
            if fallback.rescues(true) {
                requests[i].degraded = true
            } else {
                return attemptFailed(q, shed ? .shed : .error, atClient: false)
            }
        }
        requests[i].pending -= 1
        guard requests[i].pending == 0 else { return }
        requests[i].stage += 1
        let spec = configuration.classes[Int(requests[i].cls)]
        guard Int(requests[i].stage) == spec.stages.count else { return startStage(q) }
        // Every stage done: the answer travels back, unless the client's timeout comes first.
        let r = Int(requests[i].region), cp = Int(requests[i].cp)
        let arrives = sim.now + .microseconds(rttUs[r][cp] / 2 + (extraUs?(r) ?? 0))
        guard arrives.microseconds <= requests[i].attemptUs + spec.timeout.microseconds else { return }
        if !budgets.isEmpty { budgets[Int(requests[i].cls) + r * configuration.classes.count].recordSuccess() }
        requests[i].outcome = requests[i].degraded ? .fallback : .ok
        requests[i].generation &+= 1
        sim.schedule(.control(id: q, generation: requests[i].generation, kind: Kind.answer.rawValue), at: arrives)
    }

    /// The cache lookups waiting for a call whose request has given up are done with too.
    private func release(_ parent: Int32) {
        var p = parent
        while p >= 0 {
            freeCalls.append(UInt32(p))
            p = calls[Int(p)].parent
        }
    }

    /// Calls in use (for tests: every call ends, none leaks).
    var callsInUse: Int { calls.count - freeCalls.count }

    /// An attempt failed (`atClient`: the client's own timeout, so the client knows now; else the
    /// failure travels back half a round trip). The client retries if its policy and budget let it.
    private func attemptFailed(_ q: UInt32, _ outcome: Outcome, atClient: Bool) {
        let i = Int(q)
        let c = Int(requests[i].cls), r = Int(requests[i].region)
        let spec = configuration.classes[c]
        requests[i].generation &+= 1  // outstanding calls and the timer no longer count
        let back = atClient ? SimDuration.zero : .microseconds(rttUs[r][Int(requests[i].cp)] / 2)
        let budgetIndex = c + r * configuration.classes.count
        if !budgets.isEmpty { budgets[budgetIndex].recordFailure() }
        let storm = storms.last { $0.region == nil || $0.region == r }
        let attempts = storm.map { max($0.attempts, spec.retry.attempts) } ?? spec.retry.attempts
        var retry = Int(requests[i].attempts) < attempts
        if retry, storm == nil, !budgets.isEmpty, !budgets[budgetIndex].allowsRetry {
            budgetDenials += 1
            retry = false
        }
        guard retry else {
            requests[i].outcome = outcome
            if back == .zero { return answer(q) }
            _ = sim.schedule(.control(id: q, generation: requests[i].generation, kind: Kind.answer.rawValue), after: back)
            return
        }
        // A storm retries at once; else the policy's backoff with jitter.
        let wait = storm != nil ? 0 : spec.retry.backoffSeconds(retry: Int(requests[i].attempts), uniform: stream.nextDouble())
        if let cp = home(r) { requests[i].cp = UInt16(cp) }
        sendAttempt(q, at: sim.now, delay: back + SimDuration(seconds: wait))
    }

    /// The final answer reaches the client: booked, and a play request's session hears it.
    private func answer(_ q: UInt32) {
        let i = Int(q)
        let rq = requests[i]
        let now = sim.now
        let latency = now.microseconds - rq.firstUs
        book(Int(rq.cls), region: Int(rq.region), latencyUs: latency, outcome: rq.outcome, attempts: Int(rq.attempts), at: now, exact: true)
        recent[Int(rq.cls) * configuration.regions.count + Int(rq.cp)].add(latency, rq.outcome)
        requests[i].live = false
        requests[i].generation &+= 1
        freeRequests.append(q)
        if rq.session != .max { answered?(configuration.classes[Int(rq.cls)].trigger, rq.session, rq.sessionGeneration, rq.outcome.succeeded) }
    }

    private func book(_ c: Int, region r: Int, latencyUs: Int64, outcome: Outcome, attempts: Int, at time: SimInstant, exact: Bool) {
        let k = c * regionCount + r
        classFigures[k].requests += 1
        classFigures[k].outcomes[outcome.rawValue] += 1
        if !exact { classFigures[k].attempts += Int64(attempts) }
        let end = SimInstant(microseconds: min(time.microseconds, sim.now.microseconds + latencyUs))
        classSeries[c].requests.add(1, at: end)
        guard outcome.succeeded else { return }
        classFigures[k].latency.record(.microseconds(latencyUs))
        classSeries[c].latency.record(.microseconds(latencyUs), at: end)
        classSeries[c].succeeded.add(1, at: end)
        if latencyUs > configuration.classes[c].slo.microseconds { classFigures[k].overSlo += 1 }
        if configuration.classes[c].readsDatasets, let published = lastPublished?() {
            staleness.record(.microseconds(max(0, end.microseconds - published.microseconds)))
        }
    }

    private func allocateRequest() -> UInt32 {
        if let q = freeRequests.popLast() { return q }
        requests.append(Request())
        return UInt32(requests.count - 1)
    }

    private func allocateCall() -> UInt32 {
        if let c = freeCalls.popLast() { return c }
        calls.append(Call())
        return UInt32(calls.count - 1)
    }

    /// A session in progress at the start (steady-state start): its user's and title's keys are
    /// in the caches of its control-plane region, filled at a random time within their TTL so
    /// that they do not all expire at once.
    func warm(user: UInt64, region r: Int, title: Int) {
        guard isExact(user: user), let cp = home(r) else { return }
        for (k, cache) in configuration.caches.enumerated() {
            let key = cache.keys == .user ? user : UInt64(title)
            let i = cp * configuration.caches.count + k
            let age = caches[i].ttlUs.map { Int64(stream.nextDouble() * Double($0)) } ?? 0
            caches[i].fill(key, now: SimInstant(microseconds: -age))
        }
    }

    // MARK: Faults

    /// The control-plane regions a fault in user region `region` (nil: all) strikes.
    private func struck(_ region: Int?) -> [Int] {
        guard let region else { return Array(configuration.regions.indices) }
        return configuration.regions.indices.filter { configuration.regions[$0] == region }
    }

    /// A fault on the control plane strikes (`on`) or ends.
    func fault(_ incident: Int, _ f: FaultConfiguration, on: Bool) {
        let now = sim.now
        switch f.kind {
        case .controlPlaneOutage:
            for cp in struck(f.region) { cpDown[cp] += on ? 1 : -1 }
        case .instanceLoss:
            guard let target = f.target else { return }
            for cp in struck(f.region) {
                for u in units(of: target) {
                    let p = cp * unitCount + u
                    let n = pools[p].instances.count
                    let lost = min(n, max(1, Int((f.lost * Double(n)).rounded())))
                    for inst in (n - lost)..<n { dropQueued(pools[p].setUp(inst, !on, now: now)) }
                }
            }
        case .shardDown:
            guard case let .database(d)? = f.target else { return }
            for cp in struck(f.region) {
                let p = cp * unitCount + databaseUnit0[d] + (f.shard ?? 0)
                for inst in pools[p].instances.indices { dropQueued(pools[p].setUp(inst, !on, now: now)) }
            }
        case .shardSlow:
            guard case let .database(d)? = f.target else { return }
            for cp in struck(f.region) {
                let p = cp * unitCount + databaseUnit0[d] + (f.shard ?? 0)
                pools[p].slowFactor *= on ? f.latencyFactor : 1 / f.latencyFactor
            }
        case .dependencySlow:
            guard let target = f.target else { return }
            for cp in struck(f.region) {
                for u in units(of: target) { pools[cp * unitCount + u].slowFactor *= on ? f.latencyFactor : 1 / f.latencyFactor }
            }
        case .cacheFlush:
            guard on, case let .cache(c)? = f.target else { return }
            for cp in struck(f.region) { caches[cp * configuration.caches.count + c].flush() }
        case .retryStorm:
            if on {
                storms.append((incident, f.region, f.attempts))
            } else {
                storms.removeAll { $0.incident == incident }
            }
        default:
            break
        }
    }

    private func units(of target: Config.Target) -> [Int] {
        switch target {
        case let .service(s): return [s]
        case let .cache(c): return [cacheUnit0 + c]
        case let .database(d): return Array(databaseUnit0[d]..<(databaseUnit0[d] + configuration.databases[d].shards))
        }
    }

    /// Calls dropped from a queue (their instance went down) fail.
    private func dropQueued(_ dropped: [UInt32]) {
        for call in dropped {
            let c = calls[Int(call)]
            freeCalls.append(call)
            finishCall(c.request, requestGeneration: c.requestGeneration, ok: false, shed: false, fallback: c.fallback, parent: c.parent)
        }
    }

    // MARK: Figures

    /// At each bucket's start: the pools' limits.
    func sample() {
        for p in pools.indices { pools[p].sampleLimit() }
    }

    func close(at end: SimInstant) {
        for p in pools.indices { pools[p].close(at: end) }
    }
}
