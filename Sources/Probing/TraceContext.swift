/// W3C trace context for one probe: one trace id per probe, a new span id per attempt.
struct TraceContext: Sendable {
    let traceID: String

    static func random() -> TraceContext {
        TraceContext(traceID: randomHex(bytes: 16))
    }

    /// The `traceparent` header for one attempt (sampled flag set).
    func traceparent() -> String {
        "00-\(traceID)-\(Self.randomHex(bytes: 8))-01"
    }

    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes` random bytes (a multiple of 8); never all zeros, which is invalid.
    /// Drawn 8 bytes at a time: each draw from the system generator is a syscall.
    private static func randomHex(bytes: Int) -> String {
        var raw = [UInt8]()
        raw.reserveCapacity(bytes)
        var generator = SystemRandomNumberGenerator()
        repeat {
            raw.removeAll(keepingCapacity: true)
            for _ in 0..<(bytes / 8) { withUnsafeBytes(of: generator.next() as UInt64) { raw.append(contentsOf: $0) } }
        } while raw.allSatisfy { $0 == 0 }
        var hex = [UInt8](repeating: 0, count: bytes * 2)
        for (i, byte) in raw.enumerated() {
            hex[2 * i] = digits[Int(byte >> 4)]
            hex[2 * i + 1] = digits[Int(byte & 0xF)]
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
