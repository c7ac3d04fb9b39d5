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
            // Named from inside, for `ps -L`, perf and gdb. Not with `Thread.current.name`:
            // Foundation applies it only once `start()` has recorded the thread, which the new
            // thread can outrun (LoopTimerTests saw the creator's name on it).
            ccurl_name_this_thread("phasewatch-curl")
            LoopThread(multi: multi.raw, inbox: inbox, executor: asUnownedTaskExecutor()).run()
        }
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        if inbox.schedule(UnownedJob(job)) { curl_multi_wakeup(multi.raw) }
    }

    /// Runs `action` on the loop thread once `deadline` has passed. It must be quick and must
    /// not block: typically it starts a task that prefers this executor, which then runs in the
    /// same turn of the loop. There is no cancelling; an action whose owner is gone does nothing.
    ///
    /// `Task.sleep`'s timers fire through Swift's cooperative pool: while HTTP requests keep that
    /// pool busy, a target sleeping there wakes late (LoopTimerTests measures both). A pending
    /// timer costs a heap entry and its closure, not a suspended task (docs/architecture.md,
    /// "Memory").
    public func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) {
        if inbox.addTimer(DeadlineHeap.Entry(deadline: deadline, action: action)) { curl_multi_wakeup(multi.raw) }
    }

    /// An id for a new `KeptConnection`; its pool is made on the loop thread at its first use.
    func newPoolID() -> UInt64 { inbox.newID() }

    /// Closes the pool's connections once no transfer uses it (`KeptConnection` released).
    func releasePool(_ id: UInt64) {
        if inbox.release(id) { curl_multi_wakeup(multi.raw) }
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

/// What callers hand to the loop thread: new transfers, cancellations, task jobs and timers.
///
/// The loop marks itself asleep (under the lock, only when nothing is waiting) before it polls;
/// only then does a caller need the wakeup syscall. A wakeup sent between the mark and the poll
/// is kept by curl, so the poll returns at once.
private final class Inbox: Sendable {
    private struct State {
        var submissions: [Submission] = []
        var cancellations: [UInt64] = []
        var releases: [UInt64] = []
        var jobs: [UnownedJob] = []
        var nextID: UInt64 = 0
        var sleeping = false
        /// Timers added since the loop last looked; it keeps them in its `DeadlineHeap`.
        var newTimers: [DeadlineHeap.Entry] = []
    }

    private let state = Mutex(State())

    func newID() -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    /// Queues a transfer; true when the loop is asleep and must be woken.
    func submit(_ submission: Submission) -> Bool { enqueue { $0.submissions.append(submission) } }

    /// Queues a task job to run on the loop thread; true when the loop is asleep and must be woken.
    func schedule(_ job: UnownedJob) -> Bool { enqueue { $0.jobs.append(job) } }

    /// Queues a cancellation; true when the loop is asleep and must be woken.
    func cancel(_ id: UInt64) -> Bool { enqueue { $0.cancellations.append(id) } }

    /// Queues the release of a pool; true when the loop is asleep and must be woken.
    func release(_ id: UInt64) -> Bool { enqueue { $0.releases.append(id) } }

    /// Queues a timer; true when the loop is asleep and must be woken to take its deadline into
    /// account.
    func addTimer(_ entry: DeadlineHeap.Entry) -> Bool { enqueue { $0.newTimers.append(entry) } }

    /// Adds work for the loop and clears `sleeping`: only the first caller after the loop fell
    /// asleep is told to wake it.
    private func enqueue(_ add: (inout State) -> Void) -> Bool {
        state.withLock { state in
            add(&state)
            defer { state.sleeping = false }
            return state.sleeping
        }
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
                && state.newTimers.isEmpty && state.releases.isEmpty
            return state.sleeping
        }
    }

    func awake() {
        state.withLock { $0.sleeping = false }
    }

    func take() -> (submissions: [Submission], cancellations: [UInt64], releases: [UInt64]) {
        state.withLock { state in
            defer {
                state.submissions.removeAll(keepingCapacity: true)
                state.cancellations.removeAll(keepingCapacity: true)
                state.releases.removeAll(keepingCapacity: true)
            }
            return (state.submissions, state.cancellations, state.releases)
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
    /// Targets' kept connections (`KeptConnection`), made at first use; a transfer holds its
    /// pool too, so a released pool closes once its transfer has ended.
    var pools: [UInt64: ConnectionPool] = [:]
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
            // every busy transfer (at high probe rates a pass takes milliseconds).
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
        let (submissions, cancellations, releases) = inbox.take()
        for submission in submissions {
            guard
                let transfer = Transfer(
                    request: submission.request, id: submission.id, pool: pool(for: submission.request),
                    continuation: submission.continuation)
            else {
                submission.continuation.resume(returning: .outOfMemory(submission.request))
                continue
            }
            active[transfer.handle] = transfer
            byID[transfer.id] = transfer
            curl_multi_add_handle(multi, transfer.handle)
        }
        for id in releases { pools[id] = nil }
        for id in cancellations {
            guard let transfer = byID[id] else { continue }
            transfer.cancel()
            finish(transfer, code: nil)
        }
    }

    /// The pool of a request that keeps connections; nil for fresh probes, and when curl cannot
    /// make a share handle (the probe is then a fresh one).
    private func pool(for request: TransferRequest) -> ConnectionPool? {
        guard let id = request.pool?.id else { return nil }
        if let pool = pools[id] { return pool }
        let pool = ConnectionPool()
        pools[id] = pool
        return pool
    }

    /// Runs the actions of the timers that came due; the tasks they start run in `runJobs`.
    private func fireTimers() {
        for entry in inbox.takeNewTimers() { timers.push(entry) }
        let now = ContinuousClock.now
        guard let earliest = timers.earliest, earliest <= now else { return }
        for action in timers.popDue(at: now) { action() }
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
            phaseAtEnd: .resolve, inResponseHeaders: false, followedRedirect: false, redirectRefusal: nil, usedTLS: false, timings: CurlTimings(), status: 0, httpVersion: 0, redirects: 0,
            contentLength: nil, bodyBytes: 0, body: Data(), headers: [], primaryIP: "", osErrno: 0,
            newConnections: 0, handshake: HandshakeFacts())
    }
}
