import ArgumentParser
import Foundation
import Reports
import Scenario

/// `vodsim compare`: two reports metric by metric; CI's regression gate.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare a report with a baseline, metric by metric.",
        discussion: """
            Exit status: 0 when no metric regressed beyond its tolerance, 1 when one did, 2 when the \
            reports cannot be compared (different scenarios or report schemas, or unreadable). Reports \
            may be given as report.json files or as report folders. The metrics, the better direction \
            and the default tolerances are in docs/reports.md; --tolerances changes or extends them. \
            --update rewrites the baseline with the current report (a deliberate change of baseline).             --what-if sets two runs of different configurations side by side instead (A is the first             report, B the second): the scenario keys that differ, every figure with its change, and             with --out DIR a folder with compare.html (the time series overlaid), compare.md and             compare.json; it judges nothing and exits 0 (2 when the reports cannot be read).
            """
    )

    @Argument(help: "The current report (report.json, or its folder).")
    var current: String

    @Argument(help: "The baseline report (report.json, or its folder).")
    var baseline: String

    @Option(help: "A YAML file of tolerances (metric: 10% or 0.05, or {better, tolerance}).")
    var tolerances: String?

    @Option(help: "text, markdown or json.")
    var format: Format = .text

    @Flag(help: "Replace the baseline with the current report instead of comparing.")
    var update = false

    @Flag(name: .customLong("what-if"), help: "Compare two runs of different configurations side by side (no verdict).")
    var whatIf = false

    @Option(help: ArgumentHelp("With --what-if: also write compare.html, compare.md and compare.json into this folder.", valueName: "dir"))
    var out: String?

    enum Format: String, ExpressibleByArgument { case text, markdown, json }

    func run() throws {
        let currentPath = CompareCommand.reportFile(current), baselinePath = CompareCommand.reportFile(baseline)
        if whatIf {
            try runWhatIf(currentPath, baselinePath)
            return
        }
        if out != nil {
            Terminal.error("--out writes a what-if comparison's pages: use it with --what-if")
            throw ExitCode(64)
        }
        if update {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: currentPath))
                guard CompareCommand.isReport(data) else { throw ReadError(description: "\(currentPath) is not a vodsim report.json") }
                // A baseline replaces only a report: never a file of the user's given by mistake.
                try OutputPath.checkFile(baselinePath, role: "compare --update", createFolder: true, recognise: CompareCommand.isReport)
                try FileManager.default.createDirectory(at: URL(fileURLWithPath: baselinePath).deletingLastPathComponent(),
                                                        withIntermediateDirectories: true)
                try data.write(to: URL(fileURLWithPath: baselinePath), options: .atomic)
            } catch {
                Terminal.error("cannot update \(baselinePath) from \(currentPath): \(error)")
                throw ExitCode(2)
            }
            print("baseline \(baselinePath) updated from \(currentPath)")
            return
        }
        var rules = MetricRule.defaults
        if let tolerances {
            do {
                rules = try ToleranceFile.load(path: tolerances)
            } catch {
                for problem in error.problems { Terminal.error(problem.description) }
                throw ExitCode(2)
            }
        }
        let rows: [ComparisonRow]
        do {
            rows = try ReportComparison.compare(current: CompareCommand.read(currentPath), baseline: CompareCommand.read(baselinePath), rules: rules)
        } catch let error as IncomparableReports {
            Terminal.error("cannot compare \(currentPath) with \(baselinePath): \(error)")
            throw ExitCode(2)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(2)
        }
        let regressed = ReportComparison.regressed(rows)
        switch format {
        case .text:
            print(ReportComparison.table(rows).plain, terminator: "")
            let beyond = rows.filter { $0.verdict == .regressed }.count, lost = rows.filter { $0.verdict == .lostData }.count
            print(regressed ? "regressed: \(beyond) metric(s) beyond tolerance" + (lost > 0 ? ", \(lost) without data now" : "") : "no regression")
        case .markdown:
            print(ReportComparison.table(rows).markdown, terminator: "")
        case .json:
            print(ReportComparison.json(rows).serialized(), terminator: "")
        }
        if regressed { throw ExitCode(1) }
    }

    /// `--what-if`: A (the first report) and B side by side.
    func runWhatIf(_ pathA: String, _ pathB: String) throws {
        if update || tolerances != nil {
            Terminal.error("--what-if compares two configurations without a verdict: --update and --tolerances belong to the regression comparison")
            throw ExitCode(64)
        }
        let folder = out.map { URL(fileURLWithPath: $0) }
        if let folder {
            do {
                try ReportFolder.check(folder)
            } catch {
                Terminal.error("\(error)")
                throw ExitCode(2)
            }
        }
        let comparison: WhatIfComparison
        do {
            comparison = try WhatIfComparison(a: CompareCommand.read(pathA), b: CompareCommand.read(pathB), labelA: current, labelB: baseline)
        } catch let error as IncomparableReports {
            Terminal.error("cannot set \(pathA) beside \(pathB): \(error)")
            throw ExitCode(2)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(2)
        }
        switch format {
        case .text: print(comparison.text, terminator: "")
        case .markdown: print(comparison.markdown, terminator: "")
        case .json: print(comparison.json.serialized(), terminator: "")
        }
        if let folder {
            var pages = ReportFolder(path: folder)
            pages.add("compare.html", comparison.html)
            pages.add("compare.md", comparison.markdown)
            pages.add("compare.json", comparison.json.serialized())
            do {
                try pages.commit()
            } catch {
                Terminal.error("\(error)")
                throw ExitCode(2)
            }
            if format == .text { print("what-if pages: \(folder.path)/compare.html, compare.md, compare.json") }
        }
    }

    /// A report folder's report.json, or the file itself. A path that does not exist yet and does
    /// not end in .json is a folder (what `--update` creates for a new baseline).
    static func reportFile(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if (exists && isDirectory.boolValue) || (!exists && !path.hasSuffix(".json")) {
            return (path as NSString).appendingPathComponent("report.json")
        }
        return path
    }

    /// Whether `data` opens like a vodsim report.json.
    static func isReport(_ data: Data) -> Bool {
        let head = String(decoding: data.prefix(200), as: UTF8.self)
        return head.hasPrefix("{") && head.contains("\"schemaVersion\"") && head.contains("\"vodsim\"")
    }

    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    static func read(_ path: String) throws -> JSONValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReadError(description: "\(path): no such file") }
        do {
            return try JSONValue.parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw ReadError(description: "\(path): not JSON (\(error))")
        }
    }
}
