/// Which servers of a site hold a file: rendezvous (highest random weight) hashing.
///
/// Each (file, server) pair gets a pseudo-random score; a file lives on the `replicas` servers with
/// the highest scores (Thaler and Ravishankar, "Using name-based mappings to increase hit rates",
/// 1998). When a server joins, it takes only the files it now outscores the others on (about 1/n of
/// them); when one leaves, only its files move, each to its next-best server. Scores come from a
/// fixed mixing function (SplitMix64's finaliser), so assignments are the same on every machine.
public enum Rendezvous {
    /// The score of `file` on `server`.
    public static func score(file: Int, server: Int) -> UInt64 {
        mix(UInt64(truncatingIfNeeded: file) &* 0x9E37_79B9_7F4A_7C15 ^ mix(UInt64(truncatingIfNeeded: server) &+ 0x632B_E59B_D9B4_E019))
    }

    /// The servers holding `file`, best first: the `replicas` highest-scoring of `servers` (ids).
    /// - Complexity: O(servers × replicas).
    public static func servers(file: Int, among servers: [Int], replicas: Int) -> [Int] {
        let r = min(replicas, servers.count)
        var best: [(score: UInt64, server: Int)] = []
        best.reserveCapacity(r + 1)
        for s in servers {
            let entry = (score(file: file, server: s), s)
            // Keep the top r, ordered by score (then id, for a total order).
            var i = best.count
            while i > 0 && (best[i - 1].score < entry.0 || (best[i - 1].score == entry.0 && best[i - 1].server > entry.1)) { i -= 1 }
            if i < r {
                best.insert(entry, at: i)
                if best.count > r { best.removeLast() }
            }
        }
        return best.map(\.server)
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A PoP a session could be sent to, as the playback API sees it.
public struct SteeringCandidate: Sendable, Equatable {
    public var site: Int
    /// Round trip from the user, milliseconds.
    public var rttMs: Double
    /// Whether the site holds the title (a file of it, complete).
    public var holdsTitle: Bool
    /// Egress committed over capacity, 0 to 1.
    public var utilisation: Double
    /// Below its health threshold.
    public var healthy: Bool
    /// Up at all (a failed site is never chosen while another is up).
    public var available: Bool

    public init(site: Int, rttMs: Double, holdsTitle: Bool, utilisation: Double, healthy: Bool, available: Bool = true) {
        self.site = site
        self.rttMs = rttMs
        self.holdsTitle = holdsTitle
        self.utilisation = utilisation
        self.healthy = healthy
        self.available = available
    }
}

/// How steering weighs content and load against distance.
public struct SteeringPolicy: Sendable, Equatable {
    /// How much farther (ms of round trip) a site holding the title may be and still rank first.
    public var holdingBonusMs: Double
    /// Milliseconds added per unit of utilisation, so that of two near sites the less loaded wins.
    public var loadPenaltyMs: Double

    public init(holdingBonusMs: Double = 30, loadPenaltyMs: Double = 10) {
        self.holdingBonusMs = holdingBonusMs
        self.loadPenaltyMs = loadPenaltyMs
    }
}

/// Ranks the sites a session may stream from; the player tries them in this order.
///
/// Available sites first, then healthy ones; among those, by cost = round trip − `holdingBonusMs`
/// if the site holds the title + `loadPenaltyMs` × utilisation; ties by site index. So a site
/// holding the title wins over a nearer one that would have to fetch it, unless it is more than
/// the bonus farther; a saturated site is tried only when no healthy one is left.
public enum Steering {
    public static func rank(_ candidates: [SteeringCandidate], policy: SteeringPolicy = .init()) -> [Int] {
        func cost(_ c: SteeringCandidate) -> Double {
            c.rttMs - (c.holdsTitle ? policy.holdingBonusMs : 0) + policy.loadPenaltyMs * c.utilisation
        }
        return candidates.indices.sorted { i, j in
            let a = candidates[i], b = candidates[j]
            if a.available != b.available { return a.available }
            if a.healthy != b.healthy { return a.healthy }
            let ca = cost(a), cb = cost(b)
            if ca != cb { return ca < cb }
            return a.site < b.site
        }
    }
}
