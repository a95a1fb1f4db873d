import ABR
import SimCore

/// The fast-path layer: the only code in the world that reaches state without the usual safety
/// nets, so that the model code reads as plain Swift.
///
/// Rules, each measured at full scale (docs/performance.md):
/// - **Player contexts unretained.** ``SessionTable/withContext(of:in:_:)`` and
///   ``SessionTable/withPlayer(_:in:_:)`` (and the world's ``World/withContext(of:_:)``) hand the model a session's shared `PlayerContext` without a retain and release (an atomic on an object
///   shared by thousands of sessions: ~10% at full scale). The context must not escape the closure;
///   ``TitleLibrary/withContext(_:_:)`` keeps every context alive for the run.
/// - **Records in place.** A session's player is mutated through its record's address (no copy of
///   the 232-byte player per event); `SessionColumn`'s addressors do the same for every field.
/// - **Prefetch.** The run loop calls ``prefetch(_:depth:)`` for the event twelve places ahead, in
///   three steps, so that the cache misses of a full-scale run (a 4 GB session table read at
///   random) overlap with other events' work.
///
/// A change here is a speed change: measure it with `vodsim bench scenario` before and after.
extension SessionTable {
    /// Calls `body` with session slot `i`'s player context (from `library`), unretained.
    @inline(__always)
    func withContext<R>(of i: Int, in library: TitleLibrary, _ body: (PlayerContext) -> R) -> R {
        library.withContext(context[i], body)
    }

    /// Calls `body` with session slot `i`'s player, mutated in place in its record, and its
    /// context (from `library`), unretained.
    @inline(__always)
    func withPlayer<R>(_ i: Int, in library: TitleLibrary, _ body: (inout Player, PlayerContext) -> R) -> R {
        let player = self.player.address(i)
        return library.withContext(context[i]) { body(&player.pointee, $0) }
    }
}

extension World {
    /// Calls `body` with session slot `i`'s player context, unretained.
    @inline(__always)
    func withContext<R>(of i: Int, _ body: (PlayerContext) -> R) -> R { sessions.withContext(of: i, in: library, body) }

    /// The session an event is about, if any: what ``prefetch(_:depth:)`` loads ahead. Every kind
    /// is listed (no `default`), so that a new event kind must say whether it names a session.
    @inline(__always)
    static func session(of event: Event) -> UInt32? {
        switch event {
        case let .request(session, _), let .downloadDone(session, _, _), let .abandon(session, _, _), let .flush(session, _),
             let .sessionEnd(session, _), let .apiResponse(session, _), let .patience(session, _), let .failover(session, _):
            return session
        case .arrival, .fillDone, .windowOpens, .windowCloses, .release, .sample, .logRead, .activityRetry, .publish,
             .faultStarts, .faultEnds, .surgeArrival, .land, .control:
            return nil
        }
    }

    /// Starts loading what a coming event will read (see `Simulation.run(until:prefetch:_:)`):
    /// at depth 0, its session's record; at 1, the player context named in that record, by then in
    /// cache (and for a request, its rendition row, the PoP's entries for the title's files and its
    /// last-mile trace's period); at
    /// 2, the context's bit-rate arrays (play and the ABR decision read them), whose addresses are
    /// by then in cache. Reads only; a stale event just loads something unused.
    @inline(__always)
    func prefetch(_ event: Event, depth: Int) {
        guard let s = World.session(of: event) else { return }
        let i = Int(s)
        guard UInt(bitPattern: i) < UInt(bitPattern: sessions.capacity) else { return }
        if depth == 0 { return sessions.prefetch(i) }
        let context = sessions.context[i]
        guard let object = library.contextAddress(context) else { return }
        if depth == 1 {
            SimCore.prefetch(object)
            SimCore.prefetch(object + 64)
            SimCore.prefetch(object + 128)
            // A request looks up its rendition, then the file at its PoP.
            if case .request = event {
                library.renditions.prefetchElements(Int(context) &* 32 ..< Int(context) &* 32 &+ 1)
                let p = Int(sessions.pop[i])
                if p < sites.count {
                    let first = Int(sessions.title[i]) &* library.rungs
                    sites.pops[p].prefetch(files: first ..< first &+ library.rungs)
                }
                // And the period of its last-mile trace it looked at last.
                let trace = sessions.accessTrace[i]
                if trace != .max { lastMile.prefetch(trace: Int(trace), hint: sessions.traceHint[i]) }
            }
            return
        }
        library.withContext(context) { context in
            context.reportingBitrates.withUnsafeBufferPointer { if let base = $0.baseAddress { SimCore.prefetch(base) } }
            context.manifest.bitrates.withUnsafeBufferPointer { if let base = $0.baseAddress { SimCore.prefetch(base) } }
        }
    }
}
