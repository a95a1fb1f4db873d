/// HTTP Live Streaming (RFC 8216): multivariant and VOD media playlists, built from an
/// ``EncodedTitle``, serialised, and parsed back.
public enum HLS {
    /// How media segments are carried.
    public enum SegmentFormat: String, Sendable, CaseIterable {
        /// Fragmented MP4 (CMAF) with an initialisation segment (EXT-X-MAP); required for HEVC.
        case fmp4
        /// MPEG-2 transport stream, self-initialising.
        case ts
    }

    /// A multivariant playlist and one media playlist per rendition, as a server publishes them.
    public struct Package: Equatable, Sendable {
        public var multivariant: MultivariantPlaylist
        /// Media playlists in rendition order, with the URI the multivariant playlist gives them.
        public var media: [(uri: String, playlist: MediaPlaylist)]

        public static func == (a: Package, b: Package) -> Bool {
            a.multivariant == b.multivariant && a.media.count == b.media.count
                && zip(a.media, b.media).allSatisfy { $0.uri == $1.uri && $0.playlist == $1.playlist }
        }

        /// What a player learns from this package.
        public var description: StreamDescription {
            get throws(ManifestError) { try HLS.describe(multivariant: multivariant, media: media.map(\.playlist)) }
        }
    }

    /// Packages a title: media playlists with exact segment durations, and a multivariant
    /// playlist whose BANDWIDTH is each media playlist's peak segment bit rate and whose
    /// AVERAGE-BANDWIDTH its average segment bit rate (RFC 8216 §4.3.4.2).
    public static func package(_ title: EncodedTitle, format: SegmentFormat = .fmp4) -> Package {
        var media: [(uri: String, playlist: MediaPlaylist)] = []
        var variants: [MultivariantPlaylist.Variant] = []
        let extension_ = format == .fmp4 ? "m4s" : "ts"
        for (r, rendition) in title.renditions.enumerated() {
            let segments = title.segmentDurations.enumerated().map { i, d in
                MediaPlaylist.Segment(duration: d, uri: "seg-\(i + 1).\(extension_)")
            }
            var playlist = MediaPlaylist(targetDuration: MediaPlaylist.targetDuration(for: title.segmentDurations),
                                         playlistType: .vod, independentSegments: true,
                                         map: format == .fmp4 ? "init.mp4" : nil, segments: segments, endList: true)
            playlist.version = playlist.requiredVersion
            let uri = "\(rendition.id)/playlist.m3u8"
            media.append((uri, playlist))
            variants.append(MultivariantPlaylist.Variant(
                bandwidth: peakSegmentBitRate(durations: title.segmentDurations, sizes: title.segmentSizes[r],
                                              targetDuration: playlist.targetDuration),
                averageBandwidth: averageSegmentBitRate(durations: title.segmentDurations, sizes: title.segmentSizes[r]),
                codecs: rendition.codecs, resolution: .init(width: rendition.width, height: rendition.height),
                // Stored as written: HLS gives frame rates three decimals.
                frameRate: (rendition.frameRate * 1_000).rounded() / 1_000, uri: uri))
        }
        var multivariant = MultivariantPlaylist(independentSegments: true, variants: variants)
        multivariant.version = multivariant.requiredVersion
        return Package(multivariant: multivariant, media: media)
    }

    /// The largest bit rate, in bits per second (rounded up), of any run of consecutive segments
    /// lasting 0.5 to 1.5 times the target duration, both inclusive (RFC 8216 §4.1, "peak segment
    /// bit rate"). The bit rate of a run is its total size over its total duration.
    /// - Complexity: O(n · k), k the most segments in one run (a handful).
    public static func peakSegmentBitRate(durations: [Int64], sizes: [Int], targetDuration: Int) -> Int {
        precondition(durations.count == sizes.count && !durations.isEmpty, "one size per segment")
        let low = Int64(targetDuration) * 500_000   // 0.5 × target, in microseconds
        let high = Int64(targetDuration) * 1_500_000
        var best = 0
        for start in durations.indices {
            var duration: Int64 = 0
            var bits: Int64 = 0
            for end in start..<durations.count {
                duration += durations[end]
                bits += Int64(sizes[end]) * 8
                if duration > high { break }
                if duration >= low { best = max(best, ceilDivide(bits * 1_000_000, duration)) }
            }
        }
        return best
    }

    /// Total bits over total duration, in bits per second, rounded up (RFC 8216 §4.1, "average
    /// segment bit rate").
    public static func averageSegmentBitRate(durations: [Int64], sizes: [Int]) -> Int {
        let bits = sizes.reduce(Int64(0)) { $0 + Int64($1) * 8 }
        return ceilDivide(bits * 1_000_000, durations.reduce(0, +))
    }

    /// The description a player needs, from a parsed multivariant playlist and its media
    /// playlists (in variant order). Variants are sorted by bandwidth.
    public static func describe(multivariant: MultivariantPlaylist, media: [MediaPlaylist]) throws(ManifestError) -> StreamDescription {
        guard multivariant.variants.count == media.count, !media.isEmpty else {
            throw ManifestError(line: 0, "need one media playlist per variant: \(multivariant.variants.count) variants, \(media.count) playlists")
        }
        let durations = media[0].segments.map(\.duration)
        for (i, m) in media.enumerated() where m.segments.map(\.duration) != durations {
            throw ManifestError(line: 0, "variant \(i) has different segment boundaries; aligned segments are required")
        }
        let variants = multivariant.variants.map { v in
            StreamDescription.Variant(bandwidth: v.bandwidth, averageBandwidth: v.averageBandwidth,
                                      width: v.resolution?.width ?? 0, height: v.resolution?.height ?? 0,
                                      codecs: v.codecs ?? "", location: v.uri)
        }.sorted { $0.bandwidth < $1.bandwidth }
        return StreamDescription(variants: variants, segmentDurations: durations)
    }
}

func ceilDivide(_ a: Int64, _ b: Int64) -> Int { Int((a + b - 1) / b) }

// MARK: Multivariant playlist

/// An HLS multivariant playlist (RFC 8216 §4.3.4).
public struct MultivariantPlaylist: Equatable, Sendable {
    public struct Resolution: Equatable, Sendable {
        public var width: Int
        public var height: Int
    }

    /// One EXT-X-STREAM-INF and its URI.
    public struct Variant: Equatable, Sendable {
        public var bandwidth: Int
        public var averageBandwidth: Int?
        public var codecs: String?
        public var resolution: Resolution?
        public var frameRate: Double?
        public var uri: String
    }

    /// EXT-X-VERSION; 1 when the tag is absent.
    public var version: Int = 1
    public var independentSegments: Bool
    public var variants: [Variant]

    public init(version: Int = 1, independentSegments: Bool, variants: [Variant]) {
        self.version = version
        self.independentSegments = independentSegments
        self.variants = variants
    }

    /// The lowest version the features used require: none of the multivariant tags and
    /// attributes written here needs more than version 1 (RFC 8216 §7).
    public var requiredVersion: Int { 1 }

    public var text: String {
        var out = "#EXTM3U\n"
        if version > 1 { out += "#EXT-X-VERSION:\(version)\n" }
        if independentSegments { out += "#EXT-X-INDEPENDENT-SEGMENTS\n" }
        for v in variants {
            var attributes = ["BANDWIDTH=\(v.bandwidth)"]
            if let a = v.averageBandwidth { attributes.append("AVERAGE-BANDWIDTH=\(a)") }
            if let c = v.codecs { attributes.append("CODECS=\"\(c)\"") }
            if let r = v.resolution { attributes.append("RESOLUTION=\(r.width)x\(r.height)") }
            if let f = v.frameRate { attributes.append("FRAME-RATE=\(FrameRate.format(f))") }
            out += "#EXT-X-STREAM-INF:" + attributes.joined(separator: ",") + "\n" + v.uri + "\n"
        }
        return out
    }

    /// Parses a multivariant playlist.
    /// - Throws: ``ManifestError`` with the line of the first problem.
    public static func parse(_ text: String) throws(ManifestError) -> MultivariantPlaylist {
        var lines = PlaylistLines(text)
        try lines.expectHeader()
        var version: Int?
        var independent = false
        var variants: [Variant] = []
        var pending: (line: Int, variant: Variant)?
        while let (n, line) = lines.next() {
            if let rest = line.after("#EXT-X-STREAM-INF:") {
                if let p = pending { throw ManifestError(line: p.line, "EXT-X-STREAM-INF is not followed by a URI") }
                let attributes = try AttributeList.parse(rest, line: n)
                guard let bandwidth = try attributes.integer("BANDWIDTH") else {
                    throw ManifestError(line: n, "EXT-X-STREAM-INF needs a BANDWIDTH attribute")
                }
                pending = (n, Variant(bandwidth: bandwidth, averageBandwidth: try attributes.integer("AVERAGE-BANDWIDTH"),
                                      codecs: try attributes.quoted("CODECS"), resolution: try attributes.resolution("RESOLUTION"),
                                      frameRate: try attributes.decimal("FRAME-RATE"), uri: ""))
            } else if let rest = line.after("#EXT-X-VERSION:") {
                guard version == nil else { throw ManifestError(line: n, "more than one EXT-X-VERSION") }
                guard let v = rest.integer, v >= 1 else {
                    throw ManifestError(line: n, "EXT-X-VERSION needs a positive integer, got '\(rest.text)'")
                }
                version = v
            } else if line.equals("#EXT-X-INDEPENDENT-SEGMENTS") {
                independent = true
            } else if line.starts("#EXTINF") || line.starts("#EXT-X-TARGETDURATION") {
                throw ManifestError(line: n, "a media playlist tag in a multivariant playlist")
            } else if line.first == UInt8(ascii: "#") {
                continue  // comments and unrecognised tags are ignored (RFC 8216 §4.1)
            } else {
                guard var p = pending else { throw ManifestError(line: n, "a URI without EXT-X-STREAM-INF") }
                p.variant.uri = line.text
                variants.append(p.variant)
                pending = nil
            }
        }
        if let p = pending { throw ManifestError(line: p.line, "EXT-X-STREAM-INF is not followed by a URI") }
        guard !variants.isEmpty else { throw ManifestError(line: 0, "no EXT-X-STREAM-INF: not a multivariant playlist") }
        return MultivariantPlaylist(version: version ?? 1, independentSegments: independent, variants: variants)
    }
}

// MARK: Media playlist

/// An HLS media playlist (RFC 8216 §4.3.3).
public struct MediaPlaylist: Equatable, Sendable {
    public enum PlaylistType: String, Sendable { case vod = "VOD", event = "EVENT" }

    public struct Segment: Equatable, Sendable {
        /// Duration in microseconds, as EXTINF declares it.
        public var duration: Int64
        public var uri: String
    }

    /// EXT-X-VERSION; 1 when absent.
    public var version: Int = 1
    public var targetDuration: Int
    public var mediaSequence: Int = 0
    public var playlistType: PlaylistType?
    public var independentSegments: Bool
    /// The initialisation segment (EXT-X-MAP URI), for fragmented MP4.
    public var map: String?
    public var segments: [Segment]
    public var endList: Bool

    public init(version: Int = 1, targetDuration: Int, mediaSequence: Int = 0, playlistType: PlaylistType?,
                independentSegments: Bool, map: String?, segments: [Segment], endList: Bool) {
        self.version = version
        self.targetDuration = targetDuration
        self.mediaSequence = mediaSequence
        self.playlistType = playlistType
        self.independentSegments = independentSegments
        self.map = map
        self.segments = segments
        self.endList = endList
    }

    /// EXT-X-TARGETDURATION for these segments: the largest duration rounded to the nearest whole
    /// second (halves up), so that every rounded EXTINF is at most the target (RFC 8216 §4.3.3.1).
    public static func targetDuration(for durations: [Int64]) -> Int {
        max(1, Int((durations.max()! + 500_000) / 1_000_000))
    }

    /// The lowest protocol version the features used require (RFC 8216 §7): 3 for
    /// floating-point EXTINF durations, 6 for EXT-X-MAP in a playlist that is not I-frames-only.
    public var requiredVersion: Int {
        var v = 1
        if segments.contains(where: { $0.duration % 1_000_000 != 0 }) { v = max(v, 3) }
        if map != nil { v = max(v, 6) }
        return v
    }

    /// The playlist text. Written into a byte buffer: a feature-length title has a thousand
    /// segments per rendition, and string interpolation per line would dominate loading a title.
    public var text: String {
        var out: [UInt8] = []
        out.reserveCapacity(160 + segments.count * (24 + (segments.first?.uri.utf8.count ?? 0)))
        func put(_ s: String) { out.append(contentsOf: s.utf8) }
        put("#EXTM3U\n")
        if version > 1 { put("#EXT-X-VERSION:\(version)\n") }
        put("#EXT-X-TARGETDURATION:\(targetDuration)\n")
        if mediaSequence != 0 { put("#EXT-X-MEDIA-SEQUENCE:\(mediaSequence)\n") }
        if let t = playlistType { put("#EXT-X-PLAYLIST-TYPE:\(t.rawValue)\n") }
        if independentSegments { put("#EXT-X-INDEPENDENT-SEGMENTS\n") }
        if let m = map { put("#EXT-X-MAP:URI=\"\(m)\"\n") }
        for s in segments {
            out.append(contentsOf: "#EXTINF:".utf8)
            // Before version 3, durations are integers.
            if version >= 3 {
                DecimalSeconds.write(s.duration, into: &out)
            } else {
                DecimalSeconds.writeInteger((s.duration + 500_000) / 1_000_000, into: &out)
            }
            out.append(UInt8(ascii: ","))
            out.append(10)
            out.append(contentsOf: s.uri.utf8)
            out.append(10)
        }
        if endList { put("#EXT-X-ENDLIST\n") }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses a media playlist, checking the rules a server must follow: a target duration, every
    /// rounded EXTINF within it, and a version that covers the features used.
    /// - Complexity: O(length), on the text's UTF-8 bytes.
    public static func parse(_ text: String) throws(ManifestError) -> MediaPlaylist {
        var lines = PlaylistLines(text)
        try lines.expectHeader()
        var version: (Int, line: Int)?
        var target: Int?
        var sequence = 0
        var type: PlaylistType?
        var independent = false
        var map: String?
        var mapLine = 0
        var segments: [Segment] = []
        var segmentLines: [Int] = []
        var pendingDuration: (line: Int, duration: Int64)?
        var endList = false
        var fractionalLine = 0
        while let (n, line) = lines.next() {
            if endList && line.first != UInt8(ascii: "#") { throw ManifestError(line: n, "a segment after EXT-X-ENDLIST") }
            if let value = line.after("#EXTINF:") {
                if let p = pendingDuration { throw ManifestError(line: p.line, "EXTINF is not followed by a URI") }
                let durationText = value.upTo(UInt8(ascii: ","))
                guard let d = DecimalSeconds.parse(durationText), d > 0 else {
                    throw ManifestError(line: n, "EXTINF needs a positive duration in seconds, got '\(durationText.text)'")
                }
                if fractionalLine == 0 && durationText.bytes.contains(UInt8(ascii: ".")) { fractionalLine = n }
                pendingDuration = (n, d)
            } else if let rest = line.after("#EXT-X-TARGETDURATION:") {
                guard let t = rest.integer, t > 0 else {
                    throw ManifestError(line: n, "EXT-X-TARGETDURATION needs a positive integer of seconds")
                }
                target = t
            } else if let rest = line.after("#EXT-X-VERSION:") {
                guard version == nil else { throw ManifestError(line: n, "more than one EXT-X-VERSION") }
                guard let v = rest.integer, v >= 1 else { throw ManifestError(line: n, "EXT-X-VERSION needs a positive integer") }
                version = (v, n)
            } else if let rest = line.after("#EXT-X-MEDIA-SEQUENCE:") {
                guard let s = rest.integer, s >= 0 else {
                    throw ManifestError(line: n, "EXT-X-MEDIA-SEQUENCE needs a non-negative integer")
                }
                sequence = s
            } else if let rest = line.after("#EXT-X-PLAYLIST-TYPE:") {
                guard let t = PlaylistType(rawValue: rest.text) else {
                    throw ManifestError(line: n, "EXT-X-PLAYLIST-TYPE must be VOD or EVENT")
                }
                type = t
            } else if let rest = line.after("#EXT-X-MAP:") {
                let attributes = try AttributeList.parse(rest, line: n)
                guard let uri = try attributes.quoted("URI") else { throw ManifestError(line: n, "EXT-X-MAP needs a URI") }
                map = uri
                mapLine = n
            } else if line.equals("#EXT-X-INDEPENDENT-SEGMENTS") {
                independent = true
            } else if line.equals("#EXT-X-ENDLIST") {
                endList = true
            } else if line.starts("#EXT-X-STREAM-INF") {
                throw ManifestError(line: n, "a multivariant playlist tag in a media playlist")
            } else if line.first == UInt8(ascii: "#") {
                continue
            } else {
                guard let p = pendingDuration else { throw ManifestError(line: n, "a segment URI without EXTINF") }
                segments.append(Segment(duration: p.duration, uri: line.text))
                segmentLines.append(p.line)
                pendingDuration = nil
            }
        }
        if let p = pendingDuration { throw ManifestError(line: p.line, "EXTINF is not followed by a URI") }
        guard let target else { throw ManifestError(line: 0, "no EXT-X-TARGETDURATION: a media playlist needs one") }
        guard !segments.isEmpty else { throw ManifestError(line: 0, "no segments") }
        let declared = version?.0 ?? 1
        if fractionalLine > 0 && declared < 3 {
            throw ManifestError(line: fractionalLine, "a fractional EXTINF duration needs EXT-X-VERSION 3 or higher, the playlist declares \(declared)")
        }
        if map != nil && declared < 6 {
            throw ManifestError(line: mapLine, "EXT-X-MAP needs EXT-X-VERSION 6 or higher, the playlist declares \(declared)")
        }
        for (i, s) in segments.enumerated() where (s.duration + 500_000) / 1_000_000 > Int64(target) {
            throw ManifestError(line: segmentLines[i], "segment \(i + 1) lasts \(DecimalSeconds.format(s.duration)) s, more than the target duration \(target) s")
        }
        return MediaPlaylist(version: declared, targetDuration: target, mediaSequence: sequence, playlistType: type,
                             independentSegments: independent, map: map, segments: segments, endList: endList)
    }
}

// MARK: Lexing

/// A run of a playlist's UTF-8 bytes: a line, or part of one. Playlists are ASCII in all that
/// vodsim reads (tags, attributes, numbers), so parsing works on bytes, which is many times faster
/// than on Swift's Characters; text is decoded only for URIs, attribute strings and messages.
struct Bytes {
    let bytes: ArraySlice<UInt8>

    var first: UInt8? { bytes.first }
    var isEmpty: Bool { bytes.isEmpty }
    var text: String { String(decoding: bytes, as: UTF8.self) }

    func starts(_ prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard bytes.count >= n else { return false }
        return prefix.withUTF8Buffer { p in
            var i = bytes.startIndex
            for b in p {
                if bytes[i] != b { return false }
                i += 1
            }
            return true
        }
    }

    func equals(_ other: StaticString) -> Bool { bytes.count == other.utf8CodeUnitCount && starts(other) }

    /// What follows `prefix`, if the bytes start with it.
    func after(_ prefix: StaticString) -> Bytes? {
        starts(prefix) ? Bytes(bytes: bytes.dropFirst(prefix.utf8CodeUnitCount)) : nil
    }

    /// The bytes before the first `separator` (all of them if there is none).
    func upTo(_ separator: UInt8) -> Bytes {
        Bytes(bytes: bytes[bytes.startIndex..<(bytes.firstIndex(of: separator) ?? bytes.endIndex)])
    }

    /// A non-negative decimal integer, or `nil`.
    var integer: Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for b in bytes {
            guard b >= 48 && b <= 57 else { return nil }
            value = value * 10 + Int(b - 48)
        }
        return value
    }
}

/// The lines of a playlist with their numbers, blank lines skipped.
struct PlaylistLines {
    let storage: [UInt8]
    var ranges: [Range<Int>] = []
    var index = 0

    init(_ text: String) {
        storage = Array(text.utf8)
        var start = 0
        for i in storage.indices where storage[i] == 10 {
            ranges.append(start..<i)
            start = i + 1
        }
        if start < storage.count { ranges.append(start..<storage.count) }
    }

    func line(_ k: Int) -> Bytes {
        var r = ranges[k]
        if r.upperBound > r.lowerBound && storage[r.upperBound - 1] == 13 { r = r.lowerBound..<(r.upperBound - 1) }
        return Bytes(bytes: storage[r])
    }

    mutating func expectHeader() throws(ManifestError) {
        guard !ranges.isEmpty, line(0).equals("#EXTM3U") else { throw ManifestError(line: 1, "a playlist must start with #EXTM3U") }
        index = 1
    }

    mutating func next() -> (Int, Bytes)? {
        while index < ranges.count {
            let l = line(index)
            index += 1
            if !l.bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { return (index, l) }
        }
        return nil
    }
}

/// An attribute list (RFC 8216 §4.2): NAME=value pairs separated by commas; quoted strings may
/// contain commas.
struct AttributeList {
    var pairs: [(String, Bytes)] = []
    let line: Int

    static func parse(_ text: Bytes, line: Int) throws(ManifestError) -> AttributeList {
        var list = AttributeList(line: line)
        var rest = text.bytes
        let equalsSign = UInt8(ascii: "="), quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: equalsSign) else {
                throw ManifestError(line: line, "malformed attribute list near '\(Bytes(bytes: rest.prefix(20)).text)'")
            }
            let nameBytes = rest[rest.startIndex..<equals]
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard !nameBytes.isEmpty, nameBytes.allSatisfy({ ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 }) else {
                throw ManifestError(line: line, "malformed attribute name '\(name)'")
            }
            rest = rest[(equals + 1)...]
            let value: ArraySlice<UInt8>
            if rest.first == quote {
                guard let close = rest[(rest.startIndex + 1)...].firstIndex(of: quote) else {
                    throw ManifestError(line: line, "unterminated quoted string in \(name)")
                }
                value = rest[rest.startIndex...close]
                rest = rest[(close + 1)...]
            } else {
                let end = rest.firstIndex(of: comma) ?? rest.endIndex
                value = rest[rest.startIndex..<end]
                rest = rest[end...]
            }
            list.pairs.append((name, Bytes(bytes: value)))
            if rest.first == comma { rest = rest.dropFirst() } else if !rest.isEmpty {
                throw ManifestError(line: line, "expected ',' after \(name)")
            }
        }
        return list
    }

    func raw(_ name: String) -> Bytes? { pairs.first { $0.0 == name }?.1 }

    func integer(_ name: String) throws(ManifestError) -> Int? {
        guard let v = raw(name) else { return nil }
        guard let i = v.integer else { throw ManifestError(line: line, "\(name) needs a decimal integer, got '\(v.text)'") }
        return i
    }

    func decimal(_ name: String) throws(ManifestError) -> Double? {
        guard let v = raw(name) else { return nil }
        guard let d = Double(v.text), d >= 0, v.first != UInt8(ascii: "+") else {
            throw ManifestError(line: line, "\(name) needs a decimal number, got '\(v.text)'")
        }
        return d
    }

    func quoted(_ name: String) throws(ManifestError) -> String? {
        guard let v = raw(name) else { return nil }
        let quote = UInt8(ascii: "\"")
        guard v.bytes.count >= 2, v.bytes.first == quote, v.bytes.last == quote else {
            throw ManifestError(line: line, "\(name) needs a quoted string, got \(v.text)")
        }
        return String(decoding: v.bytes.dropFirst().dropLast(), as: UTF8.self)
    }

    func resolution(_ name: String) throws(ManifestError) -> MultivariantPlaylist.Resolution? {
        guard let v = raw(name) else { return nil }
        let x = UInt8(ascii: "x")
        guard let sep = v.bytes.firstIndex(of: x),
              let w = Bytes(bytes: v.bytes[v.bytes.startIndex..<sep]).integer, let h = Bytes(bytes: v.bytes[(sep + 1)...]).integer,
              w > 0, h > 0 else {
            throw ManifestError(line: line, "\(name) needs WIDTHxHEIGHT, got '\(v.text)'")
        }
        return .init(width: w, height: h)
    }
}

/// Frame rates with three decimals, as HLS writes them (`24.000`, `29.970`).
enum FrameRate {
    static func format(_ fps: Double) -> String {
        let milli = Int((fps * 1_000).rounded())
        let fraction = String(milli % 1_000)
        return "\(milli / 1_000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }
}
