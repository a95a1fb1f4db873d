import Foundation
import Metrics
import Reports
import SimCore
import World


/// A finished run's report: report.json (for machines and baselines; docs/report.schema.json),
/// summary.md and report.html (for people), timeseries.csv (for spreadsheets) and the table printed
/// at the end of `vodsim run`.
///
/// Extensive figures (sessions, concurrency, bytes, Gbps) are scaled by the sampling factor k to
/// the platform; ratios, times and bit rates are not. The header states k. Nothing here depends on
/// wall-clock time, the host or the file's path.
public struct RunReport {
    public let scenario: ResolvedScenario
    public let results: WorldResults
    /// The run `compare` asked for.
    public let comparison: Comparison?

    /// The same scenario with some values changed, run alongside.
    public struct Comparison {
        public var label: String
        public var overrides: [String]
        public var results: WorldResults

        public init(label: String, overrides: [String], results: WorldResults) {
            self.label = label
            self.overrides = overrides
            self.results = results
        }
    }

    public init(scenario: ResolvedScenario, results: WorldResults, comparison: Comparison? = nil) {
        self.scenario = scenario
        self.results = results
        self.comparison = comparison
    }

    var k: Double { Double(results.sampling) }
    var startUnix: Int64 {
        guard case let .dateTime(t) = scenario.root["start"] else { return 0 }
        return t
    }
    var hours: Double { results.end.seconds / 3_600 }

    func instant(_ t: SimInstant) -> String { DateTimeText.format(startUnix + t.microseconds / 1_000_000) }
    func scaled(_ x: Double) -> JSONValue { .integer(Int64((x * k).rounded())) }
    func round(_ x: Double, _ digits: Int = 3) -> JSONValue { JSONValue.rounded(x, digits: digits) }
    func ms(_ d: SimDuration) -> JSONValue { JSONValue.rounded(Double(d.microseconds) / 1_000, digits: 1) }
    /// A figure that may be missing (no data: nothing started, nothing requested) as JSON null.
    func json(_ x: Double?, _ digits: Int = 3) -> JSONValue { x.map { JSONValue.rounded($0, digits: digits) } ?? .null }
    /// A recorder's percentile in milliseconds; nil when it recorded nothing (never 0 ms).
    static func ms(_ r: LatencyRecorder, _ p: Double) -> Double? { r.count > 0 ? Double(r.percentile(p).microseconds) / 1e3 : nil }
    static func meanMs(_ r: LatencyRecorder) -> Double? { r.count > 0 ? Double(r.mean.microseconds) / 1e3 : nil }
    /// A figure for people: formatted, or "no data".
    static func text(_ x: Double?, _ format: String, scale: Double = 1) -> String { x.map { String(format: format, $0 * scale) } ?? "no data" }
    /// x / y, nil when y is 0.
    static func ratio(_ x: Double, _ y: Double) -> Double? { y > 0 ? x / y : nil }

    // MARK: Derived figures

    struct Delivery {
        var requests = 0.0, hits = 0.0, bytes = 0.0, hitBytes = 0.0, contentMisses = 0.0, healthMisses = 0.0, fills = 0.0
        var hitRatio: Double? { RunReport.ratio(hits, requests) }
        var byteHitRatio: Double? { RunReport.ratio(hitBytes, bytes) }
    }

    /// Requests and hits at the PoPs users are steered to (edge requests; a parent tier's own
    /// lookups are in its PoP row, not here).
    var delivery: Delivery {
        var d = Delivery()
        let parents = Set(results.pops.indices.compactMap { i in scenarioParent(i) })
        for (i, p) in results.pops.enumerated() {
            d.healthMisses += Double(p.metrics.healthMisses.value)
            d.fills += Double(p.metrics.fills.value)
            guard !parents.contains(i) || p.metrics.sessions.value > 0 else { continue }
            d.requests += Double(p.metrics.requests.value)
            d.hits += Double(p.metrics.hits.value)
            d.bytes += p.metrics.bytes
            d.hitBytes += p.metrics.hitBytes
            d.contentMisses += Double(p.metrics.contentMisses.value)
        }
        return d
    }

    func scenarioParent(_ pop: Int) -> Int? {
        let pops = scenario.root["pops"].list
        let parent = pops[pop]["parent"]
        return parent.isAbsent ? nil : pops.firstIndex { $0["id"].text == parent.text }
    }

    /// Gbps per bucket of a byte series (platform scale).
    func gbps(_ series: TimeSeries) -> [Double] {
        (0..<series.bucketCount).map { series.ratePerSecond($0) * 8 * k / 1e9 }
    }

    func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[max(0, min(sorted.count - 1, rank))]
    }

    /// Origin egress per bucket, all replicas together.
    var originGbps: [Double] {
        let n = results.origins.map(\.bytes.bucketCount).max() ?? 0
        return (0..<n).map { b in results.origins.reduce(0) { $0 + ($1.bytes.bucketCount > b ? $1.bytes.ratePerSecond(b) : 0) } * 8 * k / 1e9 }
    }


    public func write(to folder: URL) throws(ReportWriteError) {
        let staged = try stage(to: folder)
        try staged.swap()
        staged.finish()
    }

    /// Writes the report beside `folder`, ready to be swapped into place (see ``StagedFolder``).
    public func stage(to folder: URL) throws(ReportWriteError) -> StagedFolder {
        var out = ReportFolder(path: folder)
        let document = json
        out.add("report.json", document.serialized())
        out.add("summary.md", markdown)
        out.add("report.html", html)
        out.add("timeseries.csv", RunReport.timeseriesCSV(document["timeseries"] ?? .null))
        for publication in results.pipeline.publications {
            let stamp = instant(publication.time).replacingOccurrences(of: ":", with: "-")
            for file in publication.files { out.add("datasets/\(stamp)/\(file.name)", file.text) }
        }
        return try out.stage()
    }

    /// 1234567.8 → "1,234,568".

    static func grouped(_ x: Double) -> String {
        let n = Int64(x.rounded())
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }
}
