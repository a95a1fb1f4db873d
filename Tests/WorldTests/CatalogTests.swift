import ABR
import Manifests
import SimCore
import Stochastics
import Testing
@testable import World

func catalog(seed: UInt64 = 42, sizeVariation: Double = 0.25) -> Catalog {
    let ladder = [
        RungConfiguration(bitrate: 235_000, width: 320, height: 240, codecs: "avc1.42c01e"),
        RungConfiguration(bitrate: 2_000_000, width: 854, height: 480, codecs: "avc1.640028"),
        RungConfiguration(bitrate: 8_000_000, width: 1920, height: 1080, codecs: "avc1.640028"),
    ]
    return Catalog(configuration: CatalogConfiguration(
        titles: 1_000, duration: try! .lognormal(median: 3_300, sigma: 0.45), popularityExponent: 0.9,
        segmentDuration: .seconds(4), ladder: ladder, sizeVariation: sizeVariation), seed: seed)
}

@Suite("Catalog")
struct CatalogTests {
    @Test("Titles load the same whichever order sessions ask for them in")
    func loadOrder() {
        let c = catalog()
        #expect(c.segmentBytes(title: 9, segment: 3, rung: 1, duration: 4_000_000, ceiling: c.complexityCeiling(title: 9)) == c.encodedTitle(9).segmentSizes[1][3])
    }

    @Test("A title is a pure function of seed and id")
    func deterministic() {
        #expect(catalog().encodedTitle(17) == catalog().encodedTitle(17))
        #expect(catalog().encodedTitle(17) != catalog().encodedTitle(18))
        #expect(catalog(seed: 1).encodedTitle(17) != catalog(seed: 2).encodedTitle(17))
        #expect(catalog().duration(of: 17).microseconds == catalog().encodedTitle(17).duration)
    }

    @Test("Segments are uniform, sizes follow the nominal rates and stay under the VBR cap")
    func segments() {
        for id in 0..<20 {
            let t = catalog().encodedTitle(id)
            #expect(t.isUniform)
            #expect(t.segmentDurations.dropLast().allSatisfy { $0 == 4_000_000 })
            for (r, rendition) in t.renditions.enumerated() {
                let cap = Catalog.maximumComplexity * Double(rendition.bitrate)
                for (s, d) in t.segmentDurations.enumerated() {
                    #expect(Double(t.segmentSizes[r][s]) * 8 / (Double(d) / 1e6) <= cap * 1.0001)
                }
            }
        }
        // Mean complexity is about 1: the average rate is close to the nominal one.
        let long = (0..<50).map { catalog().encodedTitle($0) }
        let bits = long.reduce(0.0) { $0 + Double($1.segmentSizes[1].reduce(0, +)) * 8 }
        let seconds = long.reduce(0.0) { $0 + Double($1.duration) / 1e6 }
        #expect(abs(bits / seconds / 2_000_000 - 1) < 0.01)
    }

    /// Apple's HLS authoring specification: for VOD the peak bit rate (the BANDWIDTH vodsim
    /// declares, RFC 8216's peak segment rate) no more than 200% of the average. Short titles
    /// (one to five minutes) are the hard case: their mean complexity strays furthest from 1.
    @Test("Every title's peak bit rate is at most twice its average, long or short", arguments: [3_300.0, 120.0])
    func peakToAverage(medianSeconds: Double) throws {
        let base = catalog()
        var c = base.configuration
        c.duration = try .lognormal(median: medianSeconds, sigma: 0.45)
        c.sizeVariation = 0.4   // peakier than the default, so that most titles need their ceiling
        let peaky = Catalog(configuration: c, seed: 7)
        var ceilinged = 0
        for id in 0..<40 {
            let title = peaky.encodedTitle(id)
            let package = HLS.package(title)
            for variant in package.multivariant.variants {
                let average = try #require(variant.averageBandwidth)
                #expect(Double(variant.bandwidth) <= 2 * Double(average), "title \(id): \(variant.bandwidth) over \(average)")
            }
            if peaky.complexityCeiling(title: id) < Catalog.maximumComplexity { ceilinged += 1 }
        }
        #expect(ceilinged > 20)
    }

    @Test("Mean title length follows the catalog's distribution")
    func lengths() {
        let c = catalog()
        let mean = (0..<1_000).reduce(0.0) { $0 + c.duration(of: $1).seconds } / 1_000
        let expected = c.configuration.duration.mean
        #expect(abs(mean - expected) / expected < 0.05, "mean \(mean) s, expected \(expected) s")
    }

    @Test("Players read the title from the manifest text, in either format", arguments: ManifestFormat.allCases)
    func playbackFromManifests(format: ManifestFormat) throws {
        let t = catalog().encodedTitle(5)
        let movie = try t.playback(format: format)
        #expect(movie.manifest.segmentDurations == t.segmentDurations)
        #expect(movie.manifest.rungs == 3)
        // Bits the server sends are the encoded sizes, rung for rung.
        #expect(movie.bits[10] == t.segmentSizes.map { Int64($0[10]) * 8 })
        // HLS players plan with AVERAGE-BANDWIDTH, DASH players with @bandwidth (a peak).
        let average = HLS.averageSegmentBitRate(durations: t.segmentDurations, sizes: t.segmentSizes[1])
        if format == .hls { #expect(movie.manifest.bitrates[1] == Double(average)) } else { #expect(movie.manifest.bitrates[1] > Double(average)) }
    }
}
