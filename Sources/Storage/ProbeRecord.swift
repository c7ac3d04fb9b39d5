import Foundation
import GRDB
import PhaseWatchCore

/// A row of table `probe`: one probe without its shared facts (those are in `detail`, see
/// `ProbeFacts`). The same type is written by `ProbeStore.insert` and read back by `results`
/// and `latestResults`.
struct ProbeRecord: Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "probe"

    enum Columns: String, ColumnExpression, CaseIterable {
        case targetID = "target_id"
        case startedUs = "started_us"
        case seq
        case success
        case goodLatency = "good_latency"
        case failurePhase = "failure_phase"
        case failureReason = "failure_reason"
        case durationUs = "duration_us"
        case resolveUs = "resolve_us"
        case connectUs = "connect_us"
        case tlsUs = "tls_us"
        case processingUs = "processing_us"
        case transferUs = "transfer_us"
        case bodyBytes = "body_bytes"
        case contentLength = "content_length"
        case detailID = "detail_id"
        case traceID = "trace_id"
        case weight
        case connectionAgeUs = "connection_age_us"
        case successAfterRetry = "success_after_retry"
    }

    var targetID: Int64
    /// Microseconds since the Unix epoch.
    var startedUs: Int64
    /// Tells apart probes of a target that started in the same microsecond; 0 almost always.
    var seq: Int64
    var success: Bool
    /// Succeeded within the latency threshold in force when the probe ran.
    var goodLatency: Bool
    /// `FileCodes` of the failure; both nil for a success.
    var failurePhase: Int?
    var failureReason: Int?
    var durationUs: Int64
    var resolveUs: Int64?
    var connectUs: Int64?
    var tlsUs: Int64?
    var processingUs: Int64?
    var transferUs: Int64?
    var bodyBytes: Int?
    var contentLength: Int?
    var detailID: Int64
    var traceID: StoredTraceID
    /// `StoredProbe.weight`.
    var weight: Double
    /// How long the connection had been open when the request reused it.
    var connectionAgeUs: Int64?
    /// Succeeded, but only after a retry (`ProbeResult.attempts` > 1): not good at the first
    /// attempt (docs/slo.md#first-attempt-and-final). A column here rather than a read of
    /// `detail.attempts`, so window queries need no join.
    var successAfterRetry: Bool

    /// The row of `probe`, all but `targetID` and `detailID`, which the write transaction
    /// resolves (left 0 until then).
    init(_ probe: StoredProbe) {
        let r = probe.result
        targetID = 0
        startedUs = Microseconds.date(r.startedAt)
        seq = 0
        success = r.success
        goodLatency = probe.isGoodLatency
        failurePhase = r.failure.map { FileCodes.code($0.phase) }
        failureReason = r.failure.map { FileCodes.code($0.reason) }
        durationUs = Microseconds.seconds(r.duration)
        resolveUs = r.phases.resolve.map(Microseconds.seconds)
        connectUs = r.phases.connect.map(Microseconds.seconds)
        tlsUs = r.phases.tls.map(Microseconds.seconds)
        processingUs = r.phases.processing.map(Microseconds.seconds)
        transferUs = r.phases.transfer.map(Microseconds.seconds)
        bodyBytes = r.http?.bodyBytes
        contentLength = r.http?.contentLength
        detailID = 0
        traceID = StoredTraceID(r.traceId)
        weight = probe.weight
        connectionAgeUs = r.connectionAge.map(Microseconds.seconds)
        successAfterRetry = r.success && r.attempts > 1
    }

    init(row: Row) throws {
        targetID = row[Columns.targetID]
        startedUs = row[Columns.startedUs]
        seq = row[Columns.seq]
        success = row[Columns.success]
        goodLatency = row[Columns.goodLatency]
        failurePhase = row[Columns.failurePhase]
        failureReason = row[Columns.failureReason]
        durationUs = row[Columns.durationUs]
        resolveUs = row[Columns.resolveUs]
        connectUs = row[Columns.connectUs]
        tlsUs = row[Columns.tlsUs]
        processingUs = row[Columns.processingUs]
        transferUs = row[Columns.transferUs]
        bodyBytes = row[Columns.bodyBytes]
        contentLength = row[Columns.contentLength]
        detailID = row[Columns.detailID]
        traceID = try StoredTraceID(databaseValue: row[Columns.traceID])
        weight = row[Columns.weight]
        connectionAgeUs = row[Columns.connectionAgeUs]
        successAfterRetry = row[Columns.successAfterRetry]
    }

    func encode(to container: inout PersistenceContainer) {
        for column in Self.columns { container[column] = value(column) }
    }

    /// The value of one column. A switch, so that a column added to `Columns` without a value
    /// does not compile.
    func value(_ column: Columns) -> DatabaseValue {
        switch column {
        case .targetID: targetID.databaseValue
        case .startedUs: startedUs.databaseValue
        case .seq: seq.databaseValue
        case .success: success.databaseValue
        case .goodLatency: goodLatency.databaseValue
        case .failurePhase: failurePhase.databaseValue
        case .failureReason: failureReason.databaseValue
        case .durationUs: durationUs.databaseValue
        case .resolveUs: resolveUs.databaseValue
        case .connectUs: connectUs.databaseValue
        case .tlsUs: tlsUs.databaseValue
        case .processingUs: processingUs.databaseValue
        case .transferUs: transferUs.databaseValue
        case .bodyBytes: bodyBytes.databaseValue
        case .contentLength: contentLength.databaseValue
        case .detailID: detailID.databaseValue
        case .traceID: traceID.databaseValue
        case .weight: weight.databaseValue
        case .connectionAgeUs: connectionAgeUs.databaseValue
        case .successAfterRetry: successAfterRetry.databaseValue
        }
    }

    /// Time of each network phase, in `Phase.network` order (nil: not timed).
    var phasesUs: [Int64?] {
        Phase.network.map { phase in
            switch phase {
            case .resolve: resolveUs
            case .connect: connectUs
            case .tls: tlsUs
            case .processing: processingUs
            case .transfer: transferUs
            case .assert: nil
            }
        }
    }

    /// Inserts the row with the lowest free `seq` (0 unless another probe of the target started
    /// in the same microsecond). A cached statement of `Columns` rather than GRDB's `insert`,
    /// which fills a `PersistenceContainer` per row: the batched insert is bench/storage's hot path.
    mutating func insertWithFreeSeq(_ db: Database) throws {
        let statement = try db.cachedStatement(sql: Self.insertSQL)
        try statement.execute(arguments: StatementArguments(Self.columns.map(value)))
        if db.changesCount == 0 {
            seq =
                try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT max(seq) + 1 FROM probe WHERE target_id = ? AND started_us = ?"),
                    arguments: [targetID, startedUs]) ?? 0
            try statement.execute(arguments: StatementArguments(Self.columns.map(value)))
        }
    }

    /// `Columns.allCases`, made once: the insert's column list and its arguments both follow it.
    static let columns = Columns.allCases

    static let insertSQL = insertStatement(into: databaseTableName, columns) + " ON CONFLICT DO NOTHING"

    /// The result this row and its facts stand for.
    func result(target: String, facts: ProbeFacts) throws -> ProbeResult {
        let phases = Phases(
            resolve: resolveUs.map(Microseconds.toSeconds), connect: connectUs.map(Microseconds.toSeconds),
            tls: tlsUs.map(Microseconds.toSeconds), processing: processingUs.map(Microseconds.toSeconds),
            transfer: transferUs.map(Microseconds.toSeconds))
        var failure: Failure?
        if let failurePhase, let failureReason {
            failure = Failure(
                phase: try FileCodes.phase(failurePhase), reason: try FileCodes.reason(failureReason),
                message: facts.failureMessage ?? "")
        }
        var r = ProbeResult(
            target: target, url: facts.url, startedAt: Microseconds.toDate(startedUs), success: success,
            failure: failure, phases: phases, duration: Microseconds.toSeconds(durationUs), traceId: traceID.string)
        facts.apply(to: &r, bodyBytes: bodyBytes, contentLength: contentLength)
        r.connectionAge = connectionAgeUs.map(Microseconds.toSeconds)
        return r
    }
}

/// `INSERT INTO table (columns…) VALUES (?, …)`: the arguments go in the order of `columns`.
func insertStatement(into table: String, _ columns: [some ColumnExpression]) -> String {
    let names = columns.map(\.name).joined(separator: ", ")
    return "INSERT INTO \(table) (\(names)) VALUES (\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
}
