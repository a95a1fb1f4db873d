import Metrics
import SimCore

/// Why a file is being copied to a site.
enum FillKind: UInt8 {
    /// A miss pulling the file through at once (`onMiss: immediate`), at any time of day.
    case pullThrough
    /// The site's placement plan.
    case planned
    /// A miss queued for the fill window (`onMiss: queued`).
    case missQueued
}

enum FillState: UInt8 {
    case free
    /// In its site's queue, waiting for a server (and, unless pulled through, for the window).
    case queued
    /// Holding a server, waiting for room on its source's egress.
    case linkWait
    case transferring
}

/// Fill jobs, from queued to done, as a struct of arrays indexed by job id with a free list.
struct FillTable {
    var pop: [Int32] = []
    var file: [Int32] = []
    var kind: [FillKind] = []
    var state: [FillState] = []
    /// The serving tier's link: a peer, a tier above or an origin replica; chosen when the job
    /// starts (fixed at creation for pull-through fills: the tier the miss went to).
    var source: [LinkID] = []
    var rate: [Double] = []
    /// The whole file (with its replicas), and what of it has arrived in earlier attempts.
    var bytes: [Double] = []
    var bytesDone: [Double] = []
    var priority: [Double] = []
    var enqueuedAt: [Int64] = []
    var startedAt: [Int64] = []
    /// Bumped when a transfer is cut, so that its completion event is recognised as stale.
    var epoch: [UInt16] = []
    /// Whether the file's space is reserved in the site's storage.
    var reserved: [Bool] = []
    var free: [UInt32] = []

    mutating func allocate() -> UInt32 {
        if let f = free.popLast() { return f }
        pop.append(0); file.append(0); kind.append(.planned); state.append(.free); source.append(LinkID(index: 0)); rate.append(0)
        bytes.append(0); bytesDone.append(0); priority.append(0); enqueuedAt.append(0); startedAt.append(0); epoch.append(0)
        reserved.append(false)
        return UInt32(pop.count - 1)
    }

    mutating func release(_ f: UInt32) {
        state[Int(f)] = .free
        free.append(f)
    }

    var inUse: Int { pop.count - free.count }
}

/// A site's fill jobs waiting to start: most valuable first (then oldest), and the order they came
/// in, for the age of the oldest.
///
/// A binary max-heap on (priority, −sequence) of job ids; entries of jobs that left the queue
/// another way (cancelled) are skipped when they reach the top. The arrival order is a FIFO with
/// the same lazy skipping, so the oldest waiting job is found in amortised O(1).
struct FillQueue {
    struct Entry {
        var priority: Double
        var sequence: UInt64
        var fill: UInt32
    }

    private(set) var heap: [Entry] = []
    /// Jobs in the order they were queued, with the time they were queued then.
    private(set) var arrivals = FIFO<(fill: UInt32, at: Int64)>()
    private var sequence: UInt64 = 0
    /// Jobs in the queue (live entries).
    private(set) var count = 0

    static func before(_ a: Entry, _ b: Entry) -> Bool {
        a.priority > b.priority || (a.priority == b.priority && a.sequence < b.sequence)
    }

    /// Queues `fill`; `time` is when it was first queued. A job re-queued (paused) is not a new
    /// arrival: its owner tracks it apart.
    mutating func push(_ fill: UInt32, priority: Double, at time: Int64, arrival: Bool = true) {
        sequence += 1
        heap.append(Entry(priority: priority, sequence: sequence, fill: fill))
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard FillQueue.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
        if arrival { arrivals.append((fill, time)) }
        count += 1
    }

    /// The oldest arrival not yet dropped.
    var firstArrival: (fill: UInt32, at: Int64)? { arrivals.first }

    mutating func dropFirstArrival() { arrivals.removeFirst() }

    var top: UInt32? { heap.first?.fill }

    mutating func popTop() {
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < heap.count && FillQueue.before(heap[l], heap[best]) { best = l }
                if r < heap.count && FillQueue.before(heap[r], heap[best]) { best = r }
                if best == i { break }
                heap.swapAt(i, best)
                i = best
            }
        }
    }

    /// A live job left the queue (started, dropped or cancelled).
    mutating func left() { count -= 1 }
}

/// Per site: its fill jobs waiting and running, and their figures.
struct SiteFills {
    /// Fill rate of one server, bits/s, after sampling.
    let fillRate: Double
    /// Jobs holding a server (transferring, or waiting for room upstream).
    var running = 0
    var queue = FillQueue()
    /// Jobs put back in the queue when the window closed on them.
    var paused: [UInt32] = []
    var metrics: FillMetrics
}

/// What a site's fills did, for the report (copied into ``PopMetrics`` by `World.results()`).
struct FillMetrics {
    /// Files that arrived by a fill.
    var fills = Counter()
    /// Fill bytes that arrived, by source: a peer in the region, a tier above, the origin.
    var fillBytes = [0.0, 0.0, 0.0]
    /// Jobs refused because the queue was full, and started jobs that found no room (all storage
    /// pinned by the plan).
    var fillJobsDropped = Counter()
    var fillJobsNoSpace = Counter()
    /// Jobs waiting for a server or the window, over time; the age of the oldest at each bucket's
    /// start, seconds (0 when none waits).
    var fillQueue: TimeWeightedSeries
    var oldestJobAge: [Double] = []
    /// Per fill window that closed: whether the plan's fills were all done by then.
    var nights: [NightRecord] = []
}

/// The fill scheduler: copies of files into sites, from queued to done.
///
/// Owns: every fill job (``FillTable``), each site's queue (most valuable first; pull-throughs
/// first of all), its servers busy filling, the fill window (local time per site) and the jobs it
/// paused, each site's peers, and the choice of source (a peer in the region holding the file, else
/// the first tier up that holds it, else the nearest origin replica up). A job reserves its space
/// in the site's storage when it starts (evicting least recently used files, whose own fills are
/// cancelled) and takes a max-min share of its source's link like any transfer, waiting in the
/// link's queue when there is no room. Handles `.fillDone` (``complete(_:epoch:)``) and
/// `.windowCloses` (``windowCloses(_:)``); a transfer's end frees room on its source, which the
/// world's ``Delivery`` admits waiting transfers into (``admitWaiting``, the one call back out).
final class FillScheduler {
    let placement: PlacementConfiguration
    let onOverload: OverloadPolicy
    /// The sampling factor k. A fill is a whole file whatever k is, so it is simulated at full
    /// size and speed; on its source's link (whose capacity is scaled by 1/k, like the users on
    /// it) it takes 1/k of its rate, the share of the link it would take at full scale.
    let sampling: Double
    let regions: [RegionConfiguration]
    let startUnixSeconds: Int64
    let sim: Simulation<WorldEvent>
    let sites: Sites
    let links: Links
    let origin: Origin
    /// Per PoP: the other PoPs of its region it may fill from (not its own tiers), nearest first.
    let peers: [[Int]]
    @exclusivity(unchecked) var jobs = FillTable()
    @exclusivity(unchecked) var site: [SiteFills]
    /// Starts what waits on a link whose transfer ended (set by the world: downloads wait there too).
    var admitWaiting: (LinkID) -> Void = { _ in }
    /// Receives every fill transfer's start, end and cut, when set (tests' checker observers).
    var fillLog: ((FillRecord) -> Void)?

    init(configuration c: WorldConfiguration, sim: Simulation<WorldEvent>, sites: Sites, links: Links, origin: Origin) {
        placement = c.placement
        onOverload = c.origin.onOverload
        sampling = Double(c.sampling)
        regions = c.regions
        startUnixSeconds = c.startUnixSeconds
        self.sim = sim
        self.sites = sites
        self.links = links
        self.origin = origin
        site = c.pops.map {
            SiteFills(fillRate: $0.fillBitsPerSecondPerServer / Double(c.sampling), metrics: FillMetrics(fillQueue: TimeWeightedSeries(bucketWidth: c.metricsBucket)))
        }
        // Peers: same region, neither above nor below in the tier chain; by RTT, then index.
        func chain(_ p: Int) -> [Int] {
            var out: [Int] = []
            var t = p
            while let parent = c.pops[t].parent {
                out.append(parent)
                t = parent
            }
            return out
        }
        peers = c.pops.indices.map { p in
            c.pops.indices.filter { q in
                q != p && c.pops[q].region == c.pops[p].region && !chain(p).contains(q) && !chain(q).contains(p)
            }.sorted { c.pops[$0].rtt < c.pops[$1].rtt || (c.pops[$0].rtt == c.pops[$1].rtt && $0 < $1) }
        }
    }

    // MARK: Fill jobs

    /// Creates a fill job for `file` at PoP `pop` unless one exists, and tries to start it.
    /// Pull-through jobs come first in the queue and ignore the window; `source` is theirs.
    func request(file: Int, at pop: Int, kind: FillKind, priority: Double, source: LinkID = LinkID(index: 0)) {
        guard sites.pops[pop].filling[file] == nil else { return }
        if site[pop].queue.count >= placement.queueLimit {
            site[pop].metrics.fillJobsDropped.increment()
            return
        }
        let f = jobs.allocate()
        let i = Int(f)
        jobs.pop[i] = Int32(pop)
        jobs.file[i] = Int32(file)
        jobs.kind[i] = kind
        jobs.state[i] = .queued
        jobs.source[i] = source
        jobs.rate[i] = 0
        jobs.bytes[i] = 0
        jobs.bytesDone[i] = 0
        jobs.priority[i] = kind == .pullThrough ? .infinity : priority
        jobs.enqueuedAt[i] = sim.now.microseconds
        jobs.epoch[i] &+= 1
        jobs.reserved[i] = false
        sites.pops[pop].filling[file] = f
        site[pop].queue.push(f, priority: jobs.priority[i], at: jobs.enqueuedAt[i])
        pump(pop)  // records the queue's length
    }

    /// Starts queued jobs at `pop` while it has a free server: pull-through jobs at any time, the
    /// others only inside the fill window.
    func pump(_ pop: Int) {
        guard sites.pops[pop].downs == 0 else { return }
        while site[pop].running < sites.pops[pop].servers, let f = site[pop].queue.top {
            let i = Int(f)
            guard jobs.state[i] == .queued, jobs.pop[i] == Int32(pop) else {
                site[pop].queue.popTop()  // an entry of a job that left another way
                continue
            }
            if jobs.kind[i] != .pullThrough && !windowOpen(pop) { break }
            site[pop].queue.popTop()
            site[pop].queue.left()
            start(f)
        }
        noteQueue(pop)
    }

    /// A job leaves the queue for a server: it checks it is still wanted, picks its source,
    /// reserves its space and asks the source for room.
    func start(_ f: UInt32) {
        let i = Int(f)
        let pop = Int(jobs.pop[i]), file = Int(jobs.file[i])
        let wanted: Bool
        switch jobs.kind[i] {
        case .planned: wanted = sites.pops[pop].planned[file]
        case .missQueued, .pullThrough: wanted = !sites.pops[pop].cache.contains(file) || jobs.reserved[i]
        }
        guard wanted else {
            drop(f)
            return
        }
        if jobs.kind[i] != .pullThrough {
            guard let source = source(file: file, for: pop) else {
                drop(f)  // nowhere to fill from (every origin replica down): the next plan or miss asks again
                return
            }
            jobs.source[i] = source
        }
        // The server is taken first: evictions below may cancel other fills, which starts more.
        site[pop].running += 1
        jobs.state[i] = .linkWait
        if !jobs.reserved[i] {
            let replicas = Double(sites.pops[pop].replicas[file])
            let bytes = sites.fileBytes(file) * replicas
            guard let evicted = sites.pops[pop].cache.insert(file, size: bytes, pinned: jobs.kind[i] == .planned) else {
                site[pop].running -= 1
                site[pop].metrics.fillJobsNoSpace.increment()
                drop(f)
                return
            }
            jobs.reserved[i] = true
            jobs.bytes[i] = bytes
            evicted.forEach { fileEvicted(pop, $0) }
        }
        let source = jobs.source[i]
        if links.firstWaiting(source) != nil {
            links.enqueue(.fill(f), on: source)
        } else if let link = transmit(f) {
            links.enqueue(.fill(f), on: link)
        }
    }

    /// Where a site fills a file from: a peer in its region holding it, else the first tier up
    /// that holds it, else the origin replica nearest the top of its tier chain.
    /// (Nil when every origin replica is down.)
    func source(file: Int, for pop: Int) -> LinkID? {
        for peer in peers[pop] where sites.serves(file, at: peer) { return links.pop(peer) }
        var tier = pop
        while let parent = sites.pops[tier].parent {
            if sites.serves(file, at: parent) { return links.pop(parent) }
            tier = parent
        }
        return origin.nearestUp(from: tier).map { links.replica($0) }
    }

    /// Starts the transfer of fill `f` if its source has room, and returns nil; else returns the
    /// source. With the origin full and `onOverload: fail`, the fill fails and its space is freed.
    func transmit(_ f: UInt32) -> LinkID? {
        let i = Int(f)
        guard jobs.state[i] == .linkWait else { return nil }  // cut or cancelled while it waited
        let pop = Int(jobs.pop[i]), source = jobs.source[i]
        let sourceDown = links.site(of: source).map { sites.isDown($0) } ?? !origin.replicas[links.replica(of: source)!].isUp
        if sourceDown {
            requeue(f)  // its source went down while it waited: it will pick another
            return nil
        }
        let now = sim.now
        let cap = site[pop].fillRate
        let due = links.fairShare(source, cap: cap)
        if !links.admits(source, due: due) {
            if let replica = links.replica(of: source), onOverload == .fail {
                origin.replicas[replica].failures.increment()
                cancel(f)
                return nil
            }
            return source
        }
        let rate = max(1, min(due, links.headroom(source)))
        jobs.rate[i] = rate
        jobs.state[i] = .transferring
        jobs.startedAt[i] = now.microseconds
        links.add(source, cap: cap, rate: rate, now: now)
        let left = jobs.bytes[i] - jobs.bytesDone[i]
        let speed = rate * sampling
        sim.schedule(.fillDone(fill: f, epoch: jobs.epoch[i]), after: SimDuration(microseconds: Int64(left * 8 * 1e6 / speed) + 1))
        fillLog?(FillRecord(pop: pop, file: Int(jobs.file[i]), kind: jobs.kind[i], source: links.tier(of: source), event: .started,
                            time: now, rate: speed))
        return nil
    }

    /// Takes a transferring fill off its source's link, booking the bytes that flowed.
    func stopTransfer(_ f: UInt32, completed: Bool, paused: Bool = false) {
        let i = Int(f)
        let pop = Int(jobs.pop[i]), source = jobs.source[i]
        let now = sim.now
        links.remove(source, cap: site[pop].fillRate, rate: jobs.rate[i], now: now)
        let left = jobs.bytes[i] - jobs.bytesDone[i]
        let speed = jobs.rate[i] * sampling
        let moved = completed ? left : min(left, speed * Double(now.microseconds - jobs.startedAt[i]) / 8e6)
        jobs.bytesDone[i] += moved
        // The link's books are in sampled units, like the users' bytes on it.
        let booked = moved / sampling
        let from = SimInstant(microseconds: jobs.startedAt[i])
        links.bookFill(booked, on: source, from: from, to: now)
        // By source: a peer in the region (0), a tier above (1), the origin (2).
        let kind = links.site(of: source).map { sites.pops[$0].region == sites.pops[pop].region && !sites.isAncestor($0, of: pop) ? 0 : 1 } ?? 2
        site[pop].metrics.fillBytes[kind] += moved
        fillLog?(FillRecord(pop: pop, file: Int(jobs.file[i]), kind: jobs.kind[i], source: links.tier(of: source),
                            event: completed ? .completed : paused ? .paused : .cancelled, time: now, rate: speed))
        jobs.epoch[i] &+= 1
        jobs.rate[i] = 0
    }

    /// `.fillDone`: the file is complete at its site (unless the transfer was cut meanwhile).
    func complete(_ f: UInt32, epoch: UInt16) {
        let i = Int(f)
        guard jobs.state[i] == .transferring, jobs.epoch[i] == epoch else { return }
        let pop = Int(jobs.pop[i]), file = Int(jobs.file[i]), source = jobs.source[i]
        stopTransfer(f, completed: true)
        sites.pops[pop].filling[file] = nil
        site[pop].metrics.fills.increment()
        sites.fileArrived(pop, file)
        site[pop].running -= 1
        jobs.release(f)
        pump(pop)
        admitWaiting(source)
    }

    /// Puts a running windowed fill back in its queue (the window closed): what arrived is kept,
    /// and so is its reserved space.
    func pause(_ f: UInt32) {
        let i = Int(f)
        let pop = Int(jobs.pop[i]), source = jobs.source[i]
        let wasTransferring = jobs.state[i] == .transferring
        if wasTransferring { stopTransfer(f, completed: false, paused: true) }
        jobs.state[i] = .queued
        site[pop].running -= 1
        site[pop].queue.push(f, priority: jobs.priority[i], at: jobs.enqueuedAt[i], arrival: false)
        site[pop].paused.append(f)
        if wasTransferring { admitWaiting(source) }
    }

    /// Puts a running fill of any kind back in its queue (its PoP or its source went down): what
    /// arrived is kept, and so is its space; it picks its source again when it restarts.
    func requeue(_ f: UInt32) {
        let i = Int(f)
        if jobs.kind[i] == .pullThrough, jobs.state[i] == .transferring || jobs.state[i] == .linkWait {
            // A pull-through had its source fixed by the miss; it now fills like a queued miss.
            jobs.kind[i] = .missQueued
            jobs.priority[i] = .infinity
        }
        pause(f)
        pump(Int(jobs.pop[i]))
    }

    /// Requeues every running fill into PoP `p` or from link `source` (a PoP or replica went down).
    func requeueRunning(into p: Int? = nil, from source: LinkID) {
        for f in jobs.pop.indices where jobs.state[f] == .linkWait || jobs.state[f] == .transferring {
            if p.map({ Int(jobs.pop[f]) == $0 }) ?? false || jobs.source[f] == source { requeue(UInt32(f)) }
        }
    }

    /// Ends a job that is no longer wanted before it holds a server or space.
    func drop(_ f: UInt32) {
        let i = Int(f)
        let pop = Int(jobs.pop[i]), file = Int(jobs.file[i])
        if sites.pops[pop].filling[file] == f { sites.pops[pop].filling[file] = nil }
        jobs.release(f)
    }

    /// Ends a job wherever it is (its file was evicted, or its origin read failed): stops its
    /// transfer, frees its server and space.
    func cancel(_ f: UInt32) {
        let i = Int(f)
        let pop = Int(jobs.pop[i]), file = Int(jobs.file[i]), source = jobs.source[i]
        switch jobs.state[i] {
        case .free:
            return
        case .queued:
            site[pop].queue.left()  // its heap entry is skipped when it surfaces
        case .linkWait:
            site[pop].running -= 1  // its link-queue entry is skipped when reached
        case .transferring:
            stopTransfer(f, completed: false)
            site[pop].running -= 1
        }
        let wasTransferring = jobs.state[i] == .transferring
        let running = jobs.state[i] != .queued
        if sites.pops[pop].filling[file] == f { sites.pops[pop].filling[file] = nil }
        if jobs.reserved[i] && sites.pops[pop].cache.contains(file) { sites.pops[pop].cache.remove(file) }
        jobs.release(f)
        if running { pump(pop) }
        if wasTransferring { admitWaiting(source) }
    }

    /// `file` left `pop`'s storage (evicted): a fill still bringing it in is cancelled.
    func fileEvicted(_ pop: Int, _ file: Int) {
        if let f = sites.pops[pop].filling[file] {
            jobs.reserved[Int(f)] = false  // the cache already let it go
            cancel(f)
        } else {
            sites.fileRemoved(pop, file)
        }
    }

    /// Records the queue's length for the time series.
    func noteQueue(_ pop: Int) {
        site[pop].metrics.fillQueue.set(Double(site[pop].queue.count), at: sim.now)
    }

    /// The enqueue time of the oldest job still waiting at `pop`, if any: the first live arrival,
    /// or a paused job (queued long ago, then run, then put back).
    func oldestQueued(_ pop: Int) -> Int64? {
        func waiting(_ f: UInt32, since at: Int64) -> Bool {
            let i = Int(f)
            return jobs.state[i] == .queued && jobs.pop[i] == Int32(pop) && jobs.enqueuedAt[i] == at
        }
        var oldest: Int64?
        while let entry = site[pop].queue.firstArrival {
            if waiting(entry.fill, since: entry.at) {
                oldest = entry.at
                break
            }
            site[pop].queue.dropFirstArrival()
        }
        site[pop].paused.removeAll { !waiting($0, since: jobs.enqueuedAt[Int($0)]) || jobs.kind[Int($0)] == .pullThrough }
        for f in site[pop].paused { oldest = min(oldest ?? .max, jobs.enqueuedAt[Int(f)]) }
        return oldest
    }

    /// At each bucket's start: the age of each site's oldest waiting job.
    func sampleOldest() {
        let now = sim.now
        for pop in site.indices {
            let age = oldestQueued(pop).map { Double(now.microseconds - $0) / 1e6 } ?? 0
            site[pop].metrics.oldestJobAge.append(age)
        }
    }

    // MARK: Fill windows

    /// Seconds into the local day at `pop`, at `time`.
    func localSecond(_ pop: Int, at time: SimInstant) -> Int64 {
        let offset = regions[sites.pops[pop].region].utcOffset.microseconds / 1_000_000
        let s = startUnixSeconds + time.microseconds / 1_000_000 + offset
        return ((s % 86_400) + 86_400) % 86_400
    }

    /// Whether `pop`'s fill window is open now. A window whose start equals its end is always open.
    func windowOpen(_ pop: Int, at time: SimInstant? = nil) -> Bool {
        let start = placement.windowStart.microseconds / 1_000_000, end = placement.windowEnd.microseconds / 1_000_000
        guard start != end else { return true }
        let local = localSecond(pop, at: time ?? sim.now)
        return start < end ? (local >= start && local < end) : (local >= start || local < end)
    }

    /// The first instant strictly after `time` at which `pop`'s local clock reads `secondOfDay`.
    func next(_ secondOfDay: Int64, at pop: Int, after time: SimInstant) -> SimInstant {
        let day: Int64 = 86_400_000_000
        let offset = regions[sites.pops[pop].region].utcOffset.microseconds
        let local = ((startUnixSeconds * 1_000_000 + offset + time.microseconds) % day + day) % day
        var wait = ((secondOfDay * 1_000_000 - local) % day + day) % day
        if wait == 0 { wait = day }
        return SimInstant(microseconds: time.microseconds + wait)
    }

    /// When the windows of the sites `owned` open (and sites plan) before `end`.
    func windowOpenings(owned: (Int) -> Bool, before end: SimInstant) -> [SimInstant] {
        var times: [SimInstant] = []
        for pop in site.indices where owned(pop) {
            var t = next(placement.windowStart.microseconds / 1_000_000, at: pop, after: .zero)
            while t < end {
                times.append(t)
                t = t + .hours(24)
            }
        }
        return times
    }

    /// Each site's daily window opening (and plan) and closing, for the sites `owned`. A window
    /// open at the start is open from the start; an always-open window (start = end) still plans daily.
    func scheduleWindows(owned: (Int) -> Bool) {
        for pop in site.indices where owned(pop) {
            sim.schedule(.windowOpens(pop: UInt16(pop)), at: next(placement.windowStart.microseconds / 1_000_000, at: pop, after: .zero))
            if placement.windowStart != placement.windowEnd {
                sim.schedule(.windowCloses(pop: UInt16(pop)), at: next(placement.windowEnd.microseconds / 1_000_000, at: pop, after: .zero))
            }
        }
    }

    /// `.windowCloses`: windowed fills still running go back to the queue, and the night is
    /// recorded as complete if no planned fill is left.
    func windowCloses(_ pop: Int) {
        sim.schedule(.windowCloses(pop: UInt16(pop)), after: .hours(24))
        var jobsLeft = 0, bytesLeft = 0.0
        for i in jobs.pop.indices where jobs.pop[i] == Int32(pop) && jobs.state[i] != .free {
            if jobs.kind[i] == .planned {
                jobsLeft += 1
                bytesLeft += (jobs.reserved[i] ? jobs.bytes[i] : sites.fileBytes(Int(jobs.file[i])) * Double(sites.pops[pop].replicas[Int(jobs.file[i])]))
                    - jobs.bytesDone[i]
            }
            if jobs.kind[i] != .pullThrough && (jobs.state[i] == .linkWait || jobs.state[i] == .transferring) {
                pause(UInt32(i))
            }
        }
        noteQueue(pop)
        if placement.plans == .daily {
            site[pop].metrics.nights.append(NightRecord(time: sim.now, jobsLeft: jobsLeft, bytesLeft: bytesLeft))
        }
        pump(pop)  // pull-through jobs may use the freed servers
    }
}

/// A fill transfer starting, completing, paused by the window's close or cancelled (its file
/// evicted or unplanned, or its origin read failed), for tests' checker observers.
public struct FillRecord: Sendable {
    public enum Event: Sendable { case started, completed, paused, cancelled }
    public var pop: Int
    public var file: Int
    var kind: FillKind
    /// The tier it comes from.
    public var source: Tier
    public var event: Event
    public var time: SimInstant
    /// Bits per second the file arrives at (full scale).
    public var rate: Double
    /// Whether the fill window bound it (a plan or a queued miss; not a pull-through).
    public var windowed: Bool { kind != .pullThrough }
}

