/// 64-bit FNV-1a: the same value in every process, version and platform, for what agents and
/// database files must agree on (Swift's `Hasher` is seeded per process).
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func add(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }

    public mutating func add(bytes: some Sequence<UInt8>) {
        for byte in bytes { add(byte: byte) }
    }

    /// `value` as 8 bytes, least significant first.
    public mutating func add(littleEndian value: UInt64) {
        for i in 0..<8 { add(byte: UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }

    /// The hash of a text's UTF-8 bytes.
    public static func hash(_ text: String) -> UInt64 {
        var hash = FNV1a()
        hash.add(bytes: text.utf8)
        return hash.value
    }
}
