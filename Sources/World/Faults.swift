#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Placement
import SimCore
import Stochastics

extension World {
    // MARK: Incidents: what they do to the rest of the world

    func faultStarts(_ i: Int) {
        let incident = incidents[i]
        let f = configuration.faults[incident.fault]
        switch incident.kind {
        case .popDown:
            let p = incident.pop!
            pops[p].downs += 1
            if pops[p].downs == 1 {
                pops[p].downSince = sim.now
                popFailed(p)
            }
        case .popDegraded:
            degrade(incident.pop!)
        case .originDown:
            let o = origin.index(region: incident.region!)
            origin.replicas[o].downs += 1
            if origin.replicas[o].downs == 1 { originFailed(o) }
        case .originSlow:
            origin.replicas[origin.index(region: incident.region!)].latencyFactor *= f.latencyFactor
        case .linkDegraded, .controlPlaneOutage, .controlPlaneSlow:
            break  // the injector's own state (see `FaultInjector.begin`)
        case .ingestOutage:
            let count = max(1, Int((f.partitions * Double(activity.partitions)).rounded(.up)))
            for p in 0..<min(count, activity.partitions) { partitionOutage(p, until: incident.end ?? end) }
        case .surge:
            startSurge(i)
        }
    }

    func faultEnds(_ i: Int) {
        let incident = incidents[i]
        let f = configuration.faults[incident.fault]
        switch incident.kind {
        case .popDown:
            let p = incident.pop!
            pops[p].downs -= 1
            if pops[p].downs == 0 {
                pumpFills(p)
                admitWaiting(links.pop(p))
            }
        case .popDegraded:
            degrade(incident.pop!)
        case .originDown:
            origin.replicas[origin.index(region: incident.region!)].downs -= 1
        case .originSlow:
            origin.replicas[origin.index(region: incident.region!)].latencyFactor /= f.latencyFactor
        case .linkDegraded, .controlPlaneOutage, .controlPlaneSlow:
            break  // the injector's own state (see `FaultInjector.end`)
        case .ingestOutage:
            break  // the partitions' outage ends by itself
        case .surge:
            faults.surges[i] = nil
        }
    }

    // MARK: PoPs

    /// Whether `p` is down, and whether steering knows it yet.
    func isDown(_ p: Int) -> Bool { pops[p].downs > 0 }
    func knownDown(_ p: Int) -> Bool { pops[p].downs > 0 && sim.now >= pops[p].downSince + configuration.placement.detectionDelay }

    /// A PoP went down: downloads it was sending fail (its own sessions fail over after a backoff;
    /// sessions of other PoPs it was the upstream tier for retry at once, past it); fills into it
    /// pause and fills from it find another source.
    func popFailed(_ p: Int) {
        for s in 0..<sessions.capacity where sessions.isLive[s] && sessions.download[s].active {
            let d = sessions.download[s]
            if Int(sessions.pop[s]) == p {
                failDownload(UInt32(s), backoff: true)
            } else if d.servedBy == links.pop(p) {
                failDownload(UInt32(s), backoff: false)
            }
        }
        for f in fills.pop.indices where fills.state[f] == .linkWait || fills.state[f] == .transferring {
            if Int(fills.pop[f]) == p || fills.source[f] == links.pop(p) { requeueFill(UInt32(f)) }
        }
    }

    /// The servers lost to the PoP's degradations now: capacity follows, and so do the files whose
    /// every copy was on a lost server (they serve no hits until their servers return).
    func degrade(_ p: Int) {
        let lost = faults.lostServers(pop: p)
        let servers = pops[p].baseServers
        let share = Double(lost.count) / Double(servers)
        links.setCapacity(links.pop(p), links[links.pop(p)].baseCapacity * (1 - share))
        pops[p].servers = servers - lost.count
        guard !lost.isEmpty else {
            pops[p].lostFiles = nil
            pumpFills(p)
            admitWaiting(links.pop(p))
            return
        }
        var unavailable = [Bool](repeating: false, count: pops[p].observed.count)
        let all = Array(0..<servers)
        for file in unavailable.indices where pops[p].cache.contains(file) {
            let holders = Rendezvous.servers(file: file, among: all, replicas: Int(pops[p].replicas[file]))
            unavailable[file] = holders.allSatisfy { lost.contains($0) }
        }
        pops[p].lostFiles = unavailable
        // Downloads of files that just became unavailable are asked for again (now misses).
        for s in 0..<sessions.capacity where sessions.isLive[s] && sessions.download[s].active && sessions.download[s].servedBy == links.pop(p) {
            let title = Int(sessions.title[s])
            let file = library.file(title: title, rendition: library.rendition(context: sessions.context[s], rung: Int(sessions.download[s].rung)))
            if unavailable[file] { failDownload(UInt32(s), backoff: false) }
        }
        pumpFills(p)
    }

    /// An origin replica went down: what it was sending is asked for again from the next replica.
    func originFailed(_ o: Int) {
        let link = links.replica(o)
        for s in 0..<sessions.capacity where sessions.isLive[s] && sessions.download[s].active && sessions.download[s].servedBy == link {
            failDownload(UInt32(s), backoff: false)
        }
        for f in fills.pop.indices where (fills.state[f] == .linkWait || fills.state[f] == .transferring) && fills.source[f] == link {
            requeueFill(UInt32(f))
        }
    }

    // MARK: Failover

    /// The session's download failed. With `backoff` (its own PoP failed), the player waits and
    /// fails over to the next PoP in its list; without (a tier behind its PoP failed), it asks again
    /// at once. The buffer plays on meanwhile.
    func failDownload(_ s: UInt32, backoff: Bool) {
        let i = Int(s)
        let d = sessions.download[i]
        let now = sim.now
        let received = d.waiting ? 0 : min(d.bits, max(0, Int64(d.rate * Double(now.microseconds - d.firstByteAtUs) / 1e6)))
        releaseDownload(s, delivered: received)
        let context = library.contexts[Int(sessions.context[i])]
        sessions.player[i].downloadFailed(segment: Int(d.segment), bitsReceived: received, at: now.microseconds, context)
        if backoff {
            scheduleFailover(s)
        } else {
            requestNext(s)
        }
    }

    func scheduleFailover(_ s: UInt32) {
        let i = Int(s)
        let attempt = Int(sessions.failures[i])
        let delay = configuration.clients.failoverBackoff.microseconds << min(attempt, 16)
        sim.schedule(.failover(session: s, generation: sessions.generation[i]), after: .microseconds(min(delay, 60_000_000)))
    }

    /// A player tries the next PoP in its list (the steering ranking, without the PoPs it finds
    /// down); out of attempts, the session ends, lost.
    func failover(_ s: UInt32) {
        let i = Int(s)
        sessions.failures[i] += 1
        if Int(sessions.failures[i]) > configuration.clients.failoverRetries {
            let cause: EndCause = sessions.originFailure[i] ? .originUnavailable : .noPop
            endSession(s, cause: cause)
            return
        }
        let old = Int(sessions.pop[i])
        let p = steer(region: Int(sessions.region[i]), title: Int(sessions.title[i]), excludeDown: true)
        guard !isDown(p) else {
            scheduleFailover(s)
            return
        }
        if p != old {
            sessions.pop[i] = UInt16(p)
            pops[p].metrics.sessions.increment()
            pops[p].metrics.failoversIn.increment()
        }
        requestNext(s)
    }

    // MARK: Surges

    /// Extra arrivals in the surge's regions at (multiplier − 1) × the calibrated rate, times the
    /// title's share of the region's demand if it names a title (those sessions play it).
    func startSurge(_ i: Int) {
        let incident = incidents[i]
        let f = configuration.faults[incident.fault]
        let targets = f.regions.isEmpty ? Array(configuration.regions.indices) : f.regions
        var running: [(region: Int, process: ArrivalProcess, stream: RandomStream)] = []
        let family = StreamFamily(seed: configuration.seed, label: "surge")
        for r in targets {
            var scale = f.multiplier - 1
            if let title = f.title {
                scale *= popularity.weight(region: r, title: title, at: sim.now) / popularity.totalWeight(region: r, at: sim.now)
            }
            guard scale > 0 else { continue }
            let base = calibration.arrivals[r]
            let curve = try! DailyRateCurve(hourly: base.curve.hourly.map { $0 * scale })
            let process = try! ArrivalProcess(curve: curve, phaseSeconds: base.phaseSeconds)
            running.append((r, process, family.subfamily(UInt64(i)).stream(UInt64(r))))
        }
        faults.surges[i] = running
        // A partition runs its own regions' surges (numbered as in the whole platform's list, so
        // that each surge session draws from the same stream).
        for k in running.indices where owns(region: running[k].region) { scheduleSurgeArrival(i, k) }
    }

    func scheduleSurgeArrival(_ i: Int, _ k: Int) {
        guard var entry = faults.surges[i]?[k] else { return }
        let stop = incidents[i].end.map { min($0, end) } ?? end
        if let next = entry.process.nextArrival(after: sim.now, &entry.stream), next < stop {
            faults.surges[i]![k] = entry
            sim.schedule(.surgeArrival(incident: UInt32(i), index: UInt16(k)), at: next)
        }
    }

    func surgeArrival(_ i: Int, _ k: Int) {
        guard let entry = faults.surges[i]?[k] else { return }
        let title = configuration.faults[incidents[i].fault].title
        arrive(region: entry.region, title: title, surge: UInt64(i) << 20 | UInt64(k))
        scheduleSurgeArrival(i, k)
    }

    // MARK: Audits

    /// Sessions in an impossible state: on a PoP that is down with a download in flight, or with
    /// nothing that will move them on (no player event) for `idle`. Empty when consistent. For tests.
    func auditSessions(idle: SimDuration = .minutes(5)) -> [String] {
        var problems: [String] = []
        for s in 0..<sessions.capacity where sessions.isLive[s] {
            let d = sessions.download[s]
            if d.active && !d.waiting && sessions.pop[s] != UInt16.max && isDown(Int(sessions.pop[s])) {
                problems.append("session \(s): downloading from PoP \(sessions.pop[s]), which is down")
            }
            // A download waiting for room on a link moves when a transfer there ends (auditLinks
            // checks that one is under way); otherwise something must have happened lately.
            if sim.now.microseconds - sessions.touchedUs[s] > idle.microseconds && !(d.active && d.waiting) {
                problems.append("session \(s): nothing has happened to it since \(sessions.touchedUs[s]) us")
            }
        }
        return problems
    }

    /// Links with a live transfer waiting but none running (nothing would ever admit it).
    func auditQueues() -> [String] {
        var problems: [String] = []
        for link in links.ids where !(links.site(of: link).map { isDown($0) } ?? false) {
            guard links[link].flows.active == 0 else { continue }
            var queue = links[link].waiting
            while let entry = queue.first {
                queue.removeFirst()
                switch entry {
                case let .download(s, generation, epoch):
                    let i = Int(s), d = sessions.download[i]
                    if sessions.isLive[i] && sessions.generation[i] == generation && d.active && d.waiting && d.epoch == epoch {
                        problems.append("link \(link.index): session \(i) waits with nothing running")
                    }
                case let .fill(f):
                    if fills.state[Int(f)] == .linkWait { problems.append("link \(link.index): a fill waits with nothing running") }
                }
            }
        }
        return problems
    }
}
