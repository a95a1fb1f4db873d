import Foundation
import Reports
import World

/// Last-mile traces a scenario names (`clients.access[].traces`), in the formats researchers
/// already have:
/// - Sabre's JSON (`.json`): a list of periods `{duration_ms, bandwidth_kbps, latency_ms}`;
/// - Pensieve's "cooked" traces: a line per sample, `time_s throughput_Mbps`, each holding until
///   the next (the last for the mean gap);
/// - Mahimahi's packet-delivery traces: a line per delivery opportunity, its time in ms, each one
///   1500-byte packet; binned into 1 s periods.
/// A folder's files are read in name order (files starting with `.` and `README` files skipped).
enum AccessTraceFiles {
    struct Failure: Error {
        var message: String
    }

    /// The traces at `path` (a file, or a folder of them), relative to the folder of `scenarioFile`,
    /// and a digest of their contents (so that the scenario's hash changes when they do).
    static func load(_ path: String, scenarioFile: String) throws(Failure) -> (traces: [[AccessPeriod]], digest: String) {
        let base = URL(fileURLWithPath: scenarioFile).deletingLastPathComponent()
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw Failure(message: "no trace file or folder at \(url.path)")
        }
        var files = [url]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            files = names.filter { !$0.hasPrefix(".") && !$0.uppercased().hasPrefix("README") }.sorted().map { url.appendingPathComponent($0) }
            guard !files.isEmpty else { throw Failure(message: "the folder \(url.path) holds no trace files") }
        }
        var traces: [[AccessPeriod]] = []
        var digests: [String] = []
        for file in files {
            guard let data = try? Data(contentsOf: file), let text = String(data: data, encoding: .utf8) else {
                throw Failure(message: "cannot read \(file.path) as UTF-8 text")
            }
            do {
                traces.append(try parse(text, json: file.pathExtension.lowercased() == "json"))
            } catch {
                throw Failure(message: "\(file.lastPathComponent): \(error.message)")
            }
            digests.append(file.lastPathComponent + ":" + SHA256.hex(text))
        }
        return (traces, SHA256.hex(digests.joined(separator: "\n")))
    }

    /// One trace's periods, from Sabre's JSON or, as text, Pensieve's or Mahimahi's lines.
    static func parse(_ text: String, json: Bool) throws(Failure) -> [AccessPeriod] {
        let periods = json ? try sabre(text) : try lines(text)
        guard !periods.isEmpty, periods.contains(where: { $0.bitsPerSecond > 0 }) else {
            throw Failure(message: "a trace needs at least one period with some throughput")
        }
        guard periods.reduce(0, { $0 + $1.durationUs }) < Int64(UInt32.max) * 1_000 else { throw Failure(message: "a trace must be shorter than 49 days") }
        return periods
    }

    static func sabre(_ text: String) throws(Failure) -> [AccessPeriod] {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)), let list = value as? [[String: Any]] else {
            throw Failure(message: "expected Sabre's format: a JSON list of {duration_ms, bandwidth_kbps, latency_ms}")
        }
        var out: [AccessPeriod] = []
        for (i, p) in list.enumerated() {
            guard let duration = (p["duration_ms"] as? NSNumber)?.doubleValue, let kbps = (p["bandwidth_kbps"] as? NSNumber)?.doubleValue,
                  duration > 0, duration < 1e9, kbps >= 0, kbps < 1e9 else {
                throw Failure(message: "period \(i): needs duration_ms > 0 and bandwidth_kbps >= 0 (numbers)")
            }
            let latency = (p["latency_ms"] as? NSNumber)?.doubleValue ?? 0
            guard latency >= 0, latency < 60_000 else { throw Failure(message: "period \(i): latency_ms must be from 0 to 60000") }
            out.append(AccessPeriod(durationUs: Int64((duration * 1_000).rounded()), bitsPerSecond: kbps * 1_000,
                                    latencyUs: Int64((latency * 1_000).rounded())))
        }
        return out
    }

    /// Pensieve's two columns, or Mahimahi's one.
    static func lines(_ text: String) throws(Failure) -> [AccessPeriod] {
        let rows = text.split(whereSeparator: \.isNewline).map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) }
            .filter { !$0.isEmpty }
        guard let first = rows.first else { throw Failure(message: "the file is empty") }
        if first.count >= 2 {
            // Pensieve: time (s), throughput (Mbit/s).
            var samples: [(time: Double, mbps: Double)] = []
            for (i, row) in rows.enumerated() {
                guard row.count >= 2, let t = Double(row[0]), let bw = Double(row[1]), t.isFinite, bw >= 0, bw < 1e6,
                      samples.last.map({ t > $0.time }) ?? true else {
                    throw Failure(message: "line \(i + 1): expected 'time_s throughput_Mbps' with times increasing")
                }
                samples.append((t, bw))
            }
            let meanGap = samples.count > 1 ? (samples.last!.time - samples[0].time) / Double(samples.count - 1) : 1
            return samples.indices.map { k in
                let gap = k + 1 < samples.count ? samples[k + 1].time - samples[k].time : meanGap
                return AccessPeriod(durationUs: max(1, Int64((gap * 1e6).rounded())), bitsPerSecond: samples[k].mbps * 1e6)
            }
        }
        // Mahimahi: delivery opportunities (ms), 1500 bytes each, counted per second.
        var times: [Int64] = []
        for (i, row) in rows.enumerated() {
            guard let t = Int64(row[0]), t >= 0, times.last.map({ t >= $0 }) ?? true else {
                throw Failure(message: "line \(i + 1): expected Mahimahi's format, a delivery time in ms per line, not decreasing")
            }
            times.append(t)
        }
        let seconds = Int(max(1, (times.last! + 999) / 1_000))
        var counts = [Int](repeating: 0, count: seconds)
        for t in times { counts[min(seconds - 1, Int(t / 1_000))] += 1 }
        return counts.map { AccessPeriod(durationUs: 1_000_000, bitsPerSecond: Double($0) * 1_500 * 8) }
    }
}
