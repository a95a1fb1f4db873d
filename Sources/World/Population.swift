import SimCore
import Stochastics

/// A user's attributes: a pure function of (seed, user id), so 200M users cost no memory until
/// they act.
public struct User: Sendable, Equatable {
    public var id: UInt64
    public var region: Int
    public var plan: Int
    public var device: Int
    /// Last-mile class (index into the scenario's), and mean bandwidth, bits per second.
    public var accessClass: Int
    public var accessBitsPerSecond: Double
    /// The genre the user favours (taste).
    public var favouriteGenre: Int
}

/// Who the users are: each region owns a contiguous range of user ids, and every attribute is
/// drawn from the user's own stream.
public struct Population: Sendable {
    /// First user id of each region, and one past the last of the last region.
    public let regionStarts: [UInt64]
    let streams: StreamFamily
    let plans: AliasTable
    let devices: AliasTable
    /// The last-mile classes: which a user is in (one class: no draw), and each one's bandwidth.
    let accessClasses: AliasTable?
    let access: [Distribution]
    let genres: Int

    public init(configuration c: WorldConfiguration) {
        var starts: [UInt64] = [0]
        for region in c.regions {
            // Sampling simulates 1 in k users: the regions' id ranges shrink by k.
            starts.append(starts.last! + max(1, UInt64((region.users / Double(c.sampling)).rounded())))
        }
        regionStarts = starts
        streams = StreamFamily(seed: c.seed, label: "user")
        plans = try! AliasTable(weights: c.clients.plans.map(\.share))
        devices = try! AliasTable(weights: c.clients.devices.map(\.share))
        accessClasses = c.clients.access.count > 1 ? try! AliasTable(weights: c.clients.access.map(\.share)) : nil
        access = c.clients.access.map(\.bandwidth)
        genres = c.catalog.genres
    }

    /// Simulated users in region `r`.
    public func users(in r: Int) -> UInt64 { regionStarts[r + 1] - regionStarts[r] }

    /// A user of region `r` chosen uniformly with `stream`.
    public func randomUser(in r: Int, _ stream: inout RandomStream) -> UInt64 {
        regionStarts[r] + stream.nextInt(below: users(in: r))
    }

    /// The user's attributes.
    public func user(_ id: UInt64) -> User {
        var stream = streams.stream(id)
        var region = 0
        while id >= regionStarts[region + 1] { region += 1 }
        let plan = plans.sample(&stream)
        let device = devices.sample(&stream)
        let accessClass = accessClasses?.sample(&stream) ?? 0
        let access = access[accessClass].sample(&stream)
        let genre = Int(stream.nextInt(below: UInt64(max(1, genres))))
        return User(id: id, region: region, plan: plan, device: device, accessClass: accessClass, accessBitsPerSecond: access,
                    favouriteGenre: genre)
    }
}
