#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ABR
import Activity
import Metrics
import Placement
import SimCore
import Stochastics

/// The simulated platform.
///
/// Users in regions start sessions (a non-homogeneous Poisson process on each region's daily
/// curve, calibrated to the peak-concurrency target); each session asks the playback API for a
/// title's manifest and a ranked list of PoPs, reads the manifest, and runs the real ABR player
/// segment by segment against the PoP it was steered to. Segments come from the PoP's cache, or on
/// a miss through its parent tier or the origin, which then fill the file; every link shares its
/// capacity max-min fairly among the downloads on it. The run starts in steady state: sessions that
/// would be in progress at the start time are there, mid-title, with full buffers.
///
/// Drive it with ``run(until:)`` in as many slices as you like; slicing does not change results.
public final class World: WorldRun {
    /// Events are at most 8 bytes: a tag, a 4-byte id and a 2-byte generation.
    public enum Event: BitwiseCopyable {
        case arrival(region: UInt16)
        case apiResponse(session: UInt32, generation: UInt16)
        /// The player asked to wait before its next request.
        case request(session: UInt32, generation: UInt16)
        case downloadDone(session: UInt32, generation: UInt16, epoch: UInt8)
        /// The in-flight download is abandoned for a lower rung.
        case abandon(session: UInt32, generation: UInt16, epoch: UInt8)
        /// The user's patience for the first frame runs out.
        case patience(session: UInt32, generation: UInt16)
        /// The user has watched what they meant to.
        case sessionEnd(session: UInt32, generation: UInt16)
        case fillDone(fill: UInt32, epoch: UInt16)
        /// A site's fill window opens (and its daily plan is made), or closes.
        case windowOpens(pop: UInt16)
        case windowCloses(pop: UInt16)
        /// A title is released (index into the catalog's releases).
        case release(index: UInt32)
        /// Per-bucket sampling of what is not event-driven (the age of the oldest fill job).
        case sample
        /// A client reports its activity.
        case flush(session: UInt32, generation: UInt16)
        /// A log partition's aggregator has read its next batch.
        case logRead(partition: UInt16)
        /// A client tries again to send what it holds.
        case activityRetry(buffer: UInt32, generation: UInt16)
        /// The aggregators publish the data sets.
        case publish
        /// A fault strikes, or ends.
        case faultStarts(incident: UInt32)
        case faultEnds(incident: UInt32)
        /// A player whose PoP failed tries the next one.
        case failover(session: UInt32, generation: UInt16)
        /// A surge brings another session.
        case surgeArrival(incident: UInt32, index: UInt16)
        /// A partition's client append reaches the shared log (the log's world only).
        case land(index: UInt32)
    }

    /// A world's part in a partitioned run: the regions and PoPs it simulates. Partition `count`
    /// owns none: it runs the shared activity log and its aggregators.
    struct Shard {
        var index: Int
        var count: Int
        var ownsRegion: [Bool]
        var ownsPop: [Bool]
        var isLog: Bool { index == count }
    }

    /// A retry after a failed origin read.
    static let retryDelay = SimDuration.seconds(1)

    public let configuration: WorldConfiguration
    public let calibration: DemandCalibration
    public let catalog: Catalog
    public let population: Population
    /// Nil when this world is the whole platform.
    let shard: Shard?
    let sim: Simulation<Event>
    let watch: Distribution
    /// Per title, its length in seconds.
    let titleLengths: [Double]
    let sessionStreams: StreamFamily
    let surgeStreams: StreamFamily
    let distances: RegionDistances
    /// Per region: PoPs nearest first, and their round trips from the region.
    let ranking: [[Int]]
    let rankingRtt: [[SimDuration]]
    @exclusivity(unchecked) var sessions: SessionTable
    let library: TitleLibrary
    @exclusivity(unchecked) var popularity: Popularity
    @exclusivity(unchecked) var pops: [PopState]
    /// Every PoP's and origin replica's egress: sharing, headroom, wait queues, bytes carried.
    @exclusivity(unchecked) var links: Links
    @exclusivity(unchecked) var origin: Origin
    @exclusivity(unchecked) var regions: [RegionState]
    @exclusivity(unchecked) var global: Aggregate
    @exclusivity(unchecked) var fills = FillTable()
    /// Per PoP: the other PoPs of its region it may fill from (not its own tiers), nearest first.
    let peers: [[Int]]
    /// The share of sessions at each rung (estimated at the start).
    @exclusivity(unchecked) var initialRungShares: [Double] = []
    /// The rung players settle at (replayed at the start).
    @exclusivity(unchecked) var settled = SettledRungs(rung: [])
    /// While placing the sessions in progress at the start: the bit rate placed on each PoP.
    @exclusivity(unchecked) var warmLoad: [Double] = []
    /// Per file, bytes of one copy (NaN until its title is first needed).
    @exclusivity(unchecked) var fileSizes: [Double]
    /// Per release of the catalog, what happened to it; per title, its release index or -1.
    @exclusivity(unchecked) public internal(set) var releaseStats: [ReleaseStats] = []
    @exclusivity(unchecked) var releaseIndex: [Int32]
    /// Receives every fill transfer's start, end and cut, when set (tests' checker observers).
    @exclusivity(unchecked) public var fillLog: ((FillRecord) -> Void)?
    /// Whether the run reached its end (and published its last data sets).
    @exclusivity(unchecked) var finished = false
    // Faults.
    /// The strikes of the scenario's faults.
    public var incidents: [Incident] { faults.incidents }
    /// Incidents in force, ascending.
    @exclusivity(unchecked) var faults: FaultInjector
    // The activity pipeline.
    @exclusivity(unchecked) var clients: ActivityClients
    /// The activity log's partitions, the aggregators and the pipeline's figures.
    @exclusivity(unchecked) var activityLog: ActivityLog
    public var end: SimInstant { .zero + configuration.duration }
    /// Receives every PoP request, when set: `--export-requests`.
    @exclusivity(unchecked) public var requestLog: ((_ time: SimInstant, _ pop: Int, _ file: Int, _ fileBytes: Double, _ hit: Bool,
                                                     _ requestBytes: Double) -> Void)?
    // A partitioned run (see `PartitionedWorld`).
    /// A partition's changes to the number of sessions in progress since the last
    /// synchronisation (time, ±1), for the global concurrency.
    @exclusivity(unchecked) var concurrencyChanges: [(time: SimInstant, delta: Double)] = []

    @inline(__always) func owns(region r: Int) -> Bool { shard?.ownsRegion[r] ?? true }
    @inline(__always) func owns(pop p: Int) -> Bool { shard?.ownsPop[p] ?? true }
    /// Whether this world runs the activity log and its aggregators (else its clients' appends go
    /// to the outbox).
    var runsLog: Bool { shard?.isLog ?? true }

    struct RegionState {
        var arrivalStream: RandomStream
        var arrivals: UInt64 = 0
        var surgeArrivals: UInt64 = 0
        /// Playback API calls that failed (control-plane outage).
        var apiFailures: Int64 = 0
        var initial = 0
        var aggregate: Aggregate
    }

    /// The whole platform in one event loop.
    public convenience init(configuration c: WorldConfiguration) {
        self.init(configuration: c, shard: nil, titles: nil)
    }

    /// The whole platform (`shard` nil) or a partition of it; `titles` (every title loaded) is
    /// shared by a partitioned run's worlds instead of each building the manifests again.
    init(configuration c: WorldConfiguration, shard: Shard?, titles: TitleLibrary?) {
        precondition(!c.regions.isEmpty && c.regions.count < Int(UInt16.max), "1 to 65534 regions")
        precondition(!c.pops.isEmpty && c.pops.count < Int(UInt16.max), "1 to 65534 PoPs")
        configuration = c
        let catalog = Catalog(configuration: c.catalog, seed: c.seed, runDuration: c.duration)
        self.catalog = catalog
        let popularity = Popularity(configuration: c, catalog: catalog)
        self.popularity = popularity
        let lengths = (0..<c.catalog.titles).map { catalog.duration(of: $0).seconds }
        titleLengths = lengths
        // Demand is calibrated on the titles this run's sessions will choose (their lengths cut
        // the watch time), weighted by each region's popularity at the start.
        let mixes = c.regions.indices.map { r in
            TitleLengthMix(lengths: lengths, weights: lengths.indices.map { popularity.weight(region: r, title: $0, at: .zero) })
        }
        let calibration = DemandCalibration(configuration: c, titleLengths: mixes)
        self.calibration = calibration
        population = Population(configuration: c)
        self.shard = shard
        // Fine buckets of about 32 events rather than the engine's 8: the run loop prefetches the
        // state of the event 8 places ahead, which it can see only within the loaded bucket.
        var tuning = EventQueueTuning()
        tuning.targetPerBucket = 32
        sim = Simulation<Event>(tuning: tuning)
        watch = c.demand.watchDuration
        sessionStreams = StreamFamily(seed: c.seed, label: "session")
        surgeStreams = StreamFamily(seed: c.seed, label: "surge.session")
        let distances = RegionDistances(regions: c.regions, base: c.clients.crossRegionRtt, perHour: c.clients.crossRegionRttPerHour)
        self.distances = distances
        // A partition's clients are steered among its own PoPs.
        let ownPops = c.pops.indices.filter { shard?.ownsPop[$0] ?? true }
        let ranking = c.regions.indices.map { distances.nearestFirst(c.pops, among: ownPops, from: $0) }
        self.ranking = ranking
        rankingRtt = c.regions.indices.map { r in ranking[r].map { c.pops[$0].rtt + distances.rtt(from: r, to: c.pops[$0].region) } }
        let origin = Origin(regions: c.origin.regions, popRegions: c.pops.map(\.region), distances: distances)
        self.origin = origin
        faults = FaultInjector(configuration: c)
        let k = Double(c.sampling)
        let fileCount = c.catalog.titles * c.catalog.ladder.count
        pops = c.pops.enumerated().map { i, p in
            PopState(index: i, region: p.region,
                     fillRate: p.fillBitsPerSecondPerServer / k, healthThreshold: p.healthThreshold, baseServers: p.servers,
                     servers: p.servers, parent: p.parent, rtt: p.rtt,
                     cache: LRUCache(capacityBytes: p.storageBytes, fileCount: fileCount), filling: FillJobs(fileCount: fileCount),
                     planned: Array(repeating: false, count: fileCount), replicas: Array(repeating: 1, count: fileCount),
                     observed: Array(repeating: 0, count: fileCount),
                     forecast: DemandForecast(initial: Array(repeating: 0, count: fileCount), halfLifePeriods: 1),
                     titleFiles: Array(repeating: 0, count: c.catalog.titles), metrics: PopMetrics(bucket: c.metricsBucket))
        }
        fileSizes = Array(repeating: .nan, count: fileCount)
        // Peers: same region, neither above nor below in the tier chain; by RTT, then index.
        func chain(_ p: Int) -> [Int] {
            var out: [Int] = []
            var t = p
            while let parent = c.pops[t].parent {
                out.append(parent)
                t = parent
            }
            return out
        }
        peers = c.pops.indices.map { p in
            c.pops.indices.filter { q in
                q != p && c.pops[q].region == c.pops[p].region && !chain(p).contains(q) && !chain(q).contains(p)
            }.sorted { c.pops[$0].rtt < c.pops[$1].rtt || (c.pops[$0].rtt == c.pops[$1].rtt && $0 < $1) }
        }
        var releaseIndex = [Int32](repeating: -1, count: c.catalog.titles)
        for (i, r) in catalog.releases.enumerated() { releaseIndex[r.title] = Int32(i) }
        self.releaseIndex = releaseIndex
        releaseStats = catalog.releases.map { ReleaseStats(title: $0.title, time: SimInstant(microseconds: $0.time)) }
        links = Links(popCapacity: c.pops.map { $0.egressBitsPerSecond / k },
                      replicaCapacity: Array(repeating: c.origin.egressBitsPerSecond / k, count: origin.count), bucket: c.metricsBucket)
        let playerConfiguration = PlayerConfiguration(
            algorithm: ABRAlgorithm.named(c.clients.abr, maxBufferSeconds: c.clients.maxBuffer.seconds) ?? .bola(gammaP: 5),
            maxBuffer: c.clients.maxBuffer.microseconds, startupBuffer: c.clients.startupBuffer.microseconds)
        library = TitleLibrary(catalog: catalog, configuration: playerConfiguration)
        // With worker threads, the titles sessions will probably ask for are built and parsed up
        // front, in parallel; the rest (and everything, alone) load when a session first asks.
        // Where a title's data sit changes, nothing else: the results are the same.
        if let titles {
            library.adopt(titles)
        } else if c.threads > 1 {
            let sessions = World.ownRegions(c, shard).reduce(0.0) { r, region in
                r + calibration.expectedConcurrency(region: region, at: .zero)
                    + calibration.arrivals[region].expectedArrivals(from: .zero, to: .zero + c.duration)
            }
            library.preload(titles: 0..<World.likelyTitles(sessions: sessions, catalog: c.catalog), threads: c.threads)
        }
        let arrivalStreams = StreamFamily(seed: c.seed, label: "region.arrivals")
        regions = c.regions.indices.map { r in
            RegionState(arrivalStream: arrivalStreams.stream(UInt64(r)), aggregate: Aggregate(bucket: c.metricsBucket))
        }
        global = Aggregate(bucket: c.metricsBucket)
        let expected = World.ownRegions(c, shard).reduce(0.0) { $0 + calibration.expectedConcurrency(region: $1, at: .zero) }
        sessions = SessionTable(reservingCapacity: Int(expected * 1.2) + 16)
        // Client ids stay unique across partitions (the aggregators deduplicate by client).
        clients = ActivityClients(configuration: c.activity, seed: c.seed, firstClient: UInt64(shard?.index ?? 0) << 48)
        activityLog = ActivityLog(configuration: c.activity, regions: c.regions.count, titles: c.catalog.titles, sampling: c.sampling,
                                  startUnixSeconds: c.startUnixSeconds, isShared: shard?.isLog ?? true, bucket: c.metricsBucket)
        initialRungShares = World.rungShares(configuration: c, population: population, catalog: catalog, player: playerConfiguration)
        settled = World.settledRungs(configuration: c, catalog: catalog, player: playerConfiguration)
        warmLoad = Array(repeating: 0, count: c.pops.count)
        warmStart()
        startInSteadyState()
        for r in c.regions.indices where owns(region: r) { scheduleNextArrival(region: r) }
        scheduleWindows()
        for (i, r) in catalog.releases.enumerated() where r.time >= 0 && r.time < c.duration.microseconds {
            sim.schedule(.release(index: UInt32(i)), at: SimInstant(microseconds: r.time))
        }
        sim.schedule(.sample, at: .zero)
        if runsLog && c.activity.publishPeriod < c.duration { sim.schedule(.publish, at: .zero + c.activity.publishPeriod) }
        faults.schedule(end: end) { sim.schedule($0, at: $1) }
    }

    /// Loads a title's manifests if needed.
    func ensureLoaded(_ title: Int) {
        guard library.index[title] < 0 else { return }
        _ = library.load(title)
    }

    deinit { sessions.deallocate() }

    /// The simulated clock.
    public var now: SimInstant { sim.now }
    /// Events handled so far.
    public var eventsProcessed: UInt64 { sim.eventsProcessed }
    /// Bytes of one session's record in the session table, and of one pending event in the queue.
    public static var sessionRecordBytes: Int { SessionTable.bytesPerSession }
    public static var queuedEventBytes: Int { MemoryLayout<QueuedEvent<Event>>.stride }
    /// The event queue's layout and how often it was rebuilt, for benchmarks.
    public var queueDiagnostics: String { "\(sim.queue.rebuilds) rebuilds; \(sim.queue.geometry)" }
    /// The most sessions in progress at once so far (the session table's size).
    public var peakSessions: Int { sessions.capacity }
    /// Sessions in progress now (sampled population).
    public var sessionsInProgress: Int { sessions.live }

    /// Simulates up to `limit` (exclusive), or to the end of the scenario if that comes first.
    public func run(until limit: SimInstant) throws {
        let stop = min(limit, end)
        guard stop > sim.now else { return }
        if runsLog && !clients.history.isEmpty { clients.applyHistory(to: &activityLog, sessions: sessions) }
        // Twelve events ahead rather than the engine's eight: at full scale the misses of the
        // chains record → context → arrays take longer than eight events' work to overlap
        // (peak-10m's first 30 s, k = 1: 2.2M → 2.6M events/s; k = 10 unchanged).
        try sim.run(until: stop, prefetch: { event, depth in self.prefetch(event, depth: depth) }, ahead: 12) { event in self.handle(event) }
        // At the end, the aggregators publish what they have (events since the last publication
        // would otherwise never be visible).
        if stop == end && !finished {
            finished = true
            sampleLog()
            if runsLog { publish() }
        }
    }

    // MARK: Events

    func handle(_ event: Event) {
        switch event {
        case let .arrival(r):
            arrive(region: Int(r))
        case let .apiResponse(s, g):
            guard sessions.generation[Int(s)] == g else { return }
            apiResponse(s)
        case let .request(s, g):
            guard sessions.generation[Int(s)] == g else { return }
            requestNext(s)
        case let .downloadDone(s, g, e):
            guard sessions.generation[Int(s)] == g, sessions.download[Int(s)].active, sessions.download[Int(s)].epoch == e else { return }
            completeDownload(s)
        case let .abandon(s, g, e):
            guard sessions.generation[Int(s)] == g, sessions.download[Int(s)].active, sessions.download[Int(s)].epoch == e else { return }
            abandonDownload(s)
        case let .patience(s, g):
            guard sessions.generation[Int(s)] == g, !sessions.started[Int(s)] else { return }
            let apiFailing = sessions.pop[Int(s)] == UInt16.max && faults.apiIsDown(region: Int(sessions.region[Int(s)]))
            endSession(s, cause: apiFailing ? .apiUnavailable : .gaveUp)
        case let .sessionEnd(s, g):
            guard sessions.generation[Int(s)] == g else { return }
            endSession(s, cause: .finished)
        case let .fillDone(f, epoch):
            completeFill(f, epoch: epoch)
        case let .windowOpens(p):
            windowOpens(Int(p))
        case let .windowCloses(p):
            windowCloses(Int(p))
        case let .release(i):
            released(Int(i))
        case .sample:
            sampleBucket()
        case let .flush(s, g):
            guard sessions.generation[Int(s)] == g else { return }
            flush(s, final: false)
        case let .logRead(p):
            activityLog.read(Int(p), now: logNow)
        case let .activityRetry(b, g):
            guard clients.buffers[Int(b)].generation == g else { return }
            clients.retry(Int(b), now: sim.now, log: &activityLog, schedule: { sim.schedule($0, at: $1) })
        case .publish:
            publish()
        case let .faultStarts(i):
            faults.begin(Int(i))
            faultStarts(Int(i))
        case let .faultEnds(i):
            faults.end(Int(i))
            faultEnds(Int(i))
        case let .failover(s, g):
            guard sessions.generation[Int(s)] == g else { return }
            sessions.touchedUs[Int(s)] = sim.now.microseconds
            failover(s)
        case let .surgeArrival(i, k):
            surgeArrival(Int(i), Int(k))
        case let .land(k):
            let landing = activityLog.inbox[Int(k)]
            let readAt = activityLog.land(landing.records, alreadyInLog: landing.alreadyInLog, to: landing.partition, now: sim.now)
            sim.schedule(.logRead(partition: UInt16(landing.partition)), at: readAt)
        }
    }

    // MARK: The activity pipeline

    var activity: ActivityConfiguration { configuration.activity }

    /// The client of session `s` reports (see ``ActivityClients/report(_:final:now:position:titleLength:sessions:log:schedule:)``),
    /// with its play brought up to now; unless it is the last report, the next is a batch interval away.
    func flush(_ s: UInt32, final: Bool) {
        let i = Int(s)
        let now = sim.now
        if !final { sim.schedule(.flush(session: s, generation: sessions.generation[i]), after: activity.batchInterval) }
        if sessions.started[i] && sessions.pop[i] != UInt16.max && sessions.player[i].now < now.microseconds {
            sessions.player[i].advance(to: now.microseconds, library.contexts[Int(sessions.context[i])])
        }
        let position = sessions.started[i] ? positionPlayed(s) : 0
        let length = final ? library.loaded[Int(library.index[Int(sessions.title[i])])].length : 0
        clients.report(s, final: final, now: now, position: position, titleLength: length, sessions: sessions, log: &activityLog,
                       schedule: { sim.schedule($0, at: $1) })
    }

    /// The log's clock: the end once the run has finished (its last publication and sample).
    var logNow: SimInstant { finished ? end : sim.now }

    func publish() {
        let now = logNow
        if !finished && now + activity.publishPeriod < end { sim.schedule(.publish, after: activity.publishPeriod) }
        activityLog.publish(at: now, profileLimit: activity.datasetProfiles)
    }

    /// At each bucket's start (and at the end): each partition's lag, and idle partitions move the
    /// watermark on.
    func sampleLog() { activityLog.sample(now: logNow, heldAtClients: clients.eventsHeld) }

    /// Records still unread in the log (at the end of a run: `--export-activity` lists them as pending).
    public var unreadRecords: [ActivityEvent] { activityLog.unreadRecords }

    /// Partition `p` refuses appends from now until `until` (an ingest outage).
    public func partitionOutage(_ p: Int, until: SimInstant) { activityLog.outage(p, until: until) }

    /// Receives every record the aggregators read (`--export-activity`; see ``ActivityLog/export``).
    public var activityExport: ((ActivityEvent, ApplyOutcome, Int64?, Bool) -> Void)? {
        get { activityLog.export }
        set { activityLog.export = newValue }
    }

    // MARK: Arrivals and the playback API

    func arrive(region r: Int) {
        arrive(region: r, title: nil, surge: nil)
        scheduleNextArrival(region: r)
    }

    /// A session begins: it asks the playback API (which answers after its latency, more while the
    /// region's control plane is slow) and its user's patience starts running. Surge sessions draw
    /// from their own streams, and may all want one title.
    func arrive(region r: Int, title: Int?, surge: UInt64?) {
        let now = sim.now
        var stream: RandomStream
        if let surge {
            stream = surgeStreams.stream(surge << 24 | UInt64(regions[r].surgeArrivals))
            regions[r].surgeArrivals += 1
        } else {
            stream = sessionStreams.stream(UInt64(r) << 40 | regions[r].arrivals)
            regions[r].arrivals += 1
        }
        let s = newSession(region: r, stream: &stream, at: now, title: title)
        let api = max(.microseconds(1), SimDuration(seconds: configuration.clients.apiLatency.sample(&stream))) + .microseconds(faults.apiExtraUs[r])
        let patience = SimDuration(seconds: configuration.clients.startupPatience.sample(&stream))
        let g = sessions.generation[Int(s)]
        sim.schedule(.apiResponse(session: s, generation: g), after: api)
        sim.schedule(.patience(session: s, generation: g), after: max(api, patience))
        regions[r].aggregate.sessionStarted(at: now)
        global.sessionStarted(at: now)
        if shard != nil { concurrencyChanges.append((now, 1)) }
    }

    /// The playback API answers, or (its region's control plane down) fails and the client asks
    /// again after a backoff, until the user's patience runs out.
    func apiResponse(_ s: UInt32) {
        let i = Int(s)
        let r = Int(sessions.region[i])
        sessions.touchedUs[i] = sim.now.microseconds
        guard !faults.apiIsDown(region: r) else {
            let delay = configuration.clients.failoverBackoff.microseconds << min(Int(sessions.failures[i]), 16)
            sessions.failures[i] &+= 1
            regions[r].apiFailures += 1
            sim.schedule(.apiResponse(session: s, generation: sessions.generation[i]),
                         after: .microseconds(min(delay, 30_000_000) + faults.apiExtraUs[r]))
            return
        }
        sessions.failures[i] = 0
        attach(s)
    }

    /// Creates a session: user, title, how long they mean to watch. The player is created when the
    /// playback API answers. A session already `age` seconds in (steady-state start) plays a title
    /// longer than that: the title given the session outlasted its age.
    func newSession(region r: Int, stream: inout RandomStream, at now: SimInstant, outlasting age: Double = 0, warm: Bool = false,
                    title forced: Int? = nil) -> UInt32 {
        let userID = population.randomUser(in: r, &stream)
        let user = population.user(userID)
        var title = forced ?? popularity.chooseTitle(region: r, at: now, &stream)
        // Rejection: the calibration made such sessions as rare as long titles, so few retries.
        var tries = 0
        while forced == nil && titleLengths[title] <= age && tries < 100_000 {
            title = popularity.chooseTitle(region: r, at: now, &stream)
            tries += 1
        }
        ensureLoaded(title)
        let device = configuration.clients.devices[user.device]
        let maxHeight = min(configuration.clients.plans[user.plan].maxHeight, device.maxHeight)
        let context = library.context(title: title, format: device.manifest, maxRung: library.maxRung(height: maxHeight))
        let length = library.loaded[Int(library.index[title])].length
        let wants = Int64((watch.sample(&stream) * 1e6).rounded())
        let s = sessions.allocate(placeholder: Player(library.contexts[Int(context)], at: now.microseconds))
        let i = Int(s)
        sessions.region[i] = UInt16(r)
        sessions.pop[i] = UInt16.max
        sessions.title[i] = UInt32(title)
        sessions.user[i] = UInt32(truncatingIfNeeded: userID)
        sessions.context[i] = context
        sessions.access[i] = user.accessBitsPerSecond
        sessions.arrivalUs[i] = now.microseconds
        sessions.watchUntilUs[i] = max(1, min(length, wants))
        sessions.lastSegment[i] = Int32(segmentIndex(context: context, position: sessions.watchUntilUs[i] - 1))
        sessions.download[i] = Download()
        sessions.accounted[i] = (0, 0, 0, 0, 0)
        sessions.warm[i] = false
        sessions.started[i] = false
        sessions.failures[i] = 0
        sessions.originFailure[i] = false
        sessions.touchedUs[i] = now.microseconds
        let firstReport = clients.start(s, sessions: sessions, warm: warm, now: now, stream: &stream)
        sim.schedule(.flush(session: s, generation: sessions.generation[i]), after: firstReport)
        return s
    }

    /// The segment holding media position `position`.
    func segmentIndex(context: UInt32, position: Int64) -> Int {
        let d = library.contexts[Int(context)].manifest.segmentDurations[0]
        return min(Int(position / d), library.contexts[Int(context)].manifest.segmentCount - 1)
    }

    /// The playback API answered: pick a PoP (steering) and start the player.
    func attach(_ s: UInt32) {
        let i = Int(s)
        let p = steer(region: Int(sessions.region[i]), title: Int(sessions.title[i]))
        sessions.pop[i] = UInt16(p)
        sessions.player[i] = Player(library.contexts[Int(sessions.context[i])], at: sim.now.microseconds)
        pops[p].metrics.sessions.increment()
        requestNext(s)
    }

    /// The PoP the playback API sends a session to: the real steering ranking (`Placement.Steering`)
    /// over the region's PoPs, by distance, whether they hold the title, health and load. If the
    /// nearest is saturated, it counts a health miss.
    func steer(region r: Int, title: Int, excludeDown: Bool = false) -> Int {
        steer(region: r, title: title, excludeDown: excludeDown, utilisation: { self.links.utilisation(self.links.pop($0)) })
    }

    /// Steering with the PoPs' utilisation given (the steady-state start uses the load its
    /// sessions will bring, before any flows exist).
    func steer(region r: Int, title: Int, excludeDown: Bool = false, utilisation: (Int) -> Double) -> Int {
        let order = ranking[r]
        let policy = SteeringPolicy(holdingBonusMs: configuration.placement.holdingBonus.seconds * 1e3,
                                    loadPenaltyMs: configuration.placement.loadPenalty.seconds * 1e3)
        var candidates: [SteeringCandidate] = []
        candidates.reserveCapacity(order.count)
        for (k, p) in order.enumerated() {
            // Steering learns of a failed PoP after the detection delay; a player failing over
            // knows at once (its connection is refused).
            let up = excludeDown ? !isDown(p) : !knownDown(p)
            let rtt = rankingRtt[r][k].microseconds + faults.linkRttUs(region: r, pop: p)
            let u = utilisation(p)
            candidates.append(SteeringCandidate(site: p, rttMs: Double(rtt) / 1e3, holdsTitle: pops[p].titleFiles[title] > 0,
                                                utilisation: u, healthy: u < pops[p].healthThreshold, available: up))
        }
        // The nearest PoP could not take the session: a health miss, whether it went elsewhere or,
        // with every PoP saturated, stayed.
        if utilisation(order[0]) >= pops[order[0]].healthThreshold { pops[order[0]].metrics.healthMisses.increment() }
        return order[Steering.rank(candidates, policy: policy)[0]]
    }

    // MARK: Downloads

    /// Asks the player what to fetch next and starts it (or waits as the player asks).
    func requestNext(_ s: UInt32) {
        let i = Int(s)
        let now = sim.now.microseconds
        sessions.touchedUs[i] = now
        guard sessions.player[i].nextSegment <= Int(sessions.lastSegment[i]) else { return }
        // A full buffer: the rung is chosen when there is room (the same choice, one decision
        // per segment instead of two), unless the algorithm may add a wait of its own.
        let next = withPlayer(i) { player, context -> (request: SegmentRequest?, wait: Int64) in
            if !context.configuration.algorithm.waitsOnItsOwn {
                let wait = player.roomDelay(at: now, context)
                if wait > 0 { return (nil, wait) }
            }
            let request = player.nextRequest(at: now, context)
            return (request, request?.delay ?? 0)
        }
        if next.wait > 0 {
            sim.schedule(.request(session: s, generation: sessions.generation[i]), after: .microseconds(next.wait))
            return
        }
        guard let request = next.request else { return }
        startDownload(s, segment: request.segment, rung: request.rung)
    }

    func startDownload(_ s: UInt32, segment: Int, rung: Int) {
        let i = Int(s)
        let now = sim.now
        let title = Int(sessions.title[i])
        let rendition = library.rendition(context: sessions.context[i], rung: rung)
        let file = library.file(title: title, rendition: rendition)
        let bits = library.segmentBits(context: sessions.context[i], title: title, segment: segment, rendition: rendition)
        let p = Int(sessions.pop[i]), atPop = links.pop(p)
        let region = Int(sessions.region[i])

        // The session's PoP is down: the request fails, and the player fails over.
        guard !isDown(p) else {
            sessions.originFailure[i] = false
            scheduleFailover(s)
            return
        }
        // Find the nearest tier holding the file: the PoP, its parents (past any that are down),
        // or the nearest origin replica up.
        var tier = p
        var servedBy = atPop
        var missing: [Int] = []
        var latency = pops[p].rtt + distances.rtt(from: region, to: pops[p].region) + .microseconds(faults.linkRttUs(region: region, pop: p))
        while true {
            let holds = pops[tier].serves(file)
            record(request: file, at: tier, bits: bits, hit: holds, now: now)
            if holds {
                pops[tier].cache.touch(file)
                servedBy = links.pop(tier)
                break
            }
            missing.append(tier)
            var next = pops[tier].parent
            while let up = next, isDown(up) { next = pops[up].parent }
            guard let parent = next else {
                guard let replica = origin.nearestUp(from: tier) else {
                    // No origin replica is up: the request fails; the player retries elsewhere.
                    sessions.originFailure[i] = true
                    scheduleFailover(s)
                    return
                }
                servedBy = links.replica(replica)
                latency += SimDuration(seconds: configuration.origin.firstByteLatency.seconds * origin.replicas[replica].latencyFactor)
                    + distances.rtt(from: pops[tier].region, to: origin.replicas[replica].region)
                break
            }
            latency += distances.rtt(from: pops[tier].region, to: pops[parent].region) + pops[parent].rtt
            tier = parent
        }

        // Tiers that lacked the file: pulled through from the tier above at once, or queued for
        // the fill window, or nothing (the plan decides), as `placement.onMiss` says.
        switch configuration.placement.onMiss {
        case .off:
            break
        case .immediate:
            for (k, t) in missing.enumerated() {
                let source = k + 1 < missing.count ? links.pop(missing[k + 1]) : servedBy
                requestFill(file: file, at: t, kind: .pullThrough, priority: .infinity, source: source)
            }
        case .queued:
            for t in missing {
                requestFill(file: file, at: t, kind: .missQueued, priority: max(pops[t].forecast.values[file], pops[t].observed[file]))
            }
        }
        let r = releaseIndex[title]
        if r >= 0 && now.microseconds - releaseStats[Int(r)].time.microseconds < 86_400_000_000 {
            releaseStats[Int(r)].requests += 1
            if servedBy == atPop { releaseStats[Int(r)].hits += 1 }
        }

        sessions.download[i] = Download(segment: Int32(segment), rung: UInt8(rung), epoch: sessions.download[i].epoch &+ 1,
                                        servedBy: servedBy, requestedAtUs: now.microseconds, firstByteAtUs: latency.microseconds,
                                        bits: bits)
        // First come, first served: behind anything already waiting on its links.
        if links.firstWaiting(atPop) != nil {
            enqueue(download: s, on: atPop)
        } else if servedBy != atPop && links.firstWaiting(servedBy) != nil {
            enqueue(download: s, on: servedBy)
        } else if let link = transmit(s) {
            enqueue(download: s, on: link)
        }
    }

    /// Starts session `s`'s waiting download if its links have room, and returns nil; else returns
    /// the link that lacks room. The rate: the user's access, the PoP's fair share and headroom,
    /// and the upstream tier's (see `FlowSet`). With the origin full and `onOverload: fail`, the
    /// request fails and the player retries a second later.
    func transmit(_ s: UInt32) -> LinkID? {
        let i = Int(s)
        let now = sim.now
        let d = sessions.download[i]
        let p = Int(sessions.pop[i])
        let pop = links.pop(p), upstream = d.servedBy
        // A degraded link between the user's region and the PoP leaves a share of the throughput.
        let access = sessions.access[i] * faults.linkThroughput(region: Int(sessions.region[i]), pop: p)
        let atPop = links.fairShare(pop, cap: access)
        var due = atPop
        if upstream != pop { due = min(due, links.fairShare(upstream, cap: atPop)) }
        let room = upstream != pop ? min(links.headroom(pop), links.headroom(upstream)) : links.headroom(pop)
        if room < FlowSet.admission * due {
            let blocked = links.admits(pop, due: due) ? upstream : pop
            if let replica = links.replica(of: blocked), configuration.origin.onOverload == .fail {
                origin.replicas[replica].failures.increment()
                sessions.download[i].segment = -1
                sim.schedule(.request(session: s, generation: sessions.generation[i]), after: World.retryDelay)
                return nil
            }
            return blocked
        }
        let rate = max(1, min(due, room))
        links.add(pop, cap: access, rate: rate, now: now)
        if upstream != pop { links.add(upstream, cap: atPop, rate: rate, now: now) }

        let firstByte = now + .microseconds(d.firstByteAtUs)
        let transfer = SimDuration(microseconds: (d.bits * 1_000_000 + Int64(rate) - 1) / Int64(rate))
        sessions.download[i].firstByteAtUs = firstByte.microseconds
        sessions.download[i].rate = rate
        sessions.download[i].accessCap = access
        sessions.download[i].upstreamCap = atPop
        // Constant rate: if abandonment would trigger, it triggers at the first check, after the
        // grace period (the gap between the time left and the buffer left stays constant).
        let abandons = withPlayer(i) { player, context -> SimInstant? in
            let check = firstByte + .microseconds(context.configuration.abandonmentGrace)
            guard check < firstByte + transfer else { return nil }
            let lower = player.abandonmentRung(segment: Int(d.segment), rung: Int(d.rung),
                                                       bitsReceived: Int64(rate * Double(check.microseconds - firstByte.microseconds) / 1e6),
                                                       bitsTotal: d.bits, firstByteAt: firstByte.microseconds, at: check.microseconds, context)
            return lower != nil ? check : nil
        }
        if let check = abandons {
            sim.schedule(.abandon(session: s, generation: sessions.generation[i], epoch: sessions.download[i].epoch), at: check)
        } else {
            sim.schedule(.downloadDone(session: s, generation: sessions.generation[i], epoch: sessions.download[i].epoch),
                         at: firstByte + transfer)
        }
        return nil
    }

    func record(request file: Int, at pop: Int, bits: Int64, hit: Bool, now: SimInstant) {
        let bytes = Double(bits / 8)
        pops[pop].metrics.requests.increment()
        pops[pop].metrics.bytes += bytes
        pops[pop].metrics.requestSeries.add(1, at: now)
        pops[pop].observed[file] += bytes
        if hit {
            pops[pop].metrics.hits.increment()
            pops[pop].metrics.hitBytes += bytes
            pops[pop].metrics.hitSeries.add(1, at: now)
        } else {
            pops[pop].metrics.contentMisses.increment()
        }
        requestLog?(now, pop, file, fileBytes(file), hit, bytes)
    }

    // MARK: Waiting for room on a link

    func enqueue(download s: UInt32, on link: LinkID) {
        let i = Int(s)
        links.enqueue(.download(session: s, generation: sessions.generation[i], epoch: sessions.download[i].epoch), on: link)
    }

    /// Starts what waits on `link`, oldest first, while there is room; a transfer that now lacks
    /// room on another of its links moves to that link's queue.
    func admitWaiting(_ link: LinkID) {
        while let entry = links.firstWaiting(link) {
            let blocked: LinkID?
            switch entry {
            case let .download(s, generation, epoch):
                let i = Int(s)
                guard sessions.generation[i] == generation, sessions.download[i].active, sessions.download[i].waiting,
                      sessions.download[i].epoch == epoch else {
                    links.dequeue(link)  // the session ended, or this download failed, meanwhile
                    continue
                }
                blocked = transmit(s)
            case let .fill(f):
                blocked = transmitFill(f)
            }
            if blocked == link { return }
            links.dequeue(link)
            if let other = blocked { links.enqueue(entry, on: other) }
        }
    }

    /// Releases the links a download used (or its place in a queue); `delivered` bits count as served.
    func releaseDownload(_ s: UInt32, delivered: Int64) {
        let i = Int(s)
        let d = sessions.download[i]
        guard d.active else { return }
        sessions.download[i].segment = -1
        guard !d.waiting else { return }  // its queue entry is dropped when reached
        let now = sim.now
        let pop = links.pop(Int(sessions.pop[i]))
        let upstream = d.servedBy
        links.remove(pop, cap: d.accessCap, rate: d.rate, now: now)
        if upstream != pop { links.remove(upstream, cap: d.upstreamCap, rate: d.rate, now: now) }
        // Bytes flowed from the first byte until now: book them over that span.
        let bytes = Double(delivered / 8)
        let from = SimInstant(microseconds: min(d.firstByteAtUs, now.microseconds))
        links.book(bytes, on: pop, from: from, to: now)
        if upstream != pop { links.book(bytes, on: upstream, from: from, to: now) }
        admitWaiting(pop)
        if upstream != pop { admitWaiting(upstream) }
    }

    func completeDownload(_ s: UInt32) {
        let i = Int(s)
        let d = sessions.download[i]
        let now = sim.now
        releaseDownload(s, delivered: d.bits)
        sessions.failures[i] = 0
        sessions.touchedUs[i] = now.microseconds
        withPlayer(i) { player, context in
            player.complete(segment: Int(d.segment), rung: Int(d.rung), bits: d.bits, requestedAt: d.requestedAtUs,
                            firstByteAt: d.firstByteAtUs, at: now.microseconds, context)
        }
        if !sessions.started[i], sessions.player[i].phase != .startup {
            playbackStarted(s)
        }
        account(s)
        if Int(d.segment) == Int(sessions.lastSegment[i]) {
            // Everything the user will watch is here: play starts if it was still waiting for its
            // startup buffer, and the session ends when play reaches the user's stopping point.
            if sessions.player[i].phase == .startup {
                sessions.player[i].startNow(at: now.microseconds, library.contexts[Int(sessions.context[i])])
                if !sessions.started[i] { playbackStarted(s) }
            }
            let left = max(0, sessions.watchUntilUs[i] - positionPlayed(s))
            sim.schedule(.sessionEnd(session: s, generation: sessions.generation[i]), after: .microseconds(left))
            return
        }
        requestNext(s)
    }

    /// Media position played so far (the start of the playing segment plus what of it has played).
    func positionPlayed(_ s: UInt32) -> Int64 {
        let i = Int(s)
        let first = withContext(of: i) { $0.manifest.duration(of: 0) }
        return Int64(sessions.player[i].playing) * first + sessions.player[i].playedInto
    }

    func abandonDownload(_ s: UInt32) {
        let i = Int(s)
        let d = sessions.download[i]
        let now = sim.now
        let received = Int64(d.rate * Double(now.microseconds - d.firstByteAtUs) / 1e6)
        releaseDownload(s, delivered: received)
        let context = library.contexts[Int(sessions.context[i])]
        let lower = sessions.player[i].abandonmentRung(segment: Int(d.segment), rung: Int(d.rung), bitsReceived: received,
                                                       bitsTotal: d.bits, firstByteAt: d.firstByteAtUs, at: now.microseconds, context) ?? 0
        sessions.player[i].abandon(segment: Int(d.segment), bitsReceived: received, toRung: lower, at: now.microseconds, context)
        requestNext(s)
    }

    // MARK: Session lifecycle

    func playbackStarted(_ s: UInt32) {
        let i = Int(s)
        sessions.started[i] = true
        if !sessions.warm[i] { clients.startedPlaying(s, sessions: sessions, now: sim.now, position: positionPlayed(s)) }
        guard !sessions.warm[i] else { return }
        let startTime = SimDuration(microseconds: sim.now.microseconds - sessions.arrivalUs[i])
        let r = Int(sessions.region[i]), p = Int(sessions.pop[i])
        regions[r].aggregate.playbackStarted(startTime, at: sim.now)
        global.playbackStarted(startTime, at: sim.now)
        pops[p].metrics.startTime.record(startTime)
    }

    /// Adds the session's QoE since the last call to its region's and the global totals.
    func account(_ s: UInt32) {
        let i = Int(s)
        let q = sessions.player[i].qoe
        let a = sessions.accounted[i]
        let delta = QoEDelta(play: q.playTime - a.play, rebuffer: q.rebufferTime - a.rebuffer, bits: q.bitsPlayed - a.bits,
                             rebufferEvents: q.rebufferEvents - a.events, switches: q.switches - a.switches)
        guard delta.play != 0 || delta.rebuffer != 0 || delta.rebufferEvents != 0 || delta.switches != 0 else { return }
        sessions.accounted[i] = (q.playTime, q.rebufferTime, q.bitsPlayed, q.rebufferEvents, q.switches)
        regions[Int(sessions.region[i])].aggregate.add(delta, at: sim.now)
        global.add(delta, at: sim.now)
    }

    /// The session ends, for `cause`: its download stops, its last play is accounted, its client
    /// reports the stop.
    func endSession(_ s: UInt32, cause: EndCause) {
        let i = Int(s)
        let now = sim.now
        if sessions.download[i].active {
            let d = sessions.download[i]
            let received = d.waiting ? 0 : max(0, Int64(d.rate * Double(now.microseconds - d.firstByteAtUs) / 1e6))
            releaseDownload(s, delivered: min(d.bits, received))
        }
        if sessions.pop[i] != UInt16.max {
            sessions.player[i].advance(to: max(sessions.player[i].now, now.microseconds), library.contexts[Int(sessions.context[i])])
            account(s)
        }
        flush(s, final: true)
        let r = Int(sessions.region[i])
        let started = sessions.started[i]
        regions[r].aggregate.sessionEnded(at: now, cause: cause, started: started, length: now.microseconds - sessions.arrivalUs[i])
        global.sessionEnded(at: now, cause: cause, started: started, length: now.microseconds - sessions.arrivalUs[i])
        if shard != nil { concurrencyChanges.append((now, -1)) }
        sessions.release(s)
    }

    func scheduleNextArrival(region r: Int) {
        if let next = calibration.arrivals[r].nextArrival(after: sim.now, &regions[r].arrivalStream), next < end {
            sim.schedule(.arrival(region: UInt16(r)), at: next)
        }
    }

    // MARK: Steady-state start

    /// Sessions already in progress at the epoch (M_t/G/∞: a Poisson count with the right ages),
    /// placed mid-title (at a random point of a segment) with a full buffer at the rung their
    /// bandwidth sustains, so their requests are spread over a segment's duration. Their startup happened before the run and is not measured.
    /// The regions whose sessions this world runs (all, or a partition's).
    static func ownRegions(_ c: WorldConfiguration, _ shard: Shard?) -> [Int] { c.regions.indices.filter { shard?.ownsRegion[$0] ?? true } }

    /// How many of the most popular titles `sessions` sessions are more likely than not to ask for
    /// at least once, under the catalog's Zipf law: 1 − (1 − pᵢ)^sessions > ½. Releases and
    /// regional taste move a few titles in or out; those load on demand.
    static func likelyTitles(sessions: Double, catalog: CatalogConfiguration) -> Int {
        let s = catalog.popularityExponent
        let weights = (1...catalog.titles).map { pow(Double($0), -s) }
        let total = weights.reduce(0, +)
        // pᵢ falls with i: count while the title is still likely.
        var n = 0
        while n < weights.count && sessions * log1p(-min(weights[n] / total, 1 - 1e-12)) < -log(2.0) { n += 1 }
        return n
    }

    func startInSteadyState() {
        let initialStreams = StreamFamily(seed: configuration.seed, label: "region.initial")
        for r in configuration.regions.indices where owns(region: r) {
            var stream = initialStreams.stream(UInt64(r))
            let ages = calibration.initialAges(region: r, watch: effectiveWatch, &stream)
            for (k, (age, remaining)) in ages.enumerated() {
                var sessionStream = sessionStreams.stream(UInt64(r) << 40 | (1 << 39 + UInt64(k)))
                let s = newSession(region: r, stream: &sessionStream, at: .zero, outlasting: age, warm: true)
                resumeWarm(s, age: age, remaining: remaining)
            }
            regions[r].initial = ages.count
            regions[r].aggregate.initialSessions(ages.count)
            global.initialSessions(ages.count)
        }
    }

    /// The watch-time law a session actually follows: what the user means to watch, cut at the
    /// title's end (title lengths follow the catalog's law).
    var effectiveWatch: Distribution { watch }

    func resumeWarm(_ s: UInt32, age: Double, remaining: Double) {
        let i = Int(s)
        let context = library.contexts[Int(sessions.context[i])]
        let m = context.manifest
        let length = m.segmentDurations.reduce(0, +)
        // Position: the age into the title, short of its end; the user stops `remaining` later.
        let position = min(Int64(age * 1e6), max(0, length - m.segmentDurations.last! - 1))
        sessions.watchUntilUs[i] = min(length, position + max(1, Int64(remaining * 1e6)))
        sessions.lastSegment[i] = Int32(segmentIndex(context: sessions.context[i], position: sessions.watchUntilUs[i] - 1))
        let segment = segmentIndex(context: sessions.context[i], position: position)
        // Steered by the load the sessions placed so far will bring (there are no flows yet).
        let p = steer(region: Int(sessions.region[i]), title: Int(sessions.title[i]), utilisation: { self.warmLoad[$0] / self.links.capacity(self.links.pop($0)) })
        sessions.pop[i] = UInt16(p)
        pops[p].metrics.sessions.increment()
        // The rung such a player settles at, at its access bandwidth (replayed at the start).
        let device = configuration.clients.devices[population.user(UInt64(sessions.user[i])).device]
        let rung = min(m.rungs - 1, settled.rung(format: device.manifest, cap: m.rungs - 1, bandwidth: sessions.access[i]))
        warmLoad[p] += context.reportingBitrates[rung]
        // Mid-segment, so that sessions in progress do not all ask for their next segment in step,
        // with a full buffer, as a player keeps whose bandwidth sustains its rung: between one
        // segment short of the maximum and the maximum, so it asks for its next segment within one
        // segment's duration, at a uniformly spread time.
        let d = m.segmentDurations[0]
        let offset = position - Int64(segment) * d
        let segments = max(1, Int((context.configuration.maxBuffer + offset) / d))
        sessions.player[i] = Player.resumed(context, at: 0, position: segment, offset: offset,
                                            segments: min(segments, Int(sessions.lastSegment[i]) - segment + 1),
                                            rung: rung, throughput: sessions.access[i])
        sessions.warm[i] = true
        sessions.started[i] = true
        var clientStream = clients.resumeStream(client: sessions.client[i])
        clients.resume(s, sessions: sessions, position: position, age: age, startUnixMicros: activityLog.unixMicros(.zero), stream: &clientStream)
        sessions.accounted[i] = (sessions.player[i].qoe.playTime, 0, sessions.player[i].qoe.bitsPlayed, 0, 0)
        if sessions.player[i].nextSegment > Int(sessions.lastSegment[i]) {
            let left = max(0, sessions.watchUntilUs[i] - positionPlayed(s))
            sim.schedule(.sessionEnd(session: s, generation: sessions.generation[i]), after: .microseconds(left))
        } else {
            // As an event, so that the run (and its request log) sees it.
            sim.schedule(.request(session: s, generation: sessions.generation[i]), at: .zero)
        }
    }
}

/// A change in QoE totals.
struct QoEDelta {
    var play: Int64
    var rebuffer: Int64
    var bits: Double
    var rebufferEvents: Int32
    var switches: Int32
}

extension World {
    /// Recomputes every link's committed rate and flow count from the downloads and fills in
    /// flight, and returns where they differ from the links' own books (empty when consistent).
    /// O(sessions); for tests and audits.
    func auditLinks() -> [String] {
        var rate = [Double](repeating: 0, count: links.all.count)
        var count = [Int](repeating: 0, count: links.all.count)
        for s in 0..<sessions.capacity where sessions.isLive[s] {
            let d = sessions.download[s]
            guard d.active, !d.waiting else { continue }
            let pop = links.pop(Int(sessions.pop[s]))
            rate[Int(pop.index)] += d.rate
            count[Int(pop.index)] += 1
            if d.servedBy != pop {
                rate[Int(d.servedBy.index)] += d.rate
                count[Int(d.servedBy.index)] += 1
            }
        }
        for f in fills.pop.indices where fills.state[f] == .transferring {
            rate[Int(fills.source[f].index)] += fills.rate[f]
            count[Int(fills.source[f].index)] += 1
        }
        var problems: [String] = []
        for link in links.ids {
            let flows = links[link].flows, i = Int(link.index)
            if flows.active != count[i] || abs(flows.committed - rate[i]) > 1e-6 * max(1, rate[i]) {
                problems.append("link \(i): books \(flows.active) flows at \(flows.committed) bit/s, in flight \(count[i]) at \(rate[i])")
            }
        }
        return problems
    }
}
