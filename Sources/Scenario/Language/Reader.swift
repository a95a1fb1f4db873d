import Stochastics
import Yams

/// Reads a YAML node tree against a ``Schema``: checks every key and value, fills defaults,
/// converts units, and collects every problem rather than stopping at the first.
final class Reader {
    let file: String
    /// Overridden paths (with list indices resolved) and the `--set` text that set them.
    let overrides: [(path: KeyPath, text: String)]
    private(set) var problems: [ScenarioProblem] = []
    /// References to check once the whole document is read.
    private var references: [(section: String, id: String, location: SourceLocation, path: KeyPath)] = []
    /// Ids of the top-level lists of records, in order.
    private(set) var ids: [String: [String]] = [:]
    /// User-written paths of keys that are accepted but not modelled yet.
    private(set) var notModelled: [String] = []

    init(file: String, overrides: [(path: KeyPath, text: String)] = []) {
        self.file = file
        self.overrides = overrides
    }

    func location(_ node: Node?, _ path: KeyPath) -> SourceLocation {
        if let o = overrides.last(where: { path.hasPrefix($0.path) }) { return .override(o.text) }
        if let mark = node?.mark { return .file(file, line: mark.line, column: mark.column) }
        // A node an override rebuilt has no place in the file: name the override inside it.
        if let o = overrides.last(where: { $0.path.hasPrefix(path) }) { return .override(o.text) }
        return .wholeFile(file)
    }

    func report(_ node: Node?, _ path: KeyPath, _ message: String) {
        problems.append(ScenarioProblem(location(node, path), path.description, message))
    }

    /// Checks every collected reference against the ids of its section.
    func checkReferences() {
        for ref in references {
            let known = ids[ref.section] ?? []
            if known.contains(ref.id) { continue }
            let noun = ref.section.hasSuffix("s") ? String(ref.section.dropLast()) : ref.section
            var message = "unknown \(noun) '\(ref.id)'"
            if let near = nearest(ref.id, among: known) {
                message += "; did you mean '\(near)'?"
            } else if known.isEmpty {
                message += "; the scenario defines no \(ref.section)"
            } else {
                message += " (\(ref.section): \(known.joined(separator: ", ")))"
            }
            problems.append(ScenarioProblem(ref.location, ref.path.description, message))
        }
        references.removeAll()
    }

    // MARK: Values

    /// The resolved value of `node` as `type`, or `nil` after reporting why it is not one.
    func read(_ node: Node, _ type: ValueType, _ path: KeyPath) -> Resolved? {
        // A YAML tag of the user's own (`!secret`, `!!binary`) would be silently dropped.
        let tag = node.tag.rawValue
        if !tag.isEmpty && tag != "!" && tag != "?" && !Reader.standardTags.contains(tag) {
            report(node, path, "YAML tags such as \(tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst(18) : tag) are not supported; remove it")
            return nil
        }
        switch type {
        case let .object(schema): return readObject(node, schema, path)
        case let .records(schema, minimumCount): return readRecords(node, schema, minimumCount, path)
        case let .list(element, minimumCount):
            guard let (seq, countOK) = elements(node, type, minimumCount, path) else { return nil }
            var items: [Resolved] = []
            var ok = countOK
            for (i, item) in seq.enumerated() {
                if let r = read(item, element, path.appending(index: i)) { items.append(r) } else { ok = false }
            }
            return ok ? .list(items) : nil
        case let .distribution(kind, bounds): return readDistribution(node, kind, bounds, path)
        case .zipf: return readZipf(node, path)
        case .curve: return readCurve(node, path)
        default: break
        }

        guard let text = scalarText(node) else {
            report(node, path, "expected \(type.phrase), got \(describe(node))")
            return nil
        }
        switch type {
        case .text:
            return .text(text)
        case .identifier:
            // Names become folder names (Reports/<name>/): a leading '.' could climb out of Reports.
            guard let first = text.unicodeScalars.first, CharacterSetLite.alphanumeric.contains(first),
                  text.unicodeScalars.allSatisfy({ CharacterSetLite.identifier.contains($0) }) else {
                report(node, path, "expected \(type.phrase), got '\(text)'")
                return nil
            }
            return .text(text)
        case let .integer(lo, hi):
            guard let i = Int64(text) else {
                report(node, path, "expected \(type.phrase), got \(text)")
                return nil
            }
            guard i >= lo && i <= hi else {
                report(node, path, (i < lo ? "must be >= \(lo)" : "must be <= \(hi)") + ", got \(text)")
                return nil
            }
            return .integer(i)
        case .boolean:
            guard text == "true" || text == "false" else {
                report(node, path, "expected true or false, got \(text)")
                return nil
            }
            return .boolean(text == "true")
        case let .quantity(kind, bounds):
            let x: Double
            do { x = try Quantity.parse(text, as: kind) } catch {
                report(node, path, error.message)
                return nil
            }
            if let violation = bounds.violation(x, kind: kind) ?? kind.rangeViolation(x) {
                report(node, path, "\(violation), got \(text)")
                return nil
            }
            return .quantity(x, kind)
        case .dateTime:
            guard let t = DateTimeText.parse(text) else {
                report(node, path, "expected \(type.phrase), got \(text)")
                return nil
            }
            return .dateTime(t)
        case .timeOfDay:
            guard let s = DateTimeText.parseTimeOfDay(text) else {
                report(node, path, "expected \(type.phrase), got \(text)")
                return nil
            }
            return .timeOfDay(s)
        case let .choice(options):
            guard options.contains(text) else {
                var message = "expected \(type.phrase), got \(text)"
                if let near = nearest(text, among: options) { message += "; did you mean '\(near)'?" }
                report(node, path, message)
                return nil
            }
            return .choice(text)
        case let .reference(section):
            guard !text.isEmpty else {
                report(node, path, "expected \(type.phrase), got nothing")
                return nil
            }
            references.append((section, text, location(node, path), path))
            return .text(text)
        default:
            preconditionFailure("unhandled value type \(type)")
        }
    }

    /// The tags plain YAML gives values by itself.
    static let standardTags: Set<String> = ["str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp", "value"]
        .reduce(into: []) { $0.insert("tag:yaml.org,2002:" + $1) }

    /// The text of a scalar node; `nil` for mappings, sequences and nulls.
    func scalarText(_ node: Node) -> String? {
        guard case let .scalar(s) = node else { return nil }
        if s.style == .plain || s.style == .any, ["", "~", "null", "Null", "NULL"].contains(s.string) { return nil }
        return s.string
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case let .scalar(s):
            return scalarText(node) == nil ? "nothing" : s.string
        }
    }

    // MARK: Mappings

    func readObject(_ node: Node, _ schema: Schema, _ path: KeyPath) -> Resolved? {
        guard case let .mapping(mapping) = node else {
            report(node, path, "expected a mapping with keys \(schema.fields.map(\.key).joined(separator: ", ")), got \(describe(node))")
            return nil
        }
        var given: [String: (key: Node, value: Node)] = [:]
        for (keyNode, valueNode) in Reader.mergingKeys(mapping) {
            guard let key = scalarText(keyNode) else {
                report(keyNode, path, "keys must be plain names, got \(describe(keyNode))")
                continue
            }
            // Top-level `x-` keys hold YAML anchors for merge keys (as Compose files do): not read.
            if path.components.isEmpty && key.hasPrefix("x-") { continue }
            guard let field = schema.field(key) else {
                let known = schema.fields.map(\.key)
                var message = "unknown key '\(key)'"
                if let near = nearest(key, among: known) {
                    message += "; did you mean '\(near)'?"
                } else {
                    message += " (keys here: \(known.joined(separator: ", ")))"
                }
                report(keyNode, path.appending(key), message)
                continue
            }
            given[key] = (keyNode, valueNode)
            if !field.modelled { notModelled.append(path.appending(key).description) }
        }
        var pairs: [(String, Resolved)] = []
        var ok = true
        for field in schema.fields {
            let fieldPath = path.appending(field.key)
            if let (_, valueNode) = given[field.key] {
                if let r = read(valueNode, field.type, fieldPath) { pairs.append((field.key, r)) } else { ok = false }
                continue
            }
            switch field.presence {
            case .required:
                report(node, fieldPath, "missing required key '\(field.key)' (\(field.type.phrase))")
                ok = false
            case let .defaulted(text):
                if let r = readDefault(text, field, fieldPath) { pairs.append((field.key, r)) } else { ok = false }
            case .optional:
                pairs.append((field.key, .absent))
            }
        }
        guard ok else { return nil }
        let object = Resolved.object(pairs)
        if let check = schema.check {
            for problem in check(object) {
                let target = problem.key.flatMap { given[$0]?.value } ?? node
                let where_ = problem.key.map { path.appending($0) } ?? path
                report(target, where_, problem.message)
                ok = false
            }
        }
        return ok ? object : nil
    }

    /// The pairs of a mapping with YAML merge keys (`<<: *defaults`, or a list of them) resolved:
    /// the merged mappings' keys, unless the mapping sets them itself (earlier merged mappings
    /// win over later ones), as YAML 1.1's merge key type says.
    static func mergingKeys(_ mapping: Node.Mapping) -> [(Node, Node)] {
        var own: [(Node, Node)] = []
        var merged: [(Node, Node)] = []
        for (key, value) in mapping {
            guard key.string == "<<", key.scalar?.style == .plain || key.scalar?.style == .any else {
                own.append((key, value))
                continue
            }
            let sources: [Node] = value.sequence.map(Array.init) ?? [value]
            for source in sources {
                guard case let .mapping(m) = source else {
                    own.append((key, value))  // not a mapping to merge: reported as the unknown key it is
                    break
                }
                merged += mergingKeys(m)
            }
        }
        var seen = Set(own.compactMap { $0.0.string })
        for (key, value) in merged where key.string.map({ seen.insert($0).inserted }) ?? true { own.append((key, value)) }
        return own
    }

    /// A default is scenario text too; reading it through the same code keeps defaults honest
    /// (a test reads every default).
    func readDefault(_ text: String, _ field: Field, _ path: KeyPath) -> Resolved? {
        let node: Node
        do {
            guard let n = try Yams.compose(yaml: text) else {
                report(nil, path, "internal: the default of \(field.key) is empty")
                return nil
            }
            node = n
        } catch {
            report(nil, path, "internal: the default of \(field.key) is not YAML: \(error)")
            return nil
        }
        // Problems in a default are vodsim's, not the user's: tag them so.
        let before = problems.count
        let r = read(node, field.type, path)
        for i in before..<problems.count { problems[i].message = "internal: default '\(text)': " + problems[i].message }
        return r
    }

    /// The elements of a list node, after checking it is one with enough elements (reported, and
    /// `false` in the result, when it has too few).
    func elements(_ node: Node, _ type: ValueType, _ minimumCount: Int, _ path: KeyPath) -> ([Node], Bool)? {
        guard case let .sequence(seq) = node else {
            report(node, path, "expected \(type.phrase), got \(describe(node))")
            return nil
        }
        if seq.count < minimumCount {
            report(node, path, "needs at least \(minimumCount) element\(minimumCount == 1 ? "" : "s"), got \(seq.count)")
            return (Array(seq), false)
        }
        return (Array(seq), true)
    }

    func readRecords(_ node: Node, _ schema: Schema, _ minimumCount: Int, _ path: KeyPath) -> Resolved? {
        guard let (seq, countOK) = elements(node, .records(schema, minimumCount: minimumCount), minimumCount, path) else { return nil }
        var items: [Resolved] = []
        var ok = countOK
        var seen: [String: Int] = [:]
        let topLevel = path.components.count == 1
        if topLevel, case let .key(section)? = path.components.first { ids[section] = [] }
        for (i, element) in seq.enumerated() {
            let elementPath = path.appending(index: i)
            if let idKey = schema.idKey, case let .mapping(m) = element, let idNode = m[Node(idKey)], let id = scalarText(idNode) {
                if let first = seen[id] {
                    report(idNode, elementPath.appending(idKey), "duplicated id '\(id)' (also \(path)[\(first)])")
                    ok = false
                } else {
                    seen[id] = i
                    if topLevel, case let .key(section)? = path.components.first { ids[section, default: []].append(id) }
                }
            }
            if let r = readObject(element, schema, elementPath) { items.append(r) } else { ok = false }
        }
        return ok ? .list(items) : nil
    }

    // MARK: Distributions and curves

    static let distributionNames = ["constant", "uniform", "exponential", "lognormal", "gamma", "pareto", "empirical"]

    func readDistribution(_ node: Node, _ kind: QuantityKind, _ bounds: Bounds, _ path: KeyPath) -> Resolved? {
        // A plain value is a constant.
        if scalarText(node) != nil {
            guard case let .quantity(x, _)? = read(node, .quantity(kind, bounds), path) else { return nil }
            return .distribution(DistributionValue(name: "constant", parameters: [("value", .quantity(x, kind))],
                                                   distribution: try! .constant(x)))
        }
        let shape = "expected \(ValueType.distribution(kind, bounds).phrase)"
        guard case let .mapping(m) = node, m.count == 1, let (nameNode, body) = m.first, let name = scalarText(nameNode) else {
            report(node, path, "\(shape), got \(describe(node))")
            return nil
        }
        let at = path.appending(name)
        guard Reader.distributionNames.contains(name) else {
            var message = "unknown distribution '\(name)'"
            if let near = nearest(name, among: Reader.distributionNames) { message += "; did you mean '\(near)'?" }
            report(nameNode, at, message + " (known: \(Reader.distributionNames.joined(separator: ", ")))")
            return nil
        }
        let q = ValueType.quantity(kind, .any)
        let number = ValueType.quantity(.number, .any)
        let built: (parameters: [(String, Resolved)], make: () throws -> Distribution)?
        switch name {
        case "constant":
            guard case let .quantity(x, _)? = read(body, q, at) else { return nil }
            built = ([("value", .quantity(x, kind))], { try .constant(x) })
        case "empirical":
            return readEmpirical(body, kind, bounds, at)
        default:
            let spec: [(String, ValueType)] = switch name {
            case "uniform": [("low", q), ("high", q)]
            case "exponential": [("mean", q)]
            case "lognormal": [("median", q), ("sigma", number)]
            case "gamma": [("shape", number), ("scale", q)]
            default: [("shape", number), ("minimum", q)]  // pareto
            }
            // lognormal also accepts its mean instead of its median.
            var schemaFields = spec.map { Field($0.0, $0.1, .required, "") }
            if name == "lognormal", case let .mapping(pm) = body, pm[Node("mean")] != nil, pm[Node("median")] == nil {
                schemaFields[0] = Field("mean", q, .required, "")
            }
            guard case let .object(pairs)? = readObject(body, Schema(schemaFields), at) else { return nil }
            let v = pairs.map { $0.1.value }
            built = (pairs, {
                switch (name, schemaFields[0].key) {
                case ("uniform", _): try .uniform(low: v[0], high: v[1])
                case ("exponential", _): try .exponential(mean: v[0])
                case ("lognormal", "mean"): try .lognormal(mean: v[0], sigma: v[1])
                case ("lognormal", _): try .lognormal(median: v[0], sigma: v[1])
                case ("gamma", _): try .gamma(shape: v[0], scale: v[1])
                default: try .pareto(shape: v[0], minimum: v[1])
                }
            })
        }
        guard let (parameters, make) = built else { return nil }
        let distribution: Distribution
        do { distribution = try make() } catch let error as StochasticsError {
            let parameterNode: Node? = { if case let .mapping(pm) = body { return pm[Node(error.parameter)] } else { return body } }()
            let shown = parameters.first { $0.0 == error.parameter }?.1.scalarText ?? error.value
            // The one bound that names another parameter: in its unit, as written.
            let low = parameters.first { $0.0 == "low" }?.1.scalarText
            let expected = name == "uniform" && error.parameter == "high" && low != nil ? ">= low (\(low!))" : error.expected
            report(parameterNode ?? body, at.appending(error.parameter), "must be \(expected), got \(shown)")
            return nil
        } catch {
            report(body, at, "\(error)")
            return nil
        }
        return checkSupport(DistributionValue(name: name, parameters: parameters, distribution: distribution), kind, bounds, node, path)
    }

    /// How rare a draw outside a key's range may be: one in a million. Rarer draws are clamped
    /// to the range (see ``Distribution/clamped(to:)``), which leaves results as they are in
    /// practice while no draw can be a value the model cannot represent.
    static let tailProbability = 1e-6

    /// A distribution must respect its key's bounds: its support must not reach below a minimum
    /// of 0 (a watch time cannot be negative), and no more than one draw in a million may fall
    /// outside the key's range (a positive minimum, the maximum, the kind's model maximum).
    /// Draws are clamped to that range.
    func checkSupport(_ d: DistributionValue, _ kind: QuantityKind, _ bounds: Bounds, _ node: Node, _ path: KeyPath) -> Resolved? {
        let lowest = d.distribution.quantile(0)
        let continuousFromZero = d.name != "constant" && d.name != "uniform" && d.name != "empirical"
        if let minimum = bounds.minimum, minimum <= 0, let violation = bounds.violation(lowest, kind: kind),
           !(lowest == 0 && minimum == 0 && !bounds.minimumInclusive && continuousFromZero) {
            report(node, path, "every value \(violation), but this distribution can give \(Quantity.format(lowest, as: kind))")
            return nil
        }
        let p = Reader.tailProbability
        if let minimum = bounds.minimum, minimum > 0 {
            let low = d.distribution.quantile(p)
            if low < minimum {
                report(node, path, "at most one draw in a million may be below \(Quantity.format(minimum, as: kind)), but this distribution gives \(Quantity.approximate(low, as: kind)) or less that often; narrow it")
                return nil
            }
        }
        let maximum = min(bounds.maximum ?? .infinity, kind.modelMaximum)
        let high = d.distribution.quantile(1 - p)
        if !(high <= maximum) {
            report(node, path, "at most one draw in a million may exceed \(Quantity.format(maximum, as: kind)), but this distribution gives \(Quantity.approximate(high, as: kind)) or more that often; narrow it")
            return nil
        }
        // Positive keys clamp at the kind's resolution (1 µs, 1 bps), never at 0.
        let floor = bounds.minimum.map { $0 > 0 || bounds.minimumInclusive ? $0 : (kind.resolution ?? 0) } ?? -maximum
        var clamped = d
        clamped.distribution = d.distribution.clamped(to: floor...maximum)
        return .distribution(clamped)
    }

    func readEmpirical(_ body: Node, _ kind: QuantityKind, _ bounds: Bounds, _ path: KeyPath) -> Resolved? {
        guard case let .sequence(seq) = body else {
            report(body, path, "expected a list of [value, cumulative probability] pairs, got \(describe(body))")
            return nil
        }
        var points: [(value: Double, probability: Double)] = []
        var resolved: [Resolved] = []
        var ok = true
        for (i, item) in seq.enumerated() {
            let at = path.appending(index: i)
            guard case let .sequence(pair) = item, pair.count == 2 else {
                report(item, at, "expected a [value, cumulative probability] pair, got \(describe(item))")
                ok = false
                continue
            }
            guard case let .quantity(v, _)? = read(pair[0], .quantity(kind, .any), at.appending(index: 0)),
                  case let .quantity(p, _)? = read(pair[1], .quantity(.fraction, .range(0, 1)), at.appending(index: 1)) else {
                ok = false
                continue
            }
            points.append((v, p))
            resolved.append(.list([.quantity(v, kind), .quantity(p, .number)]))
        }
        guard ok else { return nil }
        do {
            let table = try EmpiricalDistribution(points: points)
            let d = DistributionValue(name: "empirical", parameters: [("points", .list(resolved))], distribution: .empirical(table))
            return checkSupport(d, kind, bounds, body, path)
        } catch let error as StochasticsError {
            report(body, path, "\(error.parameter): must be \(error.expected), got \(error.value)")
            return nil
        } catch {
            report(body, path, "\(error)")
            return nil
        }
    }

    func readZipf(_ node: Node, _ path: KeyPath) -> Resolved? {
        guard case let .mapping(m) = node, m.count == 1, let (keyNode, value) = m.first, scalarText(keyNode) == "zipf" else {
            report(node, path, "expected {zipf: exponent} such as {zipf: 0.9}, got \(describe(node))")
            return nil
        }
        guard case let .quantity(s, _)? = read(value, .quantity(.number, .range(0, 10)), path.appending("zipf")) else { return nil }
        return .zipf(s)
    }

    func readCurve(_ node: Node, _ path: KeyPath) -> Resolved? {
        if let name = scalarText(node) {
            guard ["evening", "flat"].contains(name) else {
                report(node, path, "expected evening, flat or a list of 24 numbers, got \(name)")
                return nil
            }
            return .curve(.named(name))
        }
        guard case let .sequence(seq) = node, seq.count == 24 else {
            let got = if case let .sequence(seq) = node { "\(seq.count) values" } else { describe(node) }
            report(node, path, "expected evening, flat or a list of 24 numbers (one per local hour), got \(got)")
            return nil
        }
        var values: [Double] = []
        for (h, item) in seq.enumerated() {
            guard case let .quantity(x, _)? = read(item, .quantity(.number, .nonNegative), path.appending(index: h)) else { return nil }
            values.append(x)
        }
        guard values.contains(where: { $0 > 0 }) else {
            report(node, path, "at least one hour needs demand above 0")
            return nil
        }
        return .curve(.hourly(values))
    }
}

/// The characters of identifiers.
enum CharacterSetLite {
    static let alphanumeric = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".unicodeScalars)
    static let identifier = alphanumeric.union(Set("._-".unicodeScalars))
}
