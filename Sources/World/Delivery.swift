import ABR
import SimCore

/// A segment request's path: from the player's choice to the bytes on the links.
///
/// Owns: the download each session has in flight (the `download` field of its record) and the
/// rules that move it: the walk up the tiers for the nearest copy (the session's PoP, its parents
/// past any that are down, the nearest origin replica up), with each tier's round trip and the
/// origin's first-byte latency; the fills a miss asks for (`placement.onMiss`: pulled through at
/// once, queued for the window, or left to the plan); the admission of a transfer on its links
/// (first come first served behind what waits; a max-min share capped by the user's access and
/// the links' headroom; `onOverload: fail` refusing origin reads) and of what waits when a
/// transfer ends (``admitWaiting(_:)``, for downloads and fills alike); abandonment for a lower
/// rung; and a download's failure (its PoP, a tier or an origin replica went down), which retries
/// at once or fails over after a backoff. Handles `.request` (``requestNext(_:)``) and `.abandon`
/// (``abandon(_:)``); `.downloadDone` starts here (``finish(_:)``) and goes on in the world, which
/// books the session's QoE and starts or ends its play.
final class Delivery {
    /// A retry after a failed origin read.
    static let retryDelay = SimDuration.seconds(1)

    let configuration: WorldConfiguration
    let sim: Simulation<WorldEvent>
    let sessions: SessionTable
    let library: TitleLibrary
    let sites: Sites
    let links: Links
    let origin: Origin
    let fills: FillScheduler
    let faults: FaultInjector
    let lastMile: LastMile
    let distances: RegionDistances
    /// Receives every PoP request, when set: `--export-requests`.
    @exclusivity(unchecked) var requestLog: ((_ time: SimInstant, _ pop: Int, _ file: Int, _ fileBytes: Double, _ hit: Bool,
                                              _ requestBytes: Double) -> Void)?

    init(configuration: WorldConfiguration, sim: Simulation<WorldEvent>, sessions: SessionTable, library: TitleLibrary, sites: Sites,
         links: Links, origin: Origin, fills: FillScheduler, faults: FaultInjector, lastMile: LastMile, distances: RegionDistances) {
        self.configuration = configuration
        self.sim = sim
        self.sessions = sessions
        self.library = library
        self.sites = sites
        self.links = links
        self.origin = origin
        self.fills = fills
        self.faults = faults
        self.lastMile = lastMile
        self.distances = distances
    }

    // MARK: Requests

    /// Asks the player what to fetch next and starts it (or waits as the player asks).
    func requestNext(_ s: UInt32) {
        let i = Int(s)
        let now = sim.now.microseconds
        sessions.touchedUs[i] = now
        guard sessions.player[i].nextSegment <= Int(sessions.lastSegment[i]) else { return }
        // A full buffer: the rung is chosen when there is room (the same choice, one decision
        // per segment instead of two), unless the algorithm may add a wait of its own.
        let next = sessions.withPlayer(i, in: library) { player, context -> (request: SegmentRequest?, wait: Int64) in
            if !context.configuration.algorithm.waitsOnItsOwn {
                let wait = player.roomDelay(at: now, context)
                if wait > 0 { return (nil, wait) }
            }
            let request = player.nextRequest(at: now, context)
            return (request, request?.delay ?? 0)
        }
        if next.wait > 0 {
            sim.schedule(.request(session: s, generation: sessions.generation[i]), after: .microseconds(next.wait))
            return
        }
        guard let request = next.request else { return }
        start(s, segment: request.segment, rung: request.rung)
    }

    func start(_ s: UInt32, segment: Int, rung: Int) {
        let i = Int(s)
        let now = sim.now
        let title = Int(sessions.title[i])
        let rendition = library.rendition(context: sessions.context[i], rung: rung)
        let file = library.file(title: title, rendition: rendition)
        let bits = library.segmentBits(context: sessions.context[i], title: title, segment: segment, rendition: rendition)
        let p = Int(sessions.pop[i]), atPop = links.pop(p)

        // The session's PoP is down: the request fails, and the player fails over.
        guard !sites.isDown(p) else {
            sessions.originFailure[i] = false
            scheduleFailover(s)
            return
        }
        // Find the nearest tier holding the file: the PoP, its parents (past any that are down),
        // or the nearest origin replica up.
        var tier = p
        var servedBy = atPop
        var missing: [Int] = []
        var latency = popLatency(i, pop: p, at: now.microseconds)
        while true {
            let holds = sites.serves(file, at: tier)
            sites.record(request: file, at: tier, bits: bits, hit: holds, now: now)
            requestLog?(now, tier, file, sites.fileBytes(file), holds, Double(bits / 8))
            if holds {
                sites.pops[tier].cache.touch(file)
                servedBy = links.pop(tier)
                break
            }
            missing.append(tier)
            var next = sites.pops[tier].parent
            while let up = next, sites.isDown(up) { next = sites.pops[up].parent }
            guard let parent = next else {
                guard let replica = origin.nearestUp(from: tier) else {
                    // No origin replica is up: the request fails; the player retries elsewhere.
                    sessions.originFailure[i] = true
                    scheduleFailover(s)
                    return
                }
                servedBy = links.replica(replica)
                latency += SimDuration(seconds: configuration.origin.firstByteLatency.seconds * origin.replicas[replica].latencyFactor)
                    + distances.rtt(from: sites.pops[tier].region, to: origin.replicas[replica].region)
                break
            }
            latency += distances.rtt(from: sites.pops[tier].region, to: sites.pops[parent].region) + sites.pops[parent].rtt
            tier = parent
        }

        // Tiers that lacked the file: pulled through from the tier above at once, or queued for
        // the fill window, or nothing (the plan decides), as `placement.onMiss` says.
        switch configuration.placement.onMiss {
        case .off:
            break
        case .immediate:
            for (k, t) in missing.enumerated() {
                let source = k + 1 < missing.count ? links.pop(missing[k + 1]) : servedBy
                fills.request(file: file, at: t, kind: .pullThrough, priority: .infinity, source: source)
            }
        case .queued:
            for t in missing {
                fills.request(file: file, at: t, kind: .missQueued,
                              priority: max(sites.pops[t].forecast.values[file], sites.pops[t].observed[file]))
            }
        }
        sites.countRelease(title: title, hit: servedBy == atPop, now: now)

        sessions.download[i] = Download(segment: Int32(segment), rung: UInt8(rung), epoch: sessions.download[i].epoch &+ 1,
                                        servedBy: servedBy, requestedAtUs: now.microseconds, firstByteAtUs: latency.microseconds,
                                        bits: bits)
        // First come, first served: behind anything already waiting on its links.
        if links.firstWaiting(atPop) != nil {
            enqueue(s, on: atPop)
        } else if servedBy != atPop && links.firstWaiting(servedBy) != nil {
            enqueue(s, on: servedBy)
        } else if let link = transmit(s) {
            enqueue(s, on: link)
        }
    }

    /// The round trip from session slot `i` to PoP `p` at `now`: the PoP's, the regions' distance,
    /// a degraded link's extra, and on a varying last mile the access network's at that moment.
    @inline(__always)
    func popLatency(_ i: Int, pop p: Int, at now: Int64) -> SimDuration {
        var latency = fixedLatency(i, pop: p)
        if sessions.accessTrace[i] != .max {
            latency += .microseconds(lastMile.now(path(i), at: now, hint: &sessions.traceHint[i]).latencyUs)
        }
        return latency
    }

    /// The part of ``popLatency(_:pop:at:)`` that does not vary with the last mile: the PoP's round
    /// trip, the regions' distance and a degraded link's extra.
    @inline(__always)
    func fixedLatency(_ i: Int, pop p: Int) -> SimDuration {
        let region = Int(sessions.region[i])
        return sites.pops[p].rtt + distances.rtt(from: region, to: sites.pops[p].region)
            + .microseconds(faults.linkRttUs(region: region, pop: p))
    }

    /// Starts session `s`'s waiting download if its links have room, and returns nil; else returns
    /// the link that lacks room. The rate: the user's access, the PoP's fair share and headroom,
    /// and the upstream tier's (see `FlowSet`). With the origin full and `onOverload: fail`, the
    /// request fails and the player retries a second later.
    func transmit(_ s: UInt32) -> LinkID? {
        let i = Int(s)
        let now = sim.now
        let d = sessions.download[i]
        let p = Int(sessions.pop[i])
        let pop = links.pop(p), upstream = d.servedBy
        let access = accessCap(i, pop: p, at: now.microseconds)
        let atPop = links.fairShare(pop, cap: access)
        var due = atPop
        if upstream != pop { due = min(due, links.fairShare(upstream, cap: atPop)) }
        let room = upstream != pop ? min(links.headroom(pop), links.headroom(upstream)) : links.headroom(pop)
        if room < FlowSet.admission * due {
            let blocked = links.admits(pop, due: due) ? upstream : pop
            if let replica = links.replica(of: blocked), configuration.origin.onOverload == .fail {
                origin.replicas[replica].failures.increment()
                sessions.download[i].segment = -1
                sim.schedule(.request(session: s, generation: sessions.generation[i]), after: Delivery.retryDelay)
                return nil
            }
            return blocked
        }
        let rate = max(1, min(due, room))
        links.add(pop, cap: access, rate: rate, now: now)
        if upstream != pop { links.add(upstream, cap: atPop, rate: rate, now: now) }

        let firstByte = now + .microseconds(d.firstByteAtUs)
        sessions.download[i].firstByteAtUs = firstByte.microseconds
        sessions.download[i].rate = rate
        sessions.download[i].accessCap = access
        sessions.download[i].upstreamCap = atPop
        let end = sessions.withPlayer(i, in: library) { player, context in
            timing(i, d, rate: rate, firstByte: firstByte.microseconds, &player, context)
        }
        if end.abandons {
            sim.schedule(.abandon(session: s, generation: sessions.generation[i], epoch: sessions.download[i].epoch), at: SimInstant(microseconds: end.at))
        } else {
            sim.schedule(.downloadDone(session: s, generation: sessions.generation[i], epoch: sessions.download[i].epoch), at: SimInstant(microseconds: end.at))
        }
        return nil
    }

    /// The key of the draws a session's transfer makes of the steady sessions' bursts
    /// (``Links/steadyLoad(_:draw:)``): its slot, generation, download epoch and the time.
    @inline(__always)
    static func drawKey(_ s: UInt32, generation: UInt16, epoch: UInt8, at now: SimInstant) -> UInt64 {
        RandomStream.mix64(UInt64(bitPattern: now.microseconds)) ^ (UInt64(s) << 24 | UInt64(generation) << 8 | UInt64(epoch))
    }

    /// The rate session slot `i`'s download at PoP `p` may have at most, from its last mile: the
    /// user's access (a degraded link's share of it); on a varying last mile, the throughput at
    /// `now`, at least half its mean, so that a download starting in a dip is not pinned to it.
    @inline(__always)
    func accessCap(_ i: Int, pop p: Int, at now: Int64) -> Double {
        let linkShare = faults.linkThroughput(region: Int(sessions.region[i]), pop: p)
        let access = sessions.access[i] * linkShare
        guard sessions.accessTrace[i] != .max else { return access }
        let trace = Int(sessions.accessTrace[i])
        sessions.traceScale[i] = Float(lastMile.relative(trace: trace) ? access : linkShare)
        let current = lastMile.now(path(i), at: now, hint: &sessions.traceHint[i]).bitsPerSecond
        return max(current, accessFloor(i))
    }

    /// On a varying last mile, the least rate ``accessCap(_:pop:at:)`` reserves: half the trace's
    /// mean at the session's scale (set by `accessCap`).
    @inline(__always)
    func accessFloor(_ i: Int) -> Double { 0.5 * lastMile.mean[Int(sessions.accessTrace[i])] * Double(sessions.traceScale[i]) }

    /// When download `d` of session slot `i`, its first byte at `firstByte` and flowing at `rate`,
    /// completes; or when `player` gives it up (`abandons`). On a varying last mile the bits flow at
    /// `rate`, or the user's throughput when lower, as it varies; the player checks after the grace
    /// period and then as often as its configuration says, but no more often than every 250 ms (as
    /// `TraceReplay` does at that cadence).
    @inline(__always)
    func timing(_ i: Int, _ d: Download, rate: Double, firstByte: Int64, _ player: inout Player,
                _ context: PlayerContext) -> (at: Int64, abandons: Bool) {
        let c = context.configuration
        if sessions.accessTrace[i] != .max {
            let transfer = lastMile.transfer(d.bits, path(i), cap: rate, from: firstByte, hint: sessions.traceHint[i],
                                             firstCheck: firstByte + max(c.abandonmentGrace, Delivery.checkEvery(c)),
                                             every: Delivery.checkEvery(c), firstDecides: c.abandonmentRule == .outlastsBuffer) { time, received in
                c.abandonment && player.abandonmentRung(
                    segment: Int(d.segment), rung: Int(d.rung), bitsReceived: received, bitsTotal: d.bits,
                    requestedAt: d.requestedAtUs, firstByteAt: firstByte, at: time, context) != nil
            }
            return (transfer.end, transfer.abandoned)
        }
        let done = firstByte + (d.bits * 1_000_000 + Int64(rate) - 1) / Int64(rate)
        if let check = abandonment(d, &player, context, from: firstByte, until: done, received: { Int64(rate * Double($0 - firstByte) / 1e6) }) {
            return (check, true)
        }
        return (done, false)
    }

    /// How often the world checks a download for abandonment: the player's cadence, but no more
    /// often than every 250 ms. dash.js and Sabre look every 50 ms; in the world every check is a
    /// call into the player for every download in flight, and five times as many calls would buy a
    /// shift of abandonment times of at most 200 ms, smaller than what snapshot link sharing
    /// already leaves out. `vodsim abr` keeps the profile's own cadence.
    static func checkEvery(_ c: PlayerConfiguration) -> Int64 { max(c.abandonmentCheck, 250_000) }

    /// At a constant rate, when the player will give up the download `d` of session `s` for a lower
    /// rung, if it will. With the simple rule, if abandonment triggers it triggers at the first
    /// check, after the grace period (the gap between the time left and the buffer left stays
    /// constant), so one check tells. The algorithms' own rules are not monotone like that (BOLA-E
    /// weighs what is left against the buffer), so they are asked at every check, as `TraceReplay`
    /// does.
    private func abandonment(_ d: Download, _ player: inout Player, _ context: PlayerContext, from start: Int64, until end: Int64,
                             received: (Int64) -> Int64) -> Int64? {
        let c = context.configuration
        guard c.abandonment else { return nil }
        var check = start + c.abandonmentGrace
        if c.abandonmentRule == .algorithm { check = start + max(c.abandonmentGrace, Delivery.checkEvery(c)) }
        while check < end {
            if player.abandonmentRung(segment: Int(d.segment), rung: Int(d.rung), bitsReceived: received(check),
                                      bitsTotal: d.bits, requestedAt: d.requestedAtUs, firstByteAt: start, at: check, context) != nil {
                return check
            }
            guard c.abandonmentRule == .algorithm else { return nil }
            check = start + ((check - start) / Delivery.checkEvery(c) + 1) * Delivery.checkEvery(c)
        }
        return nil
    }

    /// Session slot `i`'s place on its last mile (a varying one).
    @inline(__always)
    func path(_ i: Int) -> AccessPath {
        AccessPath(trace: Int(sessions.accessTrace[i]), originUs: sessions.arrivalUs[i] - Int64(sessions.traceOffsetMs[i]) * 1_000,
                   scale: Double(sessions.traceScale[i]))
    }

    /// Bits of session slot `i`'s download in flight that had arrived by `t`.
    private func received(_ i: Int, at t: Int64) -> Int64 {
        let d = sessions.download[i]
        guard !d.waiting else { return 0 }
        guard sessions.accessTrace[i] != .max else { return Int64(d.rate * Double(t - d.firstByteAtUs) / 1e6) }
        return lastMile.moved(path(i), cap: d.rate, from: d.firstByteAtUs, to: t, hint: sessions.traceHint[i])
    }

    // MARK: Waiting for room on a link

    func enqueue(_ s: UInt32, on link: LinkID) {
        let i = Int(s)
        links.enqueue(.download(session: s, generation: sessions.generation[i], epoch: sessions.download[i].epoch), on: link)
    }

    /// Starts what waits on `link`, oldest first, while there is room; a transfer that now lacks
    /// room on another of its links moves to that link's queue.
    func admitWaiting(_ link: LinkID) {
        while let entry = links.firstWaiting(link) {
            let blocked: LinkID?
            switch entry {
            case let .download(s, generation, epoch):
                let i = Int(s)
                guard sessions.generation[i] == generation, sessions.download[i].active, sessions.download[i].waiting,
                      sessions.download[i].epoch == epoch else {
                    links.dequeue(link)  // the session ended, or this download failed, meanwhile
                    continue
                }
                blocked = transmit(s)
            case let .fill(f):
                blocked = fills.transmit(f)
            }
            if blocked == link { return }
            links.dequeue(link)
            if let other = blocked { links.enqueue(entry, on: other) }
        }
    }

    // MARK: Ends of a download

    /// Releases the links a download used (or its place in a queue); `delivered` bits count as served.
    func release(_ s: UInt32, delivered: Int64) {
        let i = Int(s)
        let d = sessions.download[i]
        guard d.active else { return }
        sessions.download[i].segment = -1
        guard !d.waiting else { return }  // its queue entry is dropped when reached
        let now = sim.now
        let pop = links.pop(Int(sessions.pop[i]))
        let upstream = d.servedBy
        links.remove(pop, cap: d.accessCap, rate: d.rate, now: now)
        if upstream != pop { links.remove(upstream, cap: d.upstreamCap, rate: d.rate, now: now) }
        // Bytes flowed from the first byte until now: book them over that span.
        let bytes = Double(delivered / 8)
        let from = SimInstant(microseconds: min(d.firstByteAtUs, now.microseconds))
        links.book(bytes, on: pop, from: from, to: now)
        if upstream != pop { links.bookRelay(bytes, on: upstream, from: from, to: now) }
        admitWaiting(pop)
        if upstream != pop { admitWaiting(upstream) }
    }

    /// `.downloadDone`: the segment is in; the player takes it. Returns the download (the world
    /// goes on: QoE, the start or end of play, the next request).
    func finish(_ s: UInt32) -> Download {
        let i = Int(s)
        let d = sessions.download[i]
        let now = sim.now
        release(s, delivered: d.bits)
        sessions.failures[i] = 0
        sessions.touchedUs[i] = now.microseconds
        sessions.withPlayer(i, in: library) { player, context in
            player.complete(segment: Int(d.segment), rung: Int(d.rung), bits: d.bits, requestedAt: d.requestedAtUs,
                            firstByteAt: d.firstByteAtUs, at: now.microseconds, context)
        }
        return d
    }

    /// `.abandon`: the download stops for a lower rung, and the player asks again.
    func abandon(_ s: UInt32) {
        let i = Int(s)
        let d = sessions.download[i]
        let now = sim.now
        let received = received(i, at: now.microseconds)
        release(s, delivered: received)
        let context = library.contexts[Int(sessions.context[i])]
        let lower = sessions.player[i].abandonmentRung(segment: Int(d.segment), rung: Int(d.rung), bitsReceived: received,
                                                       bitsTotal: d.bits, requestedAt: d.requestedAtUs, firstByteAt: d.firstByteAtUs,
                                                       at: now.microseconds, context) ?? 0
        sessions.player[i].abandon(segment: Int(d.segment), rung: Int(d.rung), bitsReceived: received, toRung: lower,
                                   at: now.microseconds, context)
        requestNext(s)
    }

    /// Stops session `s`'s download as it ends (what arrived counts as served).
    func stop(_ s: UInt32) {
        let i = Int(s)
        guard sessions.download[i].active else { return }
        let d = sessions.download[i]
        release(s, delivered: min(d.bits, max(0, received(i, at: sim.now.microseconds))))
    }

    // MARK: Failures

    /// The session's download failed. With `backoff` (its own PoP failed), the player waits and
    /// fails over to the next PoP in its list; without (a tier behind its PoP failed), it asks again
    /// at once. The buffer plays on meanwhile.
    func fail(_ s: UInt32, backoff: Bool) {
        let i = Int(s)
        let d = sessions.download[i]
        let now = sim.now
        let received = min(d.bits, max(0, received(i, at: now.microseconds)))
        release(s, delivered: received)
        let context = library.contexts[Int(sessions.context[i])]
        sessions.player[i].downloadFailed(segment: Int(d.segment), bitsReceived: received, at: now.microseconds, context)
        if backoff {
            scheduleFailover(s)
        } else {
            requestNext(s)
        }
    }

    /// The player tries another PoP after a backoff that doubles with each failure in a row.
    func scheduleFailover(_ s: UInt32) {
        let i = Int(s)
        let attempt = Int(sessions.failures[i])
        let delay = configuration.clients.failoverBackoff.microseconds << min(attempt, 16)
        sim.schedule(.failover(session: s, generation: sessions.generation[i]), after: .microseconds(min(delay, 60_000_000)))
    }

    /// PoP `p` went down: downloads it was sending fail (its own sessions fail over after a
    /// backoff; sessions of other PoPs it was the upstream tier for retry at once, past it). O(sessions).
    func popFailed(_ p: Int) {
        for s in 0..<sessions.capacity where sessions.isLive[s] && sessions.download[s].active {
            if Int(sessions.pop[s]) == p {
                fail(UInt32(s), backoff: true)
            } else if sessions.download[s].servedBy == links.pop(p) {
                fail(UInt32(s), backoff: false)
            }
        }
    }

    /// Downloads served by `link` fail and are asked for again at once: all of them (an origin
    /// replica went down), or those of the files `unavailable` marks (a PoP lost their servers).
    func failServed(by link: LinkID, unavailable: [Bool]? = nil) {
        for s in 0..<sessions.capacity where sessions.isLive[s] && sessions.download[s].active && sessions.download[s].servedBy == link {
            if let unavailable {
                let file = library.file(title: Int(sessions.title[s]),
                                        rendition: library.rendition(context: sessions.context[s], rung: Int(sessions.download[s].rung)))
                guard unavailable[file] else { continue }
            }
            fail(UInt32(s), backoff: false)
        }
    }
}
