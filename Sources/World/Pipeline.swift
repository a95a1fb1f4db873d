#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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

/// Events a client could not send yet, and what it will do about them.
struct ClientBuffer {
    var client: UInt64
    var profile: UInt64
    var partition: Int
    var events: [ActivityEvent] = []
    /// Per buffered record: whether it already reached the log (its acknowledgement was lost).
    var delivered: [Bool] = []
    var attempts = 0
    var generation: UInt16 = 0
    var live = true
}

/// The play of a session in progress at the start, sent before the run.
struct HistoryPlay {
    var session: UInt32
    /// Its event time, microseconds since the epoch.
    var time: Int64
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

extension World {
    var activity: ActivityConfiguration { configuration.activity }

    /// Absolute (Unix) microseconds of a simulated instant: activity events carry wall-clock times.
    func unixMicros(_ t: SimInstant) -> Int64 { configuration.startUnixSeconds * 1_000_000 + t.microseconds }

    func partition(of profile: UInt64) -> Int {
        var z = profile &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(activity.partitions))
    }

    // MARK: Clients

    /// A new session's client: its id, and its first report a batch interval after it begins (for
    /// a session in progress at the start, at a random point of its first interval).
    func startClient(_ s: UInt32, warm: Bool, stream: inout RandomStream) {
        let i = Int(s)
        sessions.client[i] = nextClient
        nextClient += 1
        sessions.sequence[i] = 0
        sessions.playStartUs[i] = -1
        sessions.nextBeatUs[i] = .max
        sessions.reportedAtUs[i] = sim.now.microseconds
        sessions.reportedPositionUs[i] = 0
        sessions.buffer[i] = -1
        let interval = activity.batchInterval.microseconds
        let first = warm ? 1 + Int64(stream.nextInt(below: UInt64(interval))) : interval
        sim.schedule(.flush(session: s, generation: sessions.generation[i]), after: .microseconds(first))
    }

    /// A warm session plays from the start: heartbeats from a random point of the first interval,
    /// no play event (it started before the run).
    /// A session in progress at the start: its client sent its play when it started playing, `age`
    /// before the run (it joins `history`), and reports on from `position`.
    func resumeClient(_ s: UInt32, position: Int64, age: Double, stream: inout RandomStream) {
        let i = Int(s)
        precondition(sessions.sequence[i] == 0, "a session in progress at the start has sent nothing in the run")
        history.append(HistoryPlay(session: s, time: unixMicros(.zero) - Int64((age * 1e6).rounded())))
        sessions.sequence[i] += 1
        sessions.reportedPositionUs[i] = position
        sessions.nextBeatUs[i] = Int64(stream.nextInt(below: UInt64(activity.heartbeatInterval.microseconds)))
    }

    /// Orders `history` oldest first (ties by session): each profile's plays reach the aggregators
    /// in event time (its watch history is in the order played).
    func sortHistory() { history.sort { ($0.time, $0.session) < ($1.time, $1.session) } }

    /// The record of `history[k]`, built from its session's.
    func historyRecord(_ k: Int) -> ActivityEvent {
        let i = Int(history[k].session)
        return ActivityEvent(client: sessions.client[i], sequence: 0, count: 1, profile: UInt64(sessions.user[i]), region: sessions.region[i],
                             title: Int32(sessions.title[i]), type: .play, eventTime: history[k].time, sendTime: history[k].time, position: 0,
                             endPosition: nil, interval: 0, rating: 0, completed: false)
    }

    /// Applies this world's own `history` (a world that runs the log and its sessions).
    func applyOwnHistory() {
        sortHistory()
        aggregator.reserveCapacity(clients: history.count, profiles: history.count)
        for k in history.indices { applyHistory(historyRecord(k)) }
        history = []
    }

    /// Applies a play from before the run to the aggregators, as the state they had when the run
    /// began: so that sessions in progress are in watch history and co-watched as in continue
    /// watching. Not through the log (read long ago: no lag, no storage, no freshness), but in
    /// `--export-activity`, first, so that the data sets can be recomputed.
    func applyHistory(_ record: ActivityEvent) {
        let outcome = aggregator.applyHistory(record, partition: partition(of: record.profile))
        pipeline.history += Int64(outcome.applied)
        activityLog?(record, outcome, nil, false)
    }

    /// Playback started: a play to report, and heartbeats from one interval on.
    func clientStartedPlaying(_ s: UInt32) {
        let i = Int(s)
        let now = sim.now.microseconds
        sessions.playStartUs[i] = now
        sessions.nextBeatUs[i] = now + activity.heartbeatInterval.microseconds
        sessions.reportedAtUs[i] = now
        sessions.reportedPositionUs[i] = positionPlayed(s)
    }

    /// The client reports what happened since its last report: the play, heartbeats, pauses and
    /// seeks, and on the last report the stop (and maybe a rating).
    ///
    /// Simplified: heartbeat positions are interpolated between the two reports; pauses and seeks
    /// are events at the configured rates that do not change playback (the player model has no
    /// pause or seek; calibrated concurrency stays exact).
    func flush(_ s: UInt32, final: Bool) {
        let i = Int(s)
        let now = sim.now.microseconds
        if !final { sim.schedule(.flush(session: s, generation: sessions.generation[i]), after: activity.batchInterval) }
        var stream = activityStreams.subfamily(sessions.client[i]).stream(UInt64(now))
        let context = library.contexts[Int(sessions.context[i])]
        if sessions.started[i] && sessions.pop[i] != UInt16.max && sessions.player[i].now < now {
            sessions.player[i].advance(to: now, context)
        }
        let position = sessions.started[i] ? positionPlayed(s) : 0
        let client = sessions.client[i], profile = UInt64(sessions.user[i]), region = sessions.region[i]
        let title = Int32(sessions.title[i])
        scratch.removeAll(keepingCapacity: true)
        func add(_ type: ActivityEventType, at time: Int64, position: Int64, count: UInt32 = 1, end: Int64? = nil,
                 interval: Int64 = 0, rating: UInt8 = 0, completed: Bool = false) {
            scratch.append(ActivityEvent(client: client, sequence: sessions.sequence[i], count: count, profile: profile, region: region,
                                         title: title, type: type, eventTime: unixMicros(SimInstant(microseconds: time)),
                                         sendTime: unixMicros(sim.now), position: position, endPosition: end, interval: interval,
                                         rating: rating, completed: completed))
            sessions.sequence[i] += count
        }
        if sessions.playStartUs[i] >= 0 {
            add(.play, at: sessions.playStartUs[i], position: sessions.reportedPositionUs[i])
            sessions.playStartUs[i] = -1
        }
        let from = sessions.reportedAtUs[i], fromPosition = sessions.reportedPositionUs[i]
        let beat = activity.heartbeatInterval.microseconds
        func positionAt(_ t: Int64) -> Int64 {
            now > from ? fromPosition + (position - fromPosition) * (t - from) / (now - from) : position
        }
        if sessions.nextBeatUs[i] <= now {
            let first = sessions.nextBeatUs[i]
            let count = (now - first) / beat + 1
            let last = first + (count - 1) * beat
            add(.heartbeat, at: first, position: positionAt(first), count: UInt32(count), end: positionAt(last), interval: beat)
            sessions.nextBeatUs[i] = last + beat
        }
        if sessions.started[i] && now > from {
            let hours = Double(now - from) / 3.6e9
            for _ in 0..<poisson(activity.pausesPerHour * hours, &stream) {
                let t = from + 1 + Int64(stream.nextInt(below: UInt64(now - from)))
                add(.pause, at: t, position: positionAt(t))
                add(.resume, at: t, position: positionAt(t))
            }
            for _ in 0..<poisson(activity.seeksPerHour * hours, &stream) {
                let t = from + 1 + Int64(stream.nextInt(below: UInt64(now - from)))
                add(.seek, at: t, position: positionAt(t))
            }
        }
        if final && sessions.started[i] {
            let length = library.loaded[Int(library.index[Int(sessions.title[i])])].length
            let completed = position * 100 >= length * 95
            add(.stop, at: now, position: position, completed: completed)
            if stream.nextDouble() < activity.ratingShare {
                let u = stream.nextDouble()
                // Those who finish rate higher.
                let cumulative: [Double] = completed ? [0.01, 0.05, 0.20, 0.50, 1] : [0.15, 0.40, 0.70, 0.90, 1]
                add(.rating, at: now, position: position, rating: UInt8(cumulative.firstIndex { u < $0 }! + 1))
            }
        }
        sessions.reportedAtUs[i] = now
        sessions.reportedPositionUs[i] = position
        guard !scratch.isEmpty else { return }
        pipeline.produced += scratch.reduce(0) { $0 + Int64($1.count) }
        let p = partition(of: profile)
        let b = Int(sessions.buffer[i])
        if b >= 0 && buffers[b].live && buffers[b].client == client {
            // Still retrying: behind what waits.
            bufferEvents(b, scratch, delivered: false)
            return
        }
        switch append(scratch, to: p, stream: &stream) {
        case .accepted:
            break
        case .refused:
            let b = newBuffer(client: client, profile: profile, partition: p)
            bufferEvents(b, scratch, delivered: false)
            sessions.buffer[i] = Int32(b)
            scheduleRetry(b)
        case .unacknowledged:
            let b = newBuffer(client: client, profile: profile, partition: p)
            bufferEvents(b, scratch, delivered: true)
            sessions.buffer[i] = Int32(b)
            scheduleRetry(b)
        }
    }

    func poisson(_ mean: Double, _ stream: inout RandomStream) -> Int {
        guard mean > 0 else { return 0 }
        // Knuth's product method: means here are well below 1.
        var k = 0, p = 1.0
        let limit = exp(-mean)
        while true {
            p *= stream.nextDouble()
            if p <= limit { return k }
            k += 1
        }
    }

    // MARK: The log

    enum AppendResult { case accepted, refused, unacknowledged }

    /// Appends records to partition `p`: refused while it is down or more than `appendTimeout`
    /// behind; otherwise queued on its append server, then read by its aggregator in order. A lost
    /// acknowledgement (`ackLoss`) leaves the client thinking it failed.
    ///
    /// Records whose `alreadyInLog` flag is set landed before (their acknowledgement was lost): their
    /// delivery time was booked then.
    func append(_ records: [ActivityEvent], alreadyInLog: [Bool]? = nil, to p: Int, stream: inout RandomStream) -> AppendResult {
        let now = sim.now.microseconds
        guard partitions[p].downUntil <= now, partitions[p].appendBusyUntil - now <= activity.appendTimeout.microseconds else {
            pipeline.refused += 1
            return .refused
        }
        if runsLog {
            land(records, alreadyInLog: alreadyInLog, to: p)
        } else {
            // A partition of a partitioned run: the shared log takes the records at the next
            // synchronisation point, at the time they were sent. Meanwhile this partition's view of
            // the append server (the log's own state at the last synchronisation) queues its own
            // appends, so that its clients see the backlog they make.
            let events = records.reduce(0) { $0 + Int($1.count) }
            partitions[p].appendBusyUntil = max(now, partitions[p].appendBusyUntil) + appendTime(events: events)
            outbox.append(Landing(time: sim.now, partition: p, records: records, alreadyInLog: alreadyInLog))
        }
        return stream.nextDouble() < activity.ackLoss ? .unacknowledged : .accepted
    }

    /// Microseconds partition servers take to append `events` events.
    func appendTime(events: Int) -> Int64 {
        Int64((Double(events) / (activity.partitionThroughput / Double(configuration.sampling)) * 1e6).rounded(.up))
    }

    /// Records reach partition `p`: queued on its append server, then read by its aggregator in order.
    func land(_ records: [ActivityEvent], alreadyInLog: [Bool]?, to p: Int) {
        let now = sim.now.microseconds
        let k = Double(configuration.sampling)
        let events = records.reduce(0) { $0 + Int($1.count) }
        let appendStart = max(now, partitions[p].appendBusyUntil)
        let appended = appendStart + appendTime(events: events)
        partitions[p].appendBusyUntil = appended
        for r in records { partitions[p].records.append(r) }
        partitions[p].appended += Int64(events)
        pipeline.appended += Int64(events)
        pipeline.appendedBytes.add(Double(records.count) * activity.recordBytes, at: SimInstant(microseconds: appended))
        let readStart = max(appended, partitions[p].readBusyUntil)
        let expired = readStart - appended > activity.retention.microseconds
        let readEnd = expired ? readStart : readStart + Int64((Double(events) / (activity.consumerRate / k) * 1e6).rounded(.up))
        partitions[p].readBusyUntil = readEnd
        partitions[p].batches.append(LogBatch(records: records.count, events: events, appendedAt: appended, expired: expired))
        let landed = unixMicros(SimInstant(microseconds: appended))
        for (k, r) in records.enumerated() where !(alreadyInLog?[k] ?? false) {
            // A heartbeat run's beats happened an interval apart: each is booked at its own age.
            for beat in 0..<Int64(r.count) {
                pipeline.delivery.record(.microseconds(max(0, landed - r.eventTime - beat * r.interval)))
            }
        }
        sim.schedule(.logRead(partition: UInt16(p)), at: SimInstant(microseconds: readEnd))
    }

    /// The aggregator of partition `p` has read its next batch: each record is applied (exactly
    /// once, by event time), or counted as lost to retention.
    func logRead(_ p: Int) {
        guard let batch = partitions[p].batches.first else { return }
        partitions[p].batches.removeFirst()
        for _ in 0..<batch.records {
            let record = partitions[p].records.first!
            partitions[p].records.removeFirst()
            if batch.expired {
                pipeline.droppedRetention += Int64(record.count)
                activityLog?(record, ApplyOutcome(), nil, true)
                continue
            }
            let mark = aggregator.watermark
            let outcome = aggregator.apply(record, partition: p)
            pipeline.aggregated += Int64(outcome.applied)
            pipeline.duplicates += Int64(outcome.duplicates)
            pipeline.late += Int64(outcome.late)
            activityLog?(record, outcome, mark == .min ? nil : mark, false)
        }
        partitions[p].read += Int64(batch.events)
        if partitions[p].batches.isEmpty { observeIdle(p) }
    }

    /// An idle partition holds nothing newer to read: its clients have sent what happened up to a
    /// batch interval ago (later arrivals, from retries, count against the allowed lateness).
    func observeIdle(_ p: Int) {
        let now = finished ? end : sim.now
        aggregator.observe(partition: p, upTo: unixMicros(now) - activity.batchInterval.microseconds)
    }

    /// Records still unread in the log (at the end of a run: `--export-activity` lists them as pending).
    public var unreadRecords: [ActivityEvent] {
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

    /// Partition `p` refuses appends from now until `until` (an ingest outage).
    public func partitionOutage(_ p: Int, until: SimInstant) {
        partitions[p].downUntil = max(partitions[p].downUntil, until.microseconds)
    }

    // MARK: Client buffers and retries

    /// Events clients hold that have not reached the log (re-sends of records already in it not
    /// counted).
    var eventsHeldAtClients: Int64 {
        buffers.reduce(0) { total, b in
            guard b.live else { return total }
            return total + zip(b.events, b.delivered).reduce(Int64(0)) { $0 + ($1.1 ? 0 : Int64($1.0.count)) }
        }
    }

    func newBuffer(client: UInt64, profile: UInt64, partition: Int) -> Int {
        let buffer = ClientBuffer(client: client, profile: profile, partition: partition)
        if let b = freeBuffers.popLast() {
            let generation = buffers[b].generation &+ 1
            buffers[b] = buffer
            buffers[b].generation = generation
            return b
        }
        buffers.append(buffer)
        return buffers.count - 1
    }

    /// Adds records to a client's buffer, dropping the oldest not yet delivered when it is full
    /// (`clientBuffer` events).
    func bufferEvents(_ b: Int, _ records: [ActivityEvent], delivered: Bool) {
        buffers[b].events.append(contentsOf: records)
        buffers[b].delivered.append(contentsOf: repeatElement(delivered, count: records.count))
        var held = buffers[b].events.reduce(0) { $0 + Int($1.count) }
        while held > activity.clientBuffer, let drop = buffers[b].delivered.firstIndex(of: false) ?? buffers[b].delivered.indices.first {
            let n = Int(buffers[b].events[drop].count)
            if !buffers[b].delivered[drop] { pipeline.droppedClientBuffer += Int64(n) }
            buffers[b].events.remove(at: drop)
            buffers[b].delivered.remove(at: drop)
            held -= n
        }
    }

    func scheduleRetry(_ b: Int) {
        let delay = min(activity.retryDelay.microseconds << min(buffers[b].attempts, 20), 60_000_000)
        buffers[b].attempts += 1
        sim.schedule(.activityRetry(buffer: UInt32(b), generation: buffers[b].generation), after: .microseconds(delay))
    }

    /// A client tries again with everything it holds; on success the buffer is freed.
    func retry(_ b: Int) {
        guard buffers[b].live else { return }
        var stream = activityStreams.subfamily(buffers[b].client).stream(UInt64(sim.now.microseconds) | 1 << 63)
        let resent = zip(buffers[b].events, buffers[b].delivered).reduce(Int64(0)) { $0 + ($1.1 ? Int64($1.0.count) : 0) }
        switch append(buffers[b].events, alreadyInLog: buffers[b].delivered, to: buffers[b].partition, stream: &stream) {
        case .refused:
            scheduleRetry(b)
        case .unacknowledged:
            pipeline.resent += resent
            for k in buffers[b].delivered.indices { buffers[b].delivered[k] = true }
            scheduleRetry(b)
        case .accepted:
            pipeline.resent += resent
            releaseBuffer(b)
        }
    }

    /// The buffer is empty: freed (its session, if still running, sends directly again: it sees
    /// the slot is no longer its own).
    func releaseBuffer(_ b: Int) {
        buffers[b].live = false
        buffers[b].events = []
        buffers[b].delivered = []
        freeBuffers.append(b)
    }

    // MARK: Publishing and sampling

    func publish() {
        let now = finished ? end : sim.now
        if !finished && now + activity.publishPeriod < end { sim.schedule(.publish, after: activity.publishPeriod) }
        let (data, freshness) = aggregator.publish(at: unixMicros(now), profileLimit: activity.datasetProfiles)
        for (age, count) in freshness where age >= 0 {
            pipeline.freshness.record(.microseconds(age), count: count)
        }
        pipeline.publications.append(Publication(time: now, files: data.files()))
    }

    /// At each bucket's start (and at the end): each partition's lag, and idle partitions move the
    /// watermark on.
    func sampleLog() {
        let now = finished ? end.microseconds : sim.now.microseconds
        pipeline.heldAtClients.append(Double(eventsHeldAtClients))
        for p in partitions.indices {
            partitions[p].lagEvents.append(Double(partitions[p].appended - partitions[p].read))
            partitions[p].lagSeconds.append(partitions[p].batches.first.map { Double(max(0, now - $0.appendedAt)) / 1e6 } ?? 0)
            if partitions[p].batches.isEmpty { observeIdle(p) }
        }
    }
}
