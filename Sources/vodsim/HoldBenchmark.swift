import ArgumentParser
import Foundation
import SimCore
import Stochastics

enum HoldDistribution: String, ExpressibleByArgument, CaseIterable {
    case exponential, uniform
}

/// The hold model on the engine: fill the queue with `pending` events, then handle `events` more,
/// each rescheduling itself after a random hold time. Measures the engine alone: the handler does
/// nothing but draw a delay and reschedule.
struct HoldBenchmark {
    let pending: Int
    let events: Int
    let meanDelayMicroseconds: Double
    let distribution: HoldDistribution
    let seed: UInt64
    let tuning: EventQueueTuning

    struct Result {
        var pending: Int
        var events: Int
        var setupSeconds: Double
        var runSeconds: Double
        var peakRSSBytes: Int
        var queueBytes: Int
        var rebuilds: Int
        var fillRebuilds: Int
        var digest: String
        var geometry: String
        var eventsPerSecond: Double { Double(events) / runSeconds }

        var json: String {
            """
            {"benchmark":"engine-hold","pending":\(pending),"events":\(events),\
            "setupSeconds":\(format(setupSeconds)),"runSeconds":\(format(runSeconds)),\
            "eventsPerSecond":\(Int(eventsPerSecond.rounded())),"peakRSSBytes":\(peakRSSBytes),\
            "queueBytes":\(queueBytes),"queueRebuilds":\(rebuilds),"traceDigest":"\(digest)"}
            """
        }

        var text: String {
            """
            engine hold model: \(pending) pending, \(events) events
              fill:        \(format(setupSeconds)) s
              run:         \(format(runSeconds)) s
              events/s:    \(String(format: "%.2fM", eventsPerSecond / 1e6))
              peak RSS:    \(String(format: "%.1f MiB", Double(peakRSSBytes) / 1_048_576))
              queue pools: \(String(format: "%.1f MiB", Double(queueBytes) / 1_048_576)) (\(rebuilds) rebuilds, \(fillRebuilds) while filling)
              digest:      \(digest)
              queue:       \(geometry)
            """
        }

        private func format(_ x: Double) -> String { String(format: "%.3f", x) }
    }

    /// The model's state, handled `inout` from the run loop: no captured local functions, so no
    /// boxed variables and no dynamic exclusivity checks on the hot path.
    struct Model {
        var stream: RandomStream
        let hold: Distribution
        var remaining: Int
        var digest = TraceDigest()
        let digestEvery: Int
        var untilDigest: Int

        @inline(__always)
        mutating func delay() -> SimDuration {
            SimDuration(microseconds: Int64(hold.sample(&stream)))
        }

        @inline(__always)
        mutating func handle(_ token: UInt32, in sim: Simulation<UInt32>) {
            sim.schedule(token, after: delay())
            // Sample the trace into the digest every `digestEvery` events, counting down rather
            // than dividing on every event.
            untilDigest &-= 1
            if untilDigest == 0 {
                untilDigest = digestEvery
                digest.combine(sim.now)
                digest.combine(UInt64(token))
            }
            remaining &-= 1
            if remaining == 0 { sim.stop() }
        }
    }

    func run() throws -> Result {
        let sim = Simulation<UInt32>(tuning: tuning)
        let hold: Distribution = switch distribution {
        case .exponential: try .exponential(mean: meanDelayMicroseconds)
        case .uniform: try .uniform(low: 0, high: 2 * meanDelayMicroseconds)
        }
        let digestEvery = max(1, events / 4096)
        var model = Model(stream: RandomStream(seed: seed, label: "bench.hold", id: 0), hold: hold,
                          remaining: events, digestEvery: digestEvery, untilDigest: digestEvery)
        let clock = ContinuousClock()
        let fillStart = clock.now
        for token in 0..<pending {
            sim.schedule(UInt32(token), after: model.delay())
        }
        let runStart = clock.now
        let fillRebuilds = sim.queue.rebuilds
        try sim.run(until: .distantFuture) { token in model.handle(token, in: sim) }
        let runEnd = clock.now
        return Result(pending: pending, events: events,
                      setupSeconds: (runStart - fillStart).secondsDouble,
                      runSeconds: (runEnd - runStart).secondsDouble,
                      peakRSSBytes: ProcessStats.peakResidentBytes(),
                      queueBytes: sim.queue.footprintBytes, rebuilds: sim.queue.rebuilds, fillRebuilds: fillRebuilds,
                      digest: model.digest.description, geometry: sim.queue.geometry)
    }
}

extension Duration {
    var secondsDouble: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}

/// What the operating system says about this process.
enum ProcessStats {
    /// The peak resident set size (high-water mark), in bytes.
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return usage.ru_maxrss * 1024  // kilobytes on Linux
    }
}
