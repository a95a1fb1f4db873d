import ABR
import SimCore

/// Hybrid fidelity: sessions in steady state advance a window of segments in one event.
///
/// A session is *steady* at a request when nothing outside its own player can change how its next
/// segments go: it is playing, no fault is in force anywhere, its PoP is up and holds the file of
/// its current rung, its PoP's link has no queue and is used below
/// ``HybridConfiguration/linkUtilisation``, counting `burstSigmas` standard deviations of the
/// bursts the steady sessions' mean loads smooth out (at full scale, thousands of sessions per
/// link, they are negligible; on a small link near saturation they are what makes downloads
/// wait). Then the window runs the segment model's own steps for
/// it, one segment after another, without the event queue: the real player's room wait and
/// decision, the segment's size, the round trip, the share its link gives a new download now (its
/// access cap, or less), the download's end on its last mile (constant or its trace, known ahead)
/// with the player's abandonment checks, and the player taking the segment. The window stops,
/// before the segment concerned, at the first of:
///
/// - a decision for another rung, an abandonment, a link without room for the download;
/// - a buffer, after the segment, under ``HybridConfiguration/minBuffer`` of the player's
///   maximum, or a stall;
/// - the session's last segment (its end is exact);
/// - the horizon, and the next *barrier*: any fault's start or end, any site's plan, the run's end.
///
/// The window's segments are booked as the segment model books them: the PoP's requests and hits
/// and the bytes per bucket (grouped per bucket, which adds the same), the release counts, the QoE
/// per bucket; the player's state is the segment model's at the window's last completion, when
/// the session's next `.request` comes. Meanwhile the link carries the window's mean rate as a
/// constant load (``Links/reserveSteady(_:rate:now:)``) so that exact sessions see the capacity it
/// leaves, and its file counts as touched (``LRUCache/stream(_:by:)``).
///
/// What this simplifies, and why (docs/world.md, "Fidelity"): the link's share for the window's
/// downloads is the share at the window's start (the threshold keeps it at the user's access
/// cap); a steady session's load is its mean rate rather than bursts at its access rate (the same
/// bytes; what exact flows see is the mean); a change of load during the window is seen at the
/// next window, not at once; the file's place in the LRU list is refreshed at the window's start
/// and end rather than at every segment, and eviction passes over it meanwhile.
///
/// Owns: the barriers, the windows' figures. Asked by the world at every request of a session.
final class SteadyWindows {
    let hybrid: HybridConfiguration
    let bucketUs: Int64
    let sim: Simulation<WorldEvent>
    let sessions: SessionTable
    let library: TitleLibrary
    let sites: Sites
    let links: Links
    let faults: FaultInjector
    let delivery: Delivery
    /// Books session `s`'s QoE since the last call, at the given time (the world's `account`).
    var account: (UInt32, SimInstant) -> Void = { _, _ in }
    /// Times a window may not cross, ascending.
    private(set) var barriers: [Int64] = []
    /// Windows advanced, the segments they covered, and the session-time they spanned (µs).
    private(set) var figures = HybridFigures()

    init(hybrid: HybridConfiguration, bucket: SimDuration, sim: Simulation<WorldEvent>, sessions: SessionTable, library: TitleLibrary,
         sites: Sites, links: Links, faults: FaultInjector, delivery: Delivery) {
        self.hybrid = hybrid
        bucketUs = bucket.microseconds
        self.sim = sim
        self.sessions = sessions
        self.library = library
        self.sites = sites
        self.links = links
        self.faults = faults
        self.delivery = delivery
    }

    /// Sets the times windows may not cross (faults' starts and ends, plans, the end).
    func setBarriers(_ times: [Int64]) { barriers = Array(Set(times)).sorted() }

    /// The first barrier after `t`.
    func nextBarrier(after t: Int64) -> Int64 {
        var lo = 0, hi = barriers.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if barriers[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo < barriers.count ? barriers[lo] : .max
    }

    /// Session `s`'s window, if it is in one, ends now: its load leaves the link, its file is
    /// touched (as its last segment would have) and no longer streamed.
    @inline(__always)
    func end(_ s: UInt32) {
        let i = Int(s)
        guard sessions.download[i].steady else { return }
        let p = Int(sessions.pop[i])
        links.reserveSteady(links.pop(p), rate: -sessions.download[i].rate, variance: -sessions.download[i].accessCap, now: sim.now)
        let file = library.file(title: Int(sessions.title[i]),
                                rendition: library.rendition(context: sessions.context[i], rung: Int(sessions.download[i].rung)))
        sites.pops[p].cache.stream(file, by: -1)
        sites.pops[p].cache.touch(file)
        sessions.download[i].segment = -1
        sessions.download[i].rate = 0
        // The segment model's last download of the window ended now and admitted what waits on
        // the link; the capacity the window leaves does the same.
        if links.firstWaiting(links.pop(p)) != nil { delivery.admitWaiting(links.pop(p)) }
        figures.windows += 1
        figures.sessionTimeUs += Double(sim.now.microseconds - sessions.download[i].requestedAtUs)
    }

    /// At a request of session `s`: if it is steady, advances a window of segments, schedules its
    /// next request at the window's end and returns true; else returns false (the request is exact).
    func advance(_ s: UInt32) -> Bool {
        let i = Int(s)
        guard sessions.started[i], !sessions.download[i].active, faults.active.isEmpty else { return false }
        let p = Int(sessions.pop[i])
        guard p != Int(UInt16.max), !sites.isDown(p) else { return false }
        let link = links.pop(p)
        guard links.firstWaiting(link) == nil, links.utilisation(link) < hybrid.linkUtilisation else { return false }
        let now = sim.now.microseconds
        let limit = min(now + hybrid.horizon.microseconds, nextBarrier(after: now))
        return sessions.withContext(of: i, in: library) { context in window(s, pop: p, link: link, from: now, before: limit, context) }
    }

    /// Requests and bytes of a window's segments that fall in one bucket, booked together.
    private struct Group {
        var count = 0
        var bytes = 0.0
        /// The first request's time; the bytes flow from `from` to `to`.
        var requestedAt: Int64 = 0
        var from: Int64 = 0
        var to: Int64 = 0
        var bucket: Int64 = -1
    }

    private func window(_ s: UInt32, pop p: Int, link: LinkID, from now: Int64, before limit: Int64, _ context: PlayerContext) -> Bool {
        let i = Int(s)
        var player = sessions.player[i]
        guard player.phase == .playing, var rung = player.lastRung else { return false }
        let title = Int(sessions.title[i]), contextID = sessions.context[i]
        var rendition = library.rendition(context: contextID, rung: rung)
        var file = library.file(title: title, rendition: rendition)
        guard sites.serves(file, at: p) else { return false }
        let c = context.configuration
        let minBuffer = Int64(hybrid.minBuffer * Double(c.maxBuffer))
        // A buffer that one more segment cannot lift to the floor: exact, without trying.
        let last = Int(sessions.lastSegment[i])
        guard player.nextSegment < last, player.buffered + context.manifest.duration(of: player.nextSegment) >= minBuffer else { return false }
        let waitsOnItsOwn = c.algorithm.waitsOnItsOwn
        let stalls = player.qoe.rebufferEvents
        var committed = player, committedAt = now
        var t = now, segments = 0, committedBits = 0.0
        var group = Group(), qoeBucket = now / bucketUs, peakRate = 0.0
        // What `Delivery.start`/`transmit` work out per request that stays put in a window (no
        // fault is in force, the link's state does not move while the window is worked out).
        let lastMile = delivery.lastMile
        let varying = sessions.accessTrace[i] != .max
        let fixedLatency = delivery.fixedLatency(i, pop: p)
        let fixedAccess = delivery.accessCap(i, pop: p, at: now)  // sets the trace's scale, as `transmit` does
        let floor = varying ? delivery.accessFloor(i) : 0
        let room = links.headroom(link)
        var shareFor = -1.0, due = 0.0
        // The link must have room for this session's bursts too (at its access rate): below the
        // threshold by `burstSigmas` standard deviations of every steady session's.
        let mean = context.reportingBitrates[rung]
        guard links.burstLoad(link, sigmas: hybrid.burstSigmas, adding: mean * max(0, fixedAccess - mean)) < hybrid.linkUtilisation else {
            return false
        }

        func book(_ g: Group) {
            guard g.count > 0 else { return }
            sites.recordHits(g.count, of: file, at: p, bytes: g.bytes, time: SimInstant(microseconds: g.requestedAt))
            links.book(g.bytes, on: link, from: SimInstant(microseconds: g.from), to: SimInstant(microseconds: g.to))
        }

        while player.nextSegment < last {
            // The player's side of a request, as `Delivery.requestNext` drives it.
            if !waitsOnItsOwn {
                let wait = player.roomDelay(at: t, context)
                if wait > 0 {
                    t += wait
                    if t >= limit { break }
                    continue
                }
            }
            guard let request = player.nextRequest(at: t, context) else { break }
            if request.delay > 0 {
                t += request.delay
                if t >= limit { break }
                continue
            }
            if request.rung != rung {
                // Another rung: steady still if its file is here too (the PoP serves it as a hit).
                let other = library.rendition(context: contextID, rung: request.rung)
                guard sites.serves(library.file(title: title, rendition: other), at: p) else { break }
                book(group)
                group = Group()
                rung = request.rung
                rendition = other
                file = library.file(title: title, rendition: other)
                sites.pops[p].cache.touch(file)
            }
            // The segment model's `start` and `transmit` for a hit at the PoP.
            let bits = library.segmentBits(context: contextID, title: title, segment: request.segment, rendition: rendition)
            // `Delivery.popLatency` and `accessCap` with their fixed parts worked out once per
            // window; one look at the trace for both.
            var latency = fixedLatency, access = fixedAccess
            if varying {
                let now = lastMile.now(delivery.path(i), at: t, hint: &sessions.traceHint[i])
                latency += .microseconds(now.latencyUs)
                access = max(now.bitsPerSecond, floor)
            }
            let firstByte = t + latency.microseconds
            if access != shareFor {
                // The link's state does not move during the window: its share for a cap once.
                shareFor = access
                due = links.fairShare(link, cap: access)
            }
            guard room >= FlowSet.admission * due else { break }
            let rate = max(1, min(due, room))
            peakRate = max(peakRate, rate)
            let download = Download(segment: Int32(request.segment), rung: UInt8(rung), servedBy: link, requestedAtUs: t,
                                    firstByteAtUs: firstByte, bits: bits)
            let done = delivery.timing(i, download, rate: rate, firstByte: firstByte, &player, context)
            guard !done.abandons else { break }
            guard done.at < limit else { break }
            player.complete(segment: request.segment, rung: rung, bits: bits, requestedAt: t, firstByteAt: firstByte, at: done.at, context)
            guard player.phase == .playing, player.qoe.rebufferEvents == stalls else { break }
            guard player.buffered >= minBuffer else { break }

            // Booked as the segment model books it: the request at its time, the bytes over the
            // download, the QoE at its completion (per bucket: the same sums).
            let bytes = Double(bits / 8)
            let bucket = t / bucketUs
            if bucket != done.at / bucketUs {
                book(group)
                group = Group()
                book(Group(count: 1, bytes: bytes, requestedAt: t, from: firstByte, to: done.at, bucket: bucket))
            } else {
                if bucket != group.bucket {
                    book(group)
                    group = Group(requestedAt: t, from: firstByte, bucket: bucket)
                }
                group.count += 1
                group.bytes += bytes
                group.to = done.at
            }
            sites.countRelease(title: title, hit: true, now: SimInstant(microseconds: t))
            if done.at / bucketUs != qoeBucket && segments > 0 {
                sessions.player[i] = committed
                account(s, SimInstant(microseconds: committedAt))
            }
            qoeBucket = done.at / bucketUs
            committed = player
            committedAt = done.at
            committedBits += rate * Double(done.at - t) / 1e6
            t = done.at
            segments += 1
        }
        guard segments > 0 else { return false }
        sessions.player[i] = committed
        account(s, SimInstant(microseconds: committedAt))
        book(group)

        // The rate the segment model would have committed on the link (each download's from its
        // request to its end, round trip included), as a mean over the window until its end; the
        // file streamed meanwhile.
        let rate = committedBits * 1e6 / Double(max(1, committedAt - now))
        let variance = rate * max(0, peakRate - rate)
        links.reserveSteady(link, rate: rate, variance: variance, now: sim.now)
        sessions.download[i].segment = Download.steadyWindow
        sessions.download[i].rung = UInt8(rung)
        sessions.download[i].rate = rate
        sessions.download[i].accessCap = variance
        sessions.download[i].requestedAtUs = now
        sites.pops[p].cache.stream(file, by: 1)
        sites.pops[p].cache.touch(file)
        sessions.failures[i] = 0
        sessions.touchedUs[i] = committedAt
        sim.schedule(.request(session: s, generation: sessions.generation[i]), at: SimInstant(microseconds: committedAt))
        figures.segments += Int64(segments)
        return true
    }
}

/// What the hybrid model did: windows ended, the segments windows advanced (as each began), and
/// the session-time spent in the windows that ended.
public struct HybridFigures: Sendable, Equatable {
    public var windows: Int64 = 0
    public var segments: Int64 = 0
    /// Session-time inside windows, microseconds.
    public var sessionTimeUs = 0.0

    public static func + (a: HybridFigures, b: HybridFigures) -> HybridFigures {
        HybridFigures(windows: a.windows + b.windows, segments: a.segments + b.segments, sessionTimeUs: a.sessionTimeUs + b.sessionTimeUs)
    }
}
