#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Activity
import SimCore

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

/// The players' activity clients: what each session reports (play, heartbeats, pauses, seeks,
/// stop, rating), batched every `batchInterval`, and what a client does when the log refuses it
/// (holds the events in a bounded buffer and retries with backoff).
///
/// Owns: client ids, each client's retry buffer, the plays of sessions in progress at the start
/// (history), the activity random streams. A session's own client fields (sequence, last report,
/// next heartbeat, buffer) live in its session record, which the world passes in. Handles, through
/// the world's dispatch: `.flush(session)` (``report(_:final:now:position:titleLength:sessions:log:schedule:)``)
/// and `.activityRetry(buffer)` (``retry(_:now:log:schedule:)``). Events it causes go to `schedule`,
/// in the order made.
///
/// Simplified: heartbeat positions are interpolated between two reports; pauses and seeks are
/// events at the configured rates that do not change playback (the player model has no pause or
/// seek; calibrated concurrency stays exact).
struct ActivityClients {
    let configuration: ActivityConfiguration
    let streams: StreamFamily
    /// The next client id (ids stay unique across a partitioned run's worlds: the aggregators
    /// deduplicate by client).
    var nextClient: UInt64
    var buffers: [ClientBuffer] = []
    var freeBuffers: [Int] = []
    /// The plays sessions in progress at the start sent before it: the aggregators' state from
    /// before the run, applied before its first event. 16 bytes each; the records are built from
    /// the sessions' own when applied.
    var history: [HistoryPlay] = []
    /// The records of the report being made (kept to reuse its storage).
    private var scratch: [ActivityEvent] = []

    init(configuration: ActivityConfiguration, seed: UInt64, firstClient: UInt64) {
        self.configuration = configuration
        streams = StreamFamily(seed: seed, label: "activity")
        nextClient = firstClient
    }

    /// A new session's client: its id; returns when its first report is due, a batch interval
    /// after it begins (for a session in progress at the start, at a random point of its first
    /// interval).
    mutating func start(_ s: UInt32, sessions: SessionTable, warm: Bool, now: SimInstant, stream: inout RandomStream) -> SimDuration {
        let i = Int(s)
        sessions.client[i] = nextClient
        nextClient += 1
        sessions.sequence[i] = 0
        sessions.playStartUs[i] = -1
        sessions.nextBeatUs[i] = .max
        sessions.reportedAtUs[i] = now.microseconds
        sessions.reportedPositionUs[i] = 0
        sessions.buffer[i] = -1
        let interval = configuration.batchInterval.microseconds
        return .microseconds(warm ? 1 + Int64(stream.nextInt(below: UInt64(interval))) : interval)
    }

    /// The random stream a resumed session's client draws its first heartbeat from.
    func resumeStream(client: UInt64) -> RandomStream { streams.subfamily(client).stream(0) }

    /// A session in progress at the start: its client sent its play when it started playing, `age`
    /// seconds before the run (it joins `history`; `startUnixMicros` is the run's start), and
    /// reports on from `position`, with heartbeats from a random point of the first interval.
    mutating func resume(_ s: UInt32, sessions: SessionTable, position: Int64, age: Double, startUnixMicros: Int64,
                         stream: inout RandomStream) {
        let i = Int(s)
        precondition(sessions.sequence[i] == 0, "a session in progress at the start has sent nothing in the run")
        history.append(HistoryPlay(session: s, time: startUnixMicros - Int64((age * 1e6).rounded())))
        sessions.sequence[i] += 1
        sessions.reportedPositionUs[i] = position
        sessions.nextBeatUs[i] = Int64(stream.nextInt(below: UInt64(configuration.heartbeatInterval.microseconds)))
    }

    /// Orders `history` oldest first (ties by session): each profile's plays reach the aggregators
    /// in event time (its watch history is in the order played).
    mutating func sortHistory() { history.sort { ($0.time, $0.session) < ($1.time, $1.session) } }

    /// The record of `history[k]`, built from its session's.
    func historyRecord(_ k: Int, sessions: SessionTable) -> ActivityEvent {
        let i = Int(history[k].session)
        return ActivityEvent(client: sessions.client[i], sequence: 0, count: 1, profile: UInt64(sessions.user[i]), region: sessions.region[i],
                             title: Int32(sessions.title[i]), type: .play, eventTime: history[k].time, sendTime: history[k].time, position: 0,
                             endPosition: nil, interval: 0, rating: 0, completed: false)
    }

    /// Applies the history to `log`'s aggregators (a world that runs the log and its sessions), and
    /// forgets it.
    mutating func applyHistory(to log: inout ActivityLog, sessions: SessionTable) {
        sortHistory()
        log.aggregator.reserveCapacity(clients: history.count, profiles: history.count)
        for k in history.indices { log.applyHistory(historyRecord(k, sessions: sessions)) }
        history = []
    }

    /// Playback started at `now`, at media `position`: a play to report, and heartbeats from one
    /// interval on.
    func startedPlaying(_ s: UInt32, sessions: SessionTable, now: SimInstant, position: Int64) {
        let i = Int(s)
        sessions.playStartUs[i] = now.microseconds
        sessions.nextBeatUs[i] = now.microseconds + configuration.heartbeatInterval.microseconds
        sessions.reportedAtUs[i] = now.microseconds
        sessions.reportedPositionUs[i] = position
    }

    /// The client reports what happened since its last report: the play, heartbeats, pauses and
    /// seeks, and on the last report (`final`) the stop (and maybe a rating). `position` is the
    /// media played by now (0 if play never started); `titleLength` the title's, microseconds.
    mutating func report(_ s: UInt32, final: Bool, now time: SimInstant, position: Int64, titleLength: Int64, sessions: SessionTable,
                         writeFailed: Bool = false, log: inout ActivityLog, schedule: (World.Event, SimInstant) -> Void) {
        let i = Int(s)
        let now = time.microseconds
        var stream = streams.subfamily(sessions.client[i]).stream(UInt64(now))
        let started = sessions.started[i]
        let client = sessions.client[i], profile = UInt64(sessions.user[i]), region = sessions.region[i]
        let title = Int32(sessions.title[i])
        scratch.removeAll(keepingCapacity: true)
        func add(_ type: ActivityEventType, at t: Int64, position: Int64, count: UInt32 = 1, end: Int64? = nil,
                 interval: Int64 = 0, rating: UInt8 = 0, completed: Bool = false) {
            scratch.append(ActivityEvent(client: client, sequence: sessions.sequence[i], count: count, profile: profile, region: region,
                                         title: title, type: type, eventTime: log.unixMicros(SimInstant(microseconds: t)),
                                         sendTime: log.unixMicros(time), position: position, endPosition: end, interval: interval,
                                         rating: rating, completed: completed))
            sessions.sequence[i] += count
        }
        if sessions.playStartUs[i] >= 0 {
            add(.play, at: sessions.playStartUs[i], position: sessions.reportedPositionUs[i])
            sessions.playStartUs[i] = -1
        }
        let from = sessions.reportedAtUs[i], fromPosition = sessions.reportedPositionUs[i]
        let beat = configuration.heartbeatInterval.microseconds
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
        if started && now > from {
            let hours = Double(now - from) / 3.6e9
            for _ in 0..<ActivityClients.poisson(configuration.pausesPerHour * hours, &stream) {
                let t = from + 1 + Int64(stream.nextInt(below: UInt64(now - from)))
                add(.pause, at: t, position: positionAt(t))
                add(.resume, at: t, position: positionAt(t))
            }
            for _ in 0..<ActivityClients.poisson(configuration.seeksPerHour * hours, &stream) {
                let t = from + 1 + Int64(stream.nextInt(below: UInt64(now - from)))
                add(.seek, at: t, position: positionAt(t))
            }
        }
        if final && started {
            let completed = position * 100 >= titleLength * 95
            add(.stop, at: now, position: position, completed: completed)
            if stream.nextDouble() < configuration.ratingShare {
                let u = stream.nextDouble()
                // Those who finish rate higher.
                let cumulative: [Double] = completed ? [0.01, 0.05, 0.20, 0.50, 1] : [0.15, 0.40, 0.70, 0.90, 1]
                add(.rating, at: now, position: position, rating: UInt8(cumulative.firstIndex { u < $0 }! + 1))
            }
        }
        sessions.reportedAtUs[i] = now
        sessions.reportedPositionUs[i] = position
        guard !scratch.isEmpty else { return }
        log.metrics.produced += scratch.reduce(0) { $0 + Int64($1.count) }
        let p = log.partition(of: profile)
        let b = Int(sessions.buffer[i])
        if b >= 0 && buffers[b].live && buffers[b].client == client {
            // Still retrying: behind what waits.
            hold(b, scratch, delivered: false, log: &log)
            return
        }
        // A progress write the control plane failed never reached the log: held, as a refusal is.
        switch writeFailed ? .refused : ActivityClients.append(scratch, to: p, now: time, log: &log, stream: &stream, schedule: schedule) {
        case .accepted:
            break
        case .refused:
            let b = newBuffer(client: client, profile: profile, partition: p)
            hold(b, scratch, delivered: false, log: &log)
            sessions.buffer[i] = Int32(b)
            scheduleRetry(b, schedule: schedule, now: time)
        case .unacknowledged:
            let b = newBuffer(client: client, profile: profile, partition: p)
            hold(b, scratch, delivered: true, log: &log)
            sessions.buffer[i] = Int32(b)
            scheduleRetry(b, schedule: schedule, now: time)
        }
    }

    /// Appends to the log, scheduling the read when the records land in this world's log.
    static func append(_ records: [ActivityEvent], alreadyInLog: [Bool]? = nil, to p: Int, now: SimInstant, log: inout ActivityLog,
                       stream: inout RandomStream, schedule: (World.Event, SimInstant) -> Void) -> ActivityLog.AppendResult {
        let (result, readAt) = log.append(records, alreadyInLog: alreadyInLog, to: p, now: now, stream: &stream)
        if let readAt { schedule(.logRead(partition: UInt16(p)), readAt) }
        return result
    }

    /// A Poisson count of mean `mean` (Knuth's product method: means here are well below 1).
    static func poisson(_ mean: Double, _ stream: inout RandomStream) -> Int {
        guard mean > 0 else { return 0 }
        var k = 0, p = 1.0
        let limit = exp(-mean)
        while true {
            p *= stream.nextDouble()
            if p <= limit { return k }
            k += 1
        }
    }

    // MARK: Buffers and retries

    /// Events clients hold that have not reached the log (re-sends of records already in it not
    /// counted).
    var eventsHeld: Int64 {
        buffers.reduce(0) { total, b in
            guard b.live else { return total }
            return total + zip(b.events, b.delivered).reduce(Int64(0)) { $0 + ($1.1 ? 0 : Int64($1.0.count)) }
        }
    }

    mutating func newBuffer(client: UInt64, profile: UInt64, partition: Int) -> Int {
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
    /// (`clientBuffer` events; counted in `log`'s figures).
    mutating func hold(_ b: Int, _ records: [ActivityEvent], delivered: Bool, log: inout ActivityLog) {
        buffers[b].events.append(contentsOf: records)
        buffers[b].delivered.append(contentsOf: repeatElement(delivered, count: records.count))
        var held = buffers[b].events.reduce(0) { $0 + Int($1.count) }
        while held > configuration.clientBuffer, let drop = buffers[b].delivered.firstIndex(of: false) ?? buffers[b].delivered.indices.first {
            let n = Int(buffers[b].events[drop].count)
            if !buffers[b].delivered[drop] { log.metrics.droppedClientBuffer += Int64(n) }
            buffers[b].events.remove(at: drop)
            buffers[b].delivered.remove(at: drop)
            held -= n
        }
    }

    mutating func scheduleRetry(_ b: Int, schedule: (World.Event, SimInstant) -> Void, now: SimInstant) {
        let delay = min(configuration.retryDelay.microseconds << min(buffers[b].attempts, 20), 60_000_000)
        buffers[b].attempts += 1
        schedule(.activityRetry(buffer: UInt32(b), generation: buffers[b].generation), now + .microseconds(delay))
    }

    /// A client tries again with everything it holds; on success the buffer is freed (its session,
    /// if still running, sends directly again: it sees the slot is no longer its own).
    mutating func retry(_ b: Int, now: SimInstant, log: inout ActivityLog, schedule: (World.Event, SimInstant) -> Void) {
        guard buffers[b].live else { return }
        var stream = streams.subfamily(buffers[b].client).stream(UInt64(now.microseconds) | 1 << 63)
        let resent = zip(buffers[b].events, buffers[b].delivered).reduce(Int64(0)) { $0 + ($1.1 ? Int64($1.0.count) : 0) }
        switch ActivityClients.append(buffers[b].events, alreadyInLog: buffers[b].delivered, to: buffers[b].partition, now: now, log: &log,
                                      stream: &stream, schedule: schedule) {
        case .refused:
            scheduleRetry(b, schedule: schedule, now: now)
        case .unacknowledged:
            log.metrics.resent += resent
            for k in buffers[b].delivered.indices { buffers[b].delivered[k] = true }
            scheduleRetry(b, schedule: schedule, now: now)
        case .accepted:
            log.metrics.resent += resent
            buffers[b].live = false
            buffers[b].events = []
            buffers[b].delivered = []
            freeBuffers.append(b)
        }
    }
}
