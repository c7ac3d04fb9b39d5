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
/// `onResult`, computes the next slot from the due time (no drift) and sets the timer again. A
/// probe that outlasts its interval makes the missed runs skip (counted in `onSkip`), never pile
/// up. Between probes a target holds no task, only its timer (a suspended task per target costs
/// memory that adds up at 10 000 targets: bench/scale). Targets can be replaced while running:
/// unchanged targets keep their rhythm.
///
/// Probe tasks prefer the curl loop's executor, so a probe's Swift code runs there without
/// thread hand-offs; `onResult` must therefore be quick and must not block.
public final class Scheduler: Service, Sendable {
    public typealias ResultHandler = @Sendable (Target, ProbeResult) -> Void

    /// One scheduled target. Stopping it only sets `stopped`: its timer then does nothing, and a
    /// probe already running finishes (its result is real and is kept) without setting another.
    private final class Slot: Sendable {
        let target: Target
        /// Due times are nanoseconds after `origin`.
        let origin: ContinuousClock.Instant
        let stopped = Atomic<Bool>(false)
        /// Touched by one run at a time: a run sets the next timer only when it is done.
        let due: Atomic<Int64>

        init(target: Target, origin: ContinuousClock.Instant, due: Int64) {
            self.target = target
            self.origin = origin
            self.due = Atomic(due)
        }
    }

    private let prober: Prober
    private let limiter: InFlightLimiter
    private let onResult: ResultHandler
    private let onLag: @Sendable (Duration) -> Void
    private let onSkip: @Sendable (Target, Int) -> Void
    private let logger: Logger
    private let running = Mutex<[String: Slot]>([:])
    private let inFlight = Atomic<Int>(0)

    public init(
        prober: Prober, maxInFlight: Int, logger: Logger, onResult: @escaping ResultHandler,
        onLag: @escaping @Sendable (Duration) -> Void = { _ in },
        onSkip: @escaping @Sendable (Target, Int) -> Void = { _, _ in }
    ) {
        self.prober = prober
        self.limiter = InFlightLimiter(limit: maxInFlight)
        self.onResult = onResult
        self.onLag = onLag
        self.onSkip = onSkip
        self.logger = logger
    }

    /// Makes `targets` the scheduled set: starts new ones, stops removed ones, restarts changed
    /// ones, leaves identical ones running. Returns the names that were started or restarted.
    @discardableResult
    public func update(_ targets: [Target]) -> (started: [String], stopped: [String]) {
        running.withLock { running in
            let wanted = Dictionary(targets.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
            var stopped: [String] = []
            for (name, slot) in running where wanted[name] != slot.target {
                slot.stopped.store(true, ordering: .relaxed)
                running[name] = nil
                if wanted[name] == nil { stopped.append(name) }
            }
            var started: [String] = []
            for target in targets where running[target.name] == nil {
                running[target.name] = start(target)
                started.append(target.name)
            }
            return (started.sorted(), stopped.sorted())
        }
    }

    /// Probes currently running.
    public var probesInFlight: Int { inFlight.load(ordering: .relaxed) }

    public var targetNames: [String] { running.withLock { $0.keys.sorted() } }

    /// Runs until graceful shutdown, then stops scheduling and lets probes in flight finish
    /// (their results are still delivered), at most `drainTimeout`.
    public func run() async throws {
        try? await gracefulShutdown()
        await stopAll(drainTimeout: .seconds(4))
    }

    /// Stops every target; waits for probes in flight (up to `drainTimeout`).
    public func stopAll(drainTimeout: Duration) async {
        running.withLock { running in
            for slot in running.values { slot.stopped.store(true, ordering: .relaxed) }
            running.removeAll()
        }
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

    private func start(_ target: Target) -> Slot {
        let epoch = Int64(Date().timeIntervalSince1970 * 1e9)
        let due = Schedule.firstDue(name: target.name, interval: target.interval, now: 0, epochNanos: epoch)
        let slot = Slot(target: target, origin: ContinuousClock.now, due: due)
        arm(slot)
        return slot
    }

    /// Sets the slot's timer for its due time. On the curl loop's timers, not `Task.sleep`'s:
    /// those fire through the cooperative pool, which HTTP load can keep busy for hundreds of ms.
    private func arm(_ slot: Slot) {
        let due = slot.origin + .nanoseconds(slot.due.load(ordering: .relaxed))
        prober.schedule(at: due) { [self] in
            guard !slot.stopped.load(ordering: .relaxed) else { return }
            // On the loop's executor: a plain Task would start on the cooperative pool.
            Task(executorPreference: prober.executor) { await self.probeOnce(slot) }
        }
    }

    /// One scheduled run: wait for an in-flight slot, probe, report, set the next timer.
    private func probeOnce(_ slot: Slot) async {
        let target = slot.target
        await limiter.acquire()
        if slot.stopped.load(ordering: .relaxed) {  // stopped while waiting: don't start a probe now
            limiter.release()
            return
        }
        let due = slot.due.load(ordering: .relaxed)
        let now = ContinuousClock.now
        onLag(now - (slot.origin + .nanoseconds(due)))
        inFlight.add(1, ordering: .relaxed)
        // Once started, a probe runs to its end even if the target is removed meanwhile: its
        // result is real and is kept. Only the next timer is not set.
        let result = await prober.probe(target)
        inFlight.subtract(1, ordering: .relaxed)
        limiter.release()
        onResult(target, result)
        let next = Schedule.next(after: due, interval: target.interval, now: (ContinuousClock.now - slot.origin).nanoseconds)
        if next.skipped > 0 {
            onSkip(target, next.skipped)
            logger.debug("probe overran its interval; skipped runs", metadata: ["target": "\(target.name)", "skipped": "\(next.skipped)"])
        }
        slot.due.store(next.due, ordering: .relaxed)
        if !slot.stopped.load(ordering: .relaxed) { arm(slot) }
    }
}
