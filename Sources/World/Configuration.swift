import ABR
import SimCore
import Stochastics

/// Everything the world needs to run, already validated and in base units: durations as
/// `SimDuration`, counts as `Double`, rates per second. The scenario layer builds it from YAML; the
/// world never sees YAML.
public struct WorldConfiguration: Sendable {
    /// The scenario seed from which every random stream is derived.
    public var seed: UInt64
    /// The simulated start as seconds since 1970-01-01T00:00:00Z; regional local times follow from it.
    public var startUnixSeconds: Int64
    /// How long to simulate.
    public var duration: SimDuration
    /// Simulate 1 in `sampling` users; extensive results are scaled back by `sampling`.
    public var sampling: Int
    public var regions: [RegionConfiguration]
    public var demand: DemandConfiguration
    /// Width of the report's time-series buckets.
    public var metricsBucket: SimDuration
    public var catalog: CatalogConfiguration
    public var pops: [PopConfiguration]
    public var origin: OriginConfiguration
    public var clients: ClientConfiguration
    public var placement: PlacementConfiguration
    public var activity: ActivityConfiguration
    public var faults: [FaultConfiguration]
    /// Worker threads for the world's parallel parts. Not part of the scenario: results do not
    /// depend on it (a test holds 1 and 2 to byte-identical reports).
    public var threads: Int = 1
    /// How one world is split for parallel execution (part of the scenario: it changes results).
    public var execution = ExecutionConfiguration()
    /// Nil: the playback API answers after `clients.apiLatency`, and nothing else of the control plane is modelled.
    public var controlPlane: ControlPlaneConfiguration?

    public init(seed: UInt64, startUnixSeconds: Int64, duration: SimDuration, sampling: Int,
                regions: [RegionConfiguration], demand: DemandConfiguration, metricsBucket: SimDuration,
                catalog: CatalogConfiguration, pops: [PopConfiguration], origin: OriginConfiguration, clients: ClientConfiguration,
                placement: PlacementConfiguration = .init(), activity: ActivityConfiguration = .init(), faults: [FaultConfiguration] = []) {
        self.seed = seed
        self.startUnixSeconds = startUnixSeconds
        self.duration = duration
        self.sampling = sampling
        self.regions = regions
        self.demand = demand
        self.metricsBucket = metricsBucket
        self.catalog = catalog
        self.pops = pops
        self.origin = origin
        self.clients = clients
        self.placement = placement
        self.activity = activity
        self.faults = faults
    }
}

/// How a run is split into partitions that run in parallel (see `PartitionedWorld`).
public struct ExecutionConfiguration: Sendable, Equatable {
    public enum Partitions: String, Sendable, CaseIterable {
        /// One world, one event loop: the exact sequential model.
        case one
        /// One partition per PoP tree (a site, its parent tiers, and every site and region tied to
        /// them), each with its own event loop; origin capacity and the activity log are shared
        /// at synchronisation points.
        case popTrees
    }

    /// How closely sessions are followed (docs/world.md, "Fidelity").
    public enum Fidelity: String, Sendable, CaseIterable {
        /// Every segment of every session is a request and a completion on the event queue: the
        /// reference model.
        case segment
        /// Sessions whose outcome cannot change (playing, buffer high, no fault, a hit at their
        /// PoP, a link with headroom) advance a window of segments in one event (``HybridConfiguration``).
        case hybrid
    }

    public var partitions: Partitions
    /// Simulated time between synchronisation points of a partitioned run.
    public var syncInterval: SimDuration
    public var fidelity: Fidelity
    public var hybrid: HybridConfiguration

    public init(partitions: Partitions = .one, syncInterval: SimDuration = .seconds(1), fidelity: Fidelity = .segment,
                hybrid: HybridConfiguration = HybridConfiguration()) {
        self.partitions = partitions
        self.syncInterval = syncInterval
        self.fidelity = fidelity
        self.hybrid = hybrid
    }
}

/// When a session may be steady in a hybrid run, and for how long at a time (docs/world.md,
/// "Fidelity"). A steady window ends early at any fault's start or end and at any site's plan,
/// and before a segment where the player would change rung, abandon, fall below `minBuffer`, or
/// fetch its last segment.
public struct HybridConfiguration: Sendable, Equatable {
    /// The longest window a steady session advances in one event.
    public var horizon: SimDuration
    /// A steady session's buffer, after each segment it takes, stays at least this share of its
    /// player's maximum buffer.
    public var minBuffer: Double
    /// A session is steady only while its PoP's link carries less than this share of its capacity.
    public var linkUtilisation: Double
    /// Standard deviations of the steady sessions' bursts counted on top of the link's load (see
    /// ``SteadyWindows``).
    public var burstSigmas: Double

    public init(horizon: SimDuration = .seconds(60), minBuffer: Double = 0.5, linkUtilisation: Double = 0.95, burstSigmas: Double = 3) {
        self.horizon = horizon
        self.minBuffer = minBuffer
        self.linkUtilisation = linkUtilisation
        self.burstSigmas = burstSigmas
    }
}

/// A failure or surge to inject.
public struct FaultConfiguration: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case popDown, popDegraded, originDown, originSlow, linkDegraded, controlPlaneOutage, controlPlaneSlow, ingestOutage, surge
        // The control plane's (``ControlPlane``).
        case instanceLoss, cacheFlush, shardDown, shardSlow, dependencySlow, retryStorm

        /// Whether the control plane model handles it.
        public var strikesControlPlane: Bool {
            switch self {
            case .controlPlaneOutage, .instanceLoss, .cacheFlush, .shardDown, .shardSlow, .dependencySlow, .retryStorm: return true
            default: return false
            }
        }
    }

    public var kind: Kind
    /// The PoP (nil for random PoP faults: each strike picks one).
    public var pop: Int?
    /// The region (origin faults: the replica's; link and control-plane faults: the users').
    public var region: Int?
    /// Surges: the regions (empty: all).
    public var regions: [Int]
    public var at: SimDuration
    /// Nil: until the end.
    public var duration: SimDuration?
    public var lost: Double
    public var latencyFactor: Double
    public var rtt: SimDuration
    public var throughput: Double
    public var latency: SimDuration
    public var partitions: Double
    public var title: Int?
    public var multiplier: Double
    /// Random strikes per day (nil: once, at `at`).
    public var perDay: Double?
    /// Control-plane faults: the service, cache or database struck, and a database's shard.
    public var target: ControlPlaneConfiguration.Target?
    public var shard: Int?
    /// Retry storms: attempts each client makes, at once.
    public var attempts: Int = 5

    public init(kind: Kind, pop: Int? = nil, region: Int? = nil, regions: [Int] = [], at: SimDuration, duration: SimDuration? = nil,
                lost: Double = 0.5, latencyFactor: Double = 5, rtt: SimDuration = .milliseconds(50), throughput: Double = 0.5,
                latency: SimDuration = .seconds(5), partitions: Double = 1, title: Int? = nil, multiplier: Double = 3, perDay: Double? = nil) {
        self.kind = kind
        self.pop = pop
        self.region = region
        self.regions = regions
        self.at = at
        self.duration = duration
        self.lost = lost
        self.latencyFactor = latencyFactor
        self.rtt = rtt
        self.throughput = throughput
        self.latency = latency
        self.partitions = partitions
        self.title = title
        self.multiplier = multiplier
        self.perDay = perDay
    }
}

/// The activity pipeline: what clients report, how they send it, the partitioned log, the
/// aggregators and publishing.
public struct ActivityConfiguration: Sendable {
    public var heartbeatInterval: SimDuration
    /// A client sends what it has gathered this often (and when the session ends).
    public var batchInterval: SimDuration
    public var partitions: Int
    /// Events per second one partition accepts, before sampling.
    public var partitionThroughput: Double
    /// Events per second one partition's aggregator reads, before sampling.
    public var consumerRate: Double
    /// How long the log keeps what it was given: records not read by then are lost (counted).
    public var retention: SimDuration
    /// Events a client holds while it cannot send; beyond, the oldest are dropped (counted).
    public var clientBuffer: Int
    /// A partition further behind than this refuses appends (the client retries).
    public var appendTimeout: SimDuration
    /// A client's first retry waits this long, doubling to at most a minute.
    public var retryDelay: SimDuration
    /// Share of appends whose acknowledgement is lost, so that the client sends them again.
    public var ackLoss: Double
    public var allowedLateness: SimDuration
    public var trendingWindow: SimDuration
    public var topN: Int
    public var coWatchWindow: SimDuration
    public var historyLength: Int
    public var publishPeriod: SimDuration
    /// Profiles listed in each published data set (the first by id).
    public var datasetProfiles: Int
    public var pausesPerHour: Double
    public var seeksPerHour: Double
    /// Share of sessions that end with a rating.
    public var ratingShare: Double
    /// Bytes a record takes in the log (seed 000: 0.1 KB).
    public var recordBytes: Double

    public init(heartbeatInterval: SimDuration = .seconds(10), batchInterval: SimDuration = .seconds(60), partitions: Int = 64,
                partitionThroughput: Double = 20_000, consumerRate: Double = 25_000, retention: SimDuration = .hours(24),
                clientBuffer: Int = 1_000, appendTimeout: SimDuration = .seconds(5), retryDelay: SimDuration = .seconds(2),
                ackLoss: Double = 0.001, allowedLateness: SimDuration = .minutes(5), trendingWindow: SimDuration = .hours(1),
                topN: Int = 10, coWatchWindow: SimDuration = .hours(24), historyLength: Int = 50, publishPeriod: SimDuration = .hours(1),
                datasetProfiles: Int = 1_000, pausesPerHour: Double = 1, seeksPerHour: Double = 0.5, ratingShare: Double = 0.05,
                recordBytes: Double = 100) {
        self.heartbeatInterval = heartbeatInterval
        self.batchInterval = batchInterval
        self.partitions = partitions
        self.partitionThroughput = partitionThroughput
        self.consumerRate = consumerRate
        self.retention = retention
        self.clientBuffer = clientBuffer
        self.appendTimeout = appendTimeout
        self.retryDelay = retryDelay
        self.ackLoss = ackLoss
        self.allowedLateness = allowedLateness
        self.trendingWindow = trendingWindow
        self.topN = topN
        self.coWatchWindow = coWatchWindow
        self.historyLength = historyLength
        self.publishPeriod = publishPeriod
        self.datasetProfiles = datasetProfiles
        self.pausesPerHour = pausesPerHour
        self.seeksPerHour = seeksPerHour
        self.ratingShare = ratingShare
        self.recordBytes = recordBytes
    }
}

/// How content gets to the PoPs: nightly placement plans filled in a window, and what a miss does.
public struct PlacementConfiguration: Sendable {
    public enum Plans: String, Sendable, CaseIterable {
        /// Each site gets a plan from its forecast demand every day at the start of its fill window.
        case daily
        /// No plans: storage is an LRU cache of what misses pulled in.
        case off
    }

    public enum MissFill: String, Sendable, CaseIterable {
        /// A miss fills nothing; the next plan may add the file.
        case off
        /// A miss pulls the whole file in at once (a pull-through cache), at any time of day.
        case immediate
        /// A miss queues a fill job, run in the fill window by priority.
        case queued
    }

    public var plans: Plans
    public var onMiss: MissFill
    /// The fill window, as local times of day at the site (may wrap past midnight).
    public var windowStart: SimDuration
    public var windowEnd: SimDuration
    /// Half-life of the demand forecast.
    public var forecastHalfLife: SimDuration
    /// Share of a site's storage plans may fill; the rest caches what misses pull in.
    public var planStorageShare: Double
    public var churnMargin: Double
    /// Fill jobs a site's queue holds at most; beyond, new jobs are dropped (and counted).
    public var queueLimit: Int
    public var maximumReplicas: Int
    /// A file's forecast peak rate over its daily average, to size its replicas.
    public var peakToMean: Double
    public var holdingBonus: SimDuration
    public var loadPenalty: SimDuration
    /// How long steering keeps sending new sessions to a PoP after it fails.
    public var detectionDelay: SimDuration

    public init(plans: Plans = .daily, onMiss: MissFill = .off, windowStart: SimDuration = .hours(2), windowEnd: SimDuration = .hours(14),
                forecastHalfLife: SimDuration = .hours(48), planStorageShare: Double = 1, churnMargin: Double = 0.05,
                queueLimit: Int = 100_000, maximumReplicas: Int = 4, peakToMean: Double = 2,
                holdingBonus: SimDuration = .milliseconds(30), loadPenalty: SimDuration = .milliseconds(10),
                detectionDelay: SimDuration = .seconds(30)) {
        self.plans = plans
        self.onMiss = onMiss
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.forecastHalfLife = forecastHalfLife
        self.planStorageShare = planStorageShare
        self.churnMargin = churnMargin
        self.queueLimit = queueLimit
        self.maximumReplicas = maximumReplicas
        self.peakToMean = peakToMean
        self.holdingBonus = holdingBonus
        self.loadPenalty = loadPenalty
        self.detectionDelay = detectionDelay
    }

    /// Issue 5's platform: no plans, every miss pulls its file in.
    public static let pullThrough = PlacementConfiguration(plans: .off, onMiss: .immediate)
}

/// A point of presence: an Open Connect-style site of servers with storage and egress.
public struct PopConfiguration: Sendable {
    public var id: String
    /// Index into ``WorldConfiguration/regions``.
    public var region: Int
    public var servers: Int
    /// Bytes of storage for the whole site (not scaled by sampling).
    public var storageBytes: Double
    /// Egress of the whole site, bits per second, before sampling.
    public var egressBitsPerSecond: Double
    /// Round-trip time from the region's own users.
    public var rtt: SimDuration
    /// Fill speed of one server, bits per second, before sampling.
    public var fillBitsPerSecondPerServer: Double
    /// Egress utilisation above which new sessions are steered elsewhere.
    public var healthThreshold: Double
    /// Index of the parent tier PoP, if any.
    public var parent: Int?

    public init(id: String, region: Int, servers: Int, storageBytes: Double, egressBitsPerSecond: Double, rtt: SimDuration,
                fillBitsPerSecondPerServer: Double = 1.2e9, healthThreshold: Double = 0.9, parent: Int? = nil) {
        self.id = id
        self.region = region
        self.servers = servers
        self.storageBytes = storageBytes
        self.egressBitsPerSecond = egressBitsPerSecond
        self.rtt = rtt
        self.fillBitsPerSecondPerServer = fillBitsPerSecondPerServer
        self.healthThreshold = healthThreshold
        self.parent = parent
    }
}

public enum OverloadPolicy: String, Sendable { case queue, fail }

/// The S3-like origin: replicas in some regions, each with its egress and first-byte latency.
public struct OriginConfiguration: Sendable {
    /// Region indices holding a replica.
    public var regions: [Int]
    /// Egress of each replica, bits per second, before sampling.
    public var egressBitsPerSecond: Double
    public var firstByteLatency: SimDuration
    public var onOverload: OverloadPolicy

    public init(regions: [Int], egressBitsPerSecond: Double, firstByteLatency: SimDuration, onOverload: OverloadPolicy = .queue) {
        self.regions = regions
        self.egressBitsPerSecond = egressBitsPerSecond
        self.firstByteLatency = firstByteLatency
        self.onOverload = onOverload
    }
}

/// A subscription plan or a device class: a share of the users and the tallest picture allowed.
public struct UserClass: Sendable {
    public var name: String
    public var share: Double
    public var maxHeight: Int
    /// For device classes: the manifest format the player reads.
    public var manifest: ManifestFormat
    /// For device classes: the player profile (`ABR.PlayerProfile`) the device runs, or `nil` for
    /// the clients' default.
    public var player: String?

    public init(name: String, share: Double, maxHeight: Int, manifest: ManifestFormat = .hls, player: String? = nil) {
        self.name = name
        self.share = share
        self.maxHeight = maxHeight
        self.manifest = manifest
        self.player = player
    }
}

/// One period of a last-mile trace: its length, throughput and the round trip it adds.
public struct AccessPeriod: Sendable, Equatable {
    public var durationUs: Int64
    public var bitsPerSecond: Double
    public var latencyUs: Int64

    public init(durationUs: Int64, bitsPerSecond: Double, latencyUs: Int64 = 0) {
        self.durationUs = durationUs
        self.bitsPerSecond = bitsPerSecond
        self.latencyUs = latencyUs
    }
}

/// A two-state (Gilbert–Elliott) Markov-modulated last mile: the connection alternates between a
/// good and a bad state, each lasting an exponential time, and within a state its throughput is
/// redrawn every `step` around the state's level with lognormal spread `sigma`. Levels are
/// relative to the user's mean throughput, normalised so that over time the user gets that mean.
public struct MarkovAccess: Sendable, Equatable {
    /// Mean time in the good and in the bad state.
    public var goodMean: SimDuration
    public var badMean: SimDuration
    /// The bad state's throughput as a share of the good state's.
    public var badLevel: Double
    /// Lognormal spread of each step's throughput around its state's level.
    public var sigma: Double
    public var step: SimDuration
    /// Round trip the bad state adds.
    public var badRtt: SimDuration

    public init(goodMean: SimDuration, badMean: SimDuration, badLevel: Double, sigma: Double, step: SimDuration = .seconds(1),
                badRtt: SimDuration = .zero) {
        precondition(goodMean > .zero && badMean > .zero && step > .zero, "positive durations")
        precondition(badLevel >= 0 && badLevel <= 1 && sigma >= 0, "badLevel in [0, 1], sigma >= 0")
        self.goodMean = goodMean
        self.badMean = badMean
        self.badLevel = badLevel
        self.sigma = sigma
        self.step = step
        self.badRtt = badRtt
    }
}

/// How a class of users' last mile varies during a session.
public enum AccessVariation: Sendable {
    /// Constant at the user's bandwidth for the whole session.
    case constant
    /// Markov-modulated around the user's bandwidth (see ``MarkovAccess``).
    case markov(MarkovAccess)
    /// Measured or generated traces, in bits/s: each session plays one, from a random offset,
    /// looping; the user's bandwidth is ignored.
    case traces([[AccessPeriod]])
}

/// A class of users' last mile: home broadband, mobile, congested evening Wi-Fi…
public struct AccessClass: Sendable {
    public var name: String
    public var share: Double
    /// The user's mean throughput, bits/s (a property of the user; unused by trace classes).
    public var bandwidth: Distribution
    public var variation: AccessVariation

    public init(name: String, share: Double, bandwidth: Distribution, variation: AccessVariation = .constant) {
        self.name = name
        self.share = share
        self.bandwidth = bandwidth
        self.variation = variation
    }
}

/// How users and their players behave.
public struct ClientConfiguration: Sendable {
    /// The users' last-mile classes (at least one).
    public var access: [AccessClass]
    public var plans: [UserClass]
    public var devices: [UserClass]
    /// The player profile of devices that name none.
    public var abr: String
    public var maxBuffer: SimDuration
    public var startupBuffer: SimDuration
    /// Playback API response time, seconds.
    public var apiLatency: Distribution
    /// How long a user waits for the first frame, seconds.
    public var startupPatience: Distribution
    public var crossRegionRtt: SimDuration
    public var crossRegionRttPerHour: SimDuration
    /// A failed download is retried elsewhere this many times, after a backoff doubling from
    /// `failoverBackoff`; then the session ends, lost.
    public var failoverRetries: Int
    public var failoverBackoff: SimDuration

    /// With one constant last-mile class at `accessBandwidth` unless `access` is given.
    public init(accessBandwidth: Distribution, access: [AccessClass]? = nil, plans: [UserClass], devices: [UserClass], abr: String, maxBuffer: SimDuration,
                startupBuffer: SimDuration, apiLatency: Distribution, startupPatience: Distribution,
                crossRegionRtt: SimDuration, crossRegionRttPerHour: SimDuration, failoverRetries: Int = 5,
                failoverBackoff: SimDuration = .seconds(1)) {
        precondition(access.map { !$0.isEmpty } ?? true, "at least one access class")
        self.access = access ?? [AccessClass(name: "all", share: 1, bandwidth: accessBandwidth)]
        self.plans = plans
        self.devices = devices
        self.abr = abr
        self.maxBuffer = maxBuffer
        self.startupBuffer = startupBuffer
        self.apiLatency = apiLatency
        self.startupPatience = startupPatience
        self.crossRegionRtt = crossRegionRtt
        self.crossRegionRttPerHour = crossRegionRttPerHour
        self.failoverRetries = failoverRetries
        self.failoverBackoff = failoverBackoff
    }
}

extension ClientConfiguration {
    /// The player profiles devices run, each once, in the order devices first name them.
    public var playerProfiles: [String] {
        var names: [String] = []
        for d in devices where !names.contains(d.player ?? abr) { names.append(d.player ?? abr) }
        return names
    }

    /// Each device class's index in ``playerProfiles``.
    public var deviceProfiles: [Int] {
        let names = playerProfiles
        return devices.map { d in names.firstIndex(of: d.player ?? abr)! }
    }

    /// The player configurations of ``playerProfiles``, with the scenario's buffer sizes.
    public var playerConfigurations: [PlayerConfiguration] {
        playerProfiles.map { name in
            guard let profile = PlayerProfile.named(name) else {
                preconditionFailure("no player profile '\(name)' (known: \(PlayerProfile.names.joined(separator: ", ")))")
            }
            return profile.configuration(maxBuffer: maxBuffer.microseconds, startupBuffer: startupBuffer.microseconds)
        }
    }
}

/// A region of users sharing a time zone and a daily demand curve.
public struct RegionConfiguration: Sendable {
    public var id: String
    /// Local time minus UTC.
    public var utcOffset: SimDuration
    /// Users (accounts) in the region, before sampling.
    public var users: Double
    /// The shape of session starts over the local day.
    public var curve: DemandCurve
    /// Relative demand per user against other regions (1 = the same).
    public var engagement: Double
    /// Sigma of the lognormal factor by which the region's taste moves each title's popularity.
    public var tasteVariation: Double

    public init(id: String, utcOffset: SimDuration, users: Double, curve: DemandCurve, engagement: Double = 1, tasteVariation: Double = 0.5) {
        self.id = id
        self.utcOffset = utcOffset
        self.users = users
        self.curve = curve
        self.engagement = engagement
        self.tasteVariation = tasteVariation
    }
}

/// How much people watch and for how long.
public struct DemandConfiguration: Sendable {
    /// The fraction of users streaming at the peak (seed 000: 5%).
    public var peakConcurrency: Double
    /// Whether `peakConcurrency` is met by the sum of all regions at the global peak, or by each
    /// region at its own peak.
    public var peakScope: PeakScope
    /// How long a user means to watch, in seconds.
    public var watchDuration: Distribution
    /// Title lengths, in seconds: a session also ends at the end of its title. `nil`: no cut.
    public var titleLength: Distribution?

    public init(peakConcurrency: Double, peakScope: PeakScope, watchDuration: Distribution, titleLength: Distribution? = nil) {
        self.peakConcurrency = peakConcurrency
        self.peakScope = peakScope
        self.watchDuration = watchDuration
        self.titleLength = titleLength
    }

    /// P(a session lasts longer than `seconds`): it outlasts both what the user means to watch and
    /// the title (taken as independent).
    public func survival(_ seconds: Double) -> Double {
        (1 - watchDuration.cdf(seconds)) * (titleLength.map { 1 - $0.cdf(seconds) } ?? 1)
    }
}

public enum PeakScope: String, Sendable, CaseIterable {
    case global, regional
}

/// The shape of session starts over a local day, as 24 relative hourly values.
public enum DemandCurve: Sendable, Equatable {
    /// Evening-peaking video demand: a trough near 05:00 at 14% of the peak, a climb from 16:00, the
    /// peak at 21:00. Shaped after published diurnal traffic of video services (Sandvine's Global
    /// Internet Phenomena reports); a scenario can give its own 24 values.
    case evening
    /// The same demand at every hour.
    case flat
    /// 24 non-negative values, one per local hour, not all zero.
    case hourly([Double])

    public static let eveningValues: [Double] = [
        0.62, 0.42, 0.28, 0.19, 0.15, 0.14, 0.16, 0.20, 0.24, 0.28, 0.31, 0.34,
        0.38, 0.40, 0.41, 0.43, 0.48, 0.56, 0.68, 0.82, 0.95, 1.00, 0.93, 0.80,
    ]

    /// The 24 values, normalised so the largest is 1.
    public var relativeHourly: [Double] {
        let values: [Double] = switch self {
        case .evening: DemandCurve.eveningValues
        case .flat: Array(repeating: 1, count: 24)
        case let .hourly(v): v
        }
        let peak = values.max() ?? 1
        return values.map { peak > 0 ? $0 / peak : 0 }
    }
}
