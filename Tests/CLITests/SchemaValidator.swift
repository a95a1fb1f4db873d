import Foundation
import Testing
import Reports

/// Validates JSON against the subset of JSON Schema 2020-12 that docs/report.schema.json uses:
/// type, properties, required, additionalProperties, items, const, pattern, minimum, anyOf and
/// local `$ref`s. Returns one line per violation, with the JSON path.
struct SchemaValidator {
    let root: JSONValue

    func validate(_ value: JSONValue) -> [String] {
        var problems: [String] = []
        check(value, root, "$", &problems)
        return problems
    }

    private func resolve(_ schema: JSONValue) -> JSONValue {
        guard case let .string(ref)? = schema["$ref"] else { return schema }
        precondition(ref.hasPrefix("#/"), "only local references: \(ref)")
        return resolve(root.at(ref.dropFirst(2).split(separator: "/").map(String.init)) ?? .null)
    }

    private func check(_ value: JSONValue, _ rawSchema: JSONValue, _ path: String, _ problems: inout [String]) {
        let schema = resolve(rawSchema)
        if case let .array(options)? = schema["anyOf"] {
            let fits = options.contains { option in
                var scratch: [String] = []
                check(value, option, path, &scratch)
                return scratch.isEmpty
            }
            if !fits { problems.append("\(path): matches none of anyOf") }
        }
        if let constant = schema["const"], constant != value {
            problems.append("\(path): expected \(constant.serialized(pretty: false))")
        }
        if case let .string(type)? = schema["type"], !SchemaValidator.has(value, type: type) {
            problems.append("\(path): expected \(type), got \(value.serialized(pretty: false).prefix(40))")
            return
        }
        // A list of types: any of them (`["number", "null"]` for a figure that may have no data).
        if case let .array(types)? = schema["type"],
           !types.contains(where: { if case let .string(t) = $0 { SchemaValidator.has(value, type: t) } else { false } }) {
            problems.append("\(path): expected one of \(types.map { $0.serialized(pretty: false) }.joined(separator: ", ")), got \(value.serialized(pretty: false).prefix(40))")
            return
        }
        if case let .string(pattern)? = schema["pattern"], case let .string(s) = value,
           s.range(of: pattern, options: .regularExpression) == nil {
            problems.append("\(path): '\(s)' does not match \(pattern)")
        }
        if let minimum = schema["minimum"]?.double, let x = value.double, x < minimum {
            problems.append("\(path): \(x) is below the minimum \(minimum)")
        }
        if case let .array(items) = value, let itemSchema = schema["items"] {
            for (i, item) in items.enumerated() { check(item, itemSchema, "\(path)[\(i)]", &problems) }
        }
        guard case let .object(members) = value else { return }
        var properties: [(String, JSONValue)] = []
        if case let .object(p)? = schema["properties"] { properties = p }
        if case let .array(required)? = schema["required"] {
            for case let .string(key) in required where !members.contains(where: { $0.0 == key }) {
                problems.append("\(path): missing required key '\(key)'")
            }
        }
        for (key, member) in members {
            if let property = properties.first(where: { $0.0 == key }) {
                check(member, property.1, "\(path).\(key)", &problems)
            } else if let extra = schema["additionalProperties"] {
                if extra == .bool(false) {
                    problems.append("\(path): unexpected key '\(key)' (not in the schema)")
                } else if extra != .bool(true) {
                    check(member, extra, "\(path).\(key)", &problems)
                }
            }
        }
    }

    private static func has(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null),
             ("integer", .integer), ("number", .integer), ("number", .number): true
        case let ("integer", .number(x)): x.rounded() == x
        default: false
        }
    }
}

/// Whether xmllint finds `text` well-formed (scripts/setup.sh installs it).
func wellFormedXML(_ text: String) throws -> Bool {
    let xmllint = try #require(["/usr/bin/xmllint", "/usr/local/bin/xmllint"].first { FileManager.default.isExecutableFile(atPath: $0) },
                               "xmllint is missing: scripts/setup.sh installs libxml2-utils")
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-\(UUID().uuidString).xml")
    defer { try? FileManager.default.removeItem(at: file) }
    try text.write(to: file, atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: xmllint)
    process.arguments = ["--noout", file.path]
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus == 0
}
