import Testing
@testable import Metrics
import SimCore

@Suite("Metrics")
struct MetricsTests {
    @Test("A gauge's mean weights each level by how long it held")
    func gaugeTimeAverage() {
        var g = Gauge(0, at: .zero)
        g.set(10, at: .zero + .seconds(1))
        g.set(0, at: .zero + .seconds(3))
        #expect(g.timeAverage(until: .zero + .seconds(4)) == 5)
        #expect(g.maximum == 10)
        #expect(g.minimum == 0)
        g.add(2, at: .zero + .seconds(4))
        #expect(g.value == 2)
    }

    @Test("Latency percentiles come from the histogram within its 3-digit resolution")
    func latencyPercentiles() {
        var r = LatencyRecorder()
        for ms in 1...1_000 { r.record(.milliseconds(Int64(ms))) }
        #expect(r.count == 1_000)
        #expect(r.mean == .microseconds(500_500))
        let p50 = r.percentile(50).microseconds
        let p99 = r.percentile(99).microseconds
        #expect(abs(p50 - 500_000) <= 500, "p50 \(p50)")
        #expect(abs(p99 - 990_000) <= 1_000, "p99 \(p99)")
        #expect(abs(r.maximum.microseconds - 1_000_000) <= 1_000)
        var other = LatencyRecorder()
        other.record(.seconds(10))
        r.merge(other)
        #expect(r.count == 1_001)
        #expect(abs(r.maximum.microseconds - 10_000_000) <= 10_000)
        #expect(LatencyRecorder().percentile(99) == .zero)
    }

    @Test("A time series sums values into fixed buckets and gives rates per second")
    func timeSeries() {
        var s = TimeSeries(bucketWidth: .minutes(1))
        s.add(600, at: .zero + .seconds(10))
        s.add(600, at: .zero + .seconds(50))
        s.add(60, at: .zero + .minutes(3))
        #expect(s.bucketCount == 4)
        #expect(s.ratePerSecond(0) == 20)
        #expect(s.ratePerSecond(1) == 0)
        #expect(s.mean(0) == 600)
        #expect(s.maxima[3] == 60)
        var t = TimeSeries(bucketWidth: .minutes(1))
        t.add(60, at: .zero + .minutes(5))
        s.merge(t)
        #expect(s.bucketCount == 6)
        #expect(s.sums[5] == 60)
    }

    @Test("A time-weighted series integrates a level across bucket boundaries")
    func timeWeightedSeries() {
        var s = TimeWeightedSeries(bucketWidth: .seconds(10))
        s.set(4, at: .zero + .seconds(5))   // 0 for 5 s, then 4
        s.set(0, at: .zero + .seconds(25))  // 4 until 25 s
        s.advance(to: .zero + .seconds(30))
        #expect(s.mean(0) == 2)   // 4 for half the bucket
        #expect(s.mean(1) == 4)
        #expect(s.mean(2) == 2)
        #expect(s.maxima[1] == 4)
        #expect(s.bucketCount == 3)
    }

    @Test("Counters only go up and merge by adding")
    func counters() {
        var c = Counter()
        c.increment()
        c.increment(by: 41)
        var d = Counter()
        d.increment(by: 8)
        c.merge(d)
        #expect(c.value == 50)
    }

    /// 90 bytes over 25 s to 70 s with 10 s buckets: 5 s, 10 s, 10 s, 10 s, 10 s of the 45 s.
    @Test("A spread value lands in each bucket in proportion to its overlap, and sums exactly")
    func spread() {
        var s = TimeSeries(bucketWidth: .seconds(10))
        s.addSpread(90, from: .zero + .seconds(25), to: .zero + .seconds(70))
        #expect(s.bucketCount == 7)
        #expect(s.sums == [0, 0, 10, 20, 20, 20, 20])
        s.addSpread(3, from: .zero + .seconds(1), to: .zero + .seconds(1))  // an instant: one bucket
        #expect(s.sums[0] == 3)
    }

    @Test("A latency series keeps a distribution per bucket, with 1% resolution")
    func latencySeries() {
        var s = LatencySeries(bucketWidth: .minutes(1))
        for ms in 1...100 { s.record(.milliseconds(Int64(ms)), at: .zero + .seconds(30)) }
        s.record(.seconds(2), at: .zero + .minutes(2))
        #expect(s.bucketCount == 3)
        let p50 = s.percentile(50, bucket: 0)!.microseconds
        #expect(abs(p50 - 50_000) <= 500)
        #expect(s.percentile(50, bucket: 1) == nil)
        #expect(abs(s.percentile(99, bucket: 2)!.microseconds - 2_000_000) <= 20_000)
    }
}
