import Metrics
import SimCore
import Stochastics

/// The simulated platform.
///
/// Modelled so far (issue 3): regions in their own time zones; session arrivals per region as a
/// non-homogeneous Poisson process on the region's daily demand curve, calibrated so that
/// concurrency peaks at the configured fraction of users; session lengths from the watch-duration
/// distribution; a start in steady state (sessions already in progress at the epoch). Catalog,
/// PoPs, origin, players, the activity pipeline and faults arrive with later issues.
///
/// Drive it with ``run(until:)`` in as many slices as you like (the CLI uses slices for its
/// progress line); slicing does not change the result.
public final class World {
    /// Events are 5 bytes (a tag and a 4-byte id), so a queued event is 24 bytes.
    public enum Event: BitwiseCopyable {
        case arrival(region: UInt16)
        case sessionEnd(session: UInt32)
    }

    public let configuration: WorldConfiguration
    public let calibration: DemandCalibration
    let sim: Simulation<Event>
    @exclusivity(unchecked) var sessions: SessionTable
    @exclusivity(unchecked) var regions: [RegionState]
    @exclusivity(unchecked) var global: Level
    let sessionStreams: StreamFamily
    let watch: Distribution
    public var end: SimInstant { .zero + configuration.duration }

    struct RegionState {
        var arrivalStream: RandomStream
        var arrivals: UInt64 = 0
        var initial = 0
        var started = Counter()
        var ended = Counter()
        var watchedSeconds = 0.0
        var level: Level
    }

    /// A concurrency level tracked as a gauge (peak, mean) and a per-bucket series.
    struct Level {
        var gauge = Gauge()
        var series: TimeWeightedSeries

        init(bucket: SimDuration) { series = TimeWeightedSeries(bucketWidth: bucket) }

        mutating func add(_ delta: Double, at t: SimInstant) {
            gauge.add(delta, at: t)
            series.add(delta, at: t)
        }
    }

    public init(configuration c: WorldConfiguration) {
        precondition(!c.regions.isEmpty && c.regions.count <= Int(UInt16.max), "1...65535 regions")
        configuration = c
        let calibration = DemandCalibration(configuration: c)
        self.calibration = calibration
        sim = Simulation<Event>()
        watch = c.demand.watchDuration
        sessionStreams = StreamFamily(seed: c.seed, label: "session")
        let arrivalStreams = StreamFamily(seed: c.seed, label: "region.arrivals")
        regions = c.regions.indices.map { r in
            RegionState(arrivalStream: arrivalStreams.stream(UInt64(r)), level: Level(bucket: c.metricsBucket))
        }
        global = Level(bucket: c.metricsBucket)
        let expected = calibration.arrivals.indices.reduce(0.0) { $0 + calibration.expectedConcurrency(region: $1, at: .zero) }
        sessions = SessionTable(reservingCapacity: Int(expected * 1.1))

        let initialStreams = StreamFamily(seed: c.seed, label: "region.initial")
        for r in c.regions.indices {
            var stream = initialStreams.stream(UInt64(r))
            let remaining = calibration.initialSessions(region: r, watch: watch, &stream)
            for (i, seconds) in remaining.enumerated() {
                // Initial sessions take ids from 2^39 up, arrivals from 0: disjoint, stable streams.
                let session = sessionStreams.stream(UInt64(r) << 40 | (1 << 39 + UInt64(i)))
                let id = sessions.allocate(region: UInt16(r), start: .zero, stream: session)
                sim.schedule(.sessionEnd(session: id), after: max(.microseconds(1), SimDuration(seconds: seconds)))
            }
            regions[r].initial = remaining.count
            regions[r].level.add(Double(remaining.count), at: .zero)
            global.add(Double(remaining.count), at: .zero)
            scheduleNextArrival(region: r)
        }
    }

    /// The simulated clock.
    public var now: SimInstant { sim.now }
    /// Events handled so far.
    public var eventsProcessed: UInt64 { sim.eventsProcessed }
    /// Sessions in progress now (sampled population).
    public var sessionsInProgress: Int { sessions.live }

    /// Simulates up to `limit` (exclusive), or to the end of the scenario if that comes first.
    public func run(until limit: SimInstant) throws {
        let stop = min(limit, end)
        guard stop > sim.now else { return }
        try sim.run(until: stop) { event in self.handle(event) }
    }

    @inline(__always)
    func handle(_ event: Event) {
        let now = sim.now
        switch event {
        case let .arrival(r16):
            let r = Int(r16)
            var stream = sessionStreams.stream(UInt64(r) << 40 | regions[r].arrivals)
            regions[r].arrivals += 1
            let length = max(.microseconds(1), SimDuration(seconds: watch.sample(&stream)))
            let id = sessions.allocate(region: r16, start: now, stream: stream)
            sim.schedule(.sessionEnd(session: id), after: length)
            regions[r].started.increment()
            regions[r].level.add(1, at: now)
            global.add(1, at: now)
            scheduleNextArrival(region: r)
        case let .sessionEnd(id):
            let r = Int(sessions.region[Int(id)])
            regions[r].watchedSeconds += Double(now.microseconds - sessions.startTime[Int(id)]) / 1e6
            sessions.release(id)
            regions[r].ended.increment()
            regions[r].level.add(-1, at: now)
            global.add(-1, at: now)
        }
    }

    func scheduleNextArrival(region r: Int) {
        if let next = calibration.arrivals[r].nextArrival(after: sim.now, &regions[r].arrivalStream), next < end {
            sim.schedule(.arrival(region: UInt16(r)), at: next)
        }
    }

    /// What happened, up to the end of the scenario. Call after running to the end.
    public func results() -> WorldResults {
        let endTime = max(sim.now, end)
        var globalLevel = global
        globalLevel.series.advance(to: endTime)
        let k = Double(configuration.sampling)
        let regionResults = configuration.regions.enumerated().map { r, region in
            var level = regions[r].level
            level.series.advance(to: endTime)
            let state = regions[r]
            let expected = calibration.expectedConcurrency[r]
            let peakMinute = expected.indices.max { expected[$0] < expected[$1] } ?? 0
            return RegionResults(
                id: region.id, sessionsInitial: state.initial, sessionsStarted: state.started.value,
                sessionsEnded: state.ended.value, watchedSeconds: state.watchedSeconds,
                concurrency: level.gauge, concurrencySeries: level.series,
                expectedPeak: expected[peakMinute] * k, expectedPeakUTCMinute: peakMinute,
                scale: calibration.scales[r])
        }
        let expectedGlobal = calibration.expectedGlobalConcurrency
        let peakMinute = expectedGlobal.indices.max { expectedGlobal[$0] < expectedGlobal[$1] } ?? 0
        return WorldResults(
            sampling: configuration.sampling, end: endTime, eventsProcessed: sim.eventsProcessed,
            regions: regionResults, concurrency: globalLevel.gauge, concurrencySeries: globalLevel.series,
            expectedPeak: expectedGlobal[peakMinute] * k, expectedPeakUTCMinute: peakMinute)
    }
}

/// A region's figures. Counts and levels are of the simulated (sampled) population; `sampling` in
/// ``WorldResults`` scales them to the platform.
public struct RegionResults: Sendable {
    public var id: String
    public var sessionsInitial: Int
    public var sessionsStarted: Int64
    public var sessionsEnded: Int64
    /// Total length of the sessions that ended, in seconds.
    public var watchedSeconds: Double
    public var concurrency: Gauge
    public var concurrencySeries: TimeWeightedSeries
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
    public var concurrency: Gauge
    public var concurrencySeries: TimeWeightedSeries
    /// The calibrated (expected) global peak over a day, at platform scale.
    public var expectedPeak: Double
    public var expectedPeakUTCMinute: Int
}
