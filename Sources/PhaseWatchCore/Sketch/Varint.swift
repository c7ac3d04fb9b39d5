/// LEB128 unsigned varints: 7 bits a byte, low bits first, high bit set on all but the last.
/// The compact encoding of latency sketches and of the storage's per-reason failure counts.
public enum Varint {
    public struct DecodingError: Error, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    public static func put(_ value: UInt64, into out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Reads varints (and single bytes) from the front of a byte array.
    public struct Reader {
        let bytes: [UInt8]
        var position = 0

        public init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        public var atEnd: Bool { position == bytes.count }

        public mutating func byte() throws(DecodingError) -> UInt8 {
            guard position < bytes.count else { throw DecodingError(reason: "truncated") }
            defer { position += 1 }
            return bytes[position]
        }

        public mutating func varint() throws(DecodingError) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte()
                guard shift < 64, shift < 63 || b <= 1 else { throw DecodingError(reason: "varint overflow") }
                result |= UInt64(b & 0x7f) << shift
                if b & 0x80 == 0 { return result }
                shift += 7
            }
        }

        /// A varint that must fit a non-negative Int.
        public mutating func count() throws(DecodingError) -> Int {
            let v = try varint()
            guard v <= UInt64(Int.max) else { throw DecodingError(reason: "count overflow") }
            return Int(v)
        }
    }
}
