/// A pool of fixed-size chunks of queued events, chained by index; the storage behind the buckets
/// of one wheel of ``EventQueue``.
///
/// Freed chunks are reused last-in first-out, so a chunk just released is still in cache when an
/// insert takes it. The pool grows by doubling and never shrinks while the queue lives.
@usableFromInline
struct ChunkPool<Event: BitwiseCopyable> {
    @usableFromInline typealias Entry = QueuedEvent<Event>

    /// Entries per chunk (a power of two).
    @usableFromInline let chunkSize: Int
    @usableFromInline let chunkLog2: Int
    @usableFromInline var entries: UnsafeMutablePointer<Entry>
    /// The next chunk of the same bucket (or of the free list), or -1.
    @usableFromInline var next: UnsafeMutablePointer<Int32>
    @usableFromInline var capacity: Int
    /// Chunks ever handed out from the top of the pool (the rest of the capacity is untouched).
    @usableFromInline var issued: Int
    @usableFromInline var free: Int32

    @usableFromInline
    init(chunks: Int, chunkLog2: Int) {
        self.chunkLog2 = chunkLog2
        chunkSize = 1 << chunkLog2
        capacity = chunks
        entries = .allocate(capacity: chunks << chunkLog2)
        next = .allocate(capacity: chunks)
        issued = 0
        free = -1
    }

    @usableFromInline
    func deallocate() {
        entries.deallocate()
        next.deallocate()
    }

    var footprintBytes: Int { capacity * (chunkSize * MemoryLayout<Entry>.stride + 4) }

    /// A chunk with unspecified contents and `next` to be set by the caller.
    @inlinable @inline(__always)
    mutating func take() -> Int32 {
        if free >= 0 {
            let chunk = free
            free = next[Int(chunk)]
            return chunk
        }
        if issued == capacity { grow() }
        issued &+= 1
        return Int32(truncatingIfNeeded: issued &- 1)
    }

    @inlinable @inline(__always)
    mutating func release(_ chunk: Int32) {
        next[Int(chunk)] = free
        free = chunk
    }

    @usableFromInline
    mutating func grow() {
        let newCapacity = capacity * 2
        precondition(newCapacity < Int(Int32.max), "event queue chunk pool exhausted")
        entries = entries.reallocated(capacity: newCapacity << chunkLog2, keeping: issued << chunkLog2)
        next = next.reallocated(capacity: newCapacity, keeping: issued)
        capacity = newCapacity
    }

    /// The first entry of `chunk`.
    @inlinable @inline(__always)
    func base(_ chunk: Int32) -> UnsafeMutablePointer<Entry> {
        entries + (Int(chunk) << chunkLog2)
    }

    /// Forgets every chunk, keeping the memory.
    @usableFromInline
    mutating func reset() {
        issued = 0
        free = -1
    }
}

/// A ring of buckets of a timing wheel: each bucket an unsorted chain of pool chunks, with an
/// occupancy bitmap so that empty buckets are skipped 64 at a time.
@usableFromInline
struct Wheel {
    @usableFromInline
    struct Bucket {
        /// The chunk added last (the one being filled), or -1.
        @usableFromInline var head: Int32
        /// Entries in the head chunk; the chunks behind it are full.
        @usableFromInline var fill: Int32

        @inlinable init(head: Int32, fill: Int32) {
            self.head = head
            self.fill = fill
        }
    }

    @usableFromInline var buckets: UnsafeMutablePointer<Bucket>
    @usableFromInline var occupancy: UnsafeMutablePointer<UInt64>
    @usableFromInline let log2: Int
    @usableFromInline let size: Int
    @usableFromInline let mask: Int
    /// Entries held in all buckets.
    @usableFromInline var entries: Int

    @usableFromInline
    init(log2: Int) {
        precondition(log2 >= 6, "a wheel needs at least 64 buckets")
        self.log2 = log2
        size = 1 << log2
        mask = size - 1
        buckets = .allocate(capacity: size)
        buckets.initialize(repeating: Bucket(head: -1, fill: 0), count: size)
        occupancy = .allocate(capacity: size >> 6)
        occupancy.initialize(repeating: 0, count: size >> 6)
        entries = 0
    }

    @usableFromInline
    func deallocate() {
        buckets.deallocate()
        occupancy.deallocate()
    }

    var footprintBytes: Int { size * MemoryLayout<Bucket>.stride + (size >> 6) * 8 }

    /// - Complexity: O(1).
    @inlinable @inline(__always)
    mutating func append<E>(_ entry: QueuedEvent<E>, at index: Int, pool: inout ChunkPool<E>) {
        let bucket = buckets + index
        var head = bucket.pointee.head
        var fill = bucket.pointee.fill
        if head < 0 || fill == Int32(truncatingIfNeeded: pool.chunkSize) {
            if head < 0 { occupancy[index >> 6] |= 1 << UInt64(index & 63) }
            let chunk = pool.take()
            pool.next[Int(chunk)] = head
            head = chunk
            fill = 0
        }
        (pool.base(head) + Int(fill)).initialize(to: entry)
        bucket.pointee = Bucket(head: head, fill: fill &+ 1)
        entries &+= 1
    }

    /// The first occupied bucket strictly after `index`, without wrapping.
    @inlinable
    func nextOccupied(after index: Int) -> Int? {
        let first = index &+ 1
        if first >= size { return nil }
        var word = first >> 6
        var bits = occupancy[word] & (~0 << UInt64(first & 63))
        let words = size >> 6
        while bits == 0 {
            word &+= 1
            if word == words { return nil }
            bits = occupancy[word]
        }
        return word << 6 | bits.trailingZeroBitCount
    }

    /// The first occupied bucket at or after `start`, wrapping around.
    /// - Precondition: `entries > 0`.
    @inlinable
    func nextOccupiedWrapping(from start: Int) -> Int {
        let wordMask = (size >> 6) &- 1
        var word = start >> 6
        var bits = occupancy[word] & (~0 << UInt64(start & 63))
        while bits == 0 {
            word = (word &+ 1) & wordMask
            bits = occupancy[word]
        }
        return word << 6 | bits.trailingZeroBitCount
    }

    /// Moves bucket `index` into `bucket` (to be sorted) and returns its chunks to the pool.
    @inlinable
    mutating func drain<E>(_ index: Int, into bucket: inout CurrentBucket<E>, pool: inout ChunkPool<E>) {
        var chunk = buckets[index].head
        var fill = Int(buckets[index].fill)
        var moved = 0
        while chunk >= 0 {
            bucket.appendLoading(contentsOf: pool.base(chunk), count: fill)
            moved &+= fill
            let next = pool.next[Int(chunk)]
            pool.release(chunk)
            chunk = next
            fill = pool.chunkSize
        }
        clear(index, removing: moved)
    }

    /// Marks bucket `index` empty after its chunks were released elsewhere.
    @inlinable
    mutating func clear(_ index: Int, removing count: Int) {
        buckets[index] = Bucket(head: -1, fill: 0)
        occupancy[index >> 6] &= ~(1 << UInt64(index & 63))
        entries &-= count
    }

    /// Removes the entry with `order` from bucket `index`, filling its place with the bucket's
    /// last entry. Returns `false` when it is not there.
    /// - Complexity: O(entries in the bucket).
    mutating func remove<E>(order: UInt64, at index: Int, pool: inout ChunkPool<E>) -> Bool {
        let k = pool.chunkSize
        let head = buckets[index].head
        guard head >= 0 else { return false }
        let headFill = Int(buckets[index].fill)
        var chunk = head
        var fill = headFill
        while chunk >= 0 {
            let base = pool.base(chunk)
            for i in 0..<fill where base[i].order == order {
                base[i] = pool.base(head)[headFill - 1]
                if headFill == 1 {
                    let next = pool.next[Int(head)]
                    pool.release(head)
                    buckets[index] = Bucket(head: next, fill: next >= 0 ? Int32(k) : 0)
                    if next < 0 { occupancy[index >> 6] &= ~(1 << UInt64(index & 63)) }
                } else {
                    buckets[index].fill = Int32(headFill - 1)
                }
                entries -= 1
                return true
            }
            chunk = pool.next[Int(chunk)]
            fill = k
        }
        return false
    }

    /// Visits the entries of bucket `index`.
    @inlinable
    func forEach<E>(_ index: Int, pool: ChunkPool<E>, _ body: (QueuedEvent<E>) -> Void) {
        var chunk = buckets[index].head
        var fill = Int(buckets[index].fill)
        while chunk >= 0 {
            for i in 0..<fill { body(pool.base(chunk)[i]) }
            chunk = pool.next[Int(chunk)]
            fill = pool.chunkSize
        }
    }

    /// Visits every entry of every bucket.
    @inlinable
    func forEachEntry<E>(pool: ChunkPool<E>, _ body: (QueuedEvent<E>) -> Void) {
        guard entries > 0 else { return }
        for index in 0..<size where buckets[index].head >= 0 {
            forEach(index, pool: pool, body)
        }
    }

    #if VODSIM_CHECKS
    /// Checks the bitmap and the entry count, and that `belongs(index, entry)` holds for every
    /// entry; returns the number of entries.
    func audit<E>(pool: ChunkPool<E>, _ belongs: (Int, QueuedEvent<E>) -> Bool) -> Int {
        var n = 0
        for index in 0..<size {
            let occupied = occupancy[index >> 6] & (1 << UInt64(index & 63)) != 0
            precondition(occupied == (buckets[index].head >= 0), "occupancy bit disagrees with bucket \(index)")
            forEach(index, pool: pool) { e in
                precondition(belongs(index, e), "event at t+\(e.time) us in the wrong bucket \(index)")
                n += 1
            }
        }
        precondition(n == entries, "wheel entry count drifted: \(n) found, \(entries) counted")
        return n
    }
    #endif
}
