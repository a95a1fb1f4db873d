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

extension World {
    // MARK: Fill jobs

    /// Creates a fill job for `file` at PoP `pop` unless one exists, and tries to start it.
    /// Pull-through jobs come first in the queue and ignore the window; `source` is theirs.
    func requestFill(file: Int, at pop: Int, kind: FillKind, priority: Double, source: LinkID = LinkID(index: 0)) {
        guard pops[pop].filling[file] == nil else { return }
        if pops[pop].fillQueue.count >= configuration.placement.queueLimit {
            pops[pop].metrics.fillJobsDropped.increment()
            return
        }
        let f = fills.allocate()
        let i = Int(f)
        fills.pop[i] = Int32(pop)
        fills.file[i] = Int32(file)
        fills.kind[i] = kind
        fills.state[i] = .queued
        fills.source[i] = source
        fills.rate[i] = 0
        fills.bytes[i] = 0
        fills.bytesDone[i] = 0
        fills.priority[i] = kind == .pullThrough ? .infinity : priority
        fills.enqueuedAt[i] = sim.now.microseconds
        fills.epoch[i] &+= 1
        fills.reserved[i] = false
        pops[pop].filling[file] = f
        pops[pop].fillQueue.push(f, priority: fills.priority[i], at: fills.enqueuedAt[i])
        pumpFills(pop)  // records the queue's length
    }

    /// Starts queued jobs at `pop` while it has a free server: pull-through jobs at any time, the
    /// others only inside the fill window.
    func pumpFills(_ pop: Int) {
        guard pops[pop].downs == 0 else { return }
        while pops[pop].fillsRunning < pops[pop].servers, let f = pops[pop].fillQueue.top {
            let i = Int(f)
            guard fills.state[i] == .queued, fills.pop[i] == Int32(pop) else {
                pops[pop].fillQueue.popTop()  // an entry of a job that left another way
                continue
            }
            if fills.kind[i] != .pullThrough && !windowOpen(pop) { break }
            pops[pop].fillQueue.popTop()
            pops[pop].fillQueue.left()
            startFill(f)
        }
        noteQueue(pop)
    }

    /// A job leaves the queue for a server: it checks it is still wanted, picks its source,
    /// reserves its space and asks the source for room.
    func startFill(_ f: UInt32) {
        let i = Int(f)
        let pop = Int(fills.pop[i]), file = Int(fills.file[i])
        let wanted: Bool
        switch fills.kind[i] {
        case .planned: wanted = pops[pop].planned[file]
        case .missQueued, .pullThrough: wanted = !pops[pop].cache.contains(file) || fills.reserved[i]
        }
        guard wanted else {
            dropFill(f)
            return
        }
        if fills.kind[i] != .pullThrough {
            guard let source = fillSource(file: file, for: pop) else {
                dropFill(f)  // nowhere to fill from (every origin replica down): the next plan or miss asks again
                return
            }
            fills.source[i] = source
        }
        // The server is taken first: evictions below may cancel other fills, which starts more.
        pops[pop].fillsRunning += 1
        fills.state[i] = .linkWait
        if !fills.reserved[i] {
            let replicas = Double(pops[pop].replicas[file])
            let bytes = fileBytes(file) * replicas
            guard let evicted = pops[pop].cache.insert(file, size: bytes, pinned: fills.kind[i] == .planned) else {
                pops[pop].fillsRunning -= 1
                pops[pop].metrics.fillJobsNoSpace.increment()
                dropFill(f)
                return
            }
            fills.reserved[i] = true
            fills.bytes[i] = bytes
            evicted.forEach { fileLeft(pop, $0) }
        }
        let source = fills.source[i]
        if links.firstWaiting(source) != nil {
            links.enqueue(.fill(f), on: source)
        } else if let link = transmitFill(f) {
            links.enqueue(.fill(f), on: link)
        }
    }

    /// Where a site fills a file from: a peer in its region holding it, else the first tier up
    /// that holds it, else the origin replica nearest the top of its tier chain.
    /// (Nil when every origin replica is down.)
    func fillSource(file: Int, for pop: Int) -> LinkID? {
        for peer in peers[pop] where pops[peer].serves(file) { return links.pop(peer) }
        var tier = pop
        while let parent = pops[tier].parent {
            if pops[parent].serves(file) { return links.pop(parent) }
            tier = parent
        }
        return origin.nearestUp(from: tier).map { links.replica($0) }
    }

    /// Starts the transfer of fill `f` if its source has room, and returns nil; else returns the
    /// source. With the origin full and `onOverload: fail`, the fill fails and its space is freed.
    func transmitFill(_ f: UInt32) -> LinkID? {
        let i = Int(f)
        guard fills.state[i] == .linkWait else { return nil }  // cut or cancelled while it waited
        let pop = Int(fills.pop[i]), source = fills.source[i]
        let sourceDown = links.site(of: source).map { isDown($0) } ?? !origin.replicas[links.replica(of: source)!].isUp
        if sourceDown {
            requeueFill(f)  // its source went down while it waited: it will pick another
            return nil
        }
        let now = sim.now
        let cap = pops[pop].fillRate
        let due = links.fairShare(source, cap: cap)
        if !links.admits(source, due: due) {
            if let replica = links.replica(of: source), configuration.origin.onOverload == .fail {
                origin.replicas[replica].failures.increment()
                cancelFill(f)
                return nil
            }
            return source
        }
        let rate = max(1, min(due, links.headroom(source)))
        fills.rate[i] = rate
        fills.state[i] = .transferring
        fills.startedAt[i] = now.microseconds
        links.add(source, cap: cap, rate: rate, now: now)
        let left = fills.bytes[i] - fills.bytesDone[i]
        let speed = rate * sampling
        sim.schedule(.fillDone(fill: f, epoch: fills.epoch[i]), after: SimDuration(microseconds: Int64(left * 8 * 1e6 / speed) + 1))
        fillLog?(FillRecord(pop: pop, file: Int(fills.file[i]), kind: fills.kind[i], source: tier(source), event: .started, time: now,
                            rate: speed))
        return nil
    }

    /// The sampling factor k. A fill is a whole file whatever k is, so it is simulated at full
    /// size and speed; on its source's link (whose capacity is scaled by 1/k, like the users on
    /// it) it takes 1/k of its rate, the share of the link it would take at full scale.
    var sampling: Double { Double(configuration.sampling) }

    /// Takes a transferring fill off its source's link, booking the bytes that flowed.
    func stopTransfer(_ f: UInt32, completed: Bool, paused: Bool = false) {
        let i = Int(f)
        let pop = Int(fills.pop[i]), source = fills.source[i]
        let now = sim.now
        links.remove(source, cap: pops[pop].fillRate, rate: fills.rate[i], now: now)
        let left = fills.bytes[i] - fills.bytesDone[i]
        let speed = fills.rate[i] * sampling
        let moved = completed ? left : min(left, speed * Double(now.microseconds - fills.startedAt[i]) / 8e6)
        fills.bytesDone[i] += moved
        // The link's books are in sampled units, like the users' bytes on it.
        let booked = moved / sampling
        let from = SimInstant(microseconds: fills.startedAt[i])
        links.book(booked, on: source, from: from, to: now)
        // By source: a peer in the region (0), a tier above (1), the origin (2).
        let kind = links.site(of: source).map { pops[$0].region == pops[pop].region && !isAncestor($0, of: pop) ? 0 : 1 } ?? 2
        pops[pop].metrics.fillBytes[kind] += moved
        fillLog?(FillRecord(pop: pop, file: Int(fills.file[i]), kind: fills.kind[i], source: tier(source),
                            event: completed ? .completed : paused ? .paused : .cancelled, time: now, rate: speed))
        fills.epoch[i] &+= 1
        fills.rate[i] = 0
    }

    func isAncestor(_ a: Int, of pop: Int) -> Bool {
        var tier = pop
        while let parent = pops[tier].parent {
            if parent == a { return true }
            tier = parent
        }
        return false
    }

    func completeFill(_ f: UInt32, epoch: UInt16) {
        let i = Int(f)
        guard fills.state[i] == .transferring, fills.epoch[i] == epoch else { return }
        let pop = Int(fills.pop[i]), file = Int(fills.file[i]), source = fills.source[i]
        stopTransfer(f, completed: true)
        pops[pop].filling[file] = nil
        pops[pop].metrics.fills.increment()
        fileArrived(pop, file)
        pops[pop].fillsRunning -= 1
        fills.release(f)
        pumpFills(pop)
        admitWaiting(source)
    }

    /// Puts a running windowed fill back in its queue (the window closed): what arrived is kept,
    /// and so is its reserved space.
    func pauseFill(_ f: UInt32) {
        let i = Int(f)
        let pop = Int(fills.pop[i]), source = fills.source[i]
        let wasTransferring = fills.state[i] == .transferring
        if wasTransferring { stopTransfer(f, completed: false, paused: true) }
        fills.state[i] = .queued
        pops[pop].fillsRunning -= 1
        pops[pop].fillQueue.push(f, priority: fills.priority[i], at: fills.enqueuedAt[i], arrival: false)
        pops[pop].pausedFills.append(f)
        if wasTransferring { admitWaiting(source) }
    }

    /// Puts a running fill of any kind back in its queue (its PoP or its source went down): what
    /// arrived is kept, and so is its space; it picks its source again when it restarts.
    func requeueFill(_ f: UInt32) {
        let i = Int(f)
        if fills.kind[i] == .pullThrough, fills.state[i] == .transferring || fills.state[i] == .linkWait {
            // A pull-through had its source fixed by the miss; it now fills like a queued miss.
            fills.kind[i] = .missQueued
            fills.priority[i] = .infinity
        }
        pauseFill(f)
        pumpFills(Int(fills.pop[i]))
    }

    /// Ends a job that is no longer wanted before it holds a server or space.
    func dropFill(_ f: UInt32) {
        let i = Int(f)
        let pop = Int(fills.pop[i]), file = Int(fills.file[i])
        if pops[pop].filling[file] == f { pops[pop].filling[file] = nil }
        fills.release(f)
    }

    /// Ends a job wherever it is (its file was evicted, or its origin read failed): stops its
    /// transfer, frees its server and space.
    func cancelFill(_ f: UInt32) {
        let i = Int(f)
        let pop = Int(fills.pop[i]), file = Int(fills.file[i]), source = fills.source[i]
        switch fills.state[i] {
        case .free:
            return
        case .queued:
            pops[pop].fillQueue.left()  // its heap entry is skipped when it surfaces
        case .linkWait:
            pops[pop].fillsRunning -= 1  // its link-queue entry is skipped when reached
        case .transferring:
            stopTransfer(f, completed: false)
            pops[pop].fillsRunning -= 1
        }
        let wasTransferring = fills.state[i] == .transferring
        let running = fills.state[i] != .queued
        if pops[pop].filling[file] == f { pops[pop].filling[file] = nil }
        if fills.reserved[i] && pops[pop].cache.contains(file) { pops[pop].cache.remove(file) }
        fills.release(f)
        if running { pumpFills(pop) }
        if wasTransferring { admitWaiting(source) }
    }

    /// Records the queue's length for the time series.
    func noteQueue(_ pop: Int) {
        pops[pop].metrics.fillQueue.set(Double(pops[pop].fillQueue.count), at: sim.now)
    }

    /// The enqueue time of the oldest job still waiting at `pop`, if any: the first live arrival,
    /// or a paused job (queued long ago, then run, then put back).
    func oldestQueued(_ pop: Int) -> Int64? {
        func waiting(_ f: UInt32, since at: Int64) -> Bool {
            let i = Int(f)
            return fills.state[i] == .queued && fills.pop[i] == Int32(pop) && fills.enqueuedAt[i] == at
        }
        var oldest: Int64?
        while let entry = pops[pop].fillQueue.firstArrival {
            if waiting(entry.fill, since: entry.at) {
                oldest = entry.at
                break
            }
            pops[pop].fillQueue.dropFirstArrival()
        }
        pops[pop].pausedFills.removeAll { !waiting($0, since: fills.enqueuedAt[Int($0)]) || fills.kind[Int($0)] == .pullThrough }
        for f in pops[pop].pausedFills { oldest = min(oldest ?? .max, fills.enqueuedAt[Int(f)]) }
        return oldest
    }

    /// The tier whose link `link` is.
    func tier(_ link: LinkID) -> Tier { links.site(of: link).map { .pop($0) } ?? .origin(replica: links.replica(of: link)!) }

    // MARK: What a site holds

    /// `file` is complete at `pop`: it serves hits, and counts for steering by title.
    func fileArrived(_ pop: Int, _ file: Int) {
        pops[pop].titleFiles[file / library.rungs] += 1
    }

    /// `file` left `pop`'s storage (evicted): a fill still bringing it in is cancelled.
    func fileLeft(_ pop: Int, _ file: Int) {
        if let f = pops[pop].filling[file] {
            fills.reserved[Int(f)] = false  // the cache already let it go
            cancelFill(f)
        } else {
            pops[pop].titleFiles[file / library.rungs] -= 1
        }
    }

    /// Bytes of one copy of `file`, computed once per title from the catalog.
    func fileBytes(_ file: Int) -> Double {
        let title = file / library.rungs
        if fileSizes[title * library.rungs].isNaN {
            for (r, bytes) in catalog.fileBytes(of: title).enumerated() { fileSizes[title * library.rungs + r] = bytes }
        }
        return fileSizes[file]
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

/// A tier content comes from: a PoP (the serving site, a peer or a tier above) or an origin replica.
public enum Tier: Hashable, Sendable {
    case pop(Int)
    case origin(replica: Int)
}
