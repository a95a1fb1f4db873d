import Foundation

/// How much memory a run of a scenario needs, estimated before it starts, so that a scenario too
/// large for the machine fails at validation with the key that would fix it rather than with an
/// out-of-memory abort after minutes.
///
/// A model fitted to measured peak RSS (release build; docs/scenarios.md, "Too large for the
/// machine"), not an accounting: a session in progress costs about 800 bytes (its 464-byte record,
/// its pending events, the session table's growth room, its activity client and its profile's state
/// in the aggregators); a user who watches about 300 bytes of activity state; a title about 1 KB of
/// tables at every PoP and region, plus its manifests and file sizes once a session asks for it
/// (about 2.5 bytes per segment and rung); a metrics bucket about 5.5 KB per start-time histogram
/// (the world and each region) and 24 bytes per other series. It errs on the large side: smoke
/// measures 0.05 GiB (estimated 0.07), with 1-second buckets 0.15 GiB (0.19), global-day 0.27 GiB
/// (0.26), peak-10m at k = 10 1.11 GiB after its first minute (1.24 for the whole run) and at k = 1
/// 8.3 GiB after 30 s (10.7).
public struct MemoryEstimate: Sendable {
    /// One part of the estimate and the scenario key that scales it.
    public struct Part: Sendable {
        public var what: String
        public var bytes: Double
        /// What to change to make this part smaller by a factor.
        public var remedy: @Sendable (Double) -> String
    }

    public var parts: [Part]
    public var total: Double { parts.reduce(0) { $0 + $1.bytes } }

    static let processBytes = 40e6
    static let bytesPerSession = 800.0
    static let bytesPerUser = 300.0
    static let bytesPerTitleTables = 40.0  // per PoP and rung
    static let bytesPerSegmentRung = 2.5
    static let bytesPerHistogramBucket = 5_500.0
    static let bytesPerSeriesBucket = 24.0

    public init(_ scenario: ResolvedScenario) {
        let root = scenario.root
        let k = Double(root["sampling"].integer)
        let regions = root["regions"].list
        let pops = root["pops"].list.count
        let rungs = Double(root["catalog"]["ladder"].list.count)
        let clients = root["clients"]
        let regional = clients["peakScope"].text == "regional"
        let share = clients["peakConcurrency"].value
        let surge = root["faults"].list.filter { $0["type"].text == "surge" }.map { $0["multiplier"].value }.max() ?? 1
        let users = regions.reduce(0.0) { $0 + $1["users"].value } / k
        // The peak of simulated concurrent sessions: by definition with a global scope, region by
        // region with a regional one; a surge multiplies it.
        let peak = (regional ? regions.reduce(0.0) { $0 + min(1, share * $1["engagement"].value) * $1["users"].value } / k
                             : share * users) * surge
        let run = root["duration"].value
        let watch = clients["watchDuration"].distribution.distribution.mean
        let starts = peak * max(1, run / max(watch, 60))
        let titles = root["catalog"]["titles"].value
        let segments = root["catalog"]["duration"].distribution.distribution.mean / root["catalog"]["segmentDuration"].value
        let loaded = min(titles, starts)
        let bucket = root["metrics"]["bucket"].value
        let buckets = (run / bucket).rounded(.up)
        let aggregates = Double(regions.count + 1)
        let series = 10 * aggregates + 10 * Double(pops) + Double(root["origin"]["regions"].list.count) + 6
        // A `compare` run is a second world alongside.
        let runs = root["compare"].isAbsent ? 1.0 : 2.0
        parts = [
            Part(what: "the process", bytes: Self.processBytes, remedy: { _ in "" }),
            Part(what: "\(Self.count(peak * runs)) simulated concurrent sessions and \(Self.count(min(users, starts) * runs)) users' activity",
                 bytes: runs * (peak * Self.bytesPerSession + min(users, starts) * Self.bytesPerUser),
                 remedy: { f in "simulate fewer users: set `sampling` to \(Int((k * f).rounded(.up))) or more (now \(Int(k)))" }),
            Part(what: "\(Self.count(titles)) titles' tables and manifests",
                 bytes: runs * (titles * (Double(pops) * rungs * Self.bytesPerTitleTables + Double(regions.count) * 16)
                                + loaded * segments * rungs * Self.bytesPerSegmentRung),
                 remedy: { f in "set `catalog.titles` to \(Self.count((titles / f).rounded(.down))) or fewer" }),
            Part(what: "time series of \(Self.count(buckets)) buckets",
                 bytes: runs * buckets * (aggregates * Self.bytesPerHistogramBucket + series * Self.bytesPerSeriesBucket),
                 remedy: { f in "set `metrics.bucket` to \(Quantity.format((bucket * f).rounded(.up), as: .duration)) or more" }),
        ]
    }

    /// The problem to report when the estimate exceeds `available` bytes, naming the largest
    /// part and the value of its key that would fit; nil when it fits.
    public func problem(available: Double) -> String? {
        guard total > available else { return nil }
        let largest = parts.dropFirst().max { $0.bytes < $1.bytes }!
        let breakdown = parts.dropFirst().filter { $0.bytes >= total * 0.05 }
            .map { "\(Self.gib($0.bytes)) for \($0.what)" }.joined(separator: ", ")
        // The factor the largest part must shrink by for the whole to fit in 80% of the machine.
        let room = available * 0.8 - (total - largest.bytes)
        let factor = room > 0 ? largest.bytes / room : .infinity
        let remedy = factor.isFinite ? largest.remedy(factor) : "the rest alone does not fit either: simulate less"
        return "this run needs about \(Self.gib(total)) of memory and the machine has \(Self.gib(available)) (\(breakdown)); to fit, \(remedy)"
    }

    static func gib(_ bytes: Double) -> String {
        let g = bytes / 1_073_741_824
        return g >= 10 ? "\(Int(g.rounded())) GiB" : String(format: "%.1f GiB", max(0.1, g))
    }

    static func count(_ x: Double) -> String { Quantity.approximate(x.rounded(), as: .count) }
}
