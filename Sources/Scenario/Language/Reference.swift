/// The key reference of docs/scenarios.md, generated from ``ScenarioSchema`` so that it cannot
/// drift from what the parser accepts (a test compares the two).
public enum ScenarioReference {
    public static let beginMarker = "<!-- reference:begin (generated from ScenarioSchema; VODSIM_RECORD=1 scripts/test.sh rewrites it) -->"
    public static let endMarker = "<!-- reference:end -->"

    public static var markdown: String {
        var out = ""
        section(title: "Top level", prefix: "", schema: ScenarioSchema.root, into: &out)
        nested(prefix: "", schema: ScenarioSchema.root, into: &out)
        return out
    }

    /// A section for every mapping and list of mappings below `schema`, at any depth
    /// (`catalog.newReleases`, `catalog.newReleases.scheduled[]`).
    static func nested(prefix: String, schema: Schema, into out: inout String) {
        for field in schema.fields {
            switch field.type {
            case let .object(inner), let .records(inner, _):
                let list = if case .records = field.type { "[]" } else { "" }
                let path = prefix + field.key + list
                section(title: "`\(path)`" + (field.modelled ? "" : " (not modelled yet)"), prefix: path + ".", schema: inner, into: &out)
                nested(prefix: path + ".", schema: inner, into: &out)
            default: continue
            }
        }
    }

    static func section(title: String, prefix: String, schema: Schema, into out: inout String) {
        out += "### \(title)\n\n"
        if let id = schema.idKey { out += "Each entry needs a unique `\(id)`.\n\n" }
        out += "| key | value | default | meaning |\n|---|---|---|---|\n"
        for field in schema.fields {
            let value: String
            switch field.type {
            case .object: value = "mapping"
            case .records: value = "list of mappings"
            default: value = typeText(field.type)
            }
            let presence: String = switch field.presence {
            case .required: "**required**"
            case let .defaulted(text): "`\(text.count > 40 ? "see meaning" : text)`"
            case .optional: "none"
            }
            var meaning = field.doc
            if case let .defaulted(text) = field.presence, text.count > 40 { meaning += " Default: `\(text)`." }
            if !field.modelled { meaning += " *(not modelled yet)*" }
            out += "| `\(prefix)\(field.key)` | \(value) | \(presence) | \(meaning.replacing("|", with: "\\|")) |\n"
        }
        out += "\n"
    }

    static func typeText(_ type: ValueType) -> String {
        switch type {
        case let .quantity(kind, bounds):
            let base = switch kind {
            case .duration: "duration (`us`, `ms`, `s`, `min`, `h`, `d`)"
            case .dataSize: "data size (`B`, `kB`…`PB`, `KiB`…`PiB`)"
            case .dataRate: "data rate (`bps`…`Tbps`, `B/s`…`TB/s`)"
            case .count: "count (`k`, `M`, `B` suffixes)"
            case .eventRate: "event rate (`/s`, `/min`, `/h`, `/d`)"
            case .fraction: "fraction (`5%` or `0.05`)"
            case .number: "number"
            }
            return bounds.phrase(kind: kind).map { "\(base), \($0)" } ?? base
        case let .distribution(kind, bounds):
            return "distribution of \(kind.plural)" + (bounds.phrase(kind: kind).map { ", \($0) (at most one draw in a million outside; draws clamped)" } ?? "")
        case let .integer(lo, hi): return hi == .max ? "integer >= \(lo)" : "integer \(lo) to \(hi)"
        case let .choice(options): return options.map { "`\($0)`" }.joined(separator: ", ")
        case let .reference(section): return "id of one of `\(section)`"
        case let .list(element, _): return "list of " + typeText(element)
        default: return type.phrase
        }
    }
}
