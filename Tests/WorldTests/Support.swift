import SimCore
import Stochastics
@testable import World

/// A ladder of three rungs.
let threeRungs = [
    RungConfiguration(bitrate: 500_000, width: 640, height: 360, codecs: "avc1.640028"),
    RungConfiguration(bitrate: 2_000_000, width: 1280, height: 720, codecs: "avc1.640028"),
    RungConfiguration(bitrate: 6_000_000, width: 1920, height: 1080, codecs: "avc1.640028"),
]

func testCatalog(titles: Int = 300, length: Distribution = try! .lognormal(median: 1_200, sigma: 0.3),
                 ladder: [RungConfiguration] = threeRungs, exponent: Double = 0.9) -> CatalogConfiguration {
    CatalogConfiguration(titles: titles, duration: length, popularityExponent: exponent, segmentDuration: .seconds(4),
                         ladder: ladder, sizeVariation: 0.25)
}

func testClients(access: Distribution = try! .lognormal(median: 20e6, sigma: 0.5), abr: String = "bba",
                 patience: Distribution = try! .constant(60)) -> ClientConfiguration {
    ClientConfiguration(accessBandwidth: access,
                        plans: [UserClass(name: "all", share: 1, maxHeight: 2160)],
                        devices: [UserClass(name: "tv", share: 0.5, maxHeight: 2160, manifest: .dash),
                                  UserClass(name: "phone", share: 0.5, maxHeight: 2160, manifest: .hls)],
                        abr: abr, maxBuffer: .seconds(30), startupBuffer: .seconds(4),
                        apiLatency: try! .constant(0.05), startupPatience: patience,
                        crossRegionRtt: .milliseconds(20), crossRegionRttPerHour: .milliseconds(8))
}

/// One PoP per region with ample storage and egress, unless given.
func configuration(regions: [RegionConfiguration], peak: Double = 0.05, scope: PeakScope = .global,
                   watch: Distribution = try! .lognormal(median: 600, sigma: 0.8),
                   hours: Double = 1, sampling: Int = 1, seed: UInt64 = 1,
                   start: Int64 = 1_795_219_200, catalog: CatalogConfiguration = testCatalog(),
                   pops: [PopConfiguration]? = nil, clients: ClientConfiguration = testClients(),
                   originEgress: Double = 100e9, placement: PlacementConfiguration = .pullThrough) -> WorldConfiguration {
    let pops = pops ?? regions.indices.map { r in
        PopConfiguration(id: "pop-\(r)", region: r, servers: 4, storageBytes: 1e15, egressBitsPerSecond: 1e12, rtt: .milliseconds(10))
    }
    return WorldConfiguration(
        seed: seed, startUnixSeconds: start, duration: SimDuration(seconds: hours * 3_600), sampling: sampling, regions: regions,
        demand: DemandConfiguration(peakConcurrency: peak, peakScope: scope, watchDuration: watch, titleLength: catalog.duration),
        metricsBucket: .minutes(1), catalog: catalog, pops: pops,
        origin: OriginConfiguration(regions: [0], egressBitsPerSecond: originEgress, firstByteLatency: .milliseconds(50)),
        clients: clients, placement: placement)
}

/// One region at UTC with flat demand, the usual test setting.
func flatRegion(users: Double) -> RegionConfiguration {
    RegionConfiguration(id: "r", utcOffset: .zero, users: users, curve: .flat)
}
