import Config
import PhaseWatchCore
import Testing

/// `interval_while_failing` (docs/config.md#interval_while_failing): read per target and from
/// `global`, held against the interval and the timeout with located errors; and `slo.weighting`.
struct IntervalWhileFailingConfigTests {
    static let rows: [Broken] = [
        .target("zero", "    interval_while_failing: 0s\n",
                "pw.yml:4:29: targets[0].interval_while_failing: must be greater than 0"),
        .target("without a unit", "    interval_while_failing: 5\n",
                #"pw.yml:4:29: targets[0].interval_while_failing: invalid duration "5": use a number with a unit, like 500ms, 15s, 5m, 1h or 30d"#),
        .target("typo suggests the key", "    interval_while_faling: 5s\n",
                #"pw.yml:4:5: targets[0].interval_while_faling: unknown key "interval_while_faling"; did you mean "interval_while_failing"?"#),
        .target("longer than the target's interval", "    interval: 15s\n    interval_while_failing: 20s\n    timeouts: {total: 2s}\n",
                "pw.yml:5:29: targets[0].interval_while_failing: 20s is longer than the target's interval (15s)"),
        .target("longer than the global interval", "    interval_while_failing: 1m\n",
                "pw.yml:4:29: targets[0].interval_while_failing: 1m is longer than the target's interval (30s, from global.interval)"),
        Broken("global value longer than the target's interval",
               "global: {interval_while_failing: 20s, timeout: 2s}\ntargets:\n  - name: a\n    url: https://x.example\n    interval: 10s\n",
               "pw.yml:5:15: targets[0].interval: interval_while_failing 20s (from global.interval_while_failing) is longer than the interval 10s"),
        Broken("global value longer than the global interval",
               "global: {interval: 10s, interval_while_failing: 20s, timeout: 2s}\ntargets:\n  - name: a\n    url: https://x.example\n",
               "pw.yml:3:5: targets[0]: interval_while_failing 20s (from global.interval_while_failing) is longer than the interval 10s (from global.interval)"),
        .target("shorter than the global timeout", "    interval_while_failing: 5s\n",
                "pw.yml:4:29: targets[0].interval_while_failing: 5s is shorter than the target's timeout (10s, from global.timeout); set timeouts.total to at most 5s"),
        .target("shorter than the target's timeout", "    interval_while_failing: 5s\n    timeouts: {total: 8s}\n",
                "pw.yml:4:29: targets[0].interval_while_failing: 5s is shorter than the target's timeout (8s); set timeouts.total to at most 5s"),
        Broken("own timeout longer than the global value",
               "global: {interval_while_failing: 5s}\ntargets:\n  - name: a\n    url: https://x.example\n    timeouts: {total: 8s}\n",
               "pw.yml:5:23: targets[0].timeouts.total: 8s is longer than interval_while_failing 5s (from global.interval_while_failing)"),
        Broken("global timeout longer than the global value",
               "global: {interval_while_failing: 5s}\ntargets:\n  - name: a\n    url: https://x.example\n",
               "pw.yml:3:5: targets[0]: timeout 10s (from global.timeout) is longer than interval_while_failing 5s (from global.interval_while_failing)"),
        Broken("zero in global", "global: {interval_while_failing: 0s}\n",
               "pw.yml:1:34: global.interval_while_failing: must be greater than 0"),
        // A timeout longer than the interval is one error, not one more for interval_while_failing.
        .target("no follow-up error after a timeout longer than the interval",
                "    interval: 5s\n    timeouts: {total: 8s}\n    interval_while_failing: 2s\n",
                "pw.yml:5:23: targets[0].timeouts.total: 8s is longer than the target's interval (5s)"),
        // slo.weighting (docs/slo.md#probing-faster-while-failing).
        .target("unknown weighting", "    slo: {availability: 99, weighting: times}\n",
                #"pw.yml:4:40: targets[0].slo.weighting: unsupported weighting "times": use probes or time; did you mean "time"?"#),
    ]

    @Test(arguments: rows)
    func reportsExactError(_ row: Broken) {
        #expect(Fixtures.check(row.yaml) == row.error)
    }

    @Test func targetValueWinsOverGlobalAndAbsentMeansNone() throws {
        let config = try Fixtures.parse("""
            global: {interval: 1m, timeout: 2s, interval_while_failing: 10s}
            targets:
              - {name: inherits, url: "http://a.example"}
              - {name: own, url: "http://b.example", interval_while_failing: 5s}
              - {name: equal, url: "http://c.example", interval: 10s}
            """)
        #expect(config.global.intervalWhileFailing == .seconds(10))
        #expect(config.targets.map(\.intervalWhileFailing) == [.seconds(10), .seconds(5), .seconds(10)])
        let plain = try Fixtures.parse("targets:\n  - {name: a, url: \"http://a.example\"}\n")
        #expect(plain.global.intervalWhileFailing == nil)
        #expect(plain.targets[0].intervalWhileFailing == nil)
        // Without the key a target runs at its interval whatever happens.
        #expect(plain.targets[0].interval(failing: true) == .seconds(30))
        #expect(config.targets[1].interval(failing: true) == .seconds(5))
        #expect(config.targets[1].interval(failing: false) == .seconds(60))
    }

    @Test func sloWeightingDefaultsToProbes() throws {
        let config = try Fixtures.parse("""
            targets:
              - {name: a, url: "http://a.example", slo: {availability: 99.9}}
              - {name: b, url: "http://b.example", slo: {availability: 99.9, weighting: time}}
            """)
        #expect(config.targets.map { $0.slo?.weighting } == [.probes, .time])
    }

    @Test func subSecondValuesAreAllowed() throws {
        // Unlike `interval` (≥ 1s): a failing target may be probed every 500ms.
        let config = try Fixtures.parse("""
            targets:
              - {name: a, url: "http://a.example", interval: 2s, interval_while_failing: 500ms, timeouts: {total: 400ms}}
            """)
        #expect(config.targets[0].intervalWhileFailing == .milliseconds(500))
    }
}
