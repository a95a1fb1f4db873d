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

public struct CatalogConfiguration: Sendable {
    public var titles: Int
    /// Title length in seconds.
    public var duration: Distribution
    /// Zipf exponent of popularity.
    public var popularityExponent: Double
    public var segmentDuration: SimDuration
    /// Lowest rung first.
    public var ladder: [RungConfiguration]
    /// Lognormal sigma of per-segment size around the nominal rate.
    public var sizeVariation: Double

    public init(titles: Int, duration: Distribution, popularityExponent: Double, segmentDuration: SimDuration,
                ladder: [RungConfiguration], sizeVariation: Double) {
        self.titles = titles
        self.duration = duration
        self.popularityExponent = popularityExponent
        self.segmentDuration = segmentDuration
        self.ladder = ladder
        self.sizeVariation = sizeVariation
    }
}

/// The titles of the platform. Every title is a pure function of (seed, title id): its length and
/// the size of each of its segments are drawn from the title's own stream, so a 10K-title catalog
/// costs nothing until a title is asked for.
///
/// Variable bit rate: each segment has one complexity factor, lognormal with mean 1 and sigma
/// `sizeVariation`, shared by all rungs (a complex scene is large at every bit rate), and capped
/// at ``maximumComplexity`` as a capped-VBR encoder's rate buffer (VBV) caps it; a segment's size
/// is nominal rate × duration × factor. Simplified: no scene-to-scene correlation, no per-rung
/// encoder differences. With sigma 0.25 and 4 s segments a feature-length title's peak segment
/// rate comes out about 2 to 2.5 times its average, the range capped-VBR ladders show.
public struct Catalog: Sendable {
    /// The largest complexity factor: a segment's rate stays within 2.5 × the nominal rate.
    public static let maximumComplexity = 2.5

    public let configuration: CatalogConfiguration
    let streams: StreamFamily
    let complexity: Distribution

    public init(configuration: CatalogConfiguration, seed: UInt64) {
        precondition(configuration.titles >= 1 && !configuration.ladder.isEmpty, "a catalog needs titles and a ladder")
        self.configuration = configuration
        streams = StreamFamily(seed: seed, label: "catalog.title")
        complexity = configuration.sizeVariation > 0
            ? try! .lognormal(mean: 1, sigma: configuration.sizeVariation) : try! .constant(1)
    }

    /// The length of `title`, whole seconds, at least one segment.
    public func duration(of title: Int) -> SimDuration {
        var stream = streams.stream(UInt64(title))
        return Catalog.length(configuration.duration.sample(&stream), segment: configuration.segmentDuration)
    }

    static func length(_ seconds: Double, segment: SimDuration) -> SimDuration {
        max(segment, .seconds(Int64(max(1, seconds.rounded()))))
    }

    /// The title as the packager sees it: renditions and every segment's duration and size.
    public func encodedTitle(_ title: Int) -> EncodedTitle {
        precondition(title >= 0 && title < configuration.titles, "title \(title) is not in the catalog")
        var stream = streams.stream(UInt64(title))
        let length = Catalog.length(configuration.duration.sample(&stream), segment: configuration.segmentDuration)
        let segment = configuration.segmentDuration.microseconds
        let count = Int((length.microseconds + segment - 1) / segment)
        var durations = [Int64](repeating: segment, count: count)
        durations[count - 1] = length.microseconds - segment * Int64(count - 1)
        let factors = durations.map { _ in min(Catalog.maximumComplexity, complexity.sample(&stream)) }
        let renditions = configuration.ladder.enumerated().map { r, rung in
            Rendition(id: "r\(r)", bitrate: Int(rung.bitrate), width: rung.width, height: rung.height, codecs: rung.codecs)
        }
        let sizes = configuration.ladder.map { rung in
            zip(durations, factors).map { d, f in max(1, Int((rung.bitrate * Double(d) / 1e6 * f / 8).rounded())) }
        }
        return EncodedTitle(name: "title-\(title)", segmentDurations: durations, renditions: renditions, segmentSizes: sizes)
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
        let manifest = PlaybackManifest(bitrates: description.planningBitrates, segmentDurations: description.segmentDurations)
        let bits = segmentDurations.indices.map { s in order.map { Int64(segmentSizes[$0][s]) * 8 } }
        return TraceMovie(manifest: manifest, bits: bits)
    }
}
