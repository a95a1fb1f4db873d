/// The order of events that fall on the same microsecond: lower values fire first.
///
/// Priority sits between time and insertion sequence in the total order
/// (time, priority, sequence), as in SimPy and OMNeT++.
@frozen
public struct EventPriority: RawRepresentable, Hashable, Comparable, Sendable, BitwiseCopyable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Fires before ordinary events at the same instant (e.g. failures before the work they stop).
    @inlinable public static var urgent: EventPriority { EventPriority(rawValue: 0) }
    /// The default.
    @inlinable public static var normal: EventPriority { EventPriority(rawValue: 128) }
    /// Fires after ordinary events at the same instant (e.g. metric sampling of a settled state).
    @inlinable public static var late: EventPriority { EventPriority(rawValue: 255) }

    @inlinable public static func < (a: EventPriority, b: EventPriority) -> Bool { a.rawValue < b.rawValue }
}

/// Names one scheduled event, for cancelling it.
@frozen
public struct EventHandle: Hashable, Sendable, BitwiseCopyable {
    /// When the event is due.
    public let time: SimInstant
    /// Priority in the top 8 bits, insertion sequence in the low 56: unique per queue.
    public let order: UInt64

    @inlinable init(time: SimInstant, order: UInt64) {
        self.time = time
        self.order = order
    }
}

/// One pending event as the queue stores it: 16 bytes of key plus the payload.
@frozen
public struct QueuedEvent<Event: BitwiseCopyable>: BitwiseCopyable {
    /// Due time in microseconds.
    public var time: Int64
    /// Priority (top 8 bits) and insertion sequence (low 56 bits).
    public var order: UInt64
    /// The model's payload.
    public var event: Event

    @inlinable
    init(time: Int64, order: UInt64, event: Event) {
        self.time = time
        self.order = order
        self.event = event
    }

    /// The total order of the queue: by time, then priority, then insertion sequence.
    @inlinable @inline(__always)
    func precedes(_ other: QueuedEvent) -> Bool {
        time < other.time || (time == other.time && order < other.order)
    }
}

/// Tuning knobs of ``EventQueue``; the defaults suit everything from tests to 10M pending events.
public struct EventQueueTuning: Sendable {
    /// Events per fine bucket the queue aims for when it resizes.
    public var targetPerBucket: Double = 8
    /// Window length as a multiple of the mean time an event waits in the queue.
    public var windowSpan: Double = 4
    /// Fewest pops between two resize checks.
    public var minCheckInterval: Int = 16_384
    /// Overflow size that prompts a check before any event has been popped.
    public var minOverflowCheck: Int = 65_536
    /// Bounds of the fine wheel (buckets in one coarse bucket), as powers of two.
    public var fineBucketsLog2: ClosedRange<Int> = 6...11
    /// Bounds of the coarse wheel, as powers of two.
    public var coarseBucketsLog2: ClosedRange<Int> = 6...20

    public init() {}
}

/// A monotone priority queue of simulation events with O(1) amortised insert and pop: a two-level
/// hierarchical timing wheel (Varghese & Lauck, SOSP 1987) used as a calendar queue
/// (Brown, CACM 1988), with exact order restored per bucket by a small heap.
///
/// Layout, from near to far:
/// - `current`: a binary heap of the events of the fine bucket being drained, so a clump of
///   same-instant events costs O(log k) per event rather than O(k);
/// - the fine wheel: `2^fineLog2` unsorted buckets of `2^shift` us covering the rest of the coarse
///   bucket under the cursor;
/// - the coarse wheel: `2^coarseLog2` unsorted buckets, each as wide as the whole fine wheel,
///   covering the window ahead; when the cursor enters one, its events are cascaded into the fine
///   wheel;
/// - `overflow`: a binary heap of events beyond the window, migrated as the window slides.
///
/// Why two levels: with millions of pending events, one flat bucket array turns every insert into
/// a dependent cache miss on a random bucket. Inserts here append to one of a few thousand coarse
/// tails that stay in cache, and each event is later moved once more, by a cascade that scatters
/// into a fine wheel small enough for L2. Buckets are chains of fixed-size chunks from one pool.
///
/// Geometry follows the workload: the fine width from the observed event rate, the wheel sizes from
/// the number of pending events; a rebuild happens only when either is off by a factor, so it costs
/// O(1) amortised.
///
/// Order is total: (time, priority, insertion sequence); equal keys never depend on the layout.
/// Times are monotone: nothing may be inserted before ``floor``, the time of the last pop (or the
/// limit of the last `pop(before:)` that found nothing).
///
/// Payloads are `BitwiseCopyable`, so storing, moving and dropping events involves no reference
/// counting, and once the pool has grown to the working set no event allocates.
public final class EventQueue<Event: BitwiseCopyable> {
    public typealias Entry = QueuedEvent<Event>

    public let tuning: EventQueueTuning

    /// log2 of the fine bucket width in microseconds.
    @exclusivity(unchecked) @usableFromInline var shift: Int
    /// log2 of the number of fine buckets (= fine buckets per coarse bucket).
    @exclusivity(unchecked) @usableFromInline var fineLog2: Int
    /// Absolute fine bucket (time >> shift) being drained through `current`.
    @exclusivity(unchecked) @usableFromInline var fineCursor: Int64
    /// Absolute coarse bucket (time >> (shift + fineLog2)) spread over the fine wheel.
    @exclusivity(unchecked) @usableFromInline var coarseCursor: Int64

    /// Chunks of the fine wheel: small, as a fine bucket holds a handful of events.
    @exclusivity(unchecked) @usableFromInline var finePool: ChunkPool<Event>
    /// Chunks of the coarse wheel: large, so that a cascade streams through memory and follows a
    /// chain link only once per 64 events.
    @exclusivity(unchecked) @usableFromInline var coarsePool: ChunkPool<Event>
    @exclusivity(unchecked) @usableFromInline var fine: Wheel
    @exclusivity(unchecked) @usableFromInline var coarse: Wheel
    @exclusivity(unchecked) @usableFromInline var current: CurrentBucket<Event>
    @exclusivity(unchecked) @usableFromInline var overflow: EntryHeap<Event>
    /// Orders of cancelled events still physically in `overflow`.
    @exclusivity(unchecked) @usableFromInline var overflowCancelled: Set<UInt64> = []

    @exclusivity(unchecked) @usableFromInline var liveCount: Int = 0
    @exclusivity(unchecked) @usableFromInline var floorTime: Int64 = 0
    @exclusivity(unchecked) @usableFromInline var nextSequence: UInt64 = 0

    // Resize bookkeeping.
    @exclusivity(unchecked) @usableFromInline var popsSinceCheck: Int = 0
    @exclusivity(unchecked) @usableFromInline var checkStartTime: Int64 = 0
    @exclusivity(unchecked) @usableFromInline var overflowCheckThreshold: Int
    /// Set when the overflow has grown enough to make the geometry suspect.
    @exclusivity(unchecked) @usableFromInline var resizeDue = false
    @usableFromInline var rebuildCount: Int = 0
    /// How many times the layout was rebuilt; exposed for tests and benchmarks.
    public var rebuilds: Int { rebuildCount }

    /// An empty queue. The initial geometry (fine width `2^initialShift` us) only matters until the
    /// first resize check; the queue adapts it to the workload.
    public init(tuning: EventQueueTuning = EventQueueTuning(), initialShift: Int = 10) {
        precondition((0...40).contains(initialShift), "bucket width must be 2^0...2^40 us")
        precondition(tuning.fineBucketsLog2.lowerBound >= 6 && tuning.coarseBucketsLog2.lowerBound >= 6,
                     "wheels need at least 64 buckets")
        self.tuning = tuning
        shift = initialShift
        fineLog2 = tuning.fineBucketsLog2.lowerBound
        fineCursor = 0
        coarseCursor = 0
        finePool = ChunkPool(chunks: 256, chunkLog2: 3)
        coarsePool = ChunkPool(chunks: 64, chunkLog2: 6)
        fine = Wheel(log2: fineLog2)
        coarse = Wheel(log2: tuning.coarseBucketsLog2.lowerBound)
        current = CurrentBucket()
        overflow = EntryHeap(capacity: 64)
        overflowCheckThreshold = tuning.minOverflowCheck
    }

    deinit {
        finePool.deallocate()
        coarsePool.deallocate()
        fine.deallocate()
        coarse.deallocate()
        current.deallocate()
        overflow.deallocate()
    }

    /// Live pending events.
    @inlinable public var count: Int { liveCount }
    /// The earliest time, in microseconds, an insert may use.
    @inlinable public var floor: Int64 { floorTime }
    /// `true` when no event is pending.
    @inlinable public var isEmpty: Bool { liveCount == 0 }

    /// Bytes held by the queue's pools (not counting the `Set` of cancelled overflow events).
    public var footprintBytes: Int {
        finePool.footprintBytes + coarsePool.footprintBytes + fine.footprintBytes + coarse.footprintBytes
            + (current.capacity + overflow.capacity) * MemoryLayout<Entry>.stride
    }

    /// The current layout, for benchmarks and diagnostics.
    public var geometry: String {
        "fine 2^\(fineLog2) x 2^\(shift) us, coarse 2^\(coarse.log2); \(current.count) current, "
            + "\(fine.entries) fine, \(coarse.entries) coarse, \(overflow.count) overflow; "
            + "\(finePool.issued)/\(finePool.capacity) fine and \(coarsePool.issued)/\(coarsePool.capacity) coarse chunks"
    }

    @inlinable var coarseShift: Int64 { Int64(shift &+ fineLog2) }

    // MARK: Insert

    /// Schedules `event` at `time`; returns a handle for ``cancel(_:)``.
    /// - Precondition: `time >= floor` (the queue never goes back in time).
    /// - Complexity: O(1) amortised; O(log n) for events beyond the window.
    @inlinable
    @discardableResult
    public func insert(_ event: Event, at time: SimInstant, priority: EventPriority = .normal) -> EventHandle {
        precondition(time.microseconds >= floorTime, "event scheduled at \(time), before the queue's floor t+\(floorTime) us")
        precondition(nextSequence < 1 << 56, "event sequence exhausted")
        let order = UInt64(priority.rawValue) << 56 | nextSequence
        nextSequence &+= 1
        place(Entry(time: time.microseconds, order: order, event: event))
        liveCount &+= 1
        // A growing overflow means the window is too short for the workload, typically while a
        // model fills the queue before the first pop; fix the geometry before it costs more.
        if resizeDue { considerResize() }
        return EventHandle(time: time, order: order)
    }

    /// Puts an entry where the invariant says it belongs.
    @inlinable @inline(__always)
    func place(_ entry: Entry) {
        let fineAbsolute = entry.time >> Int64(shift)
        if fineAbsolute == fineCursor {
            current.push(entry)
            return
        }
        let coarseAbsolute = entry.time >> coarseShift
        let ahead = coarseAbsolute &- coarseCursor
        if ahead == 0 {
            fine.append(entry, at: Int(truncatingIfNeeded: fineAbsolute) & fine.mask, pool: &finePool)
        } else if ahead < Int64(coarse.size) {
            coarse.append(entry, at: Int(truncatingIfNeeded: coarseAbsolute) & coarse.mask, pool: &coarsePool)
        } else {
            overflow.push(entry)
            if overflow.count > overflowCheckThreshold { resizeDue = true }
        }
    }

    // MARK: Pop

    /// Removes and returns the first event in the total order, or `nil` when none is pending.
    @inlinable
    public func pop() -> Entry? {
        pop(before: Int64.max)
    }

    /// Removes and returns the first event if it is due before `limit` (exclusive). When none is,
    /// returns `nil` and raises ``floor`` to `limit`: the caller's clock moves on to `limit`.
    /// - Complexity: O(1) amortised.
    @inlinable
    public func pop(before limit: Int64) -> Entry? {
        if current.count == 0 {
            guard advance(before: limit) else {
                if limit != Int64.max && limit > floorTime { floorTime = limit }
                return nil
            }
        }
        if current.minimum.time >= limit {
            if limit > floorTime { floorTime = limit }
            return nil
        }
        let entry = current.popMinimum()
        liveCount &-= 1
        floorTime = entry.time
        popsSinceCheck &+= 1
        return entry
    }

    /// The event `ahead` places after the next one in the loaded bucket, if that bucket holds it
    /// (events scheduled into it since it was loaded are not seen): for prefetching only, since
    /// the event may still be cancelled or preceded by one scheduled later.
    @inlinable @inline(__always)
    public func upcoming(_ ahead: Int) -> Event? {
        let n = current.sorted.count
        return ahead < n ? current.sorted.storage[n &- 1 &- ahead].event : nil
    }

    /// Moves the cursor to the next non-empty bucket that starts before `limit` and loads it into
    /// `current`, cascading a coarse bucket into the fine wheel when the fine wheel is spent.
    /// Returns `false` when no event starts before `limit`.
    @inlinable
    func advance(before limit: Int64) -> Bool {
        if resizeDue || popsSinceCheck >= max(tuning.minCheckInterval, liveCount >> 4) {
            considerResize()
        }
        while current.count == 0 {
            let fineIndex = Int(truncatingIfNeeded: fineCursor) & fine.mask
            if fine.entries > 0, let next = fine.nextOccupied(after: fineIndex) {
                let absolute = (fineCursor &- Int64(fineIndex)) &+ Int64(next)
                if absolute << Int64(shift) >= limit { return false }
                fineCursor = absolute
                fine.drain(next, into: &current, pool: &finePool)
                current.finishLoading()
                continue
            }
            // The fine wheel is spent: cascade the next coarse bucket (or jump to the overflow).
            let target: Int64
            if coarse.entries > 0 {
                let start = Int(truncatingIfNeeded: coarseCursor &+ 1) & coarse.mask
                let index = coarse.nextOccupiedWrapping(from: start)
                target = coarseCursor &+ 1 &+ Int64((index &- start) & coarse.mask)
            } else {
                dropCancelledOverflowTop()
                guard overflow.count > 0 else { return false }
                target = overflow.minimum.time >> coarseShift
            }
            if target << coarseShift >= limit { return false }
            coarseCursor = target
            fineCursor = target << Int64(fineLog2)
            cascade(coarseIndex: Int(truncatingIfNeeded: target) & coarse.mask)
            migrateOverflow()
            if current.count > 0 { current.finishLoading() }
        }
        return true
    }

    /// Spreads coarse bucket `index` (now under the cursor) over the fine wheel.
    @inlinable
    func cascade(coarseIndex index: Int) {
        var chunk = coarse.buckets[index].head
        guard chunk >= 0 else { return }
        var fill = Int(coarse.buckets[index].fill)
        var moved = 0
        while chunk >= 0 {
            let base = coarsePool.base(chunk)
            for i in 0..<fill {
                let entry = base[i]
                let fineAbsolute = entry.time >> Int64(shift)
                if fineAbsolute == fineCursor {
                    current.appendLoading(entry)
                } else {
                    fine.append(entry, at: Int(truncatingIfNeeded: fineAbsolute) & fine.mask, pool: &finePool)
                }
            }
            moved &+= fill
            let next = coarsePool.next[Int(chunk)]
            coarsePool.release(chunk)
            chunk = next
            fill = coarsePool.chunkSize
        }
        coarse.clear(index, removing: moved)
    }

    /// Moves overflow events that the window now covers into their place.
    @inlinable
    func migrateOverflow() {
        let windowEnd = (coarseCursor &+ Int64(coarse.size)) << coarseShift
        while overflow.count > 0 && overflow.minimum.time < windowEnd {
            let entry = overflow.popMinimum()
            if !overflowCancelled.isEmpty && overflowCancelled.remove(entry.order) != nil { continue }
            let fineAbsolute = entry.time >> Int64(shift)
            if fineAbsolute == fineCursor {
                current.appendLoading(entry)  // sorted by the caller
            } else {
                place(entry)
            }
        }
    }

    @inlinable
    func dropCancelledOverflowTop() {
        while !overflowCancelled.isEmpty && overflow.count > 0 && overflowCancelled.contains(overflow.minimum.order) {
            overflowCancelled.remove(overflow.popMinimum().order)
        }
    }

    /// The time of the first pending event, without removing it; `nil` when empty.
    /// - Complexity: O(1) amortised when a fine bucket is ahead; O(events in a coarse bucket)
    ///   when the fine wheel is spent. Meant for progress reports and tests, not the hot path.
    public func peekTime() -> SimInstant? {
        if current.count > 0 { return SimInstant(microseconds: current.minimum.time) }
        var best = Int64.max
        let fineIndex = Int(truncatingIfNeeded: fineCursor) & fine.mask
        if fine.entries > 0, let next = fine.nextOccupied(after: fineIndex) {
            fine.forEach(next, pool: finePool) { best = min(best, $0.time) }
        } else if coarse.entries > 0 {
            let start = Int(truncatingIfNeeded: coarseCursor &+ 1) & coarse.mask
            coarse.forEach(coarse.nextOccupiedWrapping(from: start), pool: coarsePool) { best = min(best, $0.time) }
        } else {
            dropCancelledOverflowTop()
            if overflow.count > 0 { best = overflow.minimum.time }
        }
        return best == Int64.max ? nil : SimInstant(microseconds: best)
    }

    // MARK: Cancel

    /// Removes a pending event. Returns `false` when it already fired or was cancelled before.
    /// - Precondition: `handle` came from this queue's ``insert(_:at:priority:)``.
    /// - Complexity: O(events in its bucket) inside the window; O(1) beyond it (the event is
    ///   dropped lazily when the window reaches it).
    @discardableResult
    public func cancel(_ handle: EventHandle) -> Bool {
        let time = handle.time.microseconds
        if time < floorTime { return false }
        let fineAbsolute = time >> Int64(shift)
        let coarseAbsolute = time >> coarseShift
        let ahead = coarseAbsolute - coarseCursor
        if fineAbsolute == fineCursor {
            guard let position = current.firstIndex(order: handle.order) else { return false }
            current.remove(position)
        } else if ahead == 0 {
            guard fine.remove(order: handle.order, at: Int(truncatingIfNeeded: fineAbsolute) & fine.mask, pool: &finePool) else { return false }
        } else if ahead < Int64(coarse.size) {
            guard coarse.remove(order: handle.order, at: Int(truncatingIfNeeded: coarseAbsolute) & coarse.mask, pool: &coarsePool) else { return false }
        } else {
            // Beyond the window an event can neither have fired nor have migrated, so it is pending
            // unless it was cancelled already.
            guard overflowCancelled.insert(handle.order).inserted else { return false }
        }
        liveCount -= 1
        return true
    }

    // MARK: Resize

    /// Re-derives the geometry from the workload and rebuilds when it is off by more than 2x in
    /// fine width or 4x in total buckets.
    ///
    /// Width: the observed pop rate r (events per microsecond of simulated time) is the density of
    /// events near the cursor, so a fine width of `targetPerBucket / r` holds about that many events
    /// per fine bucket. Before enough pops, the density is estimated as pending / mean lead time
    /// (Little's law; exact for exponential holding times). Window: `windowSpan` mean lead times,
    /// split between the two wheels as evenly as their bounds allow.
    @inlinable
    func considerResize() {
        let elapsed = floorTime - checkStartTime
        let pops = popsSinceCheck
        popsSinceCheck = 0
        checkStartTime = floorTime
        resizeDue = false
        overflowCheckThreshold = max(tuning.minOverflowCheck, 2 * overflow.count)
        guard liveCount > 0 else { return }

        let density: Double  // events per microsecond near the cursor
        if pops >= 1024 && elapsed > 0 {
            density = Double(pops) / Double(elapsed)
        } else {
            let lead = meanLeadTime()
            density = lead > 0 ? Double(liveCount) / lead : Double(liveCount)
        }
        let idealShift = max(0, min(40, log2Double(tuning.targetPerBucket / density)))
        let totalLog2 = max(0, log2Double(Double(liveCount) * tuning.windowSpan / tuning.targetPerBucket))
        let newFine = min(tuning.fineBucketsLog2.upperBound, max(tuning.fineBucketsLog2.lowerBound, Int((totalLog2 / 2).rounded())))
        let newCoarse = min(tuning.coarseBucketsLog2.upperBound,
                            max(tuning.coarseBucketsLog2.lowerBound, Int(totalLog2.rounded()) - newFine))
        let widthOff = abs(idealShift - Double(shift)) > 1.0
        let sizeOff = abs((newFine + newCoarse) - (fineLog2 + coarse.log2)) >= 2
        guard widthOff || sizeOff else { return }
        rebuild(shift: Int(idealShift.rounded()), fineLog2: newFine, coarseLog2: newCoarse)
    }

    @inlinable
    func meanLeadTime() -> Double {
        var sum = 0.0
        var n = 0
        forEachLiveEntry { sum += Double($0.time - floorTime); n += 1 }
        return n > 0 ? sum / Double(n) : 0
    }

    /// Visits every live pending entry, in no particular order.
    @inlinable
    func forEachLiveEntry(_ body: (Entry) -> Void) {
        current.forEach(body)
        fine.forEachEntry(pool: finePool, body)
        coarse.forEachEntry(pool: coarsePool, body)
        for i in 0..<overflow.count where overflowCancelled.isEmpty || !overflowCancelled.contains(overflow.storage[i].order) {
            body(overflow.storage[i])
        }
    }

    /// Re-places every live event under a new geometry.
    @inlinable
    func rebuild(shift newShift: Int, fineLog2 newFine: Int, coarseLog2 newCoarse: Int) {
        rebuildCount += 1
        var all = EntryHeap<Event>(capacity: max(liveCount, 1))
        forEachLiveEntry { all.appendUnordered($0) }
        precondition(all.count == liveCount, "event queue lost track of \(liveCount - all.count) events")
        overflowCancelled.removeAll()
        current.removeAll()
        overflow.removeAll()
        fine.deallocate()
        coarse.deallocate()
        finePool.reset()
        coarsePool.reset()
        fine = Wheel(log2: newFine)
        coarse = Wheel(log2: newCoarse)
        shift = newShift
        fineLog2 = newFine
        fineCursor = floorTime >> Int64(shift)
        coarseCursor = floorTime >> coarseShift
        for i in 0..<all.count { place(all.storage[i]) }
        all.deallocate()
        overflowCheckThreshold = max(tuning.minOverflowCheck, 2 * overflow.count)
        // Re-placing may have tripped the old overflow threshold; the new geometry has just been
        // chosen, so that is no reason to check it again (it used to make every rebuild followed
        // at once by a second one, judged on a single pop).
        resizeDue = false
    }

    #if VODSIM_CHECKS
    /// Walks the whole structure and checks every placement invariant. Expensive: O(n).
    public func audit() {
        var live = 0
        current.forEach { e in
            precondition(e.time >> Int64(self.shift) == self.fineCursor, "current holds an event of another bucket")
            live += 1
        }
        precondition(fineCursor >> Int64(fineLog2) == coarseCursor, "fine cursor outside the coarse cursor")
        live += fine.audit(pool: finePool) { index, e in
            let f = e.time >> Int64(self.shift)
            return e.time >> self.coarseShift == self.coarseCursor && f > self.fineCursor && Int(truncatingIfNeeded: f) & self.fine.mask == index
        }
        live += coarse.audit(pool: coarsePool) { index, e in
            let c = e.time >> self.coarseShift
            return c > self.coarseCursor && c - self.coarseCursor < Int64(self.coarse.size) && Int(truncatingIfNeeded: c) & self.coarse.mask == index
        }
        let windowEnd = (coarseCursor + Int64(coarse.size)) << coarseShift
        for i in 0..<overflow.count {
            precondition(overflow.storage[i].time >= windowEnd, "overflow holds an event inside the window")
            if !overflowCancelled.contains(overflow.storage[i].order) { live += 1 }
        }
        precondition(live == liveCount, "live count drifted: \(live) found, \(liveCount) counted")
    }
    #endif
}

/// log2 of a positive double, without importing Foundation into the engine.
@usableFromInline
func log2Double(_ x: Double) -> Double {
    guard x > 0, x.isFinite else { return 0 }
    let e = Double(x.exponent)
    let m = x.significand  // in [1, 2)
    // log2(m) for m in [1, 2) by the series of ln((1+t)/(1-t)); error below 1e-5, ample for
    // choosing a power of two.
    let t = (m - 1) / (m + 1)
    let t2 = t * t
    let ln = 2 * t * (1 + t2 / 3 + t2 * t2 / 5 + t2 * t2 * t2 / 7 + t2 * t2 * t2 * t2 / 9)
    return e + ln / 0.6931471805599453
}
