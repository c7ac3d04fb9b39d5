import PhaseWatchCore
import Synchronization

/// W3C trace context for one probe: one trace id per probe, a new span id per attempt.
/// Trace ids carry one random 64-bit word (`TraceID`: the store keeps them as 8-byte integers);
/// span ids are 64 random bits.
struct TraceContext: Sendable {
    let traceID: String

    static func random() -> TraceContext {
        TraceContext(traceID: TraceID.make(random: TraceIDSource.shared.next()))
    }

    /// The `traceparent` header for one attempt (sampled flag set).
    func traceparent() -> String {
        "00-\(traceID)-\(Self.hex(TraceIDSource.shared.next()))-01"
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func hex(_ word: UInt64) -> String {
        var out = [UInt8]()
        out.reserveCapacity(16)
        for shift in stride(from: 60, through: 0, by: -4) { out.append(digits[Int((word >> UInt64(shift)) & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Random, never-zero 64-bit words for trace and span ids. A xoshiro256** generator seeded once
/// from the system: the system generator costs a syscall per draw, two per probe.
/// (Trace ids must be unique and unpredictable enough to not collide, not secret.)
final class TraceIDSource: Sendable {
    static let shared = TraceIDSource()

    private let state: Mutex<(UInt64, UInt64, UInt64, UInt64)>

    init() {
        var system = SystemRandomNumberGenerator()
        var seed = (system.next() as UInt64, system.next() as UInt64, system.next() as UInt64, system.next() as UInt64)
        if seed == (0, 0, 0, 0) { seed.0 = 1 }
        state = Mutex(seed)
    }

    func next() -> UInt64 {
        state.withLock { s in
            var result: UInt64 = 0
            repeat {
                result = rotl(s.1 &* 5, 7) &* 9
                let t = s.1 << 17
                s.2 ^= s.0
                s.3 ^= s.1
                s.1 ^= s.2
                s.0 ^= s.3
                s.2 ^= t
                s.3 = rotl(s.3, 45)
            } while result == 0
            return result
        }
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
