#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ABR
import Manifests
import SimCore

/// The titles sessions have asked for, loaded once: what players read from each manifest format,
/// which rendition each of their rungs is, and the size of every file (title × rendition).
///
/// Loading a title packages it and parses the manifest text back (HLS: the multivariant playlist
/// and every media playlist; DASH: the MPD), exactly as a player would, so players never see the
/// catalog directly. Player contexts are shared by every session of the same title, manifest format
/// and rung cap (plan and device allow a prefix of the ladder: the playback API personalises the
/// manifest, as Netflix's does).
///
/// A class, so that the world's per-event calls into it never copy it: a struct held by the world
/// was copied (a retain of each of its arrays) whenever a method was not inlined.
final class TitleLibrary {
    struct Loaded: Sendable {
        var durations: [Int64]
        /// Per format: the player's rungs (lowest first) as rendition indices.
        var order: [[Int]]
        /// Per format: the bit rates a player plans with.
        var bitrates: [[Double]]
        /// Bytes of each rendition's whole file.
        var fileBytes: [Double]
        var length: Int64
        /// The title's complexity ceiling (`Catalog.complexityCeiling`), in units of 1/16384.
        var ceiling: UInt16
    }

    let catalog: Catalog
    /// One per player profile the devices run (``ClientConfiguration/playerProfiles``).
    let configurations: [PlayerConfiguration]
    /// Renditions per title (the ladder's rungs).
    let rungs: Int
    @exclusivity(unchecked) var index: [Int32]
    @exclusivity(unchecked) var loaded: [Loaded] = []
    @exclusivity(unchecked) var contexts: [PlayerContext] = []
    /// The same contexts, unretained (`contexts` keeps them alive, and no context is ever dropped).
    @exclusivity(unchecked) private var unretainedContexts: [Unmanaged<PlayerContext>] = []
    /// Per context, the rendition of each player rung: `renditions[context * 32 + rung]` (at most
    /// 30 rungs); bytes 30 and 31 hold the title's complexity ceiling (little-endian, 1/16384),
    /// which a request reads with the rendition, in the same cache line.
    @exclusivity(unchecked) var renditions: [UInt8] = []
    @exclusivity(unchecked) var contextKeys: [Int: UInt32] = [:]

    init(catalog: Catalog, configurations: [PlayerConfiguration]) {
        precondition(!configurations.isEmpty && configurations.count <= 16, "1 to 16 player profiles")
        self.catalog = catalog
        rungs = catalog.configuration.ladder.count
        self.configurations = configurations
        index = Array(repeating: -1, count: catalog.configuration.titles)
    }

    /// Loads `title` if needed and returns its data.
    func load(_ title: Int) -> Loaded {
        if index[title] >= 0 { return loaded[Int(index[title])] }
        let data = TitleLibrary.make(title, catalog: catalog)
        index[title] = Int32(loaded.count)
        loaded.append(data)
        return data
    }

    /// Makes ready the titles a world's sessions will ask for: a partitioned run's worlds take
    /// `titles` (loaded once for all); otherwise, with worker threads, the titles `sessions()`
    /// sessions will probably ask for are built and parsed up front, in parallel; the rest (and
    /// everything, alone) load when a session first asks. Where a title's data sit changes,
    /// nothing else: the results are the same.
    func prepare(adopting titles: TitleLibrary?, threads: Int, sessions: () -> Double) {
        if let titles {
            adopt(titles)
        } else if threads > 1 {
            preload(titles: 0..<TitleLibrary.likelyTitles(sessions: sessions(), catalog: catalog.configuration), threads: threads)
        }
    }

    /// The segment of context `context`'s manifest holding media position `position` (µs).
    func segment(context: UInt32, position: Int64) -> Int {
        let manifest = contexts[Int(context)].manifest
        return min(Int(position / manifest.segmentDurations[0]), manifest.segmentCount - 1)
    }

    /// Loads every title not loaded yet, on `threads` threads. Where a title's data sit in `loaded`
    /// changes, nothing else: each title's data are a pure function of the catalog.
    func preloadAll(threads: Int) { preload(titles: index.indices, threads: threads) }

    /// Loads the titles of `titles` not loaded yet, on `threads` threads.
    func preload(titles: Range<Int>, threads: Int) {
        let missing = titles.filter { index[$0] < 0 }
        let catalog = self.catalog
        let made = Parallel.map(count: missing.count, threads: threads) { TitleLibrary.make(missing[$0], catalog: catalog) }
        for (title, data) in zip(missing, made) {
            index[title] = Int32(loaded.count)
            loaded.append(data)
        }
    }

    /// Takes the titles `other` loaded (their arrays are shared, never copied: nothing changes them
    /// once loaded). Player contexts are not taken: each world makes its own as its sessions ask,
    /// so partitions on different threads never write to one library.
    func adopt(_ other: TitleLibrary) {
        index = other.index
        loaded = other.loaded
    }

    static func make(_ title: Int, catalog: Catalog) -> Loaded {
        let (encoded, ceiling) = catalog.encodedTitleAndCeiling(title)
        var order: [[Int]] = []
        var bitrates: [[Double]] = []
        for format in ManifestFormat.allCases {
            // Manifests vodsim builds always parse; a failure here is a bug in the Manifests module.
            let (manifest, o) = try! encoded.playbackManifest(format: format)
            order.append(o)
            bitrates.append(manifest.bitrates)
        }
        let bytes = encoded.segmentSizes.map { Double($0.reduce(0, +)) }
        return Loaded(durations: encoded.segmentDurations, order: order, bitrates: bitrates, fileBytes: bytes, length: encoded.duration,
                      ceiling: UInt16(ceiling * Catalog.ceilingUnit))
    }

    /// The shared context of `title` read in `format`, with rungs up to `maxRung` (in the player's
    /// order), for player profile `player` (an index into ``configurations``), loading the title
    /// if needed.
    func context(title: Int, format: ManifestFormat, maxRung: Int, player: Int = 0) -> UInt32 {
        let f = format == .hls ? 0 : 1
        let key = ((title * 2 + f) * 128 + maxRung) * 16 + player
        if let c = contextKeys[key] { return c }
        let data = load(title)
        let cap = min(maxRung, data.bitrates[f].count - 1)
        let manifest = PlaybackManifest(bitrates: Array(data.bitrates[f].prefix(cap + 1)), segmentDurations: data.durations)
        // QoE books the ladder's nominal rates, the same whichever manifest the player read.
        let nominal = data.order[f].prefix(cap + 1).map { catalog.configuration.ladder[$0].bitrate }
        let context = PlayerContext(manifest: manifest, configuration: configurations[player], reportingBitrates: nominal)
        contexts.append(context)
        unretainedContexts.append(Unmanaged.passUnretained(context))
        var row = [UInt8](repeating: 0, count: 32)
        for (rung, rendition) in data.order[f].prefix(30).enumerated() { row[rung] = UInt8(rendition) }
        row[30] = UInt8(data.ceiling & 0xFF)
        row[31] = UInt8(data.ceiling >> 8)
        renditions.append(contentsOf: row)
        let id = UInt32(contexts.count - 1)
        contextKeys[key] = id
        return id
    }

    /// Calls `body` with context `id`, not retained: on the segment path a retain and release per
    /// event cost ~10% at full scale (an atomic on a shared object that is often not in cache). The
    /// only code that touches an unretained reference (the fast-path layer, World+Prefetch.swift);
    /// safe because `contexts` keeps every context alive for the library's life. `body` must not
    /// let the context escape.
    @inline(__always)
    func withContext<R>(_ id: UInt32, _ body: (PlayerContext) throws -> R) rethrows -> R {
        try unretainedContexts[Int(id)]._withUnsafeGuaranteedRef(body)
    }

    /// Where context `id`'s object is in memory, for a prefetch hint (nil if there is no such
    /// context yet). Reads nothing through it.
    @inline(__always)
    func contextAddress(_ id: UInt32) -> UnsafeRawPointer? {
        Int(id) < unretainedContexts.count ? UnsafeRawPointer(unretainedContexts[Int(id)].toOpaque()) : nil
    }

    /// The rendition a context's rung is.
    func rendition(context: UInt32, rung: Int) -> Int { Int(renditions[Int(context) * 32 + rung]) }

    /// File id of (title, rendition).
    func file(title: Int, rendition: Int) -> Int { title * rungs + rendition }

    func fileBytes(title: Int, rendition: Int) -> Double { loaded[Int(index[title])].fileBytes[rendition] }

    /// Bits of one segment at one rendition, for a player of `context` (a context of `title`).
    /// The duration comes from the context's manifest (the same durations), which the player has
    /// just read: the title's own array would be one more cache miss per request at full scale.
    func segmentBits(context: UInt32, title: Int, segment: Int, rendition: Int) -> Int64 {
        let d = withContext(context) { $0.manifest.duration(of: segment) }
        let row = Int(context) &* 32
        let ceiling = Double(UInt16(renditions[row &+ 30]) | UInt16(renditions[row &+ 31]) << 8) / Catalog.ceilingUnit
        return Int64(catalog.segmentBytes(title: title, segment: segment, rung: rendition, duration: d, ceiling: ceiling)) * 8
    }

    /// The highest rung (in ladder order) whose picture is at most `maxHeight` tall; at least 0.
    func maxRung(height maxHeight: Int) -> Int { TitleLibrary.maxRung(ladder: catalog.configuration.ladder, height: maxHeight) }

    static func maxRung(ladder: [RungConfiguration], height maxHeight: Int) -> Int {
        var best = 0
        for (r, rung) in ladder.enumerated() where rung.height <= maxHeight { best = r }
        return best
    }

    /// How many of the most popular titles `sessions` sessions are more likely than not to ask for
    /// at least once, under the catalog's Zipf law: 1 − (1 − pᵢ)^sessions > ½. Releases and
    /// regional taste move a few titles in or out; those load on demand.
    static func likelyTitles(sessions: Double, catalog: CatalogConfiguration) -> Int {
        let s = catalog.popularityExponent
        let weights = (1...catalog.titles).map { pow(Double($0), -s) }
        let total = weights.reduce(0, +)
        // pᵢ falls with i: count while the title is still likely.
        var n = 0
        while n < weights.count && sessions * log1p(-min(weights[n] / total, 1 - 1e-12)) < -log(2.0) { n += 1 }
        return n
    }
}
