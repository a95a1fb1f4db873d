import Testing
@testable import SimCore

@Suite("Simulation run loop")
struct SimulationTests {
    @Test("run(until:) refuses an instant the clock has passed")
    func refusesThePast() throws {
        let sim = Simulation<Int>()
        try sim.run(until: .init(microseconds: 1_000)) { _ in }
        #expect(sim.now == SimInstant(microseconds: 1_000))
        #expect(throws: SimulationError.runUntilPast(requested: .init(microseconds: 999), now: .init(microseconds: 1_000))) {
            try sim.run(until: .init(microseconds: 999)) { _ in }
        }
        // Running until now is allowed and does nothing.
        try sim.run(until: .init(microseconds: 1_000)) { _ in Issue.record("no event is due") }
    }

    @Test("Events due exactly at the limit wait for the next run")
    func limitIsExclusive() throws {
        let sim = Simulation<Int>()
        sim.schedule(1, at: .init(microseconds: 10))
        sim.schedule(2, at: .init(microseconds: 20))
        sim.schedule(3, at: .init(microseconds: 30))
        var seen: [Int] = []
        try sim.run(until: .init(microseconds: 20)) { seen.append($0) }
        #expect(seen == [1])
        #expect(sim.now == SimInstant(microseconds: 20))
        try sim.run(until: .init(microseconds: 31)) { seen.append($0) }
        #expect(seen == [1, 2, 3])
        #expect(sim.pendingCount == 0)
    }

    @Test("The clock never runs backwards, however events are scheduled")
    func monotoneClock() throws {
        let sim = Simulation<UInt32>()
        var rng = RandomStream(seed: 3, label: "test.clock", id: 0)
        for i in 0..<2_000 { sim.schedule(UInt32(i), after: .microseconds(Int64(rng.nextInt(below: 1_000_000)))) }
        var last = SimInstant.zero
        var handled = 0
        var limit = SimInstant.zero
        while handled < 50_000 {
            limit += .microseconds(Int64(rng.nextInt(below: 200_000)))
            try sim.run(until: limit) { token in
                #expect(sim.now >= last)
                last = sim.now
                handled += 1
                // Mix zero, tiny and long delays, as models do.
                let delay: Int64 = switch rng.nextInt(below: 3) {
                case 0: 0
                case 1: Int64(rng.nextInt(below: 5))
                default: Int64(rng.nextInt(below: 1_000_000))
                }
                sim.schedule(token, after: .microseconds(delay))
            }
            #expect(sim.now == limit)
            last = limit
        }
    }

    /// The prefetch hook is a hint: the run handles exactly what a plain run handles, in the same
    /// order, and is only ever told of events that are then handled (none was cancelled here).
    @Test("A run with a prefetch hook handles the same events in the same order, and previews only events to come")
    func prefetchChangesNothing() throws {
        func run(prefetching: Bool) throws -> (handled: [UInt32], previewed: [UInt32]) {
            let sim = Simulation<UInt32>(tuning: { var t = EventQueueTuning(); t.targetPerBucket = 32; return t }())
            var rng = RandomStream(seed: 9, label: "test.prefetch", id: 0)
            for i in 0..<5_000 { sim.schedule(UInt32(i), after: .microseconds(Int64(rng.nextInt(below: 100_000)))) }
            var handled: [UInt32] = [], previewed: [UInt32] = []
            var next = UInt32(5_000)
            let handler: (UInt32) -> Void = { token in
                handled.append(token)
                if next < 40_000 {
                    sim.schedule(next, after: .microseconds(Int64(rng.nextInt(below: 100_000))))
                    next += 1
                }
            }
            if prefetching {
                try sim.run(until: .distantFuture, prefetch: { token, depth in if depth == 0 { previewed.append(token) } }, handler)
            } else {
                try sim.run(until: .distantFuture, handler)
            }
            return (handled, previewed)
        }
        let plain = try run(prefetching: false)
        let hinted = try run(prefetching: true)
        #expect(hinted.handled == plain.handled)
        #expect(plain.handled.count == 40_000)
        // Most events are previewed once their bucket is loaded; each preview is of an event handled later.
        #expect(hinted.previewed.count > 20_000)
        var position = [UInt32: Int]()
        for (k, token) in hinted.handled.enumerated() { position[token] = k }
        #expect(hinted.previewed.allSatisfy { position[$0] != nil })
    }

    @Test("stop() returns after the event that asked")
    func stopEarly() throws {
        let sim = Simulation<Int>()
        for i in 0..<10 { sim.schedule(i, at: .init(microseconds: Int64(i) * 100)) }
        var seen: [Int] = []
        try sim.run(until: .distantFuture) { e in
            seen.append(e)
            if e == 4 { sim.stop() }
        }
        #expect(seen == [0, 1, 2, 3, 4])
        #expect(sim.now == SimInstant(microseconds: 400))
        try sim.run(until: .distantFuture) { seen.append($0) }
        #expect(seen == Array(0..<10))
        #expect(sim.now == SimInstant(microseconds: 900))
    }

    @Test("An error thrown by the handler propagates and leaves the clock at that event")
    func handlerError() {
        struct Boom: Error {}
        let sim = Simulation<Int>()
        sim.schedule(1, at: .init(microseconds: 5))
        sim.schedule(2, at: .init(microseconds: 6))
        #expect(throws: Boom.self) {
            try sim.run(until: .distantFuture) { e in if e == 1 { throw Boom() } }
        }
        #expect(sim.now == SimInstant(microseconds: 5))
        #expect(sim.pendingCount == 1)
    }

    @Test("Scheduling before now stops the process with a precondition failure")
    func schedulingInThePastTraps() async {
        await #expect(processExitsWith: .failure) {
            let sim = Simulation<Int>()
            try? sim.run(until: .init(microseconds: 100)) { _ in }
            sim.schedule(1, at: .init(microseconds: 99))
        }
    }

    @Test("Same seed gives the same event trace; a different seed a different one", arguments: [1, 2, 99] as [UInt64])
    func traceDigest(seed: UInt64) throws {
        let a = try holdTrace(seed: seed)
        let b = try holdTrace(seed: seed)
        let c = try holdTrace(seed: seed + 1_000)
        #expect(a == b)
        #expect(a != c)
    }

    /// A small hold model with one random stream per token, digested event by event.
    func holdTrace(seed: UInt64) throws -> TraceDigest {
        let sim = Simulation<UInt32>()
        let family = StreamFamily(seed: seed, label: "test.hold")
        var streams = (0..<500).map { family.stream(UInt64($0)) }
        for i in 0..<500 { sim.schedule(UInt32(i), after: .microseconds(Int64(streams[i].nextInt(below: 1_000_000)))) }
        var digest = TraceDigest()
        try sim.run(until: .init(microseconds: 20_000_000)) { token in
            digest.combine(sim.now)
            digest.combine(UInt64(token))
            let delay = Int64(streams[Int(token)].nextInt(below: 1_000_000))
            sim.schedule(token, after: .microseconds(delay))
        }
        #expect(digest.count > 10_000)
        return digest
    }
}

@Suite("Simulated time")
struct TimeTests {
    @Test("Durations convert between units exactly")
    func units() {
        #expect(SimDuration.hours(1) == .minutes(60))
        #expect(SimDuration.minutes(1) == .seconds(60))
        #expect(SimDuration.seconds(1) == .milliseconds(1_000))
        #expect(SimDuration.milliseconds(1) == .microseconds(1_000))
        #expect(SimDuration(seconds: 1.5) == .milliseconds(1_500))
        #expect(SimDuration(seconds: 0.0000004) == .zero)
        #expect(SimDuration(seconds: 0.0000006) == .microseconds(1))
        #expect(SimDuration(seconds: 2.5).seconds == 2.5)
    }

    @Test("Instants and durations combine as time arithmetic says")
    func arithmetic() {
        let t = SimInstant.zero + .seconds(10)
        #expect(t - SimInstant.zero == .seconds(10))
        #expect(t - .seconds(4) == SimInstant(microseconds: 6_000_000))
        #expect((t + .milliseconds(1)) > t)
        #expect(SimDuration.seconds(3) * 4 == .seconds(12))
        #expect(t.description == "t+10.0 s")
        #expect(SimDuration.microseconds(12).description == "12 us")
    }
}

@Suite("Parallel map")
struct ParallelTests {
    @Test("Results come back in index order whatever the number of threads")
    func indexOrder() {
        let serial = Parallel.map(count: 1_001, threads: 1) { i in i * i + 7 }
        for threads in [2, 3, 8, 5_000] {
            #expect(Parallel.map(count: 1_001, threads: threads) { i in i * i + 7 } == serial)
        }
        #expect(Parallel.map(count: 0, threads: 4) { $0 }.isEmpty)
        #expect(serial[1_000] == 1_000_007)
    }
}
