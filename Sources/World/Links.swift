import Metrics
import SimCore
import Stochastics

/// A link: one PoP's egress or one origin replica's. One id space, PoPs first (link `p` is PoP
/// `p`), then the replicas (link `pops + r` is replica `r`), so that every link's state is one
/// array element away and a session or a fill names the tier serving it in two bytes.
struct LinkID: Hashable, Comparable, Sendable {
    let index: UInt16

    init(index: Int) {
        precondition(index >= 0 && index < Int(UInt16.max), "link id out of range")
        self.index = UInt16(truncatingIfNeeded: index)
    }

    static func < (a: LinkID, b: LinkID) -> Bool { a.index < b.index }
}

/// What waits on a saturated link: a session's download (named by slot, generation and download
/// epoch, so that a stale entry is recognised when reached) or a fill job.
enum WaitEntry: Equatable {
    case download(session: UInt32, generation: UInt16, epoch: UInt8)
    case fill(UInt32)
}

/// One link's state: its capacity, the flows sharing it, what waits for room on it, and what it
/// carried.
struct Link {
    /// Bits per second after sampling: as built, and as it is now (a PoP's lost servers, a
    /// partition's share of a replica).
    let baseCapacity: Double
    var capacity: Double
    var flows = FlowSet()
    var waiting = FIFO<WaitEntry>()
    /// Transfers (downloads, fills) that waited for room on it.
    var waited = Counter()
    /// Bytes it carried per bucket (sampled), booked over each transfer's span; and in all.
    var served: TimeSeries
    var servedBytes = 0.0
    /// Of `served`: bytes it passed on for another PoP's users (a tier above or the origin serving
    /// a miss), and bytes of fills it was the source of; with the requests (GETs) behind them.
    var relayed: TimeSeries
    var filled: TimeSeries
    var relayRequests: Int64 = 0
    var fillRequests: Int64 = 0
    /// Committed rate over capacity, time-weighted per bucket.
    var utilisation: TimeWeightedSeries
    /// The constant rate reserved for steady sessions of a hybrid run (their segments' bytes over
    /// their windows), bits/s: capacity that flows do not share.
    var steadyRate = 0.0
    /// The variance the steady sessions' load would have as the on-off bursts the segment model
    /// sends ((bits/s)²: a session of mean rate r downloading at a rate A has r(A − r)).
    var steadyVariance = 0.0

    var committedShare: Double { (flows.committed + steadyRate) / capacity }
}

/// Every link of the platform and the rules they share by.
///
/// Owns: capacities, the max-min fair sharing of each link among its flows (``FlowSet``:
/// snapshot rates, a new transfer gets at most the headroom), the first-come first-served wait
/// queues of saturated links, and the bytes, waits and utilisation each link records. Handles no
/// event itself: the world asks it for a share or for room when a download or a fill starts, books
/// the flow, and admits what waits when a transfer ends (``Delivery/admitWaiting(_:)``, which knows
/// how to start each kind of entry).
///
/// A class: the world's ``Delivery`` and ``FillScheduler`` both start and end transfers on it.
final class Links {
    /// PoPs (their links come first).
    let popCount: Int
    @exclusivity(unchecked) private(set) var all: [Link]
    /// Mixed into every draw of the steady sessions' bursts (the scenario's seed).
    let burstSalt: UInt64

    /// Links of `popCapacity.count` PoPs then `replicaCapacity.count` origin replicas, bits/s
    /// after sampling, recording per bucket of `bucket`.
    init(popCapacity: [Double], replicaCapacity: [Double], bucket: SimDuration, burstSalt: UInt64 = 0) {
        precondition(popCapacity.count + replicaCapacity.count < Int(UInt16.max), "too many links")
        popCount = popCapacity.count
        self.burstSalt = RandomStream.mix64(burstSalt ^ 0x6275_7273_7473)
        all = (popCapacity + replicaCapacity).map {
            Link(baseCapacity: $0, capacity: $0, served: TimeSeries(bucketWidth: bucket), relayed: TimeSeries(bucketWidth: bucket),
                 filled: TimeSeries(bucketWidth: bucket), utilisation: TimeWeightedSeries(bucketWidth: bucket))
        }
    }

    /// The links of `c`'s PoPs and of `replicas` origin replicas, capacities scaled by the sampling factor.
    convenience init(configuration c: WorldConfiguration, replicas: Int) {
        let k = Double(c.sampling)
        self.init(popCapacity: c.pops.map { $0.egressBitsPerSecond / k }, replicaCapacity: Array(repeating: c.origin.egressBitsPerSecond / k, count: replicas),
                  bucket: c.metricsBucket, burstSalt: c.seed)
    }

    /// PoP `p`'s egress.
    @inline(__always) func pop(_ p: Int) -> LinkID { LinkID(index: p) }
    /// Origin replica `r`'s egress.
    @inline(__always) func replica(_ r: Int) -> LinkID { LinkID(index: popCount &+ r) }
    /// The PoP whose link `link` is, or nil (a replica's).
    @inline(__always) func site(of link: LinkID) -> Int? { Int(link.index) < popCount ? Int(link.index) : nil }
    /// The origin replica whose link `link` is, or nil (a PoP's).
    @inline(__always) func replica(of link: LinkID) -> Int? { Int(link.index) >= popCount ? Int(link.index) - popCount : nil }
    var ids: [LinkID] { all.indices.map { LinkID(index: $0) } }
    /// The tier whose link `link` is.
    func tier(of link: LinkID) -> Tier { site(of: link).map { .pop($0) } ?? .origin(replica: replica(of: link)!) }

    subscript(link: LinkID) -> Link {
        @inline(__always) get { all[Int(link.index)] }
        @inline(__always) _modify { yield &all[Int(link.index)] }
    }

    /// The rate a new flow capped at `cap` would get on `link` (its max-min fair share).
    @inline(__always)
    func fairShare(_ link: LinkID, cap: Double) -> Double {
        let i = Int(link.index)
        return all[i].flows.share(capacity: all[i].capacity - all[i].steadyRate, cap: cap, bin: FlowSet.bin(cap))
    }

    /// Capacity not committed to flows, bits/s.
    @inline(__always)
    func headroom(_ link: LinkID) -> Double {
        let i = Int(link.index)
        return all[i].capacity - all[i].flows.committed - all[i].steadyRate
    }

    /// The steady sessions' load on `link` as one look at it finds it, bits/s: in the segment
    /// model their downloads are on-off bursts, so the steering sees
    /// their mean rate plus a deviation of standard deviation √``Link/steadyVariance``; here a
    /// normal draw of it (never below 0), keyed by `key` (the looker and the time) so that it is
    /// deterministic whatever the threads. Without steady sessions, exactly their mean (0). Each
    /// look draws afresh: the bursts' correlation over a download's length is left out
    /// (docs/world.md, "Fidelity").
    @inline(__always)
    func steadyLoad(_ link: LinkID, draw key: UInt64) -> Double {
        let i = Int(link.index)
        let variance = all[i].steadyVariance
        guard variance > 0 else { return all[i].steadyRate }
        let bits = RandomStream.mix64(RandomStream.mix64(key ^ burstSalt) &+ UInt64(link.index))
        let u = (Double(bits >> 11) + 0.5) * 0x1p-53
        return max(0, all[i].steadyRate + variance.squareRoot() * GSL.normalQuantile(u))
    }

    /// Committed rate over capacity now, with the steady sessions' load at `steady`.
    @inline(__always)
    func utilisation(_ link: LinkID, steady: Double) -> Double {
        let i = Int(link.index)
        return (all[i].flows.committed + steady) / all[i].capacity
    }

    /// Whether a transfer due `due` bits/s may start on `link` now (see ``FlowSet/admission``).
    @inline(__always)
    func admits(_ link: LinkID, due: Double) -> Bool { headroom(link) >= FlowSet.admission * due }

    /// Capacity now, bits/s (read in place: `links[id].capacity` may copy the whole link, with a
    /// retain of each of its arrays, which the steady-state start would do per session and PoP).
    @inline(__always)
    func capacity(_ link: LinkID) -> Double { all[Int(link.index)].capacity }

    /// Committed rate over capacity now.
    @inline(__always)
    func utilisation(_ link: LinkID) -> Double { all[Int(link.index)].committedShare }

    func setCapacity(_ link: LinkID, _ capacity: Double) { all[Int(link.index)].capacity = capacity }

    /// A flow capped at `cap` starts at `rate`.
    @inline(__always)
    func add(_ link: LinkID, cap: Double, rate: Double, now: SimInstant) {
        let i = Int(link.index)
        all[i].flows.add(cap: cap, rate: rate)
        all[i].utilisation.set(all[i].committedShare, at: now)
    }

    /// A flow ends; the caller then admits what waits on every link it freed.
    @inline(__always)
    func remove(_ link: LinkID, cap: Double, rate: Double, now: SimInstant) {
        let i = Int(link.index)
        all[i].flows.remove(cap: cap, rate: rate)
        all[i].utilisation.set(all[i].committedShare, at: now)
    }

    /// A steady session's window starts (`rate` > 0) or ends (`rate` < 0): its mean rate is
    /// reserved on `link` meanwhile, so that flows see the capacity it leaves; `variance` is what
    /// its bursts would add (``Link/steadyVariance``).
    @inline(__always)
    func reserveSteady(_ link: LinkID, rate: Double, variance: Double, now: SimInstant) {
        let i = Int(link.index)
        all[i].steadyRate = max(0, all[i].steadyRate + rate)
        all[i].steadyVariance = max(0, all[i].steadyVariance + variance)
        all[i].utilisation.set(all[i].committedShare, at: now)
    }

    /// The load on `link` a new steady window must stay under: committed flows, steady sessions'
    /// mean rates and `sigmas` standard deviations of their bursts (plus `variance` of its own),
    /// over capacity.
    @inline(__always)
    func burstLoad(_ link: LinkID, sigmas: Double, adding variance: Double) -> Double {
        let i = Int(link.index)
        return (all[i].flows.committed + all[i].steadyRate + sigmas * (all[i].steadyVariance + variance).squareRoot()) / all[i].capacity
    }

    /// Books `bytes` carried between `from` and `to` (spread over the buckets they cover).
    @inline(__always)
    func book(_ bytes: Double, on link: LinkID, from: SimInstant, to: SimInstant) {
        let i = Int(link.index)
        all[i].served.addSpread(bytes, from: from, to: to)
        all[i].servedBytes += bytes
    }

    /// Books `bytes` that `link` carried for another PoP's user (a miss served from above): in
    /// ``book(_:on:from:to:)`` and as relayed, one request.
    @inline(__always)
    func bookRelay(_ bytes: Double, on link: LinkID, from: SimInstant, to: SimInstant) {
        book(bytes, on: link, from: from, to: to)
        let i = Int(link.index)
        all[i].relayed.addSpread(bytes, from: from, to: to)
        all[i].relayRequests += 1
    }

    /// Books `bytes` of a fill `link` was the source of: in ``book(_:on:from:to:)`` and as filled,
    /// one request.
    func bookFill(_ bytes: Double, on link: LinkID, from: SimInstant, to: SimInstant) {
        book(bytes, on: link, from: from, to: to)
        let i = Int(link.index)
        all[i].filled.addSpread(bytes, from: from, to: to)
        all[i].fillRequests += 1
    }

    /// The oldest entry waiting on `link`, read in place.
    @inline(__always)
    func firstWaiting(_ link: LinkID) -> WaitEntry? { all[Int(link.index)].waiting.first }

    func enqueue(_ entry: WaitEntry, on link: LinkID) {
        let i = Int(link.index)
        all[i].waiting.append(entry)
        all[i].waited.increment()
    }

    func dequeue(_ link: LinkID) { all[Int(link.index)].waiting.removeFirst() }
}

/// A tier content comes from: a PoP (the serving site, a peer or a tier above) or an origin replica.
public enum Tier: Hashable, Sendable {
    case pop(Int)
    case origin(replica: Int)
}
