import Placement
import SimCore

/// The playback API's choice of PoP for a session: the real steering ranking (`Placement.Steering`)
/// over its region's PoPs, by round trip (with any degraded link's added delay), whether they hold
/// the title, health and load.
///
/// Owns: per region, the PoPs nearest first and their round trips from the region (a partition's
/// clients are steered among its own PoPs), and the steering policy. Counts a health miss at the
/// nearest PoP when it could not take the session (``Sites``' `healthMisses`). Handles no event:
/// the world steers when the playback API answers, when a player fails over, and when it places
/// the sessions in progress at the start.
struct PlaybackSteering {
    /// Per region: PoPs nearest first, and their round trips from the region.
    let ranking: [[Int]]
    let rankingRtt: [[SimDuration]]
    let policy: SteeringPolicy
    let sites: Sites
    let faults: FaultInjector

    init(configuration c: WorldConfiguration, distances: RegionDistances, ownPops: [Int], sites: Sites, faults: FaultInjector) {
        let ranking = c.regions.indices.map { distances.nearestFirst(c.pops, among: ownPops, from: $0) }
        self.ranking = ranking
        rankingRtt = c.regions.indices.map { r in ranking[r].map { c.pops[$0].rtt + distances.rtt(from: r, to: c.pops[$0].region) } }
        policy = SteeringPolicy(holdingBonusMs: c.placement.holdingBonus.seconds * 1e3, loadPenaltyMs: c.placement.loadPenalty.seconds * 1e3)
        self.sites = sites
        self.faults = faults
    }

    /// The PoP for a session of region `r` playing `title`, with the PoPs' utilisation given (the
    /// links' now; the steady-state start gives the load its sessions will bring, before any flows
    /// exist). Steering learns of a failed PoP after the detection delay; a player failing over
    /// (`excludeDown`) knows at once (its connection is refused).
    func choose(region r: Int, title: Int, now: SimInstant, excludeDown: Bool, utilisation: (Int) -> Double) -> Int {
        let order = ranking[r]
        var candidates: [SteeringCandidate] = []
        candidates.reserveCapacity(order.count)
        for (k, p) in order.enumerated() {
            let up = excludeDown ? !sites.isDown(p) : !sites.knownDown(p, now: now)
            let rtt = rankingRtt[r][k].microseconds + faults.linkRttUs(region: r, pop: p)
            let u = utilisation(p)
            candidates.append(SteeringCandidate(site: p, rttMs: Double(rtt) / 1e3, holdsTitle: sites.holds(title: title, at: p),
                                                utilisation: u, healthy: u < sites.pops[p].healthThreshold, available: up))
        }
        // The nearest PoP could not take the session: a health miss, whether it went elsewhere or,
        // with every PoP saturated, stayed.
        if utilisation(order[0]) >= sites.pops[order[0]].healthThreshold { sites.metrics[order[0]].healthMisses.increment() }
        return order[Steering.rank(candidates, policy: policy)[0]]
    }
}
