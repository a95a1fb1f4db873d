import CHints

/// A mistake in driving the engine, reported as a value rather than a crash.
public enum SimulationError: Error, Equatable, CustomStringConvertible {
    /// `run(until:)` was asked to stop at an instant the clock has already passed.
    case runUntilPast(requested: SimInstant, now: SimInstant)

    public var description: String {
        switch self {
        case let .runUntilPast(requested, now):
            return "cannot run until \(requested): the clock is already at \(now)"
        }
    }
}

/// Starts loading the cache line holding `address`; changes no result. For a model's prefetch
/// hook (``Simulation/run(until:prefetch:_:)``).
@inlinable @inline(__always)
public func prefetch(_ address: UnsafeRawPointer) {
    vodsim_prefetch(address)
}

/// The discrete-event kernel: a clock and a future-event set. Knows nothing of video.
///
/// Models schedule small value-type events and react to them in the handler passed to
/// ``run(until:_:)``, dispatching with a `switch`. The clock only moves forward: scheduling before
/// ``now`` is a programming error (a precondition), and running until a past instant is refused
/// with ``SimulationError/runUntilPast(requested:now:)``.
///
/// Not thread-safe: a partitioned, multi-threaded run gives each partition its own `Simulation`.
public final class Simulation<Event: BitwiseCopyable> {
    /// The future-event set.
    public let queue: EventQueue<Event>
    @exclusivity(unchecked) @usableFromInline var clock: SimInstant = .zero
    @exclusivity(unchecked) @usableFromInline var handled: UInt64 = 0

    /// The simulated clock: the due time of the event being handled, or the limit of the last run.
    @inlinable public var now: SimInstant { clock }
    /// Events handled since creation.
    @inlinable public var eventsProcessed: UInt64 { handled }
    @exclusivity(unchecked) @usableFromInline var stopRequested = false

    public init(tuning: EventQueueTuning = EventQueueTuning()) {
        queue = EventQueue(tuning: tuning)
    }

    /// Events waiting to fire.
    @inlinable public var pendingCount: Int { queue.count }

    /// Schedules `event` at the absolute instant `time`.
    /// - Precondition: `time >= now`.
    /// - Complexity: O(1) amortised.
    @inlinable
    @discardableResult
    public func schedule(_ event: Event, at time: SimInstant, priority: EventPriority = .normal) -> EventHandle {
        precondition(time >= now, "scheduled at \(time), before now (\(now))")
        return queue.insert(event, at: time, priority: priority)
    }

    /// Schedules `event` after `delay` from now.
    /// - Precondition: `delay >= 0`.
    @inlinable
    @discardableResult
    public func schedule(_ event: Event, after delay: SimDuration, priority: EventPriority = .normal) -> EventHandle {
        precondition(delay.microseconds >= 0, "negative delay \(delay)")
        return queue.insert(event, at: now + delay, priority: priority)
    }

    /// Cancels a pending event; `false` when it already fired or was cancelled.
    @discardableResult
    public func cancel(_ handle: EventHandle) -> Bool {
        queue.cancel(handle)
    }

    /// Asks the running loop to return after the current event.
    public func stop() { stopRequested = true }

    /// Handles events in order while they are due before `end` (exclusive), then sets the clock to
    /// `end`. Events due exactly at `end` stay pending for the next run, so consecutive runs
    /// partition time without handling anything twice.
    ///
    /// Returns early, with the clock at the last handled event, when the handler calls ``stop()``
    /// or throws (the error propagates). `run(until: .distantFuture)` handles everything and leaves
    /// the clock at the last event.
    /// - Throws: ``SimulationError/runUntilPast(requested:now:)`` when `end < now`; whatever the
    ///   handler throws.
    @inlinable
    public func run(until end: SimInstant, _ handler: (Event) throws -> Void) throws {
        guard end >= now else { throw SimulationError.runUntilPast(requested: end, now: now) }
        stopRequested = false
        let limit = end.microseconds
        while let entry = queue.pop(before: limit) {
            clock = SimInstant(microseconds: entry.time)
            handled &+= 1
            try handler(entry.event)
            if stopRequested { return }
        }
        if end != .distantFuture { clock = end }
    }

    /// ``run(until:_:)``, telling `prefetch` before each event about three later ones (when the
    /// queue knows them): the one `ahead` places on (depth 0: load what can be found from the
    /// event alone), the one `ahead / 2` places on (depth 1: what was loaded for it can now be read
    /// to find more) and the one `ahead / 4` places on (depth 2: what depth 1 loaded can be read to
    /// find yet more, e.g. an object's arrays). At full scale most of an event's time is cache
    /// misses on state spread over gigabytes, in chains (record, then object, then its storage);
    /// asked for early, they overlap. `prefetch` must change nothing.
    @inlinable
    public func run(until end: SimInstant, prefetch: (_ event: Event, _ depth: Int) -> Void, ahead: Int = 8,
                    _ handler: (Event) throws -> Void) throws {
        guard end >= now else { throw SimulationError.runUntilPast(requested: end, now: now) }
        precondition(ahead >= 4, "prefetch at least four events ahead")
        stopRequested = false
        let limit = end.microseconds
        let near = ahead / 2, nearest = ahead / 4
        while let entry = queue.pop(before: limit) {
            clock = SimInstant(microseconds: entry.time)
            handled &+= 1
            if let later = queue.upcoming(ahead &- 1) { prefetch(later, 0) }
            if let later = queue.upcoming(near &- 1) { prefetch(later, 1) }
            if let later = queue.upcoming(nearest &- 1) { prefetch(later, 2) }
            try handler(entry.event)
            if stopRequested { return }
        }
        if end != .distantFuture { clock = end }
    }
}
