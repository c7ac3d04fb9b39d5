import Foundation
import GRDB
import PhaseWatchCore

/// How `probe.trace_id` holds a trace id (the column's declared type BLOB has no affinity, so
/// each value keeps its own type):
/// - INTEGER: an id in `TraceID`'s compact form (every id the prober makes), as its 64-bit word;
/// - BLOB: any other 32 lowercase hex digits, as their 16 bytes (also every id written before
///   compact ids existed);
/// - TEXT: anything else, as is (never produced by the prober, but a ProbeResult can hold any
///   string; uppercase hex is kept as text so that it comes back as it was).
enum StoredTraceID: Sendable, Equatable {
    case word(Int64)
    case bytes(Data)
    case text(String)

    init(_ id: String) {
        if let word = TraceID.compactForm(id) {
            self = .word(word)
            return
        }
        let utf8 = Array(id.utf8)
        guard utf8.count == 32 else {
            self = .text(id)
            return
        }
        var bytes = Data(capacity: 16)
        for i in stride(from: 0, to: 32, by: 2) {
            guard let hi = Self.nibble(utf8[i]), let lo = Self.nibble(utf8[i + 1]) else {
                self = .text(id)
                return
            }
            bytes.append(hi << 4 | lo)
        }
        self = .bytes(bytes)
    }

    init(databaseValue: DatabaseValue) throws {
        switch databaseValue.storage {
        case .int64(let word): self = .word(word)
        case .blob(let data): self = .bytes(data)
        case .string(let text): self = .text(text)
        default: throw StoreError.corrupt("trace_id is neither an integer, a blob nor text")
        }
    }

    var databaseValue: DatabaseValue {
        switch self {
        case .word(let word): word.databaseValue
        case .bytes(let data): data.databaseValue
        case .text(let text): text.databaseValue
        }
    }

    var string: String {
        switch self {
        case .text(let text): return text
        case .word(let word): return TraceID.expand(word)
        case .bytes(let data):
            let digits = Array("0123456789abcdef".utf8)
            var out = [UInt8]()
            out.reserveCapacity(data.count * 2)
            for b in data {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 0xf)])
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Lowercase only: an uppercase id stored as bytes would come back different.
    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
