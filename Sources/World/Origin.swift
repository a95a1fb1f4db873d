import Metrics
import SimCore

/// The S3-like origin: one replica per origin region, their health and first-byte latency, and the
/// replica each PoP reads from (the nearest one up).
///
/// Owns: the replicas' down counts (origin-down faults), latency multipliers (origin-slow faults)
/// and failed reads (`onOverload: fail`). A replica's egress is a link (``Links``), where its
/// bytes and waits are recorded. Handles no event itself: the fault injector marks replicas down
/// and slow, the world asks which replica serves a PoP.
final class Origin {
    struct Replica {
        /// The region it is in.
        let region: Int
        /// Down faults in force.
        var downs = 0
        /// First-byte latency multiplier of the slow faults in force.
        var latencyFactor = 1.0
        /// Reads refused because its egress was full (`onOverload: fail`).
        var failures = Counter()
        var isUp: Bool { downs == 0 }
    }

    @exclusivity(unchecked) var replicas: [Replica]
    /// Per PoP: the replicas, nearest first (round trip from the PoP's region; ties by index).
    let order: [[Int]]

    /// Replicas in `regions` (one at region 0 if none is named), each PoP's ordered by the round
    /// trip from its region.
    init(regions: [Int], popRegions: [Int], distances: RegionDistances) {
        let regions = regions.isEmpty ? [0] : regions
        replicas = regions.map { Replica(region: $0) }
        order = popRegions.map { from in
            regions.indices.sorted { a, b in
                let da = distances.rtt(from: from, to: regions[a]), db = distances.rtt(from: from, to: regions[b])
                return da < db || (da == db && a < b)
            }
        }
    }

    var count: Int { replicas.count }

    /// The replica PoP `pop` reads from when all are up.
    func preferred(for pop: Int) -> Int { order[pop][0] }

    /// The nearest replica up from PoP `pop`'s region, if any.
    func nearestUp(from pop: Int) -> Int? { order[pop].first { replicas[$0].isUp } }

    /// The replica in region `r` (a fault names replicas by region).
    func index(region r: Int) -> Int { replicas.firstIndex { $0.region == r }! }
}
