import Histogram
import SimCore

/// A monotone count of things that happened (sessions started, bytes served).
public struct Counter: Sendable, Equatable {
    @usableFromInline var count: Int64 = 0

    public init() {}

    /// The count so far.
    @inlinable public var value: Int64 { count }

    @inlinable
    public mutating func increment(by amount: Int64 = 1) {
        precondition(amount >= 0, "a counter only goes up; got \(amount)")
        count &+= amount
    }

    /// Adds another partition's count.
    public mutating func merge(_ other: Counter) { count += other.count }
}

/// A level that changes over simulated time (concurrent sessions, queue length), with its
/// extremes and its time-weighted mean.
///
/// The mean weights each value by how long it held, which is what a capacity planner means by
/// "average concurrency"; an unweighted mean of updates would over-count busy moments.
public struct Gauge: Sendable, Equatable {
    public private(set) var value: Double
    public private(set) var minimum: Double
    public private(set) var maximum: Double
    /// When the level first reached `maximum`.
    public private(set) var maximumAt: SimInstant
    /// ∫ value dt in value·microseconds, up to `lastUpdate`.
    public private(set) var integral: Double = 0
    public private(set) var start: SimInstant
    public private(set) var lastUpdate: SimInstant

    /// A gauge holding `initial` from `start`.
    public init(_ initial: Double = 0, at start: SimInstant = .zero) {
        value = initial
        minimum = initial
        maximum = initial
        maximumAt = start
        self.start = start
        lastUpdate = start
    }

    /// Sets the level at `time`.
    /// - Precondition: `time` is not before the previous update.
    public mutating func set(_ newValue: Double, at time: SimInstant) {
        precondition(time >= lastUpdate, "gauge updated at \(time), before its last update \(lastUpdate)")
        integral += value * Double(time.microseconds - lastUpdate.microseconds)
        lastUpdate = time
        value = newValue
        if newValue < minimum { minimum = newValue }
        if newValue > maximum {
            maximum = newValue
            maximumAt = time
        }
    }

    /// Changes the level by `delta` at `time`.
    public mutating func add(_ delta: Double, at time: SimInstant) { set(value + delta, at: time) }

    /// The time-weighted mean from `start` to `end`, counting the current level up to `end`.
    public func timeAverage(until end: SimInstant) -> Double {
        precondition(end >= lastUpdate, "time average until \(end), before the last update")
        let span = Double(end.microseconds - start.microseconds)
        guard span > 0 else { return value }
        return (integral + value * Double(end.microseconds - lastUpdate.microseconds)) / span
    }
}

/// A distribution of durations (video start time, segment download time) on an HdrHistogram
/// (Gil Tene's High Dynamic Range Histogram): microsecond values with 3 significant digits at
/// any magnitude, in memory that grows only with the range recorded.
public struct LatencyRecorder: Sendable, Equatable {
    public private(set) var histogram: Histogram<UInt64>
    /// Sum of recorded values in microseconds, for an exact mean.
    public private(set) var sumMicroseconds: Double = 0

    /// `significantDigits` 3 (the default) resolves 0.1%; 2 resolves 1% in a tenth of the memory,
    /// for recorders kept per time-series bucket.
    public init(significantDigits: Int = 3) {
        precondition((1...5).contains(significantDigits), "1 to 5 significant digits")
        histogram = Histogram<UInt64>(numberOfSignificantValueDigits: SignificantDigits(rawValue: Int8(significantDigits))!)
    }

    /// Records one duration.
    /// - Precondition: `duration >= 0`.
    public mutating func record(_ duration: SimDuration) {
        precondition(duration.microseconds >= 0, "negative latency \(duration)")
        _ = histogram.record(UInt64(duration.microseconds))
        sumMicroseconds += Double(duration.microseconds)
    }

    /// Records `count` occurrences of one duration.
    public mutating func record(_ duration: SimDuration, count: UInt64) {
        precondition(duration.microseconds >= 0, "negative latency \(duration)")
        guard count > 0 else { return }
        _ = histogram.record(UInt64(duration.microseconds), count: count)
        sumMicroseconds += Double(duration.microseconds) * Double(count)
    }

    public var count: UInt64 { histogram.totalCount }

    /// The exact mean, or zero when nothing was recorded.
    public var mean: SimDuration {
        count == 0 ? .zero : .microseconds(Int64((sumMicroseconds / Double(count)).rounded()))
    }

    /// The value at `percentile` (0...100): the highest value equivalent, at the histogram's
    /// resolution, to the recorded value at that rank. Zero when nothing was recorded.
    public func percentile(_ percentile: Double) -> SimDuration {
        precondition(percentile >= 0 && percentile <= 100, "percentile \(percentile)")
        guard count > 0 else { return .zero }
        return .microseconds(Int64(histogram.valueAtPercentile(percentile)))
    }

    public var maximum: SimDuration { count == 0 ? .zero : .microseconds(Int64(histogram.max)) }

    /// Adds another partition's recordings.
    public mutating func merge(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
        sumMicroseconds += other.sumMicroseconds
    }
}

/// Values accumulated into fixed-width buckets of simulated time: bytes served per minute, starts
/// per minute. Each bucket keeps the sum, the count and the largest single value.
///
/// Buckets are appended as time advances, so a series costs memory only for the time simulated.
public struct TimeSeries: Sendable, Equatable {
    public let start: SimInstant
    public let bucketWidth: SimDuration
    public private(set) var sums: [Double] = []
    public private(set) var counts: [Int64] = []
    public private(set) var maxima: [Double] = []

    public init(start: SimInstant = .zero, bucketWidth: SimDuration) {
        precondition(bucketWidth.microseconds > 0, "bucket width must be > 0")
        self.start = start
        self.bucketWidth = bucketWidth
    }

    public var bucketCount: Int { sums.count }

    /// The bucket that holds `time`.
    /// - Precondition: `time >= start`.
    @inlinable
    public func bucket(of time: SimInstant) -> Int {
        precondition(time >= start, "time \(time) before the series start \(start)")
        return Int((time.microseconds - start.microseconds) / bucketWidth.microseconds)
    }

    /// The start of bucket `index`.
    public func bucketStart(_ index: Int) -> SimInstant { start + bucketWidth * Int64(index) }

    /// Adds `value` to the bucket holding `time`.
    public mutating func add(_ value: Double, at time: SimInstant) {
        let b = bucket(of: time)
        ensure(b)
        sums[b] += value
        counts[b] += 1
        if value > maxima[b] { maxima[b] = value }
    }

    /// Makes sure buckets up to `index` exist (empty ones hold zeros).
    public mutating func ensure(_ index: Int) {
        if index >= sums.count {
            let extra = index + 1 - sums.count
            sums.append(contentsOf: repeatElement(0, count: extra))
            counts.append(contentsOf: repeatElement(0, count: extra))
            maxima.append(contentsOf: repeatElement(-.infinity, count: extra))
        }
    }

    /// The sum in bucket `index` per second of bucket width: a rate (e.g. bytes/s).
    public func ratePerSecond(_ index: Int) -> Double {
        index < sums.count ? sums[index] / bucketWidth.seconds : 0
    }

    /// The mean of the values added to bucket `index`, or 0 when none were.
    public func mean(_ index: Int) -> Double {
        index < sums.count && counts[index] > 0 ? sums[index] / Double(counts[index]) : 0
    }

    /// Adds another partition's series, bucket by bucket.
    /// - Precondition: same start and width.
    public mutating func merge(_ other: TimeSeries) {
        precondition(start == other.start && bucketWidth == other.bucketWidth, "merging series of different buckets")
        ensure(other.sums.count - 1)
        for i in 0..<other.sums.count {
            sums[i] += other.sums[i]
            counts[i] += other.counts[i]
            maxima[i] = max(maxima[i], other.maxima[i])
        }
    }
}

/// A level over time (a gauge) summarised per fixed-width bucket: its time-weighted mean and its
/// maximum in each bucket. Concurrency per minute, say.
///
/// The level is piecewise constant between updates; an update integrates the old level over every
/// bucket it spanned, so a quiet minute still gets the level that held through it.
public struct TimeWeightedSeries: Sendable, Equatable {
    public let start: SimInstant
    public let bucketWidth: SimDuration
    /// ∫ level dt per bucket, in level·microseconds.
    public private(set) var integrals: [Double] = []
    public private(set) var maxima: [Double] = []
    public private(set) var level: Double
    public private(set) var lastUpdate: SimInstant

    public init(start: SimInstant = .zero, bucketWidth: SimDuration, initial: Double = 0) {
        precondition(bucketWidth.microseconds > 0, "bucket width must be > 0")
        self.start = start
        self.bucketWidth = bucketWidth
        level = initial
        lastUpdate = start
    }

    /// Sets the level at `time`.
    /// - Precondition: `time` is not before the last update.
    public mutating func set(_ newLevel: Double, at time: SimInstant) {
        advance(to: time)
        level = newLevel
        let b = Int((time.microseconds - start.microseconds) / bucketWidth.microseconds)
        ensure(b)
        if newLevel > maxima[b] { maxima[b] = newLevel }
    }

    public mutating func add(_ delta: Double, at time: SimInstant) { set(level + delta, at: time) }

    /// Integrates the current level up to `time` (call at the end of a run).
    public mutating func advance(to time: SimInstant) {
        precondition(time >= lastUpdate, "level updated at \(time), before its last update \(lastUpdate)")
        var t = lastUpdate.microseconds - start.microseconds
        let end = time.microseconds - start.microseconds
        let width = bucketWidth.microseconds
        while t < end {
            let b = Int(t / width)
            ensure(b)
            let bucketEnd = Int64(b + 1) * width
            let stop = min(end, bucketEnd)
            integrals[b] += level * Double(stop - t)
            if level > maxima[b] { maxima[b] = level }
            t = stop
        }
        lastUpdate = time
    }

    mutating func ensure(_ index: Int) {
        if index >= integrals.count {
            let extra = index + 1 - integrals.count
            integrals.append(contentsOf: repeatElement(0, count: extra))
            maxima.append(contentsOf: repeatElement(-.infinity, count: extra))
        }
    }

    public var bucketCount: Int { integrals.count }

    /// The start of bucket `index`.
    public func bucketStart(_ index: Int) -> SimInstant { start + bucketWidth * Int64(index) }

    /// The time-weighted mean level in bucket `index` (over the full bucket width).
    public func mean(_ index: Int) -> Double {
        index < integrals.count ? integrals[index] / Double(bucketWidth.microseconds) : 0
    }

    /// Adds another partition's levels bucket by bucket (levels of disjoint populations add up;
    /// the merged maximum is an upper bound, the sum of maxima).
    public mutating func merge(_ other: TimeWeightedSeries) {
        precondition(start == other.start && bucketWidth == other.bucketWidth, "merging series of different buckets")
        let n = max(integrals.count, other.integrals.count)
        if n > 0 { ensure(n - 1) }
        for i in 0..<other.integrals.count {
            integrals[i] += other.integrals[i]
            maxima[i] = (maxima[i] == -.infinity ? 0 : maxima[i]) + (other.maxima[i] == -.infinity ? 0 : other.maxima[i])
        }
        level += other.level
    }
}

/// A latency distribution per fixed-width bucket of simulated time: start-time percentiles per
/// minute, say. Buckets hold 2-significant-digit recorders (1% resolution), appended as time
/// advances.
public struct LatencySeries: Sendable, Equatable {
    public let start: SimInstant
    public let bucketWidth: SimDuration
    public private(set) var buckets: [LatencyRecorder] = []

    public init(start: SimInstant = .zero, bucketWidth: SimDuration) {
        precondition(bucketWidth.microseconds > 0, "bucket width must be > 0")
        self.start = start
        self.bucketWidth = bucketWidth
    }

    public mutating func record(_ value: SimDuration, at time: SimInstant) {
        let b = Int((time.microseconds - start.microseconds) / bucketWidth.microseconds)
        while buckets.count <= b { buckets.append(LatencyRecorder(significantDigits: 2)) }
        buckets[b].record(value)
    }

    public var bucketCount: Int { buckets.count }

    /// Adds another partition's recordings, bucket by bucket.
    /// - Precondition: same start and width.
    public mutating func merge(_ other: LatencySeries) {
        precondition(start == other.start && bucketWidth == other.bucketWidth, "merging series of different buckets")
        while buckets.count < other.buckets.count { buckets.append(LatencyRecorder(significantDigits: 2)) }
        for i in other.buckets.indices { buckets[i].merge(other.buckets[i]) }
    }

    /// The percentile of bucket `index`, or `nil` when nothing was recorded in it.
    public func percentile(_ p: Double, bucket index: Int) -> SimDuration? {
        guard index < buckets.count, buckets[index].count > 0 else { return nil }
        return buckets[index].percentile(p)
    }
}

extension TimeSeries {
    /// Adds `value` spread evenly over [from, to): bytes of a transfer that lasts several buckets.
    public mutating func addSpread(_ value: Double, from: SimInstant, to: SimInstant) {
        guard to > from else {
            add(value, at: from)
            return
        }
        let total = Double(to.microseconds - from.microseconds)
        var t = from.microseconds
        while t < to.microseconds {
            let b = bucket(of: SimInstant(microseconds: t))
            let bucketEnd = start.microseconds + Int64(b + 1) * bucketWidth.microseconds
            let stop = min(to.microseconds, bucketEnd)
            add(value * Double(stop - t) / total, at: SimInstant(microseconds: t))
            t = stop
        }
    }
}
