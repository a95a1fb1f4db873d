#if canImport(Glibc)
import Glibc
#endif
import SimCore
import Stochastics
import Testing
@testable import World

/// Che's approximation for LRU under the independent reference model (Che, Tung, Wang, IEEE JSAC
/// 2002; Fricker, Robert, Roberts, ITC 2012): with request probabilities p_i and a cache of C
/// equal objects, the characteristic time T solves Σ (1 − e^{−p_i T}) = C and the hit ratio is
/// Σ p_i (1 − e^{−p_i T}).
func cheHitRatio(probabilities p: [Double], capacity: Double) -> Double {
    var lo = 0.0, hi = 1.0
    func occupancy(_ t: Double) -> Double { p.reduce(0) { $0 + (1 - exp(-$1 * t)) } }
    while occupancy(hi) < capacity { hi *= 2 }
    for _ in 0..<200 {
        let mid = (lo + hi) / 2
        if occupancy(mid) < capacity { lo = mid } else { hi = mid }
    }
    let t = (lo + hi) / 2
    return p.reduce(0) { $0 + $1 * (1 - exp(-$1 * t)) }
}

@Suite("The platform", .serialized)
struct PlatformTests {
    /// One region of steady demand, one PoP, one rung, titles of equal size, each session one
    /// segment: requests reach the PoP independently, title by Zipf(0.9) over 1,000 titles, the
    /// independent reference model. Fills are instantaneous. The PoP holds 100 of the 1,000 files.
    @Test("A single LRU PoP under Zipf requests hits as often as Che's approximation says (±0.01)")
    func cheApproximation() throws {
        var catalog = testCatalog(titles: 1_000, length: try .constant(60),
                                  ladder: [RungConfiguration(bitrate: 1_000_000, width: 640, height: 360, codecs: "avc1")], exponent: 0.9)
        catalog.sizeVariation = 0
        let fileBytes = 1_000_000.0 * 60 / 8
        let pop = PopConfiguration(id: "edge", region: 0, servers: 1, storageBytes: 100 * fileBytes, egressBitsPerSecond: 1e12,
                                   rtt: .milliseconds(5), fillBitsPerSecondPerServer: 1e15)
        let c = configuration(regions: [RegionConfiguration(id: "r", utcOffset: .zero, users: 400, curve: .flat, tasteVariation: 0)],
                              watch: try .constant(1), hours: 1.5, catalog: catalog, pops: [pop])
        let world = World(configuration: c)
        try world.run(until: world.end)
        let m = world.results().pops[0].metrics
        let simulated = Double(m.hits.value) / Double(m.requests.value)
        let zipf = try ZipfDistribution(n: 1_000, exponent: 0.9)
        let che = cheHitRatio(probabilities: (1...1_000).map { zipf.probability($0) }, capacity: 100)
        #expect(m.requests.value > 30_000, "\(m.requests.value) requests")
        #expect(abs(simulated - che) < 0.01, "simulated \(simulated), Che \(che), \(m.requests.value) requests")
    }

    /// Flat demand, every user watching exactly 5 minutes: sessions last 300 s plus their startup.
    @Test("Concurrency matches Little's law N = λW (±3%)")
    func littlesLaw() throws {
        let c = configuration(regions: [flatRegion(users: 4_000)],
                              watch: try .constant(300), hours: 2)
        let world = World(configuration: c)
        try world.run(until: world.end)
        let g = world.results().global
        let lambda = Double(g.sessionStarts.value) / 7_200
        let w = g.endedSessionTime / Double(g.sessionsEnded.value) / 1e6
        let n = g.concurrency.timeAverage(until: .zero + .hours(2))
        #expect(abs(n - lambda * w) / n < 0.03, "N = \(n), λW = \(lambda * w)")
        // And the calibration put the level where it should be: 5% of 4,000 users.
        #expect(abs(n - 200) / 200 < 0.03, "N = \(n)")
    }

    /// Users mean to watch 3 hours but titles last about 20 minutes: sessions end with their title,
    /// and the calibration (on the popularity-weighted lengths of this catalog) still reaches 5%.
    @Test("Sessions cut at their title's end still reach the calibrated concurrency (±3%)")
    func titleLengthsCutSessions() throws {
        let c = configuration(regions: [flatRegion(users: 40_000)],
                              watch: try .constant(10_800), hours: 1.5,
                              catalog: testCatalog(length: try .lognormal(median: 1_200, sigma: 0.6)))
        let world = World(configuration: c)
        try world.run(until: world.end)
        let g = world.results().global
        let n = g.concurrency.timeAverage(until: .zero + .minutes(90))
        #expect(abs(n - 2_000) / 2_000 < 0.03, "N = \(n)")
        // Sessions did end at their titles' ends, well before the 3 hours.
        #expect(g.endedSessionTime / Double(g.sessionsEnded.value) / 1e6 < 3_600)
    }

    /// 200 concurrent sessions at a few Mbit/s on a PoP of 50 Mbit/s, then of 10 Gbit/s.
    @Test("Saturating a PoP's egress raises health misses and start time; more egress removes them")
    func saturation() throws {
        func run(egress: Double) throws -> (healthMisses: Int64, startP90: SimDuration, rebuffer: Double) {
            let pop = PopConfiguration(id: "edge", region: 0, servers: 1, storageBytes: 1e15, egressBitsPerSecond: egress, rtt: .milliseconds(10))
            let c = configuration(regions: [flatRegion(users: 4_000)],
                                  watch: try .constant(300), hours: 0.5, pops: [pop])
            let world = World(configuration: c)
            try world.run(until: world.end)
            let r = world.results()
            return (r.pops[0].metrics.healthMisses.value, r.global.startTime.percentile(90), try #require(r.global.rebufferRatio))
        }
        let saturated = try run(egress: 50e6)
        let ample = try run(egress: 10e9)
        #expect(saturated.healthMisses > 0)
        #expect(ample.healthMisses == 0)
        #expect(saturated.startP90 > ample.startP90 + .milliseconds(500), "p90 \(saturated.startP90) vs \(ample.startP90)")
        #expect(saturated.rebuffer > ample.rebuffer)
    }

    @Test("A saturated PoP's new sessions go to the next PoP in steering order")
    func steering() throws {
        let near = PopConfiguration(id: "near", region: 0, servers: 1, storageBytes: 1e15, egressBitsPerSecond: 30e6, rtt: .milliseconds(5))
        let far = PopConfiguration(id: "far", region: 0, servers: 1, storageBytes: 1e15, egressBitsPerSecond: 10e9, rtt: .milliseconds(40))
        let c = configuration(regions: [flatRegion(users: 4_000)],
                              watch: try .constant(300), hours: 0.25, pops: [near, far])
        let world = World(configuration: c)
        try world.run(until: world.end)
        let r = world.results()
        #expect(r.pops[0].metrics.healthMisses.value > 0)
        #expect(r.pops[1].metrics.sessions.value > 0)
        #expect(r.pops[1].metrics.healthMisses.value == 0)
    }

    @Test("Misses go through the parent tier, which fills and then serves")
    func parentTier() throws {
        let parent = PopConfiguration(id: "mid", region: 0, servers: 4, storageBytes: 1e15, egressBitsPerSecond: 1e12, rtt: .milliseconds(20))
        let edge = PopConfiguration(id: "edge", region: 0, servers: 1, storageBytes: 2e9, egressBitsPerSecond: 1e12, rtt: .milliseconds(5),
                                    parent: 0)
        let c = configuration(regions: [flatRegion(users: 2_000)],
                              hours: 0.5, pops: [parent, edge])
        let world = World(configuration: c)
        try world.run(until: world.end)
        let r = world.results()
        let edgeMetrics = r.pops[1].metrics, mid = r.pops[0].metrics
        #expect(edgeMetrics.contentMisses.value > 0)
        #expect(mid.requests.value >= edgeMetrics.contentMisses.value)  // every edge miss asks the parent
        #expect(mid.hits.value > 0)
        #expect(edgeMetrics.fills.value > 0)
    }

    /// Small storage makes a miss of most requests; each server fills one file at a time.
    @Test("Fills beyond a PoP's servers wait in its backlog, and every fill ends")
    func fillBacklog() throws {
        func run(servers: Int) throws -> PopMetrics {
            let pop = PopConfiguration(id: "edge", region: 0, servers: servers, storageBytes: 100e9, egressBitsPerSecond: 1e12,
                                       rtt: .milliseconds(10), fillBitsPerSecondPerServer: 100e6)
            let c = configuration(regions: [flatRegion(users: 2_000)],
                                  hours: 0.25, pops: [pop])
            let world = World(configuration: c)
            try world.run(until: world.end)
            // Every fill either holds a server or waits for one; none is lost.
            #expect(world.fills.site[0].running <= servers)
            #expect(world.fills.jobs.inUse == world.fills.site[0].running + world.fills.site[0].queue.count)
            return world.results().pops[0].metrics
        }
        func queuePeak(_ m: PopMetrics) -> Double { (0..<m.fillQueue.bucketCount).map { m.fillQueue.maxima[$0] }.max() ?? 0 }
        let one = try run(servers: 1), many = try run(servers: 1_000)
        #expect(queuePeak(one) > 10)
        #expect(queuePeak(many) == 0)
        #expect(one.fills.value > 0 && many.fills.value > 0)
    }

    /// A parent tier, small storage, tight egress and a small origin: every path a transfer can take.
    @Test("Links' books match the transfers in flight, throughout a congested run")
    func linkBooks() throws {
        let hub = PopConfiguration(id: "hub", region: 0, servers: 2, storageBytes: 20e9, egressBitsPerSecond: 400e6, rtt: .milliseconds(20))
        let edge = PopConfiguration(id: "edge", region: 0, servers: 2, storageBytes: 5e9, egressBitsPerSecond: 300e6, rtt: .milliseconds(5),
                                    parent: 0)
        let c = configuration(regions: [flatRegion(users: 2_000)],
                              hours: 0.5, pops: [hub, edge], originEgress: 150e6)
        let world = World(configuration: c)
        for minute in stride(from: 1, through: 30, by: 1) {
            try world.run(until: .zero + .minutes(Int64(minute)))
            let problems = WorldAudit(world).links()
            #expect(problems.isEmpty, "minute \(minute): \(problems)")
            if !problems.isEmpty { break }
        }
        let r = world.results()
        #expect(r.pops[1].metrics.contentMisses.value > 0 && r.pops[1].metrics.waited.value > 0)
    }

    /// Players in progress at the start are mid-segment at random points, so their requests spread
    /// over time instead of arriving in bursts one segment apart.
    @Test("Sessions in progress at the start do not request in step")
    func warmSessionsOutOfStep() throws {
        let c = configuration(regions: [flatRegion(users: 8_000)],
                              watch: try .constant(3_000), hours: 0.01)
        let world = World(configuration: c)
        var bins = [Int](repeating: 0, count: 16)  // half seconds over the first 8 s
        world.requestLog = { time, _, _, _, _, _ in
            let b = Int(time.microseconds / 500_000)
            if b < bins.count { bins[b] += 1 }
        }
        try world.run(until: .zero + .seconds(8))
        let mean = Double(bins.reduce(0, +)) / 16
        #expect(mean > 20)
        #expect(Double(bins.max()!) < 1.5 * mean, "\(bins)")
    }

    @Test("Every request the PoPs see reaches the request log, with the report's hit count")
    func requestLog() throws {
        let c = configuration(regions: [flatRegion(users: 2_000)], hours: 0.2)
        let world = World(configuration: c)
        var rows = 0, hits = 0
        var lastTime = SimInstant.zero
        world.requestLog = { time, _, _, bytes, hit, _ in
            rows += 1
            if hit { hits += 1 }
            precondition(time >= lastTime && bytes > 0)
            lastTime = time
        }
        try world.run(until: world.end)
        let m = world.results().pops[0].metrics
        #expect(rows == Int(m.requests.value))
        #expect(hits == Int(m.hits.value))
    }

    /// A PoP with tiny storage misses nearly everything, and its origin replica has 100 Mbit/s.
    @Test("A full origin queues transfers (onOverload: queue) or fails them (fail), never serving over capacity")
    func originOverload() throws {
        func run(_ policy: OverloadPolicy) throws -> OriginResults {
            let pop = PopConfiguration(id: "edge", region: 0, servers: 1, storageBytes: 1e9, egressBitsPerSecond: 10e9, rtt: .milliseconds(10))
            var c = configuration(regions: [flatRegion(users: 2_000)],
                                  hours: 0.25, pops: [pop], originEgress: 100e6)
            c.origin.onOverload = policy
            let world = World(configuration: c)
            try world.run(until: world.end)
            return world.results().origins[0]
        }
        for policy in [OverloadPolicy.queue, .fail] {
            let o = try run(policy)
            for b in 0..<o.bytes.bucketCount {
                #expect(o.bytes.ratePerSecond(b) * 8 <= 100e6 * 1.000_1, "\(policy) bucket \(b)")
            }
            if policy == .queue {
                #expect(o.waited > 0 && o.failures == 0)
            } else {
                #expect(o.failures > 0 && o.waited == 0)
            }
        }
    }

    /// 4,000 users on a 200 Mbit/s PoP want more than it has: it runs full, and never over.
    @Test("A saturated PoP serves its capacity and never more; the excess waits")
    func capacityRespected() throws {
        let pop = PopConfiguration(id: "edge", region: 0, servers: 1, storageBytes: 1e15, egressBitsPerSecond: 200e6, rtt: .milliseconds(10))
        let c = configuration(regions: [flatRegion(users: 4_000)],
                              watch: try .constant(300), hours: 0.5, pops: [pop])
        let world = World(configuration: c)
        try world.run(until: world.end)
        let m = world.results().pops[0].metrics
        let mbps = (0..<m.egress.bucketCount).map { m.egress.ratePerSecond($0) * 8 / 1e6 }
        for (b, rate) in mbps.enumerated() {
            #expect(rate <= 200 * 1.000_1, "bucket \(b): \(rate) Mbit/s")
        }
        #expect(mbps.max()! > 190)
        #expect(m.waited.value > 0)
    }
}

@Suite("PoP building blocks")
struct PopBlockTests {
    @Test("LRU evicts the least recently used files until the new one fits")
    func lru() {
        var cache = LRUCache(capacityBytes: 10, fileCount: 8)
        #expect(cache.insert(1, size: 4) == [])
        #expect(cache.insert(2, size: 4) == [])
        cache.touch(1)                                // 1 is now the most recent
        #expect(cache.insert(3, size: 4) == [2])      // 2 was least recent
        #expect(cache.recencyOrder == [3, 1])
        #expect(cache.insert(4, size: 20) == nil)     // larger than the cache: not held
        #expect(!cache.contains(4))
        #expect(cache.insert(5, size: 10) == [1, 3])
        #expect(cache.usedBytes == 10 && cache.files == 1)
        cache.resize(5, to: 9)
        #expect(cache.usedBytes == 9)
    }

    /// The segment model touches a streamed file at every segment, so it is never the least
    /// recent; a hybrid run touches it at its windows' ends, and eviction passes over it meanwhile.
    @Test("Eviction passes over a file steady sessions stream, and takes it when nothing else is left")
    func streamedFilesPassedOver() {
        var cache = LRUCache(capacityBytes: 10, fileCount: 8)
        #expect(cache.insert(1, size: 4) == [])
        #expect(cache.insert(2, size: 4) == [])
        cache.stream(1, by: 1)                        // 1 is least recent, but streamed
        #expect(cache.insert(3, size: 4) == [2])
        #expect(cache.recencyOrder == [3, 1])         // passed over: now the most recent but one
        cache.stream(3, by: 1)
        #expect(cache.insert(4, size: 10) == [1, 3])  // only streamed files are left: they go
        cache.stream(1, by: -1)
        cache.stream(3, by: -1)
        #expect(cache.insert(5, size: 2) == [4])
    }

    @Test("Pinned files are never evicted; unpinned ones go first in line")
    func pinning() {
        var cache = LRUCache(capacityBytes: 10, fileCount: 8)
        #expect(cache.insert(1, size: 4, pinned: true) == [])
        #expect(cache.insert(2, size: 3) == [])
        #expect(cache.insert(3, size: 3) == [])
        #expect(cache.pinnedBytes == 4 && cache.recencyOrder == [3, 2])
        #expect(cache.insert(4, size: 7) == nil)      // only 6 bytes are evictable
        #expect(cache.insert(4, size: 6) == [2, 3])   // pinned 1 stays
        #expect(cache.contains(1) && cache.isPinned(1))
        cache.unpin(1)                                // left the plan: first to go
        #expect(cache.recencyOrder == [4, 1])
        #expect(cache.insert(5, size: 4) == [1])
        cache.pin(5)
        cache.resize(5, to: 8)                        // more replicas: over capacity
        #expect(cache.trim() == [4])
        #expect(cache.usedBytes == 8 && cache.pinnedBytes == 8)
    }

    /// Capacity 100 among flows capped at 10, 20 and two uncapped: 10 and 20 keep their caps, the
    /// other two share 70 (35 each); a new uncapped flow makes it 70 / 3.
    @Test("Max-min fair shares water-fill around capped flows (hand-computed)")
    func waterFilling() {
        var flows = FlowSet()
        flows.add(cap: 10e6, rate: 10e6)
        flows.add(cap: 20e6, rate: 20e6)
        flows.add(cap: 5e9, rate: 35e6)
        #expect(abs(flows.share(capacity: 100e6, cap: 5e9) - 70e6 / 2) < 1)
        flows.add(cap: 5e9, rate: 35e6)
        #expect(abs(flows.share(capacity: 100e6, cap: 5e9) - 70e6 / 3) < 1)
        // A new flow capped below the level keeps its cap.
        #expect(flows.share(capacity: 100e6, cap: 5e6) == 5e6)
        // An idle link gives a flow its cap.
        #expect(FlowSet().share(capacity: 100e6, cap: 30e6) == 30e6)
        flows.remove(cap: 10e6, rate: 10e6)
        #expect(flows.active == 3)
    }

    /// The level is found visiting occupied bins only: a bin emptied by removals must drop out,
    /// and one filled again come back, exactly as if the flows had been added afresh.
    @Test("Fair shares after flows come and go equal those of the same flows added afresh")
    func sharesAfterRemovals() {
        var churned = FlowSet()
        for cap in [3e6, 8e6, 25e6, 25e6, 120e6] { churned.add(cap: cap, rate: 1e6) }
        churned.remove(cap: 8e6, rate: 1e6)
        churned.remove(cap: 120e6, rate: 1e6)
        churned.add(cap: 120e6, rate: 1e6)
        var fresh = FlowSet()
        for cap in [3e6, 25e6, 25e6, 120e6] { fresh.add(cap: cap, rate: 1e6) }
        for cap in [1e6, 8e6, 30e6, 200e6] {
            for capacity in [20e6, 60e6, 150e6, 1e9] {
                #expect(churned.share(capacity: capacity, cap: cap) == fresh.share(capacity: capacity, cap: cap))
            }
        }
        // The 3 Mbit/s flow gone too: the new flow and the three left, all capped above the
        // level, share 50 Mbit/s equally.
        churned.remove(cap: 3e6, rate: 1e6)
        #expect(abs(churned.share(capacity: 50e6, cap: 100e6) - 50e6 / 4) < 1)
    }

    @Test("Round trips between regions grow with the time-zone difference, around the clock")
    func distances() {
        let regions = [-8.0, 1, 9].map { RegionConfiguration(id: "\($0)", utcOffset: SimDuration(seconds: $0 * 3_600), users: 1, curve: .flat) }
        let d = RegionDistances(regions: regions, base: .milliseconds(20), perHour: .milliseconds(8))
        #expect(d.rtt(from: 0, to: 0) == .zero)
        #expect(d.rtt(from: 0, to: 1) == .milliseconds(20 + 72))
        #expect(d.rtt(from: 0, to: 2) == .milliseconds(20 + 56))  // 17 h apart is 7 h the other way
    }
}
