import Foundation
import Reports
import World
import Yams

/// A validated scenario: every key checked, every default filled in, units in base form.
public struct ResolvedScenario: Sendable {
    /// The whole resolved tree (an object in schema order).
    public let root: Resolved
    /// The file it came from, as given.
    public let file: String
    /// Keys the scenario sets that the model does not simulate yet.
    public let notModelled: [String]
    /// What is valid but probably not meant (a region no PoP is in, a bucket longer than the run):
    /// printed as warnings, never an error.
    public let warnings: [ScenarioProblem]
    /// The canonical JSON of `root` (compact): what the hash is computed over.
    public let canonicalJSON: String
    /// SHA-256 of `canonicalJSON`: names the resolved parameters; two reports are comparable only
    /// when their hashes agree.
    public let hash: String

    /// The other run of `compare`, if the scenario asks for one.
    public let comparison: ScenarioComparison?
    /// Per access class that plays traces (`clients.access[i]`), its traces as read.
    let accessTraces: [Int: [[AccessPeriod]]]

    init(root: Resolved, file: String, notModelled: [String], warnings: [ScenarioProblem] = [], comparison: ScenarioComparison? = nil,
         accessTraces: [Int: [[AccessPeriod]]] = [:], traceDigest: String = "") {
        self.root = root
        self.file = file
        self.notModelled = notModelled.sorted()
        self.warnings = warnings
        canonicalJSON = root.json.serialized(pretty: false)
        // Trace files are part of the parameters: their contents name the run as much as the keys do.
        hash = SHA256.hex(traceDigest.isEmpty ? canonicalJSON : canonicalJSON + "\ntraces " + traceDigest)
        self.comparison = comparison
        self.accessTraces = accessTraces
    }

    public var name: String { root["name"].text }
    public var seed: UInt64 { UInt64(root["seed"].integer) }

    /// The resolved scenario as YAML, every default filled in: `vodsim validate` prints this, and it
    /// is itself a valid scenario.
    public var yaml: String {
        let text = (try? Yams.serialize(node: root.yamlNode, indent: 2, width: -1, allowUnicode: true, sortKeys: false)) ?? ""
        return text.hasSuffix("\n") ? text : text + "\n"
    }

    /// Sections of the scenario language that the model does not simulate yet.
    public static var unmodelledSections: [String] {
        ScenarioSchema.root.fields.filter { !$0.modelled }.map(\.key)
    }
}

/// The other run a scenario's `compare:` section asks for: the same scenario with `overrides`
/// applied, shown beside it under `label`.
public final class ScenarioComparison: Sendable {
    public let label: String
    public let overrides: [String]
    public let scenario: ResolvedScenario

    init(label: String, overrides: [String], scenario: ResolvedScenario) {
        self.label = label
        self.overrides = overrides
        self.scenario = scenario
    }
}

/// Reads scenario files: YAML, overrides, validation, defaults.
public enum ScenarioLoader {
    /// Loads and validates the scenario at `path`, applying `--set` overrides (`key.path=value`).
    /// - Throws: ``ScenarioErrors`` with every problem found.
    public static func load(path: String, overrides: [String] = []) throws(ScenarioErrors) -> ResolvedScenario {
        let text: String
        do {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ScenarioErrors(problems: [ScenarioProblem(.wholeFile(path), "", "no such file")])
            }
            guard !isDirectory.boolValue else {
                throw ScenarioErrors(problems: [ScenarioProblem(.wholeFile(path), "", "is a folder, not a scenario file")])
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw ScenarioErrors(problems: [ScenarioProblem(.wholeFile(path), "", "is not UTF-8 text")])
            }
            text = decoded
        } catch let errors as ScenarioErrors {
            throw errors
        } catch {
            throw ScenarioErrors(problems: [ScenarioProblem(.wholeFile(path), "", "cannot read: \(error.localizedDescription)")])
        }
        return try parse(text: text, file: path, overrides: overrides)
    }

    /// Loads the built-in default scenario (``BuiltInScenario``), applying `--set` overrides.
    public static func loadBuiltIn(overrides: [String] = []) throws(ScenarioErrors) -> ResolvedScenario {
        try parse(text: BuiltInScenario.text, file: BuiltInScenario.name, overrides: overrides)
    }

    /// Validates scenario text; `file` names it in messages.
    public static func parse(text: String, file: String, overrides: [String] = []) throws(ScenarioErrors) -> ResolvedScenario {
        var node: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else {
                throw ScenarioErrors(problems: [ScenarioProblem(.wholeFile(file), "",
                    "the file is empty; a scenario needs at least name, start, duration and regions")])
            }
            node = composed
        } catch let errors as ScenarioErrors {
            throw errors
        } catch let error as YamlError {
            throw ScenarioErrors(problems: [yamlProblem(error, file: file)])
        } catch {
            throw ScenarioErrors(problems: [ScenarioProblem(.wholeFile(file), "", "is not valid YAML: \(error)")])
        }
        guard case .mapping = node else {
            let mark = node.mark
            throw ScenarioErrors(problems: [ScenarioProblem(
                mark.map { .file(file, line: $0.line, column: $0.column) } ?? .wholeFile(file), "",
                "a scenario is a mapping of keys (name, start, duration, regions, ...), not \(Reader(file: file).describe(node))")])
        }

        var applied: [(path: KeyPath, text: String)] = []
        var problems: [ScenarioProblem] = []
        for text in overrides {
            do {
                let (updated, path) = try Overrides.apply(text, to: node)
                node = updated
                applied.append((path, text))
            } catch {
                problems.append(ScenarioProblem(.override(text), error.path, error.message))
            }
        }

        let reader = Reader(file: file, overrides: applied)
        let root = reader.read(node, .object(ScenarioSchema.root), KeyPath())
        reader.checkReferences()
        problems += reader.problems
        guard problems.isEmpty, let root else {
            throw ScenarioErrors(problems: problems.sorted(by: ScenarioLoader.fileOrder))
        }
        let comparison = try comparison(of: root, node: node, applied: applied, file: file)
        let warnings = ScenarioSchema.warnings(root).map { w in
            ScenarioProblem(reader.location(Overrides.node(at: w.path, in: node), w.path), w.path.description, w.message)
        }
        let (traces, digest) = try accessTraces(root, node: node, reader: reader, file: file)
        return ResolvedScenario(root: ScenarioSchema.complete(root), file: file, notModelled: reader.notModelled,
                                warnings: warnings, comparison: comparison, accessTraces: traces, traceDigest: digest)
    }

    /// The traces of the access classes that play them, read from their files (a problem names the
    /// class's `traces` key), and a digest of them all.
    static func accessTraces(_ root: Resolved, node: Node, reader: Reader, file: String)
        throws(ScenarioErrors) -> (traces: [Int: [[AccessPeriod]]], digest: String) {
        var traces: [Int: [[AccessPeriod]]] = [:]
        var digests: [String] = []
        var problems: [ScenarioProblem] = []
        for (i, access) in root["clients"]["access"].list.enumerated() where access["variation"].text == "traces" {
            let path = KeyPath([.key("clients"), .key("access"), .index(i), .key("traces")])
            do {
                let loaded = try AccessTraceFiles.load(access["traces"].text, scenarioFile: file)
                traces[i] = loaded.traces
                digests.append(loaded.digest)
            } catch {
                problems.append(ScenarioProblem(reader.location(Overrides.node(at: path, in: node), path), path.description, error.message))
            }
        }
        guard problems.isEmpty else { throw ScenarioErrors(problems: problems) }
        return (traces, digests.joined(separator: " "))
    }

    /// The scenario `compare` asks for: this one with the `compare.set` overrides applied after any
    /// from the command line; validated now, so that a bad override is reported before a run.
    static func comparison(of root: Resolved, node: Node, applied: [(path: KeyPath, text: String)],
                           file: String) throws(ScenarioErrors) -> ScenarioComparison? {
        guard !root["compare"].isAbsent else { return nil }
        var variant = node
        var variantApplied = applied
        var problems: [ScenarioProblem] = []
        let entries = node.mapping?["compare"]?.mapping?["set"]?.sequence
        var places: [(text: String, index: Int, location: SourceLocation)] = []
        for (k, item) in root["compare"]["set"].list.enumerated() {
            let mark = entries.flatMap { k < $0.count ? $0[k].mark : nil }
            // An entry a --set wrote has marks in the --set's own text: name the --set instead.
            let fromOverride = applied.last { KeyPath([.key("compare"), .key("set"), .index(k)]).hasPrefix($0.path) }
            let location: SourceLocation = fromOverride.map { .override($0.text) }
                ?? mark.map { .file(file, line: $0.line, column: $0.column) } ?? .wholeFile(file)
            places.append((item.text, k, location))
            do {
                let (updated, path) = try Overrides.apply(item.text, to: variant)
                variant = updated
                variantApplied.append((path, item.text))
            } catch {
                problems.append(ScenarioProblem(location, "compare.set[\(k)]", "\(error.path.isEmpty ? "" : error.path + ": ")\(error.message)"))
            }
        }
        guard problems.isEmpty else { throw ScenarioErrors(problems: problems) }
        let reader = Reader(file: file, overrides: variantApplied)
        let variantRoot = reader.read(variant, .object(ScenarioSchema.root), KeyPath())
        reader.checkReferences()
        guard reader.problems.isEmpty, let variantRoot else {
            // A value from one of compare's overrides: reported at that override in the file.
            let located = reader.problems.map { p -> ScenarioProblem in
                guard case let .override(text) = p.location, let place = places.first(where: { $0.text == text }),
                      !applied.contains(where: { $0.text == text }) else { return p }
                return ScenarioProblem(place.location, "compare.set[\(place.index)]", "\(p.path): \(p.message)")
            }
            throw ScenarioErrors(problems: located.sorted(by: fileOrder))
        }
        let (traces, digest) = try accessTraces(variantRoot, node: variant, reader: reader, file: file)
        return ScenarioComparison(label: root["compare"]["label"].text, overrides: root["compare"]["set"].list.map(\.text),
                                  scenario: ResolvedScenario(root: ScenarioSchema.complete(variantRoot), file: file, notModelled: reader.notModelled,
                                                             accessTraces: traces, traceDigest: digest))
    }

    /// Problems in the order of the file (overrides after), stable otherwise.
    static func fileOrder(_ a: ScenarioProblem, _ b: ScenarioProblem) -> Bool {
        func key(_ p: ScenarioProblem) -> (Int, Int, Int) {
            switch p.location {
            case .wholeFile: return (0, 0, 0)
            case let .file(_, line, column): return (1, line, column)
            case .override: return (2, 0, 0)
            }
        }
        return key(a) < key(b)
    }

    static func yamlProblem(_ error: YamlError, file: String) -> ScenarioProblem {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return ScenarioProblem(.file(file, line: mark.line, column: mark.column), "", "malformed YAML: \(plainYAMLProblem(problem))")
        case let .duplicatedKeysInMapping(duplicates, context):
            let mark = context.mark
            return ScenarioProblem(.file(file, line: mark.line, column: mark.column), "",
                                   "duplicated key\(duplicates.count > 1 ? "s" : "") \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in one mapping")
        case let .reader(problem, _, _, _):
            return ScenarioProblem(.wholeFile(file), "", "cannot read the YAML: \(problem)")
        default:
            return ScenarioProblem(.wholeFile(file), "", "is not valid YAML: \(error)")
        }
    }
}

/// libyaml's words for a problem, in a user's: what is wrong on the line, not the parser's state.
func plainYAMLProblem(_ problem: String) -> String {
    let known: [(String, String)] = [
        ("found a tab character", "a tab character: YAML indents with spaces"),
        ("found character that cannot start any token", "a character YAML cannot start a value with here (a tab? YAML indents with spaces; quote text that starts with @ or `)"),
        ("mapping values are not allowed in this context", "a ':' where a value was expected: indent this line like its neighbours, or quote a value that holds ': '"),
        ("found undefined alias", "an alias (*name) with no anchor (&name) defined before it"),
        ("did not find expected ',' or ']'", "a list opened with '[' is not closed with ']'"),
        ("did not find expected ',' or '}'", "a mapping opened with '{' is not closed with '}'"),
        ("found unexpected end of stream", "the file ends inside a quoted text: close the quote"),
        ("found unknown escape character", "an unknown escape (\\x) in double quotes: use single quotes for backslashes"),
        ("did not find expected key", "a line is indented differently from the keys around it"),
        ("did not find expected '-' indicator", "a list item is indented differently from the items around it"),
        ("could not find expected ':'", "a key without ':' (or a text spread over lines without quotes)"),
        ("but found another document", "more than one YAML document ('---' after the first): a scenario is one document"),
        ("found duplicate anchor", "an anchor (&name) defined twice"),
    ]
    for (libyaml, plain) in known where problem.contains(libyaml) { return plain }
    return problem
}

/// `--set key.path=value`: changes the YAML tree before validation, so that an override is checked
/// exactly like the file, and reported as the override when wrong.
enum Overrides {
    struct Failure: Error {
        var path: String
        var message: String
    }

    /// Applies one override; returns the new tree and the path with list ids resolved to indices.
    static func apply(_ text: String, to root: Node) throws(Failure) -> (Node, KeyPath) {
        guard let equals = text.firstIndex(of: "=") else {
            throw Failure(path: "", message: "expected key.path=value, e.g. regions[0].users=2M")
        }
        let pathText = String(text[..<equals]).trimmingWhitespace
        let valueText = String(text[text.index(after: equals)...])
        guard let path = KeyPath.parse(pathText) else {
            throw Failure(path: pathText, message: "is not a key path (keys separated by '.', list elements as [index] or [id])")
        }
        let value: Node
        do {
            value = try Yams.compose(yaml: valueText) ?? Node("", .implicit, .plain)
        } catch {
            throw Failure(path: pathText, message: "the value is not valid YAML: \(valueText)")
        }
        var resolved: [KeyPath.Component] = []
        let updated = try set(value, at: path.components[...], in: root, type: .object(ScenarioSchema.root), resolved: &resolved)
        return (updated, KeyPath(resolved))
    }

    /// The node at `path` (keys and indices), if the tree has one.
    static func node(at path: KeyPath, in root: Node) -> Node? {
        var node: Node? = root
        for component in path.components {
            switch component {
            case let .key(key): node = node?.mapping?[Node(key)]
            case let .index(i): node = node?.sequence.flatMap { i < $0.count ? $0[i] : nil }
            case let .id(id): node = node?.sequence?.first { $0.mapping?[Node("id")]?.string == id }
            }
        }
        return node
    }

    /// Sets `value` at `path` under `node`, whose schema type is `type` (`nil` below free-form
    /// values). A key the file does not write starts from its schema default when the path goes
    /// on into it (`clients.devices[web].player` changes one device of the default list), else
    /// from nothing. List elements are found by index or by their id (the schema's id key).
    static func set(_ value: Node, at path: ArraySlice<KeyPath.Component>, in node: Node, type: ValueType?,
                    resolved: inout [KeyPath.Component]) throws(Failure) -> Node {
        guard let first = path.first else { return value }
        let rest = path.dropFirst()
        let here = KeyPath(resolved).description
        var fields: Schema?
        var element: ValueType?
        if case let .object(schema)? = type { fields = schema }
        if case let .records(schema, _)? = type { element = .object(schema) }
        switch (first, node) {
        case let (.key(key), .mapping(mapping)):
            resolved.append(.key(key))
            let field = fields?.field(key)
            var pairs = Array(mapping)
            if let i = pairs.firstIndex(where: { $0.key.string == key }) {
                pairs[i].value = try set(value, at: rest, in: pairs[i].value, type: field?.type, resolved: &resolved)
            } else {
                // A key the file does not write: its default when the path goes into it, else
                // nothing (and any mappings on the way).
                var start = Node([(Node, Node)](), .implicit, .block)
                if !rest.isEmpty, case let .defaulted(text)? = field?.presence, let parsed = try? Yams.compose(yaml: text) {
                    start = parsed
                }
                pairs.append((Node(key), try set(value, at: rest, in: start, type: field?.type, resolved: &resolved)))
            }
            return Node(pairs.map { ($0.key, $0.value) }, mapping.tag, mapping.style)
        case let (.index(i), .sequence(seq)):
            guard i >= 0 && i < seq.count else {
                throw Failure(path: here, message: "has \(seq.count) element\(seq.count == 1 ? "" : "s"); there is no [\(i)]")
            }
            resolved.append(.index(i))
            var items = Array(seq)
            items[i] = try set(value, at: rest, in: items[i], type: element, resolved: &resolved)
            return Node(items, seq.tag, seq.style)
        case let (.id(id), .sequence(seq)):
            let idKey: String
            if case let .records(schema, _)? = type, let key = schema.idKey { idKey = key } else { idKey = "id" }
            guard let i = seq.firstIndex(where: { $0.mapping?[Node(idKey)]?.string == id }) else {
                let ids = seq.compactMap { $0.mapping?[Node(idKey)]?.string }
                throw Failure(path: here, message: "has no element with \(idKey) '\(id)' (\(idKey)s: \(ids.joined(separator: ", ")))")
            }
            resolved.append(.index(i))
            var items = Array(seq)
            items[i] = try set(value, at: rest, in: items[i], type: element, resolved: &resolved)
            return Node(items, seq.tag, seq.style)
        case (.key(let key), _):
            throw Failure(path: here, message: "is not a mapping, so it has no key '\(key)'")
        default:
            throw Failure(path: here, message: "is not a list, so it has no elements")
        }
    }
}
