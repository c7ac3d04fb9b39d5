import Foundation
import Probing
import Testing

/// The curl loop's own timers (`Prober.sleep(until:)`), which the scheduler sleeps on.
struct LoopSleepTests {
    /// 500 sleepers with shuffled deadlines over 300 ms: none wakes early, and they wake on time
    /// even while every cooperative thread is kept busy (the case the loop's timers exist for).
    @Test func sleepersWakeOnTimeWhileTheCooperativePoolIsBusy() async throws {
        let prober = Prober()
        let clock = ContinuousClock()
        let start = clock.now + .milliseconds(50)
        let busyUntil = start + .milliseconds(400)
        let lags = try await withThrowingTaskGroup(of: Duration?.self) { group in
            // Busy work on every cooperative thread, never suspending, for the whole test.
            for _ in 0..<ProcessInfo.processInfo.activeProcessorCount {
                group.addTask {
                    var x = 0.0
                    while clock.now < busyUntil { x += sin(x) }
                    return x.isNaN ? .zero : nil
                }
            }
            for i in (0..<500).shuffled() {
                group.addTask(executorPreference: prober.executor) {
                    let deadline = start + .microseconds(Int64(i) * 600)
                    try await prober.sleep(until: deadline)
                    return clock.now - deadline
                }
            }
            var lags: [Duration] = []
            for try await lag in group { if let lag { lags.append(lag) } }
            return lags.sorted()
        }
        #expect(lags.count == 500)
        #expect(lags.first! >= .zero, "woke \(lags.first!) early")
        let p99 = lags[Int(Double(lags.count) * 0.99) - 1]
        // The loop polls in whole milliseconds (rounded up), so ~1 ms is the floor here.
        #expect(p99 < .milliseconds(20), "lag p99 \(p99), max \(lags.last!)")
    }

    /// A cancelled sleeper throws at once, whether cancelled before or while it sleeps.
    @Test func cancellationEndsASleepAtOnce() async throws {
        let prober = Prober()
        let clock = ContinuousClock()
        let sleeping = Task(executorPreference: prober.executor) {
            try await prober.sleep(until: clock.now + .seconds(30))
        }
        try await Task.sleep(for: .milliseconds(50))
        let cancelledAt = clock.now
        sleeping.cancel()
        await #expect(throws: CancellationError.self) { try await sleeping.value }
        #expect(clock.now - cancelledAt < .milliseconds(500))

        let early = Task(executorPreference: prober.executor) {
            withUnsafeCurrentTask { $0?.cancel() }
            try await prober.sleep(until: clock.now + .seconds(30))
        }
        let started = clock.now
        await #expect(throws: CancellationError.self) { try await early.value }
        #expect(clock.now - started < .milliseconds(500))
    }
}
