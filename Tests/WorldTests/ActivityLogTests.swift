import Activity
import SimCore
import Testing
@testable import World

/// The activity log alone: appends, refusals, reads and retention, without a world.
@Suite("Activity log, alone")
struct ActivityLogTests {
    /// One partition taking 1,000 events/s and reading 500/s; no lost acknowledgements.
    static func log(shared: Bool = true, _ change: (inout ActivityConfiguration) -> Void = { _ in }) -> ActivityLog {
        var a = ActivityConfiguration(batchInterval: .seconds(10), partitions: 1, partitionThroughput: 1_000, consumerRate: 500,
                                      appendTimeout: .seconds(5), ackLoss: 0)
        change(&a)
        return ActivityLog(configuration: a, regions: 1, titles: 10, sampling: 1, startUnixSeconds: 1_700_000_000, isShared: shared,
                           bucket: .seconds(60))
    }

    static func beats(_ n: Int, client: UInt64 = 1, at t: Int64 = 0) -> [ActivityEvent] {
        let time = 1_700_000_000_000_000 + t
        return [ActivityEvent(client: client, sequence: 0, count: UInt32(n), profile: 7, region: 0, title: 3, type: .heartbeat,
                              eventTime: time, sendTime: time, position: 0, endPosition: Int64(n - 1) * 10_000_000, interval: 10_000_000)]
    }

    static var stream: RandomStream { RandomStream(seed: 1, label: "test", id: 0) }

    @Test("An append lands at the append server's rate and is read at the reader's; its events are aggregated once")
    func appendThenRead() {
        var log = Self.log()
        var stream = Self.stream
        let (result, readAt) = log.append(Self.beats(100), to: 0, now: .zero, stream: &stream)
        #expect(result == .accepted)
        // 100 events: appended after 0.1 s, read 0.2 s later.
        #expect(readAt == .zero + .milliseconds(300))
        #expect(log.metrics.appended == 100 && log.partitions[0].appended == 100)
        #expect(log.results(heldAtClients: 0).pendingInLog == 100)
        log.read(0, now: readAt!)
        #expect(log.metrics.aggregated == 100 && log.metrics.duplicates == 0)
        #expect(log.results(heldAtClients: 0).pendingInLog == 0)
        #expect(log.unreadRecords.isEmpty)
    }

    @Test("A partition refuses appends while it is down and while it is more than the timeout behind")
    func refusals() {
        var log = Self.log()
        var stream = Self.stream
        log.outage(0, until: .zero + .seconds(10))
        #expect(log.append(Self.beats(1), to: 0, now: .zero + .seconds(5), stream: &stream).result == .refused)
        #expect(log.append(Self.beats(1), to: 0, now: .zero + .seconds(10), stream: &stream).result == .accepted)
        // 6,000 events take 6 s to append: the next append, at once, finds it 6 s behind.
        _ = log.append(Self.beats(6_000, client: 2), to: 0, now: .zero + .seconds(10), stream: &stream)
        #expect(log.append(Self.beats(1, client: 3), to: 0, now: .zero + .seconds(10), stream: &stream).result == .refused)
        #expect(log.metrics.refused == 2)
    }

    @Test("What waits in the log longer than its retention is dropped when reached, and counted")
    func retentionDrops() {
        var log = Self.log { $0.retention = .seconds(1); $0.appendTimeout = .hours(1) }
        var stream = Self.stream
        // 1,000 events: appended by 1 s, read by 3 s. The next batch is appended by 1.001 s but its
        // read would start at 3 s, 2 s later: past the retention.
        let first = log.append(Self.beats(1_000), to: 0, now: .zero, stream: &stream).readAt!
        let second = log.append(Self.beats(1, client: 2), to: 0, now: .zero, stream: &stream).readAt!
        log.read(0, now: first)
        log.read(0, now: second)
        #expect(log.metrics.aggregated == 1_000 && log.metrics.droppedRetention == 1)
    }

    @Test("A partition's log in a partitioned run passes its appends on, keeping its own view of the backlog")
    func partitionViewPassesAppendsOn() {
        var log = Self.log(shared: false)
        var stream = Self.stream
        let (result, readAt) = log.append(Self.beats(500), to: 0, now: .zero, stream: &stream)
        #expect(result == .accepted && readAt == nil)
        #expect(log.outbox.count == 1 && log.metrics.appended == 0)
        #expect(log.partitions[0].appendBusyUntil == 500_000)
    }

    @Test("Lag is sampled per partition, and a publication carries the data sets")
    func sampleAndPublish() {
        var log = Self.log()
        var stream = Self.stream
        _ = log.append(Self.beats(100), to: 0, now: .zero, stream: &stream)
        log.sample(now: .zero + .milliseconds(200), heldAtClients: 5)
        let m = log.results(heldAtClients: 5)
        #expect(m.lagEvents == [[100]] && m.heldAtClients == [5] && m.pendingAtClients == 5)
        log.publish(at: .zero + .seconds(1), profileLimit: 10)
        #expect(log.metrics.publications.count == 1 && !log.metrics.publications[0].files.isEmpty)
    }
}
