import Placement
import SimCore

/// The placement planner of every site: demand forecasts, daily plans, and how sites start.
///
/// Owns: the plans made (``PlanRecord`` per site, the report's plan figures) and the rules that
/// turn demand into a plan: what a site was asked for since its last plan folds into its forecast
/// (``Sites`` keeps both); announced releases join the candidates at the demand their boost
/// promises; the real planner (`Placement.Planner`) picks the files and their replicas; the plan
/// is applied by pinning the files that stay, unpinning (making evictable) the ones that leave and
/// cancelling their planned fills, and queueing fills (``FillScheduler``) for the missing ones,
/// most valuable first. Handles `.windowOpens` (``windowOpens(_:popularity:)``: the day's plan is
/// made as the site's fill window opens). At the start it fills each site as it would be after
/// running a while (``warmStart(owned:popularity:calibration:)``).
final class SitePlanner {
    let configuration: WorldConfiguration
    let catalog: Catalog
    let sim: Simulation<WorldEvent>
    let sites: Sites
    let links: Links
    let fills: FillScheduler
    /// The share of requested bytes at each rung (estimated at the start; see ``StartPriors``):
    /// how a site splits demand over rungs before it has seen any.
    let initialRungShares: [Double]
    /// Per site: the plans made.
    @exclusivity(unchecked) private(set) var plans: [[PlanRecord]]

    init(configuration c: WorldConfiguration, catalog: Catalog, sim: Simulation<WorldEvent>, sites: Sites, links: Links,
         fills: FillScheduler, initialRungShares: [Double]) {
        configuration = c
        self.catalog = catalog
        self.sim = sim
        self.sites = sites
        self.links = links
        self.fills = fills
        self.initialRungShares = initialRungShares
        plans = Array(repeating: [], count: c.pops.count)
    }

    /// `.windowOpens`: the next opening is a day later; with daily plans, the site plans; its
    /// queue may start.
    func windowOpens(_ pop: Int, popularity: Popularity) {
        sim.schedule(.windowOpens(pop: UInt16(pop)), after: .hours(24))
        if configuration.placement.plans == .daily { plan(pop, popularity: popularity) }
        fills.pump(pop)
    }

    /// The site as the planner sees it.
    func siteSpecification(_ pop: Int) -> SiteSpecification {
        let p = configuration.placement
        return SiteSpecification(storageBytes: sites.pops[pop].cache.capacityBytes * p.planStorageShare, servers: sites.pops[pop].servers,
                                 serverEgressBitsPerSecond: links.capacity(links.pop(pop)) / Double(sites.pops[pop].servers),
                                 churnMargin: p.churnMargin, maximumReplicas: p.maximumReplicas)
    }

    /// Folds what was asked for since the last plan into the forecast, plans, and applies the plan:
    /// files leaving it become evictable, files staying are pinned, missing ones are queued for
    /// filling, most valuable first.
    func plan(_ pop: Int, popularity: Popularity) {
        let now = sim.now
        let elapsed = (now - sites.pops[pop].lastObserved).seconds
        if elapsed > 0 {
            // What was asked for, per day, over the span observed.
            let scale = 86_400 / elapsed
            sites.pops[pop].forecast.fold(rates: sites.pops[pop].observed.map { $0 * scale }, over: elapsed / 86_400)
            for f in sites.pops[pop].observed.indices { sites.pops[pop].observed[f] = 0 }
            sites.pops[pop].lastObserved = now
        }
        let candidates = planCandidates(pop, at: now, popularity: popularity)
        let site = siteSpecification(pop)
        let plan = Planner.plan(site: site, candidates: candidates, isHeld: { self.sites.pops[pop].cache.contains($0) })
        apply(plan, at: pop)
        plans[pop].append(PlanRecord(time: now, files: plan.files.count, added: plan.added.count, removed: plan.removed.count,
                                     expectedOffload: plan.expectedOffload))
    }

    /// Every file with forecast demand, and the files of titles announced for release soon (or
    /// just released, before the forecast has caught up), at the demand their boost promises.
    func planCandidates(_ pop: Int, at now: SimInstant, popularity: Popularity) -> [PlacementCandidate] {
        let rungs = sites.rungs
        var demand = sites.pops[pop].forecast.values
        let total = demand.reduce(0, +)
        // The site's split of demand over rungs, for titles it has not seen yet.
        var rungShare = [Double](repeating: 0, count: rungs)
        for (f, d) in demand.enumerated() { rungShare[f % rungs] += d }
        let rungTotal = rungShare.reduce(0, +)
        if rungTotal > 0 { for r in rungShare.indices { rungShare[r] /= rungTotal } } else { rungShare = initialRungShares }
        let horizon = configuration.catalog.releases.announce.microseconds
        let region = sites.pops[pop].region
        for release in catalog.releases where release.time <= now.microseconds + horizon && release.time > now.microseconds - 86_400_000_000 {
            // Its first day's demand: its weight half a day after release, over all weights then.
            let at = SimInstant(microseconds: max(release.time, now.microseconds) + 43_200_000_000)
            let share = popularity.weight(region: region, title: release.title, at: at) / popularity.totalWeight(region: region, at: at)
            for r in 0..<rungs {
                let f = release.title * rungs + r
                demand[f] = max(demand[f], total * share * rungShare[r])
            }
        }
        let peakFactor = 8 / 86_400 * configuration.placement.peakToMean
        var out: [PlacementCandidate] = []
        for (f, d) in demand.enumerated() where d > 0 {
            out.append(PlacementCandidate(file: f, sizeBytes: sites.fileBytes(f), demandBytesPerDay: d, peakBitsPerSecond: d * peakFactor))
        }
        return out
    }

    func apply(_ plan: SitePlan, at pop: Int) {
        var planned = [Bool](repeating: false, count: sites.pops[pop].planned.count)
        for f in plan.files {
            planned[f.file] = true
        }
        // Files leaving the plan: evictable (first in line), and their planned fills cancelled.
        for f in sites.pops[pop].planned.indices where sites.pops[pop].planned[f] && !planned[f] {
            if let job = sites.pops[pop].filling[f], fills.jobs.kind[Int(job)] == .planned {
                fills.cancel(job)
            }
            sites.pops[pop].cache.unpin(f)
        }
        sites.pops[pop].planned = planned
        for f in plan.files {
            let file = f.file
            let copies = UInt8(clamping: f.replicas)
            if sites.pops[pop].cache.contains(file) {
                if sites.pops[pop].replicas[file] != copies {
                    sites.pops[pop].replicas[file] = copies
                    sites.pops[pop].cache.resize(file, to: sites.fileBytes(file) * Double(copies))
                }
                sites.pops[pop].cache.pin(file)
            } else if sites.pops[pop].filling[file] == nil {
                sites.pops[pop].replicas[file] = copies
                fills.request(file: file, at: pop, kind: .planned, priority: f.demandBytesPerDay)
            }
        }
        // More replicas may have pushed the held files over capacity: drop what is evictable.
        sites.pops[pop].cache.trim().forEach { fills.fileEvicted(pop, $0) }
    }

    // MARK: The start

    /// The forecast a site starts with: its region's expected daily bytes (calibrated concurrency ×
    /// the mean bit rate), shared among the region's PoPs, split over titles by popularity at the
    /// start and over rungs by `initialRungShares` (shares of bytes).
    func initialForecast(_ pop: Int, popularity: Popularity, calibration: DemandCalibration) -> [Double] {
        let r = sites.pops[pop].region
        let sessionSeconds = calibration.expectedConcurrency[r].reduce(0, +) * 60
        // Bytes shares per rung → the mean bit rate played: 1 / Σ (share / bitrate).
        let ladder = configuration.catalog.ladder
        let meanBitrate = 1 / zip(ladder, initialRungShares).reduce(0) { $0 + $1.1 / $1.0.bitrate }
        let regionPops = Double(sites.pops.filter { $0.region == r }.count)
        let dailyBytes = sessionSeconds * meanBitrate / 8 / regionPops
        let total = popularity.totalWeight(region: r, at: .zero)
        var forecast = [Double](repeating: 0, count: sites.pops[pop].observed.count)
        for t in 0..<configuration.catalog.titles {
            let share = popularity.weight(region: r, title: t, at: .zero) / total
            guard share > 0 else { continue }
            for (rung, rungShare) in initialRungShares.enumerated() where rungShare > 0 {
                forecast[t * sites.rungs + rung] = dailyBytes * share * rungShare
            }
        }
        return forecast
    }

    /// Sites start as they would be after running a while. With daily plans: each site holds its
    /// plan from its initial forecast, pinned and complete. Without: what an LRU cache would hold,
    /// the region's most requested files, most popular at the recent end. Storage the plan leaves
    /// free is warmed the LRU way too.
    func warmStart(owned: (Int) -> Bool, popularity: Popularity, calibration: DemandCalibration) {
        for pop in sites.indices where owned(pop) {
            sites.pops[pop].forecast = DemandForecast(initial: initialForecast(pop, popularity: popularity, calibration: calibration),
                                                      halfLifePeriods: configuration.placement.forecastHalfLife.seconds / 86_400)
            if configuration.placement.plans == .daily {
                let plan = Planner.plan(site: siteSpecification(pop), candidates: planCandidates(pop, at: .zero, popularity: popularity),
                                        isHeld: { _ in false })
                for f in plan.files {
                    sites.pops[pop].planned[f.file] = true
                    sites.pops[pop].replicas[f.file] = UInt8(clamping: f.replicas)
                    _ = sites.pops[pop].cache.insert(f.file, size: sites.fileBytes(f.file) * Double(f.replicas), pinned: true)
                    sites.fileArrived(pop, f.file)
                }
                plans[pop].append(PlanRecord(time: .zero, files: plan.files.count, added: plan.files.count, removed: 0,
                                             expectedOffload: plan.expectedOffload))
            }
            guard configuration.placement.onMiss != .off || configuration.placement.plans == .off else { continue }
            // The rest, LRU-style: most requested unplanned files, the most popular inserted last.
            let forecast = sites.pops[pop].forecast.values
            let order = forecast.indices.filter { forecast[$0] > 0 && !sites.pops[pop].planned[$0] }
                .sorted { forecast[$0] > forecast[$1] || (forecast[$0] == forecast[$1] && $0 < $1) }
            var free = sites.pops[pop].cache.capacityBytes - sites.pops[pop].cache.usedBytes
            var chosen: [Int] = []
            for f in order where sites.fileBytes(f) <= free {
                free -= sites.fileBytes(f)
                chosen.append(f)
            }
            for f in chosen.reversed() {
                _ = sites.pops[pop].cache.insert(f, size: sites.fileBytes(f))
                sites.fileArrived(pop, f)
            }
        }
    }
}
