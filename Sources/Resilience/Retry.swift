/// How a client waits before it tries a failed request again: exponential backoff with jitter.
///
/// The n-th retry (n = 1, 2, …) waits `base × multiplier^(n−1)`, capped at `cap`, then jittered:
/// `full` jitter draws uniformly in [0, that] (the AWS architecture blog's "Exponential Backoff
/// and Jitter", 2015: it spreads a synchronised burst of retries the most), `equal` in
/// [that/2, that], `none` waits exactly that. Randomness arrives as a uniform draw in [0, 1), so
/// the caller owns the random stream.
public struct RetryPolicy: Sendable, Equatable {
    public enum Jitter: String, Sendable, CaseIterable { case none, equal, full }

    /// Attempts in all, the first included (1: never retry).
    public var attempts: Int
    public var baseSeconds: Double
    public var multiplier: Double
    public var capSeconds: Double
    public var jitter: Jitter

    public init(attempts: Int, baseSeconds: Double = 0.1, multiplier: Double = 2, capSeconds: Double = 10, jitter: Jitter = .full) {
        precondition(attempts >= 1 && baseSeconds >= 0 && multiplier >= 1 && capSeconds >= 0)
        self.attempts = attempts
        self.baseSeconds = baseSeconds
        self.multiplier = multiplier
        self.capSeconds = capSeconds
        self.jitter = jitter
    }

    /// Whether a request that has made `made` attempts may make another.
    public func mayRetry(afterAttempts made: Int) -> Bool { made < attempts }

    /// Seconds to wait before retry number `retry` (1 for the first retry), given `uniform` in [0, 1).
    public func backoffSeconds(retry: Int, uniform: Double) -> Double {
        precondition(retry >= 1)
        var ceiling = baseSeconds
        var n = 1
        while n < retry && ceiling < capSeconds {
            ceiling *= multiplier
            n += 1
        }
        ceiling = min(ceiling, capSeconds)
        switch jitter {
        case .none: return ceiling
        case .equal: return ceiling / 2 + uniform * ceiling / 2
        case .full: return uniform * ceiling
        }
    }
}

/// A retry budget: retries may add at most a set share of load on top of first attempts.
///
/// A token bucket as in gRPC's retry throttling (gRFC A6): the bucket holds up to `maxTokens`; a
/// failure takes one token, a success gives back `tokenRatio`; retries are allowed only while the
/// bucket holds more than half of `maxTokens`. In steady failure the retries it lets through are
/// bounded by about `tokenRatio` per success, so a dependency that fails everything sees its load
/// multiplied by little more than 1, not by the attempt count (the amplification that keeps a
/// system in a metastable failure: Bronson et al., HotOS 2021).
public struct RetryBudget: Sendable, Equatable {
    public let maxTokens: Double
    public let tokenRatio: Double
    public private(set) var tokens: Double

    public init(maxTokens: Double = 100, tokenRatio: Double = 0.1) {
        precondition(maxTokens > 0 && tokenRatio >= 0)
        self.maxTokens = maxTokens
        self.tokenRatio = tokenRatio
        tokens = maxTokens
    }

    /// Whether a retry may go now.
    public var allowsRetry: Bool { tokens > maxTokens / 2 }

    /// An attempt succeeded.
    public mutating func recordSuccess() { tokens = min(maxTokens, tokens + tokenRatio) }

    /// An attempt failed (error, timeout or shed).
    public mutating func recordFailure() { tokens = max(0, tokens - 1) }
}
