import Resilience
import SimCore
import Stochastics

/// The control plane: request classes the population makes, the services, caches and sharded
/// databases they call, and the overload controls (docs/control-plane.md).
public struct ControlPlaneConfiguration: Sendable {
    /// How a pool spreads calls over its instances.
    public enum Balancing: String, Sendable, CaseIterable {
        case roundRobin
        case random
        /// Power of two choices: the less busy of two instances drawn at random (Mitzenmacher 2001).
        case leastOutstanding
    }

    /// Instances, each working on `concurrency` calls at once with its own FIFO queue.
    public struct Pool: Sendable {
        public var instances: Int
        public var concurrency: Int
        /// Calls an instance holds waiting (nil: unbounded); one more is rejected.
        public var queueLimit: Int?
        /// Seconds of work per call.
        public var serviceTime: Distribution
        public var balancing: Balancing

        public init(instances: Int, concurrency: Int, queueLimit: Int? = nil, serviceTime: Distribution, balancing: Balancing = .leastOutstanding) {
            self.instances = instances
            self.concurrency = concurrency
            self.queueLimit = queueLimit
            self.serviceTime = serviceTime
            self.balancing = balancing
        }
    }

    public struct Service: Sendable {
        public var name: String
        public var pool: Pool
        public init(name: String, pool: Pool) {
            self.name = name
            self.pool = pool
        }
    }

    /// What a cache's keys are.
    public enum KeySpace: String, Sendable, CaseIterable { case user, title }

    /// A look-aside cache cluster: a lookup is a call on its pool; a miss calls `backing`, and the
    /// key is filled when that succeeds while the request still waits for it.
    public struct Cache: Sendable {
        public var name: String
        public var keys: KeySpace
        /// Keys it holds at once (LRU beyond), before sampling.
        public var capacityKeys: Double
        /// Nil: entries never expire.
        public var ttl: SimDuration?
        public var pool: Pool
        public var backing: Target
        public init(name: String, keys: KeySpace, capacityKeys: Double, ttl: SimDuration?, pool: Pool, backing: Target) {
            self.name = name
            self.keys = keys
            self.capacityKeys = capacityKeys
            self.ttl = ttl
            self.pool = pool
            self.backing = backing
        }
    }

    /// A database sharded by user id (rendezvous hashing over the shards); each shard is a pool
    /// of `pool.instances` replicas.
    public struct Database: Sendable {
        public var name: String
        public var shards: Int
        public var pool: Pool
        public init(name: String, shards: Int, pool: Pool) {
            self.name = name
            self.shards = shards
            self.pool = pool
        }
    }

    public enum Target: Sendable, Equatable {
        case service(Int), cache(Int), database(Int)
    }

    public struct Call: Sendable, Equatable {
        public var target: Target
        /// What the request becomes when this call fails.
        public var fallback: Fallback
        public init(target: Target, fallback: Fallback = .none) {
            self.target = target
            self.fallback = fallback
        }
    }

    /// What makes a client send a request of a class.
    public enum Trigger: String, Sendable, CaseIterable {
        /// A session begins (the app is opened): home page, browsing, title details.
        case appOpen
        /// The play request: on the video-start path.
        case play
        /// A playing client reports its progress (each activity batch).
        case heartbeat
        /// A session ends (ratings, my list).
        case sessionEnd
    }

    public struct RequestClass: Sendable {
        public var name: String
        public var trigger: Trigger
        /// Requests per trigger: the whole part always, the fraction with that probability.
        public var perTrigger: Double
        /// 0 the most important (shed last).
        public var priority: Int
        public var slo: SimDuration
        /// Per attempt, from the client's send to its answer.
        public var timeout: SimDuration
        public var retry: RetryPolicy
        /// Stages run one after another; the calls of a stage in parallel.
        public var stages: [[Call]]
        /// Whether an answer shows the activity pipeline's published data sets (their staleness is reported).
        public var readsDatasets: Bool
        public init(name: String, trigger: Trigger, perTrigger: Double = 1, priority: Int = 1, slo: SimDuration, timeout: SimDuration,
                    retry: RetryPolicy, stages: [[Call]], readsDatasets: Bool = false) {
            self.name = name
            self.trigger = trigger
            self.perTrigger = perTrigger
            self.priority = priority
            self.slo = slo
            self.timeout = timeout
            self.retry = retry
            self.stages = stages
            self.readsDatasets = readsDatasets
        }
    }

    /// An adaptive limit per instance: it starts at `maxFactor` times the instance's concurrency
    /// and stays between the concurrency and that.
    public struct Limit: Sendable {
        public var algorithm: ConcurrencyLimit.Algorithm
        public var maxFactor: Double
        public init(algorithm: ConcurrencyLimit.Algorithm, maxFactor: Double) {
            self.algorithm = algorithm
            self.maxFactor = maxFactor
        }
    }

    /// The overload controls, each nil when off.
    public struct Controls: Sendable {
        public var retryBudget: RetryBudget?
        public var breaker: CircuitBreaker?
        public var limit: Limit?
        public var shedding: PriorityShedder?
        public init(retryBudget: RetryBudget? = nil, breaker: CircuitBreaker? = nil, limit: Limit? = nil, shedding: PriorityShedder? = nil) {
            self.retryBudget = retryBudget
            self.breaker = breaker
            self.limit = limit
            self.shedding = shedding
        }
        public var any: Bool { retryBudget != nil || breaker != nil || limit != nil || shedding != nil }
    }

    /// Regions (indices) that host a copy of the control plane; users call the nearest.
    public var regions: [Int]
    /// Client to its own region's control plane, round trip.
    public var clientRtt: SimDuration
    public var services: [Service]
    public var caches: [Cache]
    public var databases: [Database]
    public var classes: [RequestClass]
    public var controls: Controls
    /// Of the simulated users, the share whose requests are simulated call by call; the others'
    /// take the outcome of a recent exact request of their class (docs/control-plane.md).
    public var exactFraction: Double

    public init(regions: [Int], clientRtt: SimDuration, services: [Service], caches: [Cache], databases: [Database], classes: [RequestClass],
                controls: Controls, exactFraction: Double = 1) {
        self.regions = regions
        self.clientRtt = clientRtt
        self.services = services
        self.caches = caches
        self.databases = databases
        self.classes = classes
        self.controls = controls
        self.exactFraction = exactFraction
    }

    /// The progress write that carries a playing client's activity batch to the log: the first
    /// class with trigger heartbeat (nil: batches go to the log directly).
    public var activityClass: Int? { classes.firstIndex { $0.trigger == .heartbeat } }
}
