@testable import Agent
import PhaseWatchCore
import Testing

/// The schedule arithmetic, with time passed in (a fake clock in all but name).
struct ScheduleTests {
    let second: Int64 = 1_000_000_000

    @Test func firstRunsSpreadEvenlyOverTheInterval() {
        // 1,000 targets at 15 s: no one-second slot of the interval gets much more than its share.
        var perSecond = [Int](repeating: 0, count: 15)
        for i in 0..<1000 {
            let due = Schedule.firstDue(name: "target-\(i)", interval: .seconds(15), now: 0, epochNanos: 1_800_000_000 * second)
            #expect(due >= 0 && due < 15 * second)
            perSecond[Int(due / second)] += 1
        }
        #expect(perSecond.max()! < 100, "\(perSecond)")  // 66.7 expected per second
        #expect(perSecond.min()! > 40, "\(perSecond)")
    }

    @Test func slotIsStableAcrossRestarts() {
        // The same target lands on the same wall-clock phase whenever the agent starts.
        let interval = Duration.seconds(30)
        for start in [Int64(1_800_000_000), 1_800_000_007, 1_800_012_345] {
            let epoch = start * second
            let due = Schedule.firstDue(name: "api-health", interval: interval, now: 500, epochNanos: epoch)
            let wallClockDue = epoch + (due - 500)
            #expect(wallClockDue % (30 * second) == Int64(FNV1a.hash("api-health") % UInt64(30 * second)))
        }
    }

    @Test func nextRunIsOneIntervalAfterTheDueTimeNotAfterCompletion() {
        // Probe due at 10 s finished at 10.7 s: next at 25 s, not 25.7 s — no drift.
        let next = Schedule.next(after: 10 * second, interval: .seconds(15), now: 10 * second + 700_000_000)
        #expect(next.due == 25 * second)
        #expect(next.skipped == 0)
        // A thousand runs later the grid is exactly where it started.
        var due: Int64 = 0
        for _ in 0..<1000 { due = Schedule.next(after: due, interval: .seconds(15), now: due + 3 * second).due }
        #expect(due == 15_000 * second)
    }

    @Test func overrunSkipsMissedRunsInsteadOfPilingUp() {
        // Due at 0, interval 5 s, the probe took 12 s: the runs at 5 s and 10 s are skipped.
        let next = Schedule.next(after: 0, interval: .seconds(5), now: 12 * second)
        #expect(next.due == 15 * second)
        #expect(next.skipped == 2)
        // Finishing exactly on the next slot skips it too (it is already due and passing).
        let edge = Schedule.next(after: 0, interval: .seconds(5), now: 5 * second)
        #expect(edge.due == 10 * second)
        #expect(edge.skipped == 1)
    }

    @Test func hashIsFNV1a() {
        #expect(FNV1a.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a") == 0xaf63_dc4c_8601_ec8c)
    }
}
