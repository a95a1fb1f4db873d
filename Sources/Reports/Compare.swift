/// How much worse a metric may get before it counts as a regression.
public enum Tolerance: Sendable, Equatable {
    /// A fraction of the baseline (a baseline of 0 allows nothing worse).
    case relative(Double)
    /// In the metric's unit.
    case absolute(Double)

    public var description: String {
        switch self {
        case let .relative(x): "\(Tolerance.trim(x * 100))%"
        case let .absolute(x): "±\(Tolerance.trim(x))"
        }
    }

    public static func trim(_ x: Double) -> String {
        var s = String(format6(x))
        while s.contains(".") && (s.hasSuffix("0") || s.hasSuffix(".")) { s.removeLast() }
        return s
    }
}

/// `x` with six decimals, without Foundation.
func format6(_ x: Double) -> String {
    let n = Int64((x * 1e6).rounded())
    let sign = n < 0 ? "-" : ""
    var fraction = String(n.magnitude % 1_000_000)
    fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
    return sign + String(n.magnitude / 1_000_000) + "." + fraction
}

/// A metric of a report that comparisons watch: where it is, which way is better, what change is
/// tolerated.
public struct MetricRule: Sendable, Equatable {
    public enum Better: String, Sendable { case lower, higher }

    /// Dotted path in report.json, e.g. `metrics.experience.startTimeMs.p99`.
    public var path: String
    public var better: Better
    public var tolerance: Tolerance

    public init(_ path: String, _ better: Better, _ tolerance: Tolerance) {
        self.path = path
        self.better = better
        self.tolerance = tolerance
    }

    /// The metrics CI watches by default: experience, delivery, availability, the pipeline.
    public static let defaults: [MetricRule] = [
        MetricRule("metrics.experience.startTimeMs.p50", .lower, .relative(0.10)),
        MetricRule("metrics.experience.startTimeMs.p90", .lower, .relative(0.10)),
        MetricRule("metrics.experience.startTimeMs.p99", .lower, .relative(0.15)),
        MetricRule("metrics.experience.rebufferRatioPercent", .lower, .absolute(0.05)),
        MetricRule("metrics.experience.averageBitrateKbps", .higher, .relative(0.03)),
        MetricRule("metrics.experience.switchesPerHour", .lower, .relative(0.20)),
        MetricRule("metrics.sessions.abandonedBeforeStartPercent", .lower, .absolute(0.1)),
        MetricRule("metrics.delivery.hitRatio", .higher, .absolute(0.005)),
        MetricRule("metrics.delivery.byteHitRatio", .higher, .absolute(0.005)),
        MetricRule("metrics.delivery.originEgressGbps.peak", .lower, .relative(0.10)),
        MetricRule("metrics.delivery.originEgressGbps.p95", .lower, .relative(0.10)),
        MetricRule("metrics.availability.all.availabilityPercent", .higher, .absolute(0.01)),
        MetricRule("metrics.availability.all.sessionsLost", .lower, .absolute(0)),
        MetricRule("metrics.activity.freshnessSeconds.p99", .lower, .relative(0.10)),
        MetricRule("metrics.activity.lagSeconds.p99", .lower, .absolute(5)),
        MetricRule("metrics.activity.deliverySeconds.p99", .lower, .relative(0.10)),
        MetricRule("metrics.activity.dropped.clientBuffer", .lower, .absolute(0)),
        MetricRule("metrics.activity.dropped.retention", .lower, .absolute(0)),
    ]
}

extension MetricRule {
    /// With a control plane in either report: stream starts per second, and per request class its
    /// latency and outcomes, per cache its hit ratio (by index, as report.json lists them).
    public static func controlPlane(_ a: JSONValue, _ b: JSONValue) -> [MetricRule] {
        func count(_ key: String) -> Int {
            [a, b].map { r -> Int in
                if case let .array(items)? = r.at(["metrics", "controlPlane", key]) { return items.count }
                return 0
            }.max() ?? 0
        }
        guard a.at(["metrics", "controlPlane"]) != nil || b.at(["metrics", "controlPlane"]) != nil else { return [] }
        let base = "metrics.controlPlane."
        var rules = [MetricRule(base + "streamStartsPerSecond.mean", .higher, .relative(0.05)),
                     MetricRule(base + "streamStartsPerSecond.lowest", .higher, .relative(0.10))]
        for i in 0..<count("classes") {
            let c = base + "classes.\(i)."
            rules += [MetricRule(c + "latencyMs.p50", .lower, .relative(0.10)), MetricRule(c + "latencyMs.p99", .lower, .relative(0.15)),
                      MetricRule(c + "okPercent", .higher, .absolute(0.5)), MetricRule(c + "errorPercent", .lower, .absolute(0.5)),
                      MetricRule(c + "timeoutPercent", .lower, .absolute(0.5)), MetricRule(c + "shedPercent", .lower, .absolute(0.5))]
        }
        for i in 0..<count("caches") { rules.append(MetricRule(base + "caches.\(i).hitRatio", .higher, .absolute(0.01))) }
        return rules
    }
}

/// One metric of two reports side by side.
public struct ComparisonRow: Sendable, Equatable {
    public enum Verdict: String, Sendable {
        case better, same
        /// Worse, within the tolerance.
        case worseWithinTolerance = "worse (within tolerance)"
        case regressed = "REGRESSED"
        /// The baseline had a value and the current report has no data (nothing started, say):
        /// a regression.
        case lostData = "REGRESSED (no data now)"
        /// No data in either report.
        case noData = "no data"
        /// No data in the baseline, a value now.
        case gainedData = "data now (none before)"
        /// In one report only.
        case missing
    }

    public var rule: MetricRule
    public var baseline: Double?
    public var current: Double?
    public var verdict: Verdict

    /// current − baseline.
    public var change: Double? { baseline.flatMap { b in current.map { $0 - b } } }
}

/// Why two reports cannot be compared.
public struct IncomparableReports: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Compares two run reports metric by metric (`vodsim compare`).
public enum ReportComparison {
    /// Reports are comparable when they share the schema and the scenario hash (the same resolved
    /// parameters, seed included; the vodsim version may differ: that is what a baseline guards).
    public static func compare(current: JSONValue, baseline: JSONValue,
                               rules: [MetricRule] = MetricRule.defaults) throws(IncomparableReports) -> [ComparisonRow] {
        let schemas = (current["schemaVersion"], baseline["schemaVersion"])
        guard let a = schemas.0, let b = schemas.1 else { throw IncomparableReports(description: "not a vodsim report (no schemaVersion)") }
        guard a == b else {
            throw IncomparableReports(description: "report schemas differ (\(a.serialized(pretty: false)) vs \(b.serialized(pretty: false)))")
        }
        let hashes = (current.at(["scenario", "hash"]), baseline.at(["scenario", "hash"]))
        guard hashes.0 == hashes.1 else {
            func text(_ v: JSONValue?) -> String { if case let .string(s)? = v { return String(s.prefix(16)) } else { return "none" } }
            let seeds = (current["seed"], baseline["seed"])
            let seedNote = seeds.0 != seeds.1
                ? "; their seeds differ (\(seeds.0?.serialized(pretty: false) ?? "none") vs \(seeds.1?.serialized(pretty: false) ?? "none")), and the seed is part of the resolved scenario"
                : ""
            throw IncomparableReports(description: "the reports are of different scenarios (resolved scenario hash \(text(hashes.0)) vs \(text(hashes.1)))" + seedNote)
        }
        let extra = MetricRule.controlPlane(current, baseline).filter { r in !rules.contains { $0.path == r.path } }
        return (rules + extra).map { rule in
            let path = rule.path.split(separator: ".").map(String.init)
            let bValue = baseline.at(path), cValue = current.at(path)
            let b = bValue?.double, c = cValue?.double
            // Null is "no data" (a report key present without a value), not a missing key.
            switch (bValue, cValue) {
            case (.null?, .null?): return ComparisonRow(rule: rule, baseline: nil, current: nil, verdict: .noData)
            case (_?, .null?) where b != nil: return ComparisonRow(rule: rule, baseline: b, current: nil, verdict: .lostData)
            case (.null?, _?) where c != nil: return ComparisonRow(rule: rule, baseline: nil, current: c, verdict: .gainedData)
            default: break
            }
            guard let b, let c else { return ComparisonRow(rule: rule, baseline: b, current: c, verdict: .missing) }
            let worse = rule.better == .lower ? c - b : b - c
            let verdict: ComparisonRow.Verdict
            if worse < 0 {
                verdict = .better
            } else if worse == 0 {
                verdict = .same
            } else {
                let allowed: Double
                switch rule.tolerance {
                case let .relative(x): allowed = abs(b) * x
                case let .absolute(x): allowed = x
                }
                verdict = worse <= allowed * (1 + 1e-12) ? .worseWithinTolerance : .regressed
            }
            return ComparisonRow(rule: rule, baseline: b, current: c, verdict: verdict)
        }
    }

    /// Whether any row regressed.
    public static func regressed(_ rows: [ComparisonRow]) -> Bool { rows.contains { $0.verdict == .regressed || $0.verdict == .lostData } }

    public static func table(_ rows: [ComparisonRow]) -> TextTable {
        var t = TextTable(header: ["metric", "baseline", "current", "change", "tolerance", "verdict"], rightAligned: [1, 2, 3])
        for r in rows {
            t.add([r.rule.path, r.baseline.map(number) ?? (r.verdict == .gainedData || r.verdict == .noData ? "no data" : "–"),
                   r.current.map(number) ?? (r.verdict == .lostData || r.verdict == .noData ? "no data" : "–"),
                   r.change.map { ($0 > 0 ? "+" : "") + number($0) } ?? "–", "\(r.rule.better.rawValue) is better, \(r.rule.tolerance.description)",
                   r.verdict.rawValue])
        }
        return t
    }

    public static func json(_ rows: [ComparisonRow]) -> JSONValue {
        .object([
            ("regressed", .bool(regressed(rows))),
            ("metrics", .array(rows.map { r in
                .object([
                    ("metric", .string(r.rule.path)),
                    ("better", .string(r.rule.better.rawValue)),
                    ("tolerance", .string(r.rule.tolerance.description)),
                    ("baseline", r.baseline.map { JSONValue.rounded($0, digits: 6) } ?? .null),
                    ("current", r.current.map { JSONValue.rounded($0, digits: 6) } ?? .null),
                    ("verdict", .string(r.verdict.rawValue)),
                ])
            })),
        ])
    }

    static func number(_ x: Double) -> String { Tolerance.trim(x) }
}
