import Foundation
import GRDB
import PhaseWatchCore

/// When the agent ran and when each target was configured (tables `agent_run` and
/// `target_span`), and what that makes of a window: docs/slo.md#coverage.
extension ProbeStore {
    /// Records that an agent starts at `now` with `targets` configured. Targets configured
    /// before and still now keep their span (the config did not change while the agent was
    /// down); those the previous config had and this one has not are closed where the previous
    /// run was last seen.
    public func beginRun(at now: Date, targets: [String]) async throws {
        let nowUs = Microseconds.date(now)
        let id = try await writer.write { db in
            let lastSeen = try Int64.fetchOne(db, sql: "SELECT max(coalesce(stopped_us, last_seen_us)) FROM agent_run") ?? nowUs
            try Self.configure(targets, closingAt: min(lastSeen, nowUs), openingAt: nowUs, db: db)
            try db.execute(sql: "INSERT INTO agent_run (started_us, last_seen_us) VALUES (?, ?)", arguments: [nowUs, nowUs])
            return db.lastInsertedRowID
        }
        currentRun.withLock { $0 = id }
    }

    /// A reload put `targets` in force at `now`.
    public func configure(targets: [String], at now: Date) async throws {
        let nowUs = Microseconds.date(now)
        try await writer.write { db in try Self.configure(targets, closingAt: nowUs, openingAt: nowUs, db: db) }
    }

    /// The agent is still running at `now` (called once a minute): a run that dies ends here.
    public func heartbeat(at now: Date) async throws {
        guard let id = currentRun.withLock({ $0 }) else { return }
        try await writer.write { db in
            try db.execute(sql: "UPDATE agent_run SET last_seen_us = ? WHERE id = ?", arguments: [Microseconds.date(now), id])
        }
    }

    /// The agent stops cleanly at `now`.
    public func endRun(at now: Date) async throws {
        guard let id = currentRun.withLock({ $0 }) else { return }
        let nowUs = Microseconds.date(now)
        try await writer.write { db in
            try db.execute(sql: "UPDATE agent_run SET last_seen_us = ?, stopped_us = ? WHERE id = ?", arguments: [nowUs, nowUs, id])
        }
        // From here on the run is over: it no longer lasts until `now` (`observation`).
        currentRun.withLock { $0 = nil }
    }

    /// When an agent ran after `since`, with this process's run lasting until `now`. The same
    /// for every target: a caller asking about many reads it once and hands it to `observation`.
    public func runningSpans(since: Date, now: Date) async throws -> [Coverage.Span] {
        let nowUs = Microseconds.date(now)
        let current = currentRun.withLock { $0 }
        return try await writer.read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, started_us, coalesce(stopped_us, last_seen_us) FROM agent_run WHERE coalesce(stopped_us, last_seen_us) > ? OR id = ?"),
                arguments: [Microseconds.date(since), current]
            ).map { row -> Coverage.Span in
                let id: Int64 = row[0]
                return Coverage.Span(from: row[1], to: id == current ? nowUs : row[2])
            }
        }
    }

    /// Configured and observed microseconds of `target` in each window, with this process's run
    /// lasting until `now`. `running` is `runningSpans` from at most the earliest window's start;
    /// read here when not given.
    public func observation(
        target: String, windows: [(from: Date, to: Date)], now: Date, running: [Coverage.Span]? = nil
    ) async throws -> [(configured: Int64, observed: Int64)] {
        let nowUs = Microseconds.date(now)
        let earliest = windows.map(\.from).min() ?? now
        let configured = try await writer.read { db -> [Coverage.Span] in
            guard let targetID = try Self.existingTargetID(target, db: db) else { return [] }
            return try Row.fetchAll(
                db.cachedStatement(sql: "SELECT from_us, to_us FROM target_span WHERE target_id = ? AND coalesce(to_us, ?) > ?"),
                arguments: [targetID, nowUs, Microseconds.date(earliest)]
            ).map { Coverage.Span(from: $0[0], to: ($0[1] as Int64?) ?? nowUs) }
        }
        guard !configured.isEmpty else { return windows.map { _ in (0, 0) } }
        let runs: [Coverage.Span]
        if let running { runs = running } else { runs = try await runningSpans(since: earliest, now: now) }
        return windows.map {
            Coverage.observation(
                configured: configured, running: runs,
                window: Coverage.Span(from: Microseconds.date($0.from), to: Microseconds.date($0.to)))
        }
    }

    /// Closes the open spans of targets not in `targets` at `closingAt` and opens one at
    /// `openingAt` for each of `targets` without an open span.
    private static func configure(_ targets: [String], closingAt: Int64, openingAt: Int64, db: Database) throws {
        var ids: [String: Int64] = [:]
        let wanted = Set(try targets.map { try targetID($0, cache: &ids, db: db) })
        let open = Set(try Int64.fetchAll(db, sql: "SELECT target_id FROM target_span WHERE to_us IS NULL"))
        for id in open.subtracting(wanted) {
            // A span never ends before it began (a clock that went back).
            try db.execute(
                sql: "UPDATE target_span SET to_us = max(from_us, ?) WHERE target_id = ? AND to_us IS NULL", arguments: [closingAt, id])
        }
        for id in wanted.subtracting(open) {
            try db.execute(
                sql: "INSERT INTO target_span (target_id, from_us) VALUES (?, ?) ON CONFLICT DO UPDATE SET to_us = NULL", arguments: [id, openingAt])
        }
    }
}
