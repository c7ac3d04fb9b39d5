import Foundation
import GRDB
import PhaseWatchCore

/// One window asked of `ProbeStore.summaries(target:windows:)`: [from, to).
public struct WindowQuery: Sendable, Equatable {
    public var from: Date
    public var to: Date
    /// Whether to fill the latency sketches too. Without them only the counts are read, summed
    /// by SQLite with no BLOB decoded: a 30-day window of counts costs well under a millisecond.
    public var sketches: Bool

    public init(from: Date, to: Date, sketches: Bool) {
        self.from = from
        self.to = to
        self.sketches = sketches
    }
}

extension ProbeStore {
    /// Summaries of several windows of one target, read in one transaction so that they all see
    /// the same committed probes. Windows are answered as `WindowPlan` says (exact within raw
    /// retention). Without sketches, `failuresByReason` is left empty as well. `connection` is
    /// the kind of request summed: fresh ones (also nil, a `connection: fresh` target's) or those
    /// on kept connections (docs/storage.md#connection-series); `address`, one address's results
    /// of an `ip_policy: all` target instead.
    public func summaries(
        target: String, windows: [WindowQuery], connection: ConnectionKind? = nil, address: String? = nil
    ) async throws -> [WindowSummary] {
        try await writer.read { db in
            ThreadPriority.lowerCurrentThread()  // the SLO refresh's bulk: probing comes first
            guard let targetID = try Self.existingTargetID(Series.name(target, connection, address: address), db: db) else {
                return windows.map { _ in WindowSummary() }
            }
            let horizons = try Horizons.read(db)
            return try windows.map { window in
                let plan = WindowPlan(from: Microseconds.date(window.from), to: Microseconds.date(window.to), horizons: horizons)
                return window.sketches
                    ? try Self.summary(plan, targetID: targetID, db: db)
                    : try Self.counts(plan, targetID: targetID, db: db)
            }
        }
    }

    static func summary(_ plan: WindowPlan, targetID: Int64, db: Database) throws -> WindowSummary {
        var summary = WindowSummary()
        for range in plan.raw {
            summary.merge(try rawSummary(targetID: targetID, range: range, db: db))
        }
        for range in plan.minutes {
            summary.merge(try RollupRecord.summary(.minute, targetID: targetID, range: range, db: db))
        }
        if let range = plan.hours {
            summary.merge(try RollupRecord.summary(.hour, targetID: targetID, range: range, db: db))
        }
        return summary
    }

    static func rawSummary(targetID: Int64, range: Range<Int64>, db: Database) throws -> WindowSummary {
        typealias Columns = ProbeRecord.Columns
        // The columns a summary needs, not whole `ProbeRecord`s: no trace id or detail to read.
        let statement = try db.cachedStatement(
            sql: """
                SELECT success, good_latency, failure_phase, failure_reason, duration_us, resolve_us, connect_us, \
                tls_us, processing_us, transfer_us, weight, success_after_retry FROM probe WHERE target_id = ? AND started_us >= ? AND started_us < ?
                """)
        var summary = WindowSummary()
        let rows = try Row.fetchCursor(statement, arguments: [targetID, range.lowerBound, range.upperBound])
        while let row = try rows.next() {
            try summary.add(
                success: row[Columns.success], afterRetry: row[Columns.successAfterRetry], goodLatency: row[Columns.goodLatency], failurePhase: row[Columns.failurePhase],
                failureReason: row[Columns.failureReason], durationUs: row[Columns.durationUs],
                phasesUs: [row[Columns.resolveUs], row[Columns.connectUs], row[Columns.tlsUs], row[Columns.processingUs], row[Columns.transferUs]],
                weight: row[Columns.weight])
        }
        return summary
    }

    /// Counts only (no sketches, no reasons), each part summed by SQLite.
    static func counts(_ plan: WindowPlan, targetID: Int64, db: Database) throws -> WindowSummary {
        var summary = WindowSummary()
        let raw = try db.cachedStatement(
            sql: """
                SELECT count(*) AS probes, total(success) AS success, total(good_latency) AS good_latency, failure_phase, \
                total(weight) AS weighted_total, total(weight * success) AS weighted_success, \
                total(weight * good_latency) AS weighted_good_latency, \
                total(success - success_after_retry) AS success_first_attempt, \
                total(weight * (success - success_after_retry)) AS weighted_success_first_attempt FROM probe WHERE target_id = ? AND started_us >= ? AND started_us < ? GROUP BY failure_phase
                """)
        for range in plan.raw {
            for row in try Row.fetchAll(raw, arguments: [targetID, range.lowerBound, range.upperBound]) {
                let count: Int = row["probes"]
                summary.total += count
                summary.success += Int(row["success"] as Double)
                summary.goodLatency += Int(row["good_latency"] as Double)
                summary.weighted.total += row["weighted_total"]
                summary.weighted.success += row["weighted_success"]
                summary.weighted.goodLatency += row["weighted_good_latency"]
                summary.successFirstAttempt += Int(row["success_first_attempt"] as Double)
                summary.weighted.successFirstAttempt += row["weighted_success_first_attempt"]
                if let code: Int = row["failure_phase"] {
                    summary.failuresByPhase[try FileCodes.phase(code), default: 0] += count
                }
            }
        }
        for range in plan.minutes {
            try addRollupCounts(.minute, targetID: targetID, range: range, to: &summary, db: db)
        }
        if let range = plan.hours {
            try addRollupCounts(.hour, targetID: targetID, range: range, to: &summary, db: db)
        }
        return summary
    }

    /// Each count column summed under its own name; the weighted sums as `RollupRecord` reads them.
    private static let rollupCountColumns = (RollupRecord.Columns.counts.map { "total(\($0.name)) AS \($0.name)" }
        + ["total(\(RollupRecord.Columns.successFirstAttempt.stored)) AS \(RollupRecord.Columns.successFirstAttempt.name)"]
        + RollupRecord.Columns.weightedSums.map { "total(\($0.stored)) AS \($0.name)" }).joined(separator: ", ")

    private static func addRollupCounts(
        _ level: RollupLevel, targetID: Int64, range: Range<Int64>, to summary: inout WindowSummary, db: Database
    ) throws {
        guard !range.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: "SELECT \(rollupCountColumns) FROM \(level.table) WHERE target_id = ? AND start_s >= ? AND start_s < ?")
        guard let row = try Row.fetchOne(statement, arguments: [targetID, range.lowerBound, range.upperBound]) else { return }
        func sum(_ column: RollupRecord.Columns) -> Int { Int(row[column] as Double) }
        summary.total += sum(.total)
        summary.success += sum(.success)
        summary.goodLatency += sum(.goodLatency)
        summary.successFirstAttempt += sum(.successFirstAttempt)
        summary.weighted.total += row[RollupRecord.Columns.weightedTotal] as Double
        summary.weighted.success += row[RollupRecord.Columns.weightedSuccess] as Double
        summary.weighted.goodLatency += row[RollupRecord.Columns.weightedGoodLatency] as Double
        summary.weighted.successFirstAttempt += row[RollupRecord.Columns.weightedSuccessFirstAttempt] as Double
        for phase in Phase.allCases {
            let n = sum(.failed(phase))
            if n > 0 { summary.failuresByPhase[phase, default: 0] += n }
        }
    }
}
