import Foundation
import Reports
import SimCore
import Stochastics

/// A problem with a sweep's arguments or folder, said the way the user wrote it.
public struct SweepError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One varied key and the values it takes (as scenario text, e.g. "60 TB").
public struct SweepAxis: Sendable, Equatable {
    public var key: String
    public var values: [String]

    /// `key.path=v1,v2,...` or `key.path=from..to/step` (a unit may follow the numbers:
    /// `pops[nyc].storage=10..50/10 TB` or `=10 TB..50 TB/10 TB`).
    public static func parse(_ text: String) throws(SweepError) -> SweepAxis {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw SweepError("--vary \(text): expected key.path=v1,v2,... or key.path=from..to/step")
        }
        let key = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
        let spec = String(text[text.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        if spec.contains("..") {
            let (range, stepValue) = try NumericRange.parse(stepped: spec, option: "--vary \(text)", stepName: "step")
            guard let step = stepValue else {
                throw SweepError("--vary \(text): a range needs a step, e.g. \(key)=10..50/10")
            }
            guard range.upper >= range.lower else { throw SweepError("--vary \(text): the range is empty (from > to)") }
            let count = Int(((range.upper - range.lower) / step + 1e-9).rounded(.down)) + 1
            guard count <= 10_000 else { throw SweepError("--vary \(text): \(count) values; at most 10,000") }
            return SweepAxis(key: key, values: (0..<count).map { range.text(range.lower + Double($0) * step) })
        }
        var values = spec.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !values.contains(where: \.isEmpty) else {
            throw SweepError("--vary \(text): expected a comma-separated list of values")
        }
        // `1,2,4 TB`: a unit after the last of a list of bare numbers is every number's.
        let unit = NumericRange.split(values[values.count - 1]).1
        if !unit.isEmpty, values.dropLast().allSatisfy({ s in let (n, u) = NumericRange.split(s); return n != nil && u.isEmpty }) {
            values = values.dropLast().map { "\($0) \(unit)" } + [values[values.count - 1]]
        }
        return SweepAxis(key: key, values: values)
    }
}

/// `from..to` with an optional unit, e.g. `10 TB..200 TB` or `10..200 TB`.
public struct NumericRange: Sendable, Equatable {
    public var lower: Double
    public var upper: Double
    public var unit: String

    public static func parse(_ text: String, option: String) throws(SweepError) -> NumericRange {
        let parts = text.components(separatedBy: "..")
        guard parts.count == 2 else { throw SweepError("\(option): expected from..to") }
        let (a, unitA) = split(parts[0]), (b, unitB) = split(parts[1])
        guard let a, let b else { throw SweepError("\(option): expected numbers in from..to, got \(text)") }
        guard unitA.isEmpty || unitA == unitB else { throw SweepError("\(option): both ends need the same unit, got \(unitA) and \(unitB)") }
        return NumericRange(lower: a, upper: b, unit: unitB)
    }

    /// `from..to[/step]`. A unit written only after the step is the whole range's (`10..50/10 TB`);
    /// a step in another unit than the range's is refused. `stepName` names the step in errors.
    public static func parse(stepped spec: String, option: String, stepName: String) throws(SweepError) -> (range: NumericRange, step: Double?) {
        guard let slash = spec.lastIndex(of: "/") else { return (try parse(spec, option: option), nil) }
        var range = try parse(String(spec[..<slash]), option: option)
        let (step, unit) = split(String(spec[spec.index(after: slash)...]))
        if range.unit.isEmpty { range.unit = unit }
        guard let step, step > 0, unit.isEmpty || unit == range.unit else {
            throw SweepError("\(option): the \(stepName) must be a positive number\(range.unit.isEmpty ? "" : " in \(range.unit)")")
        }
        return (range, step)
    }

    /// "10 TB" → (10, "TB"); "0.5" → (0.5, "").
    public static func split(_ text: String) -> (Double?, String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        var end = t.startIndex
        while end < t.endIndex, "0123456789.-+eE".contains(t[end]) {
            // An "e" belongs to the number only when a digit or sign follows (not "5 ms" or "5em").
            if "eE".contains(t[end]) {
                let next = t.index(after: end)
                guard next < t.endIndex, "0123456789+-".contains(t[next]) else { break }
            }
            end = t.index(after: end)
        }
        return (Double(t[..<end]), t[end...].trimmingCharacters(in: .whitespaces))
    }

    /// The value as scenario text, with the unit.
    public func text(_ x: Double) -> String {
        let number = Quantity.formatDecimal((x * 1e9).rounded() / 1e9)
        return unit.isEmpty ? number : "\(number) \(unit)"
    }
}

/// `metric>=value` (or `<=`, `>`, `<`): what a search looks for.
public struct SweepTarget: Sendable, Equatable {
    public enum Comparison: String, Sendable { case atLeast = ">=", atMost = "<=", above = ">", below = "<" }
    public var metric: String
    public var comparison: Comparison
    public var value: Double

    public static func parse(_ text: String, option: String = "--target") throws(SweepError) -> SweepTarget {
        for op in [Comparison.atLeast, .atMost, .above, .below] {
            guard let range = text.range(of: op.rawValue) else { continue }
            let metric = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            guard let value = Double(text[range.upperBound...].trimmingCharacters(in: .whitespaces)), !metric.isEmpty else { break }
            return SweepTarget(metric: Sweep.metricPath(metric), comparison: op, value: value)
        }
        throw SweepError("\(option) \(text): expected metric>=value (or <=, >, <), e.g. metrics.delivery.hitRatio>=0.95")
    }

    public func met(_ x: Double) -> Bool {
        switch comparison {
        case .atLeast: x >= value
        case .atMost: x <= value
        case .above: x > value
        case .below: x < value
        }
    }

    public var text: String { "\(metric) \(comparison.rawValue) \(Quantity.formatDecimal(value))" }
}

/// Bisection over a numeric parameter for the boundary where a target starts (or stops) being met,
/// assuming the metric is monotone in the parameter.
public enum Bisection {
    public struct Result: Sendable, Equatable {
        /// Every value tried, in order, and whether the target was met there.
        public var tried: [Trial]
        /// The smallest value meeting the target when it is met at the top of the range and not at
        /// the bottom; the largest when the reverse; nil when the range does not straddle it.
        public var answer: Double?
        public var direction: Direction
    }

    public struct Trial: Sendable, Equatable {
        public var value: Double
        public var metric: Double
        public var met: Bool
    }

    public enum Direction: String, Sendable { case smallest, largest, metEverywhere = "met everywhere", metNowhere = "met nowhere" }

    /// Evaluates `metric` at the ends of `lower...upper`, then halves the interval until it is at
    /// most `resolution` wide. Values are snapped to multiples of `resolution` from `lower`, so a
    /// search re-run (or resumed) asks for exactly the same values.
    public static func search(lower: Double, upper: Double, resolution: Double, target: SweepTarget,
                              metric: (Double) throws -> Double) rethrows -> Result {
        precondition(upper > lower && resolution > 0, "a non-empty range and a positive resolution")
        var tried: [Trial] = []
        func trial(_ x: Double) throws -> Bool {
            let m = try metric(x)
            tried.append(Trial(value: x, metric: m, met: target.met(m)))
            return target.met(m)
        }
        let lowMet = try trial(lower), highMet = try trial(upper)
        guard lowMet != highMet else {
            return Result(tried: tried, answer: lowMet ? lower : nil, direction: lowMet ? .metEverywhere : .metNowhere)
        }
        // Steps of `resolution` from `lower` (the last one ends at `upper`). Invariant: step `bad`
        // does not meet the target, step `good` does.
        let steps = max(1, Int(((upper - lower) / resolution - 1e-9).rounded(.up)))
        func value(_ k: Int) -> Double { k >= steps ? upper : lower + Double(k) * resolution }
        var good = highMet ? steps : 0, bad = highMet ? 0 : steps
        while abs(good - bad) > 1 {
            let mid = (good + bad) / 2
            if try trial(value(mid)) { good = mid } else { bad = mid }
        }
        return Result(tried: tried, answer: value(good), direction: highMet ? .smallest : .largest)
    }
}

/// A sweep's plan and its files: `sweep.json` (what runs with which settings and seed), the
/// resolved scenario of each run in `jobs/`, each run's report folder in `runs/`, and the
/// summaries `sweep.csv`, `sweep.md`, `sweep.html`. The local runner and a cluster scheduler use
/// the same folder layout, so `collect` gives the same bytes either way.
public enum Sweep {
    /// A metric given without the `metrics.` prefix gets it.
    public static func metricPath(_ text: String) -> String {
        text.hasPrefix("metrics.") || text.hasPrefix("timeseries.") || text == "simulatedEvents" ? text : "metrics." + text
    }

    /// What every sweep records of each run, besides the target and `--metric`s.
    public static let defaultMetrics: [String] = [
        "metrics.concurrency.peak", "metrics.experience.startTimeMs.p50", "metrics.experience.startTimeMs.p99",
        "metrics.experience.rebufferRatioPercent", "metrics.experience.averageBitrateKbps", "metrics.delivery.hitRatio",
        "metrics.delivery.byteHitRatio", "metrics.delivery.originEgressGbps.peak", "metrics.availability.all.availabilityPercent",
    ]

    /// The seed a point's settings give (the last `seed=` among them), if they give one.
    public static func seedSetting(_ settings: [Setting]) -> UInt64? {
        settings.last { $0.key.trimmingCharacters(in: .whitespaces) == "seed" }.flatMap { UInt64($0.value.trimmingCharacters(in: .whitespaces)) }
    }

    /// Checks that every value of a `seed` axis is a seed, so that the seed a run gets is the one
    /// its label shows.
    public static func checkSeeds(_ axes: [SweepAxis]) throws(SweepError) {
        for axis in axes where axis.key == "seed" {
            for value in axis.values where UInt64(value).map({ $0 <= UInt64(Int64.max) }) != true {
                throw SweepError("--vary seed=\(axis.values.joined(separator: ",")): \(value) is not a seed (a whole number from 0 to \(Int64.max))")
            }
        }
    }

    /// The seed of replication `r`: the scenario's own for the first, derived ones after it.
    public static func seed(base: UInt64, replication r: Int) -> UInt64 {
        if r == 0 { return base }
        var stream = RandomStream(seed: base, label: "sweep.replication", id: UInt64(r))
        return stream.next() >> 1  // seeds are written as YAML integers: keep them within Int64
    }

    /// Every combination of the axes' values, the first axis varying slowest.
    public static func grid(_ axes: [SweepAxis]) -> [[(key: String, value: String)]] {
        var points: [[(key: String, value: String)]] = [[]]
        for axis in axes {
            points = points.flatMap { p in axis.values.map { p + [(axis.key, $0)] } }
        }
        return points
    }

    /// One run: a point's settings under one seed.
    public struct Run: Sendable, Equatable {
        public var id: String
        public var point: Int
        public var replication: Int
        public var seed: UInt64
        public var settings: [Setting]
    }

    public struct Setting: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }
    }

    /// The plan written to `sweep.json`.
    public struct Plan: Sendable, Equatable {
        public var scenario: String
        public var name: String
        public var baseSeed: UInt64
        public var keys: [String]
        public var replications: Int
        public var metrics: [String]
        public var runs: [Run]
        public var search: SearchRecord?
        /// `--minimise` and `--subject-to`: the question the summaries answer.
        public var constrained: ConstrainedSearch?

        public init(scenario: String, name: String, baseSeed: UInt64, keys: [String], replications: Int, metrics: [String],
                    runs: [Run] = [], search: SearchRecord? = nil, constrained: ConstrainedSearch? = nil) {
            self.constrained = constrained
            self.scenario = scenario
            self.name = name
            self.baseSeed = baseSeed
            self.keys = keys
            self.replications = replications
            self.metrics = metrics
            self.runs = runs
            self.search = search
        }

        /// Adds a point (its R runs) and returns its index. A point that sets `seed` (a sweep over
        /// seeds) runs with that seed, and its replications with seeds derived from it.
        @discardableResult
        public mutating func addPoint(_ settings: [Setting]) -> Int {
            let point = (runs.map(\.point).max() ?? -1) + 1
            let base = Sweep.seedSetting(settings) ?? baseSeed
            for r in 0..<replications {
                let id = "p\(pad(point, 4))-r\(pad(r, 2))"
                runs.append(Run(id: id, point: point, replication: r, seed: Sweep.seed(base: base, replication: r), settings: settings))
            }
            return point
        }

        public var points: [Int] { Array(Set(runs.map(\.point))).sorted() }

        public var json: JSONValue {
            var members: [(String, JSONValue)] = [
                ("sweepVersion", .integer(1)), ("scenario", .string(scenario)), ("name", .string(name)),
                ("baseSeed", .integer(Int64(bitPattern: baseSeed))), ("keys", .array(keys.map { .string($0) })),
                ("replications", .integer(Int64(replications))), ("metrics", .array(metrics.map { .string($0) })),
                ("runs", .array(runs.map { r in
                    .object([("id", .string(r.id)), ("point", .integer(Int64(r.point))), ("replication", .integer(Int64(r.replication))),
                             ("seed", .integer(Int64(bitPattern: r.seed))),
                             ("set", .array(r.settings.map { .string("\($0.key)=\($0.value)") }))])
                })),
            ]
            if let search { members.append(("search", search.json)) }
            if let constrained { members.append(("constrained", constrained.json)) }
            return .object(members)
        }

        public static func parse(_ json: JSONValue) throws(SweepError) -> Plan {
            guard json["sweepVersion"] == .integer(1), case let .string(scenario)? = json["scenario"], case let .string(name)? = json["name"],
                  case let .integer(seed)? = json["baseSeed"], case let .array(keys)? = json["keys"],
                  case let .integer(replications)? = json["replications"], case let .array(metrics)? = json["metrics"],
                  case let .array(runs)? = json["runs"] else {
                throw SweepError("not a vodsim sweep plan (sweep.json, version 1)")
            }
            var plan = Plan(scenario: scenario, name: name, baseSeed: UInt64(bitPattern: seed), keys: keys.compactMap(\.stringValue),
                            replications: Int(replications), metrics: metrics.compactMap(\.stringValue))
            for run in runs {
                guard case let .string(id)? = run["id"], case let .integer(point)? = run["point"], case let .integer(r)? = run["replication"],
                      case let .integer(s)? = run["seed"], case let .array(set)? = run["set"] else {
                    throw SweepError("sweep.json: a run without id, point, replication, seed and set")
                }
                let settings = set.compactMap(\.stringValue).map { text -> Setting in
                    let eq = text.firstIndex(of: "=") ?? text.endIndex
                    return Setting(key: String(text[..<eq]), value: eq < text.endIndex ? String(text[text.index(after: eq)...]) : "")
                }
                plan.runs.append(Run(id: id, point: Int(point), replication: Int(r), seed: UInt64(bitPattern: s), settings: settings))
            }
            if let search = json["search"] { plan.search = try SearchRecord.parse(search) }
            if let constrained = json["constrained"] { plan.constrained = try ConstrainedSearch.parse(constrained) }
            return plan
        }
    }

    /// A search's question and answer, kept in the plan so `collect` can report it.
    public struct SearchRecord: Sendable, Equatable {
        public var key: String
        public var target: SweepTarget
        public var range: NumericRange
        public var resolution: Double
        public var answer: String?
        public var direction: String

        public init(key: String, target: SweepTarget, range: NumericRange, resolution: Double, answer: String?, direction: String) {
            self.key = key
            self.target = target
            self.range = range
            self.resolution = resolution
            self.answer = answer
            self.direction = direction
        }

        var json: JSONValue {
            .object([("key", .string(key)), ("target", .string(target.text)), ("from", .string(range.text(range.lower))),
                      ("to", .string(range.text(range.upper))), ("resolution", .string(range.text(resolution))),
                      ("answer", answer.map { .string($0) } ?? .null), ("direction", .string(direction))])
        }

        static func parse(_ json: JSONValue) throws(SweepError) -> SearchRecord {
            guard case let .string(key)? = json["key"], case let .string(target)? = json["target"],
                  case let .string(from)? = json["from"], case let .string(to)? = json["to"], case let .string(res)? = json["resolution"],
                  case let .string(direction)? = json["direction"] else { throw SweepError("sweep.json: a malformed search") }
            let range = try NumericRange.parse("\(from)..\(to)", option: "sweep.json search")
            return SearchRecord(key: key, target: try SweepTarget.parse(target.replacingOccurrences(of: " ", with: "")), range: range,
                                resolution: NumericRange.split(res).0 ?? 1, answer: json["answer"]?.stringValue, direction: direction)
        }
    }

    static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}

extension JSONValue {
    var stringValue: String? { if case let .string(s) = self { s } else { nil } }
}

/// A sweep's folder, which `vodsim sweep` creates, resumes and adds to: it may be written only if
/// it is absent, empty, or an earlier sweep's (it holds a `sweep.json` plan).
public enum SweepFolder {
    public static func check(_ folder: URL, option: String) throws(ReportWriteError) {
        let text = folder.relativePath
        let kind = PathKind(folder.path)
        switch kind {
        case .missing:
            try OutputPath.checkWritableFolder(folder.deletingLastPathComponent().path, for: text, create: true)
        case .folder:
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            guard entries.isEmpty || isSweep(folder) else {
                throw ReportWriteError(path: text, reason: "holds files and is not a vodsim sweep folder (no sweep.json plan); \(option) writes into a sweep folder of its own, so choose another")
            }
            try OutputPath.checkWritableFolder(folder.path, for: text, create: false)
        default:
            throw ReportWriteError(path: text, reason: "is \(kind.phrase), not a folder; \(option) needs a folder")
        }
    }

    static func isSweep(_ folder: URL) -> Bool {
        guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent("sweep.json").path),
              let json = try? JSONValue.parse(String(decoding: data, as: UTF8.self)) else { return false }
        return (try? Sweep.Plan.parse(json)) != nil
    }
}
