/// A running 64-bit digest of a sequence of integers, for checking that two runs did the same
/// thing in the same order without storing either trace.
///
/// Order-sensitive and stable across processes and machines (no `Hasher`). Not cryptographic.
@frozen
public struct TraceDigest: Hashable, Sendable, CustomStringConvertible {
    /// The digest so far.
    public private(set) var value: UInt64 = 0x243F_6A88_85A3_08D3
    /// How many words were folded in.
    public private(set) var count: UInt64 = 0

    public init() {}

    /// Folds one word into the digest.
    public mutating func combine(_ word: UInt64) {
        value = RandomStream.mix64(value ^ RandomStream.mix64(word &+ count &* RandomStream.goldenGamma))
        count &+= 1
    }

    @inlinable public mutating func combine(_ word: Int64) { combine(UInt64(bitPattern: word)) }
    @inlinable public mutating func combine(_ word: Int) { combine(UInt64(bitPattern: Int64(word))) }
    @inlinable public mutating func combine(_ time: SimInstant) { combine(time.microseconds) }

    /// The digest as 16 hex digits.
    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
