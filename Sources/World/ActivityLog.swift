import Activity
import Metrics
import SimCore
import Stochastics

/// A batch of records in a log partition, waiting for (or being read by) its aggregator.
struct LogBatch {
    var records: Int
    /// Events in it (a heartbeat run counts its heartbeats).
    var events: Int
    var appendedAt: Int64
    /// Whether the aggregator reached it only after the log's retention had dropped it.
    var expired: Bool
}

/// One partition of the activity log: an append server with a throughput, the records it holds in
/// order, and the aggregator reading them at its own rate.
struct LogPartition {
    var records = FIFO<ActivityEvent>()
    var batches = FIFO<LogBatch>()
    /// When the append server and the reader are next free, microseconds.
    var appendBusyUntil: Int64 = 0
    var readBusyUntil: Int64 = 0
    var downUntil: Int64 = .min
    /// Events appended and read, for the lag.
    var appended: Int64 = 0
    var read: Int64 = 0
    /// The lag at each metrics bucket's start: events, and seconds since the oldest unread append.
    var lagEvents: [Double] = []
    var lagSeconds: [Double] = []
}

/// The activity log and its aggregators: a partitioned log (partitioned by profile), each partition
/// an append server and an aggregator reading it in order at its own rate, and the real
/// aggregation code (`Activity.Aggregator`) publishing the recommendation data sets.
///
/// Owns: the partitions (appends, refusals while down or too far behind, retention, lag), the
/// aggregator and its watermark, the pipeline's figures, and in a partitioned run the appends
/// passed between the partitions' worlds and the log's (`outbox`, `inbox`). Handles, through the
/// world's dispatch: `.logRead(partition)` (``read(_:now:)``), `.land(index)` (``land(_:alreadyInLog:to:now:)``
/// of an inbox entry), `.publish` (``publish(at:)``) and the per-bucket sample (``sample(now:heldAtClients:)``).
/// It schedules nothing itself: the calls that start a read return when it ends.
///
/// Simplified: an append server and a reader are each one FIFO server with a fixed rate in events
/// per second (scaled by 1/k like the clients feeding it); a lost acknowledgement is a coin flip per
/// append (`ackLoss`).
struct ActivityLog {
    /// An append a partition's client made, for the shared log.
    struct Landing {
        var time: SimInstant
        var partition: Int
        var records: [ActivityEvent]
        var alreadyInLog: [Bool]?
    }

    enum AppendResult { case accepted, refused, unacknowledged }

    let configuration: ActivityConfiguration
    /// The sampling factor k: partitions' rates are scaled by 1/k.
    let sampling: Double
    /// Unix microseconds of the run's start: activity events carry wall-clock times.
    let startUnixMicros: Int64
    /// Whether this log is the real one (else, a partition of a partitioned run, appends go to the
    /// outbox and only the append servers' backlog is modelled here).
    let isShared: Bool
    var partitions: [LogPartition]
    var aggregator: Aggregator
    var metrics: PipelineMetrics
    /// A partition's appends since the last synchronisation, in the order made.
    var outbox: [Landing] = []
    /// The log's world: the appends of every partition for the current interval, merged.
    var inbox: [Landing] = []
    /// Receives every record the aggregators read, with what became of it and the watermark then
    /// (nil before there is one), and whether retention had dropped it: `--export-activity`.
    var export: ((ActivityEvent, ApplyOutcome, Int64?, Bool) -> Void)?

    init(configuration a: ActivityConfiguration, regions: Int, titles: Int, sampling: Int, startUnixSeconds: Int64, isShared: Bool,
         bucket: SimDuration) {
        configuration = a
        self.sampling = Double(sampling)
        startUnixMicros = startUnixSeconds * 1_000_000
        self.isShared = isShared
        partitions = Array(repeating: LogPartition(), count: a.partitions)
        aggregator = Aggregator(configuration: AggregationConfiguration(
            partitions: a.partitions, regions: regions, titles: titles, allowedLateness: a.allowedLateness.microseconds,
            trendingWindow: a.trendingWindow.microseconds, topN: a.topN, coWatchWindow: a.coWatchWindow.microseconds,
            historyLength: a.historyLength, trendingFrom: startUnixMicros))
        metrics = PipelineMetrics(bucket: bucket)
    }

    /// Absolute (Unix) microseconds of a simulated instant.
    func unixMicros(_ t: SimInstant) -> Int64 { startUnixMicros + t.microseconds }

    /// The partition a profile's records go to (a fixed hash of the profile).
    func partition(of profile: UInt64) -> Int {
        var z = profile &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(configuration.partitions))
    }

    /// Appends records to partition `p` at `now`: refused while it is down or more than
    /// `appendTimeout` behind; otherwise queued on its append server, then read by its aggregator
    /// in order. A lost acknowledgement (`ackLoss`) leaves the client thinking it failed. Returns
    /// also when the aggregator will have read them (the caller schedules `.logRead` then), if they
    /// landed here.
    ///
    /// Records whose `alreadyInLog` flag is set landed before (their acknowledgement was lost): their
    /// delivery time was booked then.
    mutating func append(_ records: [ActivityEvent], alreadyInLog: [Bool]? = nil, to p: Int, now time: SimInstant,
                         stream: inout RandomStream) -> (result: AppendResult, readAt: SimInstant?) {
        let now = time.microseconds
        guard partitions[p].downUntil <= now, partitions[p].appendBusyUntil - now <= configuration.appendTimeout.microseconds else {
            metrics.refused += 1
            return (.refused, nil)
        }
        var readAt: SimInstant?
        if isShared {
            readAt = land(records, alreadyInLog: alreadyInLog, to: p, now: time)
        } else {
            // A partition of a partitioned run: the shared log takes the records at the next
            // synchronisation point, at the time they were sent. Meanwhile this partition's view of
            // the append server (the log's own state at the last synchronisation) queues its own
            // appends, so that its clients see the backlog they make.
            let events = records.reduce(0) { $0 + Int($1.count) }
            partitions[p].appendBusyUntil = max(now, partitions[p].appendBusyUntil) + appendTime(events: events)
            outbox.append(Landing(time: time, partition: p, records: records, alreadyInLog: alreadyInLog))
        }
        return (stream.nextDouble() < configuration.ackLoss ? .unacknowledged : .accepted, readAt)
    }

    /// Microseconds partition servers take to append `events` events.
    func appendTime(events: Int) -> Int64 {
        Int64((Double(events) / (configuration.partitionThroughput / sampling) * 1e6).rounded(.up))
    }

    /// Records reach partition `p` at `now`: queued on its append server, then read by its
    /// aggregator in order. Returns when the read of this batch ends.
    mutating func land(_ records: [ActivityEvent], alreadyInLog: [Bool]?, to p: Int, now time: SimInstant) -> SimInstant {
        let now = time.microseconds
        let events = records.reduce(0) { $0 + Int($1.count) }
        let appendStart = max(now, partitions[p].appendBusyUntil)
        let appended = appendStart + appendTime(events: events)
        partitions[p].appendBusyUntil = appended
        for r in records { partitions[p].records.append(r) }
        partitions[p].appended += Int64(events)
        metrics.appended += Int64(events)
        metrics.appendedBytes.add(Double(records.count) * configuration.recordBytes, at: SimInstant(microseconds: appended))
        let readStart = max(appended, partitions[p].readBusyUntil)
        let expired = readStart - appended > configuration.retention.microseconds
        let readEnd = expired ? readStart : readStart + Int64((Double(events) / (configuration.consumerRate / sampling) * 1e6).rounded(.up))
        partitions[p].readBusyUntil = readEnd
        partitions[p].batches.append(LogBatch(records: records.count, events: events, appendedAt: appended, expired: expired))
        let landed = unixMicros(SimInstant(microseconds: appended))
        for (k, r) in records.enumerated() where !(alreadyInLog?[k] ?? false) {
            // A heartbeat run's beats happened an interval apart: each is booked at its own age.
            for beat in 0..<Int64(r.count) {
                metrics.delivery.record(.microseconds(max(0, landed - r.eventTime - beat * r.interval)))
            }
        }
        return SimInstant(microseconds: readEnd)
    }

    /// The aggregator of partition `p` has read its next batch: each record is applied (exactly
    /// once, by event time), or counted as lost to retention.
    mutating func read(_ p: Int, now: SimInstant) {
        guard let batch = partitions[p].batches.first else { return }
        partitions[p].batches.removeFirst()
        for _ in 0..<batch.records {
            let record = partitions[p].records.first!
            partitions[p].records.removeFirst()
            if batch.expired {
                metrics.droppedRetention += Int64(record.count)
                export?(record, ApplyOutcome(), nil, true)
                continue
            }
            let mark = aggregator.watermark
            let outcome = aggregator.apply(record, partition: p)
            metrics.aggregated += Int64(outcome.applied)
            metrics.duplicates += Int64(outcome.duplicates)
            metrics.late += Int64(outcome.late)
            export?(record, outcome, mark == .min ? nil : mark, false)
        }
        partitions[p].read += Int64(batch.events)
        if partitions[p].batches.isEmpty { observeIdle(p, now: now) }
    }

    /// An idle partition holds nothing newer to read: its clients have sent what happened up to a
    /// batch interval ago (later arrivals, from retries, count against the allowed lateness).
    mutating func observeIdle(_ p: Int, now: SimInstant) {
        aggregator.observe(partition: p, upTo: unixMicros(now) - configuration.batchInterval.microseconds)
    }

    /// Applies a play from before the run to the aggregators, as the state they had when the run
    /// began: so that sessions in progress are in watch history and co-watched as in continue
    /// watching. Not through the log (read long ago: no lag, no storage, no freshness), but in
    /// `--export-activity`, first, so that the data sets can be recomputed.
    mutating func applyHistory(_ record: ActivityEvent) {
        let outcome = aggregator.applyHistory(record, partition: partition(of: record.profile))
        metrics.history += Int64(outcome.applied)
        export?(record, outcome, nil, false)
    }

    /// Records still unread (at the end of a run: `--export-activity` lists them as pending).
    var unreadRecords: [ActivityEvent] {
        partitions.flatMap { p in
            var records = p.records
            var out: [ActivityEvent] = []
            while let r = records.first {
                out.append(r)
                records.removeFirst()
            }
            return out
        }
    }

    /// Partition `p` refuses appends until `until` (an ingest outage).
    mutating func outage(_ p: Int, until: SimInstant) {
        partitions[p].downUntil = max(partitions[p].downUntil, until.microseconds)
    }

    /// The aggregators publish the data sets as of `now`.
    mutating func publish(at now: SimInstant, profileLimit: Int) {
        let (data, freshness) = aggregator.publish(at: unixMicros(now), profileLimit: profileLimit)
        for (age, count) in freshness where age >= 0 {
            metrics.freshness.record(.microseconds(age), count: count)
        }
        metrics.publications.append(Publication(time: now, files: data.files()))
    }

    /// At each bucket's start (and at the end): each partition's lag and the events clients hold;
    /// idle partitions move the watermark on.
    mutating func sample(now: SimInstant, heldAtClients: Int64) {
        metrics.heldAtClients.append(Double(heldAtClients))
        for p in partitions.indices {
            partitions[p].lagEvents.append(Double(partitions[p].appended - partitions[p].read))
            partitions[p].lagSeconds.append(partitions[p].batches.first.map { Double(max(0, now.microseconds - $0.appendedAt)) / 1e6 } ?? 0)
            if partitions[p].batches.isEmpty { observeIdle(p, now: now) }
        }
    }

    /// The pipeline's figures with the lag samples and what is still pending.
    func results(heldAtClients: Int64) -> PipelineMetrics {
        var m = metrics
        m.lagEvents = partitions.map(\.lagEvents)
        m.lagSeconds = partitions.map(\.lagSeconds)
        m.pendingAtClients = heldAtClients
        m.pendingInLog = partitions.reduce(0) { $0 + $1.appended - $1.read }
        return m
    }
}

/// What the pipeline did, for the report.
public struct PipelineMetrics: Sendable {
    /// Events clients created, and events appended to the log (re-sent ones included).
    public var produced: Int64 = 0
    public var appended: Int64 = 0
    /// Events re-sent after a lost acknowledgement (already in the log once).
    public var resent: Int64 = 0
    /// Plays sessions in progress at the start sent before it: the aggregators' state from before
    /// the run (not produced, appended or aggregated in it).
    public var history: Int64 = 0
    /// Appends refused (partition down or too far behind), each followed by a retry.
    public var refused: Int64 = 0
    public var aggregated: Int64 = 0
    public var duplicates: Int64 = 0
    public var late: Int64 = 0
    /// Lost, by cause: a client's buffer overflowed; the log dropped them before they were read.
    public var droppedClientBuffer: Int64 = 0
    public var droppedRetention: Int64 = 0
    /// Event time to visible in a published data set.
    public var freshness = LatencyRecorder()
    /// Event time to its first landing in the log: the client's batching, plus the time it was
    /// held by its client while the log refused it. The log's own lag (`lagSeconds`) starts only
    /// once an event is in the log, so an ingest outage shows here and in `heldAtClients`.
    public var delivery = LatencyRecorder()
    /// Events held by clients (not yet in the log) at each metrics bucket's start.
    public var heldAtClients: [Double] = []
    /// Log bytes appended per bucket (for the storage the retention window holds).
    public var appendedBytes: TimeSeries
    public var lagEvents: [[Double]] = []
    public var lagSeconds: [[Double]] = []
    /// At the end: events still in clients' buffers (never delivered), and unread in the log.
    public var pendingAtClients: Int64 = 0
    public var pendingInLog: Int64 = 0
    public var publications: [Publication] = []

    init(bucket: SimDuration) { appendedBytes = TimeSeries(bucketWidth: bucket) }

    /// Adds another world's part of a partitioned run: the partitions' clients (produced, refused,
    /// held) and the log's world (appended, read, lag, publications) each count what they did, so
    /// every figure is a sum.
    mutating func merge(_ o: PipelineMetrics) {
        produced += o.produced
        history += o.history
        appended += o.appended
        resent += o.resent
        refused += o.refused
        aggregated += o.aggregated
        duplicates += o.duplicates
        late += o.late
        droppedClientBuffer += o.droppedClientBuffer
        droppedRetention += o.droppedRetention
        freshness.merge(o.freshness)
        delivery.merge(o.delivery)
        heldAtClients = PipelineMetrics.sum(heldAtClients, o.heldAtClients)
        appendedBytes.merge(o.appendedBytes)
        lagEvents = zip(lagEvents, o.lagEvents).map { PipelineMetrics.sum($0, $1) }
        lagSeconds = zip(lagSeconds, o.lagSeconds).map { PipelineMetrics.sum($0, $1) }
        pendingAtClients += o.pendingAtClients
        pendingInLog += o.pendingInLog
        publications += o.publications
    }

    static func sum(_ a: [Double], _ b: [Double]) -> [Double] {
        (0..<max(a.count, b.count)).map { (a.indices.contains($0) ? a[$0] : 0) + (b.indices.contains($0) ? b[$0] : 0) }
    }
}

/// One publication of the data sets.
public struct Publication: Sendable {
    public var time: SimInstant
    public var files: [(name: String, text: String)]
}
