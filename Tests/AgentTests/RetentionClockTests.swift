@testable import Agent
import Foundation
import Testing

/// The retention clock's arithmetic, with both clocks passed in.
struct RetentionClockTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    let m0 = ContinuousClock.now
    let day: TimeInterval = 86_400

    @Test func followsAWallClockThatKeepsTime() {
        var clock = RetentionClock()
        #expect(clock.now(wall: t0, mono: m0) == (t0, nil))
        // The wall clock ran 0.2 s fast over 10 minutes: retention counts by the slower of the two.
        let next = clock.now(wall: t0 + 600.2, mono: m0 + .seconds(600))
        #expect(next.trusted == t0 + 600)
        #expect(next.step == nil)
        let slow = clock.now(wall: t0 + 1199.9, mono: m0 + .seconds(1200))
        #expect(slow.trusted == t0 + 1199.9)
    }

    @Test func aStepAheadIsNotBelievedUntilTheWallClockComesBack() {
        var clock = RetentionClock()
        _ = clock.now(wall: t0, mono: m0)
        // 10 minutes later the wall clock reads 401 days and 10 minutes later.
        let jumped = clock.now(wall: t0 + 401 * day + 600, mono: m0 + .seconds(600))
        #expect(jumped.trusted == t0 + 600)
        #expect(jumped.step.map { abs($0 - 401 * day) < 1 } == true)
        // Still ahead at the next pass: no new step, still the monotonic time.
        let still = clock.now(wall: t0 + 401 * day + 1200, mono: m0 + .seconds(1200))
        #expect(still.trusted == t0 + 1200)
        #expect(still.step == nil)
        // NTP sets it right: the wall clock is believed again (a step back is reported).
        let fixed = clock.now(wall: t0 + 1800, mono: m0 + .seconds(1800))
        #expect(fixed.trusted == t0 + 1800)
        #expect(fixed.step.map { abs($0 + 401 * day) < 1 } == true)
    }

    @Test func aStepBackIsBelievedAtOnce() {
        var clock = RetentionClock()
        _ = clock.now(wall: t0, mono: m0)
        let back = clock.now(wall: t0 - day, mono: m0 + .seconds(600))
        #expect(back.trusted == t0 - day)
        #expect(back.step.map { abs($0 + day + 600) < 1 } == true)
        // From there on it counts from the stepped-back time.
        #expect(clock.now(wall: t0 - day + 600, mono: m0 + .seconds(1200)).trusted == t0 - day + 600)
    }

    @Test func smallCorrectionsAreNotSteps() {
        var clock = RetentionClock()
        _ = clock.now(wall: t0, mono: m0)
        #expect(clock.now(wall: t0 + 630, mono: m0 + .seconds(600)).step == nil)
        #expect(clock.now(wall: t0 + 1170, mono: m0 + .seconds(1200)).step == nil)
    }
}
