import SimCore
import Stochastics
import World

extension ResolvedScenario {
    /// The world configuration for this scenario: base units; the world applies sampling.
    public var worldConfiguration: WorldConfiguration {
        let clients = root["clients"]
        let regionIDs = root["regions"].list.map { $0["id"].text }
        let regions = root["regions"].list.map { r -> RegionConfiguration in
            let curve: DemandCurve = switch r["demandCurve"] {
            case .curve(.named("flat")): .flat
            case let .curve(.hourly(values)): .hourly(values)
            default: .evening
            }
            return RegionConfiguration(id: r["id"].text, utcOffset: SimDuration(seconds: r["utcOffset"].value),
                                       users: r["users"].value, curve: curve, engagement: r["engagement"].value,
                                       tasteVariation: r["tasteVariation"].value)
        }
        let popIDs = root["pops"].list.map { $0["id"].text }
        let pops = root["pops"].list.map { p in
            PopConfiguration(id: p["id"].text, region: regionIDs.firstIndex(of: p["region"].text)!,
                             servers: Int(p["servers"].integer), storageBytes: p["storage"].value,
                             egressBitsPerSecond: p["egress"].value, rtt: SimDuration(seconds: p["rtt"].value),
                             fillBitsPerSecondPerServer: p["fillRate"].value, healthThreshold: p["healthThreshold"].value,
                             parent: p["parent"].isAbsent ? nil : popIDs.firstIndex(of: p["parent"].text))
        }
        let o = root["origin"]
        let origin = OriginConfiguration(regions: o["regions"].list.map { regionIDs.firstIndex(of: $0.text)! },
                                         egressBitsPerSecond: o["egress"].value,
                                         firstByteLatency: SimDuration(seconds: o["firstByteLatency"].value),
                                         onOverload: OverloadPolicy(rawValue: o["onOverload"].text)!)
        let plans = clients["plans"].list.map {
            UserClass(name: $0["name"].text, share: $0["share"].value, maxHeight: Int($0["maxHeight"].integer))
        }
        let devices = clients["devices"].list.map {
            UserClass(name: $0["name"].text, share: $0["share"].value, maxHeight: Int($0["maxHeight"].integer),
                      manifest: ManifestFormat(rawValue: $0["manifest"].text)!, player: $0["player"].isAbsent ? nil : $0["player"].text)
        }
        let access = clients["access"].list.enumerated().map { i, a in
            let variation: AccessVariation = switch a["variation"].text {
            case "constant": .constant
            case "traces": .traces(accessTraces[i]!)
            default: .markov(MarkovAccess(
                goodMean: SimDuration(seconds: a["goodPeriod"].value), badMean: SimDuration(seconds: a["badPeriod"].value),
                badLevel: a["badThroughput"].value, sigma: a["jitter"].value, step: SimDuration(seconds: a["step"].value),
                badRtt: SimDuration(seconds: a["badRtt"].value)))
            }
            // A trace class's users get its traces' mean; the bandwidth law is not read.
            let bandwidth = a["bandwidth"].isAbsent ? try! Distribution.constant(1e6) : a["bandwidth"].distribution.distribution
            return AccessClass(name: a["name"].text, share: a["share"].value, bandwidth: bandwidth, variation: variation)
        }
        let clientConfiguration = ClientConfiguration(
            accessBandwidth: access[0].bandwidth, access: access, plans: plans, devices: devices,
            abr: clients["abr"].text, maxBuffer: SimDuration(seconds: clients["maxBuffer"].value),
            startupBuffer: SimDuration(seconds: clients["startupBuffer"].value),
            apiLatency: clients["apiLatency"].distribution.distribution,
            startupPatience: clients["startupPatience"].distribution.distribution,
            crossRegionRtt: SimDuration(seconds: clients["crossRegionRtt"].value),
            crossRegionRttPerHour: SimDuration(seconds: clients["crossRegionRttPerHour"].value),
            failoverRetries: Int(clients["failoverRetries"].integer), failoverBackoff: SimDuration(seconds: clients["failoverBackoff"].value))
        let catalog = catalogConfiguration
        let pl = root["placement"]
        func timeOfDay(_ v: Resolved) -> SimDuration {
            guard case let .timeOfDay(s) = v else { preconditionFailure("a time of day") }
            return .seconds(Int64(s))
        }
        let placement = PlacementConfiguration(
            plans: PlacementConfiguration.Plans(rawValue: pl["plans"].text)!,
            onMiss: PlacementConfiguration.MissFill(rawValue: pl["onMiss"].text)!,
            windowStart: timeOfDay(pl["windowStart"]), windowEnd: timeOfDay(pl["windowEnd"]),
            forecastHalfLife: SimDuration(seconds: pl["forecastHalfLife"].value), planStorageShare: pl["planStorage"].value,
            churnMargin: pl["churnMargin"].value, queueLimit: Int(pl["queueLimit"].integer),
            maximumReplicas: Int(pl["maxReplicas"].integer), peakToMean: pl["peakToMean"].value,
            holdingBonus: SimDuration(seconds: pl["holdingBonus"].value), loadPenalty: SimDuration(seconds: pl["loadPenalty"].value),
            detectionDelay: SimDuration(seconds: pl["detectionDelay"].value))
        let faults = root["faults"].list.map { f in
            FaultConfiguration(
                kind: FaultConfiguration.Kind(rawValue: f["type"].text)!,
                pop: f["pop"].isAbsent ? nil : popIDs.firstIndex(of: f["pop"].text),
                region: f["region"].isAbsent ? nil : regionIDs.firstIndex(of: f["region"].text),
                regions: f["regions"].list.map { regionIDs.firstIndex(of: $0.text)! },
                at: SimDuration(seconds: f["at"].value), duration: f["duration"].isAbsent ? nil : SimDuration(seconds: f["duration"].value),
                lost: f["lost"].value, latencyFactor: f["latencyFactor"].value, rtt: SimDuration(seconds: f["rtt"].value),
                throughput: f["throughput"].value, latency: SimDuration(seconds: f["latency"].value), partitions: f["partitions"].value,
                title: f["title"].isAbsent ? nil : Int(f["title"].integer), multiplier: f["multiplier"].value,
                perDay: f["perDay"].isAbsent ? nil : f["perDay"].value)
        }.enumerated().map { i, fault in
            var fault = fault
            let f = root["faults"].list[i]
            if !f["target"].isAbsent { fault.target = controlPlaneTarget(f["target"].text) }
            fault.shard = f["shard"].isAbsent ? 0 : Int(f["shard"].integer)
            fault.attempts = f["attempts"].isAbsent ? 5 : Int(f["attempts"].integer)
            return fault
        }
        let a = root["activity"]
        func duration(_ v: Resolved) -> SimDuration { SimDuration(seconds: v.value) }
        let activity = ActivityConfiguration(
            heartbeatInterval: duration(a["heartbeatInterval"]), batchInterval: duration(a["batchInterval"]),
            partitions: Int(a["partitions"].integer), partitionThroughput: a["partitionThroughput"].value,
            consumerRate: a["consumerRate"].value, retention: duration(a["retention"]), clientBuffer: Int(a["clientBuffer"].integer),
            appendTimeout: duration(a["appendTimeout"]), retryDelay: duration(a["retryDelay"]), ackLoss: a["ackLoss"].value,
            allowedLateness: duration(a["allowedLateness"]), trendingWindow: duration(a["trendingWindow"]), topN: Int(a["topN"].integer),
            coWatchWindow: duration(a["coWatchWindow"]), historyLength: Int(a["historyLength"].integer),
            publishPeriod: duration(a["publishPeriod"]), datasetProfiles: Int(a["datasetProfiles"].integer),
            pausesPerHour: a["pausesPerHour"].value, seeksPerHour: a["seeksPerHour"].value, ratingShare: a["ratingShare"].value,
            recordBytes: a["recordBytes"].value)
        var configuration = WorldConfiguration(
            seed: seed,
            startUnixSeconds: startUnixSeconds,
            duration: SimDuration(seconds: root["duration"].value),
            sampling: Int(root["sampling"].integer),
            regions: regions,
            demand: DemandConfiguration(
                peakConcurrency: clients["peakConcurrency"].value,
                peakScope: PeakScope(rawValue: clients["peakScope"].text)!,
                watchDuration: clients["watchDuration"].distribution.distribution,
                titleLength: catalog.duration),
            metricsBucket: SimDuration(seconds: root["metrics"]["bucket"].value),
            catalog: catalog, pops: pops, origin: origin, clients: clientConfiguration, placement: placement, activity: activity, faults: faults)
        configuration.controlPlane = controlPlaneConfiguration(regionIDs: regionIDs)
        configuration.execution = ExecutionConfiguration(
            partitions: ExecutionConfiguration.Partitions(rawValue: root["execution"]["partitions"].text)!,
            syncInterval: SimDuration(seconds: root["execution"]["syncInterval"].value),
            fidelity: ExecutionConfiguration.Fidelity(rawValue: root["execution"]["fidelity"].text)!,
            hybrid: HybridConfiguration(horizon: SimDuration(seconds: root["execution"]["hybrid"]["horizon"].value),
                                        minBuffer: root["execution"]["hybrid"]["minBuffer"].value,
                                        linkUtilisation: root["execution"]["hybrid"]["linkUtilisation"].value,
                                        burstSigmas: root["execution"]["hybrid"]["burstSigmas"].value))
        return configuration
    }

    var startUnixSeconds: Int64 {
        guard case let .dateTime(t) = root["start"] else { preconditionFailure("start is a date-time") }
        return t
    }

    /// The catalog's configuration: titles, lengths, popularity, segmentation, ladder, releases.
    public var catalogConfiguration: CatalogConfiguration {
        let c = root["catalog"]
        let ladder = c["ladder"].list.map { rung -> RungConfiguration in
            let size = rung["resolution"].text.split(separator: "x").map { Int($0)! }
            return RungConfiguration(bitrate: rung["bitrate"].value, width: size[0], height: size[1], codecs: rung["codec"].text)
        }
        guard case let .zipf(exponent) = c["popularity"] else { preconditionFailure("popularity is {zipf: s}") }
        let r = c["newReleases"]
        return CatalogConfiguration(titles: Int(c["titles"].value), duration: c["duration"].distribution.distribution,
                                    popularityExponent: exponent, segmentDuration: SimDuration(seconds: c["segmentDuration"].value),
                                    ladder: ladder, sizeVariation: c["sizeVariation"].value, genres: Int(c["genres"].value),
                                    releases: ReleaseConfiguration(
                                        perDay: r["perDay"].value, boost: r["boost"].value, halfLife: SimDuration(seconds: r["halfLife"].value),
                                        announce: SimDuration(seconds: r["announce"].value),
                                        scheduled: r["scheduled"].list.map { release in
                                            guard case let .dateTime(t) = release["at"] else { preconditionFailure("a date-time") }
                                            return ScheduledRelease(at: .seconds(t - startUnixSeconds), boost: release["boost"].value)
                                        }))
    }
}
