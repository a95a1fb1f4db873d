/// How far a hybrid run's metric may be from the segment run's, either way.
public enum FidelityTolerance: Sendable, Equatable {
    /// Equal.
    case exact
    /// A fraction of the segment run's value.
    case relative(Double)
    /// In the metric's unit.
    case absolute(Double)
    /// The larger of the two.
    case absoluteOrRelative(Double, Double)

    func allowed(reference: Double) -> Double {
        switch self {
        case .exact: 0
        case let .relative(x): abs(reference) * x
        case let .absolute(x): x
        case let .absoluteOrRelative(a, r): max(a, abs(reference) * r)
        }
    }

    public var description: String {
        switch self {
        case .exact: "identical"
        case let .relative(x): "±\(Tolerance.trim(x * 100))%"
        case let .absolute(x): "±\(Tolerance.trim(x))"
        case let .absoluteOrRelative(a, r): "±\(Tolerance.trim(a)) or ±\(Tolerance.trim(r * 100))%"
        }
    }
}

/// One metric of the fidelity contract.
public struct FidelityRule: Sendable, Equatable {
    /// Dotted path in report.json.
    public var path: String
    public var tolerance: FidelityTolerance

    public init(_ path: String, _ tolerance: FidelityTolerance) {
        self.path = path
        self.tolerance = tolerance
    }

    /// The contract hybrid fidelity keeps against the segment model, same scenario and seed
    /// (docs/world.md, "Fidelity"). Arrivals do not depend on delivery, so the sessions started are
    /// identical; a session's end moves with its stalls, so concurrency, play and the activity
    /// events it reports move with them, by little.
    public static let contract: [FidelityRule] = [
        FidelityRule("metrics.sessions.started", .exact),
        FidelityRule("metrics.sessions.playbackStarts", .relative(0.001)),
        FidelityRule("metrics.concurrency.peak", .relative(0.001)),
        FidelityRule("metrics.concurrency.mean", .relative(0.001)),
        FidelityRule("metrics.experience.startTimeMs.p50", .relative(0.02)),
        FidelityRule("metrics.experience.startTimeMs.p90", .relative(0.02)),
        FidelityRule("metrics.experience.startTimeMs.p99", .relative(0.02)),
        FidelityRule("metrics.experience.rebufferRatioPercent", .absoluteOrRelative(0.05, 0.10)),
        FidelityRule("metrics.experience.averageBitrateKbps", .relative(0.01)),
        FidelityRule("metrics.experience.switchesPerHour", .relative(0.05)),
        FidelityRule("metrics.delivery.hitRatio", .absolute(0.002)),
        FidelityRule("metrics.delivery.byteHitRatio", .absolute(0.002)),
        FidelityRule("metrics.delivery.popEgressGbps.peak", .relative(0.03)),
        FidelityRule("metrics.delivery.popEgressGbps.p95", .relative(0.03)),
        FidelityRule("metrics.delivery.originEgressGbps.peak", .relative(0.03)),
        FidelityRule("metrics.delivery.originEgressGbps.p95", .relative(0.03)),
        FidelityRule("metrics.availability.all.availabilityPercent", .absolute(0.01)),
        FidelityRule("metrics.availability.all.sessionsLost", .relative(0.001)),
        FidelityRule("metrics.activity.aggregated", .relative(0.001)),
        FidelityRule("metrics.activity.publications", .exact),
        FidelityRule("metrics.activity.dropped.clientBuffer", .exact),
        FidelityRule("metrics.activity.dropped.retention", .exact),
    ]
}

/// One metric of a segment and a hybrid run side by side.
public struct FidelityRow: Sendable, Equatable {
    public var rule: FidelityRule
    public var segment: Double?
    public var hybrid: Double?

    public init(rule: FidelityRule, segment: Double?, hybrid: Double?) {
        self.rule = rule
        self.segment = segment
        self.hybrid = hybrid
    }

    /// hybrid − segment.
    public var difference: Double? { segment.flatMap { s in hybrid.map { $0 - s } } }

    /// Within the tolerance; a metric with no data in both runs is within it, with data in one only
    /// it is not (missing data is not agreement).
    public var within: Bool {
        switch (segment, hybrid) {
        case (nil, nil): return true
        case let (s?, h?): return abs(h - s) <= rule.tolerance.allowed(reference: s) * (1 + 1e-12) + 1e-12
        default: return false
        }
    }
}

/// Compares a hybrid run with the segment run of the same scenario (`vodsim check-fidelity`).
public enum FidelityCheck {
    public static func compare(segment: JSONValue, hybrid: JSONValue, rules: [FidelityRule] = FidelityRule.contract) -> [FidelityRow] {
        rules.map { rule in
            let path = rule.path.split(separator: ".").map(String.init)
            return FidelityRow(rule: rule, segment: segment.at(path)?.double, hybrid: hybrid.at(path)?.double)
        }
    }

    public static func passed(_ rows: [FidelityRow]) -> Bool { rows.allSatisfy(\.within) }

    public static func table(_ rows: [FidelityRow]) -> TextTable {
        var t = TextTable(header: ["metric", "segment", "hybrid", "difference", "tolerance", "verdict"], rightAligned: [1, 2, 3])
        for r in rows {
            t.add([r.rule.path, r.segment.map(Tolerance.trim) ?? "no data", r.hybrid.map(Tolerance.trim) ?? "no data",
                   r.difference.map { ($0 > 0 ? "+" : "") + Tolerance.trim($0) } ?? "–", r.rule.tolerance.description,
                   r.within ? "within" : "BEYOND"])
        }
        return t
    }

    public static func json(_ rows: [FidelityRow]) -> JSONValue {
        .object([
            ("passed", .bool(passed(rows))),
            ("metrics", .array(rows.map { r in
                .object([
                    ("metric", .string(r.rule.path)),
                    ("tolerance", .string(r.rule.tolerance.description)),
                    ("segment", r.segment.map { JSONValue.rounded($0, digits: 6) } ?? .null),
                    ("hybrid", r.hybrid.map { JSONValue.rounded($0, digits: 6) } ?? .null),
                    ("within", .bool(r.within)),
                ])
            })),
        ])
    }
}
