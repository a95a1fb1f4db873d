import Foundation
import Metrics
import Reports
import SimCore
import World

/// report.json: its sections, from the world's results (docs/report.schema.json).
extension RunReport {
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
            ("fidelity", fidelityJSON),
            ("notModelledYet", .object([
                ("sections", .array(ResolvedScenario.unmodelledSections.map { .string($0) })),
                ("keysSet", .array(scenario.notModelled.map { .string($0) })),
            ])),
        ]
        let costs = cost
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
            ("topTitles", topTitlesJSON),
            ("activity", activityJSON),
            ("availability", availabilityJSON),
            ("incidents", .array(incidentSummaries.map(\.json))),
        ] + (costs.map { [("cost", costJSON($0))] } ?? [])
          + (results.controlPlane.map { [("controlPlane", controlPlaneJSON($0))] } ?? []))
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

    /// How closely sessions were followed: the model, and with hybrid fidelity the share of
    /// session-time spent in steady windows and the segments they advanced.
    var fidelityJSON: JSONValue {
        guard let h = results.hybrid else { return .object([("model", .string("segment"))]) }
        let sessionTimeUs = results.global.concurrency.timeAverage(until: results.end) * Double(results.end.microseconds)
        return .object([
            ("model", .string("hybrid")),
            ("steadySharePercent", sessionTimeUs > 0 ? .rounded(100 * h.sessionTimeUs / sessionTimeUs, digits: 2) : .null),
            ("steadyWindows", .integer(h.windows)),
            ("steadySegments", .integer(h.segments)),
        ])
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
        out += controlPlaneKeyFigures
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
            ("stalledSessionsPercent", json(a.stalledSessionShare.map { $0 * 100 }, 3)),
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
            ("popEgressGbps", .object([("peak", round(totalPop.max() ?? 0)), ("p95", round(percentile(totalPop, 95))), ("mean", round(mean(totalPop)))])),
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
        let costPerHour: [(String, JSONValue)] = cost.map { c in [("costPerHour", series({ $0 < c.perHour.count ? c.perHour[$0] : nil }, 4))] } ?? []
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
        ] + costPerHour + (results.controlPlane.map { cp in
            let sps = streamStartsPerSecond
            return [("streamStartsPerSecond", series({ $0 < sps.count ? sps[$0] : nil }, 2))] + controlPlaneSeries(cp, series: series)
        } ?? []))
    }
}
