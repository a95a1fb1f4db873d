import ABR
import CHints
import SimCore

/// The download a session has in flight (or waiting for a link), and which links carry it.
struct Download: Sendable {
    var segment: Int32 = -1
    var rung: UInt8 = 0
    /// Counts the session's downloads (wrapping), so that the events and link-queue entries of one
    /// that failed are recognised as stale.
    var epoch: UInt8 = 0
    /// The tier that serves it: its PoP, a tier above, or an origin replica.
    var servedBy = LinkID(index: 0)
    var requestedAtUs: Int64 = 0
    /// While waiting for a link: the latency to add once it starts; then when its first byte came.
    var firstByteAtUs: Int64 = 0
    var bits: Int64 = 0
    /// The flow's rate, bits/s; 0 while it waits for room on a link.
    var rate: Double = 0
    /// The flow's cap at the session's PoP (the user's access) and upstream (the PoP's share).
    var accessCap: Double = 0
    var upstreamCap: Double = 0
    var active: Bool { segment >= 0 }
    var waiting: Bool { rate == 0 }

    /// `segment` while the session is in a hybrid run's steady window (``SteadyWindows``): no
    /// download in flight; `rung` is the window's, `requestedAtUs` when it began, `rate` the load
    /// it reserves on its link and
    /// `accessCap` the variance its bursts would add (``Links/reserveSteady(_:rate:variance:now:)``).
    static let steadyWindow: Int32 = -2
    var steady: Bool { segment == Download.steadyWindow }
}

/// One session's state: a fixed-size, trivially copyable record, so that the table is one flat
/// block of memory. Fields are ordered by use: what every segment event reads first (generation,
/// links, title, context), then the download and the player, then the QoE already booked, then
/// the activity client's fields, which only its periodic reports touch. Times are microseconds of
/// simulated time (`…Us`). Its size and the place of its hot fields are pinned by the layout tests
/// (WorldTests' "Memory layouts"): a change that grows them is a speed change.
struct SessionRecord {
    var generation: UInt16 = 0
    var region: UInt16 = 0
    var pop: UInt16 = UInt16.max
    var failures: UInt8 = 0
    /// Started before the run (steady-state start): their startup is not measured.
    var warm = false
    var started = false
    /// Whether the slot holds a session (false on the free list).
    var isLive = true
    var originFailure = false
    var title: UInt32 = 0
    var context: UInt32 = 0
    var lastSegment: Int32 = 0
    var user: UInt32 = 0
    var access: Double = 0
    var touchedUs: Int64 = 0
    var watchUntilUs: Int64 = 0
    var arrivalUs: Int64 = 0
    var download = Download()
    var player: Player
    var accounted: (play: Int64, rebuffer: Int64, bits: Double, events: Int32, switches: Int32) = (0, 0, 0, 0, 0)
    var accessTrace: UInt16 = .max
    var traceHint: UInt32 = 0
    var traceOffsetMs: UInt32 = 0
    var traceScale: Float = 0
    var buffer: Int32 = -1
    var sequence: UInt32 = 0
    var client: UInt64 = 0
    var playStartUs: Int64 = -1
    var nextBeatUs: Int64 = .max
    var reportedAtUs: Int64 = 0
    var reportedPositionUs: Int64 = 0
}

/// One field of every session record, indexed by session id: `sessions.player[i]` reads, writes
/// and mutates the field in place in record `i`.
///
/// A view made for each access from the table's current base address; it holds no reference, so
/// using it costs no reference counting, and it must not outlive the expression that made it (the
/// table may move when it grows).
struct SessionColumn<Value> {
    let base: UnsafeMutableRawPointer
    let count: Int
    let offset: Int

    @inline(__always)
    func address(_ i: Int) -> UnsafeMutablePointer<Value> {
        precondition(UInt(bitPattern: i) < UInt(bitPattern: count), "session \(i) out of the table (\(count) slots)")
        return (base + (i &* MemoryLayout<SessionRecord>.stride &+ offset)).assumingMemoryBound(to: Value.self)
    }

    /// Addressors, not a getter: `sessions.player[i].phase` then loads one field where a getter
    /// copied the whole 232-byte player first (a memmove per segment event).
    subscript(i: Int) -> Value {
        @inline(__always) unsafeAddress { UnsafePointer(address(i)) }
        @inline(__always) nonmutating unsafeMutableAddress { address(i) }
    }
}

/// Sessions in progress: a flat array of ``SessionRecord``s indexed by session id, with a free list
/// so that slots are reused and the table never grows past the peak concurrency.
///
/// Why records rather than a struct of arrays: at full scale (10M sessions, ~4.5 GB) each event
/// touches one random session, and a struct of arrays made that ~20 cache and TLB misses on ~20
/// arrays; a record puts what one event touches in a few adjacent cache lines. Columns keep the
/// `sessions.field[i]` syntax (see ``SessionColumn``).
///
/// Each slot carries a generation, bumped when the slot is reused; events name (slot, generation),
/// so an event of a session that has ended is recognised and dropped, with no cancellation.
///
/// A class, shared by the world and the components that work on sessions (``Delivery``, the
/// activity clients); the records are its own memory, freed when it goes.
final class SessionTable {
    @exclusivity(unchecked) private var rows: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var reserved: Int
    /// Slots ever used (live or free).
    @exclusivity(unchecked) private(set) var capacity = 0
    @exclusivity(unchecked) private var freeSlots: [UInt32] = []
    @exclusivity(unchecked) private(set) var live = 0

    static var bytesPerSession: Int { MemoryLayout<SessionRecord>.stride }

    init(reservingCapacity n: Int) {
        precondition(_isPOD(SessionRecord.self), "session records must be trivially copyable: the table moves them as bytes")
        reserved = max(16, n)
        rows = SessionTable.allocate(bytes: reserved * MemoryLayout<SessionRecord>.stride)
    }

    /// Memory for the records. On Linux, pages mapped for the table and marked for transparent
    /// huge pages: at 10M sessions the table is 4 GB read at random, and with 4 KB pages nearly
    /// every event also missed the TLB and walked page tables that are not in cache either (k = 1:
    /// 0.95M -> 1.2M events/s with 2 MB pages). Where huge pages are off, the hint does nothing.
    private static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        guard let p = vodsim_map_huge(bytes) else { fatalError("out of memory for \(bytes) bytes of sessions") }
        return p
    }

    /// The records moved to a block of `bytes` (the kernel remaps the pages; nothing is copied).
    private static func grow(_ p: UnsafeMutableRawPointer, from old: Int, to bytes: Int) -> UnsafeMutableRawPointer {
        guard let moved = vodsim_remap_huge(p, old, bytes) else { fatalError("out of memory for \(bytes) bytes of sessions") }
        return moved
    }

    deinit { vodsim_unmap(rows, reserved * MemoryLayout<SessionRecord>.stride) }

    /// The view of one field; `field` is a key path literal, so the offset folds to a constant.
    @inline(__always)
    private func column<Value>(_ field: KeyPath<SessionRecord, Value>) -> SessionColumn<Value> {
        SessionColumn(base: rows, count: capacity, offset: MemoryLayout<SessionRecord>.offset(of: field)!)
    }

    var generation: SessionColumn<UInt16> { column(\.generation) }
    var region: SessionColumn<UInt16> { column(\.region) }
    var pop: SessionColumn<UInt16> { column(\.pop) }
    var title: SessionColumn<UInt32> { column(\.title) }
    var user: SessionColumn<UInt32> { column(\.user) }
    /// Index of the player context (title, manifest format, rung cap) in the title library.
    var context: SessionColumn<UInt32> { column(\.context) }
    var access: SessionColumn<Double> { column(\.access) }
    var arrivalUs: SessionColumn<Int64> { column(\.arrivalUs) }
    /// Media position at which the user stops, microseconds.
    var watchUntilUs: SessionColumn<Int64> { column(\.watchUntilUs) }
    /// The last segment the session downloads.
    var lastSegment: SessionColumn<Int32> { column(\.lastSegment) }
    var player: SessionColumn<Player> { column(\.player) }
    var download: SessionColumn<Download> { column(\.download) }
    /// QoE already added to the metrics: play, rebuffer (microseconds) and bits played.
    var accounted: SessionColumn<(play: Int64, rebuffer: Int64, bits: Double, events: Int32, switches: Int32)> { column(\.accounted) }
    /// The last mile (``LastMile``): the trace the session plays (`UInt16.max`: constant), the
    /// period it last looked at, how far into the trace it was at its arrival (ms), and the
    /// throughput scale of its current download.
    var accessTrace: SessionColumn<UInt16> { column(\.accessTrace) }
    var traceHint: SessionColumn<UInt32> { column(\.traceHint) }
    var traceOffsetMs: SessionColumn<UInt32> { column(\.traceOffsetMs) }
    var traceScale: SessionColumn<Float> { column(\.traceScale) }
    var warm: SessionColumn<Bool> { column(\.warm) }
    var started: SessionColumn<Bool> { column(\.started) }
    var isLive: SessionColumn<Bool> { column(\.isLive) }
    /// Activity: the client's id, the sequence of its next event, when playback started (to report
    /// a play; -1 when there is none to report), its next heartbeat, and what it last reported (time
    /// and position, for the heartbeats in between), its retry buffer (-1: none).
    var client: SessionColumn<UInt64> { column(\.client) }
    var sequence: SessionColumn<UInt32> { column(\.sequence) }
    var playStartUs: SessionColumn<Int64> { column(\.playStartUs) }
    var nextBeatUs: SessionColumn<Int64> { column(\.nextBeatUs) }
    var reportedAtUs: SessionColumn<Int64> { column(\.reportedAtUs) }
    var reportedPositionUs: SessionColumn<Int64> { column(\.reportedPositionUs) }
    var buffer: SessionColumn<Int32> { column(\.buffer) }
    /// Failed attempts in a row (failover, playback API), whether the last failure was the origin's,
    /// and when something last moved the session on (for audits).
    var failures: SessionColumn<UInt8> { column(\.failures) }
    var originFailure: SessionColumn<Bool> { column(\.originFailure) }
    var touchedUs: SessionColumn<Int64> { column(\.touchedUs) }

    /// Starts loading record `i` (every cache line of it; records are not line-aligned).
    @inline(__always)
    func prefetch(_ i: Int) {
        guard UInt(bitPattern: i) < UInt(bitPattern: capacity) else { return }
        let start = rows + i &* MemoryLayout<SessionRecord>.stride
        var offset = 0
        while offset < MemoryLayout<SessionRecord>.stride {
            SimCore.prefetch(start + offset)
            offset &+= 64
        }
        SimCore.prefetch(start + (MemoryLayout<SessionRecord>.stride &- 1))
    }

    /// Takes a free slot (the most recently released first); the caller fills every column.
    func allocate(placeholder player: Player) -> UInt32 {
        live += 1
        if let id = freeSlots.popLast() {
            generation[Int(id)] &+= 1
            isLive[Int(id)] = true
            return id
        }
        precondition(capacity < Int(UInt32.max), "more than 2^32 sessions in progress")
        if capacity == reserved {
            let grown = reserved * 2
            rows = SessionTable.grow(rows, from: reserved * MemoryLayout<SessionRecord>.stride, to: grown * MemoryLayout<SessionRecord>.stride)
            reserved = grown
        }
        (rows + capacity * MemoryLayout<SessionRecord>.stride).initializeMemory(as: SessionRecord.self, repeating: SessionRecord(player: player), count: 1)
        capacity += 1
        return UInt32(capacity - 1)
    }

    /// Takes a slot for a new session and fills its record: who, where, what it plays and until
    /// when; on no PoP yet, nothing downloading, nothing played.
    func open(player: Player, region: Int, title: Int, user: UInt32, context: UInt32, accessBitsPerSecond: Double, at nowUs: Int64,
              watchUntilUs: Int64, lastSegment: Int) -> UInt32 {
        let s = allocate(placeholder: player)
        let i = Int(s)
        self.region[i] = UInt16(region)
        pop[i] = UInt16.max
        self.title[i] = UInt32(title)
        self.user[i] = user
        self.context[i] = context
        access[i] = accessBitsPerSecond
        arrivalUs[i] = nowUs
        self.watchUntilUs[i] = watchUntilUs
        self.lastSegment[i] = Int32(lastSegment)
        download[i] = Download()
        accounted[i] = (0, 0, 0, 0, 0)
        warm[i] = false
        started[i] = false
        failures[i] = 0
        originFailure[i] = false
        touchedUs[i] = nowUs
        accessTrace[i] = .max
        traceHint[i] = 0
        return s
    }

    /// Returns slot `id` to the free list.
    func release(_ id: UInt32) {
        live -= 1
        generation[Int(id)] &+= 1
        isLive[Int(id)] = false
        freeSlots.append(id)
    }
}
