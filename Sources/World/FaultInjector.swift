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
/// processes of surges in force and the session each brings next; the servers a PoP's
/// degradations took. Handles `.faultStarts` and `.faultEnds` (``strike(_:now:hitting:)``,
/// ``clear(_:hitting:)``): its own state, then what the strike does to the components that own
/// the rest (``FaultTargets``): ``Sites`` (down, servers lost), ``Origin`` (down, slow),
/// ``Delivery`` (the downloads it cuts), ``FillScheduler`` (the fills it requeues). The world does
/// the rest (``WorldEffect``): ingest outages in its ``ActivityLog``, and surges' arrivals
/// (`.surgeArrival`: ``surgeArrival(_:_:)`` says who arrives, the world admits them).
final class FaultInjector {
    let faults: [FaultConfiguration]
    let incidents: [Incident]
    /// Incidents in force, ascending.
    @exclusivity(unchecked) private(set) var active: [Int] = []
    let popCount: Int
    /// Per region: control-plane outages in force, and latency added to the playback API (µs).
    @exclusivity(unchecked) private(set) var apiDown: [Int]
    @exclusivity(unchecked) private(set) var apiExtraUs: [Int64]
    /// Per region × PoP: round trip added (µs) and share of throughput left.
    @exclusivity(unchecked) private(set) var linkRttUs: [Int64]
    @exclusivity(unchecked) private(set) var linkThroughput: [Double]
    /// Surges running: per incident, per region, the extra arrival process and its stream.
    @exclusivity(unchecked) private(set) var surges: [Int: [(region: Int, process: ArrivalProcess, stream: RandomStream)]] = [:]
    let seed: UInt64
    let regionCount: Int
    /// The activity log's partitions (an ingest outage takes a share of them).
    let logPartitions: Int

    init(configuration c: WorldConfiguration) {
        faults = c.faults
        seed = c.seed
        logPartitions = c.activity.partitions
        regionCount = c.regions.count
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
    func begin(_ i: Int) {
        active.append(i)
        active.sort()
        apply(i, sign: 1)
    }

    /// Incident `i` ends.
    func end(_ i: Int) {
        active.removeAll { $0 == i }
        apply(i, sign: -1)
    }

    private func apply(_ i: Int, sign: Int) {
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
    private func recomputeLinks() {
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

    // MARK: Surges

    /// Surge `i` starts: extra arrivals in its regions at (multiplier − 1) × the calibrated rate,
    /// times the title's share of the region's demand if it names a title (those sessions play it).
    /// Returns the surge's processes (numbered as in the whole platform's list, so that each surge
    /// session draws from the same stream in a partition) and their regions.
    func startSurge(_ i: Int, now: SimInstant, popularity: Popularity, calibration: DemandCalibration) -> [(k: Int, region: Int)] {
        let f = faults[incidents[i].fault]
        let targets = f.regions.isEmpty ? Array(0..<regionCount) : f.regions
        var running: [(region: Int, process: ArrivalProcess, stream: RandomStream)] = []
        let family = StreamFamily(seed: seed, label: "surge")
        for r in targets {
            var scale = f.multiplier - 1
            if let title = f.title {
                scale *= popularity.weight(region: r, title: title, at: now) / popularity.totalWeight(region: r, at: now)
            }
            guard scale > 0 else { continue }
            let base = calibration.arrivals[r]
            let curve = try! DailyRateCurve(hourly: base.curve.hourly.map { $0 * scale })
            let process = try! ArrivalProcess(curve: curve, phaseSeconds: base.phaseSeconds)
            running.append((r, process, family.subfamily(UInt64(i)).stream(UInt64(r))))
        }
        surges[i] = running
        return running.indices.map { ($0, running[$0].region) }
    }

    /// When process `k` of surge `i` brings its next session after `now` (before the surge's and
    /// the run's end), if it does.
    func nextSurgeArrival(_ i: Int, _ k: Int, after now: SimInstant, runEnd: SimInstant) -> SimInstant? {
        guard var entry = surges[i]?[k] else { return nil }
        let stop = incidents[i].end.map { min($0, runEnd) } ?? runEnd
        guard let next = entry.process.nextArrival(after: now, &entry.stream), next < stop else { return nil }
        surges[i]![k] = entry
        return next
    }

    /// The session process `k` of surge `i` brings: its region and the title it plays, if the surge names one.
    func surgeArrival(_ i: Int, _ k: Int) -> (region: Int, title: Int?)? {
        guard let entry = surges[i]?[k] else { return nil }
        return (entry.region, faults[incidents[i].fault].title)
    }

    // MARK: What a strike does to the components it hits

    /// Incident `i` strikes (``begin(_:)``) and hits `targets`: a PoP goes down (its downloads fail,
    /// fills into and from it go back to their queues) or loses servers, an origin replica goes
    /// down (what it was sending is asked of the next) or slows. What the world must do itself it
    /// is told: an ingest outage's partitions, a surge's start.
    func strike(_ i: Int, now: SimInstant, hitting targets: FaultTargets) -> WorldEffect? {
        begin(i)
        let incident = incidents[i], f = faults[incident.fault]
        switch incident.kind {
        case .popDown:
            let p = incident.pop!
            guard targets.sites.markDown(p, now: now) else { return nil }
            targets.delivery.popFailed(p)
            targets.fills.requeueRunning(into: p, from: targets.links.pop(p))
        case .popDegraded:
            degrade(incident.pop!, targets)
        case .originDown:
            let o = targets.origin.index(region: incident.region!)
            targets.origin.replicas[o].downs += 1
            guard targets.origin.replicas[o].downs == 1 else { return nil }
            targets.delivery.failServed(by: targets.links.replica(o))
            targets.fills.requeueRunning(from: targets.links.replica(o))
        case .originSlow:
            targets.origin.replicas[targets.origin.index(region: incident.region!)].latencyFactor *= f.latencyFactor
        case .linkDegraded, .controlPlaneOutage, .controlPlaneSlow:
            break  // the injector's own state (``begin(_:)``); the control plane's outage is the world's to pass on
        case .instanceLoss, .cacheFlush, .shardDown, .shardSlow, .dependencySlow, .retryStorm:
            break  // the world passes them to its ``ControlPlane``
        case .ingestOutage:
            let count = min(max(1, Int((f.partitions * Double(logPartitions)).rounded(.up))), logPartitions)
            return .ingestOutage(partitions: 0..<count, until: incident.end)
        case .surge:
            return .surge
        }
        return nil
    }

    /// Incident `i` ends (``end(_:)``): what it did to `targets` is undone; a PoP back up admits
    /// what waited on it.
    func clear(_ i: Int, hitting targets: FaultTargets) {
        end(i)
        let incident = incidents[i], f = faults[incident.fault]
        switch incident.kind {
        case .popDown:
            let p = incident.pop!
            guard targets.sites.markUp(p) else { return }
            targets.fills.pump(p)
            targets.delivery.admitWaiting(targets.links.pop(p))
        case .popDegraded:
            degrade(incident.pop!, targets)
        case .originDown:
            targets.origin.replicas[targets.origin.index(region: incident.region!)].downs -= 1
        case .originSlow:
            targets.origin.replicas[targets.origin.index(region: incident.region!)].latencyFactor /= f.latencyFactor
        case .linkDegraded, .controlPlaneOutage, .controlPlaneSlow, .ingestOutage:
            break  // the injector's own state; an ingest outage ends by itself
        case .instanceLoss, .cacheFlush, .shardDown, .shardSlow, .dependencySlow, .retryStorm:
            break  // the world's ``ControlPlane``
        case .surge:
            surges[i] = nil
        }
    }

    /// The servers lost to PoP `p`'s degradations now: its capacity follows, and so do the files
    /// whose every copy was on a lost server (downloads of them are asked for again, now misses).
    private func degrade(_ p: Int, _ targets: FaultTargets) {
        let lost = lostServers(pop: p)
        let link = targets.links.pop(p)
        targets.links.setCapacity(link, targets.links[link].baseCapacity * (1 - Double(lost.count) / Double(targets.sites.pops[p].baseServers)))
        guard let unavailable = targets.sites.loseServers(p, lost) else {
            targets.fills.pump(p)
            return targets.delivery.admitWaiting(link)
        }
        targets.delivery.failServed(by: link, unavailable: unavailable)
        targets.fills.pump(p)
    }
}

/// The components a fault strikes.
struct FaultTargets {
    let sites: Sites
    let origin: Origin
    let links: Links
    let fills: FillScheduler
    let delivery: Delivery
}

/// What a strike asks of the world itself.
enum WorldEffect {
    /// These log partitions refuse appends until then (nil: the end of the run).
    case ingestOutage(partitions: Range<Int>, until: SimInstant?)
    /// A surge started: its arrivals are the world's to schedule (``FaultInjector/startSurge(_:now:popularity:calibration:)``).
    case surge
}
