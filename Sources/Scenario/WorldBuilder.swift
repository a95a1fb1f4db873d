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

extension ResolvedScenario {
    /// The catalog's configuration: titles, lengths, popularity, segmentation, ladder.
    public var catalogConfiguration: CatalogConfiguration {
        let c = root["catalog"]
        let ladder = c["ladder"].list.map { rung -> RungConfiguration in
            let size = rung["resolution"].text.split(separator: "x").map { Int($0)! }
            return RungConfiguration(bitrate: rung["bitrate"].value, width: size[0], height: size[1], codecs: rung["codec"].text)
        }
        guard case let .zipf(exponent) = c["popularity"] else { preconditionFailure("popularity is {zipf: s}") }
        return CatalogConfiguration(titles: Int(c["titles"].value), duration: c["duration"].distribution.distribution,
                                    popularityExponent: exponent, segmentDuration: SimDuration(seconds: c["segmentDuration"].value),
                                    ladder: ladder, sizeVariation: c["sizeVariation"].value)
    }
}
