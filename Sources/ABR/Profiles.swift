/// A named player configuration that reproduces a published player or simulator: its rule, its
/// abandonment rule and how often it checks, and its buffer sizes. docs/abr.md tables them with
/// their sources.
public struct PlayerProfile: Sendable {
    public let name: String
    /// One line: what it is and where it comes from.
    public let summary: String
    /// Buffer capacity and startup buffer, microseconds, where the profile's source sets them (a
    /// scenario sets its own for every profile). A startup buffer of 0 starts playback with the
    /// first segment, as Sabre and dash.js do.
    public let maxBuffer: Int64
    public let startupBuffer: Int64
    let algorithm: @Sendable (_ maxBufferSeconds: Double) -> ABRAlgorithm
    let abandonment: Bool
    let abandonmentRule: AbandonmentRule
    let abandonmentGrace: Int64
    let abandonmentCheck: Int64
    /// Bits between checks: Sabre's `NetworkModel.min_progress_size` for its profiles, else none.
    var abandonmentCheckBits: Int64 = 0
    let afterAbandonment: AfterAbandonment

    /// The profile's configuration with buffer sizes of its own or given.
    public func configuration(maxBuffer: Int64? = nil, startupBuffer: Int64? = nil) -> PlayerConfiguration {
        let buffer = maxBuffer ?? self.maxBuffer
        return PlayerConfiguration(algorithm: algorithm(Double(buffer) / 1e6), maxBuffer: buffer,
                                   startupBuffer: startupBuffer ?? self.startupBuffer, abandonment: abandonment,
                                   abandonmentGrace: abandonmentGrace, abandonmentRule: abandonmentRule,
                                   abandonmentCheck: abandonmentCheck, abandonmentCheckBits: abandonmentCheckBits,
                                   afterAbandonment: afterAbandonment)
    }

    public static func named(_ name: String) -> PlayerProfile? { all.first { $0.name == name } }

    public static var names: [String] { all.map(\.name) }

    /// Sabre checks a download every 50 ms (`NetworkModel.min_progress_time`); browsers fire XHR
    /// progress events every 50 ms, which is when dash.js's rules run.
    static let everyFiftyMs: Int64 = 50_000

    /// A profile of Sabre's, which all share its main loop: a 25 s buffer, playback from the first
    /// segment, the rule's own abandonment every 50 ms and 12,000 bits, a fresh decision after.
    static func sabre(_ name: String, _ summary: String, _ algorithm: ABRAlgorithm) -> PlayerProfile {
        PlayerProfile(name: name, summary: summary, maxBuffer: 25_000_000, startupBuffer: 0, algorithm: { _ in algorithm },
                      abandonment: true, abandonmentRule: .algorithm, abandonmentGrace: 0, abandonmentCheck: everyFiftyMs,
                      abandonmentCheckBits: 12_000, afterAbandonment: .decideAgain)
    }

    public static let all: [PlayerProfile] = [
        sabre("sabre-default", "Sabre's defaults: BOLA-E as BOLA-U with placeholder and insufficient-buffer rule, BOLA-E's abandonment, 25 s buffer",
              .bolaE(variant: .u, insufficientBuffer: true)),
        sabre("sabre-bola-o", "Sabre's BOLA-E as BOLA-O (`-ao`)", .bolaE(variant: .o, insufficientBuffer: true)),
        sabre("sabre-throughput", "Sabre's throughput rule (`-a throughput`): 0.9 safety, insufficient-buffer rule, abandonment past 1.8 segments",
              .throughput(safety: 0.9, insufficientBuffer: true)),
        sabre("sabre-dynamicdash", "Sabre's `dynamicdash`: throughput rule below 5 s of buffer, BOLA-E above 10 s",
              .dynamic(bolaAbove: 10, throughputBelow: 5)),
        PlayerProfile(name: "dashjs",
                      summary: "dash.js's default dynamic strategy: throughput rule until the buffer passes stableBufferTime (12 s), BOLA-E until it falls to half of it, each rule's abandonment",
                      maxBuffer: 30_000_000, startupBuffer: 0, algorithm: { _ in .dynamic(bolaAbove: 12, throughputBelow: 6) },
                      abandonment: true, abandonmentRule: .algorithm, abandonmentGrace: 0, abandonmentCheck: everyFiftyMs,
                      afterAbandonment: .chosenRung),
        PlayerProfile(name: "robust-mpc",
                      summary: "robustMPC as in Pensieve's comparisons: five-segment horizon, harmonic-mean prediction discounted by the worst recent error, 60 s buffer, no abandonment",
                      maxBuffer: 60_000_000, startupBuffer: 0, algorithm: { _ in .robustMPC(horizon: 5) },
                      abandonment: false, abandonmentRule: .algorithm, abandonmentGrace: 0, abandonmentCheck: everyFiftyMs,
                      afterAbandonment: .chosenRung),
        PlayerProfile(name: "bba",
                      summary: "BBA-0 (Netflix, SIGCOMM 2014), reservoir and cushion in the paper's proportions, the simple abandonment rule",
                      maxBuffer: 30_000_000, startupBuffer: 4_000_000,
                      algorithm: { ABRAlgorithm.named("bba", maxBufferSeconds: $0)! },
                      abandonment: true, abandonmentRule: .outlastsBuffer, abandonmentGrace: 500_000, abandonmentCheck: 250_000,
                      afterAbandonment: .chosenRung),
        PlayerProfile(name: "throughput",
                      summary: "the throughput rule alone (0.9 safety), the simple abandonment rule",
                      maxBuffer: 25_000_000, startupBuffer: 4_000_000, algorithm: { _ in .throughput(safety: 0.9) },
                      abandonment: true, abandonmentRule: .outlastsBuffer, abandonmentGrace: 500_000, abandonmentCheck: 250_000,
                      afterAbandonment: .chosenRung),
        PlayerProfile(name: "bola",
                      summary: "BOLA-BASIC (γp = 5 s), the simple abandonment rule",
                      maxBuffer: 25_000_000, startupBuffer: 4_000_000, algorithm: { _ in .bola(gammaP: 5) },
                      abandonment: true, abandonmentRule: .outlastsBuffer, abandonmentGrace: 500_000, abandonmentCheck: 250_000,
                      afterAbandonment: .chosenRung),
    ]
}
