import Foundation
import Testing
@testable import Manifests

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A small title with variable segment sizes and a short last segment.
func sampleTitle(segments: Int = 12, lastMicroseconds: Int64 = 2_400_000, seed: Int = 1) -> EncodedTitle {
    var durations = [Int64](repeating: 4_000_000, count: segments)
    durations[segments - 1] = lastMicroseconds
    let renditions = [
        Rendition(id: "r0", bitrate: 235_000, width: 320, height: 240, codecs: "avc1.42c01e"),
        Rendition(id: "r1", bitrate: 2_000_000, width: 854, height: 480, codecs: "avc1.640028"),
        Rendition(id: "r2", bitrate: 8_000_000, width: 1920, height: 1080, codecs: "avc1.640028", frameRate: 30_000.0 / 1_001),
    ]
    let sizes = renditions.map { r in
        durations.enumerated().map { i, d in
            // A deterministic wobble around the nominal size.
            let factor = 0.7 + 0.6 * Double((i * 7 + seed * 3) % 10) / 10
            return Int(Double(r.bitrate) * Double(d) / 1e6 / 8 * factor)
        }
    }
    return EncodedTitle(name: "sample", segmentDurations: durations, renditions: renditions, segmentSizes: sizes)
}

@Suite("HLS")
struct HLSTests {
    @Test("Built playlists survive serialise and parse unchanged", arguments: HLS.SegmentFormat.allCases)
    func roundTrip(format: HLS.SegmentFormat) throws {
        let package = HLS.package(sampleTitle(), format: format)
        #expect(try MultivariantPlaylist.parse(package.multivariant.text) == package.multivariant)
        for (_, playlist) in package.media {
            #expect(try MediaPlaylist.parse(playlist.text) == playlist)
        }
        let description = try package.description
        #expect(description.segmentDurations == sampleTitle().segmentDurations)
        #expect(description.variants.map(\.location) == ["r0/playlist.m3u8", "r1/playlist.m3u8", "r2/playlist.m3u8"])
    }

    /// Durations 1, 1, 3, 1 s with a target of 3 s: runs must last 1.5 to 4.5 s. The first
    /// segment alone (5 Mbit/s) is too short to count; the peak is the first pair, 6 Mbit in 2 s.
    @Test("BANDWIDTH is the RFC 8216 peak over runs of 0.5 to 1.5 target durations (hand-computed)")
    func peakRule() {
        let durations: [Int64] = [1_000_000, 1_000_000, 3_000_000, 1_000_000]
        let sizes = [5_000_000 / 8, 1_000_000 / 8, 6_000_000 / 8, 1_000_000 / 8]
        let target = MediaPlaylist.targetDuration(for: durations)
        #expect(target == 3)
        #expect(HLS.peakSegmentBitRate(durations: durations, sizes: sizes, targetDuration: target) == 3_000_000)
        // 13 Mbit over 6 s, rounded up.
        #expect(HLS.averageSegmentBitRate(durations: durations, sizes: sizes) == 2_166_667)
    }

    @Test("EXT-X-VERSION is the lowest the features used need")
    func versionSelection() {
        let fractional = sampleTitle()
        let whole = sampleTitle(lastMicroseconds: 4_000_000)
        #expect(HLS.package(fractional, format: .fmp4).media[0].playlist.version == 6)   // EXT-X-MAP
        #expect(HLS.package(fractional, format: .ts).media[0].playlist.version == 3)     // fractional EXTINF
        let plain = HLS.package(whole, format: .ts)
        #expect(plain.media[0].playlist.version == 1)                                   // integers, no map
        #expect(!plain.media[0].playlist.text.contains("EXT-X-VERSION"))
        #expect(HLS.package(fractional).multivariant.version == 1)
        #expect(!HLS.package(fractional).multivariant.text.contains("EXT-X-VERSION"))
    }

    @Test("The target duration covers every rounded EXTINF, halves rounding up")
    func targetDuration() {
        #expect(MediaPlaylist.targetDuration(for: [4_400_000, 4_499_999, 3_000_000]) == 4)
        #expect(MediaPlaylist.targetDuration(for: [4_400_000, 4_500_000, 3_000_000]) == 5)
        let package = HLS.package(sampleTitle())
        let target = Int64(package.media[0].playlist.targetDuration)
        #expect(package.media[0].playlist.segments.allSatisfy { ($0.duration + 500_000) / 1_000_000 <= target })
    }

    @Test("The multivariant playlist carries every required attribute")
    func multivariantText() {
        let text = HLS.package(sampleTitle()).multivariant.text
        #expect(text.hasPrefix("#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH="))
        #expect(text.contains(",CODECS=\"avc1.640028\",RESOLUTION=1920x1080,FRAME-RATE=29.970\nr2/playlist.m3u8\n"))
        #expect(text.contains("AVERAGE-BANDWIDTH="))
        let media = HLS.package(sampleTitle()).media[0].playlist.text
        #expect(media.contains("#EXT-X-TARGETDURATION:4\n"))
        #expect(media.contains("#EXT-X-PLAYLIST-TYPE:VOD\n"))
        #expect(media.contains("#EXTINF:2.400,\nseg-12.m4s\n#EXT-X-ENDLIST\n"))
    }

    @Test("Malformed playlists are refused with the line and the reason", arguments: [
        ("#EXT-X-VERSION:3\n", "line 1: a playlist must start with #EXTM3U"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"avc1\"\na.m3u8\n", "line 2: EXT-X-STREAM-INF needs a BANDWIDTH attribute"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100\n#EXT-X-STREAM-INF:BANDWIDTH=200\nb.m3u8\n", "line 2: EXT-X-STREAM-INF is not followed by a URI"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1e5\na.m3u8\n", "line 2: BANDWIDTH needs a decimal integer, got '1e5'"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100,RESOLUTION=1080p\na.m3u8\n", "line 2: RESOLUTION needs WIDTHxHEIGHT, got '1080p'"),
        ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100,CODECS=\"avc1\na.m3u8\n", "line 2: unterminated quoted string in CODECS"),
        ("#EXTM3U\na.m3u8\n", "line 2: a URI without EXT-X-STREAM-INF"),
    ])
    func malformedMultivariant(text: String, message: String) {
        #expect(throws: ManifestError.self) { try MultivariantPlaylist.parse(text) }
        do { _ = try MultivariantPlaylist.parse(text) } catch { #expect(error.description == message) }
    }

    @Test("Malformed media playlists are refused with the line and the reason", arguments: [
        ("#EXTM3U\n#EXTINF:4.0,\na.ts\n", "no EXT-X-TARGETDURATION: a media playlist needs one"),
        ("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:abc,\na.ts\n", "line 3: EXTINF needs a positive duration in seconds, got 'abc'"),
        ("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n", "line 3: EXTINF is not followed by a URI"),
        ("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.6,\na.ts\n", "line 3: a fractional EXTINF duration needs EXT-X-VERSION 3 or higher, the playlist declares 1"),
        ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.6,\na.ts\n", "line 4: segment 1 lasts 4.600 s, more than the target duration 4 s"),
        ("#EXTM3U\n#EXT-X-VERSION:5\n#EXT-X-TARGETDURATION:4\n#EXT-X-MAP:URI=\"i.mp4\"\n#EXTINF:4,\na.m4s\n", "line 4: EXT-X-MAP needs EXT-X-VERSION 6 or higher, the playlist declares 5"),
        ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-VERSION:3\n", "line 3: more than one EXT-X-VERSION"),
        ("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\na.ts\n#EXT-X-ENDLIST\nb.ts\n", "line 6: a segment after EXT-X-ENDLIST"),
        ("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:LIVE\n", "line 3: EXT-X-PLAYLIST-TYPE must be VOD or EVENT"),
    ])
    func malformedMedia(text: String, message: String) {
        do {
            _ = try MediaPlaylist.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("Unknown tags and comments are ignored, as RFC 8216 requires")
    func ignoresUnknownTags() throws {
        let text = "#EXTM3U\n# a comment\n#EXT-X-FUTURE-TAG:1\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,title\na.ts\n#EXT-X-ENDLIST\n"
        let playlist = try MediaPlaylist.parse(text)
        #expect(playlist.segments == [.init(duration: 4_000_000, uri: "a.ts")])
    }
}

@Suite("DASH")
struct DASHTests {
    @Test("A built MPD survives serialise and parse unchanged")
    func roundTrip() throws {
        let mpd = MPD.make(sampleTitle())
        #expect(try MPD.parse(mpd.text) == mpd)
        #expect(mpd.segmentDurations == sampleTitle().segmentDurations)
        #expect(mpd.description.variants.map(\.location) == ["r0", "r1", "r2"])
    }

    /// 4 s segments of 16, 16 and 4 Mbit, minBufferTime 8 s. Every run j...k must fit
    /// B·(8 s + duration before k): singles need 2 Mbit/s, the first pair 32 Mbit / 12 s =
    /// 2.667 Mbit/s, the whole 36 Mbit / 16 s = 2.25 Mbit/s. The answer is the pair, rounded up.
    @Test("@bandwidth follows ISO/IEC 23009-1's buffer definition (hand-computed)")
    func bandwidthDefinition() {
        let durations: [Int64] = [4_000_000, 4_000_000, 4_000_000]
        let sizes = [16_000_000 / 8, 16_000_000 / 8, 4_000_000 / 8]
        #expect(MPD.dashBandwidth(durations: durations, sizes: sizes, minBufferTime: 8_000_000) == 2_666_667)
        // With minBufferTime 4 s a single 16 Mbit segment needs 4 Mbit/s.
        #expect(MPD.dashBandwidth(durations: durations, sizes: sizes, minBufferTime: 4_000_000) == 4_000_000)
    }

    @Test("The MPD has the attributes the schema requires")
    func attributes() {
        let text = MPD.make(sampleTitle()).text
        #expect(text.contains("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"static\" minBufferTime=\"PT4S\" mediaPresentationDuration=\"PT46.4S\">"))
        #expect(text.contains("<SegmentTemplate timescale=\"1000\" duration=\"4000\" startNumber=\"1\" initialization=\"$RepresentationID$/init.mp4\" media=\"$RepresentationID$/seg-$Number$.m4s\"/>"))
        #expect(text.contains("frameRate=\"30000/1001\""))
    }

    @Test("ISO 8601 durations convert exactly", arguments: [
        (Int64(0), "PT0S"), (4_000_000, "PT4S"), (3_318_400_000, "PT55M18.4S"), (7_200_000_001, "PT2H0.000001S"), (3_660_000_000, "PT1H1M"),
    ])
    func isoDurations(microseconds: Int64, text: String) {
        #expect(ISODuration.format(microseconds) == text)
        #expect(ISODuration.parse(text) == microseconds)
        #expect(ISODuration.parse("P1DT1S") == 86_401_000_000)
        #expect(ISODuration.parse("P1Y") == nil)
        #expect(ISODuration.parse("PT") == nil)
    }

    @Test("Malformed MPDs are refused with the line and the reason", arguments: [
        ("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"p\" minBufferTime=\"PT4S\"", "line 1: unterminated <MPD>"),
        ("<Foo/>", "line 1: the root element is <Foo>, not <MPD>"),
        ("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"p\" minBufferTime=\"4s\" mediaPresentationDuration=\"PT1S\"/>", "line 1: @minBufferTime is not an ISO 8601 duration: '4s'"),
        ("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"\n  profiles=\"p\" minBufferTime=\"PT4S\" mediaPresentationDuration=\"PT8S\">\n <Period>\n  <AdaptationSet>\n   <SegmentTemplate duration=\"4\" media=\"$Number$.m4s\"/>\n   <Representation id=\"a\" width=\"1\" height=\"1\" codecs=\"x\"/>\n  </AdaptationSet>\n </Period>\n</MPD>\n",
         "line 6: <Representation> needs @bandwidth"),
        ("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" profiles=\"p\">\n<Period>\n</Perod>\n</MPD>", "line 3: </Perod> closes <Period> (opened on line 2)"),
    ])
    func malformed(text: String, message: String) {
        do {
            _ = try MPD.parse(text)
            Issue.record("parsed")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("A hand-written MPD with per-representation templates and entities parses")
    func foreignMPD() throws {
        let text = """
            <?xml version="1.0"?>
            <!-- written by another packager -->
            <MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" minBufferTime="PT2S" mediaPresentationDuration="PT10S">
              <Period>
                <AdaptationSet mimeType="video/mp4" codecs="avc1.4d401f">
                  <Representation id="hi" bandwidth="3000000" width="1280" height="720">
                    <SegmentTemplate timescale="90000" duration="360000" media="hi/$Number$.m4s?a=1&amp;b=2"/>
                  </Representation>
                  <Representation id="lo" bandwidth="800000" width="640" height="360">
                    <SegmentTemplate timescale="90000" duration="360000" media="hi/$Number$.m4s?a=1&amp;b=2"/>
                  </Representation>
                </AdaptationSet>
              </Period>
            </MPD>
            """
        let mpd = try MPD.parse(text)
        #expect(mpd.representations.map(\.id) == ["lo", "hi"])
        #expect(mpd.template.media == "hi/$Number$.m4s?a=1&b=2")
        #expect(mpd.segmentDurations == [4_000_000, 4_000_000, 2_000_000])
    }

    /// An AVC ladder topped by an HEVC rung: two adaptation sets that signal switching between
    /// them, which a player reads back as one ladder.
    @Test("AVC and HEVC rungs go in adaptation sets of their own, switchable both ways")
    func codecSets() throws {
        let base = sampleTitle()
        var renditions = base.renditions
        renditions.append(Rendition(id: "r3", bitrate: 16_000_000, width: 3840, height: 2160, codecs: "hvc1.2.4.L156.B0"))
        let title = EncodedTitle(name: "mixed", segmentDurations: base.segmentDurations, renditions: renditions,
                                 segmentSizes: base.segmentSizes + [base.segmentSizes[2].map { $0 * 2 }])
        let text = MPD.make(title).text
        #expect(text.components(separatedBy: "<AdaptationSet").count - 1 == 2)
        #expect(text.contains("<SupplementalProperty schemeIdUri=\"urn:mpeg:dash:adaptation-set-switching:2016\" value=\"1\"/>"))
        #expect(text.contains("<SupplementalProperty schemeIdUri=\"urn:mpeg:dash:adaptation-set-switching:2016\" value=\"0\"/>"))
        let parsed = try MPD.parse(text)
        #expect(parsed.representations.map(\.id) == ["r0", "r1", "r2", "r3"])
        #expect(parsed.representations.map(\.set) == [0, 0, 0, 1])
        try validate(text)
        // Without the property the second set is an alternative the player cannot switch to.
        let unlinked = text.replacingOccurrences(of: "<SupplementalProperty schemeIdUri=\"urn:mpeg:dash:adaptation-set-switching:2016\" value=\"1\"/>\n", with: "")
            .replacingOccurrences(of: "<SupplementalProperty schemeIdUri=\"urn:mpeg:dash:adaptation-set-switching:2016\" value=\"0\"/>\n", with: "")
        #expect(try MPD.parse(unlinked).representations.map(\.id) == ["r0", "r1", "r2"])
    }

    /// Validates generated MPDs against the DASH schema (ISO/IEC 23009-1, with local copies of the
    /// W3C schemas it imports and a catalog: Tests/ManifestsTests/Schemas), offline, with xmllint.
    @Test("Generated MPDs validate against the DASH MPD schema", arguments: [1, 2, 3])
    func schemaValidation(seed: Int) throws {
        let title = sampleTitle(segments: 5 + seed * 100, lastMicroseconds: Int64(seed) * 1_000_001, seed: seed)
        try validate(MPD.make(title).text)
    }

    func validate(_ text: String) throws {
        let schemas = repositoryRoot.appendingPathComponent("Tests/ManifestsTests/Schemas")
        let xmllint = ["/usr/bin/xmllint", "/usr/local/bin/xmllint"].first { FileManager.default.isExecutableFile(atPath: $0) }
        try #require(xmllint != nil, "xmllint is missing: scripts/setup.sh installs libxml2-utils")
        try #require(FileManager.default.fileExists(atPath: schemas.appendingPathComponent("DASH-MPD.xsd").path), "Tests/ManifestsTests/Schemas is missing")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-\(UUID().uuidString).mpd")
        defer { try? FileManager.default.removeItem(at: file) }
        try text.write(to: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: xmllint!)
        process.arguments = ["--nonet", "--noout", "--schema", schemas.appendingPathComponent("DASH-MPD.xsd").path, file.path]
        process.environment = ["XML_CATALOG_FILES": schemas.appendingPathComponent("catalog.xml").path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "xmllint: \(output)")
    }
}

@Suite("Codec levels")
struct CodecLevelTests {
    /// H.264 Table A-1 × Table A-2's CpbBrVclFactor; H.265 Table A.8 (Main and High tier).
    @Test("A codec string's level gives the standard's maximum bit rate", arguments: [
        ("avc1.640028", 25_000_000.0),      // High, level 4.0: 20,000 × 1,250
        ("avc1.42c01e", 10_000_000),        // Constrained Baseline, level 3.0: 10,000 × 1,000
        ("avc1.4d401f", 14_000_000),        // Main, level 3.1
        ("hvc1.2.4.L153.B0", 40_000_000),   // Main 10, Main tier, level 5.1
        ("hvc1.2.4.H153.B0", 160_000_000),  // High tier
        ("hvc1.2.4.L156.B0", 60_000_000),   // level 5.2
        ("hev1.1.6.L120.90", 12_000_000),   // Main, level 4
    ])
    func limits(codecs: String, bitsPerSecond: Double) {
        #expect(CodecLevel.maximumBitrate(codecs) == bitsPerSecond)
    }

    @Test("Unknown codecs and malformed strings claim nothing", arguments: ["vp09.00.10.08", "av01.0.08M.10", "avc1", "hvc1.2.4", "avc1.zz0028", "hvc1.7.4.L153.B0"])
    func unknown(codecs: String) {
        #expect(CodecLevel.maximumBitrate(codecs) == nil)
    }

    @Test("Levels are named for messages")
    func names() {
        #expect(CodecLevel.describe("hvc1.2.4.L153.B0") == "HEVC Main 10, Main tier, level 5.1")
        #expect(CodecLevel.describe("avc1.640028") == "AVC High, level 4.0")
    }
}
