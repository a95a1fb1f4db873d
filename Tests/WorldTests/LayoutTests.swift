import ABR
import SimCore
import Testing
@testable import World

/// The layouts the full-scale speed depends on (docs/performance.md): at 10M sessions every event
/// is a cache miss on a random session record and on the queue's entries, so a byte more per
/// record or per event is measurable. A change that fails here is a speed change: measure it with
/// `vodsim bench scenario Scenarios/peak-10m.yaml` and update the numbers deliberately.
@Suite("Memory layouts")
struct LayoutTests {
    @Test("A pending event is 24 bytes: an 8-byte event, its time and its sequence")
    func pendingEventIs24Bytes() {
        #expect(MemoryLayout<World.Event>.size <= 8)
        #expect(World.queuedEventBytes == 24)
    }

    /// 464 since the players' rules got a memory (`ABR.RuleState`, 32 bytes: BOLA-E's placeholder
    /// or robustMPC's history, insufficient-buffer safety, the dynamic switch).
    @Test("A session record is 464 bytes")
    func sessionRecordSize() {
        #expect(World.sessionRecordBytes == 464)
        #expect(MemoryLayout<Download>.size == 56)
        #expect(MemoryLayout<LinkID>.size == 2)
    }

    /// Records are not line-aligned, so "the first two lines" means the first 128 bytes: loaded by
    /// the depth-0 prefetch first, and all a stale event's check reads.
    @Test("What every segment event reads first sits in a record's first 128 bytes, the download before the player")
    func hotFieldsFirst() {
        func offset(_ field: PartialKeyPath<SessionRecord>) -> Int { MemoryLayout<SessionRecord>.offset(of: field)! }
        let hot: [PartialKeyPath<SessionRecord>] = [\.generation, \.region, \.pop, \.title, \.context, \.lastSegment, \.access,
                                                    \.touchedUs, \.watchUntilUs, \.download]
        for field in hot { #expect(offset(field) < 128, "\(field) at byte \(offset(field))") }
        #expect(offset(\.download) + MemoryLayout<Download>.size <= 128)
        #expect(offset(\.player) == offset(\.download) + MemoryLayout<Download>.stride)
        // The activity client's fields, touched by its periodic reports only, come last.
        #expect(offset(\.client) > offset(\.player) && offset(\.reportedPositionUs) > offset(\.player))
    }

    @Test("A link wait-queue entry is 8 bytes")
    func waitEntryIs8Bytes() {
        #expect(MemoryLayout<WaitEntry>.stride == 8)
    }

    @Test("Every event kind says whether it names a session, and the prefetch loads the sessions' events")
    func prefetchCoversSessionEvents() {
        let s: UInt32 = 7
        let sessionEvents: [World.Event] = [
            .apiResponse(session: s, generation: 1), .request(session: s, generation: 1), .downloadDone(session: s, generation: 1, epoch: 1),
            .abandon(session: s, generation: 1, epoch: 1), .patience(session: s, generation: 1), .sessionEnd(session: s, generation: 1),
            .flush(session: s, generation: 1), .failover(session: s, generation: 1),
        ]
        let others: [World.Event] = [
            .arrival(region: 0), .fillDone(fill: 7, epoch: 1), .windowOpens(pop: 7), .windowCloses(pop: 7), .release(index: 7), .sample,
            .logRead(partition: 7), .activityRetry(buffer: 7, generation: 1), .publish, .faultStarts(incident: 7), .faultEnds(incident: 7),
            .surgeArrival(incident: 7, index: 7), .land(index: 7),
        ]
        for event in sessionEvents { #expect(World.session(of: event) == s, "\(event)") }
        for event in others { #expect(World.session(of: event) == nil, "\(event)") }
        // Every kind is in one of the two lists: `World.session(of:)` switches over all of them
        // without a default, so a new kind fails to compile there, and this count fails here.
        #expect(sessionEvents.count + others.count == 21)
    }
}
