import Foundation
import Probing
import Synchronization
import Testing

/// The curl loop's own timers (`Prober.schedule(at:)`), which the scheduler runs targets on.
struct LoopTimerTests {
    /// 500 timers with shuffled deadlines over 300 ms, each starting a task on the loop's
    /// executor as the scheduler does: none fires early, and the tasks start on time even while
    /// every cooperative thread is kept busy (the case the loop's timers exist for).
    @Test func timersFireOnTimeWhileTheCooperativePoolIsBusy() async throws {
        let prober = Prober()
        let clock = ContinuousClock()
        let start = clock.now + .milliseconds(50)
        let busyUntil = start + .milliseconds(400)
        let lags = await withTaskGroup(of: Duration?.self) { group in
            // Busy work on every cooperative thread, never suspending, for the whole test.
            for _ in 0..<ProcessInfo.processInfo.activeProcessorCount {
                group.addTask {
                    var x = 0.0
                    while clock.now < busyUntil { x += sin(x) }
                    return x.isNaN ? .zero : nil
                }
            }
            for i in (0..<500).shuffled() {
                // Registered from the loop's executor, as the scheduler's tasks do: a task on the
                // busy pool could not even register its timer.
                group.addTask(executorPreference: prober.executor) {
                    let deadline = start + .microseconds(Int64(i) * 600)
                    return await withCheckedContinuation { (done: CheckedContinuation<Duration?, Never>) in
                        prober.schedule(at: deadline) {
                            Task(executorPreference: prober.executor) { done.resume(returning: clock.now - deadline) }
                        }
                    }
                }
            }
            var lags: [Duration] = []
            for await lag in group { if let lag { lags.append(lag) } }
            return lags.sorted()
        }
        #expect(lags.count == 500)
        #expect(lags.first! >= .zero, "fired \(lags.first!) early")
        let p99 = lags[Int(Double(lags.count) * 0.99) - 1]
        // The loop polls in whole milliseconds (rounded up), so ~1 ms is the floor here.
        #expect(p99 < .milliseconds(20), "lag p99 \(p99), max \(lags.last!)")
    }

    /// Actions run on the loop's own thread, earliest deadline first, whatever the order they
    /// were added in.
    @Test func actionsRunOnTheLoopThreadInDeadlineOrder() async throws {
        let prober = Prober()
        let clock = ContinuousClock()
        let base = clock.now + .milliseconds(30)
        let fired = Mutex<[(Int, String?)]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for i in [3, 0, 4, 1, 2] {
                prober.schedule(at: base + .milliseconds(10 * i)) {
                    let count = fired.withLock { list in
                        list.append((i, Self.threadName()))
                        return list.count
                    }
                    if count == 5 { done.resume() }
                }
            }
        }
        let list = fired.withLock { $0 }
        #expect(list.map(\.0) == [0, 1, 2, 3, 4])
        #expect(list.allSatisfy { $0.1 == "phasewatch-curl" }, "\(list.map(\.1))")
    }

    /// The calling thread's name as the kernel has it (what `ps -L` and perf show).
    static func threadName() -> String? {
        (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8))?.trimmingCharacters(in: .newlines)
    }
}
