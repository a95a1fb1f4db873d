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

    // MARK: Derived figures

    struct Delivery {
        var requests = 0.0, hits = 0.0, bytes = 0.0, hitBytes = 0.0, contentMisses = 0.0, healthMisses = 0.0, fills = 0.0
        var hitRatio: Double { requests > 0 ? hits / requests : 0 }
        var byteHitRatio: Double { bytes > 0 ? hitBytes / bytes : 0 }
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
            ("hitRatio", "hit ratio (requests)", round(d.hitRatio, 5), String(format: "%.2f%%", d.hitRatio * 100)),
            ("byteHitRatio", "hit ratio (bytes)", round(d.byteHitRatio, 5), String(format: "%.2f%%", d.byteHitRatio * 100)),
            ("originEgressGbpsPeak", "origin egress peak", round(origin.max() ?? 0), String(format: "%.2f Gbps", origin.max() ?? 0)),
            ("originEgressGbpsP95", "origin egress p95", round(percentile(origin, 95)), String(format: "%.2f Gbps", percentile(origin, 95))),
            ("originEgressGbpsAtViewingPeak", "origin egress at the viewing peak", round(originAtViewingPeak),
             String(format: "%.2f Gbps", originAtViewingPeak)),
            ("originServedTB", "origin served", round(originTB), String(format: "%.2f TB", originTB)),
            ("fillTB", "fills", round(fillBytes / 1e12), String(format: "%.2f TB", fillBytes / 1e12)),
            ("startTimeMsP90", "start time p90", ms(g.startTime.percentile(90)), String(format: "%.0f ms", Double(g.startTime.percentile(90).microseconds) / 1e3)),
            ("rebufferRatioPercent", "rebuffer ratio", round(g.rebufferRatio * 100, 4), String(format: "%.3f%%", g.rebufferRatio * 100)),
            ("averageBitrateKbps", "bit rate", round(g.averageBitrate / 1_000, 1), String(format: "%.0f kbps", g.averageBitrate / 1_000)),
        ]
        for r in results.releases {
            let ratio = r.requests > 0 ? Double(r.hits) / Double(r.requests) : 0
            out.append(("releaseHitRatio.title\(r.title)", "title \(r.title) first-day hit ratio", round(ratio, 5),
                        String(format: "%.2f%%", ratio * 100)))
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
            ("abandonedBeforeStartPercent", round(started > 0 ? Double(a.abandonedBeforeStart.value) / started * 100 : 0, 3)),
            ("ended", scaled(Double(a.sessionsEnded.value))),
            ("meanEndedMinutes", round(a.sessionsEnded.value > 0 ? a.endedSessionTime / Double(a.sessionsEnded.value) / 6e7 : 0, 2)),
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
                ("p50", ms(a.startTime.percentile(50))), ("p90", ms(a.startTime.percentile(90))),
                ("p99", ms(a.startTime.percentile(99))), ("mean", ms(a.startTime.mean)),
            ])),
            ("rebufferRatioPercent", round(a.rebufferRatio * 100, 4)),
            ("rebuffersPerHour", round(a.rebuffersPerHour, 3)),
            ("averageBitrateKbps", round(a.averageBitrate / 1_000, 1)),
            ("switchesPerHour", round(a.switchesPerHour, 3)),
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
            ("hitRatio", round(d.hitRatio, 5)),
            ("byteHitRatio", round(d.byteHitRatio, 5)),
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
            ("hitRatio", round(requests > 0 ? Double(m.hits.value) / requests : 0, 5)),
            ("byteHitRatio", round(m.bytes > 0 ? m.hitBytes / m.bytes : 0, 5)),
            ("contentMisses", scaled(Double(m.contentMisses.value))),
            ("healthMisses", scaled(Double(m.healthMisses.value))),
            ("waited", scaled(Double(m.waited.value))),
            ("capacityGbps", round(p.egress * k / 1e9)),
            ("egressGbps", .object([("peak", round(egress.max() ?? 0)), ("mean", round(mean(egress)))])),
            ("utilisationPercent", .object([("peak", round((utilisation.max() ?? 0) * 100, 2)), ("mean", round(mean(utilisation) * 100, 2))])),
            ("startTimeMs", .object([("p50", ms(m.startTime.percentile(50))), ("p90", ms(m.startTime.percentile(90))),
                                     ("p99", ms(m.startTime.percentile(99)))])),
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
                ("p50", round(m.freshness.percentile(50).seconds, 1)), ("p99", round(m.freshness.percentile(99).seconds, 1)),
                ("mean", round(m.freshness.mean.seconds, 1)),
            ])),
            ("deliverySeconds", .object([
                ("p50", round(m.delivery.percentile(50).seconds, 1)), ("p99", round(m.delivery.percentile(99).seconds, 1)),
                ("max", round(m.delivery.maximum.seconds, 1)), ("mean", round(m.delivery.mean.seconds, 1)),
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
                ("availabilityPercent", round(a.availability * 100, 4)),
                ("meetsTarget", .bool(a.availability >= Self.availabilityTarget)),
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

    /// Figures over a range of metrics buckets.
    struct WindowFigures {
        var startTimeP99Ms: Double
        var rebufferRatio: Double
        var failedStarts: Double
        var sessionsLost: Double
        var hitRatio: Double
        var originGbps: Double
        var lagEvents: Double
        var heldAtClients: Double

        var json: JSONValue {
            .object([
                ("startTimeP99Ms", JSONValue.rounded(startTimeP99Ms, digits: 1)),
                ("rebufferRatioPercent", JSONValue.rounded(rebufferRatio * 100, digits: 4)),
                ("failedStarts", .integer(Int64(failedStarts.rounded()))),
                ("sessionsLost", .integer(Int64(sessionsLost.rounded()))),
                ("hitRatio", JSONValue.rounded(hitRatio, digits: 5)),
                ("originEgressGbps", JSONValue.rounded(originGbps, digits: 3)),
                ("lagEvents", .integer(Int64(lagEvents.rounded()))),
                ("heldAtClients", .integer(Int64(heldAtClients.rounded()))),
            ])
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
        return WindowFigures(startTimeP99Ms: Double(start.percentile(99).microseconds) / 1e3,
                             rebufferRatio: play + stall > 0 ? stall / (play + stall) : 0,
                             failedStarts: sum(g.failedStartSeries) * k, sessionsLost: sum(g.lostSeries) * k,
                             hitRatio: requests > 0 ? hits / requests : 0, originGbps: originMean, lagEvents: lag * k,
                             heldAtClients: held * k)
    }

    var parents: Set<Int> { Set(results.pops.indices.compactMap { scenarioParent($0) }) }

    struct IncidentSummary {
        var json: JSONValue
        var row: [String]
    }

    /// Each fault strike with the figures before (as long as it lasted, at most 30 minutes),
    /// during and after (as long again), and how long after its end the experience recovered:
    /// the first bucket whose rebuffer ratio is within 0.1 points and start-time p99 within 25%
    /// (or 100 ms) of before.
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
                    guard let f = figures(b..<(b + 1)) else { continue }
                    let rebufferOK = f.rebufferRatio <= before.rebufferRatio + 0.001
                    let startOK = f.startTimeP99Ms <= max(before.startTimeP99Ms * 1.25, before.startTimeP99Ms + 100)
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
            func cell(_ f: WindowFigures?) -> String {
                guard let f else { return "–" }
                return String(format: "%.0f ms, %.3f%%, %d failed, %d lost", f.startTimeP99Ms, f.rebufferRatio * 100,
                              Int(f.failedStarts.rounded()), Int(f.sessionsLost.rounded()))
            }
            let row = ["\(type) \(target)", "\(instant(incident.start)) – " + (incident.end.map { instant($0) } ?? "end"),
                       cell(before), cell(during), cell(after), recovery.map { String(format: "%.0f min", $0) } ?? "–"]
            return IncidentSummary(json: json, row: row)
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
                ("hitRatioFirstDay", round(r.requests > 0 ? Double(r.hits) / Double(r.requests) : 0, 5)),
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
        func series(_ f: (Int) -> Double, _ digits: Int = 3) -> JSONValue { .array((0..<n).map { JSONValue.rounded(f($0), digits: digits) }) }
        func value(_ s: TimeSeries, _ b: Int) -> Double { b < s.bucketCount ? s.sums[b] : 0 }
        let regionConcurrency: [(String, JSONValue)] = results.regions.map { r in
            (r.id, series({ r.aggregate.concurrencySeries.mean($0) * k }, 1))
        }
        let hitRatio: [(String, JSONValue)] = results.pops.map { p in
            (p.id, series({ b in
                let requests = value(p.metrics.requestSeries, b)
                return requests > 0 ? value(p.metrics.hitSeries, b) / requests : 0
            }, 4))
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
            ("startTimeMs", .object([
                ("p50", series({ Double(g.startTimeSeries.percentile(50, bucket: $0)?.microseconds ?? 0) / 1_000 }, 1)),
                ("p90", series({ Double(g.startTimeSeries.percentile(90, bucket: $0)?.microseconds ?? 0) / 1_000 }, 1)),
                ("p99", series({ Double(g.startTimeSeries.percentile(99, bucket: $0)?.microseconds ?? 0) / 1_000 }, 1)),
            ])),
            ("rebufferRatioPercent", series({ b in
                let play = value(g.playSeries, b), stall = value(g.rebufferSeries, b)
                return play + stall > 0 ? stall / (play + stall) * 100 : 0
            }, 4)),
            ("averageBitrateKbps", series({ b in
                let play = value(g.playSeries, b)
                return play > 0 ? value(g.bitsSeries, b) / (play / 1e6) / 1_000 : 0
            }, 1)),
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
        func msText(_ x: SimDuration) -> String { String(format: "%.0f ms", Double(x.microseconds) / 1_000) }
        return [
            ("peak concurrent sessions", "\(Self.grouped(g.concurrency.maximum * k)) at \(instant(g.concurrency.maximumAt))"),
            ("expected daily peak (calibrated)", "\(Self.grouped(results.expectedPeak)) at \(DateTimeText.formatTimeOfDay(results.expectedPeakUTCMinute * 60)) UTC"),
            ("session starts", "\(Self.grouped(Double(g.sessionStarts.value) * k)) (\(Self.grouped(Double(g.sessionStarts.value) * k / hours)) per hour)"),
            ("video start time p50 / p90 / p99", "\(msText(g.startTime.percentile(50))) / \(msText(g.startTime.percentile(90))) / \(msText(g.startTime.percentile(99)))"),
            ("abandoned before start", String(format: "%.2f%%", g.sessionStarts.value > 0 ? Double(g.abandonedBeforeStart.value) / Double(g.sessionStarts.value) * 100 : 0)),
            ("rebuffer ratio", String(format: "%.3f%% (%.2f rebuffers per hour)", g.rebufferRatio * 100, g.rebuffersPerHour)),
            ("time-average bit rate", String(format: "%.0f kbps (%.2f switches per hour)", g.averageBitrate / 1_000, g.switchesPerHour)),
            ("hit ratio: requests / bytes", String(format: "%.2f%% / %.2f%%", d.hitRatio * 100, d.byteHitRatio * 100)),
            ("content misses / health misses", "\(Self.grouped(d.contentMisses * k)) / \(Self.grouped(d.healthMisses * k))"),
            ("origin egress peak / p95", String(format: "%.2f / %.2f Gbps", origin.max() ?? 0, percentile(origin, 95))),
            ("fills: files, TB from peer / tier / origin", fillText),
            ("activity: events aggregated / lost / late", activityText),
            ("availability (starts / attempts)", String(format: "%.4f%% (target %.2f%%)", results.global.availability * 100,
                                                        Self.availabilityTarget * 100)),
            ("sessions lost / failed starts", "\(Self.grouped(Double(results.global.lostSessions.value) * k)) / "
                + Self.grouped(Double(results.global.abandonedBeforeStart.value) * k)),
            ("activity: delivery p50 / p99, log lag p99, freshness p50 / p99",
             String(format: "%.0f / %.0f s, %.1f s, %.0f / %.0f s", results.pipeline.delivery.percentile(50).seconds,
                    results.pipeline.delivery.percentile(99).seconds, percentile(results.pipeline.lagSeconds.flatMap { $0 }, 99),
                                                              results.pipeline.freshness.percentile(50).seconds,
                                                              results.pipeline.freshness.percentile(99).seconds)),
        ] + results.releases.map { r in
            ("release of title \(r.title) at \(instant(r.time))",
             String(format: "on %d of %d PoPs; first-day hit ratio %.2f%%", r.sitesHolding ?? 0, results.pops.count,
                    r.requests > 0 ? Double(r.hits) / Double(r.requests) * 100 : 0))
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

    /// Each incident's before/during/after figures; nil when the run had none.
    var incidentTable: TextTable? {
        let incidents = incidentSummaries
        guard !incidents.isEmpty else { return nil }
        var table = TextTable(header: ["incident", "when", "before (p99 start, rebuffer, failed, lost)", "during", "after", "recovered"])
        for i in incidents { table.add(i.row) }
        return table
    }

    var regionTable: TextTable {
        var table = TextTable(header: ["region", "starts", "peak concurrency", "start p90", "rebuffer", "bit rate"], rightAligned: [1, 2, 3, 4, 5])
        for r in results.regions {
            let a = r.aggregate
            table.add([r.id, Self.grouped(Double(a.sessionStarts.value) * k), Self.grouped(a.concurrency.maximum * k),
                       String(format: "%.0f ms", Double(a.startTime.percentile(90).microseconds) / 1_000),
                       String(format: "%.3f%%", a.rebufferRatio * 100), String(format: "%.0f kbps", a.averageBitrate / 1_000)])
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
                       String(format: "%.2f%%", requests > 0 ? Double(m.hits.value) / requests * 100 : 0),
                       String(format: "%.2f%%", m.bytes > 0 ? m.hitBytes / m.bytes * 100 : 0),
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
