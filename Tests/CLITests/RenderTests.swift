import Foundation
import Testing

/// report.html and compare.html as a user sees them: rendered by a real browser (headless
/// Chromium, which scripts/setup.sh --tests installs), not only checked for `<svg`.
@Suite("Pages in a browser", .serialized)
struct RenderTests {
    static let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs the browser headless on `page`; returns its stderr (with the console's messages).
    func render(_ page: URL, screenshot: URL, in dir: URL) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(Self.browser))
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                       "--user-data-dir=\(dir.appendingPathComponent("profile").path)", "--window-size=1200,4000",
                       "--screenshot=\(screenshot.path)", page.absoluteString]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        return text
    }

    /// A sandbox to run vodsim in, or nil (recorded as a failure) without a browser to render with.
    func browserSandbox() throws -> URL? {
        guard Self.browser != nil else {
            Issue.record("no Chromium: scripts/setup.sh --tests installs it (apt-get install -y chromium)")
            return nil
        }
        return try sandbox()
    }

    func size(_ url: URL) throws -> Int { (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0 }

    @Test("report.html renders in headless Chromium: its screenshot is far from blank and the console stays silent")
    func reportRenders() throws {
        guard let dir = try browserSandbox() else { return }
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try CLI.run(["run", "Scenarios/cost-sweep.yaml", "--set", "duration=20 min", "--set", "regions[us-east].users=2k",
                               "--out", "r", "--quiet"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        // The same page frame without content: what "blank" looks like in this browser.
        let blank = dir.appendingPathComponent("blank.html")
        try "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>blank</title></head><body></body></html>\n"
            .write(to: blank, atomically: true, encoding: .utf8)
        let blankShot = dir.appendingPathComponent("blank.png"), reportShot = dir.appendingPathComponent("report.png")
        _ = try render(blank, screenshot: blankShot, in: dir)
        let log = try render(dir.appendingPathComponent("r/report.html"), screenshot: reportShot, in: dir)
        // A white page compresses well (about 22 kB at this size); text, tables, charts do not (about 240 kB).
        let reportBytes = try size(reportShot), blankBytes = try size(blankShot)
        #expect(reportBytes > 5 * max(1, blankBytes), "report \(reportBytes) B, blank \(blankBytes) B")
        #expect(reportBytes > 50_000)
        let console = log.split(separator: "\n").filter { $0.contains("CONSOLE") }
        #expect(console.isEmpty, "\(console)")
    }

    @Test("compare.html of a what-if renders in headless Chromium with the console silent")
    func whatIfRenders() throws {
        guard let dir = try browserSandbox() else { return }
        defer { try? FileManager.default.removeItem(at: dir) }
        for (out, storage) in [("a", "2 TB"), ("b", "4 TB")] {
            let r = try CLI.run(["run", "Scenarios/cost-sweep.yaml", "--set", "duration=15 min", "--set", "regions[us-east].users=2k",
                                 "--set", "pops[edge].storage=\(storage)", "--out", out, "--quiet"], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let c = try CLI.run(["compare", "a", "b", "--what-if", "--out", "w"], in: dir)
        #expect(c.status == 0, "\(c.stderr)")
        let shot = dir.appendingPathComponent("w.png")
        let log = try render(dir.appendingPathComponent("w/compare.html"), screenshot: shot, in: dir)
        #expect(try size(shot) > 50_000)
        #expect(log.split(separator: "\n").filter { $0.contains("CONSOLE") }.isEmpty)
    }
}

@Suite("The control plane in the report", .serialized)
struct ControlPlaneReportTests {
    @Test("A control-plane run writes report.json valid against the schema, its series in timeseries.csv, its tables and charts in report.html")
    func controlPlaneOutputs() throws {
        let dir = try sandbox()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["run", "Scenarios/faults/retry-storm.yaml", "--set", "duration=30 min", "--out", "cp", "--quiet"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let out = dir.appendingPathComponent("cp")
        let report = try readJSON(out.appendingPathComponent("report.json"))
        #expect(reportSchema.validate(report) == [])
        #expect(report.at(["metrics", "incidents", "0", "controlPlane", "goodputRecoveryMinutes"]) != nil)
        let header = try String(contentsOf: out.appendingPathComponent("timeseries.csv"), encoding: .utf8).prefix { $0 != "\n" }
        for column in ["streamStartsPerSecond", "controlPlaneSuccessesPerSecond.play", "cacheHitRatio.sessions", "poolQueue.watch-history#0",
                       "poolConcurrencyLimit.users#1"] {
            #expect(header.split(separator: ",").contains(Substring(column)), "\(column)")
        }
        let html = try String(contentsOf: out.appendingPathComponent("report.html"), encoding: .utf8)
        for title in ["Control plane", "Request classes", "Outcomes (share of requests)", "Control plane around incidents", "Stream starts per second",
                      "Control plane: successful answers per class", "Cache hit ratio", "Adaptive concurrency limit per instance", "play requests p99"] {
            #expect(html.contains(title), "\(title)")
        }
        let summary = try String(contentsOf: out.appendingPathComponent("summary.md"), encoding: .utf8)
        #expect(summary.contains("| stream starts per second: mean / lowest bucket"))
    }
}
