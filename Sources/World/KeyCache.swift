import Metrics
import SimCore

/// One cache cluster's keys: least recently used beyond `capacity`, entries expiring `ttl` after
/// they were filled.
///
/// Owns the keys it holds (a hash map for lookups only, never iterated, and an intrusive list for
/// recency) and its hit and miss figures per bucket. A flush empties it (a cold cache warms again
/// with traffic). Asked by ``ControlPlane``; testable alone with a hand-driven clock.
///
/// - Complexity: O(1) per lookup and fill.
struct KeyCache {
    let capacity: Int
    /// Microseconds an entry lives (nil: until evicted).
    let ttlUs: Int64?
    private var slots: [UInt64: Int32] = [:]
    private var keys: [UInt64] = []
    private var filledUs: [Int64] = []
    private var prev: [Int32] = []
    private var next: [Int32] = []
    /// Most and least recently used (−1: empty).
    private var head: Int32 = -1
    private var tail: Int32 = -1
    private var free: [Int32] = []
    var hits: TimeSeries
    var misses: TimeSeries
    var flushes = 0

    init(capacity: Int, ttl: SimDuration?, bucket: SimDuration) {
        precondition(capacity >= 1)
        self.capacity = capacity
        ttlUs = ttl?.microseconds
        hits = TimeSeries(bucketWidth: bucket)
        misses = TimeSeries(bucketWidth: bucket)
    }

    var count: Int { slots.count }

    /// Whether `key` is held (and fresh) at `now`; a hit makes it the most recently used. Counted.
    mutating func lookup(_ key: UInt64, now: SimInstant) -> Bool {
        guard let i = slots[key] else {
            misses.add(1, at: now)
            return false
        }
        if let ttl = ttlUs, now.microseconds - filledUs[Int(i)] >= ttl {
            remove(i)
            misses.add(1, at: now)
            return false
        }
        unlink(i)
        pushFront(i)
        hits.add(1, at: now)
        return true
    }

    /// `key` is filled at `now` (evicting the least recently used when full).
    mutating func fill(_ key: UInt64, now: SimInstant) {
        if let i = slots[key] {
            filledUs[Int(i)] = now.microseconds
            unlink(i)
            pushFront(i)
            return
        }
        if slots.count >= capacity { remove(tail) }
        let i: Int32
        if let reused = free.popLast() {
            i = reused
            keys[Int(i)] = key
            filledUs[Int(i)] = now.microseconds
        } else {
            i = Int32(keys.count)
            keys.append(key)
            filledUs.append(now.microseconds)
            prev.append(-1)
            next.append(-1)
        }
        slots[key] = i
        pushFront(i)
    }

    /// Everything is dropped: the cache is cold.
    mutating func flush() {
        slots.removeAll()
        keys.removeAll()
        filledUs.removeAll()
        prev.removeAll()
        next.removeAll()
        free.removeAll()
        head = -1
        tail = -1
        flushes += 1
    }

    private mutating func remove(_ i: Int32) {
        slots[keys[Int(i)]] = nil
        unlink(i)
        free.append(i)
    }

    private mutating func unlink(_ i: Int32) {
        let p = prev[Int(i)], n = next[Int(i)]
        if p >= 0 { next[Int(p)] = n } else { head = n }
        if n >= 0 { prev[Int(n)] = p } else { tail = p }
        prev[Int(i)] = -1
        next[Int(i)] = -1
    }

    private mutating func pushFront(_ i: Int32) {
        next[Int(i)] = head
        prev[Int(i)] = -1
        if head >= 0 { prev[Int(head)] = i }
        head = i
        if tail < 0 { tail = i }
    }
}
