import Foundation
import Reports
import Stochastics

/// The summaries of a sweep, from its plan and its runs' reports: `sweep.csv` (a row per run),
/// `sweep.md` (a row per point: means and 95% confidence intervals) and `sweep.html` (a chart per
/// metric against the first varied key). Pure text from the reports: the same reports give the same
/// bytes, however and wherever they were run.
public struct SweepSummary {
    public let plan: Sweep.Plan
    /// Each run's report.json, by run id; nil for a run without a report (yet).
    public let reports: [String: JSONValue]

    public init(plan: Sweep.Plan, reports: [String: JSONValue]) {
        self.plan = plan
        self.reports = reports
    }

    /// A run's value of `metric`, or nil.
    public func value(_ run: Sweep.Run, _ metric: String) -> Double? {
        reports[run.id]?.at(metric.split(separator: ".").map(String.init))?.double
    }

    /// Per point and metric: the mean over replications and the 95% CI half-width (Student t).
    public func statistics(point: Int, metric: String) -> (mean: Double, halfWidth: Double?, n: Int)? {
        let values = plan.runs.filter { $0.point == point }.compactMap { value($0, metric) }
        guard !values.isEmpty else { return nil }
        let ci = Statistics.confidenceInterval(values)
        return (ci.mean, ci.halfWidth, values.count)
    }

    public var missing: [String] { plan.runs.filter { reports[$0.id] == nil }.map(\.id) }

    func settings(point: Int) -> [Sweep.Setting] { plan.runs.first { $0.point == point }?.settings ?? [] }

    public static func number(_ x: Double) -> String {
        let magnitude = abs(x)
        let digits = magnitude >= 1000 ? 1 : magnitude >= 1 ? 4 : 6
        return Quantity.formatDecimal((x * pow(10, Double(digits))).rounded() / pow(10, Double(digits)))
    }


    // MARK: sweep.csv

    public var csv: String {
        var out = (["run", "point", "replication", "seed"] + plan.keys + plan.metrics).map(csvQuoted).joined(separator: ",") + "\n"
        for run in plan.runs {
            let settings = plan.keys.map { key in run.settings.first { $0.key == key }?.value ?? "" }
            let values = plan.metrics.map { value(run, $0).map(SweepSummary.number) ?? "" }
            out += ([run.id, String(run.point), String(run.replication), String(run.seed)] + settings + values)
                .map(csvQuoted).joined(separator: ",") + "\n"
        }
        return out
    }

    // MARK: sweep.md

    func cell(point: Int, metric: String) -> String {
        guard let s = statistics(point: point, metric: metric) else { return "–" }
        guard let hw = s.halfWidth, hw > 0, hw.isFinite else { return SweepSummary.number(s.mean) }
        return SweepSummary.withInterval(mean: s.mean, halfWidth: hw)
    }

    /// `mean ± half-width` to the precision the interval supports: the half-width to two
    /// significant digits, the mean to the same decimal place (`0.9731 ± 0.0042`, `1290 ± 35`).
    static func withInterval(mean: Double, halfWidth: Double) -> String {
        let place = Int((log10(halfWidth)).rounded(.down)) - 1  // the second significant digit's power of ten
        let unit = pow(10, Double(place))
        func text(_ x: Double) -> String { Quantity.formatDecimal((x / unit).rounded() * unit) }
        return text(mean) + " ± " + text(halfWidth)
    }

    /// A metric's path in words, for chart titles: `metrics.experience.startTimeMs.p99` →
    /// "Experience: start time p99 (ms)".
    static func title(_ metric: String) -> String {
        var parts = short(metric).split(separator: ".").map(String.init)
        var unit: String?
        for (i, part) in parts.enumerated() {
            for (suffix, name) in [("Ms", "ms"), ("Kbps", "kbit/s"), ("Gbps", "Gbit/s"), ("Percent", "%"), ("Seconds", "s"), ("TB", "TB"),
                                   ("GB", "GB"), ("Minutes", "min"), ("PerHour", "per hour")] where part.hasSuffix(suffix) && part.count > suffix.count {
                parts[i] = String(part.dropLast(suffix.count))
                unit = name
                break
            }
        }
        func words(_ camel: String) -> String {
            var out = ""
            for c in camel {
                if c.isUppercase && !out.isEmpty { out += " " }
                out += c.lowercased()
            }
            return out
        }
        var phrase = parts.map(words)
        let section = phrase.count > 1 ? phrase.removeFirst() : nil
        let body = phrase.joined(separator: " ")
        let text = (section.map { $0.prefix(1).uppercased() + $0.dropFirst() + ": " + body } ?? body.prefix(1).uppercased() + body.dropFirst())
        return text + (unit.map { " (\($0))" } ?? "")
    }

    public var markdown: String {
        var out = "# Sweep of \(plan.name) (\(plan.scenario))\n\n"
        out += "Base seed \(plan.baseSeed); \(plan.replications) replication\(plan.replications == 1 ? "" : "s") per point"
        out += plan.replications > 1 ? " (mean ± half-width of the 95% confidence interval, Student t).\n\n" : ".\n\n"
        if let search = plan.search {
            out += "## Search\n\n"
            out += "Target `\(search.target.text)`, varying `\(search.key)` from \(search.range.text(search.range.lower)) to "
            out += "\(search.range.text(search.range.upper)) to within \(search.range.text(search.resolution)).\n\n"
            switch search.direction {
            case Bisection.Direction.smallest.rawValue:
                out += "**Answer: \(search.answer ?? "–")** is the smallest value meeting the target.\n\n"
            case Bisection.Direction.largest.rawValue:
                out += "**Answer: \(search.answer ?? "–")** is the largest value meeting the target.\n\n"
            case Bisection.Direction.metEverywhere.rawValue:
                out += "The target is met over the whole range (at both ends): widen the range downwards.\n\n"
            default:
                out += "The target is met at neither end of the range: widen it.\n\n"
            }
        }
        if let constrained = plan.constrained { out += constrainedSection(constrained) }
        out += "## Points\n\n" + pointsTable.markdown
        out += "\nColumns are report.json paths under `metrics.`; sweep.csv has every run.\n"
        let missing = self.missing
        if !missing.isEmpty { out += "\n**Incomplete:** no report yet for \(missing.count) run(s): \(missing.prefix(10).joined(separator: ", "))\n" }
        return out
    }

    /// Each point's means of the objective and the constraints.
    func figures(_ c: ConstrainedSearch) -> [ConstrainedSearch.PointFigures] {
        plan.points.map { p in
            ConstrainedSearch.PointFigures(point: p, objective: statistics(point: p, metric: c.objective)?.mean,
                                           constraints: c.constraints.map { statistics(point: p, metric: $0.metric)?.mean })
        }
    }

    /// The constrained search's answer, from the points' means.
    public var constrainedAnswer: ConstrainedSearch.Answer? { plan.constrained.map { $0.answer(figures($0)) } }

    func describe(point: Int) -> String {
        settings(point: point).map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    /// The objective and constraints that no point's reports have (a mistyped path, no cost section).
    public func absentMetrics(_ c: ConstrainedSearch) -> [String] {
        ([c.objective] + c.constraints.map(\.metric)).filter { m in plan.points.allSatisfy { statistics(point: $0, metric: m) == nil } }
    }

    /// sweep.md's answer to `--minimise … --subject-to …`.
    func constrainedSection(_ c: ConstrainedSearch) -> String {
        let answer = c.answer(figures(c))
        var out = "## Constrained search\n\n"
        out += "Minimise `\(Self.short(c.objective))` subject to " + c.constraints.map { "`\(Self.short($0.text))`" }.joined(separator: ", ")
        out += " over \(plan.points.count) points; a point meets a constraint when its mean does.\n\n"
        if answer.withoutData.count == plan.points.count && !plan.points.isEmpty {
            let missing = absentMetrics(c)
            out += "**No answer: no report has " + missing.map { "`\(Self.short($0))`" }.joined(separator: ", ")
            out += "** (not a report.json path; a scenario without a `cost` section has no cost).\n\n"
            return out
        }
        guard let best = answer.point else {
            out += "**No point meets every constraint.** "
            out += c.constraints.indices.map { "`\(Self.short(c.constraints[$0].text))` is missed at \(answer.missedBy[$0]) of \(plan.points.count) points" }
                .joined(separator: "; ") + ". Widen the grid towards more capacity.\n\n"
            if !answer.withoutData.isEmpty { out += "Points without the figures: \(answer.withoutData.map(String.init).joined(separator: ", ")).\n\n" }
            return out
        }
        out += "**Answer: point \(best) (\(describe(point: best)))**, `\(Self.short(c.objective))` = \(cell(point: best, metric: c.objective)).\n\n"
        for (j, constraint) in c.constraints.enumerated() {
            let mean = statistics(point: best, metric: constraint.metric)?.mean ?? .nan
            let state = answer.binding.contains(j) ? "**binds**: a cheaper point misses only this one"
                : "slack \(SweepSummary.number(abs(mean - constraint.value)))"
            out += "- `\(Self.short(constraint.text))`: \(cell(point: best, metric: constraint.metric)); \(state)\n"
        }
        if answer.binding.isEmpty {
            out += "\nNo constraint binds: the objective is least at this point of the grid whatever the constraints (extend the grid past it).\n"
        }
        if !answer.withoutData.isEmpty { out += "\nPoints without the figures, left out: \(answer.withoutData.map(String.init).joined(separator: ", ")).\n" }
        return out + "\n"
    }

    /// A row per point: the varied keys, each metric's mean (± 95% half-width), whether the target is met.
    var pointsTable: TextTable {
        let metrics = plan.metrics
        let extra = (plan.search != nil ? ["target met"] : []) + (plan.constrained != nil ? ["meets all"] : [])
        let meets = plan.constrained.map { c in Dictionary(uniqueKeysWithValues: figures(c).map { ($0.point, c.feasible($0)) }) } ?? [:]
        var table = TextTable(header: ["point"] + plan.keys + metrics.map { Self.short($0) } + extra,
                              rightAligned: Set(1...(plan.keys.count + metrics.count)))
        for point in plan.points {
            let settings = settings(point: point)
            var row = [String(point)] + plan.keys.map { key in settings.first { $0.key == key }?.value ?? "" }
            row += metrics.map { cell(point: point, metric: $0) }
            if let search = plan.search {
                row.append(statistics(point: point, metric: search.target.metric).map { search.target.met($0.mean) ? "yes" : "no" } ?? "–")
            }
            if plan.constrained != nil {
                row.append((meets[point] ?? nil).map { $0 ? "yes" : "no" } ?? "–")
            }
            table.add(row)
        }
        return table
    }

    static func short(_ metric: String) -> String {
        metric.hasPrefix("metrics.") ? String(metric.dropFirst("metrics.".count)) : metric
    }

    // MARK: sweep.html

    public var html: String {
        // The x axis: the first key's values in order of first appearance; a series per
        // combination of the other keys.
        let points = plan.points
        let xKey = plan.keys.first ?? ""
        var xValues: [String] = []
        var seriesKeys: [String] = []
        for point in points {
            let s = settings(point: point)
            let x = s.first { $0.key == xKey }?.value ?? ""
            if !xValues.contains(x) { xValues.append(x) }
            let rest = s.filter { $0.key != xKey }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            if !seriesKeys.contains(rest) { seriesKeys.append(rest) }
        }
        // A search tries values out of order: chart them sorted by value.
        if plan.search != nil {
            xValues.sort { (NumericRange.split($0).0 ?? 0) < (NumericRange.split($1).0 ?? 0) }
        }
        func point(x: String, series: String) -> Int? {
            points.first { p in
                let s = settings(point: p)
                return (s.first { $0.key == xKey }?.value ?? "") == x
                    && s.filter { $0.key != xKey }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") == series
            }
        }
        var page = HTMLPage.head(title: "\(plan.name): vodsim sweep") + """
            <h1>Sweep of \(escape(plan.name))</h1>
            <p>\(escape(plan.scenario)), base seed \(plan.baseSeed), \(plan.replications) replication(s) per point; x axis: <code>\(escape(xKey))</code>.
            \(plan.replications > 1 ? "Dashed bounds: the 95% confidence interval of the mean." : "")</p>

            """
        if let search = plan.search {
            page += "<p>Search: <code>\(escape(search.target.text))</code>; answer: <strong>\(escape(search.answer ?? "none in range"))</strong> (\(escape(search.direction))).</p>\n"
        }
        if let c = plan.constrained, let answer = constrainedAnswer {
            let question = "Minimise <code>\(escape(Self.short(c.objective)))</code> subject to " + c.constraints.map { "<code>\(escape(Self.short($0.text)))</code>" }.joined(separator: ", ")
            if let best = answer.point {
                let binds = answer.binding.isEmpty ? "no constraint binds" : "binding: " + answer.binding.map { "<code>\(escape(Self.short(c.constraints[$0].text)))</code>" }.joined(separator: ", ")
                page += "<p>\(question): <strong>point \(best) (\(escape(describe(point: best))))</strong>, \(escape(cell(point: best, metric: c.objective))); \(binds).</p>\n"
            } else {
                page += "<p>\(question): <strong>no point meets every constraint</strong>.</p>\n"
            }
        }
        for metric in plan.metrics {
            var series: [LineChart.Series] = []
            // A metric no run saw below 0 is not drawn below 0 by its interval either.
            let nonNegative = plan.runs.allSatisfy { (value($0, metric) ?? 0) >= 0 }
            for key in seriesKeys {
                let stats = xValues.map { x in point(x: x, series: key).flatMap { statistics(point: $0, metric: metric) } }
                let name = key.isEmpty ? "mean" : key
                let line = series.count
                series.append(.init(name, stats.map { $0?.mean ?? .nan }))
                if plan.replications > 1 && seriesKeys.count == 1 {
                    series.append(.init("95% CI low", stats.map { s in s.map { let low = $0.mean - ($0.halfWidth ?? 0); return nonNegative ? max(0, low) : low } ?? .nan },
                                        dashed: true, colourOf: line))
                    series.append(.init("95% CI high", stats.map { s in s.map { $0.mean + ($0.halfWidth ?? 0) } ?? .nan }, dashed: true, colourOf: line))
                }
            }
            page += LineChart(title: SweepSummary.title(metric), unit: SweepSummary.unit(metric), labels: xValues, series: series).svg
        }
        page += "<h2>Points</h2>\n" + pointsTable.html
        return page + HTMLPage.end
    }

    /// The unit a metric's name carries.
    static func unit(_ metric: String) -> String {
        let name = metric.split(separator: ".").map(String.init)
        // Amounts of the scenario's currency (its code is in each report's metrics.cost.currency).
        if name.count >= 2 && name[0] == "metrics" && name[1] == "cost" && !metric.hasSuffix("TB") && !metric.hasSuffix("Mbps") { return "currency" }
        for part in name.reversed() {
            for (suffix, unit) in [("Ms", "ms"), ("Kbps", "kbit/s"), ("Gbps", "Gbit/s"), ("Percent", "%"), ("Seconds", "s"), ("TB", "TB"),
                                   ("PerHour", "per hour"), ("Ratio", "ratio")] where part.hasSuffix(suffix) {
                return unit
            }
        }
        return name.last ?? metric
    }
}
