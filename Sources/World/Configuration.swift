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

    public init(seed: UInt64, startUnixSeconds: Int64, duration: SimDuration, sampling: Int,
                regions: [RegionConfiguration], demand: DemandConfiguration, metricsBucket: SimDuration) {
        self.seed = seed
        self.startUnixSeconds = startUnixSeconds
        self.duration = duration
        self.sampling = sampling
        self.regions = regions
        self.demand = demand
        self.metricsBucket = metricsBucket
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

    public init(id: String, utcOffset: SimDuration, users: Double, curve: DemandCurve, engagement: Double = 1) {
        self.id = id
        self.utcOffset = utcOffset
        self.users = users
        self.curve = curve
        self.engagement = engagement
    }
}

/// How much people watch and for how long.
public struct DemandConfiguration: Sendable {
    /// The fraction of users streaming at the peak (seed 000: 5%).
    public var peakConcurrency: Double
    /// Whether `peakConcurrency` is met by the sum of all regions at the global peak, or by each
    /// region at its own peak.
    public var peakScope: PeakScope
    /// How long a session lasts, in seconds.
    public var watchDuration: Distribution

    public init(peakConcurrency: Double, peakScope: PeakScope, watchDuration: Distribution) {
        self.peakConcurrency = peakConcurrency
        self.peakScope = peakScope
        self.watchDuration = watchDuration
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
