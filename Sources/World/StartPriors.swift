#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ABR
import SimCore

/// What the world needs to know about its players before the run, to start in steady state: the
/// share of bytes at each rung (a prior for sites' forecasts, ``SitePlanner``) and the rung a
/// player settles at for a given bandwidth (for sessions already in progress). Both come from
/// replaying the real player (`ABR.TraceReplay`) on constant links; both are deterministic and
/// computed once per world.
struct StartPriors {
    let rungShares: [Double]
    /// Per player profile.
    let settled: [SettledRungs]

    /// `players`: the configuration of each player profile the devices run
    /// (``ClientConfiguration/playerConfigurations``).
    init(configuration c: WorldConfiguration, population: Population, catalog: Catalog, players: [PlayerConfiguration]) {
        rungShares = StartPriors.rungShares(configuration: c, population: population, catalog: catalog, players: players)
        settled = players.map { StartPriors.settledRungs(configuration: c, catalog: catalog, player: $0) }
    }

    /// The rung a player of `context` (its manifest in `format`, profile `player`) settles at, at
    /// `bandwidth` bit/s.
    func rung(_ context: PlayerContext, format: ManifestFormat, player: Int, bandwidth: Double) -> Int {
        let top = context.manifest.rungs - 1
        return min(top, settled[player].rung(format: format, cap: top, bandwidth: bandwidth))
    }

    /// The player of a session `position` µs into its title at the start (in `segment`): at `rung`,
    /// with a full buffer, as a player keeps whose bandwidth sustains its rung: between one segment
    /// short of the maximum and the maximum, mid-segment, so that it asks for its next segment
    /// within one segment's duration at a uniformly spread time (sessions in progress do not all
    /// ask in step).
    static func resumedPlayer(_ context: PlayerContext, position: Int64, segment: Int, lastSegment: Int, rung: Int,
                              throughput: Double) -> Player {
        let d = context.manifest.segmentDurations[0]
        let offset = position - Int64(segment) * d
        let segments = max(1, Int((context.configuration.maxBuffer + offset) / d))
        return Player.resumed(context, at: 0, position: segment, offset: offset, segments: min(segments, lastSegment - segment + 1),
                              rung: rung, throughput: throughput)
    }

    /// The share of requested bytes at each rung, measured by replaying the real player for 2,000
    /// users drawn from the population (their device's manifest format of the most popular title,
    /// their plan's rung cap, a constant link at their access bandwidth, the first 15 minutes of
    /// their watch time; the rest at the rung they ended on). This captures the startup ramp, the
    /// algorithm and the manifest's declared rates; it leaves out congestion. A prior for the
    /// forecast sites start with; what they are then asked for replaces it as plans fold it in.
    static func rungShares(configuration c: WorldConfiguration, population: Population, catalog: Catalog,
                           players: [PlayerConfiguration]) -> [Double] {
        let deviceProfiles = c.clients.deviceProfiles
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
            let result = TraceReplay.run(movie, network: link, configuration: players[deviceProfiles[u.device]])
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
