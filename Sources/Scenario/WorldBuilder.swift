import SimCore
import World

extension ResolvedScenario {
    /// The world configuration for this scenario: base units, sampling applied by the world.
    public var worldConfiguration: WorldConfiguration {
        let clients = root["clients"]
        let regions = root["regions"].list.map { r -> RegionConfiguration in
            let curve: DemandCurve = switch r["demandCurve"] {
            case .curve(.named("flat")): .flat
            case let .curve(.hourly(values)): .hourly(values)
            default: .evening
            }
            return RegionConfiguration(id: r["id"].text, utcOffset: SimDuration(seconds: r["utcOffset"].value),
                                       users: r["users"].value, curve: curve, engagement: r["engagement"].value)
        }
        return WorldConfiguration(
            seed: seed,
            startUnixSeconds: {
                guard case let .dateTime(t) = root["start"] else { preconditionFailure("start is a date-time") }
                return t
            }(),
            duration: SimDuration(seconds: root["duration"].value),
            sampling: Int(root["sampling"].integer),
            regions: regions,
            demand: DemandConfiguration(
                peakConcurrency: clients["peakConcurrency"].value,
                peakScope: PeakScope(rawValue: clients["peakScope"].text)!,
                watchDuration: clients["watchDuration"].distribution.distribution),
            metricsBucket: SimDuration(seconds: root["metrics"]["bucket"].value))
    }
}
