import Foundation
import Metrics
import SimCore
import Stochastics
import Testing
@testable import World

/// Erlang's C formula: the probability that an arrival waits in an M/M/c queue offered a erlangs.
func erlangCProbability(servers c: Int, offered a: Double) -> Double {
    var term = 1.0, sum = 0.0
    for k in 0..<c {
        sum += term
        term *= a / Double(k + 1)
    }
    let top = term * Double(c) / (Double(c) - a)
    return top / (sum + top)
}

/// Erlang's B formula: the share of arrivals an M/G/c/c loss system turns away (the recursion
/// B(k) = a·B(k−1) / (k + a·B(k−1))).
func erlangB(servers c: Int, offered a: Double) -> Double {
    var b = 1.0
    for k in 1...c { b = a * b / (Double(k) + a * b) }
    return b
}

/// One ``ServicePool`` under Poisson arrivals, driven by a hand-run engine: each call's arrival
/// and the time its service started, so waits are exact.
struct PoolDriver {
    enum Event: BitwiseCopyable {
        case arrival
        case done(instance: UInt32)
    }

    var pool: ServicePool
    let rate: Double
    var arrivals = RandomStream(seed: 5, label: "pool.arrivals", id: 0)
    var service = RandomStream(seed: 5, label: "pool.service", id: 0)
    var arrivedUs: [Int64] = []
    var waits: [Double] = []
    var waited = 0
    var admitted = 0
    var turnedAway = 0

    init(_ p: ControlPlaneConfiguration.Pool, instances: Int = 1, rate: Double) {
        pool = ServicePool(p, instances: instances, limit: nil, shedder: nil, bucket: .seconds(60))
        self.rate = rate
    }

    mutating func run(for duration: SimDuration) throws {
        let sim = Simulation<Event>()
        sim.schedule(.arrival, after: SimDuration(seconds: -log(arrivals.nextOpenDouble()) / rate))
        try sim.run(until: .zero + duration) { event in
            let now = sim.now
            switch event {
            case .arrival:
                let call = UInt32(arrivedUs.count)
                arrivedUs.append(now.microseconds)
                switch pool.arrive(call, priority: 0, now: now, stream: &service) {
                case let .started(instance, done):
                    admitted += 1
                    waits.append(0)
                    sim.schedule(.done(instance: UInt32(instance)), after: done)
                case .queued:
                    admitted += 1
                    waited += 1
                case .rejected, .shed:
                    turnedAway += 1
                }
                sim.schedule(.arrival, after: SimDuration(seconds: -log(arrivals.nextOpenDouble()) / rate))
            case let .done(instance):
                // Sojourn is not what these tests check; the pool's Little's-law figures use it.
                if let next = pool.finish(instance: Int(instance), sojourn: .zero, now: now, stream: &service) {
                    waits.append(Double(now.microseconds - arrivedUs[Int(next.call)]) / 1e6)
                    sim.schedule(.done(instance: instance), after: next.done)
                }
            }
        }
    }
}

@Suite("Service pools, alone")
struct ServicePoolTests {
    /// c = 8 slots at ρ = 0.8 (λ = 64/s, 1/μ = 100 ms): P(wait) = C(8, 6.4) ≈ 0.4, mean wait
    /// C / (cμ − λ) ≈ 25 ms. About 3.8M arrivals make 2% several standard errors of both.
    @Test("One instance of c slots under Poisson arrivals matches Erlang C: P(wait) and mean wait within 2%")
    func erlangCWait() throws {
        let pool = ControlPlaneConfiguration.Pool(instances: 1, concurrency: 8, serviceTime: try .exponential(mean: 0.1))
        var d = PoolDriver(pool, rate: 64)
        try d.run(for: .minutes(990))
        let c = erlangCProbability(servers: 8, offered: 6.4)
        let meanWait = c / (8 * 10 - 64)
        let pWait = Double(d.waited) / Double(d.admitted)
        let measured = d.waits.reduce(0, +) / Double(d.waits.count)
        #expect(abs(pWait / c - 1) < 0.02, "P(wait) \(pWait) against Erlang C \(c)")
        #expect(abs(measured / meanWait - 1) < 0.02, "mean wait \(measured) s against \(meanWait) s")
    }

    /// No queue: c = 10 slots offered 8 erlangs lose B(10, 8) ≈ 12.2% of arrivals, whatever the
    /// service-time distribution (Erlang B is insensitive to it): lognormal here.
    @Test("A pool without a queue turns arrivals away as Erlang B says, within 2%")
    func erlangBBlocking() throws {
        let pool = ControlPlaneConfiguration.Pool(instances: 1, concurrency: 10, queueLimit: 0,
                                                  serviceTime: try .lognormal(median: 0.08 / exp(0.5 * 0.25), sigma: 0.5))
        var d = PoolDriver(pool, rate: 100)
        try d.run(for: .hours(3))
        let b = erlangB(servers: 10, offered: 8)
        let blocked = Double(d.turnedAway) / Double(d.turnedAway + d.admitted)
        #expect(abs(blocked / b - 1) < 0.02, "blocked \(blocked) against Erlang B \(b)")
        #expect(d.waited == 0)
    }

    @Test("Calls wait in their instance's queue first come, first served, and a queue limit rejects one more")
    func fifoAndLimit() throws {
        var pool = ServicePool(.init(instances: 1, concurrency: 1, queueLimit: 2, serviceTime: try .constant(1), balancing: .roundRobin),
                               instances: 1, limit: nil, shedder: nil, bucket: .seconds(60))
        var stream = RandomStream(seed: 1, label: "t", id: 0)
        let r83724 = pool.arrive(0, priority: 0, now: .zero, stream: &stream)
        #expect(r83724 == .started(instance: 0, done: .seconds(1)))
        let r12917 = pool.arrive(1, priority: 0, now: .zero, stream: &stream)
        #expect(r12917 == .queued(instance: 0))
        let r83996 = pool.arrive(2, priority: 0, now: .zero, stream: &stream)
        #expect(r83996 == .queued(instance: 0))
        let r53287 = pool.arrive(3, priority: 0, now: .zero, stream: &stream)
        #expect(r53287 == .rejected)
        let r13180 = pool.finish(instance: 0, sojourn: .seconds(1), now: .zero + .seconds(1), stream: &stream)?.call
        #expect(r13180 == 1)
        let r70511 = pool.finish(instance: 0, sojourn: .seconds(1), now: .zero + .seconds(2), stream: &stream)?.call
        #expect(r70511 == 2)
        let r82002 = pool.finish(instance: 0, sojourn: .seconds(1), now: .zero + .seconds(3), stream: &stream)
        #expect(r82002 == nil)
        #expect(pool.rejected.value == 1 && pool.completed.value == 3)
    }

    @Test("Under an adaptive limit, a busy instance sheds the least important calls first")
    func priorityShedding() throws {
        let limit = ControlPlaneConfiguration.Limit(algorithm: .aimd(latencyThresholdSeconds: 1, backoffRatio: 0.9), maxFactor: 1)
        var pool = ServicePool(.init(instances: 1, concurrency: 10, serviceTime: try .constant(1), balancing: .roundRobin),
                               instances: 1, limit: limit, shedder: .init(shares: [1, 0.5]), bucket: .seconds(60))
        var stream = RandomStream(seed: 1, label: "t", id: 0)
        for call in 0..<5 { _ = pool.arrive(UInt32(call), priority: 1, now: .zero, stream: &stream) }
        let r13003 = pool.arrive(5, priority: 1, now: .zero, stream: &stream)
        #expect(r13003 == .shed, "priority 1 may fill half the limit of 10")
        let r58230 = pool.arrive(6, priority: 0, now: .zero, stream: &stream)
        #expect(r58230 == .started(instance: 0, done: .seconds(1)))
    }

    @Test("A lost instance returns its waiting calls, and the balancer skips it")
    func instanceLoss() throws {
        var pool = ServicePool(.init(instances: 2, concurrency: 1, serviceTime: try .constant(1), balancing: .roundRobin),
                               instances: 2, limit: nil, shedder: nil, bucket: .seconds(60))
        var stream = RandomStream(seed: 1, label: "t", id: 0)
        _ = pool.arrive(0, priority: 0, now: .zero, stream: &stream)
        _ = pool.arrive(1, priority: 0, now: .zero, stream: &stream)
        let r83996 = pool.arrive(2, priority: 0, now: .zero, stream: &stream)
        #expect(r83996 == .queued(instance: 0))
        let r51044 = pool.setUp(0, false, now: .zero)
        #expect(r51044 == [2])
        let r69000 = pool.arrive(3, priority: 0, now: .zero, stream: &stream)
        #expect(r69000 == .queued(instance: 1))
        _ = pool.setUp(1, false, now: .zero)
        let r95017 = pool.arrive(4, priority: 0, now: .zero, stream: &stream)
        #expect(r95017 == .rejected, "no instance up")
    }
}

@Suite("Key caches, alone")
struct KeyCacheTests {
    /// K keys asked uniformly into an empty cache big enough for all: request n (from 0) hits with
    /// probability 1 − (1 − 1/K)^n, so the i-th window of w requests has a known expected hit ratio.
    @Test("A flushed cache warms up as the closed form says: each window's hit ratio within 0.01")
    func warmUp() {
        let keys = 20_000, window = 10_000
        var cache = KeyCache(capacity: keys, ttl: nil, bucket: .seconds(60))
        var stream = RandomStream(seed: 3, label: "keys", id: 0)
        let q = 1 - 1 / Double(keys)
        for w in 0..<8 {
            var hits = 0
            for _ in 0..<window {
                let key = stream.nextInt(below: UInt64(keys))
                // Filled on every miss (the look-aside fill).
                if cache.lookup(key, now: .zero) { hits += 1 } else { cache.fill(key, now: .zero) }
            }
            let expected = (0..<window).reduce(0.0) { $0 + 1 - pow(q, Double(w * window + $1)) } / Double(window)
            #expect(abs(Double(hits) / Double(window) - expected) < 0.01, "window \(w): \(Double(hits) / Double(window)) against \(expected)")
        }
    }

    /// Each of K keys asked as a Poisson process of rate λ, entries living T after their fill: a
    /// key's hit ratio is λT / (1 + λT) (a renewal cycle is one miss and, on average, λT hits).
    @Test("Entries expire after their TTL: the hit ratio is λT/(1 + λT) within 0.01")
    func ttl() {
        let keys = 1_000, ratePerKey = 0.02, ttl = 100.0  // λT = 2: 2/3
        var cache = KeyCache(capacity: keys, ttl: .seconds(Int64(ttl)), bucket: .seconds(3_600))
        var stream = RandomStream(seed: 4, label: "ttl", id: 0)
        var t = 0.0, hits = 0, lookups = 0
        while t < 200_000 {
            t += -log(stream.nextOpenDouble()) / (ratePerKey * Double(keys))
            let key = stream.nextInt(below: UInt64(keys))
            let now = SimInstant(microseconds: Int64(t * 1e6))
            if cache.lookup(key, now: now) { hits += 1 } else { cache.fill(key, now: now) }
            lookups += 1
        }
        #expect(abs(Double(hits) / Double(lookups) - 2.0 / 3) < 0.01)
    }

    @Test("Beyond its capacity the cache evicts the least recently used key; a flush empties it")
    func lruAndFlush() {
        var cache = KeyCache(capacity: 2, ttl: nil, bucket: .seconds(60))
        cache.fill(1, now: .zero)
        cache.fill(2, now: .zero)
        let h35591 = cache.lookup(1, now: .zero)
        #expect(h35591)
        cache.fill(3, now: .zero)  // evicts 2, the least recently used
        let h42190 = cache.lookup(2, now: .zero)
        #expect(!h42190)
        let one = cache.lookup(1, now: .zero), three = cache.lookup(3, now: .zero)
        #expect(one && three)
        cache.flush()
        let afterFlush = cache.lookup(1, now: .zero)
        #expect(cache.count == 0 && !afterFlush && cache.flushes == 1)
    }
}
