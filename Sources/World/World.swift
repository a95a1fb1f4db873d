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
/// The world keeps the event loop and its dispatch, the session lifecycle (arrival, the playback
/// API, steering, start of play, QoE, end, failover) and the steady-state start. The rest belongs
/// to components that own their state (docs/architecture.md): ``Sites``, ``Links``, ``Origin``,
/// ``FillScheduler``, ``SitePlanner``, ``Delivery``, ``FaultInjector``, ``ActivityClients`` and
/// ``ActivityLog``; World+Prefetch.swift is the fast-path layer.
///
/// Drive it with ``run(until:)`` in as many slices as you like; slicing does not change results.
public final class World: WorldRun {
    public typealias Event = WorldEvent

    /// A world's part in a partitioned run (nil: the whole platform).
    typealias Shard = WorldShard

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
    let sessions: SessionTable
    let library: TitleLibrary
    /// Each device class's player profile: an index into the library's configurations.
    let deviceProfiles: [Int]
    @exclusivity(unchecked) var popularity: Popularity
    let priors: StartPriors
    // The components.
    let sites: Sites
    let links: Links
    let origin: Origin
    let fills: FillScheduler
    let planner: SitePlanner
    let steering: PlaybackSteering
    let delivery: Delivery
    let faults: FaultInjector
    let lastMile: LastMile
    let faultTargets: FaultTargets
    /// Hybrid fidelity's steady windows (nil: every segment is exact).
    let steady: SteadyWindows?
    /// The control plane's services, caches and databases (nil: the playback API is one latency).
    let controlPlane: ControlPlane?
    @exclusivity(unchecked) var clients: ActivityClients
    @exclusivity(unchecked) var activityLog: ActivityLog
    // The session lifecycle's figures.
    @exclusivity(unchecked) var regions: [RegionState]
    @exclusivity(unchecked) var global: Aggregate
    /// While placing the sessions in progress at the start: the bit rate placed on each PoP.
    @exclusivity(unchecked) var warmLoad: [Double] = []
    /// Whether the run reached its end (and published its last data sets).
    @exclusivity(unchecked) var finished = false
    /// A partition's changes to the number of sessions in progress since the last
    /// synchronisation (time, ±1), for the global concurrency (see `PartitionedWorld`).
    @exclusivity(unchecked) var concurrencyChanges: [(time: SimInstant, delta: Double)] = []

    struct RegionState {
        var arrivalStream: RandomStream
        var arrivals: UInt64 = 0
        var surgeArrivals: UInt64 = 0
        /// Playback API calls that failed (control-plane outage).
        var apiFailures: Int64 = 0
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
        let calibration = DemandCalibration(configuration: c, titleLengths: lengths, popularity: popularity)
        self.calibration = calibration
        population = Population(configuration: c)
        self.shard = shard
        // Fine buckets of about 32 events rather than the engine's 8: the run loop prefetches the
        // state of the event 12 places ahead, which it can see only within the loaded bucket.
        var tuning = EventQueueTuning()
        tuning.targetPerBucket = 32
        sim = Simulation<Event>(tuning: tuning)
        watch = c.demand.watchDuration
        sessionStreams = StreamFamily(seed: c.seed, label: "session")
        surgeStreams = StreamFamily(seed: c.seed, label: "surge.session")
        let distances = RegionDistances(regions: c.regions, base: c.clients.crossRegionRtt, perHour: c.clients.crossRegionRttPerHour)
        let ownRegions = c.regions.indices.filter { shard?.ownsRegion[$0] ?? true }
        let playerConfigurations = c.clients.playerConfigurations
        deviceProfiles = c.clients.deviceProfiles
        library = TitleLibrary(catalog: catalog, configurations: playerConfigurations)
        library.prepare(adopting: titles, threads: c.threads) { calibration.expectedSessions(regions: ownRegions, over: c.duration) }
        let arrivalStreams = StreamFamily(seed: c.seed, label: "region.arrivals")
        regions = c.regions.indices.map { r in
            RegionState(arrivalStream: arrivalStreams.stream(UInt64(r)), aggregate: Aggregate(bucket: c.metricsBucket))
        }
        global = Aggregate(bucket: c.metricsBucket)
        let expected = ownRegions.reduce(0.0) { $0 + calibration.expectedConcurrency(region: $1, at: .zero) }
        sessions = SessionTable(reservingCapacity: Int(expected * 1.2) + 16)
        // Client ids stay unique across partitions (the aggregators deduplicate by client).
        clients = ActivityClients(configuration: c.activity, seed: c.seed, firstClient: UInt64(shard?.index ?? 0) << 48)
        activityLog = ActivityLog(configuration: c.activity, regions: c.regions.count, titles: c.catalog.titles, sampling: c.sampling,
                                  startUnixSeconds: c.startUnixSeconds, isShared: shard?.isLog ?? true, bucket: c.metricsBucket)
        priors = StartPriors(configuration: c, population: population, catalog: catalog, players: playerConfigurations)
        // The components, each given the others it works with.
        let origin = Origin(regions: c.origin.regions, popRegions: c.pops.map(\.region), distances: distances)
        links = Links(configuration: c, replicas: origin.count)
        self.origin = origin
        faults = FaultInjector(configuration: c)
        let lastMile = LastMile(configuration: c)
        self.lastMile = lastMile
        sites = Sites(configuration: c, catalog: catalog)
        // A partition's clients are steered among its own PoPs.
        steering = PlaybackSteering(configuration: c, distances: distances, ownPops: c.pops.indices.filter { shard?.ownsPop[$0] ?? true },
                                    sites: sites, faults: faults)
        fills = FillScheduler(configuration: c, sim: sim, sites: sites, links: links, origin: origin)
        planner = SitePlanner(configuration: c, catalog: catalog, sim: sim, sites: sites, links: links, fills: fills,
                              initialRungShares: priors.rungShares)
        let delivery = Delivery(configuration: c, sim: sim, sessions: sessions, library: library, sites: sites, links: links,
                                origin: origin, fills: fills, faults: faults, lastMile: lastMile, distances: distances)
        self.delivery = delivery
        fills.admitWaiting = { [unowned delivery] in delivery.admitWaiting($0) }
        faultTargets = FaultTargets(sites: sites, origin: origin, links: links, fills: fills, delivery: delivery)
        steady = c.execution.fidelity == .hybrid
            ? SteadyWindows(hybrid: c.execution.hybrid, bucket: c.metricsBucket, sim: sim, sessions: sessions, library: library, sites: sites,
                            links: links, faults: faults, delivery: delivery)
            : nil
        let simulation = sim
        controlPlane = ownRegions.isEmpty ? nil : c.controlPlane.map { cp in
            // A partition's control plane is its users' share of each control-plane region's.
            let home = c.regions.indices.map { r in cp.regions.indices.min { distances.rtt(from: r, to: cp.regions[$0]) < distances.rtt(from: r, to: cp.regions[$1]) }! }
            let shares = cp.regions.indices.map { k -> Double in
                let users = c.regions.indices.filter { home[$0] == k }
                let all = calibration.expectedSessions(regions: users, over: c.duration)
                return all > 0 ? calibration.expectedSessions(regions: users.filter { ownRegions.contains($0) }, over: c.duration) / all : 1
            }
            return ControlPlane(configuration: cp, regions: c.regions.count, distances: distances, sampling: c.sampling, shares: shares, seed: c.seed,
                                stream: RandomStream(seed: c.seed, label: "controlPlane", id: UInt64(shard?.index ?? 0)), sim: simulation,
                                bucket: c.metricsBucket)
        }
        // The start, then what is scheduled ahead.
        warmLoad = Array(repeating: 0, count: c.pops.count)
        planner.warmStart(owned: owns(pop:), popularity: popularity, calibration: calibration)
        startInSteadyState()
        for r in ownRegions { scheduleNextArrival(region: r) }
        fills.scheduleWindows(owned: owns(pop:))
        for (i, r) in catalog.releases.enumerated() where r.time >= 0 && r.time < c.duration.microseconds {
            sim.schedule(.release(index: UInt32(i)), at: SimInstant(microseconds: r.time))
        }
        sim.schedule(.sample, at: .zero)
        if runsLog && c.activity.publishPeriod < c.duration { sim.schedule(.publish, at: .zero + c.activity.publishPeriod) }
        var barriers = [end.microseconds]
        faults.schedule(end: end) { event, time in
            sim.schedule(event, at: time)
            barriers.append(time.microseconds)
        }
        if let controlPlane {
            controlPlane.answered = { [unowned self] trigger, s, g, ok in
                guard self.sessions.generation[Int(s)] == g else { return }
                if trigger == .play { return self.playAnswered(s, generation: g, ok: ok) }
                self.reportActivity(s, final: false, writeFailed: !ok)
            }
            controlPlane.extraUs = { [unowned faults] r in faults.apiExtraUs[r] }
            controlPlane.playAgain = { [unowned self] s, g in
                guard self.sessions.generation[Int(s)] == g, self.sessions.pop[Int(s)] == UInt16.max else { return }
                self.issue(controlPlane, .play, for: s)
            }
            let period = c.activity.publishPeriod
            // Publications come every period from the start, in every partition alike.
            controlPlane.lastPublished = { [unowned sim] in
                let n = sim.now.microseconds / period.microseconds
                return n > 0 ? SimInstant(microseconds: n * period.microseconds) : nil
            }
        }
        if let steady {
            steady.account = { [unowned self] s, time in self.account(s, at: time) }
            barriers += fills.windowOpenings(owned: owns(pop:), before: end).map(\.microseconds)
            steady.setBarriers(barriers)
        }
    }

    @inline(__always) func owns(region r: Int) -> Bool { shard?.ownsRegion[r] ?? true }
    @inline(__always) func owns(pop p: Int) -> Bool { shard?.ownsPop[p] ?? true }
    /// Whether this world runs the activity log and its aggregators (else its clients' appends go
    /// to the outbox).
    var runsLog: Bool { shard?.isLog ?? true }

    public var end: SimInstant { .zero + configuration.duration }
    /// The simulated clock.
    public var now: SimInstant { sim.now }
    /// Events handled so far.
    public var eventsProcessed: UInt64 { sim.eventsProcessed }
    /// Bytes of one session's record in the session table, and of one pending event in the queue.
    public static var sessionRecordBytes: Int { SessionTable.bytesPerSession }
    public static var queuedEventBytes: Int { MemoryLayout<QueuedEvent<Event>>.stride }
    /// The event queue's layout and how often it was rebuilt, for benchmarks.
    public var queueDiagnostics: String { "\(sim.queue.rebuilds) rebuilds; \(sim.queue.geometry)" }
    /// With hybrid fidelity, what the steady windows covered so far.
    public var hybridFigures: HybridFigures? { steady?.figures }
    /// The most sessions in progress at once so far (the session table's size).
    public var peakSessions: Int { sessions.capacity }
    /// Sessions in progress now (sampled population).
    public var sessionsInProgress: Int { sessions.live }
    /// The strikes of the scenario's faults.
    public var incidents: [Incident] { faults.incidents }
    /// Per release of the catalog, what happened to it.
    public var releaseStats: [ReleaseStats] { sites.releases }
    /// Receives every PoP request, when set: `--export-requests`.
    public var requestLog: ((_ time: SimInstant, _ pop: Int, _ file: Int, _ fileBytes: Double, _ hit: Bool, _ requestBytes: Double) -> Void)? {
        get { delivery.requestLog }
        set { delivery.requestLog = newValue }
    }
    /// Receives every fill transfer's start, end and cut, when set (tests' checker observers).
    public var fillLog: ((FillRecord) -> Void)? {
        get { fills.fillLog }
        set { fills.fillLog = newValue }
    }

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

    /// Every event goes to whoever handles its kind (see ``WorldEvent``). Events naming a session
    /// are dropped when the session's slot has moved on (its generation) or its download has.
    func handle(_ event: Event) {
        switch event {
        case let .arrival(r):
            arrive(region: Int(r), title: nil, surge: nil)
            scheduleNextArrival(region: Int(r))
        case let .apiResponse(s, g):
            guard sessions.generation[Int(s)] == g else { return }
            apiResponse(s)
        case let .request(s, g):
            guard sessions.generation[Int(s)] == g else { return }
            if let steady {
                steady.end(s)
                if steady.advance(s) { return }
            }
            delivery.requestNext(s)
        case let .downloadDone(s, g, e):
            guard sessions.generation[Int(s)] == g, sessions.download[Int(s)].active, sessions.download[Int(s)].epoch == e else { return }
            downloadDone(s)
        case let .abandon(s, g, e):
            guard sessions.generation[Int(s)] == g, sessions.download[Int(s)].active, sessions.download[Int(s)].epoch == e else { return }
            delivery.abandon(s)
        case let .patience(s, g):
            guard sessions.generation[Int(s)] == g, !sessions.started[Int(s)] else { return }
            let apiFailing = sessions.pop[Int(s)] == UInt16.max
                && (controlPlane == nil ? faults.apiIsDown(region: Int(sessions.region[Int(s)])) : sessions.failures[Int(s)] > 0)
            endSession(s, cause: apiFailing ? .apiUnavailable : .gaveUp)
        case let .sessionEnd(s, g):
            guard sessions.generation[Int(s)] == g else { return }
            endSession(s, cause: .finished)
        case let .fillDone(f, epoch):
            fills.complete(f, epoch: epoch)
        case let .windowOpens(p):
            planner.windowOpens(Int(p), popularity: popularity)
        case let .windowCloses(p):
            fills.windowCloses(Int(p))
        case let .release(i):
            sites.released(Int(i), owned: owns(pop:))
        case .sample:
            controlPlane?.sample()
            fills.sampleOldest()
            sampleLog()
            if sim.now + configuration.metricsBucket < end { sim.schedule(.sample, after: configuration.metricsBucket) }
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
            switch faults.strike(Int(i), now: sim.now, hitting: faultTargets) {
            case let .ingestOutage(partitions, until):
                for p in partitions { activityLog.outage(p, until: until ?? end) }
            case .surge:
                for (k, region) in faults.startSurge(Int(i), now: sim.now, popularity: popularity, calibration: calibration)
                where owns(region: region) {
                    scheduleSurgeArrival(Int(i), k)
                }
            case nil:
                break
            }
            faultOnControlPlane(Int(i), on: true)
        case let .faultEnds(i):
            faults.clear(Int(i), hitting: faultTargets)
            faultOnControlPlane(Int(i), on: false)
        case let .failover(s, g):
            guard sessions.generation[Int(s)] == g else { return }
            sessions.touchedUs[Int(s)] = sim.now.microseconds
            failover(s)
        case let .surgeArrival(i, k):
            guard let surge = faults.surgeArrival(Int(i), Int(k)) else { return }
            arrive(region: surge.region, title: surge.title, surge: UInt64(i) << 20 | UInt64(k))
            scheduleSurgeArrival(Int(i), Int(k))
        case let .land(k):
            let landing = activityLog.inbox[Int(k)]
            let readAt = activityLog.land(landing.records, alreadyInLog: landing.alreadyInLog, to: landing.partition, now: sim.now)
            sim.schedule(.logRead(partition: UInt16(landing.partition)), at: readAt)
        case let .control(id, g, kind):
            controlPlane!.handle(id: id, generation: g, kind: kind)
        }
    }

    // MARK: The activity pipeline

    /// The client of session `s` reports (see ``ActivityClients/report(_:final:now:position:titleLength:sessions:log:schedule:)``),
    /// with its play brought up to now; unless it is the last report, the next is a batch interval away.
    func flush(_ s: UInt32, final: Bool) {
        let i = Int(s)
        if !final { sim.schedule(.flush(session: s, generation: sessions.generation[i]), after: configuration.activity.batchInterval) }
        if let controlPlane, sessions.started[i] {
            issue(controlPlane, final ? .sessionEnd : .heartbeat, for: s)
            // The progress write carries the batch: it reaches the log when the write is answered.
            if !final && controlPlane.configuration.activityClass != nil { return }
        }
        reportActivity(s, final: final)
    }

    /// The client of session `s` reports what it has to the log, brought up to now; a progress
    /// write the control plane failed holds it at the client for the client's retries instead.
    func reportActivity(_ s: UInt32, final: Bool, writeFailed: Bool = false) {
        let i = Int(s)
        let now = sim.now
        if sessions.started[i] && sessions.pop[i] != UInt16.max && sessions.player[i].now < now.microseconds {
            sessions.player[i].advance(to: now.microseconds, library.contexts[Int(sessions.context[i])])
        }
        // In a steady window the player is already at the window's end, playing without a stall
        // all the way: the position now is that much earlier.
        let ahead = sessions.download[i].steady ? max(0, sessions.player[i].now - now.microseconds) : 0
        let position = sessions.started[i] ? positionPlayed(s) - ahead : 0
        let length = final ? library.loaded[Int(library.index[Int(sessions.title[i])])].length : 0
        clients.report(s, final: final, now: now, position: position, titleLength: length, sessions: sessions, writeFailed: writeFailed,
                       log: &activityLog, schedule: { sim.schedule($0, at: $1) })
    }

    /// The log's clock: the end once the run has finished (its last publication and sample).
    var logNow: SimInstant { finished ? end : sim.now }

    func publish() {
        let now = logNow, period = configuration.activity.publishPeriod
        if !finished && now + period < end { sim.schedule(.publish, after: period) }
        activityLog.publish(at: now, profileLimit: configuration.activity.datasetProfiles)
    }

    /// At each bucket's start (and at the end): each partition's lag, and idle partitions move the
    /// watermark on.
    func sampleLog() { activityLog.sample(now: logNow, heldAtClients: clients.eventsHeld) }

    /// Records still unread in the log (at the end of a run: `--export-activity` lists them as pending).
    public var unreadRecords: [ActivityEvent] { activityLog.unreadRecords }

    /// Receives every record the aggregators read (`--export-activity`; see ``ActivityLog/export``).
    public var activityExport: ((ActivityEvent, ApplyOutcome, Int64?, Bool) -> Void)? {
        get { activityLog.export }
        set { activityLog.export = newValue }
    }

    // MARK: Arrivals and the playback API

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
        let g = sessions.generation[Int(s)]
        if let controlPlane {
            // The app opens (home page, browsing), then the play request; patience runs from the click.
            issue(controlPlane, .appOpen, for: s)
            issue(controlPlane, .play, for: s)
            sim.schedule(.patience(session: s, generation: g), after: SimDuration(seconds: configuration.clients.startupPatience.sample(&stream)))
        } else {
            let api = max(.microseconds(1), SimDuration(seconds: configuration.clients.apiLatency.sample(&stream))) + .microseconds(faults.apiExtraUs[r])
            let patience = SimDuration(seconds: configuration.clients.startupPatience.sample(&stream))
            sim.schedule(.apiResponse(session: s, generation: g), after: api)
            sim.schedule(.patience(session: s, generation: g), after: max(api, patience))
        }
        regions[r].aggregate.sessionStarted(at: now)
        global.sessionStarted(at: now)
        if shard != nil { concurrencyChanges.append((now, 1)) }
    }

    func scheduleNextArrival(region r: Int) {
        if let next = calibration.arrivals[r].nextArrival(after: sim.now, &regions[r].arrivalStream), next < end {
            sim.schedule(.arrival(region: UInt16(r)), at: next)
        }
    }

    /// The playback API answers, or (its region's control plane down) fails and the client asks
    /// again after a backoff, until the user's patience runs out.
    func apiResponse(_ s: UInt32) {
        let i = Int(s)
        let r = Int(sessions.region[i])
        sessions.touchedUs[i] = sim.now.microseconds
        guard controlPlane != nil || !faults.apiIsDown(region: r) else {
            let delay = configuration.clients.failoverBackoff.microseconds << min(Int(sessions.failures[i]), 16)
            sessions.failures[i] &+= 1
            regions[r].apiFailures += 1
            sim.schedule(.apiResponse(session: s, generation: sessions.generation[i]),
                         after: .microseconds(min(delay, 30_000_000) + faults.apiExtraUs[r]))
            return
        }
        sessions.failures[i] = 0
        // Steered to a PoP, the player starts.
        let p = steer(region: r, title: Int(sessions.title[i]), for: s)
        sessions.pop[i] = UInt16(p)
        sessions.player[i] = Player(library.contexts[Int(sessions.context[i])], at: sim.now.microseconds)
        sites.metrics[p].sessions.increment()
        delivery.requestNext(s)
    }

    /// Session `s`'s client sends the requests of the classes `trigger` sets off.
    func issue(_ controlPlane: ControlPlane, _ trigger: ControlPlaneConfiguration.Trigger, for s: UInt32) {
        let i = Int(s)
        for (c, spec) in controlPlane.configuration.classes.enumerated() where spec.trigger == trigger {
            for _ in 0..<controlPlane.count(c) {
                let answers = trigger == .play || c == controlPlane.configuration.activityClass
                controlPlane.issue(c, region: Int(sessions.region[i]), user: UInt64(sessions.user[i]), title: Int(sessions.title[i]),
                                   session: answers ? s : .max, sessionGeneration: sessions.generation[i], now: sim.now)
            }
        }
    }

    /// The play request's answer: the player starts, or the client asks again after a backoff
    /// (until the user's patience runs out).
    func playAnswered(_ s: UInt32, generation g: UInt16, ok: Bool) {
        let i = Int(s)
        guard sessions.generation[i] == g, sessions.pop[i] == UInt16.max else { return }
        guard !ok else { return apiResponse(s) }
        let r = Int(sessions.region[i])
        sessions.touchedUs[i] = sim.now.microseconds
        sessions.failures[i] &+= 1
        regions[r].apiFailures += 1
        let delay = configuration.clients.failoverBackoff.microseconds << min(Int(sessions.failures[i]) - 1, 16)
        sim.schedule(.control(id: s, generation: g, kind: ControlPlane.Kind.playAgain.rawValue), after: .microseconds(min(delay, 30_000_000)))
    }

    /// A fault that strikes the control plane reaches it.
    func faultOnControlPlane(_ i: Int, on: Bool) {
        let incident = faults.incidents[i]
        guard let controlPlane, incident.kind.strikesControlPlane else { return }
        controlPlane.fault(i, faults.faults[incident.fault], on: on)
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
        if library.index[title] < 0 { _ = library.load(title) }
        let device = configuration.clients.devices[user.device]
        let maxHeight = min(configuration.clients.plans[user.plan].maxHeight, device.maxHeight)
        let context = library.context(title: title, format: device.manifest, maxRung: library.maxRung(height: maxHeight),
                                      player: deviceProfiles[user.device])
        let length = library.loaded[Int(library.index[title])].length
        let watchUntil = max(1, min(length, Int64((watch.sample(&stream) * 1e6).rounded())))
        let s = sessions.open(player: Player(library.contexts[Int(context)], at: now.microseconds), region: r, title: title,
                              user: UInt32(truncatingIfNeeded: userID), context: context,
                              accessBitsPerSecond: lastMile.meanThroughput(accessClass: user.accessClass, bandwidth: user.accessBitsPerSecond),
                              at: now.microseconds, watchUntilUs: watchUntil,
                              lastSegment: library.segment(context: context, position: watchUntil - 1))
        let i = Int(s)
        // A varying last mile: its trace, from a random offset (no draw for a constant one).
        if let (trace, offset) = lastMile.assign(accessClass: user.accessClass, &stream) {
            sessions.accessTrace[i] = UInt16(trace)
            sessions.traceOffsetMs[i] = offset
        }
        let firstReport = clients.start(s, sessions: sessions, warm: warm, now: now, stream: &stream)
        sim.schedule(.flush(session: s, generation: sessions.generation[i]), after: firstReport)
        return s
    }

    // MARK: Steering

    /// The PoP the playback API sends a session to (``PlaybackSteering``), by the links' load now:
    /// in a hybrid run, with the steady sessions' bursts as session `s` finds them
    /// (``Links/steadyLoad(_:draw:)``), as the segment model's steering sees their downloads.
    func steer(region r: Int, title: Int, excludeDown: Bool = false, for s: UInt32 = .max) -> Int {
        let key = s == .max ? 0 : Delivery.drawKey(s, generation: sessions.generation[Int(s)], epoch: 0, at: sim.now) ^ 0x5354_4545_52
        return steering.choose(region: r, title: title, now: sim.now, excludeDown: excludeDown, utilisation: {
            let link = self.links.pop($0)
            return self.links.utilisation(link, steady: self.links.steadyLoad(link, draw: key))
        })
    }

    /// A player tries the next PoP in its list (the steering ranking, without the PoPs it finds
    /// down); out of attempts, the session ends, lost.
    func failover(_ s: UInt32) {
        let i = Int(s)
        sessions.failures[i] += 1
        if Int(sessions.failures[i]) > configuration.clients.failoverRetries {
            endSession(s, cause: sessions.originFailure[i] ? .originUnavailable : .noPop)
            return
        }
        let old = Int(sessions.pop[i])
        let p = steer(region: Int(sessions.region[i]), title: Int(sessions.title[i]), excludeDown: true, for: s)
        guard !sites.isDown(p) else { return delivery.scheduleFailover(s) }
        if p != old {
            sessions.pop[i] = UInt16(p)
            sites.metrics[p].sessions.increment()
            sites.metrics[p].failoversIn.increment()
        }
        delivery.requestNext(s)
    }

    // MARK: Play

    /// A segment is in (``Delivery/finish(_:)``): play may start, QoE is booked, and the session
    /// asks for the next segment, or (its last) plays out to the user's stopping point.
    func downloadDone(_ s: UInt32) {
        let i = Int(s)
        let d = delivery.finish(s)
        let now = sim.now
        if !sessions.started[i], sessions.player[i].phase != .startup { playbackStarted(s) }
        account(s)
        guard Int(d.segment) == Int(sessions.lastSegment[i]) else {
            if let steady, steady.advance(s) { return }
            return delivery.requestNext(s)
        }
        // Everything the user will watch is here: play starts if it was still waiting for its
        // startup buffer, and the session ends when play reaches the user's stopping point.
        if sessions.player[i].phase == .startup {
            sessions.player[i].startNow(at: now.microseconds, library.contexts[Int(sessions.context[i])])
            if !sessions.started[i] { playbackStarted(s) }
        }
        let left = max(0, sessions.watchUntilUs[i] - positionPlayed(s))
        sim.schedule(.sessionEnd(session: s, generation: sessions.generation[i]), after: .microseconds(left))
    }

    /// Media position played so far (the start of the playing segment plus what of it has played).
    func positionPlayed(_ s: UInt32) -> Int64 {
        let i = Int(s)
        let first = withContext(of: i) { $0.manifest.duration(of: 0) }
        return Int64(sessions.player[i].playing) * first + sessions.player[i].playedInto
    }

    func playbackStarted(_ s: UInt32) {
        let i = Int(s)
        sessions.started[i] = true
        guard !sessions.warm[i] else { return }
        clients.startedPlaying(s, sessions: sessions, now: sim.now, position: positionPlayed(s))
        let startTime = SimDuration(microseconds: sim.now.microseconds - sessions.arrivalUs[i])
        regions[Int(sessions.region[i])].aggregate.playbackStarted(startTime, at: sim.now)
        global.playbackStarted(startTime, at: sim.now)
        sites.metrics[Int(sessions.pop[i])].startTime.record(startTime)
    }

    /// Adds the session's QoE since the last call to its region's and the global totals, at `time`
    /// (now unless a steady window books its segments).
    func account(_ s: UInt32, at time: SimInstant? = nil) {
        let i = Int(s)
        let q = sessions.player[i].qoe
        let a = sessions.accounted[i]
        let delta = QoEDelta(play: q.playTime - a.play, rebuffer: q.rebufferTime - a.rebuffer, bits: q.bitsPlayed - a.bits,
                             rebufferEvents: q.rebufferEvents - a.events, switches: q.switches - a.switches)
        guard delta.play != 0 || delta.rebuffer != 0 || delta.rebufferEvents != 0 || delta.switches != 0 else { return }
        sessions.accounted[i] = (q.playTime, q.rebufferTime, q.bitsPlayed, q.rebufferEvents, q.switches)
        regions[Int(sessions.region[i])].aggregate.add(delta, at: time ?? sim.now)
        global.add(delta, at: time ?? sim.now)
    }

    /// The session ends, for `cause`: its download stops, its last play is accounted, its client
    /// reports the stop.
    func endSession(_ s: UInt32, cause: EndCause) {
        let i = Int(s)
        let now = sim.now
        steady?.end(s)
        delivery.stop(s)
        if sessions.pop[i] != UInt16.max {
            sessions.player[i].advance(to: max(sessions.player[i].now, now.microseconds), library.contexts[Int(sessions.context[i])])
            account(s)
        }
        flush(s, final: true)
        let r = Int(sessions.region[i])
        let started = sessions.started[i], length = now.microseconds - sessions.arrivalUs[i]
        regions[r].aggregate.sessionEnded(at: now, cause: cause, started: started, length: length)
        global.sessionEnded(at: now, cause: cause, started: started, length: length)
        if started {
            let stalled: Int64 = sessions.player[i].qoe.rebufferEvents > 0 ? 1 : 0
            regions[r].aggregate.played(stalled: stalled)
            global.played(stalled: stalled)
        }
        if shard != nil { concurrencyChanges.append((now, -1)) }
        sessions.release(s)
    }

    // MARK: Faults

    /// A surge's next session, from its `k`th region's process (a partition runs its own regions').
    func scheduleSurgeArrival(_ i: Int, _ k: Int) {
        if let next = faults.nextSurgeArrival(i, k, after: sim.now, runEnd: end) {
            sim.schedule(.surgeArrival(incident: UInt32(i), index: UInt16(k)), at: next)
        }
    }

    // MARK: Steady-state start

    /// Sessions already in progress at the epoch (M_t/G/∞: a Poisson count with the right ages),
    /// placed mid-title (at a random point of a segment) with a full buffer at the rung their
    /// bandwidth sustains, so their requests are spread over a segment's duration. Their startup
    /// happened before the run and is not measured.
    func startInSteadyState() {
        let initialStreams = StreamFamily(seed: configuration.seed, label: "region.initial")
        for r in configuration.regions.indices where owns(region: r) {
            var stream = initialStreams.stream(UInt64(r))
            let ages = calibration.initialAges(region: r, watch: watch, &stream)
            for (k, (age, remaining)) in ages.enumerated() {
                var sessionStream = sessionStreams.stream(UInt64(r) << 40 | (1 << 39 + UInt64(k)))
                let s = newSession(region: r, stream: &sessionStream, at: .zero, outlasting: age, warm: true)
                resumeWarm(s, age: age, remaining: remaining)
            }
            regions[r].aggregate.initialSessions(ages.count)
            global.initialSessions(ages.count)
        }
    }

    func resumeWarm(_ s: UInt32, age: Double, remaining: Double) {
        let i = Int(s)
        let context = library.contexts[Int(sessions.context[i])]
        let length = context.manifest.segmentDurations.reduce(0, +)
        // Position: the age into the title, short of its end; the user stops `remaining` later.
        let position = min(Int64(age * 1e6), max(0, length - context.manifest.segmentDurations.last! - 1))
        sessions.watchUntilUs[i] = min(length, position + max(1, Int64(remaining * 1e6)))
        sessions.lastSegment[i] = Int32(library.segment(context: sessions.context[i], position: sessions.watchUntilUs[i] - 1))
        let segment = library.segment(context: sessions.context[i], position: position)
        // Steered by the load the sessions placed so far will bring (there are no flows yet).
        let p = steering.choose(region: Int(sessions.region[i]), title: Int(sessions.title[i]), now: .zero, excludeDown: false,
                                utilisation: { self.warmLoad[$0] / self.links.capacity(self.links.pop($0)) })
        sessions.pop[i] = UInt16(p)
        sites.metrics[p].sessions.increment()
        controlPlane?.warm(user: UInt64(sessions.user[i]), region: Int(sessions.region[i]), title: Int(sessions.title[i]))
        let device = population.user(UInt64(sessions.user[i])).device
        let rung = priors.rung(context, format: configuration.clients.devices[device].manifest, player: deviceProfiles[device],
                               bandwidth: sessions.access[i])
        warmLoad[p] += context.reportingBitrates[rung]
        sessions.player[i] = StartPriors.resumedPlayer(context, position: position, segment: segment, lastSegment: Int(sessions.lastSegment[i]),
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

    // MARK: Results

    /// What happened, up to the end of the scenario. Sessions still in progress count with what
    /// they have done so far (their QoE brought up to the end, without ending them). Call after
    /// running to the end.
    public func results() -> WorldResults {
        let endTime = max(sim.now, end)
        // Per region, the sessions still playing at the end, and those of them that stalled.
        var playing = [(played: Int64, stalled: Int64)](repeating: (0, 0), count: regions.count)
        for s in 0..<sessions.capacity where sessions.pop[s] != UInt16.max && sessions.isLive[s] {
            sessions.player[s].advance(to: max(sessions.player[s].now, endTime.microseconds), library.contexts[Int(sessions.context[s])])
            account(UInt32(s))
            guard sessions.started[s] else { continue }
            let r = Int(sessions.region[s])
            playing[r].played += 1
            if sessions.player[s].qoe.rebufferEvents > 0 { playing[r].stalled += 1 }
        }
        return WorldResults(self, end: endTime, playing: playing)
    }
}
