import Foundation
import Metrics
import Reports
import SimCore
import World

/// Availability against the seeds' 99.99% target, and each fault strike's effect (the incidents table).
extension RunReport {
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
            if !faults[incident.fault]["target"].isAbsent {
                target = faults[incident.fault]["target"].text + (incident.kind.rawValue.hasPrefix("shard") ? "#\(faults[incident.fault]["shard"].isAbsent ? 0 : faults[incident.fault]["shard"].integer)" : "")
                    + (incident.region.map { ", region \(regionIDs[$0])" } ?? "")
            }
            let ended = incident.end != nil && incident.end! < results.end
            let controlPlane = controlPlaneIncidentJSON(first: first, last: last, span: span, ended: ended)
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
            ] + (controlPlane.map { [("controlPlane", $0)] } ?? []))
            let name = "\(type) \(target)", when = "\(instant(incident.start)) – " + (incident.end.map { instant($0) } ?? "end")
            let none = Array(repeating: "–", count: 8)
            let rows = [[name, when, "before"] + (before?.cells ?? none) + [""],
                        ["", "", "during"] + (during?.cells ?? none) + [""],
                        ["", "", "after"] + (after?.cells ?? none) + [recovery.map { String(format: "%.0f min", $0) } ?? "–"]]
            return IncidentSummary(json: json, rows: rows)
        }
    }
}
