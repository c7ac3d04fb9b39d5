import Foundation
import GRDB
import PhaseWatchCore

/// One probe turned into column values, done before the write transaction starts so that the
/// writer holds the lock only for SQLite work.
struct ProbeRow: Sendable {
    var target: String
    var startedUs: Int64
    var success: Bool
    var goodLatency: Bool
    var failurePhase: Int?
    var failureReason: Int?
    var durationUs: Int64
    /// In `Phase.network` order.
    var phasesUs: [Int64?]
    var bodyBytes: Int?
    var contentLength: Int?
    var traceID: StoredTraceID
    var detail: Detail

    init(_ probe: StoredProbe) {
        let r = probe.result
        target = r.target
        startedUs = Microseconds.date(r.startedAt)
        success = r.success
        goodLatency = probe.isGoodLatency
        failurePhase = r.failure.map { Codes.code($0.phase) }
        failureReason = r.failure.map { Codes.code($0.reason) }
        durationUs = Microseconds.seconds(r.duration)
        phasesUs = Phase.network.map { r.phases[$0].map(Microseconds.seconds) }
        bodyBytes = r.http?.bodyBytes
        contentLength = r.http?.contentLength
        traceID = StoredTraceID(r.traceId)
        detail = Detail(r)
    }

    static let insertSQL = """
        INSERT INTO probe (target_id, started_us, seq, success, good_latency, failure_phase, failure_reason, \
        duration_us, resolve_us, connect_us, tls_us, processing_us, transfer_us, body_bytes, content_length, \
        detail_id, trace_id) VALUES (\(placeholders(17))) ON CONFLICT DO NOTHING
        """

    /// Inserts the row with the lowest free `seq` (0 unless another probe of the target started
    /// in the same microsecond).
    func insert(targetID: Int64, detailID: Int64, db: Database) throws {
        let statement = try db.cachedStatement(sql: Self.insertSQL)
        var arguments: [(any DatabaseValueConvertible)?] = [
            targetID, startedUs, 0, success, goodLatency, failurePhase, failureReason, durationUs,
        ]
        arguments += phasesUs as [(any DatabaseValueConvertible)?]
        arguments += [bodyBytes, contentLength, detailID, traceID.databaseValue]
        try statement.execute(arguments: StatementArguments(arguments))
        if db.changesCount == 0 {
            let next = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT max(seq) + 1 FROM probe WHERE target_id = ? AND started_us = ?"),
                arguments: [targetID, startedUs]) ?? 0
            arguments[2] = next
            try statement.execute(arguments: StatementArguments(arguments))
        }
    }
}

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

/// A probe row read back, before its detail row is joined in.
struct StoredRow {
    static let columns = """
        started_us, seq, success, failure_phase, failure_reason, duration_us, resolve_us, connect_us, tls_us, \
        processing_us, transfer_us, body_bytes, content_length, detail_id, trace_id
        """

    var startedUs: Int64
    var seq: Int64
    var success: Bool
    var failurePhase: Int?
    var failureReason: Int?
    var durationUs: Int64
    var phasesUs: [Int64?]
    var bodyBytes: Int?
    var contentLength: Int?
    var detailID: Int64
    var traceID: StoredTraceID

    init(row: Row) throws {
        startedUs = row[0]
        seq = row[1]
        success = row[2]
        failurePhase = row[3]
        failureReason = row[4]
        durationUs = row[5]
        phasesUs = [row[6], row[7], row[8], row[9], row[10]]
        bodyBytes = row[11]
        contentLength = row[12]
        detailID = row[13]
        traceID = try StoredTraceID(databaseValue: row[14])
    }

    func result(target: String, detail: Detail) throws -> ProbeResult {
        var phases = Phases()
        for (phase, us) in zip(Phase.network, phasesUs) {
            phases[phase] = us.map(Microseconds.toSeconds)
        }
        var failure: Failure?
        if let failurePhase, let failureReason {
            failure = Failure(
                phase: try Codes.phase(failurePhase), reason: try Codes.reason(failureReason),
                message: detail.failureMessage ?? "")
        }
        var r = ProbeResult(
            target: target, url: detail.url, startedAt: Microseconds.toDate(startedUs), success: success,
            failure: failure, phases: phases, duration: Microseconds.toSeconds(durationUs), traceId: traceID.string)
        detail.apply(to: &r, bodyBytes: bodyBytes, contentLength: contentLength)
        return r
    }
}
