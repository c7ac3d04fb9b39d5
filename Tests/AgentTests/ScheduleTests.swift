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

    // interval_while_failing (docs/probing.md#interval_while_failing): interval 60 s, 5 s while
    // failing, both grids through the anchor at 0.

    @Test func failingResultMovesToTheNextFastSlotWithoutCatchUp() {
        // Due at 120 s (a normal slot), failed at 120.3 s: next at 125 s, not at 180 s.
        let next = Schedule.next(after: 120 * second, ranEvery: .seconds(60), now: 120 * second + 300_000_000, anchor: 0, every: .seconds(5))
        #expect(next.due == 125 * second)
        #expect(next.skipped == 0)
        // A result at 131 s: the fast slots at 125 s and 130 s passed before the switch and are
        // not run now (no burst), nor counted as skipped (no 60 s slot passed).
        let late = Schedule.next(after: 120 * second, ranEvery: .seconds(60), now: 131 * second, anchor: 0, every: .seconds(5))
        #expect(late.due == 135 * second)
        #expect(late.skipped == 0)
    }

    @Test func fastRunsStayOnTheirGrid() {
        // A thousand failing runs, each finishing 0.4 s after its slot: exactly 5 s apart, still
        // on the grid through the anchor.
        var due: Int64 = 125 * second
        for _ in 0..<1000 {
            let next = Schedule.next(after: due, ranEvery: .seconds(5), now: due + 400_000_000, anchor: 0, every: .seconds(5))
            #expect(next.due == due + 5 * second && next.skipped == 0)
            due = next.due
        }
        #expect(due == 5125 * second)
    }

    @Test func recoveringResultMovesToTheNextNormalSlot() {
        // Fast run due at 135 s succeeded at 135.2 s: next at 180 s (the next normal slot), not at
        // 140 s and not at 195.2 s.
        let next = Schedule.next(after: 135 * second, ranEvery: .seconds(5), now: 135 * second + 200_000_000, anchor: 0, every: .seconds(60))
        #expect(next.due == 180 * second)
        #expect(next.skipped == 0)
        // Recovered on a fast slot that is also a normal one (180 s): the next normal slot is 240 s.
        let onSlot = Schedule.next(after: 180 * second, ranEvery: .seconds(5), now: 180 * second + 1, anchor: 0, every: .seconds(60))
        #expect(onSlot.due == 240 * second)
        // And from there the normal rhythm goes on, on the same grid as before the failure.
        #expect(Schedule.next(after: onSlot.due, ranEvery: .seconds(60), now: onSlot.due + second, anchor: 0, every: .seconds(60)).due == 300 * second)
    }

    @Test func normalSlotsAreFastSlotsWhenTheIntervalIsAMultiple() {
        // The grids of a real name: every normal slot is one of the fast slots, so a target
        // probes no more often when it fails on a normal slot than the fast interval says.
        let epoch: Int64 = 1_800_000_123 * second
        let anchor = Schedule.anchor(name: "checkout", interval: .seconds(60), now: 0, epochNanos: epoch)
        var normal = Schedule.firstDue(name: "checkout", interval: .seconds(60), now: 0, epochNanos: epoch)
        for _ in 0..<100 {
            #expect(Schedule.slot(after: normal - 1, anchor: anchor, every: .seconds(5)) == normal)
            #expect(Schedule.slot(after: normal - 1, anchor: anchor, every: .seconds(60)) == normal)
            normal += 60 * second
        }
        // The fast grid keeps the name's wall-clock phase too.
        let fast = Schedule.slot(after: 0, anchor: anchor, every: .seconds(5))
        #expect((epoch + fast) % (5 * second) == Int64(FNV1a.hash("checkout") % UInt64(60 * second)) % (5 * second))
    }

    @Test func intervalNotAMultipleStillKeepsBothGrids() {
        // 60 s and 7 s: the grids meet only at the anchor every 420 s. Recovery at a fast slot
        // (56 s) goes to the next normal slot (60 s): 4 s later, sooner than either interval.
        let back = Schedule.next(after: 56 * second, ranEvery: .seconds(7), now: 56 * second + 100_000_000, anchor: 0, every: .seconds(60))
        #expect(back.due == 60 * second)
        // Failing at a normal slot (60 s) goes to the next fast slot (63 s).
        let away = Schedule.next(after: 60 * second, ranEvery: .seconds(60), now: 60 * second + 100_000_000, anchor: 0, every: .seconds(7))
        #expect(away.due == 63 * second)
    }

    @Test func overrunsAreCountedOnTheGridTheRunWasOn() {
        // A fast run due at 125 s that ends at 136 s (the agent stalled): 130 s and 135 s skipped.
        let fast = Schedule.next(after: 125 * second, ranEvery: .seconds(5), now: 136 * second, anchor: 0, every: .seconds(5))
        #expect(fast.due == 140 * second)
        #expect(fast.skipped == 2)
        // Recovering from it, the skips are still the fast ones; the next run is a normal slot.
        let back = Schedule.next(after: 125 * second, ranEvery: .seconds(5), now: 136 * second, anchor: 0, every: .seconds(60))
        #expect(back.due == 180 * second)
        #expect(back.skipped == 2)
        // A normal run that ends 125 s late skipped two normal slots, however it ended.
        let slow = Schedule.next(after: 120 * second, ranEvery: .seconds(60), now: 245 * second, anchor: 0, every: .seconds(5))
        #expect(slow.due == 250 * second)
        #expect(slow.skipped == 2)
    }

    @Test func hashIsFNV1a() {
        #expect(FNV1a.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a") == 0xaf63_dc4c_8601_ec8c)
    }
}
