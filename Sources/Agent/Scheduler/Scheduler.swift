import Foundation
import Logging
import PhaseWatchCore
import Probing
import ServiceLifecycle
import Synchronization

/// Runs every target on its own interval, forever, until shut down.
///
/// Each target has a timer on the curl loop for its next slot (see `Schedule`). When it fires,
/// a short task takes a slot of the global in-flight limit, probes, hands the result to
/// `onResult`, computes the next slot from the grid (no drift) at the interval the target's
/// state now asks for (`interval_while_failing` while failing: `TargetState.isFailing`) and sets
/// the timer again. A
/// probe that outlasts its interval makes the missed runs skip (counted in `onSkip`), never pile
/// up. Between probes a target holds no task, only its timer (a suspended task per target costs
/// memory that adds up with many targets: bench/scale). The run of a target lives in its
/// `TargetRecord`; a reload restarts only the runs of changed targets, so unchanged targets keep
/// their rhythm.
///
/// Probe tasks prefer the curl loop's executor, so a probe's Swift code runs there without
/// thread hand-offs; `onResult` must therefore be quick and must not block.
public final class Scheduler: Service, Sendable {
    /// A run's results (one, or two for `connection: both`: docs/probing.md#connections) and the
    /// share of the target's interval the run stands for (`Schedule.weight`).
    typealias ResultHandler = @Sendable (TargetRecord, Target, [ProbeResult], Double) -> Void

    private let prober: Prober
    private let limiter: AsyncSemaphore
    private let table: TargetTable
    private let onResult: ResultHandler
    private let onLag: @Sendable (Duration) -> Void
    private let onSkip: @Sendable (Target, Int) -> Void
    private let logger: Logger
    private let inFlight = Atomic<Int>(0)
    /// Set by `stopAll`: nothing starts after shutdown began, not even from a late reload.
    private let shutDown = Atomic<Bool>(false)

    init(
        prober: Prober, table: TargetTable, maxInFlight: Int, logger: Logger, onResult: @escaping ResultHandler,
        onLag: @escaping @Sendable (Duration) -> Void = { _ in },
        onSkip: @escaping @Sendable (Target, Int) -> Void = { _, _ in }
    ) {
        self.prober = prober
        self.table = table
        self.limiter = AsyncSemaphore(limit: maxInFlight)
        self.onResult = onResult
        self.onLag = onLag
        self.onSkip = onSkip
        self.logger = logger
    }

    /// Follows a `TargetTable.configure`: starts added targets, restarts changed ones with their
    /// new config, stops removed ones. Unchanged targets keep running.
    func apply(_ changes: TargetTable.Changes) {
        for record in changes.removed { stop(record) }
        for record in changes.changed + changes.added { start(record) }
    }

    /// Probes currently running.
    public var probesInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// The names of the targets with a run, sorted.
    public var targetNames: [String] { table.all.filter(\.isScheduled).map(\.name).sorted() }

    /// Runs until graceful shutdown, then stops scheduling and lets probes in flight finish
    /// (their results are still delivered), at most `drainTimeout`.
    public func run() async throws {
        try? await gracefulShutdown()
        await stopAll(drainTimeout: .seconds(4))
    }

    /// Stops every target; waits for probes in flight (up to `drainTimeout`).
    public func stopAll(drainTimeout: Duration) async {
        shutDown.store(true, ordering: .relaxed)
        for record in table.all { stop(record) }
        let deadline = ContinuousClock.now + drainTimeout
        while inFlight.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            do { try await Task.sleep(for: .milliseconds(10)) } catch { break }  // cancelled: stop waiting
        }
        let abandoned = inFlight.load(ordering: .relaxed)
        if abandoned > 0 {
            logger.warning("stopping with probes still in flight: their results are not stored", metadata: [
                "probes": .stringConvertible(abandoned), "waited": "\(PromDuration.format(drainTimeout))",
            ])
        }
    }

    /// Gives `record` a new run for its current config, stopping the one it had.
    private func start(_ record: TargetRecord) {
        guard !shutDown.load(ordering: .relaxed) else { return }
        let target = record.target
        let epoch = Int64(Date().timeIntervalSince1970 * 1e9)
        let anchor = Schedule.anchor(name: target.name, interval: target.interval, now: 0, epochNanos: epoch)
        let every = target.interval(failing: record.isFailing)
        let due = Schedule.slot(after: -1, anchor: anchor, every: every)
        let kept = target.keepsConnectionState ? prober.keptConnection() : nil
        let run = ScheduledRun(
            record: record, target: target, origin: ContinuousClock.now, anchor: anchor, due: due, every: every, connection: kept)
        record.replaceRun(with: run)?.stop()
        arm(run)
    }

    private func stop(_ record: TargetRecord) {
        record.replaceRun(with: nil)?.stop()
    }

    /// Sets the run's timer for its due time. On the curl loop's timers, not `Task.sleep`'s:
    /// those fire through the cooperative pool, which HTTP load can keep busy for hundreds of ms.
    private func arm(_ run: ScheduledRun) {
        let due = run.origin + .nanoseconds(run.due.load(ordering: .relaxed))
        prober.schedule(at: due) { [self] in
            guard !run.isStopped else { return }
            // On the loop's executor: a plain Task would start on the cooperative pool.
            Task(executorPreference: prober.executor) { await self.probeOnce(run) }
        }
    }

    /// One scheduled run: wait for an in-flight permit, probe, report, set the next timer.
    private func probeOnce(_ run: ScheduledRun) async {
        let target = run.target
        await limiter.acquire()
        if run.isStopped {  // stopped while waiting: don't start a probe now
            limiter.release()
            return
        }
        let due = run.due.load(ordering: .relaxed)
        let now = ContinuousClock.now
        onLag(now - (run.origin + .nanoseconds(due)))
        inFlight.add(1, ordering: .relaxed)
        // Once started, a probe runs to its end even if the target is removed meanwhile: its
        // result is real and is kept. Only the next timer is not set.
        let results = await prober.run(target, keeping: run.connection)
        inFlight.subtract(1, ordering: .relaxed)
        limiter.release()
        onResult(run.record, target, results, Schedule.weight(due: due, previous: run.previousDue.load(ordering: .relaxed), interval: target.interval))
        run.previousDue.store(due, ordering: .relaxed)
        // The state after this result picks the grid of the next run.
        let ranEvery = run.every.load(ordering: .relaxed)
        let every = target.interval(failing: run.record.isFailing)
        let next = Schedule.next(
            after: due, ranEvery: .nanoseconds(ranEvery), now: (ContinuousClock.now - run.origin).nanoseconds, anchor: run.anchor, every: every)
        if next.skipped > 0 {
            onSkip(target, next.skipped)
            logger.debug("probe overran its interval; skipped runs", metadata: ["target": "\(target.name)", "skipped": "\(next.skipped)"])
        }
        if every.nanoseconds != ranEvery {
            logger.debug("probe interval changed", metadata: ["target": "\(target.name)", "interval": "\(PromDuration.format(every))"])
        }
        run.due.store(next.due, ordering: .relaxed)
        run.every.store(every.nanoseconds, ordering: .relaxed)
        if !run.isStopped { arm(run) }
    }
}

/// One target's schedule under one config. Stopping it only sets a flag: its timer then does
/// nothing, and a probe already running finishes (its result is real and is kept) without
/// setting another.
final class ScheduledRun: Sendable {
    let record: TargetRecord
    let target: Target
    /// Due times are nanoseconds after `origin`.
    let origin: ContinuousClock.Instant
    /// The point every grid of the target goes through (`Schedule.anchor`), after `origin`.
    let anchor: Int64
    /// Touched by one probe at a time: a probe sets the next timer only when it is done.
    let due: Atomic<Int64>
    /// The interval (ns) whose grid `due` is on: the skipped runs of an overrun are counted on it.
    let every: Atomic<Int64>
    /// The due time of the run before, for the probe's weight; one interval before the first.
    let previousDue: Atomic<Int64>
    private let stopped = Atomic<Bool>(false)
    /// The target's kept connection (`connection: reuse | both`): closed when this run is
    /// dropped, so a changed or removed target never probes on its old connection.
    let connection: KeptConnection?

    init(
        record: TargetRecord, target: Target, origin: ContinuousClock.Instant, anchor: Int64, due: Int64, every: Duration,
        connection: KeptConnection? = nil
    ) {
        self.record = record
        self.target = target
        self.origin = origin
        self.anchor = anchor
        self.due = Atomic(due)
        self.every = Atomic(every.nanoseconds)
        previousDue = Atomic(due - every.nanoseconds)
        self.connection = connection
    }

    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    func stop() { stopped.store(true, ordering: .relaxed) }
}
