import ArgumentParser
import Foundation
import SimCore

/// `vodsim bench ...`: performance measurements, kept apart from the tests.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the simulator's speed.",
        subcommands: [EngineBenchCommand.self, ScenarioBenchCommand.self]
    )
}

/// `vodsim bench engine`: the classic hold model (Vaucher and Duval, CACM 1975) on the event queue.
struct EngineBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Hold model: N pending events, each rescheduling itself a random delay ahead."
    )

    @Option(help: "Events pending at all times.")
    var pending: Int = 1_000_000

    @Option(help: "Events to handle after the queue is filled.")
    var events: Int = 10_000_000

    @Option(help: "Mean hold time in seconds of simulated time.")
    var meanDelay: Double = 4

    @Option(help: "Hold-time distribution: exponential or uniform (on 0...2 x mean).")
    var distribution: HoldDistribution = .exponential

    @Option(help: "Seed of the hold-time stream.")
    var seed: UInt64 = 1

    @Option(help: "Event-queue tuning: events per bucket the queue aims for.")
    var targetPerBucket: Double = EventQueueTuning().targetPerBucket

    @Option(help: "Event-queue tuning: window length in mean lead times.")
    var windowSpan: Double = EventQueueTuning().windowSpan

    @Option(help: "Event-queue tuning: most fine buckets per coarse bucket, as a power of two.")
    var fineMaxLog2: Int = EventQueueTuning().fineBucketsLog2.upperBound

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        guard pending > 0 else { throw ValidationError("--pending must be > 0, got \(pending)") }
        guard events > 0 else { throw ValidationError("--events must be > 0, got \(events)") }
        guard meanDelay > 0, meanDelay.isFinite else { throw ValidationError("--mean-delay must be > 0 s, got \(meanDelay)") }
        guard pending <= Int(UInt32.max) else { throw ValidationError("--pending must be <= \(UInt32.max)") }
    }

    var tuning: EventQueueTuning {
        var t = EventQueueTuning()
        t.targetPerBucket = targetPerBucket
        t.windowSpan = windowSpan
        t.fineBucketsLog2 = t.fineBucketsLog2.lowerBound...max(t.fineBucketsLog2.lowerBound, fineMaxLog2)
        return t
    }

    func run() throws {
        let result = try HoldBenchmark(pending: pending, events: events, meanDelayMicroseconds: meanDelay * 1e6,
                                       distribution: distribution, seed: seed, tuning: tuning).run()
        if json {
            print(result.json)
        } else {
            print(result.text)
        }
    }
}
