import ABR
import SimCore
import Testing
@testable import World

/// Delivery alone: a session table, a title library, two PoPs (an edge below a mid tier) and the
/// origin; no world, no arrivals, no steering.
@Suite("Delivery, alone")
struct DeliveryTests {
    final class Rig {
        let sim = Simulation<WorldEvent>()
        let sessions = SessionTable(reservingCapacity: 16)
        let library: TitleLibrary
        let sites: Sites
        let links: Links
        let origin: Origin
        let fills: FillScheduler
        let delivery: Delivery

        init(edgeEgress: Double = 10e9) {
            var c = configuration(regions: [flatRegion(users: 100)], placement: PlacementConfiguration(plans: .off, onMiss: .off))
            c.pops = [PopConfiguration(id: "mid", region: 0, servers: 4, storageBytes: 1e12, egressBitsPerSecond: 10e9, rtt: .milliseconds(5)),
                      PopConfiguration(id: "edge", region: 0, servers: 4, storageBytes: 1e12, egressBitsPerSecond: edgeEgress,
                                       rtt: .milliseconds(10), parent: 0)]
            let catalog = Catalog(configuration: c.catalog, seed: c.seed, runDuration: c.duration)
            library = TitleLibrary(catalog: catalog, configurations: [PlayerConfiguration(
                algorithm: ABRAlgorithm.named("bba", maxBufferSeconds: 30)!, maxBuffer: 30_000_000, startupBuffer: 4_000_000)])
            sites = Sites(configuration: c, catalog: catalog)
            let distances = RegionDistances(regions: c.regions, base: .milliseconds(20), perHour: .zero)
            origin = Origin(regions: [0], popRegions: [0, 0], distances: distances)
            links = Links(configuration: c, replicas: origin.count)
            fills = FillScheduler(configuration: c, sim: sim, sites: sites, links: links, origin: origin)
            delivery = Delivery(configuration: c, sim: sim, sessions: sessions, library: library, sites: sites, links: links, origin: origin,
                                fills: fills, faults: FaultInjector(configuration: c), lastMile: LastMile(configuration: c), distances: distances)
        }

        /// A session of title 0 on the edge PoP, with `access` bit/s of last mile.
        func session(access: Double) -> Int {
            _ = library.load(0)
            let context = library.context(title: 0, format: .dash, maxRung: library.maxRung(height: 2160))
            let s = sessions.open(player: Player(library.contexts[Int(context)], at: 0), region: 0, title: 0, user: 0, context: context,
                                  accessBitsPerSecond: access, at: 0, watchUntilUs: 600_000_000, lastSegment: 149)
            sessions.pop[Int(s)] = 1
            return Int(s)
        }

        /// Every file of title 0 complete at PoP `p`.
        func hold(at p: Int) {
            for file in 0..<library.rungs { _ = sites.pops[p].cache.insert(file, size: sites.fileBytes(file)) }
        }
    }

    @Test("A segment comes from the nearest tier holding it, each tier further adding its round trip")
    func nearestTierServes() {
        var servedBy: [LinkID] = [], firstByteUs: [Int64] = []
        for holder in [nil, 0, 1] as [Int?] {
            let rig = Rig()
            if let holder { rig.hold(at: holder) }
            let s = rig.session(access: 5e6)
            rig.delivery.requestNext(UInt32(s))
            let d = rig.sessions.download[s]
            #expect(d.active && !d.waiting && d.rate == 5e6)
            servedBy.append(d.servedBy)
            firstByteUs.append(d.firstByteAtUs)
            // A miss is counted at every tier that lacked the file.
            #expect(rig.sites.metrics[1].contentMisses.value == (holder == 1 ? 0 : 1))
            #expect(rig.sites.metrics[0].requests.value == (holder == 1 ? 0 : 1))
        }
        #expect(servedBy == [LinkID(index: 2), LinkID(index: 0), LinkID(index: 1)])  // the origin replica, the mid tier, the edge
        #expect(firstByteUs[2] < firstByteUs[1] && firstByteUs[1] < firstByteUs[0])
    }

    @Test("A download runs at the user's access within the PoP's fair share; one that does not fit waits, first come first served")
    func admissionAndWaiting() {
        let rig = Rig(edgeEgress: 10e6)
        rig.hold(at: 1)
        let a = rig.session(access: 8e6), b = rig.session(access: 8e6)
        rig.delivery.requestNext(UInt32(a))
        #expect(rig.sessions.download[a].rate == 8e6)
        rig.delivery.requestNext(UInt32(b))  // due 5 Mbit/s (max-min with a), 2 free: it waits
        #expect(rig.sessions.download[b].waiting && rig.links.firstWaiting(rig.links.pop(1)) != nil)
        rig.delivery.stop(UInt32(a))  // a's session ends: b takes the link
        #expect(!rig.sessions.download[b].waiting && rig.sessions.download[b].rate == 8e6)
        #expect(rig.links.firstWaiting(rig.links.pop(1)) == nil && rig.links[rig.links.pop(1)].flows.active == 1)
    }

    @Test("A PoP going down fails its own downloads over after a backoff, and retries at once those it served from upstream")
    func popFailureCutsDownloads() {
        let rig = Rig()
        rig.hold(at: 0)
        let s = rig.session(access: 5e6)
        rig.delivery.requestNext(UInt32(s))
        #expect(rig.sessions.download[s].servedBy == rig.links.pop(0))
        _ = rig.sites.markDown(0, now: .zero)
        rig.delivery.popFailed(0)  // the mid tier, upstream of the session's edge: asked again at once, from the origin
        #expect(rig.sessions.download[s].active && rig.sessions.download[s].servedBy == rig.links.replica(0))
        _ = rig.sites.markDown(1, now: .zero)
        rig.delivery.popFailed(1)  // its own PoP: the player waits for a failover
        #expect(!rig.sessions.download[s].active && rig.links[rig.links.replica(0)].flows.active == 0)
        var failovers = 0
        try? rig.sim.run(until: .zero + .seconds(120)) { if case .failover = $0 { failovers += 1 } }
        #expect(failovers == 1)
    }
}
