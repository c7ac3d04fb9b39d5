import Logging
import PhaseWatchCore
import ServiceLifecycle
import Storage
import Synchronization

/// Takes finished probes off the probe path and writes them to SQLite in batches: one
/// transaction at most every `flushInterval` (1 s), so a kill -9 loses at most that much.
///
/// When the database refuses writes (disk full, read-only, I/O errors) the results stay held in
/// memory, oldest first, and every flush tries again; probing never waits for the disk. Past
/// `maxPending` held results the oldest are dropped (and counted), so memory stays bounded.
/// When writes succeed again the backlog goes out in order, `maxBatch` per transaction, until
/// caught up. `StorageOutage` says all of it in the log: once when writes start failing, at most
/// every `reminderInterval` while they keep failing, once when they resume.
public final class ResultWriter: Service, Sendable {
    /// What the writer reports, for metrics.
    public struct Hooks: Sendable {
        /// One batch of `count` results written, and how long its transaction took.
        public var wrote: @Sendable (_ count: Int, _ took: Duration) -> Void
        /// A write attempt failed; its results stay held.
        public var failed: @Sendable () -> Void
        /// The oldest `count` held results were discarded to stay within `maxPending`.
        public var dropped: @Sendable (_ count: Int) -> Void
        /// After every flush: results still held, and whether the database takes writes.
        public var status: @Sendable (_ pending: Int, _ writable: Bool) -> Void

        public init(
            wrote: @escaping @Sendable (Int, Duration) -> Void = { _, _ in }, failed: @escaping @Sendable () -> Void = {},
            dropped: @escaping @Sendable (Int) -> Void = { _ in }, status: @escaping @Sendable (Int, Bool) -> Void = { _, _ in }
        ) {
            self.wrote = wrote
            self.failed = failed
            self.dropped = dropped
            self.status = status
        }
    }

    /// Held results at most, by default; docs/storage.md#disk-full-and-read-only-databases says
    /// what that costs in memory and how long an outage it covers.
    public static let defaultMaxPending = 1_000_000
    /// Results per transaction when catching up. Small enough that one attempt costs little
    /// while the disk is full (it is retried every second), large enough that a backlog of a
    /// million results is written in a couple of minutes.
    public static let defaultMaxBatch = 1_000

    private let store: ProbeStore
    private let flushInterval: Duration
    private let maxPending: Int
    private let maxBatch: Int
    private let hooks: Hooks
    private let pending = Mutex(PendingResults())
    /// One flush at a time, in arrival order: the run loop flushes every second and shutdown or
    /// tests may call `flush()` too; two drains at once could write the same held batch twice.
    private let gate = AsyncSemaphore(limit: 1)
    /// Touched only by the flush holding `gate`; a Mutex because the class is Sendable.
    private let outage: Mutex<StorageOutage>
    private let logger: Logger

    public init(
        store: ProbeStore, flushInterval: Duration = .seconds(1), maxPending: Int = defaultMaxPending,
        maxBatch: Int = defaultMaxBatch, reminderInterval: Duration = .seconds(60), logger: Logger, hooks: Hooks = Hooks()
    ) {
        self.store = store
        self.flushInterval = flushInterval
        self.maxPending = max(1, maxPending)
        self.maxBatch = max(1, maxBatch)
        self.hooks = hooks
        self.logger = logger
        outage = Mutex(StorageOutage(
            path: store.path, retryEvery: flushInterval, maxPending: self.maxPending, reminderInterval: reminderInterval))
    }

    /// Queues one result. Never blocks on the disk: appends under a lock, nothing else.
    public func add(_ probe: StoredProbe) {
        pending.withLock { $0.append(probe) }
    }

    /// Results held in memory, not yet written.
    public var pendingCount: Int { pending.withLock { $0.count } }

    public func run() async throws {
        // Ends on graceful shutdown and on cancellation (a failed bind cancels the group):
        // a swallowed CancellationError would make this loop spin.
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully {
                do { try await Task.sleep(for: flushInterval) } catch { break }
                await flush()
            }
        } onGracefulShutdown: {}
        // The scheduler has drained by now (it shuts down first). In a task of its own, so a
        // cancelled group still writes what it holds (GRDB refuses work in a cancelled task).
        await Task { await self.flush() }.value
        let left = pendingCount
        if left > 0 {
            logger.error("exiting with probe results that could not be written", metadata: [
                "path": "\(store.path)", "lost": .stringConvertible(left),
            ])
        }
    }

    /// Writes everything queued so far, oldest first, `maxBatch` per transaction; stops at the
    /// first failure and keeps the rest for the next flush. One flush runs at a time, so each
    /// result is written exactly once and in order.
    public func flush() async {
        await gate.acquire()
        await drain()
        gate.release()
    }

    private func drain() async {
        let clock = ContinuousClock()
        let dropped = pending.withLock { $0.dropOldest(keeping: maxPending) }
        if dropped > 0 {
            hooks.dropped(dropped)
            outage.withLock { $0.dropped(dropped, logger: logger) }
        }
        var written = 0
        var failure: StorageFailure?
        while true {
            let batch = pending.withLock { $0.oldest(maxBatch) }
            guard !batch.isEmpty else { break }
            let started = clock.now
            do {
                try await store.insert(batch)
            } catch {
                // The transaction rolled back as a whole: the batch is still at the front.
                failure = store.failure(error)
                hooks.failed()
                break
            }
            hooks.wrote(batch.count, clock.now - started)
            pending.withLock { $0.removeOldest(batch.count) }
            written += batch.count
            // A short batch means caught up; what arrived meanwhile waits for the next tick.
            if batch.count < maxBatch { break }
        }
        let held = pendingCount
        let failing = outage.withLock { outage in
            if let failure {
                outage.failed(failure, held: held, writtenBefore: written, now: clock.now, logger: logger)
            } else {
                outage.succeeded(written: written, held: held, now: clock.now, logger: logger)
            }
            return outage.isFailing
        }
        hooks.status(held, !failing)
    }
}

/// Results not yet written, oldest first. Written and dropped results leave from the front by
/// moving `head`; the array is compacted only once most of it is dead, so neither writing nor
/// dropping shifts a million held results one at a time.
struct PendingResults {
    private var items: [StoredProbe] = []
    private var head = 0

    var count: Int { items.count - head }

    mutating func append(_ probe: StoredProbe) { items.append(probe) }

    /// A copy of the oldest `limit` at most; they stay until `removeOldest`.
    func oldest(_ limit: Int) -> [StoredProbe] {
        Array(items[head..<min(items.count, head + limit)])
    }

    mutating func removeOldest(_ n: Int) {
        head += min(n, count)
        if head == items.count {
            // Keep a small buffer's capacity; give a drained backlog's memory back (a burst of
            // results at startup would otherwise stay reserved).
            items.removeAll(keepingCapacity: items.capacity <= 256)
            head = 0
        } else if head >= 4_096, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
    }

    /// Drops the oldest beyond `limit`; returns how many.
    mutating func dropOldest(keeping limit: Int) -> Int {
        let excess = max(0, count - limit)
        removeOldest(excess)
        return excess
    }
}
