import Foundation
import Metrics
import Reports
import SimCore
import World

extension RunReport {
    // MARK: timeseries.csv

    /// report.json's `timeseries` as CSV: one row per bucket, one column per series, in the same
    /// order (nested names joined with dots: `popEgressGbps.nyc-1`).
    static func timeseriesCSV(_ timeseries: JSONValue) -> String {
        var columns: [(String, [JSONValue])] = []
        func flatten(_ name: String, _ value: JSONValue) {
            switch value {
            case let .array(items): columns.append((name, items))
            case let .object(pairs): for (k, v) in pairs { flatten(name.isEmpty ? k : name + "." + k, v) }
            default: break
            }
        }
        if case let .object(pairs) = timeseries {
            for (k, v) in pairs where k != "bucket" { flatten(k, v) }
        }
        let rows = columns.map(\.1.count).max() ?? 0
        var out = columns.map { csvQuoted($0.0) }.joined(separator: ",") + "\n"
        for r in 0..<rows {
            out += columns.map { column -> String in
                guard r < column.1.count else { return "" }
                switch column.1[r] {
                case let .string(s): return csvQuoted(s)
                case .null: return ""
                default: return column.1[r].serialized(pretty: false)
                }
            }.joined(separator: ",") + "\n"
        }
        return out
    }


    // MARK: report.html

    /// Targets from the seeds, with how this run stands against them; `met` is nil when the run
    /// has no data for it (nothing started, nothing requested): never "met" without data.
    var targets: [(metric: String, value: String, target: String, met: Bool?)] {
        let g = results.global
        let p50 = RunReport.ms(g.startTime, 50).map { $0 / 1e3 }, p99 = RunReport.ms(g.startTime, 99).map { $0 / 1e3 }
        let d = delivery
        return [
            ("video start time p50", RunReport.text(p50, "%.2f s"), "< 1 s (seed 002)", p50.map { $0 < 1 }),
            ("video start time p99", RunReport.text(p99, "%.2f s"), "< 2 s (seeds 002, 003)", p99.map { $0 < 2 }),
            ("playback availability", RunReport.text(g.availability, "%.4f%%", scale: 100), "≥ 99.99% (seeds 002, 003)",
             g.availability.map { $0 >= RunReport.availabilityTarget }),
            ("edge hit ratio", RunReport.text(d.hitRatio, "%.2f%%", scale: 100), "≥ 99% (seed 003)", d.hitRatio.map { $0 >= 0.99 }),
        ] + controlPlaneTargets
    }

    /// The whole run's start-time distribution on a percentile axis (HdrHistogram's plot): x is
    /// -log10(1 - p), so p90, p99, p99.9 are equally spaced and the tail is visible; the last point
    /// is the maximum, labelled. A region (or the run) without starts has no line.
    var percentileChart: LineChart {
        let percentiles: [Double] = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99]
        let maxPosition = 4.5
        let positions = percentiles.map { -log10(1 - $0 / 100) } + [maxPosition]
        func line(_ name: String, _ r: LatencyRecorder) -> LineChart.Series? {
            guard r.count > 0 else { return nil }
            return .init(name, percentiles.map { Double(r.percentile($0).microseconds) / 1e3 } + [Double(r.maximum.microseconds) / 1e3])
        }
        let series = ([line("all", results.global.startTime)] + results.regions.map { line($0.id, $0.aggregate.startTime) }).compactMap { $0 }
        let ticks: [(Double, String)] = [(0, "p0"), (1, "p90"), (2, "p99"), (3, "p99.9"), (4, "p99.99"), (maxPosition, "max")]
        return LineChart(title: "Video start time by percentile, whole run" + (series.isEmpty ? ": no data (nothing started)" : ""), unit: "ms",
                         labels: [], series: series, x: LineChart.NumericAxis(positions: positions, ticks: ticks))
    }

    /// One self-contained page: no scripts, no network; charts as inline SVG.
    public var html: String {
        let g = results.global
        let n = g.concurrencySeries.bucketCount
        let labels = (0..<n).map { String(instant(g.concurrencySeries.bucketStart($0)).dropFirst(11).prefix(5)) }
        let width = g.concurrencySeries.bucketWidth.microseconds
        let shades = results.incidents.map { incident -> LineChart.Shade in
            let from = Int(incident.start.microseconds / width)
            let to = incident.end.map { Int(($0.microseconds + width - 1) / width) } ?? n
            return LineChart.Shade(from: from, to: to - 1, label: incident.kind.rawValue)
        }
        func values(_ f: (Int) -> Double) -> [Double] { (0..<n).map(f) }
        func sum(_ s: TimeSeries, _ b: Int) -> Double { b < s.bucketCount ? s.sums[b] : 0 }
        var charts: [LineChart] = []
        charts.append(LineChart(title: "Concurrent sessions", unit: "sessions", labels: labels,
                                series: [.init("all", values { g.concurrencySeries.mean($0) * k })]
                                    + results.regions.map { r in .init(r.id, values { r.aggregate.concurrencySeries.mean($0) * k }) },
                                shades: shades))
        // A bucket without starts is a gap in the line, not 0 ms.
        charts.append(LineChart(title: "Video start time", unit: "ms", labels: labels, series: [50.0, 90, 99].map { p in
            .init("p" + LineChart.trim(p), values { g.startTimeSeries.percentile(p, bucket: $0).map { Double($0.microseconds) / 1e3 } ?? .nan })
        }, shades: shades))
        charts.append(percentileChart)
        charts.append(LineChart(title: "Rebuffer ratio", unit: "%", labels: labels, series: [
            .init("rebuffering", values { b in
                let play = sum(g.playSeries, b), stall = sum(g.rebufferSeries, b)
                return RunReport.ratio(stall * 100, play + stall) ?? .nan
            }),
        ], shades: shades))
        charts.append(LineChart(title: "Average bit rate", unit: "kbit/s", labels: labels, series: [
            .init("bit rate", values { b in sum(g.playSeries, b) > 0 ? sum(g.bitsSeries, b) / (sum(g.playSeries, b) / 1e6) / 1e3 : .nan }),
        ], shades: shades))
        charts.append(LineChart(title: "Failed starts and sessions lost", unit: "sessions per bucket", labels: labels, series: [
            .init("failed starts", values { sum(g.failedStartSeries, $0) * k }),
            .init("lost", values { sum(g.lostSeries, $0) * k }),
        ], shades: shades))
        charts.append(LineChart(title: "Hit ratio per PoP", unit: "%", labels: labels, series: results.pops.map { p in
            .init(p.id, values { b in
                let requests = sum(p.metrics.requestSeries, b)
                return requests > 0 ? sum(p.metrics.hitSeries, b) / requests * 100 : .nan
            })
        }, shades: shades))
        let origin = originGbps
        charts.append(LineChart(title: "Egress", unit: "Gbit/s", labels: labels,
                                series: [.init("origin", values { $0 < origin.count ? origin[$0] : 0 })] + results.pops.map { p in
                                    .init(p.id, values { $0 < p.metrics.egress.bucketCount ? p.metrics.egress.ratePerSecond($0) * 8 * k / 1e9 : 0 })
                                }, shades: shades))
        // Each PoP's egress against its capacity (dashed, the same colour): how close it ran.
        charts.append(LineChart(title: "PoP egress and capacity", unit: "Gbit/s", labels: labels,
                                series: results.pops.enumerated().flatMap { i, p -> [LineChart.Series] in
                                    [.init(p.id, values { $0 < p.metrics.egress.bucketCount ? p.metrics.egress.ratePerSecond($0) * 8 * k / 1e9 : 0 }),
                                     .init(p.id + " capacity", values { _ in p.egress * k / 1e9 }, dashed: true, colourOf: i)]
                                }, shades: shades))
        charts.append(LineChart(title: "PoP utilisation (committed rate over capacity)", unit: "%", labels: labels,
                                series: results.pops.map { p in .init(p.id, values { p.metrics.utilisation.mean($0) * 100 }) }, shades: shades))
        charts.append(LineChart(title: "Origin egress per replica and capacity", unit: "Gbit/s", labels: labels,
                                series: results.origins.enumerated().flatMap { r, o -> [LineChart.Series] in
                                    [.init(o.region, values { $0 < o.bytes.bucketCount ? o.bytes.ratePerSecond($0) * 8 * k / 1e9 : 0 }),
                                     .init(o.region + " capacity", values { _ in o.egress * k / 1e9 }, dashed: true, colourOf: r)]
                                }, shades: shades))
        charts.append(LineChart(title: "Fill queue", unit: "jobs waiting", labels: labels, series: results.pops.map { p in
            .init(p.id, values { p.metrics.fillQueue.mean($0) })
        }, shades: shades))
        let held = results.pipeline.heldAtClients
        charts.append(LineChart(title: "Activity backlog", unit: "events", labels: labels, series: [
            .init("log lag (largest partition)", values { b in (results.pipeline.lagEvents.map { b < $0.count ? $0[b] : 0 }.max() ?? 0) * k }),
            .init("held at clients", values { b in (b < held.count ? held[b] : 0) * k }),
        ], shades: shades))

        var page = HTMLPage.head(title: "\(scenario.name): vodsim report") + """
            <h1>\(escape(scenario.name)): vodsim report</h1>

            """
        let description = scenario.root["description"].text
        if !description.isEmpty { page += "<p>\(escape(description))</p>\n" }
        var run = TextTable(header: ["run", ""])
        run.add(["scenario hash", String(scenario.hash.prefix(16))])
        run.add(["seed", String(scenario.seed)])
        run.add(["vodsim", VodsimVersion.string])
        run.add(["sampling", results.sampling == 1 ? "every user" : "1 in \(results.sampling) users (counts and Gbit/s scaled back)"])
        run.add(["simulated", "\(instant(.zero)) to \(instant(results.end))"])
        page += run.html
        page += "<h2>Against the targets</h2>\n<table>\n<tr><th>metric</th><th>this run</th><th>target</th><th></th></tr>\n"
        for t in targets {
            let verdict = t.met.map { $0 ? "met" : "missed" } ?? "no data"
            page += "<tr><td>\(escape(t.metric))</td><td class=\"num\">\(escape(t.value))</td><td>\(escape(t.target))</td>"
            page += "<td class=\"\(verdict == "no data" ? "nodata" : verdict)\">\(verdict)</td></tr>\n"
        }
        page += "</table>\n<h2>Headline</h2>\n"
        var headlineTable = TextTable(header: ["metric", "value"])
        for (label, value) in headline { headlineTable.add([label, value]) }
        page += headlineTable.html
        page += "<h2>The platform</h2>\n" + topologySVG
        if let comparisonTable, let comparison {
            page += "<h2>Compared with \(escape(comparison.label))</h2>\n<p>The same scenario with "
            page += comparison.overrides.map { "<code>\(escape($0))</code>" }.joined(separator: ", ") + ".</p>\n" + comparisonTable.html
        }
        page += "<h2>Over time</h2>\n"
        if !shades.isEmpty { page += "<p>Shaded: fault windows.</p>\n" }
        for chart in charts { page += chart.svg }
        if let incidentTable { page += "<h2>Incidents</h2>\n" + incidentTable.html }
        if let cp = results.controlPlane {
            page += "<h2>Control plane</h2>\n<p>Request classes, the pools that answer them and the caches, "
            page += cp.controlled ? "with the overload controls on" : "without overload controls"
            page += "; report.json's <code>metrics.controlPlane</code> has each class per region.</p>\n"
            for (title, table) in controlPlaneTables(cp) { page += "<h3>\(escape(title))</h3>\n" + table.html }
            for chart in controlPlaneCharts(cp, labels: labels, shades: shades) { page += chart.svg }
        }
        if let c = cost {
            page += "<h2>Cost (\(escape(c.model.currency)))</h2>\n<p>Over the run's \(String(format: "%.2f", c.hours)) h under the scenario's prices; "
            page += "monthly prices pro rata (730 h a month); egress by source in report.json's <code>metrics.cost.egress</code>.</p>\n"
            page += costTable(c).html
            page += LineChart(title: "Cost rate", unit: "\(c.model.currency) per hour", labels: labels,
                              series: [.init("all", values { $0 < c.perHour.count ? c.perHour[$0] : .nan })], shades: shades).svg
        }
        page += "<h2>Regions</h2>\n" + regionTable.html + "<h2>PoPs</h2>\n" + popTable.html
        let top = topTitles
        if !top.isEmpty {
            page += "<h2>Top titles</h2>\n<p>The \(top.count) titles requested most at the sessions' own PoPs, with their hit ratio there; "
            page += "a title released during the run says when.</p>\n" + topTitlesTable(top).html
        }
        return page + HTMLPage.end
    }
}
