import Foundation
import GRDB
import PhaseWatchCore

extension ProbeStore {
    /// Rows deleted per transaction: small enough that a batch insert waiting behind one is
    /// delayed by milliseconds, not seconds.
    public static let retentionBatchSize = 5_000

    /// How long minute rollups are kept when `enforceRetention` is not told: at least as long as
    /// raw rows and long enough for 30-day SLO windows (35 days), never longer than rollups.
    /// Minute rows are ~60× hour rows; keeping them for the whole rollup retention (400 days by
    /// default) would make them most of the file. Beyond this age, window edges are answered to
    /// the hour.
    public static func defaultMinuteRetention(raw: Duration, rollup: Duration) -> Duration {
        min(rollup, max(raw, .seconds(35 * 86_400)))
    }

    /// Deletes raw rows that started before `now − raw`, minute rollups older than
    /// `now − minuteRollup` and hour rollups older than `now − rollup` (a bucket goes when it
    /// ends at or before the cut-off), plus detail rows no remaining probe uses. Works per target
    /// in transactions of at most `batchSize` rows so inserts keep flowing. Returns the number of
    /// rows deleted (all tables).
    ///
    /// First records the new horizons, so that window queries stop reading a level as soon as
    /// its rows start to go, and inserts stop writing raw rows that would be deleted anyway.
    @discardableResult
    public func enforceRetention(
        now: Date, raw: Duration, rollup: Duration, minuteRollup: Duration? = nil, batchSize: Int = retentionBatchSize
    ) async throws -> Int {
        guard batchSize >= 1 else { throw StoreError.invalidArgument("batchSize must be at least 1") }
        let nowUs = Microseconds.date(now)
        let minute = minuteRollup ?? Self.defaultMinuteRetention(raw: raw, rollup: rollup)
        let rawCut = nowUs - Microseconds.duration(raw)
        let minuteCut = floorDiv(nowUs - Microseconds.duration(minute), WindowPlan.minute) * WindowPlan.minute
        let hourCut = floorDiv(nowUs - Microseconds.duration(rollup), WindowPlan.hour) * WindowPlan.hour
        let (horizons, targetIDs) = try await pool.write { db in
            ThreadPriority.lowerCurrentThread()  // retention can wait; probing comes first
            try Horizons.advance("raw", to: rawCut, db: db)
            try Horizons.advance("minute", to: minuteCut, db: db)
            try Horizons.advance("hour", to: hourCut, db: db)
            return (try Horizons.read(db), try Int64.fetchAll(db, sql: "SELECT id FROM target ORDER BY id"))
        }
        var deleted = 0
        for targetID in targetIDs {
            deleted += try await deleteBatched(
                table: "probe", time: "started_us", targetID: targetID, before: horizons.raw, batchSize: batchSize)
            deleted += try await deleteBatched(
                table: "rollup_minute", time: "start_s", targetID: targetID, before: horizons.minute / 1_000_000, batchSize: batchSize)
            deleted += try await deleteBatched(
                table: "rollup_hour", time: "start_s", targetID: targetID, before: horizons.hour / 1_000_000, batchSize: batchSize)
        }
        // Every probe still referencing a detail started at most touchInterval after its
        // last_used_us, and every probe before the raw horizon is gone by now.
        let detailCut = horizons.raw == .min ? Int64.min : horizons.raw - DetailTable.touchInterval
        while true {
            let n = try await pool.write { db in
                try db.execute(
                    sql: "DELETE FROM detail WHERE id IN (SELECT id FROM detail WHERE last_used_us < ? LIMIT ?)",
                    arguments: [detailCut, batchSize])
                return db.changesCount
            }
            deleted += n
            if n > 0 { detailRefs.withLock { $0.removeAll() } }
            if n < batchSize { break }
        }
        return deleted
    }

    /// Deletes rows of one target with `time` < `before`, oldest first, in small transactions.
    private func deleteBatched(table: String, time: String, targetID: Int64, before: Int64, batchSize: Int) async throws -> Int {
        guard before != .min else { return 0 }
        var deleted = 0
        while true {
            let (n, done) = try await pool.write { db in
                // The time of the batch's last row; ties at that time go in the same batch.
                let last = try Int64.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT \(time) FROM \(table) WHERE target_id = ? AND \(time) < ? ORDER BY \(time) LIMIT 1 OFFSET ?"),
                    arguments: [targetID, before, batchSize - 1])
                if let last {
                    try db.cachedStatement(sql: "DELETE FROM \(table) WHERE target_id = ? AND \(time) <= ?")
                        .execute(arguments: [targetID, last])
                } else {
                    try db.cachedStatement(sql: "DELETE FROM \(table) WHERE target_id = ? AND \(time) < ?")
                        .execute(arguments: [targetID, before])
                }
                return (db.changesCount, last == nil)
            }
            deleted += n
            if done { return deleted }
        }
    }
}
