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

    static let outcomeKeys = ["okPercent", "fallbackPercent", "errorPercent", "timeoutPercent", "shedPercent"]

    func classFiguresJSON(_ f: [ControlPlaneResults.ClassRegion], slo: SimDuration) -> [(String, JSONValue)] {
        let requests = Double(f.reduce(0) { $0 + $1.requests })
        var latency = LatencyRecorder()
        for r in f { latency.merge(r.latency) }
        let counts = [f.reduce(0) { $0 + $1.ok }, f.reduce(0) { $0 + $1.fallback }, f.reduce(0) { $0 + $1.errors },
                      f.reduce(0) { $0 + $1.timeouts }, f.reduce(0) { $0 + $1.shed }]
        let succeeded = Double(counts[0] + counts[1])
        let overSlo = Double(f.reduce(0) { $0 + $1.overSlo })
        let attempts = Double(f.reduce(0) { $0 + $1.attempts })
        let exact = Double(f.reduce(0) { $0 + $1.exact })
        let p99 = Self.ms(latency, 99)
        return [
            ("requests", scaled(requests)),
            ("perSecond", round(requests * k / (hours * 3_600), 2)),
            ("exactPercent", json(Self.ratio(exact * 100, requests), 2)),
            ("latencyMs", .object([50.0, 90, 99, 99.9].map { p in ("p" + LineChart.trim(p), json(Self.ms(latency, p), 2)) })),
            ("withinSloPercent", json(Self.ratio((succeeded - overSlo) * 100, succeeded), 3)),
            ("p99MeetsSlo", p99.map { .bool($0 <= slo.seconds * 1_000) } ?? .null),
        ] + zip(Self.outcomeKeys, counts).map { ($0, json(Self.ratio(Double($1) * 100, requests), 4)) } + [
            ("attemptsPerRequest", json(Self.ratio(attempts, requests), 3)),
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

    func controlPlaneSeriesJSON(_ cp: ControlPlaneResults, series: ((Int) -> Double?, Int) -> JSONValue) -> JSONValue {
        let width = results.global.concurrencySeries.bucketWidth.seconds
        let regionIDs = results.regions.map(\.id)
        func value(_ s: TimeSeries, _ b: Int) -> Double { b < s.bucketCount ? s.sums[b] : 0 }
        let multiRegion = Set(cp.pools.map(\.region)).count > 1
        func name(_ n: String, _ r: Int) -> String { multiRegion ? "\(n)@\(regionIDs[r])" : n }
        return .object([
            ("requestsPerSecond", .object(cp.classes.map { c in (c.name, series({ value(c.requestSeries, $0) * k / width }, 2)) })),
            ("successesPerSecond", .object(cp.classes.map { c in (c.name, series({ value(c.successSeries, $0) * k / width }, 2)) })),
            ("latencyP99Ms", .object(cp.classes.map { c in
                (c.name, series({ c.latencySeries.percentile(99, bucket: $0).map { Double($0.microseconds) / 1_000 } }, 2))
            })),
            ("cacheHitRatio", .object(cp.caches.map { c in
                (name(c.name, c.region), series({ Self.ratio(value(c.hits, $0), value(c.hits, $0) + value(c.misses, $0)) }, 4))
            })),
            ("utilisationPercent", .object(cp.pools.map { p in
                (name(p.name, p.region), series({ $0 < p.busySeries.bucketCount ? p.busySeries.mean($0) * 100 / Double(p.slots) : nil }, 2))
            })),
            ("queue", .object(cp.pools.map { p in (name(p.name, p.region), series({ $0 < p.queueSeries.bucketCount ? p.queueSeries.mean($0) : nil }, 2)) })),
            ("concurrencyLimit", .object(cp.pools.filter { !$0.limitSamples.isEmpty }.map { p in
                (name(p.name, p.region), series({ $0 < p.limitSamples.count && !p.limitSamples[$0].isNaN ? p.limitSamples[$0] : nil }, 2))
            })),
        ])
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
