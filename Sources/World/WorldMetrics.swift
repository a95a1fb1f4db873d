import Metrics
import SimCore

/// The experience figures of a population of sessions (a region, or everyone), as totals and as
/// per-bucket series. Counts are of the simulated (sampled) population.
public struct Aggregate: Sendable {
    /// Sessions in progress (from the request to the last frame, or abandonment).
    public var concurrency = Gauge()
    public var concurrencySeries: TimeWeightedSeries
    /// Sessions in progress when the run began (steady-state start).
    public var initial = 0
    public var sessionStarts = Counter()
    public var startSeries: TimeSeries
    public var playbackStarts = Counter()
    /// From the user's request to the first frame: the video start time.
    public var startTime = LatencyRecorder()
    public var startTimeSeries: LatencySeries
    public var abandonedBeforeStart = Counter()
    public var sessionsEnded = Counter()
    /// Ended sessions by cause (`EndCause` raw values).
    public var endCauses = [Int64](repeating: 0, count: EndCause.allCases.count)
    /// Sessions that ended before their first frame (for any cause), and sessions the platform
    /// lost after they had started: per bucket.
    public var failedStartSeries: TimeSeries
    public var lostSeries: TimeSeries
    /// Σ length of ended sessions, microseconds (for Little's law).
    public var endedSessionTime = 0.0
    /// Media played, time stalled (microseconds), bits played.
    public var play: Int64 = 0
    public var rebuffer: Int64 = 0
    public var bits = 0.0
    public var rebufferEvents: Int64 = 0
    public var switches: Int64 = 0
    /// Sessions that played during the run (ended, or still playing at its end), and those of them
    /// that stalled at least once after their first frame.
    public var sessionsPlayed = Counter()
    public var sessionsStalled = Counter()
    public var playSeries: TimeSeries
    public var rebufferSeries: TimeSeries
    public var bitsSeries: TimeSeries

    init(bucket: SimDuration) {
        concurrencySeries = TimeWeightedSeries(bucketWidth: bucket)
        startSeries = TimeSeries(bucketWidth: bucket)
        startTimeSeries = LatencySeries(bucketWidth: bucket)
        playSeries = TimeSeries(bucketWidth: bucket)
        rebufferSeries = TimeSeries(bucketWidth: bucket)
        bitsSeries = TimeSeries(bucketWidth: bucket)
        failedStartSeries = TimeSeries(bucketWidth: bucket)
        lostSeries = TimeSeries(bucketWidth: bucket)
    }

    mutating func initialSessions(_ n: Int) {
        initial += n
        concurrency.add(Double(n), at: .zero)
        concurrencySeries.add(Double(n), at: .zero)
    }

    mutating func sessionStarted(at t: SimInstant) {
        sessionStarts.increment()
        startSeries.add(1, at: t)
        concurrency.add(1, at: t)
        concurrencySeries.add(1, at: t)
    }

    mutating func playbackStarted(_ startTime: SimDuration, at t: SimInstant) {
        playbackStarts.increment()
        self.startTime.record(startTime)
        startTimeSeries.record(startTime, at: t)
    }

    mutating func sessionEnded(at t: SimInstant, cause: EndCause, started: Bool, length: Int64) {
        sessionsEnded.increment()
        endCauses[cause.rawValue] += 1
        if !started {
            abandonedBeforeStart.increment()
            failedStartSeries.add(1, at: t)
        } else if cause.isFailure {
            lostSessions.increment()
            lostSeries.add(1, at: t)
        }
        endedSessionTime += Double(length)
        concurrency.add(-1, at: t)
        concurrencySeries.add(-1, at: t)
    }

    /// `count` sessions that played end, or are still playing at the end of the run; `stalled` of
    /// them stalled.
    mutating func played(_ count: Int64 = 1, stalled: Int64) {
        sessionsPlayed.increment(by: count)
        sessionsStalled.increment(by: stalled)
    }

    mutating func add(_ d: QoEDelta, at t: SimInstant) {
        play += d.play
        rebuffer += d.rebuffer
        bits += d.bits
        rebufferEvents += Int64(d.rebufferEvents)
        switches += Int64(d.switches)
        playSeries.add(Double(d.play), at: t)
        rebufferSeries.add(Double(d.rebuffer), at: t)
        bitsSeries.add(d.bits, at: t)
    }

    /// Sessions that started playing, over those that did and those that ended before their first
    /// frame (whatever the cause: a platform failure, or a user who stopped waiting); nil when
    /// there was no attempt (nothing to be available for is not 100%).
    public var availability: Double? {
        let attempts = playbackStarts.value + abandonedBeforeStart.value
        return attempts > 0 ? Double(playbackStarts.value) / Double(attempts) : nil
    }
    /// Sessions the platform ended after they had started playing.
    public var lostSessions = Counter()

    /// The share of sessions that played and stalled at least once; nil when none played.
    public var stalledSessionShare: Double? {
        sessionsPlayed.value > 0 ? Double(sessionsStalled.value) / Double(sessionsPlayed.value) : nil
    }
    /// Stalled over stalled plus played time; nil (no data) when nothing played or stalled.
    public var rebufferRatio: Double? { play + rebuffer > 0 ? Double(rebuffer) / Double(play + rebuffer) : nil }
    /// Bits per second of media played; nil when nothing played.
    public var averageBitrate: Double? { play > 0 ? bits / (Double(play) / 1e6) : nil }
    /// Stalls per hour of playback; nil when nothing played.
    public var rebuffersPerHour: Double? { play > 0 ? Double(rebufferEvents) / (Double(play) / 3.6e9) : nil }
    public var switchesPerHour: Double? { play > 0 ? Double(switches) / (Double(play) / 3.6e9) : nil }

    /// Closes the series at `end`.
    mutating func close(at end: SimInstant) { concurrencySeries.advance(to: end) }

    /// Adds another partition's sessions: totals, distributions and series. Not the concurrency
    /// gauge and series: a peak of the sum is not the sum of peaks, so a partitioned run replays
    /// the partitions' session starts and ends into its own (see `PartitionedWorld`).
    mutating func mergeExceptConcurrency(_ o: Aggregate) {
        initial += o.initial
        sessionStarts.merge(o.sessionStarts)
        startSeries.merge(o.startSeries)
        playbackStarts.merge(o.playbackStarts)
        startTime.merge(o.startTime)
        startTimeSeries.merge(o.startTimeSeries)
        abandonedBeforeStart.merge(o.abandonedBeforeStart)
        sessionsEnded.merge(o.sessionsEnded)
        for c in endCauses.indices { endCauses[c] += o.endCauses[c] }
        failedStartSeries.merge(o.failedStartSeries)
        lostSeries.merge(o.lostSeries)
        endedSessionTime += o.endedSessionTime
        play += o.play
        rebuffer += o.rebuffer
        bits += o.bits
        rebufferEvents += o.rebufferEvents
        switches += o.switches
        playSeries.merge(o.playSeries)
        rebufferSeries.merge(o.rebufferSeries)
        bitsSeries.merge(o.bitsSeries)
        lostSessions.merge(o.lostSessions)
        sessionsPlayed.merge(o.sessionsPlayed)
        sessionsStalled.merge(o.sessionsStalled)
    }
}

/// A PoP's figures for the report.
public struct PopResults: Sendable {
    public var id: String
    public var region: String
    /// Egress capacity after sampling, bits/s.
    public var egress: Double
    public var metrics: PopMetrics
    public var storageBytes: Double
    public var usedBytes: Double
    public var files: Int
    /// Servers (appliances) at the site.
    public var servers: Int
    /// Of its egress (sampled bytes per bucket): what it served to other PoPs for their users'
    /// misses, and the fills it was the source of; the rest went to its own users.
    public var relayed: TimeSeries
    public var filled: TimeSeries
}

/// An origin replica's figures.
public struct OriginResults: Sendable {
    public var region: String
    public var egress: Double
    public var bytes: TimeSeries
    public var totalBytes: Double
    public var failures: Int64
    /// Transfers that waited for room on its egress.
    public var waited: Int64
    /// Of `bytes`: what served PoPs' misses for their users, and fills (sampled bytes per bucket).
    public var relayed: TimeSeries
    public var filled: TimeSeries
    /// Requests (GETs) it served: a miss's segment (sampled), a fill's transfer (whole files: not
    /// sampled).
    public var missRequests: Int64
    public var fillRequests: Int64
}

/// A region's figures.
public struct RegionResults: Sendable {
    public var id: String
    public var aggregate: Aggregate
    /// Playback API calls that failed (control-plane outages).
    public var apiFailures: Int64
    /// The calibrated (expected) peak concurrency over a day, at platform scale.
    public var expectedPeak: Double
    public var expectedPeakUTCMinute: Int
    /// Sessions per second per user at relative demand 1.
    public var scale: Double
}

public struct WorldResults: Sendable {
    public var sampling: Int
    public var end: SimInstant
    public var eventsProcessed: UInt64
    public var regions: [RegionResults]
    public var global: Aggregate
    public var pops: [PopResults]
    public var origins: [OriginResults]
    /// The calibrated (expected) global peak over a day, at platform scale.
    public var expectedPeak: Double
    public var expectedPeakUTCMinute: Int
    /// Titles the sessions asked for.
    public var titlesLoaded: Int
    /// Releases inside the run.
    public var releases: [ReleaseStats]
    public var pipeline: PipelineMetrics
    /// Fault strikes inside the run.
    public var incidents: [Incident]
    /// With hybrid fidelity: what the steady windows covered (nil: segment fidelity).
    public var hybrid: HybridFigures?
    /// The catalog's size at its nominal bit rates (every title's length × every rung's bit rate;
    /// segments' sizes vary around it), one copy, bytes: what the origin stores per replica.
    public var catalogNominalBytes: Double = 0
    /// Per title, requests at the sessions' own PoPs (sampled) and hits there: title t at 2t, 2t + 1.
    public var titleCounts: [Int64] = []
    /// Every release of the catalog (title, time), including those before the run (`releases`
    /// holds only those inside it).
    public var releaseTimes: [(title: Int, time: SimInstant)] = []
    /// The control plane's figures (nil: not modelled).
    public var controlPlane: ControlPlaneResults?
}

extension WorldResults {
    /// The figures of `world` up to `end`, each from the component that produced it: sessions and
    /// QoE from the world's aggregates, PoPs from ``Sites`` with their links' (``Links``), fills'
    /// (``FillScheduler``) and plans' (``SitePlanner``) figures, origin replicas from ``Origin`` and
    /// their links, the pipeline from the ``ActivityLog`` and ``ActivityClients``.
    /// `playing`: per region, the sessions still playing at the end and those of them that stalled.
    init(_ world: World, end endTime: SimInstant, playing: [(played: Int64, stalled: Int64)]) {
        let c = world.configuration
        let k = Double(c.sampling)
        var g = world.global
        g.close(at: endTime)
        for p in playing { g.played(p.played, stalled: p.stalled) }
        let regionResults = c.regions.enumerated().map { r, region in
            var a = world.regions[r].aggregate
            a.close(at: endTime)
            a.played(playing[r].played, stalled: playing[r].stalled)
            let expected = world.calibration.expectedConcurrency[r]
            let peakMinute = expected.indices.max { expected[$0] < expected[$1] } ?? 0
            return RegionResults(id: region.id, aggregate: a, apiFailures: world.regions[r].apiFailures, expectedPeak: expected[peakMinute] * k,
                                 expectedPeakUTCMinute: peakMinute, scale: world.calibration.scales[r])
        }
        let links = world.links
        let popResults = world.sites.pops.map { p in
            var m = world.sites.metrics[p.index]
            let link = links[links.pop(p.index)]
            m.egress = link.served
            m.waited = link.waited
            m.utilisation = link.utilisation
            m.utilisation.advance(to: endTime)
            let fills = world.fills.site[p.index].metrics
            m.fills = fills.fills
            m.fillBytes = fills.fillBytes
            m.fillJobsDropped = fills.fillJobsDropped
            m.fillJobsNoSpace = fills.fillJobsNoSpace
            m.fillQueue = fills.fillQueue
            m.fillQueue.advance(to: endTime)
            m.oldestJobAge = fills.oldestJobAge
            m.nights = fills.nights
            m.plans = world.planner.plans[p.index]
            return PopResults(id: c.pops[p.index].id, region: c.regions[p.region].id, egress: link.capacity,
                              metrics: m, storageBytes: p.cache.capacityBytes, usedBytes: p.cache.usedBytes, files: p.cache.files,
                              servers: c.pops[p.index].servers, relayed: link.relayed, filled: link.filled)
        }
        let originResults = world.origin.replicas.enumerated().map { o, replica in
            let link = links[links.replica(o)]
            return OriginResults(region: c.regions[replica.region].id, egress: link.capacity, bytes: link.served,
                                 totalBytes: link.servedBytes, failures: replica.failures.value, waited: link.waited.value,
                                 relayed: link.relayed, filled: link.filled,
                                 missRequests: link.relayRequests, fillRequests: link.fillRequests)
        }
        let expectedGlobal = world.calibration.expectedGlobalConcurrency
        let peakMinute = expectedGlobal.indices.max { expectedGlobal[$0] < expectedGlobal[$1] } ?? 0
        self.init(sampling: c.sampling, end: endTime, eventsProcessed: world.eventsProcessed,
                  regions: regionResults, global: g, pops: popResults, origins: originResults,
                  expectedPeak: expectedGlobal[peakMinute] * k, expectedPeakUTCMinute: peakMinute,
                  titlesLoaded: world.library.loaded.count,
                  releases: world.sites.releases.filter { $0.time >= .zero && $0.time < endTime },
                  pipeline: world.activityLog.results(heldAtClients: world.clients.eventsHeld), incidents: world.incidents,
                  hybrid: world.steady?.figures)
        catalogNominalBytes = world.catalog.nominalBytes
        titleCounts = world.sites.titleCounts
        releaseTimes = world.catalog.releases.map { (title: $0.title, time: SimInstant(microseconds: $0.time)) }
        controlPlane = world.controlPlane?.results(end: endTime)
    }
}

/// A change in QoE totals.
struct QoEDelta {
    var play: Int64
    var rebuffer: Int64
    var bits: Double
    var rebufferEvents: Int32
    var switches: Int32
}
