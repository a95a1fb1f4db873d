/// MPEG-DASH (ISO/IEC 23009-1): a static MPD with a video AdaptationSet per codec family, a
/// Representation per rung and a `$Number$` SegmentTemplate; built from an ``EncodedTitle``,
/// serialised, and parsed.
///
/// Representations of different codecs (AVC and HEVC) sit in different AdaptationSets: within a
/// set a player switches seamlessly, across codecs it must reinitialise its decoder (DASH-IF
/// IOP §3.2.10). The sets signal that switching between them is allowed (a `SupplementalProperty`
/// `urn:mpeg:dash:adaptation-set-switching:2016`, IOP §3.8), so a player may still climb from the
/// AVC rungs to the HEVC one.
public struct MPD: Equatable, Sendable {
    public struct Representation: Equatable, Sendable {
        public var id: String
        /// The DASH @bandwidth: the lowest constant bit rate at which the representation plays
        /// without a stall once `minBufferTime` worth of it is buffered.
        public var bandwidth: Int
        public var width: Int
        public var height: Int
        public var codecs: String
        public var mimeType: String
        public var frameRate: String?
        /// The @id of the AdaptationSet it is in.
        public var set: Int = 0
    }

    /// The scheme by which AdaptationSets say a player may switch between them.
    public static let switchingScheme = "urn:mpeg:dash:adaptation-set-switching:2016"

    /// `SegmentTemplate` with a constant @duration: every segment but the last lasts `duration`.
    public struct SegmentTemplate: Equatable, Sendable {
        public var timescale: Int64
        public var duration: Int64
        public var startNumber: Int
        public var media: String
        public var initialization: String?
    }

    public static let namespace = "urn:mpeg:dash:schema:mpd:2011"
    /// The live profile is the one for SegmentTemplate addressing, static presentations included.
    public static let liveProfile = "urn:mpeg:dash:profile:isoff-live:2011"

    public var profiles: String
    public var type: String
    /// Microseconds.
    public var minBufferTime: Int64
    /// Microseconds.
    public var mediaPresentationDuration: Int64
    public var template: SegmentTemplate
    /// Lowest bandwidth first.
    public var representations: [Representation]

    public init(profiles: String, type: String, minBufferTime: Int64, mediaPresentationDuration: Int64,
                template: SegmentTemplate, representations: [Representation]) {
        self.profiles = profiles
        self.type = type
        self.minBufferTime = minBufferTime
        self.mediaPresentationDuration = mediaPresentationDuration
        self.template = template
        self.representations = representations
    }

    /// The MPD of a title. Segments must be uniform (all equal but a shorter last one), which
    /// `$Number$` addressing with a constant @duration needs.
    public static func make(_ title: EncodedTitle) -> MPD {
        precondition(title.isUniform, "$Number$ addressing needs uniform segments")
        let nominal = title.nominalSegmentDuration
        // Milliseconds when exact, else microseconds.
        let timescale: Int64 = title.segmentDurations.allSatisfy { $0 % 1_000 == 0 } ? 1_000 : 1_000_000
        let template = SegmentTemplate(timescale: timescale, duration: nominal * timescale / 1_000_000, startNumber: 1,
                                       media: "$RepresentationID$/seg-$Number$.m4s",
                                       initialization: "$RepresentationID$/init.mp4")
        // One set per codec family (the sample entry before the first dot: avc1, hvc1...), in the
        // order the ladder first uses them.
        var families: [Substring] = []
        for r in title.renditions where !families.contains(codecFamily(r.codecs)) { families.append(codecFamily(r.codecs)) }
        let representations = title.renditions.enumerated().map { r, rendition in
            Representation(id: rendition.id,
                           bandwidth: dashBandwidth(durations: title.segmentDurations, sizes: title.segmentSizes[r], minBufferTime: nominal),
                           width: rendition.width, height: rendition.height, codecs: rendition.codecs, mimeType: "video/mp4",
                           frameRate: FrameRateText.format(rendition.frameRate), set: families.firstIndex(of: codecFamily(rendition.codecs))!)
        }
        return MPD(profiles: liveProfile, type: "static", minBufferTime: nominal, mediaPresentationDuration: title.duration,
                   template: template, representations: representations)
    }

    static func codecFamily(_ codecs: String) -> Substring { codecs.split(separator: ".", maxSplits: 1).first ?? Substring(codecs) }

    /// The @bandwidth of ISO/IEC 23009-1 §5.3.5.2: the smallest B (bits/s) such that, delivered at
    /// B from any segment boundary j, every later segment k arrives before its play-out time
    /// when play-out starts after `minBufferTime`:
    /// bits(j...k) ≤ B · (minBufferTime + duration(j..<k)) for all j ≤ k.
    ///
    /// For a given B the condition is checked in one pass, keeping the minimum over j of
    /// bits(<j) − B·start(j); B is then found by bisection over integers, exactly in 64-bit
    /// arithmetic (bits × 10⁶ against B × microseconds).
    /// - Complexity: O(n log B).
    public static func dashBandwidth(durations: [Int64], sizes: [Int], minBufferTime: Int64) -> Int {
        precondition(minBufferTime > 0, "minBufferTime must be positive")
        let largestBits = Int64(sizes.max() ?? 0) * 8
        func feasible(_ b: Int64) -> Bool {
            var bitsBefore: Int64 = 0   // bits of segments before k
            var start: Int64 = 0        // start time of segment k, microseconds
            var best = Int64.max        // min over j ≤ k of bitsBefore(j)·10⁶ − B·start(j)
            for k in durations.indices {
                best = min(best, bitsBefore * 1_000_000 - b * start)
                let bitsThrough = bitsBefore + Int64(sizes[k]) * 8
                // bits(j...k)·10⁶ ≤ B·(m + start(k) − start(j))  ⇔  bitsThrough·10⁶ − B·(start(k) + m) ≤ best
                if bitsThrough * 1_000_000 - b * (start + minBufferTime) > best { return false }
                bitsBefore = bitsThrough
                start += durations[k]
            }
            return true
        }
        // The largest segment over minBufferTime is enough whenever segments last at least
        // minBufferTime (as vodsim's do); doubling covers other shapes. Staying near the answer
        // keeps B × microseconds far from overflow (25 Mbps for 24 h is below 10^18).
        var lo: Int64 = 0
        var hi: Int64 = max(1, Int64(ceilDivide(largestBits * 1_000_000, minBufferTime)))
        while !feasible(hi) { hi *= 2 }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if feasible(mid) { hi = mid } else { lo = mid }
        }
        return Int(hi)
    }

    /// The durations of all segments, in microseconds: constant @duration, the last one shorter.
    public var segmentDurations: [Int64] {
        let d = template.duration * 1_000_000 / template.timescale
        guard d > 0 else { return [] }
        let count = Int((mediaPresentationDuration + d - 1) / d)
        var out = [Int64](repeating: d, count: count)
        if count > 0 { out[count - 1] = mediaPresentationDuration - d * Int64(count - 1) }
        return out
    }

    /// What a player learns from this MPD.
    public var description: StreamDescription {
        StreamDescription(
            variants: representations.map {
                .init(bandwidth: $0.bandwidth, averageBandwidth: nil, width: $0.width, height: $0.height, codecs: $0.codecs, location: $0.id)
            }.sorted { $0.bandwidth < $1.bandwidth },
            segmentDurations: segmentDurations)
    }

    // MARK: Text

    public var text: String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<MPD xmlns=\"\(MPD.namespace)\" profiles=\"\(xmlEscaped(profiles))\" type=\"\(type)\""
        out += " minBufferTime=\"\(ISODuration.format(minBufferTime))\" mediaPresentationDuration=\"\(ISODuration.format(mediaPresentationDuration))\">\n"
        out += "  <Period id=\"0\" start=\"PT0S\">\n"
        var sets: [Int] = []
        for r in representations where !sets.contains(r.set) { sets.append(r.set) }
        for set in sets.sorted() {
            let members = representations.filter { $0.set == set }
            out += "    <AdaptationSet id=\"\(set)\" contentType=\"video\" mimeType=\"video/mp4\" segmentAlignment=\"true\" startWithSAP=\"1\""
            out += " maxWidth=\"\(members.map(\.width).max() ?? 0)\" maxHeight=\"\(members.map(\.height).max() ?? 0)\">\n"
            let others = sets.sorted().filter { $0 != set }
            if !others.isEmpty {
                out += "      <SupplementalProperty schemeIdUri=\"\(MPD.switchingScheme)\" value=\"\(others.map(String.init).joined(separator: ","))\"/>\n"
            }
            out += "      <SegmentTemplate timescale=\"\(template.timescale)\" duration=\"\(template.duration)\" startNumber=\"\(template.startNumber)\""
            if let initialization = template.initialization { out += " initialization=\"\(xmlEscaped(initialization))\"" }
            out += " media=\"\(xmlEscaped(template.media))\"/>\n"
            for r in members {
                out += "      <Representation id=\"\(xmlEscaped(r.id))\" bandwidth=\"\(r.bandwidth)\" width=\"\(r.width)\" height=\"\(r.height)\""
                out += " codecs=\"\(xmlEscaped(r.codecs))\" mimeType=\"\(xmlEscaped(r.mimeType))\""
                if let f = r.frameRate { out += " frameRate=\"\(f)\"" }
                out += "/>\n"
            }
            out += "    </AdaptationSet>\n"
        }
        out += "  </Period>\n</MPD>\n"
        return out
    }

    /// Parses an MPD of the shape vodsim serves: static, one Period, video AdaptationSets with a
    /// `$Number$` SegmentTemplate (on the AdaptationSet or repeated on each Representation). A
    /// player takes the first video set and the sets that signal switching with it
    /// (``switchingScheme``, either way round); other sets are alternatives it cannot switch to
    /// during playback, and are left out.
    public static func parse(_ text: String) throws(ManifestError) -> MPD {
        let root = try XMLReader.parse(text)
        guard root.name == "MPD" else { throw ManifestError(line: root.line, "the root element is <\(root.name)>, not <MPD>") }
        guard root.attribute("xmlns") == namespace else {
            throw ManifestError(line: root.line, "<MPD> is not in the DASH namespace \(namespace)")
        }
        func required(_ element: XMLElement, _ name: String) throws(ManifestError) -> String {
            guard let v = element.attribute(name) else { throw ManifestError(line: element.line, "<\(element.name)> needs @\(name)") }
            return v
        }
        func integer(_ element: XMLElement, _ name: String) throws(ManifestError) -> Int64 {
            let v = try required(element, name)
            guard let i = Int64(v), i >= 0 else { throw ManifestError(line: element.line, "@\(name) of <\(element.name)> needs a non-negative integer, got '\(v)'") }
            return i
        }
        func duration(_ element: XMLElement, _ name: String) throws(ManifestError) -> Int64 {
            let v = try required(element, name)
            guard let d = ISODuration.parse(v) else { throw ManifestError(line: element.line, "@\(name) is not an ISO 8601 duration: '\(v)'") }
            return d
        }
        let profiles = try required(root, "profiles")
        let type = root.attribute("type") ?? "static"
        guard type == "static" else { throw ManifestError(line: root.line, "only static (on-demand) MPDs are supported, this one is \(type)") }
        let minBufferTime = try duration(root, "minBufferTime")
        let presentation = try duration(root, "mediaPresentationDuration")
        let periods = root.children(named: "Period")
        guard periods.count == 1 else { throw ManifestError(line: root.line, "expected one <Period>, found \(periods.count)") }
        let all = periods[0].children(named: "AdaptationSet")
        let video = all.filter { ($0.attribute("contentType") ?? $0.attribute("mimeType") ?? "").hasPrefix("video") }
        guard let first = video.first ?? all.first else {
            throw ManifestError(line: periods[0].line, "no <AdaptationSet>")
        }
        func switchable(_ set: XMLElement) -> [String] {
            set.children(named: "SupplementalProperty").filter { $0.attribute("schemeIdUri") == switchingScheme }
                .flatMap { ($0.attribute("value") ?? "").split(separator: ",").map { String($0.filter { $0 != " " }) } }
        }
        let firstID = first.attribute("id")
        let candidates = video.isEmpty ? [first] : video
        let sets = candidates.indices.filter { i in
            i == 0 || (firstID.map { switchable(candidates[i]).contains($0) } ?? false)
                || (candidates[i].attribute("id").map { switchable(first).contains($0) } ?? false)
        }.map { candidates[$0] }
        var representations: [Representation] = []
        var template: SegmentTemplate?
        func readTemplate(_ t: XMLElement) throws(ManifestError) -> SegmentTemplate {
            let media = try required(t, "media")
            guard media.contains("$Number$") else { throw ManifestError(line: t.line, "only $Number$ templates are supported, @media is '\(media)'") }
            guard t.children(named: "SegmentTimeline").isEmpty else { throw ManifestError(line: t.line, "SegmentTimeline is not supported") }
            let timescale = t.attribute("timescale") == nil ? 1 : try integer(t, "timescale")
            let duration = try integer(t, "duration")
            guard timescale > 0, duration > 0 else { throw ManifestError(line: t.line, "@timescale and @duration must be positive") }
            return SegmentTemplate(timescale: timescale, duration: duration,
                                   startNumber: t.attribute("startNumber") == nil ? 1 : Int(try integer(t, "startNumber")),
                                   media: media, initialization: t.attribute("initialization"))
        }
        for set in sets {
            if let t = set.children(named: "SegmentTemplate").first {
                let own = try readTemplate(t)
                if let shared = template, shared != own { throw ManifestError(line: t.line, "adaptation sets with different segment templates are not supported") }
                template = own
            }
            let setID = set.attribute("id").flatMap { Int($0) } ?? 0
            for r in set.children(named: "Representation") {
                if let t = r.children(named: "SegmentTemplate").first {
                    let own = try readTemplate(t)
                    if let shared = template, shared != own { throw ManifestError(line: t.line, "representations with different segment templates are not supported") }
                    template = own
                }
                guard let codecs = r.attribute("codecs") ?? set.attribute("codecs") else {
                    throw ManifestError(line: r.line, "<Representation> \(r.attribute("id") ?? "") has no @codecs")
                }
                representations.append(Representation(
                    id: try required(r, "id"), bandwidth: Int(try integer(r, "bandwidth")),
                    width: Int(try integer(r, "width")), height: Int(try integer(r, "height")), codecs: codecs,
                    mimeType: r.attribute("mimeType") ?? set.attribute("mimeType") ?? "video/mp4",
                    frameRate: r.attribute("frameRate"), set: setID))
            }
        }
        guard !representations.isEmpty else { throw ManifestError(line: first.line, "<AdaptationSet> has no <Representation>") }
        guard let template else { throw ManifestError(line: first.line, "no <SegmentTemplate>") }
        return MPD(profiles: profiles, type: type, minBufferTime: minBufferTime, mediaPresentationDuration: presentation,
                   template: template, representations: representations.sorted { $0.bandwidth < $1.bandwidth })
    }
}

/// ISO 8601 durations as DASH writes them: `PT1H2M3.5S`; microsecond precision.
enum ISODuration {
    static func format(_ microseconds: Int64) -> String {
        let hours = microseconds / 3_600_000_000
        let minutes = microseconds % 3_600_000_000 / 60_000_000
        let rest = microseconds % 60_000_000
        var out = "PT"
        if hours > 0 { out += "\(hours)H" }
        if minutes > 0 { out += "\(minutes)M" }
        if rest > 0 || (hours == 0 && minutes == 0) { out += DecimalSeconds.format(rest, minimumDecimals: 0) + "S" }
        return out
    }

    /// `PnDTnHnMnS` with whole days, hours and minutes and decimal seconds (no years or months,
    /// whose length is ambiguous).
    static func parse(_ text: String) -> Int64? {
        var rest = Substring(text)
        guard rest.hasPrefix("P") else { return nil }
        rest = rest.dropFirst()
        var total: Int64 = 0
        var inTime = false
        var sawComponent = false
        while !rest.isEmpty {
            if rest.first == "T" {
                guard !inTime else { return nil }
                inTime = true
                rest = rest.dropFirst()
                continue
            }
            guard let unitIndex = rest.firstIndex(where: { $0.isLetter }) else { return nil }
            let number = rest[..<unitIndex]
            let unit = rest[unitIndex]
            rest = rest[rest.index(after: unitIndex)...]
            sawComponent = true
            switch (unit, inTime) {
            case ("D", false): guard let n = Int64(number) else { return nil }; total += n * 86_400_000_000
            case ("H", true): guard let n = Int64(number) else { return nil }; total += n * 3_600_000_000
            case ("M", true): guard let n = Int64(number) else { return nil }; total += n * 60_000_000
            case ("S", true): guard let s = DecimalSeconds.parse(number) else { return nil }; total += s
            default: return nil
            }
        }
        return sawComponent ? total : nil
    }
}

/// Frame rates as DASH writes them: an integer, or a fraction for NTSC rates (30000/1001).
enum FrameRateText {
    static func format(_ fps: Double) -> String {
        if fps == fps.rounded() { return String(Int(fps)) }
        for base in [24, 30, 60] where abs(fps - Double(base) * 1_000 / 1_001) < 1e-3 { return "\(base * 1_000)/1001" }
        return FrameRate.format(fps)
    }
}
