/// A network as a looping trace of periods of constant bandwidth and latency, as in Sabre
/// (Spiteri, Sitaraman, Sparacio: "From theory to practice: improving bitrate adaptation in the
/// DASH reference player", MMSys 2018): each request first waits one latency, then its bits flow
/// at each period's bandwidth; when the trace ends it starts again.
public struct NetworkTrace: Sendable, Equatable {
    public struct Period: Sendable, Equatable {
        /// Microseconds.
        public var duration: Int64
        /// Bits per second.
        public var bandwidth: Int64
        /// Microseconds charged once per request before bits flow.
        public var latency: Int64

        public init(duration: Int64, bandwidth: Int64, latency: Int64) {
            self.duration = duration
            self.bandwidth = bandwidth
            self.latency = latency
        }
    }

    public let periods: [Period]

    /// - Precondition: at least one period, all durations positive, and some bandwidth somewhere.
    public init(periods: [Period]) {
        precondition(!periods.isEmpty && periods.allSatisfy { $0.duration > 0 && $0.bandwidth >= 0 && $0.latency >= 0 },
                     "a trace needs periods of positive duration")
        precondition(periods.contains { $0.bandwidth > 0 }, "a trace with no bandwidth never delivers")
        self.periods = periods
    }
}

/// The trace's clock and position, advanced by latency, downloads and waits.
struct TraceClock {
    let trace: NetworkTrace
    var index = 0
    /// Microseconds left in the current period.
    var left: Int64
    var time: Int64 = 0

    init(_ trace: NetworkTrace) {
        self.trace = trace
        left = trace.periods[0].duration
    }

    var period: NetworkTrace.Period { trace.periods[index] }

    mutating func nextPeriod() {
        index = (index + 1) % trace.periods.count
        left = trace.periods[index].duration
    }

    /// Lets `duration` pass.
    mutating func wait(_ duration: Int64) {
        var rest = duration
        while rest >= left {
            rest -= left
            time += left
            nextPeriod()
        }
        left -= rest
        time += rest
    }

    /// One request's latency: the current period's; if the period ends first, the unserved
    /// fraction carries over at the next period's latency (Sabre's `do_latency_delay`).
    mutating func latency() {
        var units = 1.0
        while units > 0 {
            let needed = Int64((units * Double(period.latency)).rounded(.up))
            if needed <= left {
                left -= needed
                time += needed
                return
            }
            units -= Double(left) / Double(period.latency)
            time += left
            nextPeriod()
        }
    }

    /// Transfers up to `bits`, stopping at `deadline` if that comes first; returns the bits moved.
    /// `carry` holds what has moved of the next bit, in bit·µs (below 10⁶): a download split
    /// into several calls (at abandonment checks) moves exactly what one call would, so a check
    /// only observes.
    mutating func transfer(_ bits: Int64, until deadline: Int64, carry: inout Int64) -> Int64 {
        var moved: Int64 = 0
        while moved < bits && time < deadline {
            let bandwidth = period.bandwidth
            let span = min(left, deadline - time)
            if bandwidth == 0 {
                left -= span
                time += span
                if left == 0 { nextPeriod() }
                continue
            }
            // Microseconds to move the rest at this bandwidth, rounded up.
            let need = (bits - moved) * 1_000_000 - carry
            let full = (need + bandwidth - 1) / bandwidth
            if full <= span {
                moved = bits
                carry = 0
                left -= full
                time += full
            } else {
                // Below `need`, so no overflow for any segment size that fits in bits at all.
                let flowed = bandwidth * span + carry
                moved += flowed / 1_000_000
                carry = flowed % 1_000_000
                left -= span
                time += span
            }
            if left == 0 { nextPeriod() }
        }
        return moved
    }
}

/// A title as Sabre's movie files describe it: every segment's size in bits at every rung.
public struct TraceMovie: Sendable, Equatable {
    public var manifest: PlaybackManifest
    /// `bits[segment][rung]`.
    public var bits: [[Int64]]

    public init(manifest: PlaybackManifest, bits: [[Int64]]) {
        precondition(bits.count == manifest.segmentCount && bits.allSatisfy { $0.count == manifest.rungs }, "a size per segment and rung")
        self.manifest = manifest
        self.bits = bits
    }
}

/// One player against one network trace, from the first request to the last frame.
public enum TraceReplay {
    /// What happened to one segment download.
    public struct Download: Sendable, Equatable {
        public var segment: Int
        public var rung: Int
        public var requestedAt: Int64
        public var completedAt: Int64
        /// Buffer after the segment arrived, microseconds.
        public var bufferAfter: Int64
        public var abandoned: Bool
    }

    public struct Result: Sendable, Equatable {
        public var qoe: QoE
        /// From the first request to the last frame played, microseconds.
        public var sessionTime: Int64
        public var downloads: [Download]
    }

    /// How often a running download is checked for abandonment by default, microseconds (a
    /// configuration says its own: ``PlayerConfiguration/abandonmentCheck``).
    public static let abandonmentCheck: Int64 = 250_000

    public static func run(_ movie: TraceMovie, network: NetworkTrace, configuration: PlayerConfiguration) -> Result {
        let m = PlayerContext(manifest: movie.manifest, configuration: configuration)
        var clock = TraceClock(network)
        var player = Player(m, at: 0)
        var downloads: [Download] = []
        let every = configuration.abandonmentCheck
        while let request = player.nextRequest(at: clock.time, m) {
            if request.delay > 0 { clock.wait(request.delay) }
            let requestedAt = clock.time
            clock.latency()
            let firstByte = clock.time
            let total = movie.bits[request.segment][request.rung]
            var received: Int64 = 0
            var carry: Int64 = 0
            var abandonedTo: Int?
            // The first check a period after the request (not before the grace period after the
            // first byte), each next a period after the one before, with at least
            // `abandonmentCheckBits` in between.
            var nextCheck = configuration.abandonment
                ? max(firstByte + configuration.abandonmentGrace, requestedAt + every) : Int64.max
            while received < total {
                if configuration.abandonment && configuration.abandonmentCheckBits > 0 {
                    let least = min(total - received, configuration.abandonmentCheckBits)
                    received += clock.transfer(least, until: .max, carry: &carry)
                }
                received += clock.transfer(total - received, until: nextCheck, carry: &carry)
                if received < total, let lower = player.abandonmentRung(segment: request.segment, rung: request.rung,
                                                                        bitsReceived: received, bitsTotal: total, requestedAt: requestedAt,
                                                                        firstByteAt: firstByte, at: clock.time, m) {
                    abandonedTo = lower
                    break
                }
                nextCheck = clock.time + every
            }
            if let lower = abandonedTo {
                player.abandon(segment: request.segment, rung: request.rung, bitsReceived: received, toRung: lower, at: clock.time, m)
                downloads.append(Download(segment: request.segment, rung: request.rung, requestedAt: requestedAt,
                                          completedAt: clock.time, bufferAfter: player.buffered, abandoned: true))
                continue
            }
            player.complete(segment: request.segment, rung: request.rung, bits: total, requestedAt: requestedAt,
                            firstByteAt: firstByte, at: clock.time, m)
            downloads.append(Download(segment: request.segment, rung: request.rung, requestedAt: requestedAt,
                                      completedAt: clock.time, bufferAfter: player.buffered, abandoned: false))
        }
        // Play out what is buffered.
        player.advance(to: clock.time + player.buffered, m)
        return Result(qoe: player.qoe, sessionTime: player.now, downloads: downloads)
    }
}
