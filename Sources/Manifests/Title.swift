/// One encoding of a title: a rung of the bitrate ladder.
public struct Rendition: Equatable, Sendable {
    /// Names the rendition in URIs and manifests, e.g. `r3`.
    public var id: String
    /// Nominal (average target) bit rate in bits per second.
    public var bitrate: Int
    public var width: Int
    public var height: Int
    /// RFC 6381 codec string, e.g. `avc1.640028`.
    public var codecs: String
    /// Frames per second.
    public var frameRate: Double

    public init(id: String, bitrate: Int, width: Int, height: Int, codecs: String, frameRate: Double = 24) {
        self.id = id
        self.bitrate = bitrate
        self.width = width
        self.height = height
        self.codecs = codecs
        self.frameRate = frameRate
    }
}

/// A title as the packager sees it: its renditions, and the duration and size of every segment.
///
/// Segments are aligned across renditions (the same boundaries in every rung), as adaptive
/// streaming requires; sizes differ per rendition and per segment (variable bit rate).
public struct EncodedTitle: Equatable, Sendable {
    public var name: String
    /// Segment durations in microseconds, shared by every rendition.
    public var segmentDurations: [Int64]
    /// Lowest bit rate first.
    public var renditions: [Rendition]
    /// Bytes of each segment: `segmentSizes[rendition][segment]`.
    public var segmentSizes: [[Int]]

    public init(name: String, segmentDurations: [Int64], renditions: [Rendition], segmentSizes: [[Int]]) {
        precondition(!segmentDurations.isEmpty && segmentDurations.allSatisfy { $0 > 0 }, "a title needs segments of positive duration")
        precondition(!renditions.isEmpty && segmentSizes.count == renditions.count, "one size list per rendition")
        precondition(segmentSizes.allSatisfy { $0.count == segmentDurations.count }, "one size per segment")
        self.name = name
        self.segmentDurations = segmentDurations
        self.renditions = renditions
        self.segmentSizes = segmentSizes
    }

    /// Total duration in microseconds.
    public var duration: Int64 { segmentDurations.reduce(0, +) }

    /// The nominal segment duration: the first segment's (all but the last are equal for uniform
    /// segmentation).
    public var nominalSegmentDuration: Int64 { segmentDurations[0] }

    /// Whether every segment but the last has the same duration, and the last is no longer.
    public var isUniform: Bool {
        let d = segmentDurations[0]
        return segmentDurations.dropLast().allSatisfy { $0 == d } && segmentDurations.last! <= d
    }
}

/// A manifest that does not parse: the line and what was wrong.
public struct ManifestError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based line number in the manifest text, or 0 for the document as a whole.
    public var line: Int
    public var message: String

    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "line \(line): \(message)" : message }
}

/// What a player learns from a manifest, whichever the format: per rendition the declared bit
/// rates and picture, and the segment durations. Segment sizes are not in manifests; a player
/// learns them only by downloading.
public struct StreamDescription: Equatable, Sendable {
    public struct Variant: Equatable, Sendable {
        /// Peak bandwidth declared by the manifest (HLS BANDWIDTH, DASH @bandwidth), bits/s.
        public var bandwidth: Int
        /// Average bandwidth (HLS AVERAGE-BANDWIDTH), when declared.
        public var averageBandwidth: Int?
        public var width: Int
        public var height: Int
        public var codecs: String
        /// Where the variant's segments live (media playlist URI or representation id).
        public var location: String
    }

    /// Lowest bandwidth first.
    public var variants: [Variant]
    /// Segment durations in microseconds.
    public var segmentDurations: [Int64]

    /// The bit rate a player plans with for each variant: the average when declared, otherwise
    /// the peak.
    public var planningBitrates: [Double] { variants.map { Double($0.averageBandwidth ?? $0.bandwidth) } }
}

// MARK: Decimal text

/// Exact conversions between microseconds and decimal seconds, for manifest text.
enum DecimalSeconds {
    /// `4000000` → `"4.000"`, `3318400000` → `"3318.400"`, `1234567` → `"1.234567"`: at least
    /// `minimumDecimals`, more only when needed to be exact.
    static func format(_ microseconds: Int64, minimumDecimals: Int = 3) -> String {
        precondition(microseconds >= 0, "negative duration")
        var out: [UInt8] = []
        write(microseconds, minimumDecimals: minimumDecimals, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `format(microseconds)` to a byte buffer, without building a String.
    static func write(_ microseconds: Int64, minimumDecimals: Int = 3, into out: inout [UInt8]) {
        writeInteger(microseconds / 1_000_000, into: &out)
        var fraction = microseconds % 1_000_000
        var digits = 6
        while digits > minimumDecimals && fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        guard digits > 0 else { return }
        out.append(UInt8(ascii: "."))
        var scale: Int64 = 1
        for _ in 1..<digits { scale *= 10 }
        while scale > 0 {
            out.append(UInt8(48 + fraction / scale % 10))
            scale /= 10
        }
    }

    static func writeInteger(_ value: Int64, into out: inout [UInt8]) {
        precondition(value >= 0, "negative")
        if value >= 10 { writeInteger(value / 10, into: &out) }
        out.append(UInt8(48 + value % 10))
    }

    /// `"4.000"` → 4000000, on bytes; nil unless a non-negative decimal with at most 6 decimals.
    static func parse(_ text: Bytes) -> Int64? {
        var whole: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var seenPoint = false
        var wholeDigits = 0
        for b in text.bytes {
            if b == 46 {
                if seenPoint { return nil }
                seenPoint = true
            } else if b >= 48 && b <= 57 {
                if seenPoint {
                    fractionDigits += 1
                    if fractionDigits > 6 { return nil }
                    fraction = fraction * 10 + Int64(b - 48)
                } else {
                    wholeDigits += 1
                    if wholeDigits > 12 { return nil }
                    whole = whole * 10 + Int64(b - 48)
                }
            } else {
                return nil
            }
        }
        guard wholeDigits > 0, !seenPoint || fractionDigits > 0 else { return nil }
        for _ in fractionDigits..<6 { fraction *= 10 }
        return whole * 1_000_000 + fraction
    }

    /// `"4.000"` → 4000000; nil unless a non-negative decimal with at most 6 decimals.
    static func parse(_ text: Substring) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let wholeText = parts.first, !wholeText.isEmpty, wholeText.allSatisfy(\.isASCIIDigit),
              let whole = Int64(wholeText), whole < 9_000_000_000_000 else { return nil }
        var micros = whole * 1_000_000
        if parts.count == 2 {
            let f = parts[1]
            guard !f.isEmpty, f.count <= 6, f.allSatisfy(\.isASCIIDigit), let digits = Int64(f) else { return nil }
            var scale: Int64 = 1
            for _ in 0..<(6 - f.count) { scale *= 10 }
            micros += digits * scale
        }
        return micros
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
