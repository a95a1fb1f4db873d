import SimCore
import Testing
@testable import World

/// The last mile alone: traces, where a session is on one, and transfers over it.
@Suite("Last mile, alone")
struct LastMileUnitTests {
    /// One class playing one measured trace: 1 s at 1 Mbit/s, 1 s of outage, 2 s at 4 Mbit/s, with
    /// 50 ms added in the outage.
    static func lastMile() -> LastMile {
        var c = configuration(regions: [flatRegion(users: 100)])
        c.clients.access = [AccessClass(name: "t", share: 1, bandwidth: try! .constant(1e6), variation: .traces([[
            AccessPeriod(durationUs: 1_000_000, bitsPerSecond: 1e6),
            AccessPeriod(durationUs: 1_000_000, bitsPerSecond: 0, latencyUs: 50_000),
            AccessPeriod(durationUs: 2_000_000, bitsPerSecond: 4e6),
        ]]))]
        return LastMile(configuration: c)
    }

    @Test("A transfer over a trace waits out an outage and is exact to the microsecond, capped by the link's share")
    func transferFollowsTheTrace() {
        let mile = Self.lastMile()
        let path = AccessPath(trace: 0, originUs: 0, scale: 1)
        // 1 Mbit in the first second, nothing in the second, the last 1 Mbit at 4 Mbit/s: 0.25 s.
        #expect(mile.arrival(of: 2_000_000, path, cap: 10e6, from: 0, hint: 0) == 2_250_000)
        // Capped at 2 Mbit/s: 1 Mbit, nothing, then 1 Mbit at 2 Mbit/s.
        #expect(mile.arrival(of: 2_000_000, path, cap: 2e6, from: 0, hint: 0) == 2_500_000)
        #expect(mile.moved(path, cap: 10e6, from: 500_000, to: 2_500_000, hint: 0) == 2_500_000)
        // The trace loops: 4 s later it is where it was; a later origin shifts it.
        #expect(mile.arrival(of: 2_000_000, path, cap: 10e6, from: 4_000_000, hint: 0) == 6_250_000)
        #expect(mile.arrival(of: 1_000_000, AccessPath(trace: 0, originUs: 1_000_000, scale: 1), cap: 10e6, from: 1_000_000, hint: 0) == 2_000_000)
        #expect(mile.arrival(of: 1_000_000, AccessPath(trace: 0, originUs: 1_000_000, scale: 1), cap: 10e6, from: 0, hint: 0) == 250_000)
        var hint: UInt32 = 0
        let outage = mile.now(path, at: 1_500_000, hint: &hint)
        #expect(outage.bitsPerSecond == 0 && outage.latencyUs == 50_000 && hint == 1)
        // Checks every 250 ms from 0.5 s see what has arrived; the one that says so ends the transfer.
        var seen: [(Int64, Int64)] = []
        let cut = mile.transfer(2_000_000, path, cap: 10e6, from: 0, hint: 0, firstCheck: 500_000, every: 250_000, firstDecides: true) { t, bits in
            seen.append((t, bits))
            return t >= 1_500_000
        }
        #expect(cut.end == 1_500_000 && cut.abandoned)
        #expect(seen.map(\.0) == [500_000, 750_000, 1_000_000, 1_250_000, 1_500_000])
        #expect(seen.map(\.1) == [500_000, 750_000, 1_000_000, 1_000_000, 1_000_000])
        // Within one period the first check decides: no other is made.
        seen = []
        let whole = mile.transfer(6_000_000, path, cap: 10e6, from: 2_000_000, hint: 0, firstCheck: 2_500_000, every: 250_000, firstDecides: true) { t, bits in
            seen.append((t, bits))
            return false
        }
        #expect(whole.end == 3_500_000 && !whole.abandoned && seen.count == 1)
    }

    @Test("A measured-trace class's users get the traces' mean; a constant class draws nothing")
    func constantClassDrawsNothing() {
        let mile = Self.lastMile()
        #expect(mile.meanThroughput(accessClass: 0, bandwidth: 123) == 2.25e6)
        var c = configuration(regions: [flatRegion(users: 100)])
        c.clients.access = [AccessClass(name: "c", share: 1, bandwidth: try! .constant(5e6))]
        var stream = RandomStream(seed: 1, label: "s", id: 0), untouched = stream
        #expect(LastMile(configuration: c).assign(accessClass: 0, &stream) == nil)
        #expect(stream.nextDouble() == untouched.nextDouble())
        #expect(mile.assign(accessClass: 0, &stream).map { $0.trace == 0 && $0.offsetMs < 4_000 } == true)
    }
}
