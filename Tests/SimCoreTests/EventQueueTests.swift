import Testing
@testable import SimCore

@Suite("Event queue")
struct EventQueueTests {
    @Test("Events at the same instant fire in scheduling order")
    func sameTimeFIFO() {
        let queue = EventQueue<Int>()
        for i in 0..<1000 { queue.insert(i, at: .init(microseconds: 5_000)) }
        var seen: [Int] = []
        while let e = queue.pop() { seen.append(e.event) }
        #expect(seen == Array(0..<1000))
    }

    @Test("Priority orders same-instant events before insertion order does")
    func priorityBeforeSequence() {
        let queue = EventQueue<Int>()
        let t = SimInstant(microseconds: 42)
        queue.insert(1, at: t, priority: .late)
        queue.insert(2, at: t, priority: .normal)
        queue.insert(3, at: t, priority: .urgent)
        queue.insert(4, at: t, priority: .normal)
        queue.insert(0, at: SimInstant(microseconds: 41), priority: .late)
        var seen: [Int] = []
        while let e = queue.pop() { seen.append(e.event) }
        #expect(seen == [0, 3, 2, 4, 1])
    }

    @Test("pop(before:) leaves events due at the limit pending and raises the floor")
    func popBeforeLimit() {
        let queue = EventQueue<Int>()
        queue.insert(1, at: .init(microseconds: 10))
        queue.insert(2, at: .init(microseconds: 20))
        #expect(queue.pop(before: 20)?.event == 1)
        #expect(queue.pop(before: 20) == nil)
        #expect(queue.floor == 20)
        #expect(queue.count == 1)
        #expect(queue.pop(before: 21)?.event == 2)
    }

    /// One event in each part of the structure: the bucket under the cursor, the fine wheel, the
    /// coarse wheel and the overflow. Cancelling the odd ones must leave exactly the even ones.
    @Test("Cancelled events never fire, wherever they wait")
    func cancellation() {
        let queue = EventQueue<Int>(initialShift: 4)
        queue.insert(-1, at: .init(microseconds: 1))
        _ = queue.pop()  // puts the cursor at bucket 0
        let times: [Int64] = [2, 3, 40, 41, 5_000, 5_001, 900_000, 900_001, 1 << 40, (1 << 40) + 1]
        var handles: [EventHandle] = []
        for (i, t) in times.enumerated() {
            handles.append(queue.insert(i, at: .init(microseconds: t)))
        }
        #if VODSIM_CHECKS
        queue.audit()
        #endif
        for i in stride(from: 1, to: times.count, by: 2) {
            #expect(queue.cancel(handles[i]), "event \(i) at t+\(times[i]) us should be pending")
        }
        #expect(queue.count == times.count / 2)
        #if VODSIM_CHECKS
        queue.audit()
        #endif
        var seen: [Int] = []
        while let e = queue.pop() { seen.append(e.event) }
        #expect(seen == [0, 2, 4, 6, 8])
    }

    @Test("Cancelling twice, or after the event fired, returns false")
    func cancelIdempotent() {
        let queue = EventQueue<Int>()
        let a = queue.insert(1, at: .init(microseconds: 100))
        let far = queue.insert(2, at: .init(microseconds: 1 << 50))
        #expect(queue.cancel(far))
        #expect(!queue.cancel(far))
        #expect(queue.pop()?.event == 1)
        #expect(!queue.cancel(a))
        #expect(queue.pop() == nil)
        #expect(queue.isEmpty)
    }

    @Test("peekTime reports the next due time without removing it")
    func peek() {
        let queue = EventQueue<Int>()
        #expect(queue.peekTime() == nil)
        queue.insert(1, at: .init(microseconds: 77_777))
        queue.insert(2, at: .init(microseconds: 1 << 45))
        #expect(queue.peekTime() == SimInstant(microseconds: 77_777))
        #expect(queue.pop()?.event == 1)
        #expect(queue.peekTime() == SimInstant(microseconds: 1 << 45))
        #expect(queue.count == 1)
    }

    @Test("Queue entries stay at 24 bytes for an 8-byte payload")
    func layout() {
        #expect(MemoryLayout<QueuedEvent<UInt64>>.stride == 24)
        #expect(MemoryLayout<QueuedEvent<UInt32>>.stride == 24)
        #expect(MemoryLayout<EventHandle>.size == 16)
        #expect(MemoryLayout<SimInstant>.size == 8)
        #expect(MemoryLayout<SimDuration>.size == 8)
    }

    /// Workload shapes for the differential test.
    enum Shape: String, CaseIterable, CustomTestStringConvertible {
        case exponential, sameInstant, clumped, farFuture, mixed
        var testDescription: String { rawValue }
    }

    /// Every operation is mirrored on a sorted array; the queue must pop exactly what the array
    /// says, in the same order, through resizes, cancellations and limits.
    @Test("The queue pops in exactly the order of a sorted reference", arguments: Shape.allCases, 0..<4)
    func differential(shape: Shape, seed: UInt64) {
        var tuning = EventQueueTuning()
        tuning.minCheckInterval = 64  // resize often, so rebuilds are exercised
        tuning.minOverflowCheck = 32
        let queue = EventQueue<UInt64>(tuning: tuning, initialShift: Int(seed % 5) * 3)
        var reference = ReferenceQueue()
        var rng = RandomStream(seed: seed, label: "test.queue.\(shape.rawValue)", id: 0)
        var handles: [EventHandle] = []
        var now: Int64 = 0
        var payload: UInt64 = 0

        func delay() -> Int64 {
            switch shape {
            case .exponential: return Int64(-20_000 * logApprox(rng.nextOpenDouble()))
            case .sameInstant: return 0
            case .clumped: return Int64(rng.nextInt(below: 4)) * 1_000_000
            case .farFuture: return Int64(rng.nextInt(below: 1 << 42))
            case .mixed:
                switch rng.nextInt(below: 5) {
                case 0: return 0
                case 1: return Int64(rng.nextInt(below: 10))
                case 2: return Int64(rng.nextInt(below: 1 << 20))
                case 3: return Int64(rng.nextInt(below: 1 << 36))
                default: return Int64(-50_000 * logApprox(rng.nextOpenDouble()))
                }
            }
        }

        for step in 0..<6_000 {
            let action = rng.nextInt(below: 100)
            if action < 55 || reference.isEmpty {
                let time = now + delay()
                let priority = EventPriority(rawValue: UInt8(rng.nextInt(below: 3) * 100))
                let h = queue.insert(payload, at: .init(microseconds: time), priority: priority)
                reference.insert(time: time, order: h.order, payload: payload)
                handles.append(h)
                payload += 1
            } else if action < 90 {
                let got = queue.pop()
                let want = reference.popFirst()
                #expect(got?.event == want?.payload, "seed \(seed) step \(step)")
                if let got { #expect(got.time >= now); now = got.time }
            } else if action < 95, !handles.isEmpty {
                let h = handles[Int(rng.nextInt(below: UInt64(handles.count)))]
                let wasPending = reference.remove(order: h.order)
                #expect(queue.cancel(h) == wasPending, "seed \(seed) step \(step)")
            } else {
                // Advance the clock to a limit, as a simulation's run(until:) does.
                let limit = now + delay() + 1
                while let got = queue.pop(before: limit) {
                    let want = reference.popFirst()
                    #expect(got.event == want?.payload, "seed \(seed) step \(step)")
                    now = got.time
                }
                if let next = reference.firstTime { #expect(next >= limit) }
                now = limit
            }
            #expect(queue.count == reference.count)
            #if VODSIM_CHECKS
            if step % 97 == 0 { queue.audit() }
            #endif
        }
        while let got = queue.pop() {
            #expect(got.event == reference.popFirst()?.payload, "seed \(seed) draining")
        }
        #expect(reference.isEmpty)
    }

    @Test("A rebuild leaves no resize pending, so the next pop does not rebuild again")
    func rebuildSettlesGeometry() {
        // A dense clump now and most events far ahead, as a simulation's first instants and its
        // session ends are: when popping the clump narrows the buckets, re-placing the far events
        // overflows the old threshold, which used to schedule a second rebuild straight away
        // (judged on one pop, by another estimator), and so every rebuild came twice.
        var tuning = EventQueueTuning()
        tuning.minCheckInterval = 1_024
        let queue = EventQueue<UInt32>(tuning: tuning)
        var rng = RandomStream(seed: 11, label: "test.queue.settle", id: 0)
        for i in 0..<200_000 {
            let far = i % 2 == 0
            let time = far ? 1_000_000_000 + Int64(rng.nextInt(below: 1_000_000_000)) : Int64(rng.nextInt(below: 1_000))
            queue.insert(UInt32(i), at: .init(microseconds: time))
        }
        var rebuildsSeen = queue.rebuilds
        var popped = 0
        while queue.pop() != nil, popped < 150_000 {
            popped += 1
            if queue.rebuilds > rebuildsSeen {
                rebuildsSeen = queue.rebuilds
                #expect(!queue.resizeDue, "rebuild \(rebuildsSeen) after \(popped) pops left a resize due")
            }
        }
        #expect(rebuildsSeen > 0)
    }

    @Test("A million pending events drain in order and resize the queue")
    func largeDrain() {
        let queue = EventQueue<UInt32>()
        var rng = RandomStream(seed: 7, label: "test.queue.large", id: 0)
        for i in 0..<1_000_000 {
            queue.insert(UInt32(i), at: .init(microseconds: Int64(rng.nextInt(below: 10_000_000_000))))
        }
        #expect(queue.rebuilds > 0)
        var last = QueuedEvent<UInt32>(time: -1, order: 0, event: 0)
        var n = 0
        while let e = queue.pop() {
            #expect(last.precedes(e))
            last = e
            n += 1
        }
        #expect(n == 1_000_000)
    }
}

/// A sorted array of (time, order, payload), the obviously-correct queue.
struct ReferenceQueue {
    private var items: [(time: Int64, order: UInt64, payload: UInt64)] = []  // descending

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    var firstTime: Int64? { items.last?.time }

    mutating func insert(time: Int64, order: UInt64, payload: UInt64) {
        // Binary search for the position in descending order.
        var lo = 0, hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let m = items[mid]
            if m.time > time || (m.time == time && m.order > order) { lo = mid + 1 } else { hi = mid }
        }
        items.insert((time, order, payload), at: lo)
    }

    mutating func popFirst() -> (time: Int64, order: UInt64, payload: UInt64)? {
        items.popLast()
    }

    mutating func remove(order: UInt64) -> Bool {
        guard let i = items.firstIndex(where: { $0.order == order }) else { return false }
        items.remove(at: i)
        return true
    }
}

/// Natural log for test delays without Foundation; the queue only needs varied delays.
func logApprox(_ x: Double) -> Double { log2Double(x) * 0.6931471805599453 }
