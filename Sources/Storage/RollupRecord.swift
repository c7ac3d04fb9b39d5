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

/// A row of `rollup_minute` or `rollup_hour` (both have these columns): the summary of one
/// target's probes in one bucket.
struct RollupRecord: Sendable, FetchableRecord, EncodableRecord {
    /// The columns in table order. The raw value is the position in `columns`, which the
    /// summary's statement selects in this order (see `init(listed:)`).
    enum Columns: Int, ColumnExpression, CaseIterable {
        case targetID
        /// Bucket start, Unix seconds.
        case startS
        case total
        case success
        case goodLatency
        case failedResolve
        case failedConnect
        case failedTLS
        case failedProcessing
        case failedTransfer
        case failedAssert
        /// Varint pairs (reason code, count), ascending by code; NULL without failures.
        case failureReasons
        /// `LatencySketch` BLOBs of successful probes; NULL when empty.
        case sketchDuration
        case sketchResolve
        case sketchConnect
        case sketchTLS
        case sketchProcessing
        case sketchTransfer
        /// Sums of the probes' weights (`WindowSummary.weighted`); NULL in rows written before
        /// schema v4, when every probe weighed 1: read as the count (`stored`).
        case weightedTotal
        case weightedSuccess
        case weightedGoodLatency
        /// Probes good at their first attempt and the sum of their weights
        /// (`WindowSummary.successFirstAttempt`); NULL in rows written before schema v8, read as
        /// the final counts (`stored`).
        case successFirstAttempt
        case weightedSuccessFirstAttempt

        var name: String {
            switch self {
            case .targetID: "target_id"
            case .startS: "start_s"
            case .total: "total"
            case .success: "success"
            case .goodLatency: "good_latency"
            case .failedResolve: "failed_resolve"
            case .failedConnect: "failed_connect"
            case .failedTLS: "failed_tls"
            case .failedProcessing: "failed_processing"
            case .failedTransfer: "failed_transfer"
            case .failedAssert: "failed_assert"
            case .failureReasons: "failure_reasons"
            case .sketchDuration: "sketch_duration"
            case .sketchResolve: "sketch_resolve"
            case .sketchConnect: "sketch_connect"
            case .sketchTLS: "sketch_tls"
            case .sketchProcessing: "sketch_processing"
            case .sketchTransfer: "sketch_transfer"
            case .weightedTotal: "weighted_total"
            case .weightedSuccess: "weighted_success"
            case .weightedGoodLatency: "weighted_good_latency"
            case .successFirstAttempt: "success_first_attempt"
            case .weightedSuccessFirstAttempt: "weighted_success_first_attempt"
            }
        }

        /// The column a sum stands in for where it is NULL (a row from before the sum existed).
        private var fallback: Columns? {
            switch self {
            case .weightedTotal: .total
            case .weightedSuccess: .success
            case .weightedGoodLatency: .goodLatency
            case .successFirstAttempt: .success
            case .weightedSuccessFirstAttempt: .weightedSuccess
            default: nil
            }
        }

        /// The column's value as SQL: a weighted sum of a row written before schema v4 is its
        /// count, a first-attempt sum of a row written before schema v8 its final one.
        var stored: String {
            fallback.map { "coalesce(\(name), \($0.stored))" } ?? name
        }

        static let weightedSums: [Columns] = [.weightedTotal, .weightedSuccess, .weightedGoodLatency, .weightedSuccessFirstAttempt]

        static func failed(_ phase: Phase) -> Columns {
            switch phase {
            case .resolve: .failedResolve
            case .connect: .failedConnect
            case .tls: .failedTLS
            case .processing: .failedProcessing
            case .transfer: .failedTransfer
            case .assert: .failedAssert
            }
        }

        /// nil for `assert`, which takes no time.
        static func sketch(_ phase: Phase) -> Columns? {
            switch phase {
            case .resolve: .sketchResolve
            case .connect: .sketchConnect
            case .tls: .sketchTLS
            case .processing: .sketchProcessing
            case .transfer: .sketchTransfer
            case .assert: nil
            }
        }

        /// How the upsert adds a new value to the stored one; nil for the key.
        var merge: String? {
            switch self {
            case .targetID, .startS: nil
            case .total, .success, .goodLatency, .failedResolve, .failedConnect, .failedTLS, .failedProcessing,
                .failedTransfer, .failedAssert:
                "\(name) = \(name) + excluded.\(name)"
            case .failureReasons: "\(name) = pw_merge_reasons(\(name), excluded.\(name))"
            case .sketchDuration, .sketchResolve, .sketchConnect, .sketchTLS, .sketchProcessing, .sketchTransfer:
                "\(name) = pw_merge_sketch(\(name), excluded.\(name))"
            case .weightedTotal, .weightedSuccess, .weightedGoodLatency, .successFirstAttempt, .weightedSuccessFirstAttempt:
                "\(name) = \(stored) + excluded.\(name)"
            }
        }

        /// The failure and count columns, which SQLite sums without reading the BLOBs.
        /// `successFirstAttempt`, NULL in old rows, is summed apart in its `stored` form.
        static let counts: [Columns] = [.total, .success, .goodLatency] + Phase.allCases.map(failed)
    }

    var targetID: Int64
    var startS: Int64
    var summary: WindowSummary

    init(targetID: Int64, startS: Int64, summary: WindowSummary) {
        self.targetID = targetID
        self.startS = startS
        self.summary = summary
    }

    init(row: Row) throws {
        try self.init(ColumnReader(row: row, byPosition: false))
    }

    /// A row of a statement that selects `columns` in their order: read by position, which
    /// spares a lookup by name per column and row in long summaries (bench/storage).
    init(listed row: Row) throws {
        try self.init(ColumnReader(row: row, byPosition: true))
    }

    private struct ColumnReader {
        var row: Row
        var byPosition: Bool

        subscript<Value: DatabaseValueConvertible & StatementColumnConvertible>(_ column: Columns) -> Value {
            byPosition ? row[column.rawValue] : row[column.name]
        }
    }

    private init(_ row: ColumnReader) throws {
        targetID = row[.targetID]
        startS = row[.startS]
        summary = WindowSummary(
            total: row[.total], success: row[.success], successFirstAttempt: row[.successFirstAttempt], goodLatency: row[.goodLatency])
        let weighted: (total: Double?, success: Double?, good: Double?) = (row[.weightedTotal], row[.weightedSuccess], row[.weightedGoodLatency])
        let weightedSuccess = weighted.success ?? summary.weighted.success
        summary.weighted = WindowSummary.Weighted(
            total: weighted.total ?? summary.weighted.total, success: weightedSuccess,
            goodLatency: weighted.good ?? summary.weighted.goodLatency,
            successFirstAttempt: row[.weightedSuccessFirstAttempt] ?? weightedSuccess)
        for phase in Phase.allCases {
            let n: Int = row[.failed(phase)]
            if n > 0 { summary.failuresByPhase[phase] = n }
        }
        summary.failuresByReason = try Self.decodeReasons(row[.failureReasons])
        summary.duration = try Self.sketch(row[.sketchDuration]) ?? LatencySketch()
        for phase in Phase.network {
            if let column = Columns.sketch(phase), let sketch = try Self.sketch(row[column]) { summary.phases[phase] = sketch }
        }
    }

    func encode(to container: inout PersistenceContainer) {
        for column in Self.columns { container[column] = value(column) }
    }

    /// The value of one column. A switch, so that a column added to `Columns` without a value
    /// does not compile.
    func value(_ column: Columns) -> DatabaseValue {
        switch column {
        case .targetID: targetID.databaseValue
        case .startS: startS.databaseValue
        case .total: summary.total.databaseValue
        case .success: summary.success.databaseValue
        case .goodLatency: summary.goodLatency.databaseValue
        case .failedResolve: (summary.failuresByPhase[.resolve] ?? 0).databaseValue
        case .failedConnect: (summary.failuresByPhase[.connect] ?? 0).databaseValue
        case .failedTLS: (summary.failuresByPhase[.tls] ?? 0).databaseValue
        case .failedProcessing: (summary.failuresByPhase[.processing] ?? 0).databaseValue
        case .failedTransfer: (summary.failuresByPhase[.transfer] ?? 0).databaseValue
        case .failedAssert: (summary.failuresByPhase[.assert] ?? 0).databaseValue
        case .failureReasons: Self.encodeReasons(summary.failuresByReason).databaseValue
        case .sketchDuration: Self.blob(summary.duration).databaseValue
        case .sketchResolve: summary.phases[.resolve].flatMap(Self.blob).databaseValue
        case .sketchConnect: summary.phases[.connect].flatMap(Self.blob).databaseValue
        case .sketchTLS: summary.phases[.tls].flatMap(Self.blob).databaseValue
        case .sketchProcessing: summary.phases[.processing].flatMap(Self.blob).databaseValue
        case .sketchTransfer: summary.phases[.transfer].flatMap(Self.blob).databaseValue
        case .weightedTotal: summary.weighted.total.databaseValue
        case .weightedSuccess: summary.weighted.success.databaseValue
        case .weightedGoodLatency: summary.weighted.goodLatency.databaseValue
        case .successFirstAttempt: summary.successFirstAttempt.databaseValue
        case .weightedSuccessFirstAttempt: summary.weighted.successFirstAttempt.databaseValue
        }
    }

    /// `Columns.allCases`, made once: the upsert's SQL and its arguments both follow it.
    static let columns = Columns.allCases
    static let columnList = columns.map(\.name).joined(separator: ", ")

    // MARK: Writing and reading

    /// Built once: `cachedStatement(sql:)` is called per row.
    static let upsertMinuteSQL = upsertSQL(.minute)
    static let upsertHourSQL = upsertSQL(.hour)

    static func upsertSQL(_ level: RollupLevel) -> String {
        insertStatement(into: level.table, columns)
            + " ON CONFLICT (target_id, start_s) DO UPDATE SET \(columns.compactMap(\.merge).joined(separator: ", "))"
    }

    /// Adds this row's counts and sketches to the stored row of its bucket, creating it when new.
    /// SQL rather than a GRDB upsert: the merge runs in SQLite (`functions`), one statement per
    /// row, in the hottest part of an insert (bench/storage).
    func upsert(_ level: RollupLevel, db: Database) throws {
        let statement = try db.cachedStatement(sql: level == .minute ? Self.upsertMinuteSQL : Self.upsertHourSQL)
        try statement.execute(arguments: StatementArguments(Self.columns.map(value)))
    }

    /// The summary of the rows of `level` for `target` with start_s in `range`.
    static func summary(_ level: RollupLevel, targetID: Int64, range: Range<Int64>, db: Database) throws -> WindowSummary {
        var out = WindowSummary()
        guard !range.isEmpty else { return out }
        let statement = try db.cachedStatement(
            sql: "SELECT \(columnList) FROM \(level.table) WHERE target_id = ? AND start_s >= ? AND start_s < ?")
        let rows = try Row.fetchCursor(statement, arguments: [targetID, range.lowerBound, range.upperBound])
        while let row = try rows.next() {
            out.merge(try RollupRecord(listed: row).summary)
        }
        return out
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
        encodeReasonCodes(Dictionary(uniqueKeysWithValues: reasons.map { (FileCodes.code($0.key), $0.value) }))
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
            out[try FileCodes.reason(code), default: 0] += count
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

