import Foundation
import GRDB
import PhaseWatchCore

/// The probes of one target in one UTC day, from its hour rollups. Plain counts, no weights:
/// those are all the covering index `rollup_hour_counts` holds, so 90 days of every target are
/// read without touching the rows' sketches.
public struct DayCounts: Sendable, Equatable {
    public var total: Int
    public var success: Int

    public init(total: Int = 0, success: Int = 0) {
        self.total = total
        self.success = success
    }
}

extension ProbeStore {
    /// For each of `targets` (name and the kind of request its SLOs judge), its counts per UTC
    /// day of [from, to) (`from` a UTC midnight), keyed by the day's index from `from`; days
    /// without probes are left out. One query for all targets: the hour rollups' primary key
    /// (target_id, start_s) answers each target's range.
    public func dailyCounts(targets: [(name: String, connection: ConnectionKind?)], from: Date, to: Date) async throws -> [String: [Int: DayCounts]] {
        let fromS = Int64(from.timeIntervalSince1970.rounded(.down)), toS = Int64(to.timeIntervalSince1970.rounded(.up))
        let wanted = Dictionary(targets.map { (Series.name($0.name, $0.connection), $0.name) }, uniquingKeysWith: { a, _ in a })
        typealias Columns = RollupRecord.Columns
        return try await writer.read { db in
            ThreadPriority.lowerCurrentThread()  // the page waits a little; probing comes first
            var ids: [Int64: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name FROM target") {
                if let target = wanted[row["name"] as String] { ids[row["id"]] = target }
            }
            guard !ids.isEmpty else { return [:] }
            let sql = """
                SELECT target_id, (start_s - ?) / 86400 AS day, total(\(Columns.total.name)), total(\(Columns.success.name)) FROM \(RollupLevel.hour.table) \
                WHERE target_id IN (\(ids.keys.map(String.init).joined(separator: ", "))) AND start_s >= ? AND start_s < ? \
                GROUP BY target_id, day
                """
            var out: [String: [Int: DayCounts]] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: [fromS, fromS, toS]) {
                guard let target = ids[row[0]] else { continue }
                out[target, default: [:]][row[1]] = DayCounts(total: Int(row[2] as Double), success: Int(row[3] as Double))
            }
            return out
        }
    }
}
