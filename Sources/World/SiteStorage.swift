import Metrics
import Placement
import SimCore

/// The files a PoP holds: planned files pinned, the rest replaced least-recently-used first.
///
/// A file is one title at one rung. Pinned files (the site's placement plan) are never evicted;
/// unpinned ones (pulled in on a miss, or left over from an earlier plan) sit in a recency list
/// and are evicted from its least recent end when room is needed. The list is intrusive arrays
/// indexed by file id (two Int32 per file of the catalog, per PoP), so touch, insert, pin and
/// evict are O(1) with no allocation.
public struct LRUCache: Sendable {
    public let capacityBytes: Double
    public private(set) var usedBytes = 0.0
    public private(set) var pinnedBytes = 0.0
    public private(set) var files = 0
    /// Towards the least recent, towards the most recent; -1 ends; `prev == -2` marks absent,
    /// `prev == -3` pinned (held, outside the list).
    var prev: [Int32]
    var next: [Int32]
    var bytes: [Double]
    var head: Int32 = -1  // most recent
    var tail: Int32 = -1  // least recent
    /// Per file, the steady sessions of a hybrid run streaming it now (empty until the first).
    /// The segment model would touch such a file every segment, so it is never the least recent
    /// one: eviction passes over it (touching it) as it would have found it near the front.
    var streaming: [Int32] = []

    public init(capacityBytes: Double, fileCount: Int) {
        precondition(fileCount < Int(Int32.max), "too many files")
        self.capacityBytes = capacityBytes
        prev = Array(repeating: -2, count: fileCount)
        next = Array(repeating: -1, count: fileCount)
        bytes = Array(repeating: 0, count: fileCount)
    }

    public func contains(_ file: Int) -> Bool { prev[file] != -2 }
    public func isPinned(_ file: Int) -> Bool { prev[file] == -3 }
    public func size(of file: Int) -> Double { bytes[file] }

    /// Marks an unpinned `file` most recently used; `false` if it is not held.
    @discardableResult
    public mutating func touch(_ file: Int) -> Bool {
        guard contains(file) else { return false }
        guard !isPinned(file) else { return true }
        unlink(Int32(file))
        pushFront(Int32(file))
        return true
    }

    /// Holds `file` of `size` bytes, evicting least recently used unpinned files until it fits, and
    /// returns the evicted files; `nil` (and nothing evicted) if it cannot fit even so. A file
    /// already held is touched (and pinned if asked).
    public mutating func insert(_ file: Int, size: Double, pinned: Bool = false) -> [Int]? {
        if contains(file) {
            if pinned { pin(file) } else { touch(file) }
            return []
        }
        guard size <= capacityBytes - pinnedBytes else { return nil }
        let evicted = evict(toFit: capacityBytes - size)
        bytes[file] = size
        usedBytes += size
        files += 1
        if pinned {
            prev[file] = -3
            pinnedBytes += size
        } else {
            pushFront(Int32(file))
        }
        check()
        return evicted
    }

    /// Keeps `file` whatever else is needed: out of the recency list.
    public mutating func pin(_ file: Int) {
        guard contains(file), !isPinned(file) else { return }
        unlink(Int32(file))
        prev[file] = -3
        pinnedBytes += bytes[file]
    }

    /// Makes `file` evictable again, first in line (it left the plan).
    public mutating func unpin(_ file: Int) {
        guard isPinned(file) else { return }
        pinnedBytes -= bytes[file]
        pushBack(Int32(file))
    }

    /// Corrects the size of a held file (an estimate replaced by the exact size, or a new number
    /// of replicas). May leave the cache over capacity until the next insert evicts.
    public mutating func resize(_ file: Int, to size: Double) {
        guard contains(file) else { return }
        usedBytes += size - bytes[file]
        if isPinned(file) { pinnedBytes += size - bytes[file] }
        bytes[file] = size
    }

    public mutating func remove(_ file: Int) {
        guard contains(file) else { return }
        if isPinned(file) { pinnedBytes -= bytes[file] } else { unlink(Int32(file)) }
        prev[file] = -2
        usedBytes -= bytes[file]
        files -= 1
        if files == 0 { usedBytes = 0; pinnedBytes = 0 }
    }

    /// Evicts unpinned files, least recent first, until the cache is within capacity; returns them.
    public mutating func trim() -> [Int] { evict(toFit: capacityBytes * (1 + 1e-12)) }

    /// Evicts unpinned files, least recent first, until at most `limit` bytes are used. A file
    /// steady sessions stream is moved to the front instead, once each: if only such files are
    /// left, they go too.
    private mutating func evict(toFit limit: Double) -> [Int] {
        var evicted: [Int] = []
        var passes = streaming.isEmpty ? 0 : files
        while usedBytes > limit, tail >= 0 {
            let victim = tail
            if passes > 0 && streaming[Int(victim)] > 0 {
                passes -= 1
                unlink(victim)
                pushFront(victim)
                continue
            }
            remove(Int(victim))
            evicted.append(Int(victim))
        }
        return evicted
    }

    /// A steady session starts (`by` 1) or stops (`by` -1) streaming `file`.
    public mutating func stream(_ file: Int, by delta: Int32) {
        if streaming.isEmpty { streaming = Array(repeating: 0, count: prev.count) }
        streaming[file] += delta
    }

    private func check() {
        #if VODSIM_CHECKS
        precondition(usedBytes <= capacityBytes * (1 + 1e-9) + 1, "storage over capacity")
        #endif
    }

    private mutating func unlink(_ f: Int32) {
        let p = prev[Int(f)], n = next[Int(f)]
        if p >= 0 { next[Int(p)] = n } else { head = n }
        if n >= 0 { prev[Int(n)] = p } else { tail = p }
    }

    private mutating func pushFront(_ f: Int32) {
        prev[Int(f)] = -1
        next[Int(f)] = head
        if head >= 0 { prev[Int(head)] = f }
        head = f
        if tail < 0 { tail = f }
    }

    private mutating func pushBack(_ f: Int32) {
        next[Int(f)] = -1
        prev[Int(f)] = tail
        if tail >= 0 { next[Int(tail)] = f }
        tail = f
        if head < 0 { head = f }
    }

    /// Unpinned files from most to least recent (for tests and audits). O(files).
    public var recencyOrder: [Int] {
        var out: [Int] = []
        var f = head
        while f >= 0 {
            out.append(Int(f))
            f = next[Int(f)]
        }
        return out
    }
}

/// What one PoP did, for the report. ``Sites`` keeps the request, hit, session and start-time
/// figures; the link fields come from ``Links``, the fill fields from ``FillScheduler`` and `plans`
/// from ``SitePlanner``, copied in by `World.results()`.
public struct PopMetrics: Sendable {
    public var requests = Counter()
    public var hits = Counter()
    public var bytes = 0.0
    public var hitBytes = 0.0
    /// Requests for files the PoP did not hold.
    public var contentMisses = Counter()
    /// Sessions steered away from this PoP, their first choice, because it was saturated.
    public var healthMisses = Counter()
    public var sessions = Counter()
    /// Transfers (downloads, fills of other PoPs) that waited for room on its egress (see `FlowSet`).
    public var waited = Counter()
    /// Sessions that came to it failing over from another PoP.
    public var failoversIn = Counter()
    /// Files that arrived by a fill.
    public var fills = Counter()
    /// Fill bytes that arrived, by source: a peer in the region, a tier above, the origin.
    public var fillBytes = [0.0, 0.0, 0.0]
    /// Fill jobs refused because the queue was full, and started jobs that found no room (all
    /// storage pinned by the plan).
    public var fillJobsDropped = Counter()
    public var fillJobsNoSpace = Counter()
    /// Fill jobs waiting for a server or the window, over time.
    public var fillQueue: TimeWeightedSeries
    /// Age of the oldest waiting job at each bucket's start, seconds (0 when none waits).
    public var oldestJobAge: [Double] = []
    /// Per plan: when, files added and removed, the plan's expected offload.
    public var plans: [PlanRecord] = []
    /// Per fill window that closed: whether the plan's fills were all done by then.
    public var nights: [NightRecord] = []
    public var startTime = LatencyRecorder()
    /// Bytes served per bucket. This, `utilisation` and `waited` are the PoP's link's (``Links``),
    /// copied in by `World.results()`.
    public var egress: TimeSeries
    /// Egress committed to active downloads over capacity, per bucket (time-weighted).
    public var utilisation: TimeWeightedSeries
    public var requestSeries: TimeSeries
    public var hitSeries: TimeSeries

    init(bucket: SimDuration) {
        egress = TimeSeries(bucketWidth: bucket)
        utilisation = TimeWeightedSeries(bucketWidth: bucket)
        requestSeries = TimeSeries(bucketWidth: bucket)
        hitSeries = TimeSeries(bucketWidth: bucket)
        fillQueue = TimeWeightedSeries(bucketWidth: bucket)
    }
}

public struct PlanRecord: Sendable, Equatable {
    public var time: SimInstant
    public var files: Int
    public var added: Int
    public var removed: Int
    public var expectedOffload: Double
}

public struct NightRecord: Sendable, Equatable {
    /// When the window closed.
    public var time: SimInstant
    /// Planned fills not finished (queued or running) at the close, and their bytes still to come.
    public var jobsLeft: Int
    public var bytesLeft: Double
    public var completed: Bool { jobsLeft == 0 }
}

/// The fill job of each file at a PoP, if any: a slot per file of the catalog rather than a
/// dictionary, since every request asks it (about the file it wants) and a hash lookup cost more
/// than the rest of the cache check.
struct FillJobs {
    private static let none = UInt32.max
    private var jobs: [UInt32]

    init(fileCount: Int) { jobs = Array(repeating: FillJobs.none, count: fileCount) }

    @inline(__always)
    func prefetch(_ files: Range<Int>) { jobs.prefetchElements(files) }

    subscript(file: Int) -> UInt32? {
        get {
            let job = jobs[file]
            return job == FillJobs.none ? nil : job
        }
        set {
            precondition(newValue != FillJobs.none, "fill job number out of range")
            jobs[file] = newValue ?? FillJobs.none
        }
    }
}

extension Array {
    /// Starts loading the cache lines of elements `range` (its first and last: a title's few
    /// files). A hint: reads nothing, and does nothing out of range.
    @inline(__always)
    func prefetchElements(_ range: Range<Int>) {
        guard range.lowerBound >= 0, range.upperBound <= count, !range.isEmpty else { return }
        withUnsafeBufferPointer { buffer in
            SimCore.prefetch(UnsafeRawPointer(buffer.baseAddress! + range.lowerBound))
            SimCore.prefetch(UnsafeRawPointer(buffer.baseAddress! + (range.upperBound - 1)))
        }
    }
}
