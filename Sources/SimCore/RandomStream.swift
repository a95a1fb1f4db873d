/// One entity's private source of random numbers: 16 bytes of state, derived from the scenario seed,
/// a stable label and the entity's id.
///
/// The generator is SplitMix64 with a per-stream increment ("gamma"), as in Java's
/// `SplittableRandom` (Steele, Lea, Flood: "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): `state += gamma; output = mix64(state)`. Giving every stream its own odd gamma
/// makes streams different Weyl sequences rather than offsets into one sequence, so two streams
/// cannot overlap even with hundreds of millions of entities.
///
/// Because each entity owns its stream, what one entity draws does not depend on how the events of
/// other entities interleave: the property that lets a partitioned, multi-threaded run reproduce a
/// single-threaded one.
///
/// The type deliberately does not conform to `RandomNumberGenerator`: the standard library's
/// `random(in:using:)` algorithms are not promised to stay the same across Swift releases, and a
/// report must not change with the toolchain. Use the methods here.
@frozen
public struct RandomStream: Sendable, BitwiseCopyable, Equatable {
    /// The Weyl sequence position; advanced by `gamma` on every draw.
    public var state: UInt64
    /// The odd per-stream increment.
    public let gamma: UInt64

    /// The golden-ratio increment of SplitMix64.
    public static let goldenGamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// A stream with an explicit state and increment; `gamma` is forced odd.
    @inlinable
    public init(state: UInt64, gamma: UInt64) {
        self.state = state
        self.gamma = gamma | 1
    }

    /// The stream of entity `id` under `label` for the scenario `seed`.
    ///
    /// - Complexity: O(length of `label`); derive many streams of one label through
    ///   ``StreamFamily`` to hash the label once.
    @inlinable
    public init(seed: UInt64, label: String, id: UInt64) {
        self = StreamFamily(seed: seed, label: label).stream(id)
    }

    /// The next 64 uniformly distributed bits.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= gamma
        return RandomStream.mix64(state)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inlinable @inline(__always)
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform double in (0, 1): never 0, so `log` of it is finite.
    @inlinable @inline(__always)
    public mutating func nextOpenDouble() -> Double {
        (Double(next() >> 12) + 0.5) * 0x1.0p-52
    }

    /// A uniform integer in `0..<bound`, without modulo bias (Lemire, "Fast random integer
    /// generation in an interval", ACM TOMACS 2019).
    /// - Precondition: `bound > 0`.
    @inlinable
    public mutating func nextInt(below bound: UInt64) -> UInt64 {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return product.high
    }

    /// `true` with probability `p`.
    @inlinable
    public mutating func nextBernoulli(_ p: Double) -> Bool {
        nextDouble() < p
    }

    /// Shuffles `array` in place (Fisher-Yates) with draws from this stream.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = Int(nextInt(below: UInt64(i + 1)))
            array.swapAt(i, j)
        }
    }

    /// A child stream, for an entity that itself needs several independent streams.
    /// Draws two values from this stream, as `SplittableRandom.split()` does.
    @inlinable
    public mutating func split() -> RandomStream {
        let s = next()
        state &+= gamma
        return RandomStream(state: s, gamma: RandomStream.mixGamma(state))
    }

    /// Stafford's "Mix13" finaliser: a bijection on 64 bits with full avalanche.
    @inlinable @inline(__always)
    public static func mix64(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// An odd increment with enough bit transitions to avoid weak Weyl sequences
    /// (`SplittableRandom.mixGamma`).
    @inlinable
    public static func mixGamma(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        z = (z ^ (z >> 33)) &* 0xC4CE_B9FE_1A85_EC53
        z = (z ^ (z >> 33)) | 1
        let transitions = (z ^ (z >> 1)).nonzeroBitCount
        return transitions < 24 ? z ^ 0xAAAA_AAAA_AAAA_AAAA : z
    }

    /// The 64-bit FNV-1a hash of `text`'s UTF-8 bytes: a stable label hash. Swift's `Hasher` is
    /// seeded per process and must never reach a result.
    public static func stableHash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}

/// All the streams of one kind of entity (one label) under one seed; derives a stream per id in
/// a few multiplications, with no allocation.
@frozen
public struct StreamFamily: Sendable, BitwiseCopyable, Equatable {
    /// The seed and label mixed together; the only state.
    public let key: UInt64

    /// The family of streams labelled `label` under `seed`.
    public init(seed: UInt64, label: String) {
        key = RandomStream.mix64(RandomStream.mix64(seed) ^ RandomStream.stableHash(label))
    }

    /// The stream of entity `id`.
    ///
    /// Ids map to distinct points of a Weyl sequence, so distinct ids give distinct state and
    /// gamma pairs; both are passed through independent mixers.
    @inlinable
    public func stream(_ id: UInt64) -> RandomStream {
        let x = key &+ (id &* 2 &+ 1) &* RandomStream.goldenGamma
        return RandomStream(state: RandomStream.mix64(x), gamma: RandomStream.mixGamma(x &+ RandomStream.goldenGamma))
    }

    /// A sub-family, e.g. per region inside a per-region model, without string work per id.
    public func subfamily(_ id: UInt64) -> StreamFamily {
        StreamFamily(key: RandomStream.mix64(key ^ RandomStream.mix64(id &+ RandomStream.goldenGamma)))
    }

    init(key: UInt64) { self.key = key }
}
