/// A binary min-heap of queued events over manually managed contiguous storage.
///
/// Used twice by ``EventQueue``: for the bucket being drained (small, stays in L1) and for the
/// overflow beyond the window. Manual storage keeps `BitwiseCopyable` entries free of reference
/// counting and uniqueness checks; the owner calls ``deallocate()``.
@usableFromInline
struct EntryHeap<Event: BitwiseCopyable> {
    @usableFromInline typealias Entry = QueuedEvent<Event>

    @usableFromInline var storage: UnsafeMutablePointer<Entry>
    @usableFromInline var count: Int
    @usableFromInline var capacity: Int

    @inlinable
    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        storage = .allocate(capacity: self.capacity)
        count = 0
    }

    @inlinable
    func deallocate() { storage.deallocate() }

    /// The first entry in the queue's order.
    /// - Precondition: not empty.
    @inlinable var minimum: Entry {
        @inline(__always) get { storage[0] }
    }

    @inlinable @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(to: count + extra) }
    }

    @usableFromInline
    mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        storage = storage.reallocated(capacity: newCapacity, keeping: count)
        capacity = newCapacity
    }

    /// - Complexity: O(log n).
    @inlinable @inline(__always)
    mutating func push(_ entry: Entry) {
        reserve(1)
        var hole = count
        count &+= 1
        while hole > 0 {
            let parent = (hole &- 1) >> 1
            let p = storage[parent]
            if !entry.precedes(p) { break }
            storage[hole] = p
            hole = parent
        }
        storage[hole] = entry
    }

    /// - Precondition: not empty.
    /// - Complexity: O(log n).
    @inlinable @inline(__always)
    mutating func popMinimum() -> Entry {
        let top = storage[0]
        count &-= 1
        if count > 0 {
            siftDown(storage[count], from: 0)
        }
        return top
    }

    /// Places `entry` at `hole` or below, restoring heap order beneath it.
    @inlinable @inline(__always)
    func siftDown(_ entry: Entry, from start: Int) {
        var hole = start
        let half = count >> 1
        while hole < half {
            var child = hole &* 2 &+ 1
            var c = storage[child]
            let right = child &+ 1
            if right < count {
                let r = storage[right]
                if r.precedes(c) {
                    child = right
                    c = r
                }
            }
            if !c.precedes(entry) { break }
            storage[hole] = c
            hole = child
        }
        storage[hole] = entry
    }

    /// Appends entries without restoring order; call ``heapify()`` after.
    @inlinable
    mutating func append(contentsOf source: UnsafeMutablePointer<Entry>, count n: Int) {
        reserve(n)
        // An element loop: buckets are a handful of entries, where memmove's start-up dominates.
        let destination = storage + count
        for i in 0..<n { destination[i] = source[i] }
        count &+= n
    }

    @inlinable
    mutating func appendUnordered(_ entry: Entry) {
        reserve(1)
        storage[count] = entry
        count += 1
    }

    /// Restores heap order over the whole storage (Floyd's construction).
    /// - Complexity: O(n).
    @inlinable
    func heapify() {
        guard count > 1 else { return }
        var i = (count >> 1) &- 1
        while i >= 0 {
            siftDown(storage[i], from: i)
            i &-= 1
        }
    }

    /// - Complexity: O(n).
    func firstIndex(order: UInt64) -> Int? {
        for i in 0..<count where storage[i].order == order { return i }
        return nil
    }

    /// Removes the entry at `index`, keeping heap order.
    /// - Complexity: O(log n).
    mutating func remove(at index: Int) {
        count -= 1
        guard index < count else { return }
        let last = storage[count]
        // The moved entry may belong above or below the hole.
        var hole = index
        while hole > 0 {
            let parent = (hole - 1) >> 1
            if !last.precedes(storage[parent]) { break }
            storage[hole] = storage[parent]
            hole = parent
        }
        if hole != index {
            storage[hole] = last
        } else {
            siftDown(last, from: index)
        }
    }

    @inlinable
    mutating func removeAll() { count = 0 }
}

extension UnsafeMutablePointer {
    /// A new allocation of `capacity` elements holding the first `count` of this one, which is
    /// freed. The queue's pools grow through this; their elements are `BitwiseCopyable`.
    @usableFromInline
    func reallocated(capacity: Int, keeping count: Int) -> UnsafeMutablePointer<Pointee> {
        let fresh = UnsafeMutablePointer<Pointee>.allocate(capacity: capacity)
        fresh.moveInitialize(from: self, count: count)
        deallocate()
        return fresh
    }
}
