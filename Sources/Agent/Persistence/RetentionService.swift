import Foundation
import Logging
import PhaseWatchCore
import ServiceLifecycle
import Storage

/// Applies `raw_retention` and `rollup_retention` at start and every `period` after, in the
/// store's small batches so writes are never held up for long.
public struct RetentionService: Service {
    let store: ProbeStore
    let storage: @Sendable () -> StorageConfig
    let period: Duration
    let logger: Logger

    public init(store: ProbeStore, period: Duration = .seconds(600), logger: Logger, storage: @escaping @Sendable () -> StorageConfig) {
        self.store = store
        self.period = period
        self.logger = logger
        self.storage = storage
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var clock = RetentionClock()
            while !Task.isCancelled {
                let config = storage()
                let wall = Date()
                let (now, step) = clock.now(wall: wall, mono: .now)
                if let step {
                    logger.warning(
                        "wall clock stepped since the last retention pass; retention deletes by the monotonic clock while the wall clock is ahead of it",
                        metadata: [
                            "step_seconds": .stringConvertible(Int(step.rounded())), "wall": "\(Timestamp.rfc3339(wall))",
                            "retention_now": "\(Timestamp.rfc3339(now))",
                        ])
                }
                do {
                    let deleted = try await store.enforceRetention(now: now, raw: config.rawRetention, rollup: config.rollupRetention)
                    if deleted > 0 {
                        logger.info("retention applied", metadata: ["rows_deleted": .stringConvertible(deleted), "now": "\(Timestamp.rfc3339(now))"])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    // Once per period, not a retry loop: on a full disk even deletes fail (in WAL
                    // mode they are written to the -wal file first).
                    let failure = store.failure(error)
                    logger.error("retention failed (\(failure.kind.rawValue)); next try in \(PromDuration.format(period))", metadata: [
                        "path": "\(store.path)", "cause": "\(failure.explanation)", "error": "\(failure.error)",
                    ])
                }
                do { try await Task.sleep(for: period) } catch { return }
            }
        }
    }
}
