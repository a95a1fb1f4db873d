import SimCore
import Stochastics
import Testing
@testable import World

/// Two days from midnight UTC in one region at UTC: windows 02:00–06:00, plans daily.
func placementWorld(pops: [PopConfiguration], users: Double = 3_000, hours: Double = 48, releases: ReleaseConfiguration = .init(perDay: 4),
                    placement: PlacementConfiguration = PlacementConfiguration(windowStart: .hours(2), windowEnd: .hours(6))) -> WorldConfiguration {
    var catalog = testCatalog(titles: 400)
    catalog.releases = releases
    return configuration(regions: [flatRegion(users: users)], hours: hours, start: 1_795_132_800,  // 2026-11-20T00:00:00Z
                         catalog: catalog, pops: pops, placement: placement)
}

func edge(_ id: String, storage: Double, servers: Int = 2, egress: Double = 10e9, rtt: Int64 = 10, parent: Int? = nil) -> PopConfiguration {
    PopConfiguration(id: id, region: 0, servers: servers, storageBytes: storage, egressBitsPerSecond: egress, rtt: .milliseconds(rtt),
                     fillBitsPerSecondPerServer: 200e6, parent: parent)
}

@Suite("Placement in the world")
struct PlacementWorldTests {
    /// Checker observers on every fill transfer: windowed fills start only inside the window and
    /// are cut at its close; each PoP's running fills never exceed its servers nor their fill rate;
    /// storage never exceeds capacity.
    @Test("Plan fills run only inside the fill window, within the fill servers and the storage")
    func limits() throws {
        // Misses queue fills for the window too, so that there are many.
        let placement = PlacementConfiguration(onMiss: .queued, windowStart: .hours(2), windowEnd: .hours(6))
        let c = placementWorld(pops: [edge("a", storage: 60e9), edge("b", storage: 40e9, servers: 1)], placement: placement)
        let world = World(configuration: c)
        var running = [[Int: Double]](repeating: [:], count: 2)  // file → rate, per PoP
        var starts = 0, cuts = 0, completions = 0
        var problems: [String] = []
        world.fillLog = { r in
            let pop = c.pops[r.pop]
            switch r.event {
            case .started:
                starts += 1
                if r.windowed && !world.fills.windowOpen(r.pop, at: r.time) { problems.append("started outside the window at \(r.time)") }
                running[r.pop][r.file] = r.rate
                let total = running[r.pop].values.reduce(0, +)
                if running[r.pop].count > pop.servers { problems.append("\(running[r.pop].count) fills on \(pop.servers) servers") }
                if total > Double(pop.servers) * pop.fillBitsPerSecondPerServer * (1 + 1e-9) { problems.append("fill rate \(total)") }
            case .cancelled:
                running[r.pop][r.file] = nil
            case .paused:
                cuts += 1
                if world.fills.windowOpen(r.pop, at: r.time) || !world.fills.windowOpen(r.pop, at: r.time - .microseconds(1)) {
                    problems.append("cut at \(r.time), not at the window's close")
                }
                running[r.pop][r.file] = nil
            case .completed:
                completions += 1
                if r.windowed && !world.fills.windowOpen(r.pop, at: r.time - .microseconds(1)) { problems.append("ran past the window") }
                running[r.pop][r.file] = nil
            }
        }
        for minute in stride(from: 10, through: 48 * 60, by: 10) {
            try world.run(until: .zero + .minutes(Int64(minute)))
            for p in 0..<2 where world.sites.pops[p].cache.usedBytes > c.pops[p].storageBytes * (1 + 1e-9) {
                problems.append("storage over capacity at minute \(minute)")
            }
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(starts > 10 && completions > 10, "\(starts) starts, \(completions) completions")
        let r = world.results()
        #expect(r.pops.allSatisfy { $0.metrics.plans.count == 3 })  // the start, and two nights
        #expect(r.pops.allSatisfy { $0.metrics.nights.count == 2 })
        #expect(cuts > 0, "no fill was running when a window closed")
    }

    /// A title released at 08:00 on the second day, announced a week ahead: the night before, every
    /// PoP fills it, so from its release it is served from the PoPs. Without plans and without
    /// pull-through, nobody holds it and every request goes to the origin.
    @Test("An announced release is filled overnight and served from the PoPs at release")
    func releaseReadiness() throws {
        let releases = ReleaseConfiguration(perDay: 0, scheduled: [ScheduledRelease(at: .hours(32), boost: 5)])
        func run(_ placement: PlacementConfiguration) throws -> ReleaseStats {
            let c = placementWorld(pops: [edge("a", storage: 60e9), edge("b", storage: 60e9)], users: 1_500, hours: 34, releases: releases,
                                   placement: placement)
            let world = World(configuration: c)
            try world.run(until: world.end)
            return try #require(world.results().releases.first)
        }
        let planned = try run(PlacementConfiguration(windowStart: .hours(2), windowEnd: .hours(6)))
        #expect(planned.sitesHolding == 2)
        #expect(planned.requests > 500)
        #expect(Double(planned.hits) / Double(planned.requests) > 0.99, "\(planned)")
        let nothing = try run(PlacementConfiguration(plans: .off, onMiss: .off))
        #expect(nothing.sitesHolding == 0 && nothing.hits == 0)
        let pulled = try run(.pullThrough)
        #expect(pulled.sitesHolding == 0)  // not there until asked for
        #expect(Double(pulled.hits) / Double(pulled.requests) > 0.9)
    }

    /// Hub, and two edges under it in one region (peers). A file one edge holds fills the other
    /// from it; one only the hub holds, from the hub; one nobody holds, from the origin.
    @Test("Fills come from a peer first, then the tier above, then the origin")
    func fillSources() {
        let c = placementWorld(pops: [edge("hub", storage: 5e9), edge("a", storage: 5e9, parent: 0), edge("b", storage: 5e9, parent: 0)],
                               placement: PlacementConfiguration(plans: .off, onMiss: .off))
        let world = World(configuration: c)
        #expect(world.fills.peers[1] == [2] && world.fills.peers[2] == [1] && world.fills.peers[0] == [])
        let file = 399 * 3 + 1  // the least popular title: in no warm cache
        #expect(!world.sites.pops[0].cache.contains(file) && !world.sites.pops[2].cache.contains(file))
        #expect(world.fills.source(file: file, for: 1).map(world.links.tier(of:)) == .origin(replica: 0))
        _ = world.sites.pops[0].cache.insert(file, size: world.sites.fileBytes(file))
        #expect(world.fills.source(file: file, for: 1).map(world.links.tier(of:)) == .pop(0))
        _ = world.sites.pops[2].cache.insert(file, size: world.sites.fileBytes(file))
        #expect(world.fills.source(file: file, for: 1).map(world.links.tier(of:)) == .pop(2))
    }

    @Test("A full fill queue refuses new jobs, and counts them")
    func queueLimit() throws {
        var placement = PlacementConfiguration(onMiss: .queued, windowStart: .hours(2), windowEnd: .hours(6))
        placement.queueLimit = 5
        // Storage for part of what is asked: misses queue jobs all day, for a window at night.
        let c = placementWorld(pops: [edge("a", storage: 30e9, servers: 1)], users: 1_500, hours: 12, placement: placement)
        let world = World(configuration: c)
        try world.run(until: world.end)
        let m = world.results().pops[0].metrics
        #expect(m.fillJobsDropped.value > 0)
        #expect((0..<m.fillQueue.bucketCount).allSatisfy { m.fillQueue.maxima[$0] <= 5 })
    }

    /// Near (5 ms) holds only the most popular titles; far (25 ms) holds everything. A title only
    /// far holds goes to far (20 ms farther, within the 30 ms bonus); with a 10 ms bonus, to near.
    @Test("Steering prefers a PoP holding the title, within the holding bonus")
    func steeringByTitle() {
        for (bonus, expected) in [(30, 1), (10, 0)] {
            var placement = PlacementConfiguration(plans: .off, onMiss: .off)
            placement.holdingBonus = .milliseconds(Int64(bonus))
            let c = placementWorld(pops: [edge("near", storage: 20e9, rtt: 5), edge("far", storage: 1e13, rtt: 25)], placement: placement)
            let world = World(configuration: c)
            let title = (0..<400).first { world.sites.pops[0].titleFiles[$0] == 0 && world.sites.pops[1].titleFiles[$0] > 0 }!
            #expect(world.steer(region: 0, title: title) == expected, "bonus \(bonus)")
            #expect(world.steer(region: 0, title: 0) == 0)  // both hold the top title: the nearer
        }
    }

    @Test("Fill windows may wrap past midnight, and local time follows the region")
    func windows() {
        var placement = PlacementConfiguration(windowStart: .hours(22), windowEnd: .hours(4))
        var c = placementWorld(pops: [edge("a", storage: 1e9)], placement: placement)
        var world = World(configuration: c)
        #expect(world.fills.windowOpen(0, at: .zero))                      // 00:00
        #expect(world.fills.windowOpen(0, at: .zero + .hours(23)))
        #expect(!world.fills.windowOpen(0, at: .zero + .hours(4)))         // closes at 04:00
        #expect(!world.fills.windowOpen(0, at: .zero + .hours(12)))
        #expect(world.fills.next(22 * 3_600, at: 0, after: .zero) == .zero + .hours(22))
        placement.windowStart = .hours(2)
        placement.windowEnd = .hours(14)
        c = placementWorld(pops: [edge("a", storage: 1e9)], placement: placement)
        c.regions[0].utcOffset = .hours(-5)                          // 19:00 local at the start
        world = World(configuration: c)
        #expect(!world.fills.windowOpen(0, at: .zero))
        #expect(world.fills.windowOpen(0, at: .zero + .hours(7)))          // 02:00 local
        #expect(world.fills.next(2 * 3_600, at: 0, after: .zero) == .zero + .hours(7))
    }
}
