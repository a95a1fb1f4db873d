/// An adaptive limit on the requests one server works on at once, learnt from their latency.
///
/// By Little's law a server at its capacity holds `L = λW` requests; past that, more requests in
/// flight only lengthen the queue (W grows, λ does not). The limit looks for the knee from the
/// outside, as Netflix's concurrency-limits library does (after TCP congestion control):
/// - **AIMD**: each completion within `latencyThresholdSeconds` raises the limit by 1/limit
///   (about one per round of `limit` completions), each one past it (or dropped) multiplies it
///   by `backoffRatio`.
/// - **Gradient** (the library's Gradient2): a long-run mean latency (an exponential moving
///   average over about 600 completions, the no-queue estimate) over a short-run one (about 10),
///   times `tolerance`, clamped to [0.5, 1], scales the limit, plus a queue allowance of √limit,
///   smoothed by `smoothing`: `L ← (1−s)·L + s·(L·gradient + √L)`. While latency holds steady the
///   gradient is 1 and the limit grows by √L; when the short-run latency rises past `tolerance` ×
///   the long-run one, it shrinks. Means rather than the least latency seen: with service times
///   that vary (an exponential's least is near 0) the least would shrink every limit to a few.
///
/// The limit only grows while at least half of it is in use, so an idle server does not learn a
/// limit it never tried. Latency arrives in seconds.
public struct ConcurrencyLimit: Sendable, Equatable {
    public enum Algorithm: Sendable, Equatable {
        case aimd(latencyThresholdSeconds: Double, backoffRatio: Double)
        case gradient(tolerance: Double, smoothing: Double)
    }

    public let algorithm: Algorithm
    public let minLimit: Double
    public let maxLimit: Double
    public private(set) var limit: Double
    /// Gradient's long-run and short-run mean latencies (0: none yet).
    public private(set) var longLatencySeconds = 0.0
    public private(set) var shortLatencySeconds = 0.0

    public init(_ algorithm: Algorithm, initial: Double, minLimit: Double = 1, maxLimit: Double = 1_000) {
        precondition(minLimit >= 1 && maxLimit >= minLimit && initial >= minLimit && initial <= maxLimit)
        self.algorithm = algorithm
        self.minLimit = minLimit
        self.maxLimit = maxLimit
        limit = initial
    }

    /// The whole requests the limit admits at once.
    public var admits: Int { Int(limit) }

    /// A request finished after `latencySeconds` (queue and service), or was dropped (timed out
    /// or failed for lack of capacity), with `inFlight` requests in progress when it finished.
    public mutating func record(latencySeconds: Double, dropped: Bool, inFlight: Int) {
        let busy = Double(inFlight) * 2 >= limit
        switch algorithm {
        case let .aimd(threshold, backoff):
            if dropped || latencySeconds > threshold {
                limit = max(minLimit, limit * backoff)
            } else if busy {
                limit = min(maxLimit, limit + 1 / limit)
            }
        case let .gradient(tolerance, smoothing):
            if dropped {
                limit = max(minLimit, limit * 0.9)
                return
            }
            guard latencySeconds > 0 else { return }
            if longLatencySeconds == 0 {
                longLatencySeconds = latencySeconds
                shortLatencySeconds = latencySeconds
            }
            longLatencySeconds += (latencySeconds - longLatencySeconds) / 600
            shortLatencySeconds += (latencySeconds - shortLatencySeconds) / 10
            // Latency fell well below the long-run mean (load gone): the long run follows faster.
            if longLatencySeconds > 2 * shortLatencySeconds { longLatencySeconds *= 0.95 }
            let gradient = max(0.5, min(1, tolerance * longLatencySeconds / shortLatencySeconds))
            let target = limit * gradient + limit.squareRoot()
            guard busy || target < limit else { return }
            limit = max(minLimit, min(maxLimit, (1 - smoothing) * limit + smoothing * target))
        }
    }
}

/// Which requests a server turns away first when it is full: priority load shedding.
///
/// A request of priority `p` (0 the most important) is admitted while fewer than
/// `limit × shares[p]` requests are in flight: the least important are shed first, and the most
/// important keep the whole limit, as in Netflix's prioritised load shedding at its API gateway
/// (2020: user-initiated playback above browsing above prefetch and logging) and Google's
/// request criticality.
public struct PriorityShedder: Sendable, Equatable {
    /// Per priority, the share of the limit it may fill, non-increasing.
    public let shares: [Double]

    public init(shares: [Double] = [1, 0.85, 0.6]) {
        precondition(!shares.isEmpty && shares.allSatisfy { $0 > 0 && $0 <= 1 })
        precondition(zip(shares, shares.dropFirst()).allSatisfy { $0 >= $1 }, "shares must not increase with the priority number")
        self.shares = shares
    }

    /// Whether a request of `priority` gets in with `inFlight` requests in progress under `limit`.
    public func admits(priority: Int, inFlight: Int, limit: Double) -> Bool {
        let share = shares[min(max(priority, 0), shares.count - 1)]
        return Double(inFlight) < max(1, limit * share)
    }
}

/// What a request that failed turns into when its caller has a fallback.
///
/// Production APIs degrade rather than fail where a part of the answer is optional: a home page
/// whose recommendation row fails shows a cached or static row (seed 001's "give static response
/// so that modules load"). The decision is a pure function so that a service could use it as is.
public enum Fallback: String, Sendable, CaseIterable {
    /// The failure is the request's.
    case none
    /// The caller answers from a static or cached response: a degraded success.
    case staticResponse

    /// Whether a failed part still lets the request succeed, degraded.
    public func rescues(_ failed: Bool) -> Bool { failed && self == .staticResponse }
}
