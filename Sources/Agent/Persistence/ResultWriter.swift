import Logging
import PhaseWatchCore
import ServiceLifecycle
import Storage
import Synchronization

/// Takes finished probes off the probe path and writes them to SQLite in batches: one
/// transaction at most every `flushInterval` (1 s), so a kill -9 loses at most that much.
/// A failed write (disk full, read-only file) keeps the batch and retries it with the next one;
/// probing goes on meanwhile.
public final class ResultWriter: Service, Sendable {
    private let store: ProbeStore
    private let flushInterval: Duration
    private let logger: Logger
    private let onWrite: @Sendable (Duration) -> Void
    private let onError: @Sendable () -> Void
    private let pending = Mutex<[StoredProbe]>([])
    /// Results held while the database refuses writes, at most; the oldest go first beyond it.
    private let maxPending: Int

    public init(
        store: ProbeStore, flushInterval: Duration = .seconds(1), maxPending: Int = 1_000_000, logger: Logger,
        onWrite: @escaping @Sendable (Duration) -> Void = { _ in }, onError: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.flushInterval = flushInterval
        self.maxPending = maxPending
        self.logger = logger
        self.onWrite = onWrite
        self.onError = onError
    }

    /// Queues one result. Never blocks and never waits for the disk.
    public func add(_ probe: StoredProbe) {
        pending.withLock { pending in
            pending.append(probe)
            if pending.count > maxPending { pending.removeFirst(pending.count - maxPending) }
        }
    }

    public var pendingCount: Int { pending.withLock { $0.count } }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: flushInterval)
                await flush()
            }
        } onGracefulShutdown: {}
        await flush()  // the scheduler has drained by now (it shuts down first)
    }

    /// Writes everything queued so far in one transaction.
    public func flush() async {
        let batch = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return }
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try await store.insert(batch)
            onWrite(clock.now - started)
        } catch {
            onError()
            logger.error("could not write probe results; will retry", metadata: ["count": "\(batch.count)", "error": "\(error)"])
            pending.withLock { pending in
                pending.insert(contentsOf: batch, at: 0)
                if pending.count > maxPending { pending.removeFirst(pending.count - maxPending) }
            }
        }
    }
}
