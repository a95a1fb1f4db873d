#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ABR
import Placement
import SimCore

extension World {
    // MARK: Fill windows

    /// Seconds into the local day at `pop`, at `time`.
    func localSecond(_ pop: Int, at time: SimInstant) -> Int64 {
        let offset = configuration.regions[pops[pop].region].utcOffset.microseconds / 1_000_000
        let s = configuration.startUnixSeconds + time.microseconds / 1_000_000 + offset
        return ((s % 86_400) + 86_400) % 86_400
    }

    /// Whether `pop`'s fill window is open now. A window whose start equals its end is always open.
    func windowOpen(_ pop: Int, at time: SimInstant? = nil) -> Bool {
        let p = configuration.placement
        let start = p.windowStart.microseconds / 1_000_000, end = p.windowEnd.microseconds / 1_000_000
        guard start != end else { return true }
        let local = localSecond(pop, at: time ?? sim.now)
        return start < end ? (local >= start && local < end) : (local >= start || local < end)
    }

    /// The first instant strictly after `time` at which `pop`'s local clock reads `secondOfDay`.
    func next(_ secondOfDay: Int64, at pop: Int, after time: SimInstant) -> SimInstant {
        let day: Int64 = 86_400_000_000
        let offset = configuration.regions[pops[pop].region].utcOffset.microseconds
        let local = ((configuration.startUnixSeconds * 1_000_000 + offset + time.microseconds) % day + day) % day
        var wait = ((secondOfDay * 1_000_000 - local) % day + day) % day
        if wait == 0 { wait = day }
        return SimInstant(microseconds: time.microseconds + wait)
    }

    /// Each site's daily plan (at its window's opening) and window closing. A window open at the
    /// start is open from the start; an always-open window (start = end) still plans daily.
    func scheduleWindows() {
        let p = configuration.placement
        for pop in pops.indices where owns(pop: pop) {
            sim.schedule(.windowOpens(pop: UInt16(pop)), at: next(p.windowStart.microseconds / 1_000_000, at: pop, after: .zero))
            if p.windowStart != p.windowEnd {
                sim.schedule(.windowCloses(pop: UInt16(pop)), at: next(p.windowEnd.microseconds / 1_000_000, at: pop, after: .zero))
            }
        }
    }

    func windowOpens(_ pop: Int) {
        sim.schedule(.windowOpens(pop: UInt16(pop)), after: .hours(24))
        if configuration.placement.plans == .daily { plan(pop) }
        pumpFills(pop)
    }

    /// The window closes: windowed fills still running go back to the queue, and the night is
    /// recorded as complete if no planned fill is left.
    func windowCloses(_ pop: Int) {
        sim.schedule(.windowCloses(pop: UInt16(pop)), after: .hours(24))
        var jobsLeft = 0, bytesLeft = 0.0
        for i in fills.pop.indices where fills.pop[i] == Int32(pop) && fills.state[i] != .free {
            if fills.kind[i] == .planned {
                jobsLeft += 1
                bytesLeft += (fills.reserved[i] ? fills.bytes[i] : fileBytes(Int(fills.file[i])) * Double(pops[pop].replicas[Int(fills.file[i])]))
                    - fills.bytesDone[i]
            }
            if fills.kind[i] != .pullThrough && (fills.state[i] == .linkWait || fills.state[i] == .transferring) {
                pauseFill(UInt32(i))
            }
        }
        noteQueue(pop)
        if configuration.placement.plans == .daily {
            pops[pop].metrics.nights.append(NightRecord(time: sim.now, jobsLeft: jobsLeft, bytesLeft: bytesLeft))
        }
        pumpFills(pop)  // pull-through jobs may use the freed servers
    }

    // MARK: Plans

    /// The site as the planner sees it.
    func siteSpecification(_ pop: Int) -> SiteSpecification {
        let p = configuration.placement
        return SiteSpecification(storageBytes: pops[pop].cache.capacityBytes * p.planStorageShare, servers: pops[pop].servers,
                                 serverEgressBitsPerSecond: links.capacity(links.pop(pop)) / Double(pops[pop].servers), churnMargin: p.churnMargin,
                                 maximumReplicas: p.maximumReplicas)
    }

    /// Folds what was asked for since the last plan into the forecast, plans, and applies the plan:
    /// files leaving it become evictable, files staying are pinned, missing ones are queued for
    /// filling, most valuable first.
    func plan(_ pop: Int) {
        let now = sim.now
        let elapsed = (now - pops[pop].lastObserved).seconds
        if elapsed > 0 {
            // What was asked for, per day, over the span observed.
            let scale = 86_400 / elapsed
            pops[pop].forecast.fold(rates: pops[pop].observed.map { $0 * scale }, over: elapsed / 86_400)
            for f in pops[pop].observed.indices { pops[pop].observed[f] = 0 }
            pops[pop].lastObserved = now
        }
        let candidates = planCandidates(pop, at: now)
        let site = siteSpecification(pop)
        let plan = Planner.plan(site: site, candidates: candidates, isHeld: { self.pops[pop].cache.contains($0) })
        applyPlan(plan, at: pop)
        pops[pop].metrics.plans.append(PlanRecord(time: now, files: plan.files.count, added: plan.added.count,
                                                  removed: plan.removed.count, expectedOffload: plan.expectedOffload))
    }

    /// Every file with forecast demand, and the files of titles announced for release soon (or
    /// just released, before the forecast has caught up), at the demand their boost promises.
    func planCandidates(_ pop: Int, at now: SimInstant) -> [PlacementCandidate] {
        let rungs = library.rungs
        var demand = pops[pop].forecast.values
        let total = demand.reduce(0, +)
        // The site's split of demand over rungs, for titles it has not seen yet.
        var rungShare = [Double](repeating: 0, count: rungs)
        for (f, d) in demand.enumerated() { rungShare[f % rungs] += d }
        let rungTotal = rungShare.reduce(0, +)
        if rungTotal > 0 { for r in rungShare.indices { rungShare[r] /= rungTotal } } else { rungShare = initialRungShares }
        let horizon = configuration.catalog.releases.announce.microseconds
        let region = pops[pop].region
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
            out.append(PlacementCandidate(file: f, sizeBytes: fileBytes(f), demandBytesPerDay: d, peakBitsPerSecond: d * peakFactor))
        }
        return out
    }

    func applyPlan(_ plan: SitePlan, at pop: Int) {
        var planned = [Bool](repeating: false, count: pops[pop].planned.count)
        for f in plan.files {
            planned[f.file] = true
        }
        // Files leaving the plan: evictable (first in line), and their planned fills cancelled.
        for f in pops[pop].planned.indices where pops[pop].planned[f] && !planned[f] {
            if let job = pops[pop].filling[f], fills.kind[Int(job)] == .planned {
                cancelFill(job)
            }
            pops[pop].cache.unpin(f)
        }
        pops[pop].planned = planned
        for f in plan.files {
            let file = f.file
            let copies = UInt8(clamping: f.replicas)
            if pops[pop].cache.contains(file) {
                if pops[pop].replicas[file] != copies {
                    pops[pop].replicas[file] = copies
                    pops[pop].cache.resize(file, to: fileBytes(file) * Double(copies))
                }
                pops[pop].cache.pin(file)
            } else if pops[pop].filling[file] == nil {
                pops[pop].replicas[file] = copies
                requestFill(file: file, at: pop, kind: .planned, priority: f.demandBytesPerDay)
            }
        }
        // More replicas may have pushed the held files over capacity: drop what is evictable.
        pops[pop].cache.trim().forEach { fileLeft(pop, $0) }
    }

    // MARK: The start

    /// The share of requested bytes at each rung, measured by replaying the real player for 2,000
    /// users drawn from the population (their device's manifest format of the most popular title,
    /// their plan's rung cap, a constant link at their access bandwidth, the first 15 minutes of
    /// their watch time; the rest at the rung they ended on). This captures the startup ramp, the
    /// algorithm and the manifest's declared rates; it leaves out congestion. A prior for the
    /// forecast sites start with; what they are then asked for replaces it as plans fold it in.
    static func rungShares(configuration c: WorldConfiguration, population: Population, catalog: Catalog,
                           player: PlayerConfiguration) -> [Double] {
        let rungs = c.catalog.ladder.count
        let encoded = catalog.encodedTitle(0)
        let segment = c.catalog.segmentDuration.seconds
        // Per format: the player's manifest, its rung → rendition map, and segment sizes in its order.
        let formats = ManifestFormat.allCases.map { format -> (PlaybackManifest, [Int], [[Int64]]) in
            let (manifest, order) = try! encoded.playbackManifest(format: format)
            let bits = encoded.segmentDurations.indices.map { s in order.map { Int64(encoded.segmentSizes[$0][s]) * 8 } }
            return (manifest, order, bits)
        }
        var bytes = [Double](repeating: 0, count: rungs)
        var stream = RandomStream(seed: c.seed, label: "warm.rungs", id: 0)
        let maxSegments = min(encoded.segmentDurations.count, Int((900 / segment).rounded(.up)))
        for _ in 0..<2_000 {
            let u = population.user(stream.nextInt(below: population.regionStarts.last!))
            let device = c.clients.devices[u.device]
            let (manifest, order, bits) = formats[device.manifest == .hls ? 0 : 1]
            let cap = min(TitleLibrary.maxRung(ladder: c.catalog.ladder, height: min(c.clients.plans[u.plan].maxHeight, device.maxHeight)),
                          manifest.rungs - 1)
            let watch = c.demand.watchDuration.sample(&stream)
            let n = max(1, min(maxSegments, Int((watch / segment).rounded(.up))))
            let movie = TraceMovie(manifest: PlaybackManifest(bitrates: Array(manifest.bitrates.prefix(cap + 1)),
                                                              segmentDurations: Array(manifest.segmentDurations.prefix(n))),
                                   bits: bits.prefix(n).map { Array($0.prefix(cap + 1)) })
            let link = NetworkTrace(periods: [.init(duration: 86_400_000_000, bandwidth: Int64(u.accessBitsPerSecond), latency: 20_000)])
            let result = TraceReplay.run(movie, network: link, configuration: player)
            for d in result.downloads where !d.abandoned { bytes[order[d.rung]] += Double(movie.bits[d.segment][d.rung]) / 8 }
            if let last = result.downloads.last, watch > Double(n) * segment {
                let title = encoded.segmentDurations.count
                let rest = min(watch, Double(title) * segment) - Double(n) * segment
                if rest > 0 { bytes[order[last.rung]] += c.catalog.ladder[order[last.rung]].bitrate * rest / 8 }
            }
        }
        let total = bytes.reduce(0, +)
        return bytes.map { $0 / total }
    }

    /// The rung the real player settles at, per manifest format, rung cap and access bandwidth
    /// (quarter-octave bins from 100 kbit/s): each found by replaying ten minutes of the most popular
    /// title on a constant link at the bin's bandwidth and taking the rung of the last segment.
    /// Sessions in progress at the start take their rung from it, so that they ask for what such
    /// players would.
    struct SettledRungs {
        static let bins = 64
        static let floor = 100_000.0
        /// rung[format][cap][bin], in the player's (format's) rung order.
        var rung: [[[Int]]]

        static func bin(_ bandwidth: Double) -> Int {
            guard bandwidth > floor else { return 0 }
            return min(bins - 1, Int(log2(bandwidth / floor) * 4))
        }

        func rung(format: ManifestFormat, cap: Int, bandwidth: Double) -> Int {
            let table = rung[format == .hls ? 0 : 1]
            return table[min(cap, table.count - 1)][SettledRungs.bin(bandwidth)]
        }
    }

    static func settledRungs(configuration c: WorldConfiguration, catalog: Catalog, player: PlayerConfiguration) -> SettledRungs {
        let encoded = catalog.encodedTitle(0)
        let n = min(encoded.segmentDurations.count, Int((600 / c.catalog.segmentDuration.seconds).rounded(.up)))
        let movies = ManifestFormat.allCases.map { format -> [TraceMovie] in
            let (manifest, order) = try! encoded.playbackManifest(format: format)
            let bits = encoded.segmentDurations.indices.prefix(n).map { s in order.map { Int64(encoded.segmentSizes[$0][s]) * 8 } }
            return (0..<manifest.rungs).map { cap in
                TraceMovie(manifest: PlaybackManifest(bitrates: Array(manifest.bitrates.prefix(cap + 1)),
                                                      segmentDurations: Array(manifest.segmentDurations.prefix(n))),
                           bits: bits.map { Array($0.prefix(cap + 1)) })
            }
        }
        // Every (format, cap) movie's replays are independent: run them on the worker threads.
        let jobs = movies.indices.flatMap { f in movies[f].indices.map { (format: f, cap: $0) } }
        let settled = Parallel.map(count: jobs.count, threads: c.threads) { j in
            (0..<SettledRungs.bins).map { b in
                // The middle of the bin.
                let bandwidth = SettledRungs.floor * pow(2, (Double(b) + 0.5) / 4)
                let link = NetworkTrace(periods: [.init(duration: 86_400_000_000, bandwidth: Int64(bandwidth), latency: 20_000)])
                let movie = movies[jobs[j].format][jobs[j].cap]
                return TraceReplay.run(movie, network: link, configuration: player).downloads.last(where: { !$0.abandoned })?.rung ?? 0
            }
        }
        let rung = movies.indices.map { f in jobs.indices.filter { jobs[$0].format == f }.map { settled[$0] } }
        return SettledRungs(rung: rung)
    }

    /// The forecast a site starts with: its region's expected daily bytes (calibrated concurrency ×
    /// the mean bit rate), shared among the region's PoPs, split over titles by popularity at the
    /// start and over rungs by `initialRungShares` (shares of bytes).
    func initialForecast(_ pop: Int) -> [Double] {
        let r = pops[pop].region
        let sessionSeconds = calibration.expectedConcurrency[r].reduce(0, +) * 60
        // Bytes shares per rung → the mean bit rate played: 1 / Σ (share / bitrate).
        let ladder = configuration.catalog.ladder
        let meanBitrate = 1 / zip(ladder, initialRungShares).reduce(0) { $0 + $1.1 / $1.0.bitrate }
        let regionPops = Double(pops.filter { $0.region == r }.count)
        let dailyBytes = sessionSeconds * meanBitrate / 8 / regionPops
        let total = popularity.totalWeight(region: r, at: .zero)
        var forecast = [Double](repeating: 0, count: pops[pop].observed.count)
        for t in 0..<configuration.catalog.titles {
            let share = popularity.weight(region: r, title: t, at: .zero) / total
            guard share > 0 else { continue }
            for (rung, rungShare) in initialRungShares.enumerated() where rungShare > 0 {
                forecast[t * library.rungs + rung] = dailyBytes * share * rungShare
            }
        }
        return forecast
    }

    /// Sites start as they would be after running a while. With daily plans: each site holds its
    /// plan from its initial forecast, pinned and complete. Without: what an LRU cache would hold,
    /// the region's most requested files, most popular at the recent end. Storage the plan leaves
    /// free is warmed the LRU way too.
    func warmStart() {
        for pop in pops.indices where owns(pop: pop) {
            pops[pop].forecast = DemandForecast(initial: initialForecast(pop),
                                                halfLifePeriods: configuration.placement.forecastHalfLife.seconds / 86_400)
            if configuration.placement.plans == .daily {
                let plan = Planner.plan(site: siteSpecification(pop), candidates: planCandidates(pop, at: .zero), isHeld: { _ in false })
                for f in plan.files {
                    pops[pop].planned[f.file] = true
                    pops[pop].replicas[f.file] = UInt8(clamping: f.replicas)
                    _ = pops[pop].cache.insert(f.file, size: fileBytes(f.file) * Double(f.replicas), pinned: true)
                    fileArrived(pop, f.file)
                }
                pops[pop].metrics.plans.append(PlanRecord(time: .zero, files: plan.files.count, added: plan.files.count, removed: 0,
                                                          expectedOffload: plan.expectedOffload))
            }
            guard configuration.placement.onMiss != .off || configuration.placement.plans == .off else { continue }
            // The rest, LRU-style: most requested unplanned files, the most popular inserted last.
            let forecast = pops[pop].forecast.values
            let order = forecast.indices.filter { forecast[$0] > 0 && !pops[pop].planned[$0] }
                .sorted { forecast[$0] > forecast[$1] || (forecast[$0] == forecast[$1] && $0 < $1) }
            var free = pops[pop].cache.capacityBytes - pops[pop].cache.usedBytes
            var chosen: [Int] = []
            for f in order where fileBytes(f) <= free {
                free -= fileBytes(f)
                chosen.append(f)
            }
            for f in chosen.reversed() {
                _ = pops[pop].cache.insert(f, size: fileBytes(f))
                fileArrived(pop, f)
            }
        }
    }

    // MARK: Releases

    /// A release moment: the share of sites that hold a file of the title.
    func released(_ index: Int) {
        let title = catalog.releases[index].title
        let holding = pops.filter { owns(pop: $0.index) && $0.titleFiles[title] > 0 }.count
        releaseStats[index].sitesHolding = holding
    }
}

/// What happened to a release inside the run.
public struct ReleaseStats: Sendable, Equatable {
    public var title: Int
    public var time: SimInstant
    /// Sites holding a file of the title at its release (nil if the release was before the start).
    public var sitesHolding: Int?
    /// Requests for it at the sessions' own PoPs in its first 24 hours, and how many hit.
    public var requests: Int64 = 0
    public var hits: Int64 = 0
}

extension World {
    /// At each bucket's start: the age of each site's oldest waiting fill job.
    func sampleBucket() {
        let now = sim.now
        for pop in pops.indices {
            let age = oldestQueued(pop).map { Double(now.microseconds - $0) / 1e6 } ?? 0
            pops[pop].metrics.oldestJobAge.append(age)
        }
        sampleLog()
        if now + configuration.metricsBucket < end { sim.schedule(.sample, after: configuration.metricsBucket) }
    }
}
