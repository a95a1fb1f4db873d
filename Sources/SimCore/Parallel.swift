import Dispatch

/// Deterministic data parallelism: `map(count:threads:)` computes `body(i)` for every index on up to
/// `threads` threads and returns the results in index order, so the result never depends on how
/// many threads ran or how they interleaved. `body` must be a pure function of its index (no shared
/// mutable state, no shared random stream).
public enum Parallel {
    public static func map<T: Sendable>(count: Int, threads: Int, _ body: @Sendable (Int) -> T) -> [T] {
        guard count > 0 else { return [] }
        let workers = max(1, min(threads, count))
        if workers == 1 { return (0..<count).map(body) }
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let slots = Slots(base: results)
        // Contiguous chunks, one per worker: each index is written by exactly one thread.
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lower = count * w / workers, upper = count * (w + 1) / workers
            for i in lower..<upper { slots.base[i] = body(i) }
        }
        return results.map { $0! }
    }

    /// The result buffer, shared by workers that write disjoint indices.
    private struct Slots<T>: @unchecked Sendable {
        let base: UnsafeMutableBufferPointer<T?>
    }
}
