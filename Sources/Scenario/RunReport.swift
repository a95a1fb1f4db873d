import Foundation
import Metrics
import Reports
import SimCore
import World

/// A finished run's report: report.json (for machines and baselines), summary.md (for people) and
/// the table printed at the end of `vodsim run`.
///
/// Extensive figures (sessions, concurrency) are scaled by the sampling factor k to the platform;
/// the header states k. Nothing here depends on wall-clock time, the host or the file's path.
public struct RunReport {
    public let scenario: ResolvedScenario
    public let results: WorldResults

    public init(scenario: ResolvedScenario, results: WorldResults) {
        self.scenario = scenario
        self.results = results
    }

    var k: Double { Double(results.sampling) }
    var startUnix: Int64 {
        guard case let .dateTime(t) = scenario.root["start"] else { return 0 }
        return t
    }

    func instant(_ t: SimInstant) -> String { DateTimeText.format(startUnix + t.microseconds / 1_000_000) }

    // MARK: report.json

    public var json: JSONValue {
        let hours = results.end.seconds / 3_600
        var regions: [JSONValue] = []
        for r in results.regions {
            regions.append(.object([
                ("id", .string(r.id)),
                ("sessions", sessionsJSON(initial: r.sessionsInitial, started: r.sessionsStarted, ended: r.sessionsEnded,
                                          watchedSeconds: r.watchedSeconds, hours: hours)),
                ("concurrency", concurrencyJSON(r.concurrency, expectedPeak: r.expectedPeak, expectedMinute: r.expectedPeakUTCMinute)),
            ]))
        }
        let initial = results.regions.reduce(0) { $0 + $1.sessionsInitial }
        let started = results.regions.reduce(Int64(0)) { $0 + $1.sessionsStarted }
        let ended = results.regions.reduce(Int64(0)) { $0 + $1.sessionsEnded }
        let watched = results.regions.reduce(0.0) { $0 + $1.watchedSeconds }

        let scenarioJSON: JSONValue = .object([
            ("name", .string(scenario.name)),
            ("description", .string(scenario.root["description"].text)),
            ("hash", .string(scenario.hash)),
        ])
        let notModelledJSON: JSONValue = .object([
            ("sections", .array(ResolvedScenario.unmodelledSections.map { .string($0) })),
            ("keysSet", .array(scenario.notModelled.map { .string($0) })),
        ])
        let metricsJSON: JSONValue = .object([
            ("sessions", sessionsJSON(initial: initial, started: started, ended: ended, watchedSeconds: watched, hours: hours)),
            ("concurrency", concurrencyJSON(results.concurrency, expectedPeak: results.expectedPeak,
                                            expectedMinute: results.expectedPeakUTCMinute)),
            ("regions", .array(regions)),
        ])
        var header: [(String, JSONValue)] = [
            ("schemaVersion", .integer(ReportSchema.version)),
            ("vodsim", .string(VodsimVersion.string)),
            ("scenario", scenarioJSON),
            ("seed", .integer(Int64(bitPattern: scenario.seed))),
            ("sampling", .integer(Int64(results.sampling))),
        ]
        header += [
            ("start", .string(instant(.zero))),
            ("end", .string(instant(results.end))),
            ("simulatedEvents", .integer(Int64(results.eventsProcessed))),
            ("notModelledYet", notModelledJSON),
        ]
        return .object(header + [
            ("metrics", metricsJSON),
            ("timeseries", timeseriesJSON),
            ("resolvedScenario", scenario.root.json),
        ])
    }

    /// Concurrency per bucket (time-weighted means), all regions and each region.
    var timeseriesJSON: JSONValue {
        let series = results.concurrencySeries
        func means(_ s: TimeWeightedSeries) -> JSONValue {
            .array((0..<s.bucketCount).map { JSONValue.rounded(s.mean($0) * k, digits: 1) })
        }
        let perRegion: [(String, JSONValue)] = results.regions.map { ($0.id, means($0.concurrencySeries)) }
        return .object([
            ("bucket", .string(Quantity.format(series.bucketWidth.seconds, as: .duration))),
            ("bucketStarts", .array((0..<series.bucketCount).map { .string(instant(series.bucketStart($0))) })),
            ("concurrency", .object([("all", means(series))] + perRegion)),
        ])
    }

    func sessionsJSON(initial: Int, started: Int64, ended: Int64, watchedSeconds: Double, hours: Double) -> JSONValue {
        .object([
            ("inProgressAtStart", .integer(Int64((Double(initial) * k).rounded()))),
            ("started", .integer(Int64((Double(started) * k).rounded()))),
            ("startsPerHour", JSONValue.rounded(Double(started) * k / hours, digits: 1)),
            ("ended", .integer(Int64((Double(ended) * k).rounded()))),
            ("meanEndedMinutes", JSONValue.rounded(ended > 0 ? watchedSeconds / Double(ended) / 60 : 0, digits: 2)),
        ])
    }

    func concurrencyJSON(_ g: Gauge, expectedPeak: Double, expectedMinute: Int) -> JSONValue {
        .object([
            ("peak", .integer(Int64((g.maximum * k).rounded()))),
            ("peakAt", .string(instant(g.maximumAt))),
            ("mean", JSONValue.rounded(g.timeAverage(until: results.end) * k, digits: 1)),
            ("expectedDailyPeak", JSONValue.rounded(expectedPeak, digits: 1)),
            ("expectedDailyPeakUTC", .string(DateTimeText.formatTimeOfDay(expectedMinute * 60))),
        ])
    }

    // MARK: People

    /// The headline rows: label and value.
    var headline: [(String, String)] {
        let started = results.regions.reduce(Int64(0)) { $0 + $1.sessionsStarted }
        let initial = results.regions.reduce(0) { $0 + $1.sessionsInitial }
        let hours = results.end.seconds / 3_600
        return [
            ("peak concurrent sessions", "\(Self.grouped(results.concurrency.maximum * k)) at \(instant(results.concurrency.maximumAt))"),
            ("mean concurrent sessions", Self.grouped(results.concurrency.timeAverage(until: results.end) * k)),
            ("expected daily peak (calibrated)", "\(Self.grouped(results.expectedPeak)) at \(DateTimeText.formatTimeOfDay(results.expectedPeakUTCMinute * 60)) UTC"),
            ("sessions in progress at start", Self.grouped(Double(initial) * k)),
            ("session starts", "\(Self.grouped(Double(started) * k)) (\(Self.grouped(Double(started) * k / hours)) per hour)"),
        ]
    }

    /// summary.md.
    public var markdown: String {
        var out = "# \(scenario.name): vodsim report\n\n"
        let description = scenario.root["description"].text
        if !description.isEmpty { out += description + "\n\n" }
        var header = TextTable(header: ["run", ""])
        header.add(["scenario hash", "`\(scenario.hash.prefix(16))`"])
        header.add(["seed", String(scenario.seed)])
        header.add(["vodsim", VodsimVersion.string])
        header.add(["sampling", results.sampling == 1 ? "every user" : "1 in \(results.sampling) users (counts scaled back)"])
        header.add(["simulated", "\(instant(.zero)) to \(instant(results.end))"])
        out += header.markdown + "\n## Headline\n\n"
        var table = TextTable(header: ["metric", "value"])
        for (label, value) in headline { table.add([label, value]) }
        out += table.markdown + "\n## Regions\n\n"
        out += regionTable.markdown
        out += "\n## Not modelled yet\n\n"
        out += "These parts of the scenario are validated but not simulated yet: "
        out += ResolvedScenario.unmodelledSections.map { "`\($0)`" }.joined(separator: ", ") + ".\n"
        if !scenario.notModelled.isEmpty {
            out += "This scenario sets: " + scenario.notModelled.map { "`\($0)`" }.joined(separator: ", ") + ".\n"
        }
        return out
    }

    var regionTable: TextTable {
        var table = TextTable(header: ["region", "starts", "peak concurrency", "mean concurrency", "expected daily peak"],
                              rightAligned: [1, 2, 3, 4])
        for r in results.regions {
            table.add([r.id, Self.grouped(Double(r.sessionsStarted) * k), Self.grouped(r.concurrency.maximum * k),
                       Self.grouped(r.concurrency.timeAverage(until: results.end) * k), Self.grouped(r.expectedPeak)])
        }
        return table
    }

    /// The table `vodsim run` prints at the end.
    public var terminalSummary: String {
        var table = TextTable(header: ["metric", "value"])
        for (label, value) in headline { table.add([label, value]) }
        return table.plain + "\n" + regionTable.plain
    }

    /// Writes report.json and summary.md into `folder`, atomically.
    public func write(to folder: URL) throws {
        var out = ReportFolder(path: folder)
        out.add("report.json", json.serialized())
        out.add("summary.md", markdown)
        try out.commit()
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
