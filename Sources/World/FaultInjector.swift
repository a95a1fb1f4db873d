#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SimCore
import Stochastics

/// One strike of a fault: what, where, from when to when.
public struct Incident: Sendable {
    /// Index of the fault in the scenario's list.
    public var fault: Int
    public var kind: FaultConfiguration.Kind
    public var pop: Int?
    public var region: Int?
    public var start: SimInstant
    /// Nil: until the end of the run.
    public var end: SimInstant?
    /// PoP degradations: the servers lost (indices).
    var lostServers: [Int] = []
}

/// Why a session ended.
public enum EndCause: Int, Sendable, CaseIterable {
    /// Played to where the user meant to stop.
    case finished
    /// The user gave up waiting for the first frame.
    case gaveUp
    /// The user gave up while the playback API was down.
    case apiUnavailable
    /// The player ran out of failover attempts: no PoP could serve it.
    case noPop
    /// The player ran out of failover attempts: no origin replica could serve its PoP.
    case originUnavailable

    /// Whether the platform, not the user, ended it.
    public var isFailure: Bool { self == .apiUnavailable || self == .noPop || self == .originUnavailable }
}

/// The fault injector: when each fault strikes and ends, and the state of the faults that are
/// its own.
///
/// Owns: the strikes (`incidents`, drawn from its own random stream), which are in force, and the
/// fault state no other component has: per region, playback-API outages and added latency; per
/// region × PoP, a degraded link's added round trip and share of throughput; the arrival
/// processes of surges in force; the servers a PoP's degradations took. Handles
/// `.faultStarts`/`.faultEnds` first (``begin(_:)``, ``end(_:)``); the world then applies what a
/// strike does to PoPs, origin replicas, sessions and the log (Faults.swift).
struct FaultInjector {
    let faults: [FaultConfiguration]
    let incidents: [Incident]
    /// Incidents in force, ascending.
    private(set) var active: [Int] = []
    let popCount: Int
    /// Per region: control-plane outages in force, and latency added to the playback API (µs).
    private(set) var apiDown: [Int]
    private(set) var apiExtraUs: [Int64]
    /// Per region × PoP: round trip added (µs) and share of throughput left.
    private(set) var linkRttUs: [Int64]
    private(set) var linkThroughput: [Double]
    /// Surges running: per incident, per region, the extra arrival process and its stream.
    var surges: [Int: [(region: Int, process: ArrivalProcess, stream: RandomStream)]] = [:]

    init(configuration c: WorldConfiguration) {
        faults = c.faults
        incidents = FaultInjector.incidents(c)
        popCount = c.pops.count
        apiDown = Array(repeating: 0, count: c.regions.count)
        apiExtraUs = Array(repeating: 0, count: c.regions.count)
        linkRttUs = Array(repeating: 0, count: c.regions.count * c.pops.count)
        linkThroughput = Array(repeating: 1, count: c.regions.count * c.pops.count)
    }

    /// The strikes of the scenario's faults: each once at its time, or (random) at Poisson times
    /// from its `at` to the end, a random PoP each time if none is named, from the fault injector's
    /// own stream.
    static func incidents(_ c: WorldConfiguration) -> [Incident] {
        let family = StreamFamily(seed: c.seed, label: "faults")
        var out: [Incident] = []
        for (i, f) in c.faults.enumerated() {
            var stream = family.stream(UInt64(i))
            func servers(_ pop: Int) -> [Int] {
                let n = c.pops[pop].servers
                let k = min(n, Int((f.lost * Double(n)).rounded(.up)))
                var all = Array(0..<n)
                for j in 0..<k { all.swapAt(j, j + Int(stream.nextInt(below: UInt64(n - j)))) }  // partial shuffle
                return Array(all.prefix(k)).sorted()
            }
            func strike(at start: SimDuration) {
                var pop = f.pop
                if pop == nil && [.popDown, .popDegraded].contains(f.kind) { pop = Int(stream.nextInt(below: UInt64(c.pops.count))) }
                var incident = Incident(fault: i, kind: f.kind, pop: pop, region: f.region, start: .zero + start,
                                        end: f.duration.map { .zero + start + $0 })
                if f.kind == .popDegraded, let pop { incident.lostServers = servers(pop) }
                out.append(incident)
            }
            if let perDay = f.perDay {
                var t = f.at.seconds
                while true {
                    t += -log(1 - stream.nextDouble()) * 86_400 / perDay
                    guard t < c.duration.seconds else { break }
                    strike(at: SimDuration(seconds: t))
                }
            } else if f.at < c.duration {
                strike(at: f.at)
            }
        }
        return out
    }

    /// Schedules every strike and its end (ends at or after `end` are not scheduled).
    func schedule(end: SimInstant, _ schedule: (World.Event, SimInstant) -> Void) {
        for (i, incident) in incidents.enumerated() {
            schedule(.faultStarts(incident: UInt32(i)), incident.start)
            if let stop = incident.end, stop < end { schedule(.faultEnds(incident: UInt32(i)), stop) }
        }
    }

    /// Incident `i` strikes: it is in force, and the state it changes here follows.
    mutating func begin(_ i: Int) {
        active.append(i)
        active.sort()
        apply(i, sign: 1)
    }

    /// Incident `i` ends.
    mutating func end(_ i: Int) {
        active.removeAll { $0 == i }
        apply(i, sign: -1)
    }

    private mutating func apply(_ i: Int, sign: Int) {
        let incident = incidents[i], f = faults[incident.fault]
        switch incident.kind {
        case .linkDegraded:
            recomputeLinks()
        case .controlPlaneOutage:
            apiDown[incident.region!] += sign
        case .controlPlaneSlow:
            apiExtraUs[incident.region!] += Int64(sign) * f.latency.microseconds
        default:
            break
        }
    }

    /// The degraded links' added round trip and throughput share, from the incidents in force
    /// (recomputed rather than undone, so that overlapping degradations compose exactly).
    private mutating func recomputeLinks() {
        let n = popCount
        linkRttUs = Array(repeating: 0, count: apiDown.count * n)
        linkThroughput = Array(repeating: 1, count: apiDown.count * n)
        for i in active where incidents[i].kind == .linkDegraded {
            let f = faults[incidents[i].fault]
            let k = incidents[i].region! * n + incidents[i].pop!
            linkRttUs[k] += f.rtt.microseconds
            linkThroughput[k] *= f.throughput
        }
    }

    /// Whether region `r`'s playback API is down.
    func apiIsDown(region r: Int) -> Bool { apiDown[r] > 0 }

    /// Round trip added (µs) to the link from region `r` to PoP `p`, and the share of throughput left.
    @inline(__always) func linkRttUs(region r: Int, pop p: Int) -> Int64 { linkRttUs[r &* popCount &+ p] }
    @inline(__always) func linkThroughput(region r: Int, pop p: Int) -> Double { linkThroughput[r &* popCount &+ p] }

    /// The servers PoP `p`'s degradations in force took.
    func lostServers(pop p: Int) -> Set<Int> {
        var lost = Set<Int>()
        for i in active where incidents[i].kind == .popDegraded && incidents[i].pop == p { lost.formUnion(incidents[i].lostServers) }
        return lost
    }
}
