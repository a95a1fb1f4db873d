import Foundation
import Testing
@testable import Reports

@Suite("Reports")
struct ReportsTests {
    @Test("SHA-256 matches the FIPS 180-4 test vectors")
    func sha256() {
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        // 1000 bytes cross several 64-byte blocks and the length padding boundary.
        #expect(SHA256.hex(String(repeating: "a", count: 1_000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test("JSON keeps keys in build order and escapes strings")
    func jsonOrderAndEscaping() {
        let v: JSONValue = .object([
            ("z", .integer(1)), ("a", .string("q\"uote\\\n\u{1}")), ("m", .array([.number(0.5), .bool(true), .null])),
            ("nested", .object([("k", .array([.object([("x", .integer(-3))])]))])),
        ])
        let compact = v.serialized(pretty: false)
        #expect(compact == #"{"z":1,"a":"q\"uote\\\n\u0001","m":[0.5,true,null],"nested":{"k":[{"x":-3}]}}"#)
        let pretty = v.serialized()
        #expect(pretty.hasPrefix("{\n  \"z\": 1,\n  \"a\": "))
        #expect(pretty.contains("\"m\": [0.5, true, null]"))
        #expect(pretty.hasSuffix("}\n"))
        // Round-trips through Foundation's parser.
        #expect((try? JSONSerialization.jsonObject(with: Data(pretty.utf8))) != nil)
    }

    @Test("Report numbers are rounded to a stated precision")
    func rounding() {
        #expect(JSONValue.rounded(1_234.56789, digits: 2) == .number(1_234.57))
        #expect(JSONValue.rounded(2.0000000001) == .integer(2))
        #expect(JSONValue.rounded(.nan) == .null)
    }

    @Test("A report folder replaces the previous one whole and leaves no staging folder behind")
    func atomicFolder() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let target = base.appendingPathComponent("smoke")
        var first = ReportFolder(path: target)
        first.add("report.json", "{\"v\":1}\n")
        first.add("old-only.txt", "x")
        try first.commit()
        var second = ReportFolder(path: target)
        second.add("report.json", "{\"v\":2}\n")
        second.add("datasets/trending.csv", "a,b\n")
        try second.commit()
        #expect(try String(contentsOf: target.appendingPathComponent("report.json"), encoding: .utf8) == "{\"v\":2}\n")
        #expect(!FileManager.default.fileExists(atPath: target.appendingPathComponent("old-only.txt").path))
        #expect(FileManager.default.fileExists(atPath: target.appendingPathComponent("datasets/trending.csv").path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: base.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "staging folders left: \(leftovers)")
    }

    @Test("A report that cannot be written fails with the path and keeps the previous report")
    func unwritableFolder() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        // A file where the parent folder should be.
        let blocker = base.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        var folder = ReportFolder(path: blocker.appendingPathComponent("smoke"))
        folder.add("report.json", "{}")
        #expect(throws: ReportWriteError.self) { try folder.commit() }
    }

    @Test("A report folder replaces nothing, an empty folder, its own earlier folder or a pre-marker report; anything else is refused")
    func folderOwnership() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-owner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let fm = FileManager.default
        try fm.createDirectory(at: base, withIntermediateDirectories: true)
        func folder(_ name: String, _ files: [String: String]) throws -> URL {
            let url = base.appendingPathComponent(name)
            try fm.createDirectory(at: url, withIntermediateDirectories: true)
            for (file, text) in files {
                let target = url.appendingPathComponent(file)
                try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: target)
            }
            return url
        }
        func write(_ url: URL) throws {
            var out = ReportFolder(path: url)
            out.add("report.json", "{\"schemaVersion\": 2}\n")
            out.add("datasets/x/meta.json", "{}")
            try out.commit()
        }
        // Allowed.
        try write(base.appendingPathComponent("new"))
        try write(base.appendingPathComponent("new"))
        try write(try folder("empty", [:]))
        let earlier = try folder("earlier", ["report.json": "{\"schemaVersion\": 1, \"vodsim\": \"0.1.0\"}", "summary.md": "#", "datasets/t/trending.csv": "a"])
        try write(earlier)
        #expect(fm.fileExists(atPath: earlier.appendingPathComponent(".vodsim-report").path))
        // Refused, and left as they were.
        let mine = try folder("mine", ["notes.txt": "keep"])
        let added = base.appendingPathComponent("new")
        try Data("keep".utf8).write(to: added.appendingPathComponent("datasets/x/mine.txt"))
        let fake = try folder("fake", [".vodsim-report": "my list\nnotes.txt\n", "notes.txt": "keep"])
        let notReport = try folder("not-report", ["report.json": "{\"mine\": true}"])
        for url in [mine, added, fake, notReport] {
            #expect(throws: ReportWriteError.self, "\(url.lastPathComponent)") { try write(url) }
        }
        #expect(try String(contentsOf: mine.appendingPathComponent("notes.txt"), encoding: .utf8) == "keep")
        #expect(try String(contentsOf: added.appendingPathComponent("datasets/x/mine.txt"), encoding: .utf8) == "keep")
        #expect(try String(contentsOf: notReport.appendingPathComponent("report.json"), encoding: .utf8) == "{\"mine\": true}")
        let leftovers = try fm.contentsOfDirectory(atPath: base.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "staging folders left: \(leftovers)")
    }

    @Test("Staging leftovers of dead processes on this host are removed; a live process's and another host's are kept")
    func staleStaging() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-stale-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        let fm = FileManager.default
        try fm.createDirectory(at: base, withIntermediateDirectories: true)
        var host = Staging.owner
        host.removeSubrange(host.lastIndex(of: "-")!...)
        // A process id that is surely not running: a child that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let dead = child.processIdentifier
        let names = [".r.partial-\(host)-\(dead)", ".r.partial-\(host)-1", ".r.partial-otherhost-\(dead)", ".q.csv.partial-\(host)-\(dead)"]
        for name in names { try Data("x".utf8).write(to: base.appendingPathComponent(name)) }
        // A previous report a dead process moved aside, its place empty: put back, not deleted.
        try fm.createDirectory(at: base.appendingPathComponent(".r.old-\(host)-\(dead)"), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: base.appendingPathComponent(".r.old-\(host)-\(dead)/report.json"))
        Staging.removeStale(beside: base.appendingPathComponent("r"))
        let left = Set(try fm.contentsOfDirectory(atPath: base.path))
        #expect(left == [".r.partial-\(host)-1", ".r.partial-otherhost-\(dead)", ".q.csv.partial-\(host)-\(dead)", "r"])
        #expect(try String(contentsOf: base.appendingPathComponent("r/report.json"), encoding: .utf8) == "old")
    }

    @Test("A streamed file appears only when published; abandoned or dropped, nothing is left")
    func streamedFileStages() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("vodsim-stream-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: base) }
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        let path = base.appendingPathComponent("x.csv").path
        let file = try StreamedFile(path: path)
        file.write("a,b\n")
        try file.prepare()
        #expect(!FileManager.default.fileExists(atPath: path))
        try file.publish()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a,b\n")
        do {
            let dropped = try StreamedFile(path: path)
            dropped.write("c\n")
        }
        let abandoned = try StreamedFile(path: path)
        abandoned.write("d\n")
        abandoned.abandon()
        #expect(try FileManager.default.contentsOfDirectory(atPath: base.path) == ["x.csv"])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a,b\n")
    }

    @Test("Tables align their columns")
    func tables() {
        var t = TextTable(header: ["region", "peak"], rightAligned: [1])
        t.add(["us-east", "1,353"])
        t.add(["eu", "8"])
        #expect(t.plain == "region    peak\n-------  -----\nus-east  1,353\neu           8\n")
        #expect(t.markdown.contains("| us-east | 1,353 |"))
        #expect(t.markdown.contains("| ------- | ----: |"))
    }
}
