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

    // MARK: report.json

    public var json: JSONValue {
        var header: [(String, JSONValue)] = [
            ("schemaVersion", .integer(ReportSchema.version)),
            ("vodsim", .string(VodsimVersion.string)),
            ("scenario", .object([
                ("name", .string(scenario.name)),
                ("description", .string(scenario.root["description"].text)),
                ("hash", .string(scenario.hash)),
            ])),
            ("seed", .integer(Int64(bitPattern: scenario.seed))),
            ("sampling", .integer(Int64(results.sampling))),
        ]
        header += [
            ("start", .string(instant(.zero))),
            ("end", .string(instant(results.end))),
            ("simulatedEvents", .integer(Int64(results.eventsProcessed))),
            ("notModelledYet", .object([
                ("sections", .array(ResolvedScenario.unmodelledSections.map { .string($0) })),
                ("keysSet", .array(scenario.notModelled.map { .string($0) })),
            ])),
        ]
        let metrics: JSONValue = .object([
            ("sessions", sessionsJSON(results.global)),
            ("concurrency", concurrencyJSON(results.global.concurrency, expectedPeak: results.expectedPeak,
                                            expectedMinute: results.expectedPeakUTCMinute)),
            ("experience", experienceJSON(results.global)),
            ("delivery", deliveryJSON),
            ("regions", .array(results.regions.map(regionJSON))),
            ("pops", .array(results.pops.map(popJSON))),
            ("origins", .array(results.origins.map(originJSON))),
            ("releases", releasesJSON()),
            ("activity", activityJSON),
            ("availability", availabilityJSON),
            ("incidents", .array(incidentSummaries.map(\.json))),
        ])
        var sections: [(String, JSONValue)] = [("metrics", metrics)]
        if let comparison {
            let other = RunReport(scenario: scenario, results: comparison.results)
            sections.append(("comparison", .object([
                ("label", .string(comparison.label)),
                ("set", .array(comparison.overrides.map { .string($0) })),
                ("thisRun", .object(keyFigures.map { ($0.key, $0.json) })),
                ("otherRun", .object(other.keyFigures.map { ($0.key, $0.json) })),
            ])))
        }
        return .object(header + sections + [("timeseries", timeseriesJSON), ("resolvedScenario", scenario.root.json)])
    }

    /// The figures a comparison sets side by side.
    var keyFigures: [(key: String, label: String, json: JSONValue, text: String)] {
        let d = delivery
        let origin = originGbps
        let g = results.global
        let fillBytes = results.pops.reduce(0.0) { $0 + $1.metrics.fillBytes.reduce(0, +) }
        let originTB = results.origins.reduce(0.0) { $0 + $1.totalBytes } * k / 1e12
        var out: [(key: String, label: String, json: JSONValue, text: String)] = [
            ("hitRatio", "hit ratio (requests)", json(d.hitRatio, 5), Self.text(d.hitRatio, "%.2f%%", scale: 100)),
            ("byteHitRatio", "hit ratio (bytes)", json(d.byteHitRatio, 5), Self.text(d.byteHitRatio, "%.2f%%", scale: 100)),
            ("originEgressGbpsPeak", "origin egress peak", round(origin.max() ?? 0), String(format: "%.2f Gbps", origin.max() ?? 0)),
            ("originEgressGbpsP95", "origin egress p95", round(percentile(origin, 95)), String(format: "%.2f Gbps", percentile(origin, 95))),
            ("originEgressGbpsAtViewingPeak", "origin egress at the viewing peak", round(originAtViewingPeak),
             String(format: "%.2f Gbps", originAtViewingPeak)),
            ("originServedTB", "origin served", round(originTB), String(format: "%.2f TB", originTB)),
            ("fillTB", "fills", round(fillBytes / 1e12), String(format: "%.2f TB", fillBytes / 1e12)),
            ("startTimeMsP90", "start time p90", json(Self.ms(g.startTime, 90), 1), Self.text(Self.ms(g.startTime, 90), "%.0f ms")),
            ("rebufferRatioPercent", "rebuffer ratio", json(g.rebufferRatio.map { $0 * 100 }, 4), Self.text(g.rebufferRatio, "%.3f%%", scale: 100)),
            ("averageBitrateKbps", "bit rate", json(g.averageBitrate.map { $0 / 1_000 }, 1), Self.text(g.averageBitrate, "%.0f kbps", scale: 1e-3)),
        ]
        for r in results.releases {
            let ratio = Self.ratio(Double(r.hits), Double(r.requests))
            out.append(("releaseHitRatio.title\(r.title)", "title \(r.title) first-day hit ratio", json(ratio, 5),
                        Self.text(ratio, "%.2f%%", scale: 100)))
        }
        return out
    }

    /// Mean origin egress over the buckets whose concurrency is within 10% of the run's highest:
    /// what the origin carries when viewers are (fills, scheduled off-peak, mostly are not).
    var originAtViewingPeak: Double {
        let g = results.global.concurrencySeries
        let origin = originGbps
        let levels = (0..<g.bucketCount).map { g.mean($0) }
        guard let top = levels.max(), top > 0 else { return 0 }
        let busy = levels.indices.filter { levels[$0] >= 0.9 * top && $0 < origin.count }
        return busy.isEmpty ? 0 : busy.reduce(0) { $0 + origin[$1] } / Double(busy.count)
    }

    /// This run and the comparison's, side by side.
    var comparisonTable: TextTable? {
        guard let comparison else { return nil }
        let other = RunReport(scenario: scenario, results: comparison.results).keyFigures
        var table = TextTable(header: ["metric", "this run", comparison.label], rightAligned: [1, 2])
        for (a, b) in zip(keyFigures, other) { table.add([a.label, a.text, b.text]) }
        return table
    }

    func sessionsJSON(_ a: Aggregate) -> JSONValue {
        let started = Double(a.sessionStarts.value)
        return .object([
            ("inProgressAtStart", scaled(Double(a.initial))),
            ("started", scaled(started)),
            ("startsPerHour", round(started * k / hours, 1)),
            ("playbackStarts", scaled(Double(a.playbackStarts.value))),
            ("abandonedBeforeStart", scaled(Double(a.abandonedBeforeStart.value))),
            ("abandonedBeforeStartPercent", json(Self.ratio(Double(a.abandonedBeforeStart.value) * 100, started), 3)),
            ("ended", scaled(Double(a.sessionsEnded.value))),
            ("meanEndedMinutes", json(Self.ratio(a.endedSessionTime / 6e7, Double(a.sessionsEnded.value)), 2)),
        ])
    }

    func concurrencyJSON(_ g: Gauge, expectedPeak: Double, expectedMinute: Int) -> JSONValue {
        .object([
            ("peak", scaled(g.maximum)),
            ("peakAt", .string(instant(g.maximumAt))),
            ("mean", round(g.timeAverage(until: results.end) * k, 1)),
            ("expectedDailyPeak", round(expectedPeak, 1)),
            ("expectedDailyPeakUTC", .string(DateTimeText.formatTimeOfDay(expectedMinute * 60))),
        ])
    }

    func experienceJSON(_ a: Aggregate) -> JSONValue {
        .object([
            ("startTimeMs", .object([
                ("p50", json(Self.ms(a.startTime, 50), 1)), ("p90", json(Self.ms(a.startTime, 90), 1)),
                ("p99", json(Self.ms(a.startTime, 99), 1)), ("mean", json(Self.meanMs(a.startTime), 1)),
            ])),
            ("rebufferRatioPercent", json(a.rebufferRatio.map { $0 * 100 }, 4)),
            ("rebuffersPerHour", json(a.rebuffersPerHour, 3)),
            ("averageBitrateKbps", json(a.averageBitrate.map { $0 / 1_000 }, 1)),
            ("switchesPerHour", json(a.switchesPerHour, 3)),
            ("playHours", round(Double(a.play) / 3.6e9 * k, 1)),
        ])
    }

    var deliveryJSON: JSONValue {
        let d = delivery
        let popGbps = results.pops.map { gbps($0.metrics.egress) }
        let totalPop = (0..<(popGbps.map(\.count).max() ?? 0)).map { b in popGbps.reduce(0) { $0 + ($1.count > b ? $1[b] : 0) } }
        let origin = originGbps
        return .object([
            ("requests", scaled(d.requests)),
            ("hitRatio", json(d.hitRatio, 5)),
            ("byteHitRatio", json(d.byteHitRatio, 5)),
            ("contentMisses", scaled(d.contentMisses)),
            ("healthMisses", scaled(d.healthMisses)),
            ("fills", .integer(Int64(d.fills))),
            ("popEgressGbps", .object([("peak", round(totalPop.max() ?? 0)), ("mean", round(mean(totalPop)))])),
            ("originEgressGbps", .object([
                ("peak", round(origin.max() ?? 0)), ("p95", round(percentile(origin, 95))), ("mean", round(mean(origin))),
            ])),
            ("originFailures", scaled(Double(results.origins.reduce(Int64(0)) { $0 + $1.failures }))),
        ])
    }

    func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }

    func regionJSON(_ r: RegionResults) -> JSONValue {
        .object([
            ("id", .string(r.id)),
            ("sessions", sessionsJSON(r.aggregate)),
            ("concurrency", concurrencyJSON(r.aggregate.concurrency, expectedPeak: r.expectedPeak, expectedMinute: r.expectedPeakUTCMinute)),
            ("experience", experienceJSON(r.aggregate)),
        ])
    }

    func popJSON(_ p: PopResults) -> JSONValue {
        let m = p.metrics
        let egress = gbps(m.egress)
        let utilisation = (0..<m.utilisation.bucketCount).map { m.utilisation.mean($0) }
        let requests = Double(m.requests.value)
        return .object([
            ("id", .string(p.id)),
            ("region", .string(p.region)),
            ("sessions", scaled(Double(m.sessions.value))),
            ("requests", scaled(requests)),
            ("hitRatio", json(Self.ratio(Double(m.hits.value), requests), 5)),
            ("byteHitRatio", json(Self.ratio(m.hitBytes, m.bytes), 5)),
            ("contentMisses", scaled(Double(m.contentMisses.value))),
            ("healthMisses", scaled(Double(m.healthMisses.value))),
            ("waited", scaled(Double(m.waited.value))),
            ("capacityGbps", round(p.egress * k / 1e9)),
            ("egressGbps", .object([("peak", round(egress.max() ?? 0)), ("mean", round(mean(egress)))])),
            ("utilisationPercent", .object([("peak", round((utilisation.max() ?? 0) * 100, 2)), ("mean", round(mean(utilisation) * 100, 2))])),
            ("startTimeMs", .object([("p50", json(Self.ms(m.startTime, 50), 1)), ("p90", json(Self.ms(m.startTime, 90), 1)),
                                     ("p99", json(Self.ms(m.startTime, 99), 1))])),
            ("storageUsedTB", round(p.usedBytes / 1e12)),
            ("files", .integer(Int64(p.files))),
            ("fill", fillJSON(p)),
        ])
    }

    /// Fills are whole files whatever the sampling: their counts and bytes are not scaled.
    func fillJSON(_ p: PopResults) -> JSONValue {
        let m = p.metrics
        let queuePeak = (0..<m.fillQueue.bucketCount).map { m.fillQueue.maxima[$0] }.max() ?? 0
        let plans = m.plans.filter { $0.time > .zero }  // the plan the run started with is not a change
        func perPlan(_ f: (PlanRecord) -> Int) -> JSONValue { round(plans.isEmpty ? 0 : Double(plans.map(f).reduce(0, +)) / Double(plans.count), 1) }
        return .object([
            ("files", .integer(m.fills.value)),
            ("bytesTB", .object([("peer", round(m.fillBytes[0] / 1e12)), ("tier", round(m.fillBytes[1] / 1e12)),
                                 ("origin", round(m.fillBytes[2] / 1e12))])),
            ("jobsDropped", .integer(m.fillJobsDropped.value)),
            ("jobsWithoutSpace", .integer(m.fillJobsNoSpace.value)),
            ("queuePeak", .integer(Int64(queuePeak))),
            ("oldestJobAgeMinutesPeak", round((m.oldestJobAge.max() ?? 0) / 60, 1)),
            ("plans", .integer(Int64(plans.count))),
            ("filesAddedPerPlan", perPlan(\.added)),
            ("filesRemovedPerPlan", perPlan(\.removed)),
            ("expectedOffload", round(m.plans.last?.expectedOffload ?? 0, 4)),
            ("nights", .integer(Int64(m.nights.count))),
            ("nightsCompleted", .integer(Int64(m.nights.filter(\.completed).count))),
        ])
    }

    /// The activity pipeline. Event counts, lag and storage are scaled by k; freshness is not.
    var activityJSON: JSONValue {
        let m = results.pipeline
        func stats(_ samples: [Double]) -> JSONValue {
            .object([("max", round(samples.max() ?? 0, 1)), ("p99", round(percentile(samples, 99), 1))])
        }
        let perPartition: [JSONValue] = m.lagEvents.indices.map { p in
            .object([("partition", .integer(Int64(p))),
                     ("lagEvents", stats(m.lagEvents[p].map { $0 * k })),
                     ("lagSeconds", stats(m.lagSeconds[p]))])
        }
        let storage = logStorageGB
        return .object([
            ("produced", scaled(Double(m.produced))),
            ("playsBeforeStart", scaled(Double(m.history))),
            ("appended", scaled(Double(m.appended))),
            ("resent", scaled(Double(m.resent))),
            ("refusedAppends", scaled(Double(m.refused))),
            ("aggregated", scaled(Double(m.aggregated))),
            ("deduplicated", scaled(Double(m.duplicates))),
            ("late", scaled(Double(m.late))),
            ("dropped", .object([("clientBuffer", scaled(Double(m.droppedClientBuffer))),
                                 ("retention", scaled(Double(m.droppedRetention)))])),
            ("pendingAtEnd", .object([("atClients", scaled(Double(m.pendingAtClients))), ("inLog", scaled(Double(m.pendingInLog)))])),
            ("lagEvents", stats(m.lagEvents.flatMap { $0 }.map { $0 * k })),
            ("lagSeconds", stats(m.lagSeconds.flatMap { $0 })),
            ("freshnessSeconds", .object([
                ("p50", json(Self.ms(m.freshness, 50).map { $0 / 1e3 }, 1)), ("p99", json(Self.ms(m.freshness, 99).map { $0 / 1e3 }, 1)),
                ("mean", json(Self.meanMs(m.freshness).map { $0 / 1e3 }, 1)),
            ])),
            ("deliverySeconds", .object([
                ("p50", json(Self.ms(m.delivery, 50).map { $0 / 1e3 }, 1)), ("p99", json(Self.ms(m.delivery, 99).map { $0 / 1e3 }, 1)),
                ("max", json(m.delivery.count > 0 ? m.delivery.maximum.seconds : nil, 1)),
                ("mean", json(Self.meanMs(m.delivery).map { $0 / 1e3 }, 1)),
            ])),
            ("heldAtClients", stats(m.heldAtClients.map { $0 * k })),
            ("logStorageGB", .object([("peak", round(storage.max() ?? 0)), ("end", round(storage.last ?? 0))])),
            ("publications", .integer(Int64(m.publications.count))),
            ("perPartition", .array(perPartition)),
        ])
    }

    /// Log storage per bucket: the bytes appended within the retention window before its end (GB,
    /// platform scale).
    var logStorageGB: [Double] {
        let series = results.pipeline.appendedBytes
        let width = series.bucketWidth.seconds
        let retention = scenario.root["activity"]["retention"].value
        let span = max(1, Int((retention / width).rounded(.up)))
        var out: [Double] = []
        var window = 0.0
        for b in 0..<series.bucketCount {
            window += series.sums[b]
            if b >= span { window -= series.sums[b - span] }
            out.append(window * k / 1e9)
        }
        return out
    }

    // MARK: Availability and incidents

    /// The playback availability target of the seeds: 99.99%.
    static let availabilityTarget = 0.9999

    var availabilityJSON: JSONValue {
        func entry(_ id: String, _ a: Aggregate, apiFailures: Int64?) -> JSONValue {
            var fields: [(String, JSONValue)] = [
                ("region", .string(id)),
                ("attempts", scaled(Double(a.playbackStarts.value + a.abandonedBeforeStart.value))),
                ("playbackStarts", scaled(Double(a.playbackStarts.value))),
                ("failedStarts", scaled(Double(a.abandonedBeforeStart.value))),
                ("sessionsLost", scaled(Double(a.lostSessions.value))),
                // Every session that ended other than by playing to its end, by cause (before or after starting).
                ("endedFor", .object(EndCause.allCases.filter { $0 != .finished }.map { cause in
                    (String(describing: cause), scaled(Double(a.endCauses[cause.rawValue])))
                })),
                ("availabilityPercent", json(a.availability.map { $0 * 100 }, 4)),
                ("meetsTarget", a.availability.map { .bool($0 >= Self.availabilityTarget) } ?? .null),
            ]
            if let apiFailures { fields.append(("apiFailures", scaled(Double(apiFailures)))) }
            return .object(fields)
        }
        return .object([
            ("targetPercent", round(Self.availabilityTarget * 100, 2)),
            ("all", entry("all", results.global, apiFailures: nil)),
            ("regions", .array(results.regions.map { entry($0.id, $0.aggregate, apiFailures: $0.apiFailures) })),
        ])
    }

    /// Figures over a range of metrics buckets; nil where the window has no data (no start, no
    /// playback, no request).
    struct WindowFigures {
        var startTimeP99Ms: Double?
        var rebufferRatio: Double?
        var failedStarts: Double
        var sessionsLost: Double
        var hitRatio: Double?
        var originGbps: Double
        var lagEvents: Double
        var heldAtClients: Double

        var json: JSONValue {
            .object([
                ("startTimeP99Ms", startTimeP99Ms.map { JSONValue.rounded($0, digits: 1) } ?? .null),
                ("rebufferRatioPercent", rebufferRatio.map { JSONValue.rounded($0 * 100, digits: 4) } ?? .null),
                ("failedStarts", .integer(Int64(failedStarts.rounded()))),
                ("sessionsLost", .integer(Int64(sessionsLost.rounded()))),
                ("hitRatio", hitRatio.map { JSONValue.rounded($0, digits: 5) } ?? .null),
                ("originEgressGbps", JSONValue.rounded(originGbps, digits: 3)),
                ("lagEvents", .integer(Int64(lagEvents.rounded()))),
                ("heldAtClients", .integer(Int64(heldAtClients.rounded()))),
            ])
        }

        /// The cells of an incident table row, in the order of ``RunReport/incidentTable``.
        var cells: [String] {
            [RunReport.text(startTimeP99Ms, "%.0f ms"), RunReport.text(rebufferRatio, "%.3f%%", scale: 100),
             RunReport.grouped(failedStarts), RunReport.grouped(sessionsLost), RunReport.text(hitRatio, "%.2f%%", scale: 100),
             String(format: "%.2f Gbps", originGbps), RunReport.grouped(lagEvents), RunReport.grouped(heldAtClients)]
        }
    }

    func figures(_ buckets: Range<Int>) -> WindowFigures? {
        let g = results.global
        guard !buckets.isEmpty, buckets.lowerBound >= 0 else { return nil }
        func sum(_ s: TimeSeries) -> Double { buckets.reduce(0) { $0 + ($1 < s.bucketCount ? s.sums[$1] : 0) } }
        var start = LatencyRecorder(significantDigits: 2)
        for b in buckets where b < g.startTimeSeries.bucketCount { start.merge(g.startTimeSeries.buckets[b]) }
        let play = sum(g.playSeries), stall = sum(g.rebufferSeries)
        var requests = 0.0, hits = 0.0
        for (i, p) in results.pops.enumerated() where !parents.contains(i) || p.metrics.sessions.value > 0 {
            requests += sum(p.metrics.requestSeries)
            hits += sum(p.metrics.hitSeries)
        }
        let origin = originGbps
        let originMean = buckets.reduce(0.0) { $0 + ($1 < origin.count ? origin[$1] : 0) } / Double(buckets.count)
        let lag = results.pipeline.lagEvents.map { samples in buckets.map { $0 < samples.count ? samples[$0] : 0 }.max() ?? 0 }.max() ?? 0
        let heldSamples = results.pipeline.heldAtClients
        let held = buckets.map { $0 < heldSamples.count ? heldSamples[$0] : 0 }.max() ?? 0
        return WindowFigures(startTimeP99Ms: Self.ms(start, 99),
                             rebufferRatio: Self.ratio(stall, play + stall),
                             failedStarts: sum(g.failedStartSeries) * k, sessionsLost: sum(g.lostSeries) * k,
                             hitRatio: Self.ratio(hits, requests), originGbps: originMean, lagEvents: lag * k,
                             heldAtClients: held * k)
    }

    var parents: Set<Int> { Set(results.pops.indices.compactMap { scenarioParent($0) }) }

    struct IncidentSummary {
        var json: JSONValue
        /// Its rows in the incident table: before, during and after.
        var rows: [[String]]
    }

    /// Each fault strike with the figures before (as long as it lasted, at most 30 minutes),
    /// during and after (as long again), and how long after its end the experience recovered:
    /// the first bucket whose rebuffer ratio is within 0.1 points and start-time p99 within 25%
    /// (or 100 ms) of before. A bucket with neither playback nor starts shows nothing and does not
    /// count as recovered.
    var incidentSummaries: [IncidentSummary] {
        let width = results.global.concurrencySeries.bucketWidth.microseconds
        let buckets = results.global.concurrencySeries.bucketCount
        let faults = scenario.root["faults"].list
        let popIDs = results.pops.map(\.id), regionIDs = results.regions.map(\.id)
        return results.incidents.map { incident in
            let first = Int(incident.start.microseconds / width)
            let endTime = incident.end.map { min($0, results.end) } ?? results.end
            let last = max(first + 1, Int((endTime.microseconds + width - 1) / width))
            let span = max(1, min(last - first, Int(1_800_000_000 / width)))
            let before = figures(max(0, first - span)..<first)
            let during = figures(first..<min(last, buckets))
            let after = incident.end != nil && incident.end! < results.end ? figures(last..<min(buckets, last + span)) : nil
            var recovery: Double?
            if let before, incident.end != nil, incident.end! < results.end {
                for b in last..<buckets {
                    guard let f = figures(b..<(b + 1)), f.rebufferRatio != nil || f.startTimeP99Ms != nil else { continue }
                    let rebufferOK = (f.rebufferRatio ?? 0) <= (before.rebufferRatio ?? 0) + 0.001
                    let startOK = f.startTimeP99Ms.map { now in before.startTimeP99Ms.map { now <= max($0 * 1.25, $0 + 100) } ?? true } ?? true
                    if rebufferOK && startOK {
                        recovery = Double(b - last) * Double(width) / 6e7
                        break
                    }
                }
            }
            let type = incident.kind.rawValue
            var target = ""
            if let p = incident.pop { target = "pop \(popIDs[p])" }
            if let r = incident.region { target += (target.isEmpty ? "" : ", ") + "region \(regionIDs[r])" }
            if incident.kind == .surge {
                let f = faults[incident.fault]
                target = f["title"].isAbsent ? "all titles" : "title \(f["title"].integer)"
            }
            if incident.kind == .ingestOutage { target = "\(Quantity.format(faults[incident.fault]["partitions"].value, as: .fraction)) of partitions" }
            let json: JSONValue = .object([
                ("fault", .integer(Int64(incident.fault))),
                ("type", .string(type)),
                ("target", .string(target)),
                ("start", .string(instant(incident.start))),
                ("end", incident.end.map { .string(instant($0)) } ?? .null),
                ("before", before?.json ?? .null),
                ("during", during?.json ?? .null),
                ("after", after?.json ?? .null),
                ("recoveryMinutes", recovery.map { JSONValue.rounded($0, digits: 1) } ?? .null),
            ])
            let name = "\(type) \(target)", when = "\(instant(incident.start)) – " + (incident.end.map { instant($0) } ?? "end")
            let none = Array(repeating: "–", count: 8)
            let rows = [[name, when, "before"] + (before?.cells ?? none) + [""],
                        ["", "", "during"] + (during?.cells ?? none) + [""],
                        ["", "", "after"] + (after?.cells ?? none) + [recovery.map { String(format: "%.0f min", $0) } ?? "–"]]
            return IncidentSummary(json: json, rows: rows)
        }
    }

    func releasesJSON() -> JSONValue {
        .array(results.releases.map { r in
            .object([
                ("title", .integer(Int64(r.title))),
                ("at", .string(instant(r.time))),
                ("sitesHolding", .integer(Int64(r.sitesHolding ?? 0))),
                ("sites", .integer(Int64(results.pops.count))),
                ("requestsFirstDay", scaled(Double(r.requests))),
                ("hitRatioFirstDay", json(Self.ratio(Double(r.hits), Double(r.requests)), 5)),
            ])
        })
    }

    func originJSON(_ o: OriginResults) -> JSONValue {
        let egress = gbps(o.bytes)
        return .object([
            ("region", .string(o.region)),
            ("capacityGbps", round(o.egress * k / 1e9)),
            ("egressGbps", .object([("peak", round(egress.max() ?? 0)), ("p95", round(percentile(egress, 95))), ("mean", round(mean(egress)))])),
            ("servedTB", round(o.totalBytes * k / 1e12)),
            ("failures", scaled(Double(o.failures))),
            ("waited", scaled(Double(o.waited))),
        ])
    }

    /// One value per bucket: concurrency, starts, start time, rebuffering, bit rate, hit ratio,
    /// PoP and origin egress.
    var timeseriesJSON: JSONValue {
        let g = results.global
        let n = g.concurrencySeries.bucketCount
        // A bucket without data (no start, no playback, no request) is null, not 0.
        func series(_ f: (Int) -> Double?, _ digits: Int = 3) -> JSONValue {
            .array((0..<n).map { f($0).map { JSONValue.rounded($0, digits: digits) } ?? .null })
        }
        func value(_ s: TimeSeries, _ b: Int) -> Double { b < s.bucketCount ? s.sums[b] : 0 }
        let regionConcurrency: [(String, JSONValue)] = results.regions.map { r in
            (r.id, series({ r.aggregate.concurrencySeries.mean($0) * k }, 1))
        }
        let hitRatio: [(String, JSONValue)] = results.pops.map { p in
            (p.id, series({ b in Self.ratio(value(p.metrics.hitSeries, b), value(p.metrics.requestSeries, b)) }, 4))
        }
        let popEgress: [(String, JSONValue)] = results.pops.map { p in
            (p.id, series({ b in b < p.metrics.egress.bucketCount ? p.metrics.egress.ratePerSecond(b) * 8 * k / 1e9 : 0 }))
        }
        let popUtilisation: [(String, JSONValue)] = results.pops.map { p in
            (p.id, series({ p.metrics.utilisation.mean($0) * 100 }, 2))
        }
        let origin = originGbps
        let logStorage = logStorageGB
        return .object([
            ("bucket", .string(Quantity.format(g.concurrencySeries.bucketWidth.seconds, as: .duration))),
            ("bucketStarts", .array((0..<n).map { .string(instant(g.concurrencySeries.bucketStart($0))) })),
            ("concurrency", .object([("all", series({ g.concurrencySeries.mean($0) * k }, 1))] + regionConcurrency)),
            ("sessionStarts", series({ value(g.startSeries, $0) * k }, 0)),
            ("startTimeMs", .object([50.0, 90, 99].map { p in
                ("p" + LineChart.trim(p), series({ g.startTimeSeries.percentile(p, bucket: $0).map { Double($0.microseconds) / 1_000 } }, 1))
            })),
            ("rebufferRatioPercent", series({ b in
                let play = value(g.playSeries, b), stall = value(g.rebufferSeries, b)
                return Self.ratio(stall * 100, play + stall)
            }, 4)),
            ("averageBitrateKbps", series({ b in Self.ratio(value(g.bitsSeries, b) / 1_000, value(g.playSeries, b) / 1e6) }, 1)),
            ("hitRatio", .object(hitRatio)),
            ("popEgressGbps", .object(popEgress)),
            ("popUtilisationPercent", .object(popUtilisation)),
            ("originEgressGbps", series({ $0 < origin.count ? origin[$0] : 0 })),
            ("failedStarts", series({ value(g.failedStartSeries, $0) * k }, 0)),
            ("sessionsLost", series({ value(g.lostSeries, $0) * k }, 0)),
            ("fillQueue", .object(results.pops.map { p in (p.id, series({ p.metrics.fillQueue.mean($0) }, 1)) })),
            ("activityLagEvents", series({ b in (results.pipeline.lagEvents.map { b < $0.count ? $0[b] : 0 }.max() ?? 0) * k }, 0)),
            ("activityHeldAtClients", series({ b in (b < results.pipeline.heldAtClients.count ? results.pipeline.heldAtClients[b] : 0) * k }, 0)),
            ("activityLogStorageGB", series({ b in b < logStorage.count ? logStorage[b] : 0 })),
            ("oldestFillJobMinutes", .object(results.pops.map { p in
                (p.id, series({ $0 < p.metrics.oldestJobAge.count ? p.metrics.oldestJobAge[$0] / 60 : 0 }, 1))
            })),
        ])
    }

    // MARK: People

    var headline: [(String, String)] {
        let g = results.global
        let d = delivery
        let origin = originGbps
        func msText(_ p: Double) -> String { Self.text(Self.ms(g.startTime, p), "%.0f ms") }
        return [
            ("peak concurrent sessions", "\(Self.grouped(g.concurrency.maximum * k)) at \(instant(g.concurrency.maximumAt))"),
            ("expected daily peak (calibrated)", "\(Self.grouped(results.expectedPeak)) at \(DateTimeText.formatTimeOfDay(results.expectedPeakUTCMinute * 60)) UTC"),
            ("session starts", "\(Self.grouped(Double(g.sessionStarts.value) * k)) (\(Self.grouped(Double(g.sessionStarts.value) * k / hours)) per hour)"),
            ("video start time p50 / p90 / p99", g.startTime.count > 0 ? "\(msText(50)) / \(msText(90)) / \(msText(99))" : "no data (nothing started)"),
            ("abandoned before start", Self.text(Self.ratio(Double(g.abandonedBeforeStart.value), Double(g.sessionStarts.value)), "%.2f%%", scale: 100)),
            ("rebuffer ratio", g.rebufferRatio.map { String(format: "%.3f%% (%.2f rebuffers per hour)", $0 * 100, g.rebuffersPerHour ?? 0) }
                ?? "no data (nothing played)"),
            ("time-average bit rate", g.averageBitrate.map { String(format: "%.0f kbps (%.2f switches per hour)", $0 / 1_000, g.switchesPerHour ?? 0) }
                ?? "no data (nothing played)"),
            ("hit ratio: requests / bytes", "\(Self.text(d.hitRatio, "%.2f%%", scale: 100)) / \(Self.text(d.byteHitRatio, "%.2f%%", scale: 100))"),
            ("content misses / health misses", "\(Self.grouped(d.contentMisses * k)) / \(Self.grouped(d.healthMisses * k))"),
            ("origin egress peak / p95", String(format: "%.2f / %.2f Gbps", origin.max() ?? 0, percentile(origin, 95))),
            ("fills: files, TB from peer / tier / origin", fillText),
            ("activity: events aggregated / lost / late", activityText),
            ("availability (starts / attempts)", Self.text(results.global.availability, "%.4f%%", scale: 100)
                + String(format: " (target %.2f%%)", Self.availabilityTarget * 100)),
            ("sessions lost / failed starts", "\(Self.grouped(Double(results.global.lostSessions.value) * k)) / "
                + Self.grouped(Double(results.global.abandonedBeforeStart.value) * k)),
            ("activity: delivery p50 / p99, log lag p99, freshness p50 / p99",
             "\(Self.text(Self.ms(results.pipeline.delivery, 50), "%.0f", scale: 1e-3)) / \(Self.text(Self.ms(results.pipeline.delivery, 99), "%.0f s", scale: 1e-3)), "
                + String(format: "%.1f s, ", percentile(results.pipeline.lagSeconds.flatMap { $0 }, 99))
                + "\(Self.text(Self.ms(results.pipeline.freshness, 50), "%.0f", scale: 1e-3)) / \(Self.text(Self.ms(results.pipeline.freshness, 99), "%.0f s", scale: 1e-3))"),
        ] + results.releases.map { r in
            ("release of title \(r.title) at \(instant(r.time))",
             "on \(r.sitesHolding ?? 0) of \(results.pops.count) PoPs; first-day hit ratio "
                + Self.text(Self.ratio(Double(r.hits), Double(r.requests)), "%.2f%%", scale: 100))
        }
    }

    var activityText: String {
        let m = results.pipeline
        return "\(Self.grouped(Double(m.aggregated) * k)) / \(Self.grouped(Double(m.droppedClientBuffer + m.droppedRetention) * k))"
            + " / \(Self.grouped(Double(m.late) * k))"
    }

    var fillText: String {
        var bytes = [0.0, 0.0, 0.0]
        var files: Int64 = 0
        for p in results.pops {
            files += p.metrics.fills.value
            for s in 0..<3 { bytes[s] += p.metrics.fillBytes[s] }
        }
        return "\(Self.grouped(Double(files))), " + bytes.map { String(format: "%.2f", $0 / 1e12) }.joined(separator: " / ")
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
        header.add(["sampling", results.sampling == 1 ? "every user" : "1 in \(results.sampling) users (counts and Gbps scaled back)"])
        header.add(["simulated", "\(instant(.zero)) to \(instant(results.end))"])
        out += header.markdown + "\n## Headline\n\n"
        var table = TextTable(header: ["metric", "value"])
        for (label, value) in headline { table.add([label, value]) }
        out += table.markdown
        if let comparisonTable, let comparison {
            out += "\n## Compared with \(comparison.label)\n\n"
            out += "The same scenario with " + comparison.overrides.map { "`\($0)`" }.joined(separator: ", ") + ".\n\n"
            out += comparisonTable.markdown
        }
        if let incidentTable { out += "\n## Incidents\n\n" + incidentTable.markdown }
        out += "\n## Regions\n\n" + regionTable.markdown + "\n## PoPs\n\n" + popTable.markdown
        if !ResolvedScenario.unmodelledSections.isEmpty {
            out += "\n## Not modelled yet\n\n"
            out += "These parts of the scenario are validated but not simulated yet: "
            out += ResolvedScenario.unmodelledSections.map { "`\($0)`" }.joined(separator: ", ") + ".\n"
            if !scenario.notModelled.isEmpty {
                out += "This scenario sets: " + scenario.notModelled.map { "`\($0)`" }.joined(separator: ", ") + ".\n"
            }
        }
        return out
    }

    /// Each incident's before/during/after figures, every field report.json has; nil when the run
    /// had none.
    var incidentTable: TextTable? {
        let incidents = incidentSummaries
        guard !incidents.isEmpty else { return nil }
        var table = TextTable(header: ["incident", "when", "window", "start p99", "rebuffer", "failed starts", "sessions lost",
                                       "hit ratio", "origin egress", "log lag (events)", "held at clients", "recovered"],
                              rightAligned: Set(3...10))
        for i in incidents { for row in i.rows { table.add(row) } }
        return table
    }

    var regionTable: TextTable {
        var table = TextTable(header: ["region", "starts", "peak concurrency", "start p90", "rebuffer", "bit rate"], rightAligned: [1, 2, 3, 4, 5])
        for r in results.regions {
            let a = r.aggregate
            table.add([r.id, Self.grouped(Double(a.sessionStarts.value) * k), Self.grouped(a.concurrency.maximum * k),
                       Self.text(Self.ms(a.startTime, 90), "%.0f ms"),
                       Self.text(a.rebufferRatio, "%.3f%%", scale: 100), Self.text(a.averageBitrate, "%.0f kbps", scale: 1e-3)])
        }
        return table
    }

    var popTable: TextTable {
        var table = TextTable(header: ["PoP", "sessions", "hit ratio", "byte hit ratio", "egress peak", "utilisation peak", "health misses"],
                              rightAligned: [1, 2, 3, 4, 5, 6])
        for p in results.pops {
            let m = p.metrics
            let requests = Double(m.requests.value)
            let egress = gbps(m.egress)
            let utilisation = (0..<m.utilisation.bucketCount).map { m.utilisation.mean($0) }
            table.add([p.id, Self.grouped(Double(m.sessions.value) * k),
                       Self.text(Self.ratio(Double(m.hits.value), requests), "%.2f%%", scale: 100),
                       Self.text(Self.ratio(m.hitBytes, m.bytes), "%.2f%%", scale: 100),
                       String(format: "%.2f Gbps", egress.max() ?? 0), String(format: "%.1f%%", (utilisation.max() ?? 0) * 100),
                       Self.grouped(Double(m.healthMisses.value) * k)])
        }
        return table
    }

    /// The table `vodsim run` prints at the end.
    public var terminalSummary: String {
        var table = TextTable(header: ["metric", "value"])
        for (label, value) in headline { table.add([label, value]) }
        return table.plain + "\n" + (comparisonTable.map { $0.plain + "\n" } ?? "") + regionTable.plain + "\n" + popTable.plain
    }

    /// Writes report.json, summary.md, report.html, timeseries.csv and the published data sets
    /// into `folder`, atomically.
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
