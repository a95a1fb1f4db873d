import Metrics
import SimCore

/// The files a PoP holds, with least-recently-used replacement.
///
/// A file is one title at one rung. Recency lists are intrusive arrays indexed by file id
/// (two Int32 per file of the catalog, per PoP), so touch, insert and evict are O(1) with no
/// allocation. Replacement is LRU by request; Open Connect's proactive fill is issue 6.
public struct LRUCache: Sendable {
    public let capacityBytes: Double
    public private(set) var usedBytes = 0.0
    public private(set) var files = 0
    /// Towards the least recent, towards the most recent; -1 ends; `prev == -2` marks absent.
    var prev: [Int32]
    var next: [Int32]
    var bytes: [Double]
    var head: Int32 = -1  // most recent
    var tail: Int32 = -1  // least recent

    public init(capacityBytes: Double, fileCount: Int) {
        precondition(fileCount < Int(Int32.max), "too many files")
        self.capacityBytes = capacityBytes
        prev = Array(repeating: -2, count: fileCount)
        next = Array(repeating: -1, count: fileCount)
        bytes = Array(repeating: 0, count: fileCount)
    }

    public func contains(_ file: Int) -> Bool { prev[file] != -2 }

    /// Marks `file` most recently used; `false` if it is not held.
    @discardableResult
    public mutating func touch(_ file: Int) -> Bool {
        guard contains(file) else { return false }
        unlink(Int32(file))
        pushFront(Int32(file))
        return true
    }

    /// Holds `file` of `size` bytes, evicting least recently used files until it fits; returns the
    /// evicted files. A file larger than the whole cache is not held.
    public mutating func insert(_ file: Int, size: Double) -> [Int] {
        guard !contains(file) else {
            touch(file)
            return []
        }
        guard size <= capacityBytes else { return [] }
        var evicted: [Int] = []
        while usedBytes + size > capacityBytes, tail >= 0 {
            let victim = tail
            remove(Int(victim))
            evicted.append(Int(victim))
        }
        bytes[file] = size
        usedBytes += size
        files += 1
        pushFront(Int32(file))
        return evicted
    }

    /// Corrects the size of a held file (an estimate replaced by the exact size).
    public mutating func resize(_ file: Int, to size: Double) {
        guard contains(file) else { return }
        usedBytes += size - bytes[file]
        bytes[file] = size
    }

    public mutating func remove(_ file: Int) {
        guard contains(file) else { return }
        unlink(Int32(file))
        prev[file] = -2
        usedBytes -= bytes[file]
        files -= 1
        if files == 0 { usedBytes = 0 }
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

    /// Files from most to least recent (for tests and audits). O(files).
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

/// What one PoP did, for the report.
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
    /// Transfers (downloads, fills of child PoPs) that waited for room on its egress (see `FlowSet`).
    public var waited = Counter()
    public var fills = Counter()
    public var fillBytes = 0.0
    /// Fills waiting for a free server (each server fills one file at a time).
    public var fillBacklog = Gauge()
    public var startTime = LatencyRecorder()
    /// Bytes served per bucket.
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
    }
}

/// A PoP's state in the running world.
struct PopState {
    let index: Int
    let region: Int
    /// Egress capacity, bits/s, after sampling.
    let egress: Double
    /// Fill rate of one server, bits/s, after sampling.
    let fillRate: Double
    let healthThreshold: Double
    /// Fills that can run at once: one per server.
    let servers: Int
    let parent: Int?
    let rtt: SimDuration
    var cache: LRUCache
    var flows = FlowSet()
    var waiting = WaitQueue()
    /// Files being filled, with the generation of their fill (a fill cancelled by eviction is
    /// ignored when its completion event fires).
    var filling: [Int: UInt32] = [:]
    var fillGeneration: UInt32 = 0
    /// Fills holding a server (transferring, or waiting for room upstream).
    var fillsRunning = 0
    /// Fills waiting for a server, oldest first.
    var fillBacklog = WaitQueue()
    var metrics: PopMetrics

    var utilisation: Double { flows.committed / egress }
    var healthy: Bool { utilisation < healthThreshold }
}

/// An origin replica's state.
struct OriginState {
    let region: Int
    let egress: Double
    var flows = FlowSet()
    var waiting = WaitQueue()
    var bytes: TimeSeries
    var failures = Counter()
    /// Transfers (downloads and fills) that waited for room on its egress.
    var waited = Counter()
    var totalBytes = 0.0
}
