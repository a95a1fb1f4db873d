/// How the aggregation jobs window and bound their state.
public struct AggregationConfiguration: Sendable, Equatable {
    public var partitions: Int
    public var regions: Int
    public var titles: Int
    /// Events older than the watermark by up to this are still applied, microseconds.
    public var allowedLateness: Int64
    /// Trending: tumbling windows of this length from the Unix epoch, microseconds.
    public var trendingWindow: Int64
    /// Entries per list in the published data sets (trending, co-watched, continue watching).
    public var topN: Int
    /// Co-watched: two titles count when one profile plays both within this, microseconds.
    public var coWatchWindow: Int64
    /// Watch history entries kept per profile.
    public var historyLength: Int
    /// Trending counts events from this time on (microseconds since the epoch): an aggregator
    /// started then holds history from before it (``Aggregator/applyHistory(_:partition:)``) but
    /// not the trending windows its predecessor already published.
    public var trendingFrom: Int64

    public init(partitions: Int, regions: Int, titles: Int, allowedLateness: Int64 = 300_000_000, trendingWindow: Int64 = 3_600_000_000,
                topN: Int = 10, coWatchWindow: Int64 = 86_400_000_000, historyLength: Int = 50, trendingFrom: Int64 = .min) {
        precondition(partitions >= 1 && regions >= 1 && titles >= 1 && allowedLateness >= 0 && trendingWindow > 0 && topN >= 1
                     && coWatchWindow > 0 && historyLength >= 1, "invalid aggregation configuration")
        self.partitions = partitions
        self.regions = regions
        self.titles = titles
        self.allowedLateness = allowedLateness
        self.trendingWindow = trendingWindow
        self.topN = topN
        self.coWatchWindow = coWatchWindow
        self.historyLength = historyLength
        self.trendingFrom = trendingFrom
    }
}

/// What applying one record did: events applied, dropped as already applied (duplicates), or
/// too late for the watermark. A heartbeat run may split between the three.
public struct ApplyOutcome: Sendable, Equatable {
    public var applied: UInt32 = 0
    public var duplicates: UInt32 = 0
    public var late: UInt32 = 0

    public init(applied: UInt32 = 0, duplicates: UInt32 = 0, late: UInt32 = 0) {
        self.applied = applied
        self.duplicates = duplicates
        self.late = late
    }
}

/// The aggregation jobs of the activity pipeline: every record read from the log goes through
/// `apply`, and `publish` turns the state into the recommendation data sets.
///
/// - Exactly once: each client's events are numbered; the aggregator keeps, per client, the next
///   number it expects, and drops an event numbered below it (a re-sent record, delivered twice by
///   an at-least-once log). Records of one client reach it in the order the client sent them (one
///   partition per profile, read in order), so one number per client suffices.
/// - Event time, with a watermark: the watermark is the smallest, over partitions, of the latest
///   event time seen from each (or the time up to which an idle partition is known to be complete),
///   less `allowedLateness`. An event before the watermark is late: counted, not applied. Trending
///   windows close, and are published, once the watermark passes their end.
/// - Continue watching: per profile, the titles in progress with the last position and when,
///   most recent first; a stop at the end of the title removes it.
/// - Watch history: per profile, the last `historyLength` titles played, with watch time.
/// - Trending per region: plays and watch time (a heartbeat counts its interval) per title in each
///   window, top N by watch time.
/// - Co-watched: per title, the titles most often played by the same profile within
///   `coWatchWindow` of it, top N.
/// - Ratings: per title, count and mean.
public struct Aggregator: Sendable {
    public let configuration: AggregationConfiguration

    struct WatchEntry: Sendable, Equatable {
        var title: Int32
        var position: Int64
        var updated: Int64
    }

    struct HistoryEntry: Sendable, Equatable {
        var title: Int32
        var lastWatched: Int64
        var watchedMicroseconds: Int64
    }

    struct ProfileState: Sendable {
        var watching: [WatchEntry] = []
        var history: [HistoryEntry] = []
        /// Recent plays for co-watching: (title, time), oldest first.
        var recent: [(title: Int32, time: Int64)] = []
    }

    struct Window: Sendable {
        var plays: [Int64]
        var watch: [Int64]
    }

    /// Per client: the next sequence expected, and the time of its stop if it stopped.
    var clients: [UInt64: (next: UInt32, stoppedAt: Int64?)] = [:]
    var partitionTime: [Int64]
    var profiles: [UInt64: ProfileState] = [:]
    var windows: [Int64: Window] = [:]
    var pairs: [UInt64: UInt32] = [:]
    var ratingCount: [Int64]
    var ratingSum: [Int64]
    /// Applied events by event time (whole seconds) since the last publish: for freshness.
    var pendingFreshness: [Int64: UInt64] = [:]

    public init(configuration: AggregationConfiguration) {
        self.configuration = configuration
        partitionTime = Array(repeating: .min, count: configuration.partitions)
        ratingCount = Array(repeating: 0, count: configuration.titles)
        ratingSum = Array(repeating: 0, count: configuration.titles)
    }

    /// The event-time watermark, microseconds (`Int64.min` until every partition has spoken).
    public var watermark: Int64 {
        let low = partitionTime.min()!
        return low == .min ? .min : low - configuration.allowedLateness
    }

    /// Declares that `partition` holds nothing older than `eventTime` beyond the allowed lateness
    /// (it is idle: its consumer has read all there is up to a time when clients had sent their
    /// events up to `eventTime`).
    public mutating func observe(partition: Int, upTo eventTime: Int64) {
        partitionTime[partition] = max(partitionTime[partition], eventTime)
    }

    /// Makes room for `clients` clients and `profiles` profiles, ahead of applying that many
    /// (history at start-up): the tables grow once instead of rehashing as they fill.
    public mutating func reserveCapacity(clients: Int, profiles: Int) {
        self.clients.reserveCapacity(self.clients.count + clients)
        self.profiles.reserveCapacity(self.profiles.count + profiles)
    }

    /// Applies a record from before this aggregator started: the state it would have had (the play
    /// of a session already in progress, say). Applied like any record, except that it does not
    /// count towards freshness (it was published long ago), not to trending before `trendingFrom`,
    /// and it says nothing of how far `partition` has been read (the watermark stays where it is).
    /// History is applied before any other record, each profile's in event time.
    public mutating func applyHistory(_ e: ActivityEvent, partition: Int) -> ApplyOutcome {
        apply(e, partition: partition, fresh: false, advances: false)
    }

    /// Applies one record read from `partition`.
    public mutating func apply(_ e: ActivityEvent, partition: Int) -> ApplyOutcome {
        apply(e, partition: partition, fresh: true, advances: true)
    }

    /// `fresh`: the record counts towards freshness (it is news to the data sets); `advances`: it
    /// moves its partition's time on.
    mutating func apply(_ e: ActivityEvent, partition: Int, fresh: Bool, advances: Bool) -> ApplyOutcome {
        precondition(Int(e.title) >= 0 && Int(e.title) < configuration.titles && Int(e.region) < configuration.regions, "event out of range")
        var outcome = ApplyOutcome()
        let mark = watermark
        if advances { partitionTime[partition] = max(partitionTime[partition], e.lastEventTime) }

        // Exactly once: skip what this client already delivered.
        var state = clients[e.client] ?? (0, nil)
        let end = e.sequence + e.count
        guard end > state.next else {
            outcome.duplicates = e.count
            return outcome
        }
        let skip = e.sequence < state.next ? state.next - e.sequence : 0
        outcome.duplicates = skip
        state.next = end
        if e.type == .stop { state.stoppedAt = e.eventTime }
        clients[e.client] = state

        // Late: events before the watermark. In a run, the heartbeats before it.
        if e.type == .heartbeat {
            var first = skip
            if e.interval > 0 && mark != .min {
                while first < e.count && e.eventTime + Int64(first) * e.interval < mark { first += 1 }
            } else if e.eventTime < mark {
                first = e.count
            }
            outcome.late = first - skip
            guard first < e.count else { return outcome }
            outcome.applied = e.count - first
            applyHeartbeats(e, from: first, fresh: fresh)
        } else {
            guard e.eventTime >= mark else {
                outcome.late = 1
                return outcome
            }
            outcome.applied = 1
            applyOne(e, fresh: fresh)
        }
        return outcome
    }

    mutating func applyHeartbeats(_ e: ActivityEvent, from first: UInt32, fresh: Bool) {
        let n = Int64(e.count - first)
        let start = e.eventTime + Int64(first) * e.interval
        updateWatching(e.profile, title: e.title, position: e.endPosition, at: e.lastEventTime)
        // Watch time: each heartbeat stands for one interval, credited to the window it falls in.
        var t = start
        var left = n
        // Beats before `trendingFrom` count for history, not for trending.
        if t < configuration.trendingFrom && e.interval > 0 {
            let skipped = min(left, (configuration.trendingFrom - t + e.interval - 1) / e.interval)
            left -= skipped
            t += skipped * e.interval
        }
        while left > 0 && t >= configuration.trendingFrom {
            let w = windowIndex(t)
            let windowEnd = (w + 1) * configuration.trendingWindow
            let inWindow = e.interval > 0 ? min(left, (windowEnd - t + e.interval - 1) / e.interval) : left
            addTrending(window: w, region: e.region, title: e.title, plays: 0, watch: inWindow * e.interval)
            left -= inWindow
            t += inWindow * e.interval
        }
        modifyProfile(e.profile) { profile in
            if let i = profile.history.lastIndex(where: { $0.title == e.title }) {
                profile.history[i].watchedMicroseconds += n * e.interval
                profile.history[i].lastWatched = max(profile.history[i].lastWatched, e.lastEventTime)
            }
        }
        if fresh { pendingFreshness[e.lastEventTime / 1_000_000, default: 0] += UInt64(n) }
    }

    mutating func applyOne(_ e: ActivityEvent, fresh: Bool) {
        if fresh { pendingFreshness[e.eventTime / 1_000_000, default: 0] += 1 }
        switch e.type {
        case .play:
            updateWatching(e.profile, title: e.title, position: e.position, at: e.eventTime)
            if e.eventTime >= configuration.trendingFrom {
                addTrending(window: windowIndex(e.eventTime), region: e.region, title: e.title, plays: 1, watch: 0)
            }
            let window = configuration.coWatchWindow, historyLength = configuration.historyLength
            var newPairs: [Int32] = []
            modifyProfile(e.profile) { profile in
                profile.history.removeAll { $0.title == e.title }
                profile.history.append(HistoryEntry(title: e.title, lastWatched: e.eventTime, watchedMicroseconds: 0))
                if profile.history.count > historyLength { profile.history.removeFirst(profile.history.count - historyLength) }
                // Co-watched: every other title this profile played within the window.
                profile.recent.removeAll { e.eventTime - $0.time > window }
                for other in profile.recent where other.title != e.title && abs(e.eventTime - other.time) <= window {
                    newPairs.append(other.title)
                }
                profile.recent.removeAll { $0.title == e.title }
                profile.recent.append((e.title, e.eventTime))
            }
            for other in newPairs {
                pairs[Aggregator.pair(e.title, other), default: 0] += 1
                pairs[Aggregator.pair(other, e.title), default: 0] += 1
            }
        case .pause, .resume, .seek:
            updateWatching(e.profile, title: e.title, position: e.position, at: e.eventTime)
        case .stop:
            if e.completed {
                modifyProfile(e.profile) { $0.watching.removeAll { $0.title == e.title } }
            } else {
                updateWatching(e.profile, title: e.title, position: e.position, at: e.eventTime)
            }
        case .rating:
            precondition((1...5).contains(e.rating), "a rating is 1 to 5")
            ratingCount[Int(e.title)] += 1
            ratingSum[Int(e.title)] += Int64(e.rating)
        case .heartbeat:
            preconditionFailure("heartbeats are applied as runs")
        }
    }

    static func pair(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    func windowIndex(_ t: Int64) -> Int64 {
        t >= 0 ? t / configuration.trendingWindow : (t - configuration.trendingWindow + 1) / configuration.trendingWindow
    }

    mutating func addTrending(window w: Int64, region: UInt16, title: Int32, plays: Int64, watch: Int64) {
        let n = configuration.regions * configuration.titles
        let i = Int(region) * configuration.titles + Int(title)
        // In place: the window's arrays are not copied.
        windows[w, default: Window(plays: Array(repeating: 0, count: n), watch: Array(repeating: 0, count: n))].plays[i] += plays
        windows[w]!.watch[i] += watch
    }

    /// Changes a profile's state in place (no copy of its lists).
    mutating func modifyProfile(_ id: UInt64, _ body: (inout ProfileState) -> Void) {
        body(&profiles[id, default: ProfileState()])
    }

    mutating func updateWatching(_ profile: UInt64, title: Int32, position: Int64, at time: Int64) {
        modifyProfile(profile) { state in
            if let i = state.watching.firstIndex(where: { $0.title == title }) {
                guard time >= state.watching[i].updated else { return }  // an older report of it
                state.watching.remove(at: i)
            }
            // Most recent first.
            let at = state.watching.firstIndex { $0.updated < time } ?? state.watching.count
            state.watching.insert(WatchEntry(title: title, position: position, updated: time), at: at)
        }
    }

    // MARK: Publishing

    /// The data sets as they stand at `time`: trending for the windows the watermark has closed
    /// (they are then dropped from the state), and the rest as of now. Profiles are listed in
    /// ascending order, at most `profileLimit` of them. Also returns how fresh the events applied
    /// since the last publish are now (age in microseconds, with counts), and forgets clients that
    /// stopped before the watermark (any event of theirs would now be late).
    public mutating func publish(at time: Int64, profileLimit: Int = .max) -> (datasets: Datasets, freshness: [(age: Int64, count: UInt64)]) {
        let mark = watermark
        var data = Datasets(publishedAt: time, watermark: mark == .min ? nil : mark)
        let n = configuration.topN
        for w in windows.keys.sorted() where mark != .min && (w + 1) * configuration.trendingWindow <= mark {
            let window = windows[w]!
            for region in 0..<configuration.regions {
                let base = region * configuration.titles
                let ranked = (0..<configuration.titles).filter { window.plays[base + $0] > 0 || window.watch[base + $0] > 0 }
                    .sorted { a, b in
                        let wa = window.watch[base + a], wb = window.watch[base + b]
                        if wa != wb { return wa > wb }
                        let pa = window.plays[base + a], pb = window.plays[base + b]
                        return pa != pb ? pa > pb : a < b
                    }
                for (rank, t) in ranked.prefix(n).enumerated() {
                    data.trending.append(.init(windowStart: w * configuration.trendingWindow, windowEnd: (w + 1) * configuration.trendingWindow,
                                               region: region, rank: rank + 1, title: t, plays: window.plays[base + t],
                                               watchMicroseconds: window.watch[base + t]))
                }
            }
            windows[w] = nil
        }
        let ids = profiles.keys.sorted()
        data.profiles = ids.count
        for id in ids.prefix(profileLimit) {
            let p = profiles[id]!
            for (rank, e) in p.watching.prefix(n).enumerated() {
                data.continueWatching.append(.init(profile: id, rank: rank + 1, title: Int(e.title), position: e.position, updated: e.updated))
            }
            for h in p.history.reversed() {
                data.history.append(.init(profile: id, title: Int(h.title), lastWatched: h.lastWatched, watchedMicroseconds: h.watchedMicroseconds))
            }
        }
        var byTitle: [Int32: [(other: Int32, count: UInt32)]] = [:]
        for (key, count) in pairs { byTitle[Int32(bitPattern: UInt32(key >> 32)), default: []].append((Int32(bitPattern: UInt32(key & 0xFFFF_FFFF)), count)) }
        for title in byTitle.keys.sorted() {
            let ranked = byTitle[title]!.sorted { $0.count != $1.count ? $0.count > $1.count : $0.other < $1.other }
            for (rank, o) in ranked.prefix(n).enumerated() {
                data.coWatched.append(.init(title: Int(title), rank: rank + 1, other: Int(o.other), count: Int(o.count)))
            }
        }
        for t in 0..<configuration.titles where ratingCount[t] > 0 {
            data.ratings.append(.init(title: t, count: Int(ratingCount[t]), mean: Double(ratingSum[t]) / Double(ratingCount[t])))
        }
        let freshness = pendingFreshness.keys.sorted().map { (age: time - ($0 * 1_000_000 + 500_000), count: pendingFreshness[$0]!) }
        pendingFreshness.removeAll(keepingCapacity: true)
        if mark != .min {
            clients = clients.filter { $0.value.stoppedAt.map { $0 >= mark } ?? true }
        }
        return (data, freshness)
    }

    /// Clients whose state is kept for exactly-once delivery.
    public var clientsTracked: Int { clients.count }
    public var profilesTracked: Int { profiles.count }
}

/// The recommendation data sets published at one moment.
public struct Datasets: Sendable, Equatable {
    public struct Trending: Sendable, Equatable {
        public var windowStart: Int64, windowEnd: Int64, region: Int, rank: Int, title: Int, plays: Int64, watchMicroseconds: Int64
    }

    public struct ContinueWatching: Sendable, Equatable {
        public var profile: UInt64, rank: Int, title: Int, position: Int64, updated: Int64
    }

    public struct History: Sendable, Equatable {
        public var profile: UInt64, title: Int, lastWatched: Int64, watchedMicroseconds: Int64
    }

    public struct CoWatched: Sendable, Equatable {
        public var title: Int, rank: Int, other: Int, count: Int
    }

    public struct Rating: Sendable, Equatable {
        public var title: Int, count: Int, mean: Double
    }

    public var publishedAt: Int64
    /// The watermark they reflect (nil before every partition has spoken).
    public var watermark: Int64?
    public var trending: [Trending] = []
    public var continueWatching: [ContinueWatching] = []
    public var history: [History] = []
    public var coWatched: [CoWatched] = []
    public var ratings: [Rating] = []
    /// Profiles with state (the lists may hold fewer: a limit applies).
    public var profiles = 0

    /// The data sets as files: a CSV each, and `meta.json` saying when and up to what they were made.
    public func files() -> [(name: String, text: String)] {
        func lines(_ header: String, _ rows: [String]) -> String { ([header] + rows).joined(separator: "\n") + "\n" }
        let listed = Set(continueWatching.map(\.profile)).union(history.map(\.profile)).count
        let meta = """
            {"schemaVersion": \(ActivityEvent.schemaVersion), "publishedAtUs": \(publishedAt), "watermarkUs": \(watermark.map(String.init) ?? "null"), \
            "profiles": \(profiles), "profilesListed": \(listed)}

            """
        return [
            ("trending.csv", lines("window_start_us,window_end_us,region,rank,title,plays,watch_seconds",
                                   trending.map { "\($0.windowStart),\($0.windowEnd),\($0.region),\($0.rank),\($0.title),\($0.plays),\(decimal($0.watchMicroseconds))" })),
            ("continue_watching.csv", lines("profile,rank,title,position_us,updated_us",
                                            continueWatching.map { "\($0.profile),\($0.rank),\($0.title),\($0.position),\($0.updated)" })),
            ("watch_history.csv", lines("profile,title,last_watched_us,watched_seconds",
                                        history.map { "\($0.profile),\($0.title),\($0.lastWatched),\(decimal($0.watchedMicroseconds))" })),
            ("co_watched.csv", lines("title,rank,other_title,count", coWatched.map { "\($0.title),\($0.rank),\($0.other),\($0.count)" })),
            ("ratings.csv", lines("title,count,mean", ratings.map { "\($0.title),\($0.count),\(fixed($0.mean, 3))" })),
            ("meta.json", meta),
        ]
    }
}

/// Microseconds as seconds with six decimals, trailing zeros dropped: exact, no floating point.
func decimal(_ micros: Int64) -> String {
    let sign = micros < 0 ? "-" : ""
    let m = micros.magnitude
    var fraction = String(m % 1_000_000)
    fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return sign + String(m / 1_000_000) + (fraction.isEmpty ? "" : "." + fraction)
}

/// `x` with `digits` decimals, rounded half away from zero.
func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let n = Int64((x * scale).rounded())
    let sign = n < 0 ? "-" : ""
    var fraction = String(n.magnitude % UInt64(scale))
    fraction = String(repeating: "0", count: digits - fraction.count) + fraction
    return sign + String(n.magnitude / UInt64(scale)) + "." + fraction
}
