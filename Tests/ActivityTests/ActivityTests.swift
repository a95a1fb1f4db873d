import Testing
@testable import Activity

let second: Int64 = 1_000_000
let hour: Int64 = 3_600 * second

/// One partition, two regions, ten titles, 5 min lateness, hourly windows.
func aggregator(partitions: Int = 1) -> Aggregator {
    Aggregator(configuration: AggregationConfiguration(partitions: partitions, regions: 2, titles: 10, allowedLateness: 300 * second,
                                                       trendingWindow: hour, topN: 3, coWatchWindow: 24 * hour, historyLength: 3))
}

func event(_ type: ActivityEventType, client: UInt64 = 1, sequence: UInt32, profile: UInt64 = 7, region: UInt16 = 0, title: Int32 = 4,
           at time: Int64, position: Int64 = 0, count: UInt32 = 1, interval: Int64 = 0, endPosition: Int64? = nil,
           rating: UInt8 = 0, completed: Bool = false) -> ActivityEvent {
    ActivityEvent(client: client, sequence: sequence, count: count, profile: profile, region: region, title: title, type: type,
                  eventTime: time, sendTime: time, position: position, endPosition: endPosition, interval: interval,
                  rating: rating, completed: completed)
}

@Suite("Activity aggregation")
struct AggregatorTests {
    @Test("History from before the aggregator's start reaches watch history, co-watched and continue watching, not trending or freshness")
    func historyBeforeTheStart() {
        let start = 10 * hour
        var a = Aggregator(configuration: AggregationConfiguration(partitions: 1, regions: 2, titles: 10, trendingWindow: hour, topN: 3,
                                                                   historyLength: 3, trendingFrom: start))
        // Played 20 minutes before the start, still playing: the heartbeats come after it.
        #expect(a.applyHistory(event(.play, sequence: 0, title: 4, at: start - 1_200 * second), partition: 0) == ApplyOutcome(applied: 1))
        #expect(a.apply(event(.play, client: 2, sequence: 0, title: 5, at: start + 60 * second), partition: 0) == ApplyOutcome(applied: 1))
        let beats = event(.heartbeat, sequence: 1, title: 4, at: start - 20 * second, position: 1_180 * second, count: 4, interval: 10 * second,
                          endPosition: 1_210 * second)
        #expect(a.apply(beats, partition: 0) == ApplyOutcome(applied: 4))
        a.observe(partition: 0, upTo: start + 2 * hour)
        let (data, freshness) = a.publish(at: start + 2 * hour)
        #expect(data.history.map(\.title) == [5, 4])
        #expect(data.coWatched.map { [$0.title, $0.other] } == [[4, 5], [5, 4]])
        #expect(data.continueWatching.map(\.title) == [5, 4])
        // Trending from the start only: the play before it and the two beats before it are not there.
        #expect(data.trending.map { [$0.title, Int($0.plays), Int($0.watchMicroseconds / second)] } == [[4, 0, 20], [5, 1, 0]])
        #expect(data.trending.allSatisfy { $0.windowStart >= start })
        // Freshness: the play from history is not news.
        #expect(freshness.reduce(0) { $0 + $1.count } == 1 + 4)
    }

    @Test("A record delivered twice is applied once")
    func duplicates() {
        var a = aggregator()
        let play = event(.play, sequence: 0, at: 10 * second)
        let beats = event(.heartbeat, sequence: 1, at: 20 * second, position: 10 * second, count: 6, interval: 10 * second,
                          endPosition: 60 * second)
        #expect(a.apply(play, partition: 0) == ApplyOutcome(applied: 1))
        #expect(a.apply(beats, partition: 0) == ApplyOutcome(applied: 6))
        #expect(a.apply(play, partition: 0) == ApplyOutcome(duplicates: 1))
        #expect(a.apply(beats, partition: 0) == ApplyOutcome(duplicates: 6))
        // A re-sent batch that also carries new heartbeats: only the new ones count.
        let more = event(.heartbeat, sequence: 1, at: 20 * second, position: 10 * second, count: 8, interval: 10 * second,
                         endPosition: 80 * second)
        #expect(a.apply(more, partition: 0) == ApplyOutcome(applied: 2, duplicates: 6))
        a.observe(partition: 0, upTo: 2 * hour)
        let (data, _) = a.publish(at: 2 * hour)
        #expect(data.trending == [Datasets.Trending(windowStart: 0, windowEnd: hour, region: 0, rank: 1, title: 4, plays: 1,
                                                    watchMicroseconds: 80 * second)])
        #expect(data.continueWatching == [Datasets.ContinueWatching(profile: 7, rank: 1, title: 4, position: 80 * second,
                                                                    updated: 20 * second + 7 * 10 * second)])
    }

    /// Lateness 5 min. Partition time reaches 1 h: the watermark is 55 min. An event at 56 min is
    /// applied, one at 50 min is late; a run from 50 min every 2 min applies from 56 min on.
    @Test("Events within the allowed lateness are applied, later ones counted as late")
    func lateness() {
        var a = aggregator()
        _ = a.apply(event(.play, client: 9, sequence: 0, title: 1, at: hour), partition: 0)
        #expect(a.watermark == hour - 300 * second)
        #expect(a.apply(event(.play, client: 2, sequence: 0, at: 56 * 60 * second), partition: 0) == ApplyOutcome(applied: 1))
        #expect(a.apply(event(.pause, client: 3, sequence: 0, at: 50 * 60 * second), partition: 0) == ApplyOutcome(late: 1))
        let run = event(.heartbeat, client: 4, sequence: 0, at: 50 * 60 * second, count: 5, interval: 2 * 60 * second)
        #expect(a.apply(run, partition: 0) == ApplyOutcome(applied: 2, late: 3))  // 50, 52, 54 late; 56, 58 applied
    }

    @Test("The watermark waits for every partition")
    func watermarkIsTheMinimum() {
        var a = aggregator(partitions: 2)
        _ = a.apply(event(.play, sequence: 0, at: 2 * hour), partition: 0)
        #expect(a.watermark == .min)  // partition 1 has not spoken
        a.observe(partition: 1, upTo: hour)
        #expect(a.watermark == hour - 300 * second)
        a.observe(partition: 1, upTo: 3 * hour)
        #expect(a.watermark == 2 * hour - 300 * second)
    }

    /// Region 0, window [0, 1 h): title 4 watched 60 s, title 2 watched 120 s, title 3 only
    /// played; window [1 h, 2 h) stays open until the watermark passes 2 h.
    @Test("Trending ranks titles by watch time per region in closed windows")
    func trending() {
        var a = aggregator()
        _ = a.apply(event(.play, client: 1, sequence: 0, title: 4, at: 10 * second), partition: 0)
        _ = a.apply(event(.heartbeat, client: 1, sequence: 1, title: 4, at: 20 * second, count: 6, interval: 10 * second), partition: 0)
        _ = a.apply(event(.play, client: 2, sequence: 0, profile: 8, title: 2, at: 30 * second), partition: 0)
        _ = a.apply(event(.heartbeat, client: 2, sequence: 1, profile: 8, title: 2, at: 40 * second, count: 12, interval: 10 * second), partition: 0)
        _ = a.apply(event(.play, client: 3, sequence: 0, profile: 9, title: 3, at: 50 * second), partition: 0)
        _ = a.apply(event(.play, client: 4, sequence: 0, profile: 9, region: 1, title: 3, at: hour + 5 * second), partition: 0)
        a.observe(partition: 0, upTo: hour + 600 * second)
        let (data, _) = a.publish(at: hour + 600 * second)
        #expect(data.trending.map { [$0.region, $0.rank, $0.title, Int($0.plays), Int($0.watchMicroseconds / second)] }
                == [[0, 1, 2, 1, 120], [0, 2, 4, 1, 60], [0, 3, 3, 1, 0]])
        a.observe(partition: 0, upTo: 3 * hour)
        let (later, _) = a.publish(at: 3 * hour)
        #expect(later.trending.map { [$0.region, $0.title] } == [[1, 3]])  // the second window, now closed
    }

    /// A run crossing a window boundary splits its watch time between the windows.
    @Test("A heartbeat run is credited to the windows its heartbeats fall in")
    func runAcrossWindows() {
        var a = aggregator()
        _ = a.apply(event(.heartbeat, sequence: 0, at: hour - 30 * second, count: 6, interval: 10 * second), partition: 0)
        a.observe(partition: 0, upTo: 3 * hour)
        let (data, _) = a.publish(at: 3 * hour)
        #expect(data.trending.map { Int($0.watchMicroseconds / second) } == [30, 30])
    }

    @Test("Continue watching lists titles most recent first, and drops a title watched to its end")
    func continueWatching() {
        var a = aggregator()
        _ = a.apply(event(.play, sequence: 0, title: 1, at: 10 * second), partition: 0)
        _ = a.apply(event(.play, sequence: 1, title: 2, at: 20 * second, position: 5 * second), partition: 0)
        _ = a.apply(event(.pause, sequence: 2, title: 1, at: 30 * second, position: 99 * second), partition: 0)
        _ = a.apply(event(.play, sequence: 3, title: 3, at: 40 * second), partition: 0)
        _ = a.apply(event(.stop, sequence: 4, title: 3, at: 50 * second, position: 3_000 * second, completed: true), partition: 0)
        let (data, _) = a.publish(at: 60 * second)
        #expect(data.continueWatching.map { [$0.rank, $0.title, Int($0.position / second)] } == [[1, 1, 99], [2, 2, 5]])
        // History keeps the last three titles played, newest first.
        #expect(data.history.map(\.title) == [3, 2, 1])
    }

    @Test("Co-watched titles count plays by one profile within the window; ratings average")
    func coWatchedAndRatings() {
        var a = aggregator()
        _ = a.apply(event(.play, client: 1, sequence: 0, profile: 1, title: 1, at: 0), partition: 0)
        _ = a.apply(event(.play, client: 1, sequence: 1, profile: 1, title: 2, at: hour), partition: 0)
        _ = a.apply(event(.play, client: 2, sequence: 0, profile: 2, title: 1, at: 2 * hour), partition: 0)
        _ = a.apply(event(.play, client: 2, sequence: 1, profile: 2, title: 2, at: 3 * hour), partition: 0)
        _ = a.apply(event(.play, client: 2, sequence: 2, profile: 2, title: 3, at: 30 * hour), partition: 0)  // 1 and 2 too old
        _ = a.apply(event(.rating, client: 3, sequence: 0, profile: 3, title: 5, at: 30 * hour, rating: 4), partition: 0)
        _ = a.apply(event(.rating, client: 4, sequence: 0, profile: 4, title: 5, at: 30 * hour, rating: 5), partition: 0)
        let (data, _) = a.publish(at: 31 * hour)
        #expect(data.coWatched.map { [$0.title, $0.rank, $0.other, $0.count] } == [[1, 1, 2, 2], [2, 1, 1, 2]])
        #expect(data.ratings == [Datasets.Rating(title: 5, count: 2, mean: 4.5)])
        #expect(data.files().first { $0.name == "ratings.csv" }?.text == "title,count,mean\n5,2,4.500\n")
    }

    @Test("Publishing reports how old the applied events are, and forgets stopped clients")
    func freshness() {
        var a = aggregator()
        _ = a.apply(event(.play, client: 1, sequence: 0, at: 10 * second), partition: 0)
        _ = a.apply(event(.heartbeat, client: 1, sequence: 1, at: 20 * second, count: 3, interval: 10 * second), partition: 0)
        _ = a.apply(event(.stop, client: 1, sequence: 4, at: 50 * second), partition: 0)
        a.observe(partition: 0, upTo: 2 * hour)
        #expect(a.clientsTracked == 1)
        let (_, fresh) = a.publish(at: 100 * second)
        // Ages from the middle of each event's second: the play, the run (at its last beat), the stop.
        #expect(fresh.map(\.age) == [89_500_000, 59_500_000, 49_500_000])
        #expect(fresh.map(\.count) == [1, 3, 1])
        #expect(a.clientsTracked == 0)  // stopped before the watermark: any later event would be late
        let (_, none) = a.publish(at: 200 * second)
        #expect(none.isEmpty)
    }

    @Test("An event survives a CSV round trip")
    func csv() {
        let e = event(.heartbeat, client: 12, sequence: 3, profile: 99, region: 1, title: 7, at: 5, position: 6, count: 4, interval: 10,
                      endPosition: 36)
        #expect(ActivityEvent(csvLine: Substring(e.csvLine)) == e)
        #expect(ActivityEvent(csvLine: "1,2,3") == nil)
        #expect(ActivityEvent.csvHeader.split(separator: ",").count == e.csvLine.split(separator: ",").count)
    }
}
