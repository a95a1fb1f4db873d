import Reports

/// `--minimise METRIC --subject-to CONSTRAINT ...`: the point of a grid with the least objective
/// among those meeting every constraint, and which constraints bind there.
///
/// A point meets a constraint when the mean over its replications does (as a bisection search
/// judges its target); the optimum's figures carry their confidence intervals in sweep.md. A
/// constraint *binds* when dropping it alone would let a cheaper point win: it is what stops the
/// search from going lower. Ties in the objective go to the point listed first.
public struct ConstrainedSearch: Sendable, Equatable {
    public var objective: String
    public var constraints: [SweepTarget]

    public init(objective: String, constraints: [SweepTarget]) {
        self.objective = objective
        self.constraints = constraints
    }

    /// A point's means: the objective's and each constraint's (nil where a report lacks it).
    public struct PointFigures: Sendable, Equatable {
        public var point: Int
        public var objective: Double?
        public var constraints: [Double?]

        public init(point: Int, objective: Double?, constraints: [Double?]) {
            self.point = point
            self.objective = objective
            self.constraints = constraints
        }
    }

    public struct Answer: Sendable, Equatable {
        /// The optimum, nil when no point meets every constraint.
        public var point: Int?
        public var objective: Double?
        /// Indices of the constraints that bind at the optimum.
        public var binding: [Int]
        /// Per constraint: how many points miss it (with data).
        public var missedBy: [Int]
        /// Points left out because a figure was missing.
        public var withoutData: [Int]
    }

    /// Whether `figures` meet every constraint but those in `except`; nil when a figure is missing.
    func feasible(_ f: PointFigures, except: Int? = nil) -> Bool? {
        var all = true
        for (j, c) in constraints.enumerated() where j != except {
            guard let x = f.constraints[j] else { return nil }
            if !c.met(x) { all = false }
        }
        return all
    }

    /// The best feasible point (least objective, first on ties), dropping constraint `except`.
    func best(_ points: [PointFigures], except: Int? = nil) -> PointFigures? {
        var best: PointFigures?
        for p in points {
            guard let objective = p.objective, feasible(p, except: except) == true else { continue }
            if best == nil || objective < best!.objective! { best = p }
        }
        return best
    }

    public func answer(_ points: [PointFigures]) -> Answer {
        let withoutData = points.filter { $0.objective == nil || feasible($0) == nil }.map(\.point)
        let missedBy = constraints.indices.map { j in
            points.filter { p in p.constraints[j].map { !constraints[j].met($0) } ?? false }.count
        }
        guard let optimum = best(points), let cost = optimum.objective else {
            return Answer(point: nil, objective: nil, binding: [], missedBy: missedBy, withoutData: withoutData)
        }
        let binding = constraints.indices.filter { j in
            guard let relaxed = best(points, except: j)?.objective else { return false }
            return relaxed < cost
        }
        return Answer(point: optimum.point, objective: cost, binding: binding, missedBy: missedBy, withoutData: withoutData)
    }

    var json: JSONValue {
        .object([("minimise", .string(objective)), ("subjectTo", .array(constraints.map { .string($0.text) }))])
    }

    static func parse(_ json: JSONValue) throws(SweepError) -> ConstrainedSearch {
        guard case let .string(objective)? = json["minimise"], case let .array(list)? = json["subjectTo"] else {
            throw SweepError("sweep.json: a malformed constrained search")
        }
        var constraints: [SweepTarget] = []
        for item in list {
            guard let text = item.stringValue else { throw SweepError("sweep.json: a malformed constraint") }
            constraints.append(try SweepTarget.parse(text.replacingOccurrences(of: " ", with: ""), option: "sweep.json"))
        }
        return ConstrainedSearch(objective: objective, constraints: constraints)
    }
}
