import Resilience
import Testing

@Suite("Retry policies and budgets")
struct RetryTests {
    @Test("Backoff doubles from its base up to its cap; full jitter scales it by the draw")
    func exponentialBackoff() {
        let p = RetryPolicy(attempts: 6, baseSeconds: 0.1, multiplier: 2, capSeconds: 1, jitter: .none)
        #expect([1, 2, 3, 4, 5].map { p.backoffSeconds(retry: $0, uniform: 0.5) } == [0.1, 0.2, 0.4, 0.8, 1])
        let full = RetryPolicy(attempts: 6, baseSeconds: 0.1, multiplier: 2, capSeconds: 1, jitter: .full)
        #expect(full.backoffSeconds(retry: 3, uniform: 0.25) == 0.1)
        let equal = RetryPolicy(attempts: 6, baseSeconds: 0.1, multiplier: 2, capSeconds: 1, jitter: .equal)
        #expect(equal.backoffSeconds(retry: 3, uniform: 0) == 0.2)
        #expect(p.mayRetry(afterAttempts: 5) && !p.mayRetry(afterAttempts: 6))
    }

    @Test("A retry budget stops retries once failures have drained half its tokens, and refills with successes")
    func budgetThrottles() {
        var b = RetryBudget(maxTokens: 10, tokenRatio: 0.5)
        var allowed = 0
        for _ in 0..<20 where b.allowsRetry {
            allowed += 1
            b.recordFailure()
        }
        #expect(allowed == 5)
        #expect(!b.allowsRetry)
        for _ in 0..<2 { b.recordSuccess() }
        #expect(b.allowsRetry)
    }

    @Test("Under constant failure the budget lets through about tokenRatio retries per success")
    func budgetBoundsAmplification() {
        var b = RetryBudget(maxTokens: 100, tokenRatio: 0.1)
        var retries = 0
        // 1,000 requests: each first attempt fails; it retries while allowed, and a retry succeeds 1 in 2.
        for n in 0..<1_000 {
            b.recordFailure()
            if b.allowsRetry {
                retries += 1
                if n % 2 == 0 { b.recordSuccess() } else { b.recordFailure() }
            }
        }
        #expect(retries < 120, "retries \(retries) of 1,000 failures")
    }
}

@Suite("Circuit breakers")
struct CircuitBreakerTests {
    @Test("A breaker opens at the failure ratio, rejects while open, and closes after its probes succeed")
    func opensAndCloses() {
        var b = CircuitBreaker(window: 10, minimumCalls: 4, failureRatio: 0.5, openSeconds: 5, probes: 2)
        for t in 0..<3 {
            let allowed = b.allows(nowSeconds: Double(t))
            #expect(allowed)
            b.record(failed: t != 0, nowSeconds: Double(t))
        }
        #expect(b.state == .closed)
        let a1 = b.allows(nowSeconds: 3)

        #expect(a1)
        b.record(failed: true, nowSeconds: 3)  // 3 of 4 failed
        #expect(b.state == .open(untilSeconds: 8))
        let a2 = b.allows(nowSeconds: 7.9)

        #expect(!a2)
        let a3 = b.allows(nowSeconds: 8)

        #expect(a3)
        let a4 = b.allows(nowSeconds: 8.1)

        #expect(a4)
        let a5 = b.allows(nowSeconds: 8.2)

        #expect(!a5, "only the probes while half-open")
        b.record(failed: false, nowSeconds: 8.5)
        b.record(failed: false, nowSeconds: 8.6)
        #expect(b.state == .closed)
        #expect(b.openings == 1)
    }

    @Test("A failed probe opens the breaker again")
    func failedProbeReopens() {
        var b = CircuitBreaker(window: 4, minimumCalls: 2, failureRatio: 1, openSeconds: 1, probes: 1)
        _ = b.allows(nowSeconds: 0); b.record(failed: true, nowSeconds: 0)
        _ = b.allows(nowSeconds: 0); b.record(failed: true, nowSeconds: 0)
        #expect(b.state == .open(untilSeconds: 1))
        let a6 = b.allows(nowSeconds: 1)

        #expect(a6)
        b.record(failed: true, nowSeconds: 1.5)
        #expect(b.state == .open(untilSeconds: 2.5))
    }
}

@Suite("Adaptive concurrency limits and shedding")
struct ConcurrencyLimitTests {
    @Test("AIMD grows by about one per round of completions and backs off on a slow one")
    func aimd() {
        var l = ConcurrencyLimit(.aimd(latencyThresholdSeconds: 0.1, backoffRatio: 0.5), initial: 10)
        for _ in 0..<10 { l.record(latencySeconds: 0.01, dropped: false, inFlight: 10) }
        #expect(abs(l.limit - 11) < 0.1)
        l.record(latencySeconds: 0.2, dropped: false, inFlight: 10)
        #expect(abs(l.limit - 5.5) < 0.05)
        l.record(latencySeconds: 0.01, dropped: false, inFlight: 1)
        #expect(abs(l.limit - 5.5) < 0.05, "an idle server does not grow its limit")
    }

    @Test("The gradient limit grows while latency stays at its floor and shrinks as a queue builds")
    func gradient() {
        var l = ConcurrencyLimit(.gradient(tolerance: 1.5, smoothing: 0.2), initial: 20, maxLimit: 500)
        for _ in 0..<50 { l.record(latencySeconds: 0.01, dropped: false, inFlight: Int(l.limit)) }
        let grown = l.limit
        #expect(grown > 40)
        for _ in 0..<50 { l.record(latencySeconds: 0.08, dropped: false, inFlight: Int(l.limit)) }
        #expect(l.limit < grown / 2)
        // Little's law: at 0.08 s the limit settles where the √L allowance balances the halving.
        #expect(l.limit >= 1 && l.limit < 10)
    }

    @Test("Priority shedding turns the least important away first")
    func shedding() {
        let s = PriorityShedder(shares: [1, 0.8, 0.5])
        #expect(s.admits(priority: 0, inFlight: 90, limit: 100))
        #expect(!s.admits(priority: 1, inFlight: 90, limit: 100))
        #expect(s.admits(priority: 1, inFlight: 70, limit: 100))
        #expect(!s.admits(priority: 2, inFlight: 70, limit: 100))
        #expect(s.admits(priority: 2, inFlight: 0, limit: 1), "one request always gets in to an idle server")
        #expect(Fallback.staticResponse.rescues(true) && !Fallback.none.rescues(true))
    }
}
