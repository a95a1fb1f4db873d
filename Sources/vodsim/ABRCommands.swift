import ABR
import ArgumentParser
import Foundation
import Manifests
import Reports
import Scenario
import World

/// `vodsim manifest`: write the manifests the simulated players receive for one title.
struct ManifestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest",
        abstract: "Write a title's HLS playlists or DASH MPD, as the simulated players receive them."
    )

    @Argument(help: "The scenario whose catalog holds the title (default: the built-in smoke scenario).")
    var scenario: String?

    @Option(help: "The title, from 0 to the catalog's size - 1.")
    var title: Int

    @Option(help: "hls (a multivariant playlist and a media playlist per rung) or dash (an MPD).")
    var format: ManifestFormat = .hls

    @Option(help: "The folder to write (default: Reports/<scenario>-manifests/title-<N>-<format>/).")
    var out: String?

    @OptionGroup var options: ScenarioOptions

    func run() throws {
        let resolved = try options.load(scenario)
        let catalog = Catalog(configuration: resolved.catalogConfiguration, seed: resolved.seed)
        guard title >= 0 && title < catalog.configuration.titles else {
            Terminal.error("--title \(title): the catalog of \(resolved.name) has titles 0 to \(catalog.configuration.titles - 1)")
            throw ExitCode(1)
        }
        let encoded = catalog.encodedTitle(title)
        // Beside the scenario's report folder, not in it: a run replaces its report folder whole.
        let folderText = out ?? "Reports/\(resolved.name)-manifests/title-\(title)-\(format.rawValue)"
        var folder = ReportFolder(path: URL(fileURLWithPath: folderText))
        switch format {
        case .hls:
            let package = HLS.package(encoded)
            folder.add("master.m3u8", package.multivariant.text)
            for (uri, playlist) in package.media { folder.add(uri, playlist.text) }
        case .dash:
            folder.add("manifest.mpd", MPD.make(encoded).text)
        }
        do { try folder.commit() } catch {
            Terminal.error("\(error)")
            throw ExitCode(1)
        }
        let minutes = Double(encoded.duration) / 60e6
        print("title \(title) of \(resolved.name): \(String(format: "%.1f", minutes)) min, \(encoded.segmentDurations.count) segments, "
              + "\(encoded.renditions.count) rungs -> \(folderText)/ (\(folder.files.map(\.name).joined(separator: ", ")))")
    }
}

extension ManifestFormat: ExpressibleByArgument {}

/// `vodsim abr`: one player against a bandwidth trace.
struct ABRCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abr",
        abstract: "Replay one ABR player against a network trace and print its QoE.",
        discussion: """
            Files use Sabre's formats (Spiteri et al., MMSys 2018). NET.json: a list of \
            {duration_ms, bandwidth_kbps, latency_ms} periods, looped when exhausted; latency is charged \
            once per request before bits flow. MOVIE.json: {segment_duration_ms, bitrates_kbps, \
            segment_sizes_bits: [[bits per rung] per segment]}. Instead of a movie file, --scenario and \
            --title replay a title of a scenario's catalog, read from its manifest.
            """
    )

    @Option(help: "The network trace (Sabre's JSON).")
    var network: String

    @Option(help: "The movie (Sabre's JSON).")
    var movie: String?

    @Option(help: "Replay a scenario's title instead of a movie file.")
    var scenario: String?

    @Option(help: "The title of --scenario.")
    var title: Int?

    @Option(help: "The manifest a scenario title is read from: hls or dash.")
    var format: ManifestFormat = .hls

    @Option(help: "throughput, bba, bola or fixed (default bola; or give --profile).")
    var algorithm: String?

    @Option(help: "A named player configuration: \(PlayerProfile.names.joined(separator: ", ")) (docs/abr.md).")
    var profile: String?

    @Option(help: "The rung of --algorithm fixed (0 is the lowest).")
    var rung: Int = 0

    @Option(help: "Buffer capacity, e.g. 25 s (default: the profile's, else 25 s).")
    var maxBuffer: String?

    @Option(help: "Media buffered before playback starts, e.g. 4 s; 0 s starts with the first segment (default: the profile's, else 4 s).")
    var startupBuffer: String?

    @Flag(help: "Never abandon a slow download.")
    var noAbandon = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Also list every download: segment, rung, request and completion times, buffer after, abandoned.")
    var downloads = false

    @OptionGroup var options: ScenarioOptions

    func validate() throws {
        guard (movie == nil) != (scenario == nil) else { throw ValidationError("give either --movie or --scenario (with --title)") }
        if scenario != nil && title == nil { throw ValidationError("--scenario needs --title") }
        if let algorithm, profile != nil {
            throw ValidationError("give --algorithm or --profile, not both (got --algorithm \(algorithm))")
        }
        if let algorithm, !["throughput", "bba", "bola", "fixed"].contains(algorithm) {
            throw ValidationError("--algorithm must be throughput, bba, bola or fixed, got '\(algorithm)'")
        }
        if let profile, PlayerProfile.named(profile) == nil {
            throw ValidationError("--profile must be one of \(PlayerProfile.names.joined(separator: ", ")), got '\(profile)'")
        }
        for (name, text) in [("--max-buffer", maxBuffer), ("--startup-buffer", startupBuffer)] {
            guard let text else { continue }
            do { _ = try Quantity.parse(text, as: .duration) } catch { throw ValidationError("\(name): \(error.message)") }
        }
    }

    func run() throws {
        let maxBufferGiven = maxBuffer.map { Int64((try! Quantity.parse($0, as: .duration) * 1e6).rounded()) }
        let startupGiven = startupBuffer.map { Int64((try! Quantity.parse($0, as: .duration) * 1e6).rounded()) }
        let name = profile ?? algorithm ?? "bola"
        let traceMovie: TraceMovie
        let trace: NetworkTrace
        do {
            trace = try SabreFiles.network(network)
            if let movie {
                traceMovie = try SabreFiles.movie(movie)
            } else {
                let resolved = try options.load(scenario!)
                let catalog = Catalog(configuration: resolved.catalogConfiguration, seed: resolved.seed)
                guard let title, title >= 0 && title < catalog.configuration.titles else {
                    throw SabreFiles.Failure(message: "--title \(title ?? -1): the catalog has titles 0 to \(catalog.configuration.titles - 1)")
                }
                traceMovie = try catalog.encodedTitle(title).playback(format: format)
            }
        } catch let failure as SabreFiles.Failure {
            Terminal.error(failure.message)
            throw ExitCode(1)
        } catch let error as ManifestError {
            Terminal.error("manifest: \(error)")
            throw ExitCode(1)
        }
        var configuration: PlayerConfiguration
        if let profile {
            configuration = PlayerProfile.named(profile)!.configuration(maxBuffer: maxBufferGiven, startupBuffer: startupGiven)
        } else {
            let buffer = maxBufferGiven ?? 25_000_000
            let chosen: ABRAlgorithm = name == "fixed" ? .fixed(rung: rung) : ABRAlgorithm.named(name, maxBufferSeconds: Double(buffer) / 1e6)!
            configuration = PlayerConfiguration(algorithm: chosen, maxBuffer: buffer, startupBuffer: startupGiven ?? 4_000_000)
        }
        if noAbandon { configuration.abandonment = false }
        if let problem = configuration.problem(playing: traceMovie.manifest) {
            Terminal.error("--max-buffer \(configuration.maxBuffer / 1_000) ms, --startup-buffer \(configuration.startupBuffer / 1_000) ms: \(problem)")
            throw ExitCode(1)
        }
        let result = TraceReplay.run(traceMovie, network: trace, configuration: configuration)
        let q = result.qoe
        let startup = Double(q.startupDelay ?? 0) / 1e6
        if json {
            let value: JSONValue = .object([
                (profile != nil ? "profile" : "algorithm", .string(name)),
                ("segments", .integer(Int64(traceMovie.manifest.segmentCount))),
                ("startupDelaySeconds", JSONValue.rounded(startup, digits: 6)),
                ("rebufferEvents", .integer(Int64(q.rebufferEvents))),
                ("rebufferSeconds", JSONValue.rounded(Double(q.rebufferTime) / 1e6, digits: 6)),
                ("rebufferRatio", JSONValue.rounded(q.rebufferRatio, digits: 6)),
                ("averageBitrateKbps", JSONValue.rounded(q.averageBitrate / 1e3, digits: 3)),
                ("switches", .integer(Int64(q.switches))),
                ("bitrateChangePerSegmentKbps", JSONValue.rounded(q.bitrateChangePerSegment / 1e3, digits: 3)),
                ("linearQoE", JSONValue.rounded(q.linearQoE, digits: 6)),
                ("abandonments", .integer(Int64(q.abandonments))),
                ("playSeconds", JSONValue.rounded(Double(q.playTime) / 1e6, digits: 6)),
                ("sessionSeconds", JSONValue.rounded(Double(result.sessionTime) / 1e6, digits: 6)),
            ])
            print(value.serialized(), terminator: "")
            if downloads { printDownloads(result) }
            return
        }
        var table = TextTable(header: ["QoE", "value"], rightAligned: [1])
        table.add(["startup delay", String(format: "%.3f s", startup)])
        table.add(["rebuffers", "\(q.rebufferEvents) (\(String(format: "%.3f", Double(q.rebufferTime) / 1e6)) s)"])
        table.add(["rebuffer ratio", String(format: "%.2f%%", q.rebufferRatio * 100)])
        table.add(["time-average bit rate", String(format: "%.0f kbps", q.averageBitrate / 1e3)])
        table.add(["switches", "\(q.switches)"])
        table.add(["bit rate change per segment", String(format: "%.0f kbps", q.bitrateChangePerSegment / 1e3)])
        table.add(["linear QoE (Pensieve)", String(format: "%.3f", q.linearQoE)])
        table.add(["abandoned downloads", "\(q.abandonments)"])
        table.add(["played / session", String(format: "%.1f s / %.1f s", Double(q.playTime) / 1e6, Double(result.sessionTime) / 1e6)])
        print("\(name): \(traceMovie.manifest.segmentCount) segments, \(traceMovie.manifest.rungs) rungs")
        print(table.plain, terminator: "")
        if downloads { printDownloads(result) }
    }

    private func printDownloads(_ result: TraceReplay.Result) {
        print("segment rung requested_ms completed_ms buffer_after_ms abandoned")
        for d in result.downloads {
            print("\(d.segment) \(d.rung) \(String(format: "%.3f", Double(d.requestedAt) / 1e3)) \(String(format: "%.3f", Double(d.completedAt) / 1e3)) "
                  + "\(String(format: "%.3f", Double(d.bufferAfter) / 1e3)) \(d.abandoned ? "yes" : "no")")
        }
    }
}

/// Sabre's network and movie JSON files.
enum SabreFiles {
    struct Failure: Error {
        var message: String
    }

    static func load(_ path: String) throws(Failure) -> Any {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(message: "\(path): no such file") }
        do { return try JSONSerialization.jsonObject(with: data) } catch {
            throw Failure(message: "\(path): not valid JSON (\(error.localizedDescription))")
        }
    }

    static func number(_ object: [String: Any], _ key: String, in where_: String) throws(Failure) -> Double {
        // `n is Bool` holds for any 0 or 1 through bridging; JSON booleans have the "c" type.
        guard let n = object[key] as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue.isFinite else {
            throw Failure(message: "\(where_): '\(key)' must be a number")
        }
        return n.doubleValue
    }

    static func network(_ path: String) throws(Failure) -> NetworkTrace {
        guard let list = try load(path) as? [[String: Any]], !list.isEmpty else {
            throw Failure(message: "\(path): expected a non-empty list of {duration_ms, bandwidth_kbps, latency_ms}")
        }
        var periods: [NetworkTrace.Period] = []
        for (i, p) in list.enumerated() {
            let at = "\(path): period \(i)"
            let duration = try number(p, "duration_ms", in: at), bandwidth = try number(p, "bandwidth_kbps", in: at)
            let latency = try number(p, "latency_ms", in: at)
            guard duration > 0 else { throw Failure(message: "\(at): duration_ms must be > 0") }
            guard bandwidth >= 0, latency >= 0 else { throw Failure(message: "\(at): bandwidth_kbps and latency_ms must be >= 0") }
            periods.append(.init(duration: Int64((duration * 1_000).rounded()), bandwidth: Int64((bandwidth * 1_000).rounded()),
                                 latency: Int64((latency * 1_000).rounded())))
        }
        guard periods.contains(where: { $0.bandwidth > 0 }) else { throw Failure(message: "\(path): every period has zero bandwidth") }
        return NetworkTrace(periods: periods)
    }

    static func movie(_ path: String) throws(Failure) -> TraceMovie {
        guard let object = try load(path) as? [String: Any] else {
            throw Failure(message: "\(path): expected {segment_duration_ms, bitrates_kbps, segment_sizes_bits}")
        }
        let duration = try number(object, "segment_duration_ms", in: path)
        guard duration > 0 else { throw Failure(message: "\(path): segment_duration_ms must be > 0") }
        guard let rates = object["bitrates_kbps"] as? [NSNumber], !rates.isEmpty else {
            throw Failure(message: "\(path): 'bitrates_kbps' must be a non-empty list of numbers")
        }
        let bitrates = rates.map { $0.doubleValue * 1_000 }
        guard zip(bitrates, bitrates.dropFirst()).allSatisfy({ $0 < $1 }), bitrates[0] > 0 else {
            throw Failure(message: "\(path): bitrates_kbps must be positive and rising")
        }
        guard let sizes = object["segment_sizes_bits"] as? [[NSNumber]], !sizes.isEmpty else {
            throw Failure(message: "\(path): 'segment_sizes_bits' must be a list of lists of numbers")
        }
        for (i, segment) in sizes.enumerated() where segment.count != bitrates.count {
            throw Failure(message: "\(path): segment \(i) has \(segment.count) sizes for \(bitrates.count) bit rates")
        }
        let manifest = PlaybackManifest(bitrates: bitrates, segmentDurations: Array(repeating: Int64((duration * 1_000).rounded()), count: sizes.count))
        return TraceMovie(manifest: manifest, bits: sizes.map { $0.map { Int64($0.doubleValue.rounded()) } })
    }
}
