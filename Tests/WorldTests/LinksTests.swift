import Metrics
import SimCore
import Testing
@testable import World

@Suite("Links and the origin, alone")
struct LinksTests {
    static func links(pops: [Double] = [10e6, 100e6], replicas: [Double] = [1e9]) -> Links {
        Links(popCapacity: pops, replicaCapacity: replicas, bucket: .seconds(60))
    }

    @Test("PoP links come first, then the replicas; each id says whose link it is")
    func idsNameTheirTier() {
        let links = Self.links(pops: [1, 2, 3], replicas: [4, 5])
        #expect(links.ids.count == 5)
        #expect(links.site(of: links.pop(2)) == 2 && links.replica(of: links.pop(2)) == nil)
        #expect(links.replica(of: links.replica(1)) == 1 && links.site(of: links.replica(1)) == nil)
        #expect(links[links.replica(1)].capacity == 5)
        #expect(links.pop(2) < links.replica(0))
    }

    @Test("A new flow gets the water-filling level: capped flows keep their cap, the rest share what is left")
    func fairShareIsMaxMin() {
        let links = Self.links()
        let link = links.pop(0)  // 10 Mbit/s
        #expect(links.fairShare(link, cap: 20e6) == 10e6)  // alone: the whole link
        links.add(link, cap: 1e6, rate: 1e6, now: .zero)  // a flow capped at 1 Mbit/s
        // Two flows: the capped one keeps 1, the new one is due the other 9.
        #expect(abs(links.fairShare(link, cap: 20e6) - 9e6) < 1)
        links.add(link, cap: 20e6, rate: 9e6, now: .zero)
        // Three: 1 + 4.5 + 4.5.
        #expect(abs(links.fairShare(link, cap: 20e6) - 4.5e6) < 1)
        // A new flow capped below the level keeps its cap.
        #expect(links.fairShare(link, cap: 2e6) == 2e6)
    }

    @Test("A transfer is admitted while the headroom is at least half the rate it is due")
    func admissionNeedsHalfTheShare() {
        let links = Self.links()
        let link = links.pop(0)
        links.add(link, cap: 8e6, rate: 8e6, now: .zero)
        #expect(links.headroom(link) == 2e6)
        #expect(links.admits(link, due: 4e6))
        #expect(!links.admits(link, due: 4.1e6))
        links.remove(link, cap: 8e6, rate: 8e6, now: .zero + .seconds(30))
        #expect(links.headroom(link) == 10e6 && links[link].flows.active == 0)
    }

    @Test("What waits on a link leaves it first come, first served, and every wait is counted")
    func waitQueueIsFIFO() {
        let links = Self.links()
        let link = links.replica(0)
        links.enqueue(.fill(7), on: link)
        links.enqueue(.download(session: 3, generation: 2, epoch: 1), on: link)
        #expect(links[link].waited.value == 2)
        #expect(links.firstWaiting(link) == .fill(7))
        links.dequeue(link)
        #expect(links.firstWaiting(link) == .download(session: 3, generation: 2, epoch: 1))
        links.dequeue(link)
        #expect(links.firstWaiting(link) == nil)
        #expect(links.firstWaiting(links.pop(0)) == nil)  // queues are per link
        #expect(MemoryLayout<WaitEntry>.stride == 8)
    }

    @Test("Bytes carried are spread over the buckets a transfer spans; utilisation is time-weighted")
    func bookingAndUtilisation() {
        let links = Self.links()
        let link = links.pop(1)  // 100 Mbit/s, 60 s buckets
        links.book(1_200, on: link, from: .zero + .seconds(30), to: .zero + .seconds(90))
        #expect(links[link].served.sums == [600, 600])
        #expect(links[link].servedBytes == 1_200)
        links.add(link, cap: 50e6, rate: 50e6, now: .zero)
        links.remove(link, cap: 50e6, rate: 50e6, now: .zero + .seconds(30))
        var u = links[link].utilisation
        u.advance(to: .zero + .seconds(60))
        #expect(abs(u.mean(0) - 0.25) < 1e-12)  // half the link for half the bucket
    }

    @Test("A lower capacity leaves less headroom and a lower share; the base capacity is kept")
    func capacityChanges() {
        let links = Self.links()
        let link = links.pop(1)
        links.setCapacity(link, 40e6)
        #expect(links.headroom(link) == 40e6 && links.fairShare(link, cap: 1e9) == 40e6)
        #expect(links[link].baseCapacity == 100e6)
    }

    @Test("Each PoP reads from the nearest origin replica that is up; ties go to the lower index")
    func originReplicaChoice() {
        let regions = [0, 3, 6].map { RegionConfiguration(id: "r\($0)", utcOffset: .seconds(Int64($0) * 3_600), users: 1, curve: .flat) }
        let distances = RegionDistances(regions: regions, base: .milliseconds(20), perHour: .milliseconds(10))
        let origin = Origin(regions: [0, 2], popRegions: [0, 1, 2], distances: distances)
        #expect(origin.order == [[0, 1], [0, 1], [1, 0]])  // region 1 is 3 h from both: the lower index
        #expect(origin.preferred(for: 2) == 1 && origin.nearestUp(from: 2) == 1)
        origin.replicas[1].downs = 1
        #expect(origin.nearestUp(from: 2) == 0)
        origin.replicas[0].downs = 1
        #expect(origin.nearestUp(from: 0) == nil)
        #expect(origin.index(region: 2) == 1)
        #expect(Origin(regions: [], popRegions: [0], distances: distances).replicas.map(\.region) == [0])
    }
}
