import SimCore
import Testing
@testable import World

/// The fault injector alone: strikes, what is in force, and its own fault state.
@Suite("Fault injector, alone")
struct FaultInjectorTests {
    static func injector(_ faults: [FaultConfiguration], hours: Double = 2) -> FaultInjector {
        var c = configuration(regions: [flatRegion(users: 100), flatRegion(users: 100)], hours: hours)
        c.pops = (0..<2).map { PopConfiguration(id: "p\($0)", region: $0, servers: 10, storageBytes: 1e12, egressBitsPerSecond: 1e10,
                                                rtt: .milliseconds(10)) }
        c.faults = faults
        return FaultInjector(configuration: c)
    }

    @Test("Each strike is scheduled with its end, unless it ends after the run")
    func schedulesStrikesAndEnds() {
        let f = Self.injector([FaultConfiguration(kind: .controlPlaneOutage, region: 0, at: .minutes(10), duration: .minutes(5)),
                               FaultConfiguration(kind: .controlPlaneOutage, region: 1, at: .minutes(90), duration: .hours(1))])
        var scheduled: [(World.Event, SimInstant)] = []
        f.schedule(end: .zero + .hours(2)) { scheduled.append(($0, $1)) }
        let times: [SimInstant] = scheduled.map(\.1)
        let expected: [SimInstant] = [SimInstant.zero + SimDuration.minutes(10), SimInstant.zero + SimDuration.minutes(15),
                                      SimInstant.zero + SimDuration.minutes(90)]
        #expect(times == expected)
    }

    @Test("Overlapping link degradations compose while both are in force, and undo exactly")
    func linkDegradationsCompose() {
        let f = Self.injector([FaultConfiguration(kind: .linkDegraded, pop: 1, region: 0, at: .zero, rtt: .milliseconds(50), throughput: 0.5),
                               FaultConfiguration(kind: .linkDegraded, pop: 1, region: 0, at: .zero, rtt: .milliseconds(30), throughput: 0.4)])
        f.begin(0)
        f.begin(1)
        #expect(f.linkRttUs(region: 0, pop: 1) == 80_000 && abs(f.linkThroughput(region: 0, pop: 1) - 0.2) < 1e-12)
        #expect(f.linkRttUs(region: 1, pop: 1) == 0 && f.linkThroughput(region: 0, pop: 0) == 1)
        f.end(0)
        #expect(f.linkRttUs(region: 0, pop: 1) == 30_000 && f.linkThroughput(region: 0, pop: 1) == 0.4)
        f.end(1)
        #expect(f.linkRttUs(region: 0, pop: 1) == 0 && f.linkThroughput(region: 0, pop: 1) == 1)
        #expect(f.active.isEmpty)
    }

    @Test("The playback API is down while any outage of its region is in force; slow faults add their latency")
    func controlPlane() {
        let f = Self.injector([FaultConfiguration(kind: .controlPlaneOutage, region: 0, at: .zero),
                               FaultConfiguration(kind: .controlPlaneOutage, region: 0, at: .zero),
                               FaultConfiguration(kind: .controlPlaneSlow, region: 1, at: .zero, latency: .seconds(2))])
        f.begin(0)
        f.begin(1)
        f.begin(2)
        #expect(f.apiIsDown(region: 0) && !f.apiIsDown(region: 1) && f.apiExtraUs[1] == 2_000_000)
        f.end(0)
        #expect(f.apiIsDown(region: 0))
        f.end(1)
        f.end(2)
        #expect(!f.apiIsDown(region: 0) && f.apiExtraUs[1] == 0)
    }

    @Test("A PoP has lost the union of the servers its degradations in force took")
    func lostServersAreTheUnion() {
        let f = Self.injector([FaultConfiguration(kind: .popDegraded, pop: 0, at: .zero, lost: 0.3),
                               FaultConfiguration(kind: .popDegraded, pop: 0, at: .zero, lost: 0.3),
                               FaultConfiguration(kind: .popDegraded, pop: 1, at: .zero, lost: 0.5)])
        #expect(f.incidents.map(\.lostServers.count) == [3, 3, 5])
        f.begin(0)
        f.begin(2)
        #expect(f.lostServers(pop: 0) == Set(f.incidents[0].lostServers))
        f.begin(1)
        #expect(f.lostServers(pop: 0) == Set(f.incidents[0].lostServers).union(f.incidents[1].lostServers))
        #expect(f.active == [0, 1, 2])
        f.end(0)
        f.end(1)
        #expect(f.lostServers(pop: 0).isEmpty && f.lostServers(pop: 1).count == 5)
    }
}
