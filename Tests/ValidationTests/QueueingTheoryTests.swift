import Metrics
import SimCore
import Stochastics
import Testing

/// An M/M/c queue on the engine: Poisson arrivals, c servers, exponential service, FIFO.
///
/// The model is as small as a SimPy example: two event kinds dispatched by a `switch`, each
/// customer carrying its arrival time in the departure event so that its time in system is exact.
struct MMcQueue {
    enum Event: BitwiseCopyable {
        case arrival
        case departure(arrivedAt: Int64)
    }

    let servers: Int
    let interarrival: Distribution
    let service: Distribution
    var arrivalStream: RandomStream
    var serviceStream: RandomStream

    var waiting: [Int64] = []  // arrival times, FIFO from `head`
    var head = 0
    var busy = 0
    var inSystem = Gauge()
    var sojourn = LatencyRecorder()
    var arrivals = 0
    var arrivalsThatWaited = 0

    init(servers: Int, arrivalRate: Double, serviceRate: Double, seed: UInt64) throws {
        self.servers = servers
        interarrival = try .exponential(mean: 1 / arrivalRate)
        service = try .exponential(mean: 1 / serviceRate)
        arrivalStream = RandomStream(seed: seed, label: "mmc.arrivals", id: 0)
        serviceStream = RandomStream(seed: seed, label: "mmc.service", id: 0)
    }

    mutating func run(for duration: SimDuration) throws {
        let sim = Simulation<Event>()
        sim.schedule(.arrival, after: SimDuration(seconds: interarrival.sample(&arrivalStream)))
        try sim.run(until: .zero + duration) { event in
            let now = sim.now
            switch event {
            case .arrival:
                arrivals += 1
                inSystem.add(1, at: now)
                if busy < servers {
                    busy += 1
                    sim.schedule(.departure(arrivedAt: now.microseconds), after: SimDuration(seconds: service.sample(&serviceStream)))
                } else {
                    arrivalsThatWaited += 1
                    waiting.append(now.microseconds)
                }
                sim.schedule(.arrival, after: SimDuration(seconds: interarrival.sample(&arrivalStream)))
            case let .departure(arrivedAt):
                inSystem.add(-1, at: now)
                sojourn.record(.microseconds(now.microseconds - arrivedAt))
                if head < waiting.count {
                    let next = waiting[head]
                    head += 1
                    if head > 4_096 && head * 2 > waiting.count {
                        waiting.removeFirst(head)
                        head = 0
                    }
                    sim.schedule(.departure(arrivedAt: next), after: SimDuration(seconds: service.sample(&serviceStream)))
                } else {
                    busy -= 1
                }
            }
        }
    }
}

/// Erlang's C formula: the probability that an arrival waits in an M/M/c queue with offered load
/// a = λ/μ erlangs.
func erlangC(servers c: Int, offeredLoad a: Double) -> Double {
    var term = 1.0  // a^k / k!
    var sum = 0.0
    for k in 0..<c {
        sum += term
        term *= a / Double(k + 1)
    }
    let top = term * Double(c) / (Double(c) - a)  // a^c / c! · c / (c − a)
    return top / (sum + top)
}

@Suite("Queueing theory on the engine")
struct QueueingTheoryTests {
    /// ρ = 0.8: L = ρ/(1−ρ) = 4, W = 1/(μ−λ) = 5 s. Three million mean service times make 2% about
    /// three standard errors of the time-average L (asymptotic variance 2(1+ρ)/(ρ(1−ρ)²)·L²/T).
    @Test("M/M/1 at load 0.8: mean time and mean number in system within 2% of theory", arguments: [1, 2] as [UInt64])
    func mm1(seed: UInt64) throws {
        var q = try MMcQueue(servers: 1, arrivalRate: 0.8, serviceRate: 1, seed: seed)
        let horizon = SimDuration.seconds(3_000_000)
        try q.run(for: horizon)
        let w = q.sojourn.mean.seconds
        let l = q.inSystem.timeAverage(until: .zero + horizon)
        #expect(abs(w - 5) / 5 < 0.02, "W = \(w) s over \(q.sojourn.count) customers")
        #expect(abs(l - 4) / 4 < 0.02, "L = \(l)")
    }

    @Test("M/M/4 at load 0.8: the probability of waiting within 2% of Erlang C", arguments: [1, 2] as [UInt64])
    func mmc(seed: UInt64) throws {
        let c = 4, lambda = 3.2, mu = 1.0
        var q = try MMcQueue(servers: c, arrivalRate: lambda, serviceRate: mu, seed: seed)
        let horizon = SimDuration.seconds(1_000_000)
        try q.run(for: horizon)
        let pWait = Double(q.arrivalsThatWaited) / Double(q.arrivals)
        let theory = erlangC(servers: c, offeredLoad: lambda / mu)  // 0.5964
        #expect(abs(pWait - theory) / theory < 0.02, "P(wait) = \(pWait), Erlang C = \(theory)")
        let w = q.sojourn.mean.seconds
        let wTheory = theory / (Double(c) * mu - lambda) + 1 / mu
        #expect(abs(w - wTheory) / wTheory < 0.02, "W = \(w), theory \(wTheory)")
    }

    @Test("Little's law holds on the simulated data: L = λW")
    func littlesLaw() throws {
        var q = try MMcQueue(servers: 2, arrivalRate: 1.5, serviceRate: 1, seed: 9)
        let horizon = SimDuration.seconds(500_000)
        try q.run(for: horizon)
        let l = q.inSystem.timeAverage(until: .zero + horizon)
        let lambda = Double(q.arrivals) / horizon.seconds
        let w = q.sojourn.mean.seconds
        #expect(abs(l - lambda * w) / l < 0.01, "L = \(l), λW = \(lambda * w)")
    }

    @Test("Erlang C matches its published value for 4 servers at 3.2 erlangs")
    func erlangReference() {
        #expect(abs(erlangC(servers: 4, offeredLoad: 3.2) - 0.5964) < 1e-4)
        #expect(abs(erlangC(servers: 1, offeredLoad: 0.8) - 0.8) < 1e-12)  // M/M/1: P(wait) = ρ
    }
}
