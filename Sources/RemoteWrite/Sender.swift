import Dispatch
import Foundation
import Logging
import PhaseWatchCore
import Synchronization

/// What a sender reports, for `phasewatch_remote_write_*` (docs/metrics.md#remote-write).
public struct SenderHooks: Sendable {
    /// A request the receiver took: its samples and its compressed size.
    public var sent: @Sendable (_ samples: Int, _ bytes: Int) -> Void
    /// A request that failed and will be tried again: its samples are still pending.
    public var failed: @Sendable (_ samples: Int) -> Void
    /// Samples given up: refused by the receiver, over `max_pending`, or pending at a stop.
    public var dropped: @Sendable (_ samples: Int) -> Void
    public var pending: @Sendable (_ samples: Int) -> Void
    /// Unix time of a request the receiver took.
    public var succeeded: @Sendable (_ at: Double) -> Void

    public init(
        sent: @escaping @Sendable (Int, Int) -> Void, failed: @escaping @Sendable (Int) -> Void, dropped: @escaping @Sendable (Int) -> Void,
        pending: @escaping @Sendable (Int) -> Void, succeeded: @escaping @Sendable (Double) -> Void
    ) {
        self.sent = sent
        self.failed = failed
        self.dropped = dropped
        self.pending = pending
        self.succeeded = succeeded
    }
}

/// One receiver's queue and the thread that empties it (docs/remote-write.md): batches go out
/// oldest first, one request at a time; a retryable failure keeps the batch at the head and
/// waits (`Backoff`), a refusal drops it. Its own thread, because a request blocks for as long
/// as the receiver takes, and neither the probes' loop nor Swift's small task pool may wait on
/// a remote server.
public final class RemoteWriteSender: Sendable {
    private struct State {
        var queue: PendingQueue
        var settings: RemoteWriteConfig
        var settingsChanged = false
        /// Set by `stop`: send what is pending until then, then drop the rest and end.
        var stopBy: ContinuousClock.Instant?
        var finished = false
    }

    public let url: String
    private let state: Mutex<State>
    private let wake = DispatchSemaphore(value: 0)
    private let hooks: SenderHooks
    private let logger: Logger

    public init(settings: RemoteWriteConfig, userAgent: String, hooks: SenderHooks, logger: Logger) {
        url = settings.shownURL
        state = Mutex(State(queue: PendingQueue(maxSamples: settings.maxPending), settings: settings))
        self.hooks = hooks
        var logger = logger
        logger[metadataKey: "url"] = "\(settings.shownURL)"
        self.logger = logger
        let thread = Thread { [self] in run(userAgent: userAgent, settings: settings) }
        thread.name = "phasewatch-remote-write"
        thread.start()
    }

    /// Queues the batches of one collection; the oldest pending ones go when over `max_pending`.
    public func enqueue(_ batches: [Batch]) {
        let (dropped, pending) = state.withLock { state -> (Int, Int) in
            guard state.stopBy == nil else { return (batches.reduce(0) { $0 + $1.samples }, state.queue.samples) }
            let dropped = batches.reduce(0) { $0 + state.queue.append($1) }
            return (dropped, state.queue.samples)
        }
        report(dropped: dropped, pending: pending, why: "max_pending reached: the receiver is behind or away")
        wake.signal()
    }

    /// New settings for the same url (a reload); the pending samples stay.
    public func update(_ settings: RemoteWriteConfig) {
        let (dropped, pending) = state.withLock { state -> (Int, Int) in
            state.settings = settings
            state.settingsChanged = true
            return (state.queue.setMaxSamples(settings.maxPending), state.queue.samples)
        }
        report(dropped: dropped, pending: pending, why: "max_pending lowered by a reload")
        wake.signal()
    }

    public var pendingSamples: Int { state.withLock { $0.queue.samples } }

    /// Sends what is pending for at most `drain` — not at all while the receiver is failing —
    /// then drops the rest. Returns once the thread has ended, or soon after `drain` if a
    /// request is still in flight then (the thread ends after it, dropping what is left).
    public func stop(drain: Duration) async {
        let until = ContinuousClock.now + drain
        state.withLock { $0.stopBy = until }
        wake.signal()
        while !state.withLock({ $0.finished }), ContinuousClock.now < until + .milliseconds(500) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func report(dropped: Int, pending: Int, why: String) {
        hooks.pending(pending)
        guard dropped > 0 else { return }
        hooks.dropped(dropped)
        logger.warning("remote write dropped samples", metadata: ["samples": "\(dropped)", "reason": "\(why)"])
    }

    private func run(userAgent: String, settings: RemoteWriteConfig) {
        let poster = Poster(settings, userAgent: userAgent)
        var backoff = Backoff()
        var failingSince: ContinuousClock.Instant?
        var lastComplaint: ContinuousClock.Instant?
        while true {
            let (next, stopBy) = state.withLock { state -> (Batch?, ContinuousClock.Instant?) in
                if state.settingsChanged {
                    poster.update(state.settings)
                    state.settingsChanged = false
                }
                return (state.queue.first, state.stopBy)
            }
            // A receiver that is failing gets no more tries at a stop: they would only delay it.
            if let stopBy, next == nil || ContinuousClock.now >= stopBy || backoff.failures > 0 { break }
            guard let batch = next else {
                wake.wait()
                continue
            }
            let outcome = poster.post(batch.body)
            let pending = state.withLock { state -> Int in
                // A retried batch stays at the head; sent or refused, it is done.
                if case .retry = outcome {} else { state.queue.removeFirst(sequence: batch.sequence) }
                return state.queue.samples
            }
            hooks.pending(pending)
            switch outcome {
            case .sent:
                hooks.sent(batch.samples, batch.body.count)
                hooks.succeeded(Date().timeIntervalSince1970)
                if let since = failingSince {
                    logger.info("remote write resumed", metadata: [
                        "failed_for": "\(PromDuration.format(ContinuousClock.now - since))", "attempts": "\(backoff.failures)",
                    ])
                }
                backoff.succeed()
                failingSince = nil
                lastComplaint = nil
            case .retry(let reason):
                hooks.failed(batch.samples)
                let now = ContinuousClock.now
                failingSince = failingSince ?? now
                // The first failure and then one line a minute: an outage must not flood the log.
                if lastComplaint.map({ now - $0 >= .seconds(60) }) ?? true {
                    logger.warning("remote write failed; retrying", metadata: [
                        "reason": "\(reason)", "pending_samples": "\(pending)", "attempts": "\(backoff.failures + 1)",
                    ])
                    lastComplaint = now
                }
                pause(backoff.fail(unit: Double.random(in: 0..<1)))
            case .refused(let reason):
                hooks.dropped(batch.samples)
                logger.error("remote write refused by the receiver; batch dropped", metadata: [
                    "reason": "\(reason)", "samples": "\(batch.samples)",
                ])
            }
        }
        let dropped = state.withLock { state -> Int in
            state.queue.removeAll()
        }
        report(dropped: dropped, pending: 0, why: "pending at stop")
        state.withLock { $0.finished = true }
    }

    /// Waits `wait`, or less when a stop comes; new batches do not cut a backoff short.
    private func pause(_ wait: Duration) {
        let until = ContinuousClock.now + wait
        while ContinuousClock.now < until {
            if state.withLock({ $0.stopBy != nil }) { return }
            let left = until - ContinuousClock.now
            _ = wake.wait(timeout: .now() + .nanoseconds(Int(left.nanoseconds)))
        }
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
