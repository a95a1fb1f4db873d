import Metrics
import Placement
import SimCore

/// One PoP's hot state: what it holds, whether it is up, what it was asked for. Its figures are
/// apart, in ``Sites/metrics``, so that a request's lookups stay on few cache lines.
struct PopState {
    let index: Int
    let region: Int
    let healthThreshold: Double
    /// Servers as built, and those not lost to degradations (fills run one per server).
    let baseServers: Int
    var servers: Int
    /// Down faults in force, and since when it is down.
    var downs = 0
    var downSince = SimInstant.zero
    /// Per file, while servers are lost: whether every copy of it was on a lost server.
    var lostFiles: [Bool]?
    let parent: Int?
    let rtt: SimDuration
    var cache: LRUCache
    /// Files with a fill job (queued or running), and the job: held in storage (its space is
    /// reserved) but not complete, so not served.
    var filling: FillJobs
    /// Per file: in the current plan, and its copies (replicas) when held.
    var planned: [Bool]
    var replicas: [UInt8]
    /// Per file: bytes requested here since the last plan.
    var observed: [Double]
    var lastObserved = SimInstant.zero
    /// Per file: forecast bytes per day.
    var forecast: DemandForecast
    /// Per title: complete files held (steering by title).
    var titleFiles: [UInt16]

    /// Whether the PoP can serve `file` now: up, holding it complete, on a server that is up.
    /// Inlined: an outlined call on `pops[p]` copied the whole state (and a retain of each of its
    /// arrays) at every request.
    @inline(__always)
    func serves(_ file: Int) -> Bool {
        downs == 0 && cache.contains(file) && filling[file] == nil && !(lostFiles?[file] ?? false)
    }

    /// Starts loading what a request for one of `files` (a title's renditions, adjacent ids)
    /// reads here: whether it is held, being filled, and its demand. A hint that changes
    /// nothing; `mutating` only so that `pops[p].prefetch(files:)` runs in place (a non-mutating
    /// call on an array element copied the whole state, retaining its arrays).
    @inline(__always)
    mutating func prefetch(files: Range<Int>) {
        cache.prev.prefetchElements(files)
        filling.prefetch(files)
        observed.prefetchElements(files)
    }
}

/// The PoPs as places that hold files: storage, health, demand seen, and how releases fared.
///
/// Owns: each PoP's storage (``LRUCache``: planned files pinned, the rest least recently used
/// first, and which held files are still arriving), its plan's pins and replica counts, its
/// health (down faults, servers lost to degradations and the files whose every copy they held),
/// the bytes asked of it per file since its last plan and its demand forecast, the complete files
/// it holds per title (for steering), each file's size, and per release of the catalog what
/// happened to it. Records every request's hit or miss (`requests`, `hits`, `contentMisses`,
/// `bytes`, `hitBytes`, `startTime`, `sessions`, `healthMisses`, `failoversIn` of ``PopMetrics``).
/// Handles no event itself: the world marks sites down and up (`.faultStarts`/`.faultEnds`), the
/// fill scheduler adds and evicts files, the planner pins them.
final class Sites {
    @exclusivity(unchecked) var pops: [PopState]
    /// Per PoP: its figures (the fields of other components' are copied in by `World.results()`).
    @exclusivity(unchecked) var metrics: [PopMetrics]
    /// Per release of the catalog, what happened to it; per title, its release index or -1.
    @exclusivity(unchecked) private(set) var releases: [ReleaseStats]
    /// Per title, requests at the sessions' own PoPs and how many hit there (title t at 2t and
    /// 2t + 1: one cache line for both).
    @exclusivity(unchecked) private(set) var titleCounts: [Int64]
    private let releaseIndex: [Int32]
    /// Per file, bytes of one copy (NaN until its title is first needed).
    @exclusivity(unchecked) private var fileSizes: [Double]
    let catalog: Catalog
    /// Renditions per title (files of a title are adjacent ids).
    let rungs: Int
    /// How long steering takes to learn that a PoP is down.
    let detectionDelay: SimDuration

    init(configuration c: WorldConfiguration, catalog: Catalog) {
        self.catalog = catalog
        rungs = c.catalog.ladder.count
        detectionDelay = c.placement.detectionDelay
        let fileCount = c.catalog.titles * rungs
        pops = c.pops.enumerated().map { i, p in
            PopState(index: i, region: p.region, healthThreshold: p.healthThreshold, baseServers: p.servers, servers: p.servers,
                     parent: p.parent, rtt: p.rtt,
                     cache: LRUCache(capacityBytes: p.storageBytes, fileCount: fileCount), filling: FillJobs(fileCount: fileCount),
                     planned: Array(repeating: false, count: fileCount), replicas: Array(repeating: 1, count: fileCount),
                     observed: Array(repeating: 0, count: fileCount),
                     forecast: DemandForecast(initial: Array(repeating: 0, count: fileCount), halfLifePeriods: 1),
                     titleFiles: Array(repeating: 0, count: c.catalog.titles))
        }
        metrics = c.pops.map { _ in PopMetrics(bucket: c.metricsBucket) }
        fileSizes = Array(repeating: .nan, count: fileCount)
        var releaseIndex = [Int32](repeating: -1, count: c.catalog.titles)
        for (i, r) in catalog.releases.enumerated() { releaseIndex[r.title] = Int32(i) }
        self.releaseIndex = releaseIndex
        releases = catalog.releases.map { ReleaseStats(title: $0.title, time: SimInstant(microseconds: $0.time)) }
        titleCounts = Array(repeating: 0, count: 2 * catalog.configuration.titles)
    }

    var count: Int { pops.count }
    var indices: Range<Int> { pops.indices }

    /// Whether PoP `p` can serve `file` now (see ``PopState/serves(_:)``).
    @inline(__always) func serves(_ file: Int, at p: Int) -> Bool { pops[p].serves(file) }

    /// Whether `p` is down, and whether steering knows it yet (after the detection delay).
    @inline(__always) func isDown(_ p: Int) -> Bool { pops[p].downs > 0 }
    func knownDown(_ p: Int, now: SimInstant) -> Bool { pops[p].downs > 0 && now >= pops[p].downSince + detectionDelay }

    /// A down fault strikes `p`; true if it was up until now.
    func markDown(_ p: Int, now: SimInstant) -> Bool {
        pops[p].downs += 1
        guard pops[p].downs == 1 else { return false }
        pops[p].downSince = now
        return true
    }

    /// A down fault at `p` ends; true if no other keeps it down.
    func markUp(_ p: Int) -> Bool {
        pops[p].downs -= 1
        return pops[p].downs == 0
    }

    /// `p`'s degradations now hold `lost` of its servers: fills follow the servers left, and files
    /// whose every copy (placed by rendezvous hashing, as the real fleet places them) was on a lost
    /// server serve no hits until their servers return. Returns those files, nil when none is lost.
    func loseServers(_ p: Int, _ lost: Set<Int>) -> [Bool]? {
        let servers = pops[p].baseServers
        pops[p].servers = servers - lost.count
        guard !lost.isEmpty else {
            pops[p].lostFiles = nil
            return nil
        }
        var unavailable = [Bool](repeating: false, count: pops[p].observed.count)
        let all = Array(0..<servers)
        for file in unavailable.indices where pops[p].cache.contains(file) {
            let holders = Rendezvous.servers(file: file, among: all, replicas: Int(pops[p].replicas[file]))
            unavailable[file] = holders.allSatisfy { lost.contains($0) }
        }
        pops[p].lostFiles = unavailable
        return unavailable
    }

    /// A request for `file` reached PoP `pop`, a hit or a miss.
    @inline(__always)
    func record(request file: Int, at pop: Int, bits: Int64, hit: Bool, now: SimInstant) {
        let bytes = Double(bits / 8)
        metrics[pop].requests.increment()
        metrics[pop].bytes += bytes
        metrics[pop].requestSeries.add(1, at: now)
        pops[pop].observed[file] += bytes
        if hit {
            metrics[pop].hits.increment()
            metrics[pop].hitBytes += bytes
            metrics[pop].hitSeries.add(1, at: now)
        } else {
            metrics[pop].contentMisses.increment()
        }
    }

    /// `count` requests for `file` that hit at `pop`, `bytes` in all, in the bucket of `time` (a
    /// steady window's segments of one bucket: ``record(request:at:bits:hit:now:)`` for each
    /// would add the same).
    func recordHits(_ count: Int, of file: Int, at pop: Int, bytes: Double, time: SimInstant) {
        metrics[pop].requests.increment(by: Int64(count))
        metrics[pop].bytes += bytes
        metrics[pop].requestSeries.add(Double(count), at: time)
        pops[pop].observed[file] += bytes
        metrics[pop].hits.increment(by: Int64(count))
        metrics[pop].hitBytes += bytes
        metrics[pop].hitSeries.add(Double(count), at: time)
    }

    /// `file` is complete at `pop`: it serves hits, and counts for steering by title.
    func fileArrived(_ pop: Int, _ file: Int) { pops[pop].titleFiles[file / rungs] += 1 }

    /// A complete `file` left `pop`'s storage.
    func fileRemoved(_ pop: Int, _ file: Int) { pops[pop].titleFiles[file / rungs] -= 1 }

    /// Whether `pop` holds a complete file of `title`.
    @inline(__always) func holds(title: Int, at pop: Int) -> Bool { pops[pop].titleFiles[title] > 0 }

    /// Bytes of one copy of `file`, computed once per title from the catalog.
    func fileBytes(_ file: Int) -> Double {
        let title = file / rungs
        if fileSizes[title * rungs].isNaN {
            for (r, bytes) in catalog.fileBytes(of: title).enumerated() { fileSizes[title * rungs + r] = bytes }
        }
        return fileSizes[file]
    }

    /// Whether `ancestor` is in `pop`'s tier chain (its parent, its parent's, …).
    func isAncestor(_ ancestor: Int, of pop: Int) -> Bool {
        var tier = pop
        while let parent = pops[tier].parent {
            if parent == ancestor { return true }
            tier = parent
        }
        return false
    }

    // MARK: Releases

    /// A request at a session's own PoP: counted for its title's release in the release's first day.
    @inline(__always)
    func countRelease(title: Int, hit: Bool, now: SimInstant) {
        titleCounts[2 &* title] &+= 1
        if hit { titleCounts[2 &* title &+ 1] &+= 1 }
        let r = releaseIndex[title]
        guard r >= 0 && now.microseconds - releases[Int(r)].time.microseconds < 86_400_000_000 else { return }
        releases[Int(r)].requests += 1
        if hit { releases[Int(r)].hits += 1 }
    }

    /// The release moment of release `index`: the PoPs (among `owned`) holding a file of its title.
    func released(_ index: Int, owned: (Int) -> Bool) {
        let title = catalog.releases[index].title
        releases[index].sitesHolding = pops.filter { owned($0.index) && $0.titleFiles[title] > 0 }.count
    }
}

/// What happened to a release inside the run.
public struct ReleaseStats: Sendable, Equatable {
    public var title: Int
    public var time: SimInstant
    /// Sites holding a file of the title at its release (nil if the release was before the start).
    public var sitesHolding: Int?
    /// Requests for it at the sessions' own PoPs in its first 24 hours, and how many hit.
    public var requests: Int64 = 0
    public var hits: Int64 = 0
}
