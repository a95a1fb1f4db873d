import SimCore

/// Consistency checks of a running world, for tests and audits: each recomputes what a component
/// keeps in its books from the transfers and sessions themselves, and lists where they differ
/// (empty when consistent). O(sessions) each.
struct WorldAudit {
    let world: World

    init(_ world: World) { self.world = world }

    /// Every link's committed rate and flow count, recomputed from the downloads and fills in flight.
    func links() -> [String] {
        let sessions = world.sessions, links = world.links, jobs = world.fills.jobs
        var rate = [Double](repeating: 0, count: links.all.count)
        var count = [Int](repeating: 0, count: links.all.count)
        var steady = [Double](repeating: 0, count: links.all.count)
        for s in 0..<sessions.capacity where sessions.isLive[s] {
            let d = sessions.download[s]
            if d.steady { steady[Int(sessions.pop[s])] += d.rate }
            guard d.active, !d.waiting else { continue }
            let pop = links.pop(Int(sessions.pop[s]))
            rate[Int(pop.index)] += d.rate
            count[Int(pop.index)] += 1
            if d.servedBy != pop {
                rate[Int(d.servedBy.index)] += d.rate
                count[Int(d.servedBy.index)] += 1
            }
        }
        for f in jobs.pop.indices where jobs.state[f] == .transferring {
            rate[Int(jobs.source[f].index)] += jobs.rate[f]
            count[Int(jobs.source[f].index)] += 1
        }
        var problems: [String] = []
        for link in links.ids {
            let flows = links[link].flows, i = Int(link.index)
            if flows.active != count[i] || abs(flows.committed - rate[i]) > 1e-6 * max(1, rate[i]) {
                problems.append("link \(i): books \(flows.active) flows at \(flows.committed) bit/s, in flight \(count[i]) at \(rate[i])")
            }
            if abs(links[link].steadyRate - steady[i]) > 1e-6 * max(1, steady[i]) {
                problems.append("link \(i): reserves \(links[link].steadyRate) bit/s for steady windows, whose rates add up to \(steady[i])")
            }
        }
        return problems
    }

    /// Sessions in an impossible state: on a PoP that is down with a download in flight, or with
    /// nothing that will move them on (no player event) for `idle`.
    func sessions(idle: SimDuration = .minutes(5)) -> [String] {
        let sessions = world.sessions, now = world.now
        var problems: [String] = []
        for s in 0..<sessions.capacity where sessions.isLive[s] {
            let d = sessions.download[s]
            if d.active && !d.waiting && sessions.pop[s] != UInt16.max && world.sites.isDown(Int(sessions.pop[s])) {
                problems.append("session \(s): downloading from PoP \(sessions.pop[s]), which is down")
            }
            // A download waiting for room on a link moves when a transfer there ends (`links()`
            // checks that one is under way); otherwise something must have happened lately.
            if now.microseconds - sessions.touchedUs[s] > idle.microseconds && !(d.active && d.waiting) {
                problems.append("session \(s): nothing has happened to it since \(sessions.touchedUs[s]) us")
            }
        }
        return problems
    }

    /// Links with a live transfer waiting but none running (nothing would ever admit it).
    func queues() -> [String] {
        let sessions = world.sessions, links = world.links
        var problems: [String] = []
        for link in links.ids where !(links.site(of: link).map { world.sites.isDown($0) } ?? false) {
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
                    if world.fills.jobs.state[Int(f)] == .linkWait { problems.append("link \(link.index): a fill waits with nothing running") }
                }
            }
        }
        return problems
    }
}
