@testable import Placement
import SimCore
import Testing
@testable import World

/// The site planner alone, with the sites, links and fill scheduler it works with.
@Suite("Site planner, alone")
struct SitePlannerTests {
    final class Rig {
        let sim = Simulation<WorldEvent>()
        let sites: Sites
        let links: Links
        let fills: FillScheduler
        let planner: SitePlanner
        let popularity: Popularity

        init() {
            var c = configuration(regions: [flatRegion(users: 100)],
                                  placement: PlacementConfiguration(plans: .daily, onMiss: .off, windowStart: .zero, windowEnd: .zero))
            c.pops = [PopConfiguration(id: "p", region: 0, servers: 4, storageBytes: 1e12, egressBitsPerSecond: 10e9, rtt: .milliseconds(10))]
            let catalog = Catalog(configuration: c.catalog, seed: c.seed, runDuration: c.duration)
            popularity = Popularity(configuration: c, catalog: catalog)
            sites = Sites(configuration: c, catalog: catalog)
            let origin = Origin(regions: [0], popRegions: [0], distances: RegionDistances(regions: c.regions, base: .milliseconds(20), perHour: .zero))
            links = Links(configuration: c, replicas: 1)
            fills = FillScheduler(configuration: c, sim: sim, sites: sites, links: links, origin: origin)
            planner = SitePlanner(configuration: c, catalog: catalog, sim: sim, sites: sites, links: links, fills: fills,
                                  initialRungShares: [0.2, 0.3, 0.5])
        }

        func plan(_ files: [(file: Int, replicas: Int)]) -> SitePlan {
            SitePlan(files: files.map { PlannedFile(file: $0.file, replicas: $0.replicas, demandBytesPerDay: 1) }, usedBytes: 0,
                     expectedOffload: 0, added: [], removed: [])
        }
    }

    @Test("A plan pins the files it keeps and fills those missing; a file leaving it becomes evictable, first in line, its fill cancelled")
    func applyingAPlan() {
        let rig = Rig()
        let cache = { rig.sites.pops[0].cache }
        _ = rig.sites.pops[0].cache.insert(0, size: rig.sites.fileBytes(0))
        _ = rig.sites.pops[0].cache.insert(1, size: rig.sites.fileBytes(1))
        rig.planner.apply(rig.plan([(0, 1), (4, 2)]), at: 0)
        #expect(cache().isPinned(0) && !cache().isPinned(1))
        #expect(rig.sites.pops[0].planned[4] && rig.sites.pops[0].replicas[4] == 2 && rig.sites.pops[0].filling[4] != nil)
        #expect(rig.fills.jobs.inUse == 1 && cache().size(of: 4) == 2 * rig.sites.fileBytes(4))  // reserved, both copies
        rig.planner.apply(rig.plan([(0, 1)]), at: 0)
        #expect(!rig.sites.pops[0].planned[4] && rig.sites.pops[0].filling[4] == nil && rig.fills.jobs.inUse == 0 && !cache().contains(4))
        rig.planner.apply(rig.plan([]), at: 0)
        #expect(cache().contains(0) && !cache().isPinned(0) && cache().recencyOrder.last == 0)
    }

    @Test("A plan folds what the site was asked for since the last into its forecast, and holds what is asked most")
    func planningFoldsDemand() throws {
        let rig = Rig()
        try rig.sim.run(until: .zero + .hours(12)) { _ in }
        rig.sites.pops[0].observed[7] = 5e9
        rig.planner.plan(0, popularity: rig.popularity)
        #expect(rig.sites.pops[0].observed[7] == 0 && rig.sites.pops[0].forecast.values[7] > 0)
        #expect(rig.sites.pops[0].planned[7] && rig.sites.pops[0].filling[7] != nil)
        let record = try #require(rig.planner.plans[0].last)
        #expect(record.files >= 1 && record.time == .zero + .hours(12))
    }
}
