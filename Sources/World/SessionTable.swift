import ABR
import SimCore

/// The download a session has in flight (or waiting for a link), and which links carry it.
struct Download: Sendable {
    var segment: Int32 = -1
    var rung: UInt8 = 0
    /// Counts the session's downloads (wrapping), so that the events and link-queue entries of one
    /// that failed are recognised as stale.
    var epoch: UInt8 = 0
    /// The tier that serves it: a PoP index, or -1 - replica for the origin.
    var servedBy: Int16 = 0
    var requestedAt: Int64 = 0
    /// While waiting for a link: the latency to add once it starts; then when its first byte came.
    var firstByteAt: Int64 = 0
    var bits: Int64 = 0
    /// The flow's rate, bits/s; 0 while it waits for room on a link.
    var rate: Double = 0
    /// The flow's cap at the session's PoP (the user's access) and upstream (the PoP's share).
    var accessCap: Double = 0
    var upstreamCap: Double = 0
    var active: Bool { segment >= 0 }
    var waiting: Bool { rate == 0 }
}

/// Sessions in progress, as a struct of arrays indexed by session id, with a free list so that
/// slots are reused and the arrays never grow past the peak concurrency.
///
/// Each slot carries a generation, bumped when the slot is reused; events name (slot, generation),
/// so an event of a session that has ended is recognised and dropped, with no cancellation.
/// Per session: about 430 bytes, the player's state (≤ 232) the largest part.
struct SessionTable {
    var generation: [UInt16] = []
    var region: [UInt16] = []
    var pop: [UInt16] = []
    var title: [UInt32] = []
    var user: [UInt32] = []
    /// Index of the player context (title, manifest format, rung cap) in the title library.
    var context: [UInt32] = []
    var access: [Double] = []
    var arrival: [Int64] = []
    /// Media position at which the user stops, microseconds.
    var watchUntil: [Int64] = []
    /// The last segment the session downloads.
    var lastSegment: [Int32] = []
    var player: [Player] = []
    var download: [Download] = []
    /// QoE already added to the metrics: play, rebuffer (microseconds) and bits played.
    var accounted: [(play: Int64, rebuffer: Int64, bits: Double, events: Int32, switches: Int32)] = []
    /// Started before the run (steady-state start): their startup is not measured.
    var warm: [Bool] = []
    var started: [Bool] = []
    /// Whether the slot holds a session (false on the free list).
    var isLive: [Bool] = []
    /// Activity: the client's id, the sequence of its next event, when playback started (to report
    /// a play; -1 when there is none to report), its next heartbeat, and what it last reported (time
    /// and position, for the heartbeats in between), its retry buffer (-1: none).
    var client: [UInt64] = []
    var sequence: [UInt32] = []
    var playStart: [Int64] = []
    var nextBeat: [Int64] = []
    var reportedAt: [Int64] = []
    var reportedPosition: [Int64] = []
    var buffer: [Int32] = []
    /// Failed attempts in a row (failover, playback API), whether the last failure was the origin's,
    /// and when something last moved the session on (for audits).
    var failures: [UInt8] = []
    var originFailure: [Bool] = []
    var touched: [Int64] = []
    private var free: [UInt32] = []
    private(set) var live = 0

    init(reservingCapacity n: Int) {
        generation.reserveCapacity(n)
        region.reserveCapacity(n)
        pop.reserveCapacity(n)
        title.reserveCapacity(n)
        user.reserveCapacity(n)
        context.reserveCapacity(n)
        access.reserveCapacity(n)
        arrival.reserveCapacity(n)
        watchUntil.reserveCapacity(n)
        lastSegment.reserveCapacity(n)
        player.reserveCapacity(n)
        download.reserveCapacity(n)
        accounted.reserveCapacity(n)
        warm.reserveCapacity(n)
        started.reserveCapacity(n)
        client.reserveCapacity(n)
        sequence.reserveCapacity(n)
        playStart.reserveCapacity(n)
        nextBeat.reserveCapacity(n)
        reportedAt.reserveCapacity(n)
        reportedPosition.reserveCapacity(n)
        buffer.reserveCapacity(n)
    }

    var capacity: Int { region.count }

    /// Takes a free slot (the most recently released first); the caller fills every column.
    mutating func allocate(placeholder player: Player) -> UInt32 {
        live += 1
        if let id = free.popLast() {
            generation[Int(id)] &+= 1
            isLive[Int(id)] = true
            return id
        }
        precondition(region.count < Int(UInt32.max), "more than 2^32 sessions in progress")
        generation.append(0)
        region.append(0)
        pop.append(UInt16.max)
        title.append(0)
        user.append(0)
        context.append(0)
        access.append(0)
        arrival.append(0)
        watchUntil.append(0)
        lastSegment.append(0)
        self.player.append(player)
        download.append(Download())
        accounted.append((0, 0, 0, 0, 0))
        warm.append(false)
        started.append(false)
        isLive.append(true)
        client.append(0)
        sequence.append(0)
        playStart.append(-1)
        nextBeat.append(.max)
        reportedAt.append(0)
        reportedPosition.append(0)
        buffer.append(-1)
        failures.append(0)
        originFailure.append(false)
        touched.append(0)
        return UInt32(region.count - 1)
    }

    /// Returns slot `id` to the free list.
    mutating func release(_ id: UInt32) {
        live -= 1
        generation[Int(id)] &+= 1
        isLive[Int(id)] = false
        free.append(id)
    }
}
