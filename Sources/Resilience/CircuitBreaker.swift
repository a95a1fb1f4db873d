/// A circuit breaker in front of one dependency: after enough failures it fails calls at once
/// instead of sending them, then lets a few through to see whether the dependency is back.
///
/// States as in Nygard's *Release It!* (and resilience4j's count-based breaker): **closed**
/// counts the outcomes of the last `window` calls and opens when at least `minimumCalls` of them
/// are in and the failed share reaches `failureRatio`; **open** rejects every call for
/// `openSeconds`; then **half-open** admits `probes` calls: all succeeding closes it, any failing
/// opens it again. Time arrives as seconds from any fixed origin.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: Sendable, Equatable { case closed, open(untilSeconds: Double), halfOpen }

    public let window: Int
    public let minimumCalls: Int
    public let failureRatio: Double
    public let openSeconds: Double
    public let probes: Int
    public private(set) var state: State = .closed
    /// The last `window` outcomes as a ring (true: failed).
    private var outcomes: [Bool] = []
    private var next = 0
    private var failures = 0
    /// Half-open: probes let through, and those that succeeded.
    private var probesSent = 0
    private var probesSucceeded = 0
    /// Times the breaker opened.
    public private(set) var openings = 0

    public init(window: Int = 20, minimumCalls: Int = 10, failureRatio: Double = 0.5, openSeconds: Double = 5, probes: Int = 3) {
        precondition(window >= 1 && minimumCalls >= 1 && minimumCalls <= window && failureRatio > 0 && failureRatio <= 1
                     && openSeconds >= 0 && probes >= 1)
        self.window = window
        self.minimumCalls = minimumCalls
        self.failureRatio = failureRatio
        self.openSeconds = openSeconds
        self.probes = probes
    }

    /// Whether a call may go at `nowSeconds` (false: fail it at once). A call let through must
    /// report its outcome with ``record(failed:nowSeconds:)``.
    public mutating func allows(nowSeconds: Double) -> Bool {
        switch state {
        case .closed:
            return true
        case let .open(until):
            guard nowSeconds >= until else { return false }
            state = .halfOpen
            probesSent = 1
            probesSucceeded = 0
            return true
        case .halfOpen:
            guard probesSent < probes else { return false }
            probesSent += 1
            return true
        }
    }

    /// The outcome of a call let through.
    public mutating func record(failed: Bool, nowSeconds: Double) {
        switch state {
        case .closed:
            if outcomes.count < window {
                outcomes.append(failed)
            } else {
                if outcomes[next] { failures -= 1 }
                outcomes[next] = failed
                next = (next + 1) % window
            }
            if failed { failures += 1 }
            if outcomes.count >= minimumCalls && Double(failures) >= failureRatio * Double(outcomes.count) { trip(nowSeconds) }
        case .open:
            break  // a call let through before it opened
        case .halfOpen:
            if failed { return trip(nowSeconds) }
            probesSucceeded += 1
            if probesSucceeded >= probes {
                state = .closed
                outcomes.removeAll(keepingCapacity: true)
                next = 0
                failures = 0
            }
        }
    }

    private mutating func trip(_ nowSeconds: Double) {
        state = .open(untilSeconds: nowSeconds + openSeconds)
        openings += 1
    }
}
