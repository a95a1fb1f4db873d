import Placement
import SimCore
import Testing
@testable import World

/// The sites alone: what a PoP serves, its health, the requests it counts.
@Suite("Sites, alone")
struct SitesTests {
    static func sites(servers: Int = 4, detection: SimDuration = .seconds(30)) -> Sites {
        var c = configuration(regions: [flatRegion(users: 100)])
        c.pops = [PopConfiguration(id: "p", region: 0, servers: servers, storageBytes: 1e12, egressBitsPerSecond: 1e10, rtt: .milliseconds(10))]
        c.placement.detectionDelay = detection
        return Sites(configuration: c, catalog: Catalog(configuration: c.catalog, seed: c.seed, runDuration: c.duration))
    }

    @Test("A file serves hits only when complete, its PoP up, and a server holding it up")
    func servesOnlyCompleteFilesWhileUp() {
        let sites = Self.sites()
        #expect(!sites.serves(7, at: 0))
        _ = sites.pops[0].cache.insert(7, size: sites.fileBytes(7))
        sites.pops[0].filling[7] = 3  // still arriving
        #expect(!sites.serves(7, at: 0))
        sites.pops[0].filling[7] = nil
        #expect(sites.serves(7, at: 0))
        #expect(sites.markDown(0, now: .zero) && !sites.markDown(0, now: .zero + .seconds(5)))
        #expect(!sites.serves(7, at: 0) && sites.isDown(0))
        #expect(!sites.markUp(0))  // one of two down faults ended
        #expect(sites.markUp(0) && sites.serves(7, at: 0))
    }

    @Test("Steering learns a PoP is down after the detection delay")
    func detectionDelay() {
        let sites = Self.sites(detection: .seconds(30))
        _ = sites.markDown(0, now: .zero + .seconds(100))
        #expect(sites.isDown(0))
        #expect(!sites.knownDown(0, now: .zero + .seconds(129)))
        #expect(sites.knownDown(0, now: .zero + .seconds(130)))
    }

    @Test("Lost servers take exactly the files whose every copy they held, and the fill servers with them")
    func lostServersTakeTheirFiles() throws {
        let sites = Self.sites(servers: 4)
        for file in 0..<40 {
            _ = sites.pops[0].cache.insert(file, size: 1)
            sites.pops[0].replicas[file] = file < 20 ? 1 : 4  // the last twenty are on every server
        }
        #expect(sites.loseServers(0, []) == nil && sites.pops[0].servers == 4)
        let unavailable = try #require(sites.loseServers(0, [1]))
        #expect(sites.pops[0].servers == 3)
        for file in 0..<40 {
            let holders = Rendezvous.servers(file: file, among: [0, 1, 2, 3], replicas: Int(sites.pops[0].replicas[file]))
            #expect(unavailable[file] == (holders == [1]), "file \(file)")
            #expect(sites.serves(file, at: 0) == !unavailable[file])
        }
        #expect(unavailable.contains(true) && !unavailable[20...].contains(true))
        #expect(sites.loseServers(0, []) == nil && sites.serves(0, at: 0) && sites.pops[0].servers == 4)
    }

    @Test("A request counts as a hit or a miss, with its bytes, and as demand for its file")
    func requestsAreCounted() {
        let sites = Self.sites()
        sites.record(request: 5, at: 0, bits: 8_000, hit: true, now: .zero)
        sites.record(request: 5, at: 0, bits: 16_000, hit: false, now: .zero + .seconds(1))
        let m = sites.metrics[0]
        #expect(m.requests.value == 2 && m.hits.value == 1 && m.contentMisses.value == 1)
        #expect(m.bytes == 3_000 && m.hitBytes == 1_000 && sites.pops[0].observed[5] == 3_000)
    }

    @Test("Complete files count per title, for steering")
    func titleFilesFollowArrivalsAndRemovals() {
        let sites = Self.sites()
        let rungs = sites.rungs
        #expect(!sites.holds(title: 2, at: 0))
        sites.fileArrived(0, 2 * rungs + 1)
        sites.fileArrived(0, 2 * rungs)
        sites.fileRemoved(0, 2 * rungs + 1)
        #expect(sites.holds(title: 2, at: 0) && !sites.holds(title: 1, at: 0) && !sites.holds(title: 3, at: 0))
    }
}
