/// The events of the fine bucket under the cursor, in exact order.
///
/// When a bucket is loaded its events are sorted once, descending, so each pop takes the last
/// element in O(1); a bucket is a handful of events, where an insertion sort beats building a
/// heap. Events scheduled into this bucket after it was loaded go to a small side heap, so a model
/// that keeps scheduling at the current instant costs O(log k) per event, never O(k).
@usableFromInline
struct CurrentBucket<Event: BitwiseCopyable> {
    @usableFromInline typealias Entry = QueuedEvent<Event>

    /// Sorted descending: the next event is at `sortedCount - 1`.
    @usableFromInline var sorted: EntryHeap<Event>
    @usableFromInline var late: EntryHeap<Event>

    @inlinable
    init() {
        sorted = EntryHeap(capacity: 64)
        late = EntryHeap(capacity: 16)
    }

    @inlinable
    func deallocate() {
        sorted.deallocate()
        late.deallocate()
    }

    @inlinable var count: Int { sorted.count &+ late.count }
    var capacity: Int { sorted.capacity + late.capacity }

    /// - Precondition: not empty.
    @inlinable var minimum: Entry {
        @inline(__always) get {
            if late.count == 0 { return sorted.storage[sorted.count &- 1] }
            if sorted.count == 0 { return late.minimum }
            let s = sorted.storage[sorted.count &- 1]
            let l = late.minimum
            return l.precedes(s) ? l : s
        }
    }

    /// - Precondition: not empty.
    /// - Complexity: O(1), or O(log k) when late inserts are pending.
    @inlinable @inline(__always)
    mutating func popMinimum() -> Entry {
        if late.count == 0 {
            sorted.count &-= 1
            return sorted.storage[sorted.count]
        }
        if sorted.count > 0 {
            let s = sorted.storage[sorted.count &- 1]
            if s.precedes(late.minimum) {
                sorted.count &-= 1
                return s
            }
        }
        return late.popMinimum()
    }

    /// Adds an event scheduled into the loaded bucket.
    @inlinable @inline(__always)
    mutating func push(_ entry: Entry) { late.push(entry) }

    /// Adds an event while the bucket is being loaded; call ``finishLoading()`` after.
    @inlinable @inline(__always)
    mutating func appendLoading(_ entry: Entry) { sorted.appendUnordered(entry) }

    @inlinable
    mutating func appendLoading(contentsOf source: UnsafeMutablePointer<Entry>, count n: Int) {
        sorted.append(contentsOf: source, count: n)
    }

    /// Sorts what was loaded. Late inserts made before loading finished are merged too.
    @inlinable
    mutating func finishLoading() {
        while late.count > 0 { sorted.appendUnordered(late.popMinimum()) }
        let n = sorted.count
        let base = sorted.storage
        if n <= 24 {
            // Insertion sort, descending.
            var i = 1
            while i < n {
                let x = base[i]
                var j = i
                while j > 0 && base[j &- 1].precedes(x) {
                    base[j] = base[j &- 1]
                    j &-= 1
                }
                base[j] = x
                i &+= 1
            }
        } else {
            var buffer = UnsafeMutableBufferPointer(start: base, count: n)
            buffer.sort { $1.precedes($0) }
        }
    }

    /// - Complexity: O(k).
    func firstIndex(order: UInt64) -> (late: Bool, index: Int)? {
        if let i = sorted.firstIndex(order: order) { return (false, i) }
        if let i = late.firstIndex(order: order) { return (true, i) }
        return nil
    }

    /// Removes an event found by ``firstIndex(order:)``.
    /// - Complexity: O(k).
    mutating func remove(_ position: (late: Bool, index: Int)) {
        if position.late {
            late.remove(at: position.index)
        } else {
            // Keep the descending order: shift the tail down over the hole.
            let base = sorted.storage
            for i in position.index..<(sorted.count - 1) { base[i] = base[i + 1] }
            sorted.count -= 1
        }
    }

    @inlinable
    func forEach(_ body: (Entry) -> Void) {
        for i in 0..<sorted.count { body(sorted.storage[i]) }
        for i in 0..<late.count { body(late.storage[i]) }
    }

    @inlinable
    mutating func removeAll() {
        sorted.removeAll()
        late.removeAll()
    }
}
