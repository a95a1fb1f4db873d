import Metrics
import SimCore
import Stochastics
import Testing
@testable import World

/// Three regions, one PoP each; `parents` ties PoPs into trees. Activity with lost acknowledgements.
func partitionedWorld(parents: [Int?] = [nil, nil, nil], hours: Double = 0.5, users: Double = 1_200,
                      partitions: ExecutionConfiguration.Partitions = .popTrees) -> WorldConfiguration {
    let regions = (0..<3).map { RegionConfiguration(id: "r\($0)", utcOffset: .hours(Int64($0) * 3), users: users, curve: .flat) }
    let pops = (0..<3).map { p in
        PopConfiguration(id: "pop-\(p)", region: p, servers: 4, storageBytes: 1e15, egressBitsPerSecond: 1e12, rtt: .milliseconds(10),
                         parent: parents[p])
    }
    var c = configuration(regions: regions, hours: hours, pops: pops)
    c.activity = ActivityConfiguration(batchInterval: .seconds(10), partitions: 4, ackLoss: 0.01)
    c.execution = ExecutionConfiguration(partitions: partitions, syncInterval: .seconds(1))
    return c
}

@Suite("Partitioned runs")
struct PartitionTests {
    @Test("A partition is a PoP tree with the regions it stands in or is nearest to, numbered by first region")
    func plan() {
        let apart = PartitionPlan(partitionedWorld())
        #expect(apart.count == 3 && apart.regionPartition == [0, 1, 2] && apart.popPartition == [0, 1, 2])
        // pop-2 under pop-0: one tree of regions 0 and 2, and region 1 alone.
        let tree = PartitionPlan(partitionedWorld(parents: [nil, nil, 0]))
        #expect(tree.count == 2 && tree.regionPartition == [0, 1, 0] && tree.popPartition == [0, 1, 0])
        #expect(PartitionPlan(partitionedWorld(partitions: .one)).count == 1)
        #expect(makeWorld(configuration: partitionedWorld(partitions: .one)) is World)
        #expect(makeWorld(configuration: partitionedWorld(parents: [nil, 0, 1])) is World)  // one tree: nothing to split
    }

    @Test("A partitioned run gives the same results with 1 or 2 threads, however it is sliced")
    func deterministic() throws {
        func figures(threads: Int, slices: Int) throws -> [Double] {
            var c = partitionedWorld(parents: [nil, nil, 0])
            c.threads = threads
            let world = PartitionedWorld(configuration: c)
            for k in 1...slices { try world.run(until: .zero + SimDuration(microseconds: c.duration.microseconds * Int64(k) / Int64(slices))) }
            let r = world.results()
            return [Double(r.eventsProcessed), r.global.bits, Double(r.global.play), Double(r.global.rebuffer), r.global.concurrency.maximum,
                    r.global.concurrency.timeAverage(until: r.end), r.global.startTime.percentile(99).seconds,
                    Double(r.pipeline.appended), Double(r.pipeline.aggregated), Double(r.pipeline.duplicates), r.pipeline.delivery.percentile(99).seconds,
                    r.origins[0].totalBytes] + r.regions.map { Double($0.aggregate.sessionStarts.value) } + r.pops.map { $0.metrics.bytes }
        }
        let reference = try figures(threads: 1, slices: 1)
        #expect(reference[0] > 50_000)
        #expect(try figures(threads: 2, slices: 1) == reference)
        #expect(try figures(threads: 2, slices: 7) == reference)
        #expect(try figures(threads: 1, slices: 13) == reference)
    }

    @Test("Across partitions every activity event is accounted for, and the log's data sets are published")
    func conservation() throws {
        let world = PartitionedWorld(configuration: partitionedWorld())
        try world.run(until: world.end)
        let m = world.results().pipeline
        #expect(m.produced > 10_000)
        expectConserved(m)
        #expect(m.resent > 0 && m.duplicates == m.resent)
        #expect(m.publications.count == 1)
        #expect(m.lagEvents.count == 4)
    }

    @Test("Partitions that share nothing but the origin see the sessions and play of one world")
    func agreesWithOneLoop() throws {
        let one = World(configuration: partitionedWorld(partitions: .one))
        try one.run(until: one.end)
        let split = PartitionedWorld(configuration: partitionedWorld())
        try split.run(until: split.end)
        let a = one.results(), b = split.results()
        // The same arrivals (per-region streams), on the same PoPs.
        for r in 0..<3 {
            #expect(a.regions[r].aggregate.sessionStarts == b.regions[r].aggregate.sessionStarts)
            #expect(a.regions[r].aggregate.initial == b.regions[r].aggregate.initial)
        }
        #expect(abs(b.global.concurrency.maximum - a.global.concurrency.maximum) <= 0.02 * a.global.concurrency.maximum)
        #expect(abs(Double(b.global.play - a.global.play)) <= 0.01 * Double(a.global.play))
        let bitrateA = try #require(a.global.averageBitrate), bitrateB = try #require(b.global.averageBitrate)
        #expect(abs(bitrateB - bitrateA) <= 0.02 * bitrateA)
        #expect(a.pipeline.produced > 0 && abs(Double(b.pipeline.produced - a.pipeline.produced)) <= 0.02 * Double(a.pipeline.produced))
    }

    @Test("Each origin replica's egress is shared out whole, most to the partition with the most transfers on it")
    func originShares() throws {
        var c = partitionedWorld(parents: [nil, nil, 0])
        c.origin.egressBitsPerSecond = 2e9  // scarce: transfers wait
        let world = PartitionedWorld(configuration: c)
        try world.run(until: .zero + .minutes(5))
        let shares = world.worlds.prefix(world.plan.count).map { $0.links[$0.links.replica(0)].capacity }
        #expect(abs(shares.reduce(0, +) - 2e9) < 1)
        let load = world.worlds.prefix(world.plan.count).map { w in Double(w.links[w.links.replica(0)].flows.active + w.links[w.links.replica(0)].waiting.count) }
        #expect(load.reduce(0, +) > 0)
        // Shares follow the load of the last synchronisation point (the run stopped at one).
        let heavier = load[0] > load[1] ? 0 : 1
        #expect(shares[heavier] >= shares[1 - heavier])
        #expect(shares.allSatisfy { $0 >= 2e9 * 0.01 / 2 * 0.99 })
    }
}
