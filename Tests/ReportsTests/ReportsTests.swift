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
