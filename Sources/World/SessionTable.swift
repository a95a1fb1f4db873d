import SimCore

/// Sessions in progress, as a struct of arrays indexed by session id, with a free list so that ids
/// are reused and the arrays never grow past the peak concurrency.
///
/// Per session today: region (2 bytes), start time (8), random stream (16) = 26 bytes. Later model
/// parts (player state, PoP, title) add columns here rather than objects per session, so that 10M
/// concurrent sessions cost arrays, not 10M allocations.
public struct SessionTable: Sendable {
    public private(set) var region: [UInt16] = []
    public private(set) var startTime: [Int64] = []
    /// Each session's own random stream: its draws do not depend on other sessions.
    public var stream: [RandomStream] = []
    private var free: [UInt32] = []
    /// Sessions in progress.
    public private(set) var live = 0

    public init(reservingCapacity capacity: Int = 0) {
        region.reserveCapacity(capacity)
        startTime.reserveCapacity(capacity)
        stream.reserveCapacity(capacity)
    }

    /// The slots ever used (live plus free).
    public var capacity: Int { region.count }

    /// Takes a free slot (the most recently released first) and fills it.
    /// - Complexity: O(1) amortised.
    public mutating func allocate(region r: UInt16, start: SimInstant, stream s: RandomStream) -> UInt32 {
        live += 1
        if let id = free.popLast() {
            let i = Int(id)
            region[i] = r
            startTime[i] = start.microseconds
            stream[i] = s
            return id
        }
        precondition(region.count < Int(UInt32.max), "more than 2^32 sessions in progress")
        region.append(r)
        startTime.append(start.microseconds)
        stream.append(s)
        return UInt32(region.count - 1)
    }

    /// Returns slot `id` to the free list.
    public mutating func release(_ id: UInt32) {
        live -= 1
        free.append(id)
    }
}
