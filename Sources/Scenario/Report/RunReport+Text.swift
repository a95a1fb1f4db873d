import Foundation
import Metrics
import Reports
import SimCore
import World

/// What people read: the terminal summary, summary.md and their tables.
extension RunReport {
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
        ] + controlPlaneHeadline + costHeadline + results.releases.map { r in
            ("release of title \(r.title) at \(instant(r.time))",
             "on \(r.sitesHolding ?? 0) of \(results.pops.count) PoPs; first-day hit ratio "
                + Self.text(Self.ratio(Double(r.hits), Double(r.requests)), "%.2f%%", scale: 100))
        }
    }

    /// The cost line, with a cost section in the scenario.
    var costHeadline: [(String, String)] {
        guard let c = cost else { return [] }
        let perHour = c.playHours > 0 ? String(format: "%.4f", c.total / c.playHours) : "no data"
        let perGB = c.deliveredBytes > 0 ? String(format: "%.5f", c.total / (c.deliveredBytes / 1e9)) : "no data"
        return [("cost (\(c.model.currency)): total, per delivered hour, per GB delivered", String(format: "%.2f, ", c.total) + perHour + ", " + perGB)]
    }

    /// Cost by component and by site, for report.html and summary.md.
    func costTable(_ c: CostBreakdown) -> TextTable {
        var table = TextTable(header: ["site", "region", "egress", "storage", "egress capacity", "appliances", "origin requests", "total"],
                              rightAligned: [2, 3, 4, 5, 6, 7])
        func money(_ x: Double) -> String { String(format: "%.2f", x) }
        for s in c.sites {
            table.add([s.id, s.region, money(s.egressTotal), money(s.storage), money(s.capacity), money(s.capex + s.power), money(s.requests), money(s.total)])
        }
        table.add(["all", "", money(c.sum(\.egressTotal)), money(c.sum(\.storage)), money(c.sum(\.capacity)), money(c.sum { $0.capex + $0.power }),
                   money(c.sum(\.requests)), money(c.total)])
        return table
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
        if let cp = results.controlPlane {
            out += "\n## Control plane\n"
            for (title, table) in controlPlaneTables(cp) { out += "\n### \(title)\n\n" + table.markdown }
        }
        if let c = cost { out += "\n## Cost (\(c.model.currency))\n\n" + costTable(c).markdown }
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
}
