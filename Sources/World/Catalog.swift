import ABR
import Manifests
import SimCore
import Stochastics

/// One rung of the ladder every title is encoded with.
public struct RungConfiguration: Sendable, Equatable {
    /// Nominal bit rate, bits per second.
    public var bitrate: Double
    public var width: Int
    public var height: Int
    public var codecs: String

    public init(bitrate: Double, width: Int, height: Int, codecs: String) {
        self.bitrate = bitrate
        self.width = width
        self.height = height
        self.codecs = codecs
    }
}

/// New titles released around the simulated period.
public struct ReleaseConfiguration: Sendable {
    /// Releases per day, spread evenly from 30 days before the start to the end of the run.
    public var perDay: Double
    /// Demand at release relative to the most popular catalog title.
    public var boost: Double
    public var halfLife: SimDuration
    /// How long before its release a title is announced (placement can plan for it from then).
    public var announce: SimDuration
    /// Releases at given times (since the start of the run; may be negative), each with its own
    /// boost: a release night.
    public var scheduled: [ScheduledRelease]

    public init(perDay: Double = 0, boost: Double = 0.5, halfLife: SimDuration = .hours(72), announce: SimDuration = .hours(24 * 7),
                scheduled: [ScheduledRelease] = []) {
        self.perDay = perDay
        self.boost = boost
        self.halfLife = halfLife
        self.announce = announce
        self.scheduled = scheduled
    }
}

public struct ScheduledRelease: Sendable, Equatable {
    /// Since the start of the run.
    public var at: SimDuration
    public var boost: Double

    public init(at: SimDuration, boost: Double) {
        self.at = at
        self.boost = boost
    }
}

public struct CatalogConfiguration: Sendable {
    public var titles: Int
    /// Title length in seconds.
    public var duration: Distribution
    /// Zipf exponent of popularity over the global rank (title id 0 is the most popular).
    public var popularityExponent: Double
    public var segmentDuration: SimDuration
    /// Lowest rung first.
    public var ladder: [RungConfiguration]
    /// Lognormal sigma of per-segment size around the nominal rate.
    public var sizeVariation: Double
    public var genres: Int
    public var releases: ReleaseConfiguration

    public init(titles: Int, duration: Distribution, popularityExponent: Double, segmentDuration: SimDuration,
                ladder: [RungConfiguration], sizeVariation: Double, genres: Int = 20, releases: ReleaseConfiguration = .init()) {
        self.titles = titles
        self.duration = duration
        self.popularityExponent = popularityExponent
        self.segmentDuration = segmentDuration
        self.ladder = ladder
        self.sizeVariation = sizeVariation
        self.genres = genres
        self.releases = releases
    }
}

/// The titles of the platform. Every title is a pure function of (seed, title id), so a 10K-title
/// catalog costs nothing until a title is asked for: its length and genre come from the title's own
/// stream, and each segment's size from a stream of its own (counter-based), so any one segment's
/// size is O(1) to compute and never needs storing.
///
/// Title ids are global popularity ranks: title 0 is the most popular before regional taste and
/// release boosts.
///
/// Variable bit rate: each segment has one complexity factor, lognormal with mean 1 and sigma
/// `sizeVariation`, shared by all rungs (a complex scene is large at every bit rate), and capped
/// at ``maximumComplexity`` as a capped-VBR encoder's rate buffer (VBV) caps it; a segment's size
/// is nominal rate × duration × factor. A title's factors are then held to a ceiling of its own
/// (``complexityCeiling(title:)``) so that its peak segment rate stays within 200% of its average,
/// as Apple's HLS authoring specification asks of VOD (and as a capped-VBR encode with maxrate
/// at twice the target gives). Simplified: no scene-to-scene correlation, no per-rung encoder
/// differences. With sigma 0.25 and 4 s segments most feature-length titles reach the ceiling.
public struct Catalog: Sendable {
    /// The largest complexity factor: a segment's rate stays within 2.5 × the nominal rate.
    public static let maximumComplexity = 2.5
    /// The most a title's peak segment bit rate may be over its average: "For VOD content, the
    /// peak bit rate should be no more than 200% of the average bit rate" (Apple, HLS Authoring
    /// Specification for Apple Devices, 1.27).
    public static let peakToAverage = 2.0
    /// Ceilings are kept in units of 1/16384 (the library stores them in two bytes per player
    /// context), rounded down.
    public static let ceilingUnit = 16_384.0
    /// How long before the start of a run the release schedule begins.
    public static let releaseLookback = SimDuration.hours(24 * 30)

    public let configuration: CatalogConfiguration
    let titleStreams: StreamFamily
    let segmentStreams: StreamFamily
    let complexity: Distribution
    /// The titles released around the run, ordered by release time.
    public let releases: [Release]

    /// A title's release: when (microseconds since the start of the run, may be negative) and how
    /// much demand it starts with, relative to the most popular catalog title.
    public struct Release: Sendable, Equatable {
        public var title: Int
        public var time: Int64
        public var boost: Double
    }

    public init(configuration: CatalogConfiguration, seed: UInt64, runDuration: SimDuration = .zero) {
        precondition(configuration.titles >= 1 && !configuration.ladder.isEmpty, "a catalog needs titles and a ladder")
        self.configuration = configuration
        titleStreams = StreamFamily(seed: seed, label: "catalog.title")
        segmentStreams = StreamFamily(seed: seed, label: "catalog.segment")
        complexity = configuration.sizeVariation > 0
            ? try! .lognormal(mean: 1, sigma: configuration.sizeVariation) : try! .constant(1)
        releases = Catalog.schedule(configuration, seed: seed, runDuration: runDuration)
    }

    /// Releases evenly spaced from 30 days before the start to the end of the run, and the
    /// scheduled ones; each a distinct title chosen by the schedule's own stream, away from the
    /// head of the catalog (the head is what is already popular).
    static func schedule(_ c: CatalogConfiguration, seed: UInt64, runDuration: SimDuration) -> [Release] {
        let span = Catalog.releaseLookback + runDuration
        let periodic = c.releases.perDay > 0 ? Int((span.seconds / 86_400 * c.releases.perDay).rounded(.down)) : 0
        let count = min(c.titles / 2, periodic + c.releases.scheduled.count)
        guard count > 0 else { return [] }
        var stream = RandomStream(seed: seed, label: "catalog.releases", id: 0)
        var chosen = Set<Int>()
        var out: [Release] = []
        func pick() -> Int {
            var title: Int
            repeat { title = c.titles / 10 + Int(stream.nextInt(below: UInt64(c.titles - c.titles / 10))) } while chosen.contains(title)
            chosen.insert(title)
            return title
        }
        // Scheduled releases first, so that they keep their titles whatever the periodic rate.
        for r in c.releases.scheduled.prefix(count) {
            out.append(Release(title: pick(), time: r.at.microseconds, boost: r.boost))
        }
        let spacing = periodic > 0 ? span.microseconds / Int64(periodic) : 0
        for i in 0..<(count - out.count) {
            out.append(Release(title: pick(), time: -Catalog.releaseLookback.microseconds + Int64(i) * spacing, boost: c.releases.boost))
        }
        return out.sorted { $0.time < $1.time || ($0.time == $1.time && $0.title < $1.title) }
    }

    /// The whole catalog at its nominal bit rates, bytes: Σ over titles of length × Σ over rungs
    /// of bit rate / 8 (one length per title, O(titles)).
    public var nominalBytes: Double {
        let perSecond = configuration.ladder.reduce(0.0) { $0 + $1.bitrate } / 8
        return (0..<configuration.titles).reduce(0.0) { $0 + duration(of: $1).seconds * perSecond }
    }

    /// The length of `title`, whole seconds, at least one segment.
    public func duration(of title: Int) -> SimDuration {
        var stream = titleStreams.stream(UInt64(title))
        return Catalog.length(configuration.duration.sample(&stream), segment: configuration.segmentDuration)
    }

    /// The genre of `title`, 0 ..< genres.
    public func genre(of title: Int) -> Int {
        var stream = titleStreams.stream(UInt64(title))
        _ = stream.next()  // the length's draw
        return Int(stream.nextInt(below: UInt64(configuration.genres)))
    }

    static func length(_ seconds: Double, segment: SimDuration) -> SimDuration {
        max(segment, .seconds(Int64(max(1, seconds.rounded()))))
    }

    /// The segment durations of `title`: uniform, the last one shorter.
    public func segmentDurations(of title: Int) -> [Int64] {
        let length = duration(of: title).microseconds
        let segment = configuration.segmentDuration.microseconds
        let count = Int((length + segment - 1) / segment)
        var durations = [Int64](repeating: segment, count: count)
        durations[count - 1] = length - segment * Int64(count - 1)
        return durations
    }

    /// The complexity factor of one segment before the title's ceiling: its own stream, one draw,
    /// capped at ``maximumComplexity``.
    public func complexity(title: Int, segment: Int) -> Double {
        var stream = segmentStreams.subfamily(UInt64(title)).stream(UInt64(segment))
        return min(Catalog.maximumComplexity, complexity.sample(&stream))
    }

    /// The ceiling on `title`'s complexity factors that keeps its peak segment rate within
    /// ``peakToAverage`` × its average (duration-weighted; aiming at 1.99 for the rounding of
    /// sizes to bytes): the largest c with max(min(f, c)) ≤ 1.99 × mean(min(f, c)), found by
    /// iterating c ← 1.99 × mean(min(f, c)) down from the largest factor (a decreasing sequence
    /// that stops at the largest fixed point). ``maximumComplexity`` when no ceiling is needed.
    /// - Complexity: O(segments) per iteration, a few iterations.
    public func complexityCeiling(title: Int) -> Double {
        let durations = segmentDurations(of: title)
        return Catalog.ceiling(factors: durations.indices.map { complexity(title: title, segment: $0) }, durations: durations)
    }

    static func ceiling(factors: [Double], durations: [Int64]) -> Double {
        let total = Double(durations.reduce(0, +))
        func mean(_ c: Double) -> Double {
            var sum = 0.0
            for (f, d) in zip(factors, durations) { sum += min(f, c) * Double(d) }
            return sum / total
        }
        let target = Catalog.peakToAverage - 0.01
        var c = factors.max()!
        // Each step lowers c by at least 1 − 1.99/1.995 of itself; one or two steps are usual
        // (the largest factors are rare), 200 a bound never met from 2.5.
        for _ in 0..<200 {
            let m = mean(c)
            if c <= (target + 0.005) * m { break }
            c = target * m
        }
        return min(Catalog.maximumComplexity, (c * Catalog.ceilingUnit).rounded(.down) / Catalog.ceilingUnit)
    }

    /// The title's complexity factors under its ceiling, segment by segment (one pass of draws),
    /// and the ceiling.
    func ceiledFactors(title: Int, durations: [Int64]) -> (factors: [Double], ceiling: Double) {
        let raw = durations.indices.map { complexity(title: title, segment: $0) }
        let ceiling = Catalog.ceiling(factors: raw, durations: durations)
        return (raw.map { min($0, ceiling) }, ceiling)
    }

    /// Bytes of one segment at one rung (of `duration` microseconds), under the title's `ceiling`
    /// (``complexityCeiling(title:)``). Inlined: an outlined call copied the catalog at every
    /// request.
    @inline(__always)
    public func segmentBytes(title: Int, segment: Int, rung: Int, duration: Int64, ceiling: Double) -> Int {
        let factor = min(ceiling, complexity(title: title, segment: segment))
        return max(1, Int((configuration.ladder[rung].bitrate * Double(duration) / 1e6 * factor / 8).rounded()))
    }

    /// Bytes of each rung's whole file of `title` (the sum of its segments, as packaged).
    /// - Complexity: O(segments × rungs).
    public func fileBytes(of title: Int) -> [Double] {
        let durations = segmentDurations(of: title)
        let factors = ceiledFactors(title: title, durations: durations).factors
        var totals = [Double](repeating: 0, count: configuration.ladder.count)
        for (s, d) in durations.enumerated() {
            let f = factors[s]
            for (r, rung) in configuration.ladder.enumerated() {
                totals[r] += Double(max(1, Int((rung.bitrate * Double(d) / 1e6 * f / 8).rounded())))
            }
        }
        return totals
    }

    /// The title as the packager sees it: renditions and every segment's duration and size.
    public func encodedTitle(_ title: Int) -> EncodedTitle { encodedTitleAndCeiling(title).title }

    /// ``encodedTitle(_:)`` and ``complexityCeiling(title:)`` from one pass of draws.
    func encodedTitleAndCeiling(_ title: Int) -> (title: EncodedTitle, ceiling: Double) {
        precondition(title >= 0 && title < configuration.titles, "title \(title) is not in the catalog")
        let durations = segmentDurations(of: title)
        let (factors, ceiling) = ceiledFactors(title: title, durations: durations)
        let renditions = configuration.ladder.enumerated().map { r, rung in
            Rendition(id: "r\(r)", bitrate: Int(rung.bitrate), width: rung.width, height: rung.height, codecs: rung.codecs)
        }
        let sizes = configuration.ladder.map { rung in
            zip(durations, factors).map { d, f in max(1, Int((rung.bitrate * Double(d) / 1e6 * f / 8).rounded())) }
        }
        return (EncodedTitle(name: "title-\(title)", segmentDurations: durations, renditions: renditions, segmentSizes: sizes), ceiling)
    }
}

public enum ManifestFormat: String, Sendable, CaseIterable {
    case hls, dash
}

extension EncodedTitle {
    /// What a player learns about this title, read from the manifest text the server publishes
    /// (not from the title directly), and the sizes the server will send: the path every
    /// simulated player takes.
    public func playback(format: ManifestFormat) throws(ManifestError) -> TraceMovie {
        let (manifest, order) = try playbackManifest(format: format)
        let bits = segmentDurations.indices.map { s in order.map { Int64(segmentSizes[$0][s]) * 8 } }
        return TraceMovie(manifest: manifest, bits: bits)
    }

    /// The manifest a player reads, and for each of its rungs (lowest declared bandwidth first)
    /// the rendition it is.
    public func playbackManifest(format: ManifestFormat) throws(ManifestError) -> (PlaybackManifest, [Int]) {
        let description: StreamDescription
        switch format {
        case .hls:
            let package = HLS.package(self)
            let multivariant = try MultivariantPlaylist.parse(package.multivariant.text)
            var media: [MediaPlaylist] = []
            for variant in multivariant.variants {
                guard let published = package.media.first(where: { $0.uri == variant.uri }) else {
                    throw ManifestError(line: 0, "no media playlist at \(variant.uri)")
                }
                media.append(try MediaPlaylist.parse(published.playlist.text))
            }
            description = try HLS.describe(multivariant: multivariant, media: media)
        case .dash:
            description = try MPD.parse(MPD.make(self).text).description
        }
        // Map the player's rung order (by declared bandwidth) back to the encoded renditions.
        let order = try description.variants.map { variant throws(ManifestError) -> Int in
            guard let r = renditions.firstIndex(where: { variant.location == $0.id || variant.location.hasPrefix($0.id + "/") }) else {
                throw ManifestError(line: 0, "variant \(variant.location) matches no rendition")
            }
            return r
        }
        return (PlaybackManifest(bitrates: description.planningBitrates, segmentDurations: description.segmentDurations), order)
    }
}
