import Foundation
import Logging
import PhaseWatchCore
import Probing
import ServiceLifecycle
import Synchronization

/// Runs every target on its own interval, forever, until shut down.
///
/// One task per target sleeps until the target's next slot (see `Schedule`), takes a slot of
/// the global in-flight limit, probes, hands the result to `onResult`, and computes the next
/// slot from the due time (no drift). A probe that outlasts its interval makes the missed runs
/// skip (counted in `onSkip`), never pile up. Targets can be replaced while running: unchanged
/// targets keep their task and their rhythm.
///
/// Target tasks prefer the curl loop's executor, so a probe's Swift code runs there without
/// thread hand-offs; `onResult` must therefore be quick and must not block.
public final class Scheduler: Service, Sendable {
    public typealias ResultHandler = @Sendable (Target, ProbeResult) -> Void

    private struct Running {
        var target: Target
        var task: Task<Void, Never>
    }

    private let prober: Prober
    private let limiter: InFlightLimiter
    private let onResult: ResultHandler
    private let onLag: @Sendable (Duration) -> Void
    private let onSkip: @Sendable (Target, Int) -> Void
    private let logger: Logger
    private let running = Mutex<[String: Running]>([:])
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
            for (name, entry) in running where wanted[name] != entry.target {
                entry.task.cancel()
                running[name] = nil
                if wanted[name] == nil { stopped.append(name) }
            }
            var started: [String] = []
            for target in targets where running[target.name] == nil {
                running[target.name] = Running(target: target, task: start(target))
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
        let tasks = running.withLock { running in
            defer { running.removeAll() }
            return running.values.map(\.task)
        }
        for task in tasks { task.cancel() }
        let deadline = ContinuousClock.now + drainTimeout
        while inFlight.load(ordering: .relaxed) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    private func start(_ target: Target) -> Task<Void, Never> {
        Task(executorPreference: prober.executor) { [self] in
            await loop(target)
        }
    }

    private func loop(_ target: Target) async {
        let clock = ContinuousClock()
        let origin = clock.now
        func nanos(_ instant: ContinuousClock.Instant) -> Int64 { (instant - origin).nanoseconds }
        let epoch = Int64(Date().timeIntervalSince1970 * 1e9)
        var due = Schedule.firstDue(name: target.name, interval: target.interval, now: 0, epochNanos: epoch)
        while !Task.isCancelled {
            do {
                // On the curl loop's timers, not Task.sleep's: those fire through the
                // cooperative pool, which HTTP load can keep busy for hundreds of ms.
                try await prober.sleep(until: origin + .nanoseconds(due))
            } catch {
                return  // cancelled: the target was removed or changed, or the agent stops
            }
            await limiter.acquire()
            if Task.isCancelled {  // stopped while waiting for a slot: don't start a probe now
                limiter.release()
                return
            }
            let lag = clock.now - (origin + .nanoseconds(due))
            onLag(lag)
            inFlight.add(1, ordering: .relaxed)
            // Once started, a probe runs to its end even if the target is removed meanwhile:
            // its result is real and is kept. Only the waiting between runs is cancelled.
            // On the loop's executor too: a plain Task would start on the cooperative pool.
            let result = await Task(executorPreference: prober.executor) { [prober] in await prober.probe(target) }.value
            inFlight.subtract(1, ordering: .relaxed)
            limiter.release()
            onResult(target, result)
            let next = Schedule.next(after: due, interval: target.interval, now: nanos(clock.now))
            if next.skipped > 0 {
                onSkip(target, next.skipped)
                logger.debug("probe overran its interval; skipped runs", metadata: ["target": "\(target.name)", "skipped": "\(next.skipped)"])
            }
            due = next.due
        }
    }
}
