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
    /// retention). Without sketches, `failuresByReason` is left empty as well.
    public func summaries(target: String, windows: [WindowQuery]) async throws -> [WindowSummary] {
        try await pool.read { db in
            ThreadPriority.lowerCurrentThread()  // the SLO refresh's bulk: probing comes first
            guard let targetID = try Self.existingTargetID(target, db: db) else {
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
            summary.merge(try RollupTable.summary(.minute, targetID: targetID, range: range, db: db))
        }
        if let range = plan.hours {
            summary.merge(try RollupTable.summary(.hour, targetID: targetID, range: range, db: db))
        }
        return summary
    }

    static func rawSummary(targetID: Int64, range: Range<Int64>, db: Database) throws -> WindowSummary {
        let statement = try db.cachedStatement(
            sql: """
                SELECT success, good_latency, failure_phase, failure_reason, duration_us, resolve_us, connect_us, \
                tls_us, processing_us, transfer_us FROM probe WHERE target_id = ? AND started_us >= ? AND started_us < ?
                """)
        var summary = WindowSummary()
        let rows = try Row.fetchCursor(statement, arguments: [targetID, range.lowerBound, range.upperBound])
        while let row = try rows.next() {
            try summary.add(
                success: row[0], goodLatency: row[1], failurePhase: row[2], failureReason: row[3], durationUs: row[4],
                phasesUs: [row[5], row[6], row[7], row[8], row[9]])
        }
        return summary
    }

    /// Counts only (no sketches, no reasons), each part summed by SQLite.
    static func counts(_ plan: WindowPlan, targetID: Int64, db: Database) throws -> WindowSummary {
        var summary = WindowSummary()
        let raw = try db.cachedStatement(
            sql: """
                SELECT count(*), total(success), total(good_latency), failure_phase FROM probe \
                WHERE target_id = ? AND started_us >= ? AND started_us < ? GROUP BY failure_phase
                """)
        for range in plan.raw {
            for row in try Row.fetchAll(raw, arguments: [targetID, range.lowerBound, range.upperBound]) {
                let count: Int = row[0]
                summary.total += count
                summary.success += Int(row[1] as Double)
                summary.goodLatency += Int(row[2] as Double)
                if let code: Int = row[3] {
                    summary.failuresByPhase[try Codes.phase(code), default: 0] += count
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

    private static let rollupCountColumns = (["total", "success", "good_latency"] + RollupTable.failedColumns)
        .map { "total(\($0))" }.joined(separator: ", ")

    private static func addRollupCounts(
        _ level: RollupLevel, targetID: Int64, range: Range<Int64>, to summary: inout WindowSummary, db: Database
    ) throws {
        guard !range.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: "SELECT \(rollupCountColumns) FROM \(level.table) WHERE target_id = ? AND start_s >= ? AND start_s < ?")
        guard let row = try Row.fetchOne(statement, arguments: [targetID, range.lowerBound, range.upperBound]) else { return }
        summary.total += Int(row[0] as Double)
        summary.success += Int(row[1] as Double)
        summary.goodLatency += Int(row[2] as Double)
        for (i, phase) in Phase.allCases.enumerated() {
            let n = Int(row[3 + i] as Double)
            if n > 0 { summary.failuresByPhase[phase, default: 0] += n }
        }
    }
}
