import Testing
@testable import Placement

/// Zipf(0.9) request probabilities over `n` files.
func zipf(_ n: Int, _ s: Double = 0.9) -> [Double] {
    var w = (1...n).map { 1 / powd(Double($0), s) }
    let total = w.reduce(0, +)
    for i in w.indices { w[i] /= total }
    return w
}

/// x^y for positive x, from the module's 2^x and a series for log2.
func powd(_ x: Double, _ y: Double) -> Double { pow2(y * log2d(x)) }

func log2d(_ x: Double) -> Double {
    // log2 x = e + log2 m with x = m·2^e, m in [1, 2); log m by atanh series.
    let e = Double(x.exponent), m = x.significand
    let t = (m - 1) / (m + 1)
    var sum = 0.0, power = t
    for k in stride(from: 1, through: 61, by: 2) {
        sum += power / Double(k)
        power *= t * t
    }
    return e + 2 * sum / 0.693_147_180_559_945_3
}

let site = SiteSpecification(storageBytes: 100, servers: 4, serverEgressBitsPerSecond: 10e9, churnMargin: 0.05)

@Suite("Site plans")
struct PlannerTests {
    /// 1,000 files of one byte, Zipf demand, room for 100: the plan is the 100 most requested, and
    /// its hit ratio under independent requests is the top-C oracle's.
    @Test("With perfect popularity knowledge the plan is the top-C oracle")
    func oracle() {
        let p = zipf(1_000)
        let candidates = p.enumerated().map { PlacementCandidate(file: $0, sizeBytes: 1, demandBytesPerDay: $1) }
        let plan = Planner.plan(site: site, candidates: candidates, isHeld: { _ in false })
        #expect(Set(plan.files.map(\.file)) == Set(0..<100))
        let oracle = p.prefix(100).reduce(0, +)
        #expect(abs(plan.expectedOffload - oracle) < 1e-12)
        #expect(plan.usedBytes == 100)
        #expect(plan.added == Array(0..<100) && plan.removed == [])
        // Most valuable first: the fill order.
        #expect(plan.files.map(\.file) == Array(0..<100))
    }

    @Test("Unchanged demand keeps the plan: no churn")
    func noChurn() {
        let p = zipf(1_000)
        let candidates = p.enumerated().map { PlacementCandidate(file: $0, sizeBytes: 1, demandBytesPerDay: $1) }
        let first = Planner.plan(site: site, candidates: candidates, isHeld: { _ in false })
        let held = Set(first.files.map(\.file))
        let second = Planner.plan(site: site, candidates: candidates, isHeld: { held.contains($0) })
        #expect(second.added == [] && second.removed == [])
    }

    /// Demand moves by 4% around the edge of the plan (files 90–99 down, 100–109 up), enough to
    /// reorder them; a 10% margin (more than the move: 1.04 / 0.96 < 1.1) keeps what is held, at a
    /// cost in offload bounded by the margin.
    @Test("Demand moves within the churn margin replace nothing, and cost at most the margin in offload")
    func churnBound() {
        let p = zipf(1_000)
        let candidates = p.enumerated().map { PlacementCandidate(file: $0, sizeBytes: 1, demandBytesPerDay: $1) }
        var careful = site
        careful.churnMargin = 0.1
        let held = Set(Planner.plan(site: careful, candidates: candidates, isHeld: { _ in false }).files.map(\.file))
        let moved = candidates.map { c -> PlacementCandidate in
            var n = c
            if (90..<100).contains(c.file) { n.demandBytesPerDay *= 0.96 }
            if (100..<110).contains(c.file) { n.demandBytesPerDay *= 1.04 }
            return n
        }
        let kept = Planner.plan(site: careful, candidates: moved, isHeld: { held.contains($0) })
        #expect(kept.added == [] && kept.removed == [])
        var free = site
        free.churnMargin = 0
        let fresh = Planner.plan(site: free, candidates: moved, isHeld: { held.contains($0) })
        #expect(!fresh.added.isEmpty)  // without the margin the move does swap files
        #expect(fresh.added.count == fresh.removed.count)
        #expect(kept.expectedOffload >= fresh.expectedOffload / 1.1)
        #expect(kept.expectedOffload <= fresh.expectedOffload)
    }

    /// Held file 0 (demand 10) against newcomer 1: it is displaced at demand 10.6 (> 10 × 1.05),
    /// not at 10.4.
    @Test("A newcomer displaces a held file only when more valuable by more than the margin")
    func margin() {
        let one = SiteSpecification(storageBytes: 1, servers: 1, serverEgressBitsPerSecond: 1e9, churnMargin: 0.05)
        for (demand, displaced) in [(10.4, false), (10.6, true)] {
            let plan = Planner.plan(site: one, candidates: [
                PlacementCandidate(file: 0, sizeBytes: 1, demandBytesPerDay: 10),
                PlacementCandidate(file: 1, sizeBytes: 1, demandBytesPerDay: demand),
            ], isHeld: { $0 == 0 })
            #expect(plan.files.map(\.file) == [displaced ? 1 : 0])
            #expect(plan.removed == (displaced ? [0] : []))
        }
    }

    /// Servers of 10 Gbit/s at 50%: a file peaking at 12 Gbit/s needs 3 copies; 40 Gbit/s is
    /// capped by the maximum of 4 copies; a file with no forecast peak gets one.
    @Test("Replicas grow with a file's forecast peak, within the servers and the maximum")
    func replicas() {
        #expect(Planner.replicas(peakBitsPerSecond: 12e9, site: site) == 3)
        #expect(Planner.replicas(peakBitsPerSecond: 40e9, site: site) == 4)
        #expect(Planner.replicas(peakBitsPerSecond: 0, site: site) == 1)
        #expect(Planner.replicas(peakBitsPerSecond: 4e9, site: site) == 1)
        var small = site
        small.servers = 2
        #expect(Planner.replicas(peakBitsPerSecond: 40e9, site: small) == 2)
        // Replicas cost storage: a 3-copy file of 10 bytes takes 30.
        let plan = Planner.plan(site: site, candidates: [PlacementCandidate(file: 5, sizeBytes: 10, demandBytesPerDay: 1, peakBitsPerSecond: 12e9)],
                                isHeld: { _ in false })
        #expect(plan.usedBytes == 30 && plan.files[0].replicas == 3)
    }

    @Test("Files that do not fit are skipped and smaller ones still fill the space")
    func knapsack() {
        let plan = Planner.plan(site: SiteSpecification(storageBytes: 10, servers: 1, serverEgressBitsPerSecond: 1e9), candidates: [
            PlacementCandidate(file: 0, sizeBytes: 6, demandBytesPerDay: 60),   // density 10
            PlacementCandidate(file: 1, sizeBytes: 6, demandBytesPerDay: 54),   // 9: does not fit after 0
            PlacementCandidate(file: 2, sizeBytes: 4, demandBytesPerDay: 20),   // 5
            PlacementCandidate(file: 3, sizeBytes: 1, demandBytesPerDay: 0),    // no demand: never planned
        ], isHeld: { _ in false })
        #expect(plan.files.map(\.file) == [0, 2])
        #expect(abs(plan.expectedOffload - 80.0 / 134) < 1e-12)
    }

    /// Half-life of one day: yesterday's forecast and today's observation weigh the same.
    @Test("The forecast is an exponentially weighted average with the given half-life")
    func forecast() {
        var f = DemandForecast(initial: [100, 0], halfLifePeriods: 1)
        #expect(f.weight(over: 1) == 0.5)
        f.fold(rates: [0, 100])
        #expect(f.values == [50, 50])
        var slow = DemandForecast(initial: [0], halfLifePeriods: 3)
        for _ in 0..<3 { slow.fold(rates: [1]) }
        #expect(abs(slow.values[0] - 0.5) < 1e-12)  // three periods: half the way to the new level
        var halves = DemandForecast(initial: [0], halfLifePeriods: 3)
        for _ in 0..<6 { halves.fold(rates: [1], over: 0.5) }
        #expect(abs(halves.values[0] - 0.5) < 1e-12)  // six half-periods: the same
        #expect(abs(pow2(0.5) - 1.414_213_562_373_095) < 1e-14)
        #expect(pow2(-3) == 0.125)
    }
}

@Suite("Rendezvous hashing")
struct HashingTests {
    /// 100,000 files over 10 servers: each gets its tenth within 3%.
    @Test("Files spread evenly over a site's servers")
    func balance() {
        var load = [Int](repeating: 0, count: 10)
        for f in 0..<100_000 { load[Rendezvous.servers(file: f, among: Array(0..<10), replicas: 1)[0]] += 1 }
        let mean = 10_000.0
        #expect(Double(load.max()!) / mean < 1.03, "\(load)")
        #expect(Double(load.min()!) / mean > 0.97, "\(load)")
    }

    /// A tenth server joins: about 1/11 of the files move, all of them to it; the server then
    /// leaves and exactly those files move back.
    @Test("A server joining or leaving moves only about 1/n of the files")
    func movement() {
        let before = (0..<100_000).map { Rendezvous.servers(file: $0, among: Array(0..<10), replicas: 1)[0] }
        let after = (0..<100_000).map { Rendezvous.servers(file: $0, among: Array(0..<11), replicas: 1)[0] }
        let moved = zip(before, after).filter { $0 != $1 }
        #expect(moved.allSatisfy { $0.1 == 10 })
        #expect(abs(Double(moved.count) / 100_000 - 1.0 / 11) < 0.005, "\(moved.count)")
        // Two copies: a leaving server's files each gain one new server; the others keep theirs.
        for f in 0..<2_000 {
            let full = Rendezvous.servers(file: f, among: Array(0..<10), replicas: 2)
            let less = Rendezvous.servers(file: f, among: Array(0..<10).filter { $0 != 3 }, replicas: 2)
            if full.contains(3) {
                #expect(Set(less).intersection(full) == Set(full.filter { $0 != 3 }))
            } else {
                #expect(less == full)
            }
        }
    }

    @Test("Assignments are a fixed function of file and server ids (golden)")
    func golden() {
        #expect(Rendezvous.servers(file: 42, among: Array(0..<8), replicas: 3) == Rendezvous.servers(file: 42, among: Array((0..<8).reversed()), replicas: 3))
        #expect(Rendezvous.score(file: 0, server: 0) == Rendezvous.mix(Rendezvous.mix(0x632B_E59B_D9B4_E019)))
    }
}

@Suite("Steering")
struct SteeringTests {
    /// Near (10 ms, lacks the title), mid (30 ms, holds it), far (50 ms, holds it), and a
    /// saturated one at 5 ms: mid first (30 − 30 < 10), then near, then far; the saturated last.
    @Test("A site holding the title wins within the bonus; saturated and failed sites go last")
    func ranking() {
        let c = [
            SteeringCandidate(site: 0, rttMs: 10, holdsTitle: false, utilisation: 0.2, healthy: true),
            SteeringCandidate(site: 1, rttMs: 30, holdsTitle: true, utilisation: 0.2, healthy: true),
            SteeringCandidate(site: 2, rttMs: 50, holdsTitle: true, utilisation: 0.2, healthy: true),
            SteeringCandidate(site: 3, rttMs: 5, holdsTitle: true, utilisation: 0.95, healthy: false),
            SteeringCandidate(site: 4, rttMs: 1, holdsTitle: true, utilisation: 0, healthy: true, available: false),
        ]
        #expect(Steering.rank(c) == [1, 0, 2, 3, 4])
        // With no bonus, distance decides.
        #expect(Steering.rank(c, policy: SteeringPolicy(holdingBonusMs: 0, loadPenaltyMs: 10)) == [0, 1, 2, 3, 4])
        // Load breaks a tie in distance.
        let tie = [SteeringCandidate(site: 0, rttMs: 10, holdsTitle: true, utilisation: 0.8, healthy: true),
                   SteeringCandidate(site: 1, rttMs: 10, holdsTitle: true, utilisation: 0.1, healthy: true)]
        #expect(Steering.rank(tie) == [1, 0])
    }
}
