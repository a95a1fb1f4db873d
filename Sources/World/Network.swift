#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SimCore

/// The flows sharing one link (a PoP's egress, an origin replica's), for max-min fair sharing.
///
/// Each flow is capped by its own bottleneck (a user's access bandwidth, a server's fill rate).
/// The link's fair share is the water-filling level L: flows capped below L keep their cap, the
/// rest get L, and together they use the link (Bertsekas and Gallager, "Data Networks", §6.5).
/// Flows are kept as a histogram of their caps in quarter-octave bins (100 kbps to ~5 Gbps), so
/// adding, removing and computing L are O(64) whatever the number of flows.
///
/// Simplification: a transfer's rate is set when it starts and kept until it ends ("snapshot"
/// sharing); true processor sharing would re-rate every flow at every arrival and departure, which
/// costs O(flows) per event. To keep a link from serving more than its capacity, a new transfer
/// gets at most the link's headroom (capacity minus the rates already committed), and waits in the
/// link's wait queue (``Links``) while the headroom is under half its fair share; departures admit waiting
/// transfers first come, first served. So a saturated link serves exactly its capacity, the fair
/// share is what a new transfer gets once there is room, and congestion shows as waiting (time to
/// first byte) rather than as slower transfers. While the flow count is steady the two models agree.
public struct FlowSet: Sendable {
    static let bins = 64
    static let floor = 100_000.0

    var counts = [Int32](repeating: 0, count: FlowSet.bins)
    var sums = [Double](repeating: 0, count: FlowSet.bins)
    /// Bit b set while bin b holds flows: the level is found visiting those bins only (a link's
    /// flows fill a few of the 64, and this runs at every transfer's start).
    var occupied: UInt64 = 0
    public private(set) var active = 0
    /// Σ of the rates given to active flows, bits per second.
    public private(set) var committed = 0.0

    public init() {}

    /// A transfer starts once the headroom is at least this share of the rate it is due.
    public static let admission = 0.5

    static func bin(_ cap: Double) -> Int {
        guard cap > floor else { return 0 }
        return min(bins - 1, Int(log2(cap / floor) * 4))
    }

    /// The rate a new flow capped at `cap` gets on a link of `capacity` bits/s.
    public func share(capacity: Double, cap: Double) -> Double {
        share(capacity: capacity, cap: cap, bin: FlowSet.bin(cap))
    }

    /// ``share(capacity:cap:)`` with the cap's bin worked out by the caller: with no call out
    /// (`log2`) in it, the world reads a link's flows in place, where it otherwise copied them.
    @inline(__always)
    func share(capacity: Double, cap: Double, bin newBin: Int) -> Double {
        var flows = Double(active + 1)
        var left = capacity
        var visit = occupied | 1 << UInt64(newBin)
        while visit != 0 {
            let b = visit.trailingZeroBitCount
            visit &= visit &- 1
            var n = Double(counts[b]), s = sums[b]
            if b == newBin {
                n += 1
                s += cap
            }
            guard n > 0 else { continue }
            let level = left / flows
            if s / n >= level { return min(cap, max(0, level)) }
            left -= s
            flows -= n
            if flows <= 0 { break }
        }
        return cap  // every flow fits under its own cap
    }

    public mutating func add(cap: Double, rate: Double) {
        let b = FlowSet.bin(cap)
        counts[b] += 1
        sums[b] += cap
        occupied |= 1 << UInt64(b)
        active += 1
        committed += rate
    }

    public mutating func remove(cap: Double, rate: Double) {
        let b = FlowSet.bin(cap)
        counts[b] -= 1
        sums[b] -= cap
        active -= 1
        committed -= rate
        precondition(counts[b] >= 0 && active >= 0, "flow removed twice")
        // No rounding residue on an empty bin or an idle link.
        if counts[b] == 0 {
            sums[b] = 0
            occupied &= ~(1 << UInt64(b))
        }
        if active == 0 { committed = 0 }
    }
}

/// A first-in, first-out queue over an array: amortised O(1), compacting once half is consumed.
struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }
    var count: Int { items.count - head }
    var first: Element? { isEmpty ? nil : items[head] }

    mutating func append(_ entry: Element) { items.append(entry) }

    mutating func removeFirst() {
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4_096 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
    }
}

/// Round-trip times between regions: a stand-in for distance, from the time-zone difference.
public struct RegionDistances: Sendable {
    let offsets: [Double]
    let base: SimDuration
    let perHour: SimDuration

    public init(regions: [RegionConfiguration], base: SimDuration, perHour: SimDuration) {
        offsets = regions.map { $0.utcOffset.seconds / 3_600 }
        self.base = base
        self.perHour = perHour
    }

    /// Extra round-trip time from region `a` to something in region `b`: zero within a region,
    /// else `base` plus `perHour` for each hour of time-zone difference (around the clock, at most
    /// twelve).
    public func rtt(from a: Int, to b: Int) -> SimDuration {
        guard a != b else { return .zero }
        var hours = abs(offsets[a] - offsets[b]).truncatingRemainder(dividingBy: 24)
        if hours > 12 { hours = 24 - hours }
        return base + SimDuration(seconds: perHour.seconds * hours)
    }
}

extension RegionDistances {
    /// PoPs `candidates`, nearest to region `r` first (the PoP's RTT plus the regions' distance;
    /// ties by index): the order steering ranks them in.
    func nearestFirst(_ pops: [PopConfiguration], among candidates: [Int], from r: Int) -> [Int] {
        func reach(_ p: Int) -> SimDuration { pops[p].rtt + rtt(from: r, to: pops[p].region) }
        return candidates.sorted { a, b in reach(a) < reach(b) || (reach(a) == reach(b) && a < b) }
    }
}
