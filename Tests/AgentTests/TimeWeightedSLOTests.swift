@testable import Agent
import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// `slo.weighting: time` (docs/slo.md#probing-faster-while-failing): with `interval_while_failing`
/// a failing period has more probes than its length deserves. The probes of the docs' example —
/// interval 60s, 5s while failing, a server down 12:00:31–12:05:28 — are scheduled by the
/// scheduler's own arithmetic and state rule, stored in a real database, and read back the way
/// the SLO engine reads them.
struct TimeWeightedSLOTests {
    static let second: Int64 = 1_000_000_000
    static let hour = 3600 * second
    /// A whole hour of wall-clock time (slots at :00 with the anchor at 0).
    static let epoch = Date(timeIntervalSince1970: 1_795_305_600)

    /// Three hours of runs; the outage is in the second hour. Returns the probes with their weights.
    static func scheduledProbes(down: Range<Int64>) -> [StoredProbe] {
        var target = Target(name: "t", url: "http://t.example/", interval: .seconds(60))
        target.intervalWhileFailing = .seconds(5)
        var machine = TargetStateMachine(config: StateConfig())
        var (due, previous, every): (Int64, Int64, Duration) = (0, -60 * second, .seconds(60))
        var probes: [StoredProbe] = []
        while due < 3 * hour {
            let ok = !down.contains(due)
            let started = epoch.addingTimeInterval(Double(due) / 1e9)
            machine.record(success: ok, duration: 0.01, startedAt: started)
            let result = ProbeResult(
                target: "t", url: target.url, startedAt: started, success: ok,
                failure: ok ? nil : Failure(phase: .connect, reason: .connectRefused, message: "refused"), duration: 0.01,
                traceId: String(format: "%032x", probes.count + 1))
            probes.append(StoredProbe(result: result, weight: Schedule.weight(due: due, previous: previous, interval: target.interval)))
            let next = target.interval(failing: machine.state.isFailing(latestSucceeded: ok))
            previous = due
            due = Schedule.next(after: due, ranEvery: every, now: due + 10_000_000, anchor: 0, every: next).due
            every = next
        }
        return probes
    }

    @Test func timeWeightedSLIIsTheShareOfTimeObservedGood() async throws {
        let down = (Self.hour + 31 * Self.second)..<(Self.hour + 328 * Self.second)
        let probes = Self.scheduledProbes(down: down)
        let dir = Scratch.dir.appendingPathComponent("weighting-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        try await store.insert(probes)

        // The hour of the outage: the counts of docs/slo.md's table.
        let from = Self.epoch.addingTimeInterval(3600)
        let to = Self.epoch.addingTimeInterval(7200)
        let inHour = probes.filter { $0.result.startedAt >= from && $0.result.startedAt < to }
        #expect(inHour.count { !$0.result.success } == 54)
        #expect(inHour.count { $0.result.success } == 72)

        // The share of the hour observed good: each probe's result holds for the time since the
        // run before it (measured from the start times, not from the weights).
        var good = 0.0
        var all = 0.0
        var last = from.addingTimeInterval(-60)
        for probe in probes where probe.result.startedAt >= from && probe.result.startedAt < to {
            let span = probe.result.startedAt.timeIntervalSince(last)
            all += span
            if probe.result.success { good += span }
            last = probe.result.startedAt
        }
        #expect(abs(all - 3600) < 1e-6)
        #expect(abs(good / all - (3600.0 - 325) / 3600) < 1e-9)  // bad: 12:00:00–12:05:25

        let window = Duration.seconds(3600)
        let summary = try await store.summaries(target: "t", windows: [WindowQuery(from: from, to: to, sketches: false)])[0]
        func sli(_ weighting: SLOWeighting) -> Double? {
            SLOStatus(
                target: "t", kind: .availability, objective: 0.999, sloWindow: window, threshold: nil,
                summaries: [window: summary], weighting: weighting
            ).sli["1h"]
        }
        let byTime = try #require(sli(.time))
        #expect(abs(byTime - good / all) < 1e-9, "\(byTime) vs \(good / all)")
        #expect(sli(.probes) == 72.0 / 126)
        // The hours without failures read 1 either way.
        let quiet = try await store.summaries(target: "t", windows: [WindowQuery(from: Self.epoch, to: from, sketches: false)])[0]
        #expect(quiet.total == 60 && quiet.weighted.total == 60 && quiet.weighted.success == 60)
    }

    @Test func timeWeightedBudgetSplitsByPhaseAndAddsUp() {
        // 10 failures at 1/12 each (4 tls, 6 connect) among 50 probes at weight 1.
        var s = WindowSummary(total: 60, success: 50, goodLatency: 50, failuresByPhase: [.tls: 4, .connect: 6])
        s.weighted = WindowSummary.Weighted(total: 50 + 10.0 / 12, success: 50, goodLatency: 50)
        let window = Duration.seconds(3600)
        let status = SLOStatus(
            target: "t", kind: .availability, objective: 0.99, sloWindow: window, threshold: nil, summaries: [window: s],
            weighting: .time)
        let consumed = status.errorBudget.consumed ?? .nan
        #expect(abs(consumed - (10.0 / 12) / ((50 + 10.0 / 12) * 0.01)) < 1e-12)
        #expect(abs(status.budgetByPhase["tls"]! - consumed * 0.4) < 1e-12)
        #expect(abs(status.budgetByPhase.values.reduce(0, +) - consumed) < 1e-12)
        #expect(status.probes == SLOStatus.Probes(total: 60, good: 50, bad: 10, goodFirstAttempt: 50))  // counts stay counts
    }
}
