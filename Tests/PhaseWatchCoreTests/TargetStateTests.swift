import Foundation
import PhaseWatchCore
import Testing

/// up / degraded / down with hysteresis, fed one outcome at a time.
struct TargetStateTests {
    /// Feeds `outcomes` ("s" success, "f" failure, "S" a slow success) and returns the state
    /// after each one, as one letter: ? unknown, u up, d degraded, D down.
    func run(_ outcomes: String, config: StateConfig = StateConfig(recentProbes: 10, degradedErrorRatio: 0.2, downAfter: 3, recoverAfter: 2),
             latencyThreshold: Double? = nil) -> String {
        var machine = TargetStateMachine(config: config, latencyThreshold: latencyThreshold)
        var out = ""
        for (i, c) in outcomes.enumerated() {
            machine.record(success: c != "f", duration: c == "S" ? 0.5 : 0.01, startedAt: Date(timeIntervalSince1970: Double(i)))
            out += ["unknown": "?", "up": "u", "degraded": "d", "down": "D"][machine.state.rawValue]!
        }
        return out
    }

    @Test func firstSuccessIsUpAndOneFailureInTenIsTolerated() {
        #expect(run("sssssfssss") == "uuuuuuuuuu")
        #expect(run("f") == "d", "a first probe that fails: 1 of 1 failed")
    }

    @Test func errorRatioAboveThresholdDegradesAndRecoveryNeedsARunOfSuccesses() {
        // Threshold 0.2 over the recent probes (fewer than 10 at first): 2 of 8 is 0.25.
        #expect(run("sssssfsfsf") == "uuuuuuuddd")
        // Degraded until at most 2 of the last 10 failed (the 16th probe) with two successes in a row.
        #expect(run("sssssfsfsf" + "ssssss") == "uuuuuuuddd" + "dddddu")
    }

    @Test func consecutiveFailuresMakeItDownAndOneSuccessDoesNotBringItBack() {
        // 1 of 4 failed is above 0.2 (degraded); the third failure in a row is down.
        #expect(run("sssfff") == "uuuddD")
        // down → one success is not enough (recover_after 2); a failure in between starts over;
        // back from down it is degraded while 4 of the last 10 failed.
        #expect(run("sssfff" + "sfss") == "uuuddD" + "DDDd")
    }

    @Test func comingBackFromDownGoesThroughDegradedWhileFailuresAreRecent() {
        // After the outage three of the last ten failed: degraded, then up once two of them
        // aged out (probe 17).
        let states = run("ssssssfff" + "ssssssssss")
        #expect(states == "uuuuuuudD" + "D" + "dddddd" + "uuu")
    }

    @Test func slowP99DegradesWhenALatencyThresholdIsSet() {
        #expect(run("ssSs", latencyThreshold: 0.2) == "uudd")
        #expect(run("ssSs", latencyThreshold: nil) == "uuuu")
        // P99 of the last 10 drops below the threshold once the slow probe is 10 probes old.
        let states = run("ssS" + String(repeating: "s", count: 10), latencyThreshold: 0.2)
        #expect(states == "uu" + String(repeating: "d", count: 10) + "u")
    }

    @Test func sinceIsTheStartOfTheProbeThatChangedTheState() {
        var machine = TargetStateMachine(config: StateConfig(downAfter: 2))
        #expect(machine.state == .unknown)
        #expect(machine.since == nil)
        machine.record(success: true, duration: 0.01, startedAt: Date(timeIntervalSince1970: 100))
        machine.record(success: true, duration: 0.01, startedAt: Date(timeIntervalSince1970: 200))
        #expect(machine.state == .up)
        #expect(machine.since == Date(timeIntervalSince1970: 100))
        machine.record(success: false, duration: 0.01, startedAt: Date(timeIntervalSince1970: 300))
        machine.record(success: false, duration: 0.01, startedAt: Date(timeIntervalSince1970: 400))
        #expect(machine.state == .down)
        #expect(machine.since == Date(timeIntervalSince1970: 400))
        #expect(machine.reason == "2 failures in a row")
    }
}
