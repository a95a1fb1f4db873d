import Activity
import SimCore
import Testing
@testable import World

/// An hour of 1,500 users at 5% with 8 partitions and a 10 s batch interval.
func pipelineWorld(hours: Double = 1, _ change: (inout ActivityConfiguration) -> Void = { _ in }) -> WorldConfiguration {
    var c = configuration(regions: [flatRegion(users: 1_500)], hours: hours)
    c.activity = ActivityConfiguration(batchInterval: .seconds(10), partitions: 8, ackLoss: 0.01)
    change(&c.activity)
    return c
}

/// Every event a client made is somewhere: delivered once (and then applied, late, expired or
/// unread), dropped from a full client buffer, or still held by its client.
func expectConserved(_ m: PipelineMetrics, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(m.produced == m.appended - m.resent + m.droppedClientBuffer + m.pendingAtClients,
            "produced \(m.produced), appended \(m.appended), resent \(m.resent), dropped \(m.droppedClientBuffer), held \(m.pendingAtClients)",
            sourceLocation: sourceLocation)
    #expect(m.appended == m.aggregated + m.late + m.droppedRetention + m.duplicates + m.pendingInLog,
            "appended \(m.appended), aggregated \(m.aggregated), late \(m.late), expired \(m.droppedRetention), duplicates \(m.duplicates), unread \(m.pendingInLog)",
            sourceLocation: sourceLocation)
}

@Suite("Activity pipeline")
struct PipelineTests {
    /// Sessions in progress at the start sent their play before it: the aggregators hold it, so a
    /// title someone is watching is in their watch history, as it is in continue watching.
    @Test("The data sets agree: every title in continue watching is in that profile's watch history, sessions in progress at the start included")
    func datasetsAgree() throws {
        var c = pipelineWorld(hours: 0.25) { $0.datasetProfiles = 1_000_000; $0.historyLength = 1_000 }
        c.demand.watchDuration = try .lognormal(median: 3_600, sigma: 0.5)  // most sessions outlast the run
        let world = World(configuration: c)
        try world.run(until: world.end)
        let m = world.results().pipeline
        #expect(m.history == Int64(world.results().global.initial))
        expectConserved(m)
        let files = try #require(m.publications.last).files
        func rows(_ name: String) -> [[Substring]] {
            files.first { $0.name == name }!.text.split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        }
        let watching = Set(rows("continue_watching.csv").map { "\($0[0]),\($0[2])" })
        let history = Set(rows("watch_history.csv").map { "\($0[0]),\($0[1])" })
        #expect(watching.count > 50)
        #expect(watching.isSubset(of: history), "\(watching.subtracting(history).count) titles watched but not in history")
    }

    @Test("Every event is accounted for, and re-sent records count once")
    func conservation() throws {
        let world = World(configuration: pipelineWorld())
        try world.run(until: world.end)
        let m = world.results().pipeline
        #expect(m.produced > 10_000)
        expectConserved(m)
        #expect(m.resent > 0)
        #expect(m.duplicates == m.resent)  // every re-sent event was recognised
        #expect(m.droppedClientBuffer == 0 && m.droppedRetention == 0 && m.late == 0)
        #expect(m.publications.count == 1)  // the run's end
    }

    /// Partition 3 refuses appends for 10 minutes. Its clients hold their events and retry; the
    /// backlog drains afterwards. With a 30-minute lateness nothing is late, so every event made is
    /// applied (less what is still in flight at the end, none here).
    @Test("An ingest outage builds a backlog that drains afterwards, losing nothing when buffers suffice")
    func outageWithoutLoss() throws {
        let world = World(configuration: pipelineWorld { $0.allowedLateness = .minutes(30); $0.ackLoss = 0 })
        try world.run(until: .zero + .minutes(20))
        world.activityLog.outage(3, until: .zero + .minutes(30))
        try world.run(until: .zero + .minutes(29))
        let during = world.activityLog.results(heldAtClients: world.clients.eventsHeld)
        #expect(during.pendingAtClients > 0)
        try world.run(until: world.end)
        let m = world.results().pipeline
        expectConserved(m)
        #expect(m.refused > 0)
        #expect(m.droppedClientBuffer == 0 && m.late == 0 && m.pendingAtClients == 0)
        #expect(m.aggregated == m.produced - m.pendingInLog)
    }

    /// The log's consumers keep up throughout, so its lag stays near zero; what the outage delays
    /// shows as events held at the clients and as the time from an event to the log.
    @Test("An ingest outage shows as events held at clients and as delivery time, not as log lag")
    func outageDelaysDelivery() throws {
        let normal = World(configuration: pipelineWorld { $0.ackLoss = 0 })
        try normal.run(until: normal.end)
        let calm = normal.results().pipeline
        // Without an outage an event reaches the log within a batch interval of 10 s.
        #expect(calm.delivery.count == UInt64(calm.appended))
        #expect(calm.delivery.maximum <= .seconds(11))
        #expect(calm.heldAtClients.allSatisfy { $0 == 0 })

        let world = World(configuration: pipelineWorld { $0.allowedLateness = .minutes(30); $0.ackLoss = 0 })
        try world.run(until: .zero + .minutes(20))
        world.activityLog.outage(3, until: .zero + .minutes(30))
        try world.run(until: world.end)
        let m = world.results().pipeline
        #expect(m.delivery.count == UInt64(m.appended - m.resent))
        // Events made early in the outage wait for its end (retries back off, so a little longer).
        #expect(m.delivery.maximum >= .minutes(9))
        #expect(m.delivery.percentile(50) <= .seconds(11))
        #expect((m.heldAtClients.max() ?? 0) > 0)
        #expect(m.lagSeconds.joined().allSatisfy { $0 < 1 })
    }

    /// The same outage with room for 30 events per client: the overflow is dropped and counted, and
    /// the books still balance to the event.
    @Test("With small client buffers an outage loses exactly what overflowed, and says so")
    func outageWithLoss() throws {
        let world = World(configuration: pipelineWorld { $0.allowedLateness = .minutes(30); $0.clientBuffer = 30; $0.ackLoss = 0 })
        try world.run(until: .zero + .minutes(20))
        world.activityLog.outage(3, until: .zero + .minutes(30))
        try world.run(until: world.end)
        let m = world.results().pipeline
        #expect(m.droppedClientBuffer > 0)
        expectConserved(m)
        #expect(m.aggregated == m.produced - m.droppedClientBuffer - m.pendingInLog)
    }

    /// A 10-minute outage: events held that long are within a 30-minute lateness, beyond a 1-minute one.
    @Test("Events delayed within the allowed lateness are applied, beyond it counted as late")
    func lateness() throws {
        func run(lateness: SimDuration) throws -> PipelineMetrics {
            let world = World(configuration: pipelineWorld { $0.allowedLateness = lateness; $0.ackLoss = 0 })
            try world.run(until: .zero + .minutes(20))
            world.activityLog.outage(3, until: .zero + .minutes(30))
            try world.run(until: world.end)
            return world.results().pipeline
        }
        let tolerant = try run(lateness: .minutes(30)), strict = try run(lateness: .minutes(1))
        #expect(tolerant.late == 0)
        #expect(strict.late > 0)
        expectConserved(strict)
    }

    /// Aggregators reading at 0.5 events/s per partition while clients make about 1: the log's lag grows; retention
    /// of 10 minutes then drops what waited too long, counted.
    @Test("A slow aggregator builds lag, and retention drops what waited too long, counted")
    func consumerLag() throws {
        let world = World(configuration: pipelineWorld { $0.consumerRate = 0.5; $0.retention = .minutes(10) })
        try world.run(until: world.end)
        let m = world.results().pipeline
        #expect(m.lagSeconds.flatMap { $0 }.max()! > 60)
        #expect(m.droppedRetention > 0)
        expectConserved(m)
    }

    @Test("The same seed gives the same data sets")
    func deterministic() throws {
        func run() throws -> [String] {
            let world = World(configuration: pipelineWorld(hours: 1.2))
            try world.run(until: world.end)
            return world.results().pipeline.publications.flatMap { $0.files.map(\.text) }
        }
        let a = try run()
        #expect(a == (try run()))
        #expect(a.contains { $0.split(separator: "\n").count > 1 })
    }
}
