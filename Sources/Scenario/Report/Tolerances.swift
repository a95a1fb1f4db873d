import Foundation
import Reports
import Yams

/// Reads a tolerances file for `vodsim compare`: the default rules, changed or extended.
///
///     metrics.experience.startTimeMs.p99: 20%          # a relative tolerance for a watched metric
///     metrics.delivery.hitRatio: 0.01                   # an absolute one (in the metric's unit)
///     metrics.pops.0.files: {better: higher, tolerance: 5%}   # a metric not watched by default
///
/// Errors name the file, line and column, and the metric.
public enum ToleranceFile {
    public static func load(path: String, base: [MetricRule] = MetricRule.defaults) throws(ScenarioErrors) -> [MetricRule] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ScenarioErrors(problems: [ScenarioProblem(.wholeFile(path), "", "no such file, or not UTF-8 text")])
        }
        return try parse(text: text, file: path, base: base)
    }

    public static func parse(text: String, file: String, base: [MetricRule] = MetricRule.defaults) throws(ScenarioErrors) -> [MetricRule] {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ScenarioErrors(problems: [ScenarioLoader.yamlProblem(error, file: file)])
        } catch {
            throw ScenarioErrors(problems: [ScenarioProblem(.wholeFile(file), "", "is not valid YAML: \(error)")])
        }
        var rules = base
        guard let node else { return rules }
        guard let mapping = node.mapping else {
            throw ScenarioErrors(problems: [ScenarioProblem(.wholeFile(file), "", "a tolerances file is a mapping of metric: tolerance")])
        }
        var problems: [ScenarioProblem] = []
        for (keyNode, valueNode) in mapping {
            let key = keyNode.string ?? ""
            let location: SourceLocation = valueNode.mark.map { .file(file, line: $0.line, column: $0.column) } ?? .wholeFile(file)
            func tolerance(_ text: String) -> Tolerance? {
                let t = text.trimmingCharacters(in: .whitespaces)
                if t.hasSuffix("%"), let x = Double(t.dropLast().trimmingCharacters(in: .whitespaces)), x >= 0 { return .relative(x / 100) }
                if let x = Double(t), x >= 0 { return .absolute(x) }
                return nil
            }
            if let scalar = valueNode.scalar {
                guard let t = tolerance(scalar.string) else {
                    problems.append(ScenarioProblem(location, key, "expected a tolerance such as 10% (relative) or 0.05 (absolute), got \(scalar.string)"))
                    continue
                }
                guard let i = rules.firstIndex(where: { $0.path == key }) else {
                    problems.append(ScenarioProblem(location, key, "not a metric compared by default; give {better: lower|higher, tolerance: ...}"))
                    continue
                }
                rules[i].tolerance = t
            } else if let m = valueNode.mapping {
                guard let better = m["better"]?.string.flatMap(MetricRule.Better.init(rawValue:)) else {
                    problems.append(ScenarioProblem(location, key, "'better' must be lower or higher"))
                    continue
                }
                guard let t = m["tolerance"]?.string.flatMap(tolerance) else {
                    problems.append(ScenarioProblem(location, key, "'tolerance' must be such as 10% (relative) or 0.05 (absolute)"))
                    continue
                }
                let rule = MetricRule(key, better, t)
                if let i = rules.firstIndex(where: { $0.path == key }) { rules[i] = rule } else { rules.append(rule) }
            } else {
                problems.append(ScenarioProblem(location, key, "expected a tolerance or {better, tolerance}"))
            }
        }
        guard problems.isEmpty else { throw ScenarioErrors(problems: problems) }
        return rules
    }
}
