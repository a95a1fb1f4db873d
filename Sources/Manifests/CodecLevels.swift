/// What a codec string's profile and level allow: the highest video bit rate a decoder of that
/// level must accept, so a packager can tell a rung that declares too low a level (a player may
/// refuse it, or a decoder fail on its peaks).
///
/// The limits are the VCL maximum bit rates (MaxBR × the profile's CpbBrVclFactor) of
/// - H.264 / AVC (`avc1`, `avc3`: `avc1.PPCCLL`, profile_idc, constraint flags and level_idc in
///   hex): ITU-T H.264 Table A-1, with factors 1000 (Baseline, Main, Extended), 1250 (High), 3000
///   (High 10), 4000 (High 4:2:2, High 4:4:4) from Table A-2;
/// - H.265 / HEVC (`hvc1`, `hev1`: `hvc1.P.C.TLLL.B…`, profile, compatibility flags, tier L or H
///   with level_idc = 30 × level): ITU-T H.265 Table A.8 (Main and High tier), factor 1000 for
///   Main and Main 10 (Table A.9).
///
/// Other codecs, profiles and malformed strings give `nil`: nothing is claimed about them.
public enum CodecLevel {
    /// The highest bit rate (bits/s) `codecs` allows, or `nil` when it is not an AVC or HEVC string
    /// this knows.
    public static func maximumBitrate(_ codecs: String) -> Double? {
        let parts = codecs.split(separator: ".")
        guard let entry = parts.first else { return nil }
        switch entry {
        case "avc1", "avc3": return avc(parts)
        case "hvc1", "hev1": return hevc(parts)
        default: return nil
        }
    }

    /// A readable name of the profile, tier and level, for messages.
    public static func describe(_ codecs: String) -> String? {
        let parts = codecs.split(separator: ".")
        switch parts.first {
        case "avc1", "avc3":
            guard parts.count == 2, parts[1].count == 6, let p = UInt8(parts[1].prefix(2), radix: 16),
                  let l = UInt8(parts[1].suffix(2), radix: 16) else { return nil }
            let name = [66: "Baseline", 77: "Main", 88: "Extended", 100: "High", 110: "High 10", 122: "High 4:2:2", 244: "High 4:4:4"][Int(p)] ?? "profile \(p)"
            return "AVC \(name), level \(Double(l) / 10)"
        case "hvc1", "hev1":
            guard parts.count >= 4, let tier = parts[3].first, let level = Int(parts[3].dropFirst()) else { return nil }
            let profile = parts[1].drop { $0 == "A" || $0 == "B" || $0 == "C" }
            let name = ["1": "Main", "2": "Main 10"][String(profile)] ?? "profile \(profile)"
            return "HEVC \(name), \(tier == "H" ? "High" : "Main") tier, level \(Double(level) / 30)"
        default:
            return nil
        }
    }

    static func avc(_ parts: [Substring]) -> Double? {
        guard parts.count == 2, parts[1].count == 6, let profile = UInt8(parts[1].prefix(2), radix: 16),
              let level = UInt8(parts[1].suffix(2), radix: 16) else { return nil }
        let factor: Double
        switch profile {
        case 66, 77, 88: factor = 1_000
        case 100: factor = 1_250
        case 110: factor = 3_000
        case 122, 244: factor = 4_000
        default: return nil
        }
        // level_idc → MaxBR (units of the factor, bits/s); level 1b is signalled as 11 with a
        // constraint flag in Baseline and Main, and is left out.
        let maxBR: [UInt8: Double] = [10: 64, 9: 128, 11: 192, 12: 384, 13: 768, 20: 2_000, 21: 4_000, 22: 4_000,
                                      30: 10_000, 31: 14_000, 32: 20_000, 40: 20_000, 41: 50_000, 42: 50_000,
                                      50: 135_000, 51: 240_000, 52: 240_000, 60: 240_000, 61: 480_000, 62: 800_000]
        return maxBR[level].map { $0 * factor }
    }

    static func hevc(_ parts: [Substring]) -> Double? {
        guard parts.count >= 4 else { return nil }
        // Profile: an optional space letter (A, B, C) then profile_idc: 1 Main, 2 Main 10.
        let profile = parts[1].drop { $0 == "A" || $0 == "B" || $0 == "C" }
        guard profile == "1" || profile == "2" else { return nil }
        guard let tier = parts[3].first, tier == "L" || tier == "H", let level = Int(parts[3].dropFirst()) else { return nil }
        // level_idc → (Main tier, High tier) MaxBR in units of 1000 bits/s.
        let maxBR: [Int: (main: Double, high: Double?)] = [
            30: (128, nil), 60: (1_500, nil), 63: (3_000, nil), 90: (6_000, nil), 93: (10_000, nil),
            120: (12_000, 30_000), 123: (20_000, 50_000), 150: (25_000, 100_000), 153: (40_000, 160_000),
            156: (60_000, 240_000), 180: (60_000, 240_000), 183: (120_000, 480_000), 186: (240_000, 800_000),
        ]
        guard let limits = maxBR[level] else { return nil }
        if tier == "H" { return limits.high.map { $0 * 1_000 } }
        return limits.main * 1_000
    }
}
