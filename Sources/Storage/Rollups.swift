import Foundation
import GRDB
import PhaseWatchCore

/// The two rollup levels. Both tables have the same columns; rows are keyed by
/// (target_id, start_s) with start_s the bucket start in Unix seconds.
enum RollupLevel: CaseIterable {
    case minute, hour

    var table: String {
        switch self {
        case .minute: "rollup_minute"
        case .hour: "rollup_hour"
        }
    }

    var seconds: Int64 {
        switch self {
        case .minute: 60
        case .hour: 3600
        }
    }

    /// Start of the bucket holding `micros`, in seconds.
    func bucket(ofMicros micros: Int64) -> Int64 {
        floorDiv(micros, seconds * 1_000_000) * seconds
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

extension WindowSummary {
    /// Counts one probe. Sketches take successful probes only (docs/slo.md: latency is the
    /// latency of probes that worked); raw rows and rollups go through here alike, so both paths
    /// agree to the count and to the bucket.
    mutating func add(
        success isSuccess: Bool, goodLatency isGood: Bool, failurePhase: Int?, failureReason: Int?,
        durationUs: Int64, phasesUs: [Int64?]
    ) throws {
        total += 1
        if isSuccess {
            success += 1
            duration.add(Microseconds.toSeconds(durationUs))
            for (phase, us) in zip(Phase.network, phasesUs) {
                guard let us else { continue }
                phases[phase, default: LatencySketch()].add(Microseconds.toSeconds(us))
            }
        }
        if isGood { goodLatency += 1 }
        if let failurePhase { failuresByPhase[try Codes.phase(failurePhase), default: 0] += 1 }
        if let failureReason { failuresByReason[try Codes.reason(failureReason), default: 0] += 1 }
    }

    mutating func add(_ row: ProbeRow) {
        // Codes in a ProbeRow come from Codes.code(_:), so they always decode.
        try? add(
            success: row.success, goodLatency: row.goodLatency, failurePhase: row.failurePhase,
            failureReason: row.failureReason, durationUs: row.durationUs, phasesUs: row.phasesUs)
    }
}

// MARK: - Rollup rows

enum RollupTable {
    static let phaseColumns = ["resolve", "connect", "tls", "processing", "transfer", "assert"]
    static let failedColumns = phaseColumns.map { "failed_\($0)" }
    static let sketchColumns = ["sketch_duration"] + Phase.network.map { "sketch_\($0.rawValue)" }
    /// Value columns after (target_id, start_s), in the order of `values(_:)` and `summary(row:)`.
    static let valueColumns = ["total", "success", "good_latency"] + failedColumns + ["failure_reasons"] + sketchColumns

    /// Built once: `cachedStatement(sql:)` is called per row.
    static let upsertMinuteSQL = upsertSQL(.minute)
    static let upsertHourSQL = upsertSQL(.hour)

    static func upsertSQL(_ level: RollupLevel) -> String {
        let merge = (["total", "success", "good_latency"] + failedColumns).map { "\($0) = \($0) + excluded.\($0)" }
            + ["failure_reasons = pw_merge_reasons(failure_reasons, excluded.failure_reasons)"]
            + sketchColumns.map { "\($0) = pw_merge_sketch(\($0), excluded.\($0))" }
        return """
            INSERT INTO \(level.table) (target_id, start_s, \(valueColumns.joined(separator: ", ")))
            VALUES (\(placeholders(2 + valueColumns.count)))
            ON CONFLICT (target_id, start_s) DO UPDATE SET \(merge.joined(separator: ", "))
            """
    }

    /// Adds `delta` to the bucket's row, creating it when new.
    static func upsert(_ level: RollupLevel, targetID: Int64, start: Int64, delta: WindowSummary, db: Database) throws {
        let statement = try db.cachedStatement(sql: level == .minute ? upsertMinuteSQL : upsertHourSQL)
        try statement.execute(arguments: StatementArguments([targetID, start] + values(delta)))
    }

    static func values(_ s: WindowSummary) -> [(any DatabaseValueConvertible)?] {
        var out: [(any DatabaseValueConvertible)?] = [s.total, s.success, s.goodLatency]
        for phase in Phase.allCases { out.append(s.failuresByPhase[phase] ?? 0) }
        out.append(encodeReasons(s.failuresByReason))
        out.append(blob(s.duration))
        for phase in Phase.network { out.append(s.phases[phase].flatMap(blob)) }
        return out
    }

    /// The summary of the rows of `level` for `target` with start_s in `range`.
    static func summary(_ level: RollupLevel, targetID: Int64, range: Range<Int64>, db: Database) throws -> WindowSummary {
        var out = WindowSummary()
        guard !range.isEmpty else { return out }
        let statement = try db.cachedStatement(
            sql: "SELECT \(valueColumns.joined(separator: ", ")) FROM \(level.table) WHERE target_id = ? AND start_s >= ? AND start_s < ?")
        let rows = try Row.fetchCursor(statement, arguments: [targetID, range.lowerBound, range.upperBound])
        while let row = try rows.next() {
            try out.merge(summary(row: row))
        }
        return out
    }

    static func summary(row: Row) throws -> WindowSummary {
        var s = WindowSummary(total: row[0], success: row[1], goodLatency: row[2])
        for (i, phase) in Phase.allCases.enumerated() {
            let n: Int = row[3 + i]
            if n > 0 { s.failuresByPhase[phase] = n }
        }
        let reasonsIndex = 3 + Phase.allCases.count
        s.failuresByReason = try decodeReasons(row[reasonsIndex])
        s.duration = try sketch(row[reasonsIndex + 1]) ?? LatencySketch()
        for (i, phase) in Phase.network.enumerated() {
            if let sketch = try sketch(row[reasonsIndex + 2 + i]) { s.phases[phase] = sketch }
        }
        return s
    }

    // MARK: BLOB formats

    private static func blob(_ sketch: LatencySketch) -> Data? {
        sketch.isEmpty ? nil : Data(sketch.serialized())
    }

    static func sketch(_ data: Data?) throws -> LatencySketch? {
        guard let data else { return nil }
        do {
            return try LatencySketch(serialized: data)
        } catch {
            throw StoreError.corrupt("\(error)")
        }
    }

    /// Varint pairs (reason code, count) ascending by code; nil when there are none.
    static func encodeReasons(_ reasons: [FailureReason: Int]) -> Data? {
        encodeReasonCodes(Dictionary(uniqueKeysWithValues: reasons.map { (Codes.code($0.key), $0.value) }))
    }

    static func encodeReasonCodes(_ reasons: [Int: Int]) -> Data? {
        let nonZero = reasons.filter { $0.value > 0 }
        guard !nonZero.isEmpty else { return nil }
        var out: [UInt8] = []
        for (code, count) in nonZero.sorted(by: { $0.key < $1.key }) {
            Varint.put(UInt64(code), into: &out)
            Varint.put(UInt64(count), into: &out)
        }
        return Data(out)
    }

    static func decodeReasonCodes(_ data: Data?) throws -> [Int: Int] {
        guard let data else { return [:] }
        var out: [Int: Int] = [:]
        var reader = Varint.Reader(bytes: [UInt8](data))
        do {
            while !reader.atEnd {
                let code = try reader.count()
                out[code, default: 0] += try reader.count()
            }
        } catch {
            throw StoreError.corrupt("bad varint in failure_reasons: \(error)")
        }
        return out
    }

    static func decodeReasons(_ data: Data?) throws -> [FailureReason: Int] {
        var out: [FailureReason: Int] = [:]
        for (code, count) in try decodeReasonCodes(data) {
            out[try Codes.reason(code), default: 0] += count
        }
        return out
    }

    // MARK: SQL functions for the upsert

    /// `pw_merge_sketch(a, b)` and `pw_merge_reasons(a, b)` combine BLOBs in place, so that an
    /// upsert touches each rollup row once without reading it into Swift first. Registered on
    /// the writer connection only; nothing in the schema depends on them.
    static let functions: [DatabaseFunction] = [
        DatabaseFunction("pw_merge_sketch", argumentCount: 2, pure: true) { values in
            guard let a = Data.fromDatabaseValue(values[0]) else { return values[1] }
            guard let b = Data.fromDatabaseValue(values[1]) else { return a }
            do {
                return Data(try LatencySketch.mergeSerialized(a, b))
            } catch {
                throw StoreError.corrupt("\(error)")
            }
        },
        DatabaseFunction("pw_merge_reasons", argumentCount: 2, pure: true) { values in
            let a = try decodeReasonCodes(Data.fromDatabaseValue(values[0]))
            let b = try decodeReasonCodes(Data.fromDatabaseValue(values[1]))
            return encodeReasonCodes(a.merging(b, uniquingKeysWith: +))
        },
    ]
}

