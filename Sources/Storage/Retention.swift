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
    /// ends at or before the cut-off), plus detail rows no remaining probe uses and the records of
    /// when agents ran and targets were configured that ended before the hour cut-off. Works per target
    /// in transactions of at most `batchSize` rows so inserts keep flowing. Returns the number of
    /// rows deleted (all tables).
    ///
    /// First records the new horizons, so that window queries stop reading a level as soon as
    /// its rows start to go, and inserts stop writing raw rows that would be deleted anyway.
    ///
    /// A clock cannot make it delete what is recent: `now` counts only up to the newest stored
    /// probe plus `clockTolerance`. A wall clock stepped ahead (or a first start after long
    /// downtime) thus deletes nothing that is younger than the retention, measured from the
    /// newest data, and no horizon moves past the newest data (docs/storage.md, "Clock steps").
    @discardableResult
    public func enforceRetention(
        now: Date, raw: Duration, rollup: Duration, minuteRollup: Duration? = nil, batchSize: Int = retentionBatchSize,
        clockTolerance: Duration = defaultClockTolerance
    ) async throws -> Int {
        guard batchSize >= 1 else { throw StoreError.invalidArgument("batchSize must be at least 1") }
        var nowUs = Microseconds.date(now)
        if let newest = try await newestDataMicros() {
            nowUs = min(nowUs, newest + Microseconds.duration(clockTolerance))
        }
        let minute = minuteRollup ?? Self.defaultMinuteRetention(raw: raw, rollup: rollup)
        let rawCut = nowUs - Microseconds.duration(raw)
        let minuteCut = floorDiv(nowUs - Microseconds.duration(minute), WindowPlan.minute) * WindowPlan.minute
        let hourCut = floorDiv(nowUs - Microseconds.duration(rollup), WindowPlan.hour) * WindowPlan.hour
        let (horizons, targetIDs) = try await writer.write { db in
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
        let detailCut = horizons.raw == .min ? Int64.min : horizons.raw - DetailRecord.touchInterval
        while true {
            let n = try await writer.write { db in
                try db.execute(
                    sql: "DELETE FROM detail WHERE id IN (SELECT id FROM detail WHERE last_used_us < ? LIMIT ?)",
                    arguments: [detailCut, batchSize])
                return db.changesCount
            }
            deleted += n
            if n > 0 { detailRefs.withLock { $0.removeAll() } }
            if n < batchSize { break }
        }
        // When agents ran and targets were configured, before the oldest rollup: no window has
        // data there. The newest run stays (the next start closes old spans where it ended).
        if horizons.hour != .min {
            deleted += try await writer.write { db in
                try db.execute(
                    sql: "DELETE FROM agent_run WHERE coalesce(stopped_us, last_seen_us) < ? AND id < (SELECT max(id) FROM agent_run)",
                    arguments: [horizons.hour])
                let runs = db.changesCount
                try db.execute(sql: "DELETE FROM target_span WHERE to_us < ?", arguments: [horizons.hour])
                return runs + db.changesCount
            }
        }
        return deleted
    }

    /// How far past the newest stored probe retention's `now` may be.
    public static let defaultClockTolerance: Duration = .seconds(3_600)

    /// The end of the newest stored data, any target, microseconds: a raw probe's start, else
    /// the end of the newest minute or hour rollup bucket; nil for an empty database.
    public func newestDataMicros() async throws -> Int64? {
        try await writer.read { db in
            ThreadPriority.lowerCurrentThread()
            // One index seek per target and table (each table's key starts with target_id).
            return try Int64.fetchOne(
                db,
                sql: """
                    SELECT coalesce(
                      (SELECT max((SELECT max(started_us) FROM probe WHERE target_id = target.id)) FROM target),
                      (SELECT max((SELECT max(start_s) FROM rollup_minute WHERE target_id = target.id)) FROM target) * 1000000 + ?,
                      (SELECT max((SELECT max(start_s) FROM rollup_hour WHERE target_id = target.id)) FROM target) * 1000000 + ?)
                    """, arguments: [WindowPlan.minute, WindowPlan.hour])
        }
    }

    /// Deletes rows of one target with `time` < `before`, oldest first, in small transactions.
    private func deleteBatched(table: String, time: String, targetID: Int64, before: Int64, batchSize: Int) async throws -> Int {
        guard before != .min else { return 0 }
        var deleted = 0
        while true {
            let (n, done) = try await writer.write { db in
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
