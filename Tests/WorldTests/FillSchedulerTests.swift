import SimCore
import Testing
@testable import World

/// The fill scheduler alone, with its sites, links and origin, and an event loop of its own.
@Suite("Fill scheduler, alone")
struct FillSchedulerTests {
    /// Two PoPs of one region (peers), `servers` each; the run starts at 00:00 UTC.
    final class Rig {
        let sim = Simulation<WorldEvent>()
        let sites: Sites
        let links: Links
        let origin: Origin
        let fills: FillScheduler
        var admitted: [LinkID] = []

        init(servers: Int = 2, placement: PlacementConfiguration = .pullThrough, storageBytes: Double = 1e12, originEgress: Double = 100e9) {
            var c = configuration(regions: [flatRegion(users: 100)], originEgress: originEgress, placement: placement)
            c.pops = (0..<2).map {
                PopConfiguration(id: "p\($0)", region: 0, servers: servers, storageBytes: storageBytes, egressBitsPerSecond: 10e9,
                                 rtt: .milliseconds(10 + $0), fillBitsPerSecondPerServer: 1e9)
            }
            sites = Sites(configuration: c, catalog: Catalog(configuration: c.catalog, seed: c.seed, runDuration: c.duration))
            origin = Origin(regions: [0], popRegions: [0, 0], distances: RegionDistances(regions: c.regions, base: .milliseconds(20), perHour: .zero))
            links = Links(configuration: c, replicas: origin.count)
            fills = FillScheduler(configuration: c, sim: sim, sites: sites, links: links, origin: origin)
            fills.admitWaiting = { [unowned self] in self.admitted.append($0) }
        }

        /// Runs the fills' own events until `time`.
        func run(until time: SimInstant) {
            try! sim.run(until: time) { event in
                switch event {
                case let .fillDone(f, epoch): fills.complete(f, epoch: epoch)
                case let .windowCloses(p): fills.windowCloses(Int(p))
                case let .windowOpens(p): sim.schedule(.windowOpens(pop: p), after: .hours(24)); fills.pump(Int(p))
                default: break
                }
            }
        }
    }

    @Test("A fill comes from a peer holding the file, else from the origin, and then serves hits")
    func sourceIsPeerThenOrigin() {
        let rig = Rig(placement: PlacementConfiguration(plans: .off, onMiss: .queued, windowStart: .zero, windowEnd: .zero))  // always open
        let file = 4
        #expect(rig.fills.source(file: file, for: 1) == rig.links.replica(0))
        _ = rig.sites.pops[0].cache.insert(file, size: rig.sites.fileBytes(file))
        #expect(rig.fills.source(file: file, for: 1) == rig.links.pop(0))
        rig.fills.request(file: file, at: 1, kind: .missQueued, priority: 1)
        #expect(rig.fills.jobs.state[0] == .transferring && !rig.sites.serves(file, at: 1))
        // 1 Gbit/s per server: the file takes its size × 8 / 1e9 seconds.
        rig.run(until: .zero + SimDuration(seconds: rig.sites.fileBytes(file) * 8 / 1e9 + 1))
        #expect(rig.sites.serves(file, at: 1))
        let m = rig.fills.site[1].metrics
        #expect(m.fills.value == 1 && abs(m.fillBytes[0] - rig.sites.fileBytes(file)) < 1 && m.fillBytes[2] == 0)
        #expect(rig.admitted == [rig.links.pop(0)])  // its source's link is free again
    }

    @Test("Outside the window queued fills wait; pull-throughs start at once, one per server")
    func windowAndServers() {
        let rig = Rig(servers: 2, placement: PlacementConfiguration(plans: .off, onMiss: .queued, windowStart: .hours(2), windowEnd: .hours(4)))
        #expect(!rig.fills.windowOpen(0))  // 00:00 local
        rig.fills.request(file: 1, at: 0, kind: .missQueued, priority: 5)
        #expect(rig.fills.site[0].running == 0 && rig.fills.site[0].queue.count == 1)
        for file in 2..<6 { rig.fills.request(file: file, at: 0, kind: .pullThrough, priority: .infinity, source: rig.links.replica(0)) }
        #expect(rig.fills.site[0].running == 2 && rig.fills.site[0].queue.count == 3)
        rig.fills.request(file: 2, at: 0, kind: .pullThrough, priority: .infinity, source: rig.links.replica(0))  // already has a job
        #expect(rig.fills.jobs.inUse == 5)
        #expect(rig.fills.windowOpen(0, at: .zero + .hours(3)) && !rig.fills.windowOpen(0, at: .zero + .hours(4)))
    }

    @Test("Evicting a file that is still arriving cancels its fill and frees its server")
    func evictionCancelsTheFill() {
        let rig = Rig(servers: 4)
        rig.fills.request(file: 0, at: 0, kind: .pullThrough, priority: .infinity, source: rig.links.replica(0))
        #expect(rig.fills.site[0].running == 1 && rig.links[rig.links.replica(0)].flows.active == 1)
        rig.sites.pops[0].cache.remove(0)
        rig.fills.fileEvicted(0, 0)
        #expect(rig.fills.site[0].running == 0 && rig.fills.jobs.inUse == 0 && rig.sites.pops[0].filling[0] == nil)
        #expect(rig.links[rig.links.replica(0)].flows.active == 0 && rig.admitted == [rig.links.replica(0)])
    }

    @Test("A window that closes on a planned fill pauses it, keeping what arrived, and records the night as unfinished")
    func windowClosePausesAndRecordsTheNight() throws {
        let rig = Rig(servers: 1, placement: PlacementConfiguration(plans: .daily, onMiss: .off, windowStart: .zero, windowEnd: .seconds(2)))
        let file = 5  // the top rung of title 1: several seconds at 1 Gbit/s
        let size = rig.sites.fileBytes(file)
        try #require(size * 8 / 1e9 > 3)
        rig.sites.pops[0].planned[file] = true
        rig.fills.request(file: file, at: 0, kind: .planned, priority: 1)
        rig.fills.scheduleWindows(owned: { $0 == 0 })
        rig.run(until: .zero + .seconds(2) + .microseconds(1))
        let nights = rig.fills.site[0].metrics.nights
        #expect(nights.count == 1 && !nights[0].completed && nights[0].jobsLeft == 1)
        #expect(nights[0].bytesLeft > 0 && nights[0].bytesLeft <= size)
        #expect(abs(rig.fills.jobs.bytesDone[0] - 2e9 / 8) < 1e3)  // two seconds' worth arrived, and is kept
        #expect(rig.fills.site[0].running == 0 && rig.fills.site[0].queue.count == 1)
        #expect(rig.sites.pops[0].cache.contains(file) && !rig.sites.serves(file, at: 0))  // its space stays reserved
    }
}
