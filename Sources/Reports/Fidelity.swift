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

/// What the fidelity check concludes about one metric.
public enum FidelityVerdict: String, Sendable, Equatable {
    /// Within the tolerance (over replications: the whole 90% confidence interval of the mean
    /// difference is, which is Schuirmann's two one-sided tests at 5%, the usual test of
    /// equivalence).
    case within
    /// The replications cannot tell: the confidence interval of the mean difference straddles the
    /// tolerance. More replications, or a smaller sampling factor, narrow it.
    case unresolved
    /// Beyond the tolerance (over replications: the whole confidence interval is); or data in one
    /// fidelity's run and not the other's.
    case beyond

    /// How a table prints it: what fails stands out.
    public var label: String { self == .beyond ? "BEYOND" : rawValue }

    /// A whole check's verdict: beyond if any metric is, else unresolved if any is, else within.
    public static func overall(_ verdicts: [FidelityVerdict]) -> FidelityVerdict {
        verdicts.contains(.beyond) ? .beyond : verdicts.contains(.unresolved) ? .unresolved : .within
    }
}

/// One metric of the contract over replications: pairs of a segment and a hybrid run sharing a
/// seed, so that the difference is taken within each pair (common random numbers: the arrivals,
/// titles and last miles are the same) and its spread over the seeds measures how well the
/// replications pin it down.
///
/// Why replications: a metric decided by a few saturated links (origin egress peak at k = 100)
/// moves between seeds of the *segment* model by more than its tolerance (docs/world.md,
/// "Fidelity"), so one pair's difference mixes the model's error with that noise.
public struct FidelityEstimate: Sendable, Equatable {
    public var rule: FidelityRule
    /// One row per replication, in the order of the seeds.
    public var pairs: [FidelityRow]
    /// The half-width of the 90% confidence interval (Student t) of the mean paired difference;
    /// nil with fewer than two pairs with data.
    public var differenceHalfWidth: Double?

    public init(rule: FidelityRule, pairs: [FidelityRow], differenceHalfWidth: Double?) {
        self.rule = rule
        self.pairs = pairs
        self.differenceHalfWidth = differenceHalfWidth
    }

    /// The pairs with data in both runs.
    public var paired: [(segment: Double, hybrid: Double)] {
        pairs.compactMap { r in r.segment.flatMap { s in r.hybrid.map { (s, $0) } } }
    }

    public var differences: [Double] { paired.map { $0.hybrid - $0.segment } }
    public var segmentMean: Double? { Self.mean(paired.map(\.segment)) }
    public var hybridMean: Double? { Self.mean(paired.map(\.hybrid)) }
    public var differenceMean: Double? { Self.mean(differences) }

    /// The segment model's standard deviation over the seeds: the noise a single run carries.
    public var segmentSpread: Double? {
        let values = paired.map(\.segment)
        guard values.count > 1, let m = Self.mean(values) else { return nil }
        return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count - 1)).squareRoot()
    }

    public var verdict: FidelityVerdict {
        // Missing data is not agreement.
        if pairs.contains(where: { ($0.segment == nil) != ($0.hybrid == nil) }) { return .beyond }
        let p = paired
        guard !p.isEmpty else { return .within }
        if rule.tolerance == .exact { return p.allSatisfy { $0.segment == $0.hybrid } ? .within : .beyond }
        guard p.count > 1, let halfWidth = differenceHalfWidth, let d = differenceMean, let s = segmentMean else {
            return FidelityRow(rule: rule, segment: p[0].segment, hybrid: p[0].hybrid).within ? .within : .beyond
        }
        let allowed = rule.tolerance.allowed(reference: s) * (1 + 1e-12) + 1e-12
        if abs(d) + halfWidth <= allowed { return .within }
        if abs(d) - halfWidth > allowed { return .beyond }
        return .unresolved
    }

    private static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
}

extension FidelityCheck {
    /// The contract's metrics over replications (`vodsim check-fidelity --replications N`):
    /// `reports[r]` is replication r's segment and hybrid report; `halfWidth` gives the 90%
    /// confidence interval's half-width of a sample's mean (nil under two values).
    public static func estimates(_ reports: [(segment: JSONValue, hybrid: JSONValue)], rules: [FidelityRule] = FidelityRule.contract,
                                 halfWidth: ([Double]) -> Double?) -> [FidelityEstimate] {
        let rows = reports.map { compare(segment: $0.segment, hybrid: $0.hybrid, rules: rules) }
        return rules.indices.map { m in
            var estimate = FidelityEstimate(rule: rules[m], pairs: rows.map { $0[m] }, differenceHalfWidth: nil)
            estimate.differenceHalfWidth = halfWidth(estimate.differences)
            return estimate
        }
    }

    public static func table(_ estimates: [FidelityEstimate]) -> TextTable {
        var t = TextTable(header: ["metric", "segment mean", "hybrid mean", "difference (90% CI)", "tolerance", "segment sd over seeds", "verdict"],
                          rightAligned: [1, 2, 3, 5])
        for e in estimates {
            let difference = e.differenceMean.map { d in
                (d > 0 ? "+" : "") + Tolerance.trim(d) + (e.differenceHalfWidth.map { " ± " + Tolerance.trim($0) } ?? "")
            }
            t.add([e.rule.path, e.segmentMean.map(Tolerance.trim) ?? "no data", e.hybridMean.map(Tolerance.trim) ?? "no data",
                   difference ?? "–", e.rule.tolerance.description, e.segmentSpread.map(Tolerance.trim) ?? "–",
                   e.verdict.label])
        }
        return t
    }

    public static func json(_ estimates: [FidelityEstimate], seeds: [UInt64]) -> JSONValue {
        func number(_ x: Double?) -> JSONValue { x.map { JSONValue.rounded($0, digits: 6) } ?? .null }
        let overall = FidelityVerdict.overall(estimates.map(\.verdict))
        return .object([
            ("passed", .bool(overall == .within)),
            ("verdict", .string(overall.rawValue)),
            ("seeds", .array(seeds.map { .integer(Int64(bitPattern: $0)) })),
            ("metrics", .array(estimates.map { e in
                .object([
                    ("metric", .string(e.rule.path)),
                    ("tolerance", .string(e.rule.tolerance.description)),
                    ("segment", .array(e.pairs.map { number($0.segment) })),
                    ("hybrid", .array(e.pairs.map { number($0.hybrid) })),
                    ("segmentMean", number(e.segmentMean)),
                    ("hybridMean", number(e.hybridMean)),
                    ("differenceMean", number(e.differenceMean)),
                    ("differenceHalfWidth90", number(e.differenceHalfWidth)),
                    ("segmentSpread", number(e.segmentSpread)),
                    ("verdict", .string(e.verdict.rawValue)),
                ])
            })),
        ])
    }
}
