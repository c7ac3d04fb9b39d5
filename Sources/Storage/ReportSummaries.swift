import Foundation
import GRDB
import PhaseWatchCore

extension ProbeStore {
    /// Summaries of many windows of one target for a report (docs/api.md#get-apiv1targetsnamereport):
    /// the numbers `summaries(target:windows:connection:)` gives with sketches, except that of
    /// the sketches only the total duration's is kept — a report shows no phase quantiles or
    /// failure reasons, so `phases` and `failuresByReason` stay empty. The hour rollups of all
    /// windows are read in one query, each row once and without its phase sketches, and each
    /// window sums its own rows in the same order as `summaries` does, so the counts and
    /// weighted sums come out the same to the last bit.
    public func reportSummaries(target: String, windows: [(from: Date, to: Date)], connection: ConnectionKind? = nil) async throws -> [WindowSummary] {
        try await writer.read { db in
            guard let targetID = try Self.existingTargetID(Series.name(target, connection), db: db) else {
                return windows.map { _ in WindowSummary() }
            }
            let horizons = try Horizons.read(db)
            let plans = windows.map { WindowPlan(from: Microseconds.date($0.from), to: Microseconds.date($0.to), horizons: horizons) }
            let hours = plans.compactMap(\.hours).filter { !$0.isEmpty }
            let rows = try HourCounts.fetch(
                targetID: targetID, range: (hours.map(\.lowerBound).min() ?? 0)..<(hours.map(\.upperBound).max() ?? 0), db: db)
            return try plans.map { plan in
                var summary = WindowSummary()
                for range in plan.raw {
                    summary.merge(try Self.rawSummary(targetID: targetID, range: range, db: db))
                }
                for range in plan.minutes {
                    summary.merge(try RollupRecord.summary(.minute, targetID: targetID, range: range, db: db))
                }
                if let range = plan.hours {
                    summary.merge(HourCounts.summary(of: rows, in: range))
                }
                summary.phases = [:]
                summary.failuresByReason = [:]
                return summary
            }
        }
    }
}

/// The part of an hour rollup row a report reads: its counts, weighted sums and total
/// duration sketch, which SQLite hands over without the phase sketches.
private struct HourCounts {
    var startS: Int64
    var summary: WindowSummary

    typealias Columns = RollupRecord.Columns
    /// `start_s`, `Columns.counts`, the first-attempt count and the weighted sums as
    /// `RollupRecord` reads them (a NULL sum of an older row stands for its count), then the
    /// duration sketch; read by position, as `RollupRecord(listed:)` reads its rows.
    static let columns: [String] = [Columns.startS.name] + Columns.counts.map(\.name)
        + [Columns.successFirstAttempt.stored] + Columns.weightedSums.map(\.stored) + [Columns.sketchDuration.name]
    private static func position(_ column: Columns) -> Int { 1 + Columns.counts.firstIndex(of: column)! }
    private static let total = position(.total), success = position(.success), goodLatency = position(.goodLatency)
    private static let failed = Phase.allCases.map { ($0, position(Columns.failed($0))) }
    private static let firstAttempt = 1 + Columns.counts.count
    /// `Columns.weightedSums` in their order: total, success, good latency, first attempt.
    private static let weighted = firstAttempt + 1
    private static let sketch = weighted + Columns.weightedSums.count

    static func fetch(targetID: Int64, range: Range<Int64>, db: Database) throws -> [HourCounts] {
        guard !range.isEmpty else { return [] }
        let statement = try db.cachedStatement(
            sql: "SELECT \(columns.joined(separator: ", ")) FROM \(RollupLevel.hour.table) WHERE target_id = ? AND start_s >= ? AND start_s < ? ORDER BY start_s")
        var out: [HourCounts] = []
        let cursor = try Row.fetchCursor(statement, arguments: [targetID, range.lowerBound, range.upperBound])
        while let row = try cursor.next() {
            var summary = WindowSummary(total: row[total], success: row[success], successFirstAttempt: row[firstAttempt], goodLatency: row[goodLatency])
            for (phase, at) in failed {
                let n: Int = row[at]
                if n > 0 { summary.failuresByPhase[phase] = n }
            }
            summary.weighted = WindowSummary.Weighted(
                total: row[weighted], success: row[weighted + 1], goodLatency: row[weighted + 2], successFirstAttempt: row[weighted + 3])
            summary.duration = try RollupRecord.sketch(row[sketch]) ?? LatencySketch()
            out.append(HourCounts(startS: row[0], summary: summary))
        }
        return out
    }

    /// The summary of the rows starting in `range` (`rows` sorted by start), merged in order
    /// from an empty one as `RollupRecord.summary` merges them.
    static func summary(of rows: [HourCounts], in range: Range<Int64>) -> WindowSummary {
        var low = 0, high = rows.count
        while low < high {
            let mid = (low + high) / 2
            if rows[mid].startS < range.lowerBound { low = mid + 1 } else { high = mid }
        }
        var out = WindowSummary()
        var index = low
        while index < rows.count, rows[index].startS < range.upperBound {
            out.merge(rows[index].summary)
            index += 1
        }
        return out
    }
}
