import ABR
import Testing
@testable import World

@Suite("Session table")
struct SessionTableTests {
    static let context = PlayerContext(
        manifest: PlaybackManifest(bitrates: [1e6, 3e6], segmentDurations: Array(repeating: 2_000_000, count: 20)),
        configuration: PlayerConfiguration(algorithm: .throughput(safety: 0.9)))

    @Test("Records keep every field when the table grows past its reservation")
    func growthKeepsRecords() {
        let table = SessionTable(reservingCapacity: 16)
        let ids = (0..<1_000).map { _ in table.allocate(placeholder: Player(Self.context, at: 0)) }
        #expect(ids == (0..<1_000).map { UInt32($0) })
        for id in ids {
            let i = Int(id)
            table.title[i] = id * 3
            table.access[i] = Double(id) * 1.5
            table.client[i] = UInt64(id) << 33
            table.download[i].bits = Int64(id) * 7
            table.accounted[i] = (Int64(id), 0, 0, 0, Int32(id % 5))
            table.player[i].advance(to: Int64(id), Self.context)
        }
        _ = table.allocate(placeholder: Player(Self.context, at: 0))  // one more growth
        for id in ids {
            let i = Int(id)
            #expect(table.title[i] == id * 3 && table.access[i] == Double(id) * 1.5 && table.client[i] == UInt64(id) << 33)
            #expect(table.download[i].bits == Int64(id) * 7 && table.accounted[i].switches == Int32(id % 5))
            #expect(table.player[i].now == Int64(id))
            #expect(table.isLive[i] && table.generation[i] == 0)
        }
        #expect(table.live == 1_001 && table.capacity == 1_001)
    }

    @Test("A released slot is reused last-in first-out with a new generation")
    func releaseReusesSlotWithNewGeneration() {
        let table = SessionTable(reservingCapacity: 4)
        for _ in 0..<3 { _ = table.allocate(placeholder: Player(Self.context, at: 0)) }
        table.release(1)
        #expect(!table.isLive[1] && table.generation[1] == 1 && table.live == 2)
        let again = table.allocate(placeholder: Player(Self.context, at: 0))
        #expect(again == 1 && table.isLive[1] && table.generation[1] == 2 && table.capacity == 3)
    }
}
