import Foundation
import GRDB
import PhaseWatchCore

/// One stored probe reduced to what a target's state follows (`TargetStateMachine`).
public struct ProbeOutcome: Sendable, Equatable {
    public var startedAt: Date
    public var success: Bool
    /// Seconds.
    public var duration: Double

    public init(startedAt: Date, success: Bool, duration: Double) {
        self.startedAt = startedAt
        self.success = success
        self.duration = duration
    }
}

extension ProbeStore {
    /// The outcomes of every request of `target` (both connection series, as the agent's state
    /// machine sees them) started in [from, to), oldest first, after the last `before` started
    /// earlier (to replay the state into `from`); and where raw rows begin: nil when retention
    /// deleted none yet. Reads three columns, no detail or trace id.
    public func outcomes(target: String, from: Date, to: Date, before: Int) async throws -> (outcomes: [ProbeOutcome], rawFrom: Date?) {
        let fromUs = Microseconds.date(from), toUs = Microseconds.date(to)
        return try await writer.read { db in
            let horizon = try Horizons.read(db).raw
            let rawFrom = horizon == .min ? nil : Microseconds.toDate(horizon)
            let ids = try ConnectionKind.allCases.compactMap { try Self.existingTargetID(Series.name(target, $0), db: db) }
            guard !ids.isEmpty else { return ([], rawFrom) }
            let list = ids.map(String.init).joined(separator: ", ")
            func fetch(_ sql: String, _ arguments: StatementArguments) throws -> [ProbeOutcome] {
                try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                    ProbeOutcome(startedAt: Microseconds.toDate($0[0]), success: $0[1], duration: Microseconds.toSeconds($0[2]))
                }
            }
            let earlier = try fetch(
                "SELECT started_us, success, duration_us FROM probe WHERE target_id IN (\(list)) AND started_us < ? ORDER BY started_us DESC LIMIT ?",
                [fromUs, before])
            let within = try fetch(
                "SELECT started_us, success, duration_us FROM probe WHERE target_id IN (\(list)) AND started_us >= ? AND started_us < ? ORDER BY started_us",
                [fromUs, toUs])
            return (earlier.reversed() + within, rawFrom)
        }
    }
}
