#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SimCore
import Stochastics

/// Which title a session plays: per region, Zipf weights over the global rank, moved by the
/// region's taste, with new releases boosted at release and fading, and titles not yet released
/// left out.
///
/// Weights change only through release boosts, slowly, so each region's alias table is rebuilt
/// every ``refresh`` of simulated time rather than at every draw; a title's weight is constant
/// within one refresh period (a one-hour step function of the decay).
public struct Popularity: Sendable {
    public static let refresh = SimDuration.hours(1)

    let base: [Double]
    /// Per region, per title: the taste factor (lognormal, mean 1).
    let taste: [[Double]]
    let releaseTime: [Int64?]
    /// Per title, its release boost (0 for catalog titles).
    let boost: [Double]
    let halfLife: Double
    /// Per region, the current table and when it was built.
    public private(set) var tables: [AliasTable]
    public private(set) var builtAt: SimInstant = .zero

    public init(configuration c: WorldConfiguration, catalog: Catalog) {
        let n = c.catalog.titles
        base = (0..<n).map { pow(Double($0 + 1), -c.catalog.popularityExponent) }
        let family = StreamFamily(seed: c.seed, label: "popularity.taste")
        taste = c.regions.enumerated().map { r, region in
            guard region.tasteVariation > 0 else { return Array(repeating: 1, count: n) }
            let factor = try! Distribution.lognormal(mean: 1, sigma: region.tasteVariation)
            let regionStreams = family.subfamily(UInt64(r))
            return (0..<n).map { t in
                var s = regionStreams.stream(UInt64(t))
                return factor.sample(&s)
            }
        }
        var times = [Int64?](repeating: nil, count: n)
        var boosts = [Double](repeating: 0, count: n)
        for release in catalog.releases {
            times[release.title] = release.time
            boosts[release.title] = release.boost
        }
        releaseTime = times
        boost = boosts
        halfLife = c.catalog.releases.halfLife.seconds
        tables = []
        rebuild(at: .zero)
    }

    /// The weight of `title` in region `r` at `time`.
    public func weight(region r: Int, title t: Int, at time: SimInstant) -> Double {
        var w = base[t] * taste[r][t]
        if let released = releaseTime[t] {
            let age = Double(time.microseconds - released) / 1e6
            if age < 0 { return 0 }  // not out yet
            w += boost[t] * base[0] * pow(0.5, age / halfLife)
        }
        return w
    }

    /// The sum of every title's weight in region `r` at `time`. O(titles).
    public func totalWeight(region r: Int, at time: SimInstant) -> Double {
        (0..<base.count).reduce(0) { $0 + weight(region: r, title: $1, at: time) }
    }

    /// Rebuilds every region's table for `time`.
    public mutating func rebuild(at time: SimInstant) {
        builtAt = time
        tables = taste.indices.map { r in
            try! AliasTable(weights: (0..<base.count).map { weight(region: r, title: $0, at: time) })
        }
    }

    /// A title for a session starting now in region `r`.
    public mutating func chooseTitle(region r: Int, at time: SimInstant, _ stream: inout RandomStream) -> Int {
        if time - builtAt >= Popularity.refresh {
            rebuild(at: SimInstant(microseconds: time.microseconds - time.microseconds % Popularity.refresh.microseconds))
        }
        return tables[r].sample(&stream)
    }
}
