/// Trace ids as phasewatch makes them: W3C trace ids (32 lowercase hex digits, 16 bytes, never
/// all zero) that carry 64 random bits, so that storage can keep them as one 8-byte integer.
///
/// From one random, non-zero 64-bit word `lo`:
/// - bytes 8–15 are `lo`, big-endian;
/// - bytes 0–7 are `mix(lo)`, a fixed bijection of `lo` (the splitmix64 finalizer of
///   `lo ^ 0x6A09E667F3BCC909`).
///
/// W3C Trace Context level 2 only asks the rightmost 7 bytes to be random; the left half is
/// derived so that the id still looks like any other random trace id to tracing backends.
/// An id whose left half is `mix(right half)` is in *compact form*: the 64-bit word gives it
/// back exactly. A random 128-bit id from elsewhere is in compact form with probability 2⁻⁶⁴.
///
/// The mix is part of the database format (`probe.trace_id` and the `probe_view` SQL in
/// Sources/Storage/Schema.swift compute it too): never change it.
public enum TraceID {
    /// The trace id of a random, non-zero word.
    public static func make(random word: UInt64) -> String {
        precondition(word != 0, "a trace id's random word is never zero")
        return expand(Int64(bitPattern: word))
    }

    /// The word of an id in compact form, as the signed bit pattern stored in SQLite; nil for any
    /// other string (including uppercase hex and random 128-bit ids).
    public static func compactForm(_ id: String) -> Int64? {
        let utf8 = id.utf8
        guard utf8.count == 32 else { return nil }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        var i = 0
        for c in utf8 {
            guard let n = nibble(c) else { return nil }
            if i < 16 { hi = hi << 4 | n } else { lo = lo << 4 | n }
            i += 1
        }
        guard hi == mix(lo) else { return nil }
        return Int64(bitPattern: lo)
    }

    /// The trace id of a word (the inverse of `compactForm`).
    public static func expand(_ word: Int64) -> String {
        let lo = UInt64(bitPattern: word)
        let hi = mix(lo)
        return String(unsafeUninitializedCapacity: 32) { out in
            for i in 0..<16 {
                let shift = UInt64(60 - 4 * i)
                out[i] = digit(hi >> shift & 0xF)
                out[16 + i] = digit(lo >> shift & 0xF)
            }
            return 32
        }
    }

    /// The left half of an id in compact form: splitmix64's finalizer (a bijection) of `lo` XOR a
    /// constant (the first SHA-512 initial value; the XOR makes `mix(0)` non-zero).
    static func mix(_ lo: UInt64) -> UInt64 {
        var z = lo ^ 0x6A09_E667_F3BC_C909
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    private static func digit(_ n: UInt64) -> UInt8 {
        UInt8(truncatingIfNeeded: n < 10 ? 0x30 + n : 0x57 + n)
    }

    /// Lowercase only: W3C trace ids are lowercase, and only they round-trip through a word.
    private static func nibble(_ c: UInt8) -> UInt64? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt64(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt64(c - UInt8(ascii: "a") + 10)
        default: nil
        }
    }
}
