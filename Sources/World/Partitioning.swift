/// Which partition each region and PoP belongs to in a partitioned run (`execution.partitions:
/// popTrees`).
///
/// A partition is a connected part of the topology: a PoP is tied to its parent tier and to the
/// region it stands in, and a region to its nearest PoP. So a partition holds a hub, every site
/// below it, the regions those sites stand in or are nearest to, and any other site in those
/// regions (a site's peers are in its region, so a fill never crosses partitions). What partitions
/// still share is the origin and the activity log (see `PartitionedWorld`).
///
/// Partitions are numbered by their first region in the scenario's order, so the plan depends
/// only on the configuration.
public struct PartitionPlan: Sendable, Equatable {
    /// Per region and per PoP: its partition.
    public var regionPartition: [Int]
    public var popPartition: [Int]
    public var count: Int

    public init(_ c: WorldConfiguration) {
        let pops = c.pops.count, regions = c.regions.count
        guard c.execution.partitions == .popTrees else {
            regionPartition = Array(repeating: 0, count: regions)
            popPartition = Array(repeating: 0, count: pops)
            count = 1
            return
        }
        // Union-find over PoPs (0..<pops) and regions (pops...).
        var parent = Array(0..<(pops + regions))
        func find(_ x: Int) -> Int {
            var x = x
            while parent[x] != x {
                parent[x] = parent[parent[x]]
                x = parent[x]
            }
            return x
        }
        func unite(_ a: Int, _ b: Int) {
            let ra = find(a), rb = find(b)
            if ra != rb { parent[max(ra, rb)] = min(ra, rb) }
        }
        for (p, pop) in c.pops.enumerated() {
            if let up = pop.parent { unite(p, up) }
            unite(p, pops + pop.region)
        }
        let distances = RegionDistances(regions: c.regions, base: c.clients.crossRegionRtt, perHour: c.clients.crossRegionRttPerHour)
        for r in 0..<regions {
            unite(pops + r, distances.nearestFirst(c.pops, among: Array(c.pops.indices), from: r)[0])
        }
        var number: [Int: Int] = [:]
        regionPartition = (0..<regions).map { r in
            let root = find(pops + r)
            if let n = number[root] { return n }
            number[root] = number.count
            return number.count - 1
        }
        // Every PoP stands in a region, so its component has a number.
        popPartition = (0..<pops).map { number[find($0)]! }
        count = number.count
    }

    /// What partition `index` of this plan owns, for its world.
    func shard(_ index: Int) -> World.Shard {
        WorldShard(index: index, count: count, ownsRegion: regionPartition.map { $0 == index }, ownsPop: popPartition.map { $0 == index })
    }
}

/// A world's part in a partitioned run: the regions and PoPs it simulates. Partition `count`
/// owns none: it runs the shared activity log and its aggregators.
struct WorldShard {
    var index: Int
    var count: Int
    var ownsRegion: [Bool]
    var ownsPop: [Bool]
    var isLog: Bool { index == count }
}
