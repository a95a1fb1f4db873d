import Metrics
import Reports
import SimCore
import World

/// The control plane in the report: per request class and region, per pool (services, caches,
/// database shards), per cache; stream starts per second; the control plane around incidents.
extension RunReport {
    /// Stream starts (first frames) per second in each bucket, at platform scale.
    var streamStartsPerSecond: [Double] {
        let s = results.global.startTimeSeries
        let n = results.global.concurrencySeries.bucketCount
        let width = s.bucketWidth.seconds
        return (0..<n).map { b in b < s.bucketCount ? Double(s.buckets[b].count) * k / width : 0 }
    }

    /// Successful control-plane answers per second in each bucket (every class), at platform scale.
    func controlPlaneGoodput(_ cp: ControlPlaneResults) -> [Double] {
        let n = results.global.concurrencySeries.bucketCount
        let width = results.global.concurrencySeries.bucketWidth.seconds
        return (0..<n).map { b in
            cp.classes.reduce(0.0) { $0 + (b < $1.successSeries.bucketCount ? $1.successSeries.sums[b] : 0) } * k / width
        }
    }

    /// What a comparison sets side by side for the control plane: stream starts, goodput after
    /// the first incident and how long it took to come back, the failed share.
    var controlPlaneKeyFigures: [(key: String, label: String, json: JSONValue, text: String)] {
        guard let cp = results.controlPlane else { return [] }
        let sps = streamStartsPerSecond
        let (answered, failed) = answeredAndFailed(cp)
        let failedShare = Self.ratio(failed * 100, answered)
        var out: [(key: String, label: String, json: JSONValue, text: String)] = [
            ("streamStartsPerSecondLowest", "stream starts per second, lowest bucket", round(sps.min() ?? 0, 2), String(format: "%.2f", sps.min() ?? 0)),
            ("controlPlaneFailedPercent", "control-plane requests failed", json(failedShare, 4), Self.text(failedShare, "%.3f%%")),
        ]
        if let first = incidentSummaries.first?.json["controlPlane"] {
            let after = first.at(["goodputPerSecond", "after"])?.double, recovery = first["goodputRecoveryMinutes"]?.double
            out.append(("controlPlaneGoodputAfterFirstIncident", "control-plane goodput after the first incident", json(after, 2),
                        Self.text(after, "%.1f requests/s")))
            out.append(("controlPlaneRecoveryMinutes", "control-plane goodput back after the first incident", json(recovery, 1),
                        recovery.map { String(format: "%.0f min", $0) } ?? "not within the run"))
        }
        return out
    }

    static let outcomeKeys = ["okPercent", "fallbackPercent", "errorPercent", "timeoutPercent", "shedPercent"]

    func classFiguresJSON(_ f: [ControlPlaneResults.ClassRegion], slo: SimDuration) -> [(String, JSONValue)] {
        let t = classTotals(f)
        let (latency, requests, counts) = (t.latency, t.requests, t.counts)
        let succeeded = counts[0] + counts[1]
        let exact = Double(f.reduce(0) { $0 + $1.exact })
        let p99 = Self.ms(latency, 99)
        return [
            ("requests", scaled(requests)),
            ("perSecond", round(requests * k / (hours * 3_600), 2)),
            ("exactPercent", json(Self.ratio(exact * 100, requests), 2)),
            ("latencyMs", .object([50.0, 90, 99, 99.9].map { p in ("p" + LineChart.trim(p), json(Self.ms(latency, p), 2)) })),
            ("withinSloPercent", json(Self.ratio((succeeded - t.overSlo) * 100, succeeded), 3)),
            ("p99MeetsSlo", p99.map { .bool($0 <= slo.seconds * 1_000) } ?? .null),
        ] + zip(Self.outcomeKeys, counts).map { ($0, json(Self.ratio($1 * 100, requests), 4)) } + [
            ("attemptsPerRequest", json(Self.ratio(t.attempts, requests), 3)),
        ]
    }

    func controlPlaneJSON(_ cp: ControlPlaneResults) -> JSONValue {
        let regionIDs = results.regions.map(\.id)
        let seconds = hours * 3_600
        let width = results.global.concurrencySeries.bucketWidth.seconds
        let sps = streamStartsPerSecond
        let classes: [JSONValue] = cp.classes.map { c in
            .object([("name", .string(c.name)), ("priority", .integer(Int64(c.priority))),
                     ("sloMs", round(c.slo.seconds * 1_000, 1))]
                    + classFiguresJSON(c.regions, slo: c.slo)
                    + [("regions", .array(c.regions.enumerated().compactMap { r, f in
                        f.requests == 0 ? nil : .object([("region", .string(regionIDs[r]))] + classFiguresJSON([f], slo: c.slo))
                    }))])
        }
        let pools: [JSONValue] = cp.pools.map { p in
            let busy = (0..<p.busySeries.bucketCount).map { p.busySeries.mean($0) }
            let queue = (0..<p.queueSeries.bucketCount).map { p.queueSeries.mean($0) }
            let meanBusy = busy.reduce(0, +) / Double(max(1, busy.count)), meanQueue = queue.reduce(0, +) / Double(max(1, queue.count))
            let limits = p.limitSamples.filter { !$0.isNaN }
            return .object([
                ("name", .string(p.name)), ("kind", .string(p.kind.rawValue)), ("region", .string(regionIDs[p.region])),
                ("instances", .integer(Int64(p.instances))), ("slots", .integer(Int64(p.slots))),
                ("callsPerSecond", round(Double(p.arrivals) * k / seconds, 2)),
                ("utilisationPercent", json(p.slots > 0 ? meanBusy * 100 / Double(p.slots) : nil, 2)),
                ("peakUtilisationPercent", json(p.slots > 0 ? (busy.max() ?? 0) * 100 / Double(p.slots) : nil, 2)),
                ("meanQueue", round(meanQueue, 2)),
                ("peakQueue", round(queue.max() ?? 0, 2)),
                ("meanInPoolMs", json(Self.ratio(p.sojournSeconds * 1_000, Double(p.completed)), 3)),
                ("rejectedPercent", json(Self.ratio(Double(p.rejected) * 100, Double(p.arrivals)), 4)),
                ("shedPercent", json(Self.ratio(Double(p.shed) * 100, Double(p.arrivals)), 4)),
                ("meanLimit", limits.isEmpty ? .null : round(limits.reduce(0, +) / Double(limits.count), 2)),
            ])
        }
        let caches: [JSONValue] = cp.caches.map { c in
            let hits = c.hits.sums.reduce(0, +), misses = c.misses.sums.reduce(0, +)
            let ratios = (0..<max(c.hits.bucketCount, c.misses.bucketCount)).compactMap { b -> Double? in
                let h = b < c.hits.bucketCount ? c.hits.sums[b] : 0, m = b < c.misses.bucketCount ? c.misses.sums[b] : 0
                return Self.ratio(h, h + m)
            }
            return .object([
                ("name", .string(c.name)), ("region", .string(regionIDs[c.region])),
                ("hitRatio", json(Self.ratio(hits, hits + misses), 5)),
                ("lowestBucketHitRatio", json(ratios.min(), 5)),
                ("flushes", .integer(Int64(c.flushes))),
            ])
        }
        return .object([
            ("controls", .bool(cp.controlled)),
            ("exactFraction", round(cp.exactFraction, 4)),
            ("slots", .object([("intended", round(cp.intendedSlots, 2)), ("simulated", .integer(Int64(cp.simulatedSlots)))])),
            ("streamStartsPerSecond", .object([
                ("mean", round(sps.reduce(0, +) / Double(max(1, sps.count)), 2)),
                ("peak", round(sps.max() ?? 0, 2)),
                ("lowest", round(sps.min() ?? 0, 2)),
            ])),
            ("classes", .array(classes)),
            ("pools", .array(pools)),
            ("caches", .array(caches)),
            ("datasetStalenessMinutes", cp.staleness.count == 0 ? .null : .object([50.0, 90, 99].map { p in
                ("p" + LineChart.trim(p), round(cp.staleness.percentile(p).seconds / 60, 2))
            })),
            ("wastedCalls", scaled(Double(cp.wastedCalls))),
            ("breakerRejections", scaled(Double(cp.breakerRejections))),
            ("retriesDeniedByBudget", scaled(Double(cp.budgetDenials))),
            ("bucketSeconds", round(width, 3)),
        ])
    }

    /// The control plane's time series, one level deep like every other series (timeseries.csv
    /// has a column per class, cache or pool).
    func controlPlaneSeries(_ cp: ControlPlaneResults, series: ((Int) -> Double?, Int) -> JSONValue) -> [(String, JSONValue)] {
        let width = results.global.concurrencySeries.bucketWidth.seconds
        let regionIDs = results.regions.map(\.id)
        func value(_ s: TimeSeries, _ b: Int) -> Double { b < s.bucketCount ? s.sums[b] : 0 }
        let multiRegion = Set(cp.pools.map(\.region)).count > 1
        func name(_ n: String, _ r: Int) -> String { multiRegion ? "\(n)@\(regionIDs[r])" : n }
        return [
            ("controlPlaneRequestsPerSecond", .object(cp.classes.map { c in (c.name, series({ value(c.requestSeries, $0) * k / width }, 2)) })),
            ("controlPlaneSuccessesPerSecond", .object(cp.classes.map { c in (c.name, series({ value(c.successSeries, $0) * k / width }, 2)) })),
            ("controlPlaneLatencyP99Ms", .object(cp.classes.map { c in
                (c.name, series({ c.latencySeries.percentile(99, bucket: $0).map { Double($0.microseconds) / 1_000 } }, 2))
            })),
            ("cacheHitRatio", .object(cp.caches.map { c in
                (name(c.name, c.region), series({ Self.ratio(value(c.hits, $0), value(c.hits, $0) + value(c.misses, $0)) }, 4))
            })),
            ("poolUtilisationPercent", .object(cp.pools.map { p in
                (name(p.name, p.region), series({ $0 < p.busySeries.bucketCount ? p.busySeries.mean($0) * 100 / Double(p.slots) : nil }, 2))
            })),
            ("poolQueue", .object(cp.pools.map { p in (name(p.name, p.region), series({ $0 < p.queueSeries.bucketCount ? p.queueSeries.mean($0) : nil }, 2)) })),
        ] + (cp.pools.contains { !$0.limitSamples.isEmpty } ? [("poolConcurrencyLimit", .object(cp.pools.filter { !$0.limitSamples.isEmpty }.map { p in
            (name(p.name, p.region), series({ $0 < p.limitSamples.count && !p.limitSamples[$0].isNaN ? p.limitSamples[$0] : nil }, 2))
        }))] : [])
    }

    /// The control plane around an incident: successful answers per second and stream starts per
    /// second before, during and after, and how long after its end the goodput came back to 90%
    /// of before (null: it did not, within the run: the metastable case).
    func controlPlaneIncidentJSON(first: Int, last: Int, span: Int, ended: Bool) -> JSONValue? {
        guard let cp = results.controlPlane else { return nil }
        let goodput = controlPlaneGoodput(cp), sps = streamStartsPerSecond
        let n = goodput.count
        func mean(_ xs: [Double], _ r: Range<Int>) -> Double? {
            let r = max(0, r.lowerBound)..<min(n, r.upperBound)
            return r.isEmpty ? nil : r.reduce(0) { $0 + xs[$1] } / Double(r.count)
        }
        let before = mean(goodput, (first - span)..<first)
        var recovery: Double?
        if ended, let before {
            for b in last..<n where goodput[b] >= 0.9 * before {
                recovery = Double(b - last) * results.global.concurrencySeries.bucketWidth.seconds / 60
                break
            }
        }
        return .object([
            ("goodputPerSecond", .object([("before", json(before, 2)), ("during", json(mean(goodput, first..<last), 2)),
                                          ("after", ended ? json(mean(goodput, last..<(last + span)), 2) : .null)])),
            ("streamStartsPerSecond", .object([("before", json(mean(sps, (first - span)..<first), 2)), ("during", json(mean(sps, first..<last), 2)),
                                               ("after", ended ? json(mean(sps, last..<(last + span)), 2) : .null)])),
            ("goodputRecoveryMinutes", recovery.map { .rounded($0, digits: 1) } ?? .null),
        ])
    }
}

/// The control plane for people: headline lines, tables, charts.
extension RunReport {
    /// A class's figures merged over `f` (its regions, or one): latency, requests, outcomes (ok,
    /// fallback, error, timeout, shed), successes over the SLO, attempts.
    func classTotals(_ f: [ControlPlaneResults.ClassRegion]) -> (latency: LatencyRecorder, requests: Double, counts: [Double], overSlo: Double, attempts: Double) {
        var latency = LatencyRecorder()
        for r in f { latency.merge(r.latency) }
        return (latency, Double(f.reduce(0) { $0 + $1.requests }),
                [f.reduce(0) { $0 + $1.ok }, f.reduce(0) { $0 + $1.fallback }, f.reduce(0) { $0 + $1.errors }, f.reduce(0) { $0 + $1.timeouts },
                 f.reduce(0) { $0 + $1.shed }].map(Double.init),
                Double(f.reduce(0) { $0 + $1.overSlo }), Double(f.reduce(0) { $0 + $1.attempts }))
    }

    /// Requests answered over every class, and those that failed (error, timeout or shed).
    func answeredAndFailed(_ cp: ControlPlaneResults) -> (answered: Double, failed: Double) {
        cp.classes.reduce((0.0, 0.0)) { sum, c in
            let t = classTotals(c.regions)
            return (sum.0 + t.requests, sum.1 + t.counts[2] + t.counts[3] + t.counts[4])
        }
    }

    var controlPlaneHeadline: [(String, String)] {
        guard let cp = results.controlPlane else { return [] }
        let sps = streamStartsPerSecond
        let (answered, failed) = answeredAndFailed(cp)
        return [
            ("stream starts per second: mean / lowest bucket",
             String(format: "%.2f / %.2f", sps.reduce(0, +) / Double(max(1, sps.count)), sps.min() ?? 0)),
            ("control plane: requests per second / failed", String(format: "%.1f / ", answered * k / (hours * 3_600))
                + Self.text(Self.ratio(failed, answered), "%.3f%%", scale: 100) + (cp.controlled ? " (overload controls on)" : " (overload controls off)")),
        ]
    }

    /// The classes' SLOs as targets (p99 against the SLO).
    var controlPlaneTargets: [(metric: String, value: String, target: String, met: Bool?)] {
        guard let cp = results.controlPlane else { return [] }
        return cp.classes.map { c in
            let p99 = Self.ms(classTotals(c.regions).latency, 99)
            return ("\(c.name) requests p99", Self.text(p99, "%.0f ms"), "≤ \(Self.text(c.slo.seconds * 1_000, "%.0f ms")) (its SLO)",
                    p99.map { $0 <= c.slo.seconds * 1_000 })
        }
    }

    func controlPlaneTables(_ cp: ControlPlaneResults) -> [(title: String, table: TextTable)] {
        let regionIDs = results.regions.map(\.id)
        let multiRegion = Set(cp.pools.map(\.region)).count > 1
        func name(_ s: String, _ r: Int) -> String { multiRegion ? "\(s)@\(regionIDs[r])" : s }
        var classes = TextTable(header: ["class (priority)", "SLO", "per second", "p50", "p99", "p99.9", "within SLO", "attempts"],
                                rightAligned: Set(1...7))
        var outcomes = TextTable(header: ["class", "ok", "fallback", "error", "timeout", "shed"], rightAligned: Set(1...5))
        for c in cp.classes {
            let t = classTotals(c.regions)
            classes.add(["\(c.name) (\(c.priority))", Self.text(c.slo.seconds * 1_000, "%.0f ms"), String(format: "%.2f", t.requests * k / (hours * 3_600)),
                         Self.text(Self.ms(t.latency, 50), "%.1f ms"), Self.text(Self.ms(t.latency, 99), "%.1f ms"), Self.text(Self.ms(t.latency, 99.9), "%.1f ms"),
                         Self.text(Self.ratio(t.counts[0] + t.counts[1] - t.overSlo, t.counts[0] + t.counts[1]), "%.2f%%", scale: 100),
                         Self.text(Self.ratio(t.attempts, t.requests), "%.2f")])
            outcomes.add([c.name] + t.counts.map { Self.text(Self.ratio($0, t.requests), "%.3f%%", scale: 100) })
        }
        var pools = TextTable(header: ["pool", "instances", "calls/s", "utilisation", "peak", "mean queue", "in pool", "rejected / shed", "limit"],
                              rightAligned: Set(1...8))
        for p in cp.pools {
            let n = p.busySeries.bucketCount
            let busy = (0..<n).map { p.busySeries.mean($0) }
            let mean = busy.reduce(0, +) / Double(max(1, n))
            let queue = (0..<p.queueSeries.bucketCount).reduce(0.0) { $0 + p.queueSeries.mean($1) } / Double(max(1, p.queueSeries.bucketCount))
            let limits = p.limitSamples.filter { !$0.isNaN }
            pools.add([name(p.name, p.region), String(p.instances), String(format: "%.1f", Double(p.arrivals) * k / (hours * 3_600)),
                       String(format: "%.1f%%", mean * 100 / Double(p.slots)), String(format: "%.1f%%", (busy.max() ?? 0) * 100 / Double(p.slots)),
                       String(format: "%.2f", queue), Self.text(Self.ratio(p.sojournSeconds * 1_000, Double(p.completed)), "%.1f ms"),
                       Self.text(Self.ratio(Double(p.rejected), Double(p.arrivals)), "%.2f%%", scale: 100) + " / "
                        + Self.text(Self.ratio(Double(p.shed), Double(p.arrivals)), "%.2f%%", scale: 100),
                       limits.isEmpty ? "–" : String(format: "%.1f", limits.reduce(0, +) / Double(limits.count))])
        }
        var caches = TextTable(header: ["cache", "region", "hit ratio", "lowest bucket", "flushes"], rightAligned: [2, 3, 4])
        for c in cp.caches {
            let hits = c.hits.sums.reduce(0, +), misses = c.misses.sums.reduce(0, +)
            let lowest = (0..<max(c.hits.bucketCount, c.misses.bucketCount)).compactMap { b -> Double? in
                let h = b < c.hits.bucketCount ? c.hits.sums[b] : 0, m = b < c.misses.bucketCount ? c.misses.sums[b] : 0
                return Self.ratio(h, h + m)
            }.min()
            caches.add([c.name, regionIDs[c.region], Self.text(Self.ratio(hits, hits + misses), "%.2f%%", scale: 100),
                        Self.text(lowest, "%.2f%%", scale: 100), String(c.flushes)])
        }
        var out = [("Request classes", classes), ("Outcomes (share of requests)", outcomes), ("Pools (services, caches, database shards)", pools),
                   ("Caches", caches)]
        let around = results.incidents.indices.compactMap { i -> [String]? in
            guard let j = incidentSummaries[i].json["controlPlane"] else { return nil }
            func v(_ path: [String], _ format: String) -> String { Self.text(j.at(path)?.double, format) }
            return ["\(results.incidents[i].kind.rawValue) \(instant(results.incidents[i].start))",
                    v(["goodputPerSecond", "before"], "%.1f"), v(["goodputPerSecond", "during"], "%.1f"), v(["goodputPerSecond", "after"], "%.1f"),
                    v(["streamStartsPerSecond", "before"], "%.2f"), v(["streamStartsPerSecond", "during"], "%.2f"),
                    v(["streamStartsPerSecond", "after"], "%.2f"), j["goodputRecoveryMinutes"]?.double.map { String(format: "%.0f min", $0) } ?? "not recovered"]
        }
        if !around.isEmpty {
            var t = TextTable(header: ["incident", "goodput before", "during", "after", "starts/s before", "during", "after", "goodput back"],
                              rightAligned: Set(1...7))
            for row in around { t.add(row) }
            out.insert(("Control plane around incidents", t), at: 0)
        }
        return out
    }

    /// report.html's control-plane charts.
    func controlPlaneCharts(_ cp: ControlPlaneResults, labels: [String], shades: [LineChart.Shade]) -> [LineChart] {
        let n = labels.count
        let width = results.global.concurrencySeries.bucketWidth.seconds
        func values(_ f: (Int) -> Double) -> [Double] { (0..<n).map(f) }
        func sum(_ s: TimeSeries, _ b: Int) -> Double { b < s.bucketCount ? s.sums[b] : 0 }
        let regionIDs = results.regions.map(\.id)
        let multiRegion = Set(cp.pools.map(\.region)).count > 1
        func name(_ s: String, _ r: Int) -> String { multiRegion ? "\(s)@\(regionIDs[r])" : s }
        let sps = streamStartsPerSecond
        var charts = [
            LineChart(title: "Stream starts per second", unit: "first frames/s", labels: labels,
                      series: [.init("all", values { $0 < sps.count ? sps[$0] : .nan })], shades: shades),
            LineChart(title: "Control plane: successful answers per class", unit: "per second", labels: labels,
                      series: cp.classes.map { c in .init(c.name, values { sum(c.successSeries, $0) * k / width }) }, shades: shades),
            LineChart(title: "Control plane: latency p99 per class", unit: "ms", labels: labels, series: cp.classes.map { c in
                .init(c.name, values { c.latencySeries.percentile(99, bucket: $0).map { Double($0.microseconds) / 1e3 } ?? .nan })
            }, shades: shades),
            LineChart(title: "Pool utilisation", unit: "%", labels: labels, series: cp.pools.map { p in
                .init(name(p.name, p.region), values { $0 < p.busySeries.bucketCount ? p.busySeries.mean($0) * 100 / Double(p.slots) : .nan })
            }, shades: shades),
            LineChart(title: "Pool queues", unit: "calls waiting", labels: labels, series: cp.pools.map { p in
                .init(name(p.name, p.region), values { $0 < p.queueSeries.bucketCount ? p.queueSeries.mean($0) : .nan })
            }, shades: shades),
        ]
        if !cp.caches.isEmpty {
            charts.append(LineChart(title: "Cache hit ratio", unit: "%", labels: labels, series: cp.caches.map { c in
                .init(name(c.name, c.region), values { b in Self.ratio(sum(c.hits, b), sum(c.hits, b) + sum(c.misses, b)).map { $0 * 100 } ?? .nan })
            }, shades: shades))
        }
        let limited = cp.pools.filter { !$0.limitSamples.isEmpty }
        if !limited.isEmpty {
            charts.append(LineChart(title: "Adaptive concurrency limit per instance", unit: "calls", labels: labels, series: limited.map { p in
                .init(name(p.name, p.region), values { $0 < p.limitSamples.count ? p.limitSamples[$0] : .nan })
            }, shades: shades))
        }
        return charts
    }
}
