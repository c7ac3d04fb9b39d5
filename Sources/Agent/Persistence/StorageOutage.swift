import Foundation
import Logging
import PhaseWatchCore
import Storage

/// What the log says while the database refuses writes. A full disk can last hours; a line per
/// second would bury everything else and fill the very disk being waited for. So:
///
/// - one error when writes start failing: what happened (disk full, read-only, …), the file,
///   the SQLite error, free bytes, how many results are held;
/// - one error when held results start being dropped (data is being lost from then on);
/// - a reminder at most every `reminderInterval` while it lasts, or at once when the cause
///   changes, with the count of held, failed and dropped;
/// - a notice when writes succeed again: how many held results were written, how long it took.
///
/// Only paths, counts and SQLite's own message are logged (never a result: their URLs and
/// headers may carry credentials).
struct StorageOutage {
    let path: String
    let retryEvery: Duration
    let maxPending: Int
    let reminderInterval: Duration
    private var current: Current?

    private struct Current {
        var failure: StorageFailure
        var since: ContinuousClock.Instant
        var sinceDate: Date
        var lastLogged: ContinuousClock.Instant
        var failedWrites = 1
        var dropped = 0
        /// Written by flushes that caught up part of the backlog before failing again.
        var written = 0
        var droppingLogged = false
    }

    init(path: String, retryEvery: Duration, maxPending: Int, reminderInterval: Duration) {
        self.path = path
        self.retryEvery = retryEvery
        self.maxPending = maxPending
        self.reminderInterval = reminderInterval
    }

    /// Whether the last write attempt failed and none has succeeded since.
    var isFailing: Bool { current != nil }

    /// A write attempt failed; `writtenBefore` results went out earlier in the same flush.
    mutating func failed(_ failure: StorageFailure, held: Int, writtenBefore: Int, now: ContinuousClock.Instant, logger: Logger) {
        guard var outage = current else {
            current = Current(failure: failure, since: now, sinceDate: Date(), lastLogged: now)
            logger.error(
                "cannot write probe results (\(failure.kind.rawValue)); holding them in memory and retrying every \(PromDuration.format(retryEvery))",
                metadata: metadata(failure) + ["held": .stringConvertible(held), "max_held": .stringConvertible(maxPending)])
            return
        }
        outage.failedWrites += 1
        outage.written += writtenBefore
        let changed = outage.failure.kind != failure.kind
        outage.failure = failure
        if changed || now - outage.lastLogged >= reminderInterval {
            outage.lastLogged = now
            logger.error(
                "still cannot write probe results (\(failure.kind.rawValue)); \(held) held in memory",
                metadata: metadata(failure) + [
                    "held": .stringConvertible(held), "max_held": .stringConvertible(maxPending), "failed_writes": .stringConvertible(outage.failedWrites),
                    "dropped": "\(outage.dropped)", "since": "\(Timestamp.rfc3339(outage.sinceDate))",
                    "for": "\(Self.format(now - outage.since))",
                ])
        }
        current = outage
    }

    /// `count` held results were discarded, oldest first.
    mutating func dropped(_ count: Int, logger: Logger) {
        // Results pile up only while writes fail, so there is an outage; be safe regardless.
        guard var outage = current else {
            logger.error("dropped held probe results over the limit", metadata: ["path": "\(path)", "dropped": "\(count)"])
            return
        }
        outage.dropped += count
        if !outage.droppingLogged {
            outage.droppingLogged = true
            logger.error(
                "more probe results held than max_held; dropping the oldest until the database takes writes again",
                metadata: ["path": "\(path)", "max_held": .stringConvertible(maxPending), "dropped": "\(outage.dropped)"])
        }
        current = outage
    }

    /// A flush ended without a failure, having written `written` results.
    mutating func succeeded(written: Int, held: Int, now: ContinuousClock.Instant, logger: Logger) {
        // Nothing written (an empty queue) proves nothing about the database.
        guard let outage = current, written > 0 else { return }
        let total = outage.written + written
        logger.notice(
            "database writes resumed; \(total) held results written",
            metadata: [
                "path": "\(path)", "written": .stringConvertible(total), "held": .stringConvertible(held), "failed_writes": .stringConvertible(outage.failedWrites),
                "dropped": "\(outage.dropped)", "outage": "\(Self.format(now - outage.since))",
            ])
        current = nil
    }

    private func metadata(_ failure: StorageFailure) -> Logger.Metadata {
        var out: Logger.Metadata = ["path": "\(path)", "cause": "\(failure.explanation)", "error": "\(failure.error)"]
        if let free = failure.freeBytes { out["free_bytes"] = "\(free)" }
        return out
    }

    /// Whole seconds, e.g. `1m35s`: sub-second precision means nothing for an outage.
    static func format(_ duration: Duration) -> String {
        PromDuration.format(.seconds(max(0, duration.components.seconds)))
    }
}

extension Logger.Metadata {
    fileprivate static func + (lhs: Self, rhs: Self) -> Self { lhs.merging(rhs) { _, new in new } }
}
