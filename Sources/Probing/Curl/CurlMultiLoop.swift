import CCurl
import Foundation
import PhaseWatchCore
import Synchronization

/// Runs every transfer on one curl multi handle, driven by one dedicated thread, so hundreds of
/// probes run at once without a thread each and without blocking Swift's cooperative pool.
///
/// Callers `await perform(_:)`; the request is queued, the loop thread is woken with
/// `curl_multi_wakeup` (only when it sleeps), and the caller resumes when its transfer ends. Only
/// Sendable values cross between the two sides; curl handles never leave the loop thread.
///
/// The loop is also a `TaskExecutor`: probe tasks that prefer it run their (short, non-blocking)
/// Swift code on the loop thread between curl calls. A finished transfer then resumes its caller
/// on the same thread, without waking another thread — the dominant cost of a probe otherwise.
public final class CurlMultiLoop: TaskExecutor, Sendable {
    /// The loop most of the process shares.
    public static let shared = CurlMultiLoop()

    private let inbox = Inbox()
    private let multi: MultiHandle

    public init() {
        CurlGlobal.initialize()
        multi = MultiHandle(curl_multi_init())
        let thread = Thread { [unowned self] in
            // Foundation on Linux names a thread only from inside it; `ps -L`, perf and gdb show it.
            Thread.current.name = "phasewatch-curl"
            LoopThread(multi: multi.raw, inbox: inbox, executor: asUnownedTaskExecutor()).run()
        }
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        if inbox.schedule(UnownedJob(job)) { curl_multi_wakeup(multi.raw) }
    }

    /// Suspends the calling task until `deadline`, timed by the loop thread itself; throws
    /// `CancellationError` when the task is cancelled.
    ///
    /// `Task.sleep`'s timers fire through Swift's cooperative pool: while HTTP requests keep that
    /// pool busy, a target sleeping there wakes late (LoopSleepTests, every pool thread busy:
    /// lag p99 397 ms with `Task.sleep`, under 20 ms here). A task that prefers this executor
    /// and sleeps here is woken by the loop thread and runs on it, without the pool.
    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        let id = inbox.newID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                switch inbox.addTimer(id: id, deadline: deadline, continuation: continuation) {
                case .cancelledAlready: continuation.resume(throwing: CancellationError())
                case .added(let wake): if wake { curl_multi_wakeup(multi.raw) }
                }
            }
        } onCancel: {
            inbox.cancelTimer(id)?.resume(throwing: CancellationError())
        }
        // A cancellation that came just after the timer fired left its id behind.
        if Task.isCancelled { inbox.forgetTimerCancellation(id) }
    }

    /// Runs one transfer to its end (success, failure, timeout or cancellation).
    func perform(_ request: TransferRequest) async -> TransferOutcome {
        let id = inbox.newID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if inbox.submit(Submission(id: id, request: request, continuation: continuation)) {
                    curl_multi_wakeup(multi.raw)
                }
            }
        } onCancel: {
            // A cancellation that overtakes its own submission is not seen; the transfer then
            // ends by its timeouts.
            if inbox.cancel(id) { curl_multi_wakeup(multi.raw) }
        }
    }
}

/// The multi handle pointer. curl allows `curl_multi_wakeup` from any thread; everything else is
/// called on the loop thread only.
private struct MultiHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    init(_ raw: UnsafeMutableRawPointer?) {
        guard let raw else { fatalError("curl_multi_init failed: out of memory") }
        self.raw = raw
    }
}

enum CurlGlobal {
    private static let once: Void = {
        curl_global_init(Int(CURL_GLOBAL_ALL))
    }()

    static func initialize() { _ = once }
}

private struct Submission: Sendable {
    let id: UInt64
    let request: TransferRequest
    let continuation: CheckedContinuation<TransferOutcome, Never>
}

/// What callers hand to the loop thread: new transfers and cancellations.
///
/// The loop marks itself asleep (under the lock, only when nothing is waiting) before it polls;
/// only then does a caller need the wakeup syscall. A wakeup sent between the mark and the poll
/// is kept by curl, so the poll returns at once.
private final class Inbox: Sendable {
    private struct State {
        var submissions: [Submission] = []
        var cancellations: [UInt64] = []
        var jobs: [UnownedJob] = []
        var nextID: UInt64 = 0
        var sleeping = false
        /// Sleeping tasks by timer id; the loop thread keeps their deadlines (`DeadlineHeap`).
        var sleepers: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var newTimers: [DeadlineHeap.Entry] = []
        /// Timers cancelled before they were added (the cancellation handler can run first).
        var cancelledTimers: Set<UInt64> = []
    }

    enum TimerAdded {
        case added(wake: Bool)
        case cancelledAlready
    }

    private let state = Mutex(State())

    func newID() -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    /// Queues a transfer; true when the loop is asleep and must be woken.
    func submit(_ submission: Submission) -> Bool {
        state.withLock { state in
            state.submissions.append(submission)
            defer { state.sleeping = false }
            return state.sleeping
        }
    }

    /// Queues a task job to run on the loop thread; true when the loop is asleep and must be woken.
    func schedule(_ job: UnownedJob) -> Bool {
        state.withLock { state in
            state.jobs.append(job)
            defer { state.sleeping = false }
            return state.sleeping
        }
    }

    /// Queues a cancellation; true when the loop is asleep and must be woken.
    func cancel(_ id: UInt64) -> Bool {
        state.withLock { state in
            state.cancellations.append(id)
            defer { state.sleeping = false }
            return state.sleeping
        }
    }

    /// Registers a sleeping task; `.added(wake: true)` when the loop is asleep and must be woken
    /// to take the new deadline into account.
    func addTimer(id: UInt64, deadline: ContinuousClock.Instant, continuation: CheckedContinuation<Void, any Error>) -> TimerAdded {
        state.withLock { state in
            if state.cancelledTimers.remove(id) != nil { return .cancelledAlready }
            state.sleepers[id] = continuation
            state.newTimers.append(DeadlineHeap.Entry(deadline: deadline, id: id))
            defer { state.sleeping = false }
            return .added(wake: state.sleeping)
        }
    }

    /// The sleeper to resume with a cancellation, or nil when its timer is not there (yet).
    func cancelTimer(_ id: UInt64) -> CheckedContinuation<Void, any Error>? {
        state.withLock { state in
            if let continuation = state.sleepers.removeValue(forKey: id) { return continuation }
            state.cancelledTimers.insert(id)
            return nil
        }
    }

    func forgetTimerCancellation(_ id: UInt64) {
        state.withLock { _ = $0.cancelledTimers.remove(id) }
    }

    /// The sleepers of timers that came due (cancelled ones are gone already).
    func removeSleepers(_ ids: [UInt64]) -> [CheckedContinuation<Void, any Error>] {
        state.withLock { state in ids.compactMap { state.sleepers.removeValue(forKey: $0) } }
    }

    func takeNewTimers() -> [DeadlineHeap.Entry] {
        state.withLock { state in
            defer { state.newTimers.removeAll(keepingCapacity: true) }
            return state.newTimers
        }
    }

    /// Marks the loop asleep if nothing is queued; false when there is work to take first.
    func goingToSleep() -> Bool {
        state.withLock { state in
            state.sleeping = state.submissions.isEmpty && state.cancellations.isEmpty && state.jobs.isEmpty
                && state.newTimers.isEmpty
            return state.sleeping
        }
    }

    func awake() {
        state.withLock { $0.sleeping = false }
    }

    func take() -> (submissions: [Submission], cancellations: [UInt64]) {
        state.withLock { state in
            defer {
                state.submissions.removeAll(keepingCapacity: true)
                state.cancellations.removeAll(keepingCapacity: true)
            }
            return (state.submissions, state.cancellations)
        }
    }

    func takeJobs() -> [UnownedJob] {
        state.withLock { state in
            defer { state.jobs.removeAll(keepingCapacity: true) }
            return state.jobs
        }
    }
}

/// The state owned by the loop thread.
private final class LoopThread {
    let multi: UnsafeMutableRawPointer
    let inbox: Inbox
    let executor: UnownedTaskExecutor
    var active: [UnsafeMutableRawPointer: Transfer] = [:]
    var byID: [UInt64: Transfer] = [:]
    var timers = DeadlineHeap()

    init(multi: UnsafeMutableRawPointer, inbox: Inbox, executor: UnownedTaskExecutor) {
        self.multi = multi
        self.inbox = inbox
        self.executor = executor
    }

    func run() {
        while true {
            // Timers first: a woken target's task runs in this pass's `runJobs` and its probe
            // starts in this pass's `curl_multi_perform`, instead of after one more pass over
            // every busy transfer (at 2 000 probes/s a pass takes milliseconds).
            fireTimers()
            runJobs()
            admit()
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            collectFinished()
            expireOverdue()
            if inbox.goingToSleep() {
                curl_multi_poll(multi, nil, 0, pollTimeoutMillis(), nil)
                inbox.awake()
            }
        }
    }

    /// Runs the Swift jobs queued for this thread (probe code between its awaits).
    private func runJobs() {
        for job in inbox.takeJobs() { job.runSynchronously(on: executor) }
    }

    private func admit() {
        let (submissions, cancellations) = inbox.take()
        for submission in submissions {
            guard let transfer = Transfer(request: submission.request, id: submission.id, continuation: submission.continuation)
            else {
                submission.continuation.resume(returning: .outOfMemory(submission.request))
                continue
            }
            active[transfer.handle] = transfer
            byID[transfer.id] = transfer
            curl_multi_add_handle(multi, transfer.handle)
        }
        for id in cancellations {
            guard let transfer = byID[id] else { continue }
            transfer.cancel()
            finish(transfer, code: nil)
        }
    }

    /// Resumes the tasks whose sleep is over; they run on this thread at the next `runJobs`.
    private func fireTimers() {
        for entry in inbox.takeNewTimers() { timers.push(entry) }
        let now = ContinuousClock.now
        guard let earliest = timers.earliest, earliest <= now else { return }
        let due = timers.popDue(at: now)
        for sleeper in inbox.removeSleepers(due) { sleeper.resume() }
    }

    private func collectFinished() {
        var left: Int32 = 0
        while let message = curl_multi_info_read(multi, &left) {
            guard ccurl_msg_is_done(message) != 0, let handle = message.pointee.easy_handle,
                let transfer = active[handle]
            else { continue }
            finish(transfer, code: ccurl_msg_result(message))
        }
    }

    private func expireOverdue() {
        let now = ContinuousClock.now
        for transfer in active.values where transfer.deadline() <= now {
            if transfer.expire(at: now) { finish(transfer, code: nil) }
        }
    }

    private func finish(_ transfer: Transfer, code: CURLcode?) {
        curl_multi_remove_handle(multi, transfer.handle)
        active[transfer.handle] = nil
        byID[transfer.id] = nil
        transfer.continuation.resume(returning: transfer.outcome(code: code))
    }

    /// Sleep until the nearest phase deadline or timer, at most a second; curl shortens it for
    /// its own timers.
    private func pollTimeoutMillis() -> Int32 {
        // Runs at every turn of the loop: no array is built for the two candidates.
        var nearest = active.values.lazy.map { $0.deadline() }.min()
        if let timer = timers.earliest, nearest.map({ timer < $0 }) ?? true { nearest = timer }
        guard let nearest else { return 1000 }
        let wait = nearest - ContinuousClock.now
        let millis = (wait.microseconds + 999) / 1000  // round up: waking early would spin
        return Int32(max(0, min(1000, millis)))
    }
}

extension TransferOutcome {
    static func outOfMemory(_ request: TransferRequest) -> TransferOutcome {
        TransferOutcome(
            curlCode: Int32(CURLE_OUT_OF_MEMORY.rawValue), curlMessage: "curl_easy_init failed", abort: nil,
            phaseAtEnd: .resolve, usedTLS: false, timings: CurlTimings(), status: 0, httpVersion: 0, redirects: 0,
            contentLength: nil, bodyBytes: 0, body: Data(), headers: [], primaryIP: "", osErrno: 0,
            newConnections: 0, handshake: HandshakeFacts())
    }
}
