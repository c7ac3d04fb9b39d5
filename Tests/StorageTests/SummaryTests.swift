import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// A random multi-target history inserted the way the agent does it: batches of what finished
/// in roughly the last second, targets interleaved, sometimes a little out of order.
struct History {
    var probes: [StoredProbe] = []
    let targets = ["alpha", "beta", "gamma", "delta"]
    let startUs: Int64
    let endUs: Int64

    init(seed: UInt64, hours: Double, startUs: Int64 = epochUs + 1_234_567) {
        var rng = SplitMix64(seed: seed)
        self.startUs = startUs
        endUs = startUs + Int64(hours * 3_600_000_000)
        var n = 0
        for (t, target) in targets.enumerated() {
            let interval = Int64([5, 15, 30, 60][t]) * 1_000_000
            var at = startUs + Int64.random(in: 0..<interval, using: &rng)
            while at < endUs {
                // The latency threshold changes half-way for one target; rows keep theirs.
                let threshold: Duration? = t == 3 ? nil : (at < (startUs + endUs) / 2 || t != 0 ? .milliseconds(150) : .milliseconds(60))
                probes.append(randomProbe(target: target, startedUs: at, n: n, threshold: threshold, rng: &rng))
                n += 1
                at += interval + Int64.random(in: -200_000...200_000, using: &rng)
            }
        }
        probes.sort { $0.result.startedAt < $1.result.startedAt }
        // Swap a few neighbours: results do not always finish in start order.
        for i in stride(from: 1, to: probes.count, by: 37) { probes.swapAt(i - 1, i) }
    }

    func insert(into store: ProbeStore, batch: Int = 40) async throws {
        var i = 0
        while i < probes.count {
            try await store.insert(Array(probes[i..<min(i + batch, probes.count)]))
            i += batch
        }
    }

    /// A random window inside (or overlapping) the history: arbitrary µs, whole minutes, whole
    /// hours, tiny, and the whole thing.
    func randomWindow(_ rng: inout SplitMix64) -> (Int64, Int64) {
        let span = endUs - startUs
        var a = startUs - 600_000_000 + Int64.random(in: 0...(span + 600_000_000), using: &rng)
        var b = a + Int64.random(in: 0...(span / Int64.random(in: 1...8, using: &rng)), using: &rng)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            a = a / 60_000_000 * 60_000_000
            b = b / 60_000_000 * 60_000_000
        case 1:
            a = a / 3_600_000_000 * 3_600_000_000
            b = b / 3_600_000_000 * 3_600_000_000 + 60_000_000 * Int64.random(in: 0..<3, using: &rng)
        case 2:
            b = a + Int64.random(in: 1...90_000_000, using: &rng)
        case 3:
            a = a / 60_000_000 * 60_000_000 + 7
            b = b / 3_600_000_000 * 3_600_000_000
        default:
            break
        }
        return (a, b)
    }
}

@Suite(.serialized)
struct SummaryTests {
    @Test(arguments: StoreKind.allCases) func summariesEqualBruteForceOverRandomWindows(_ kind: StoreKind) async throws {
        let store = try kind.open()
        let history = History(seed: 11, hours: 5.5)
        #expect(history.probes.count > 2_500)
        try await history.insert(into: store)

        var rng = SplitMix64(seed: 12)
        for _ in 0..<150 {
            let (a, b) = history.randomWindow(&rng)
            let target = history.targets.randomElement(using: &rng)!
            let summary = try await store.summary(target: target, from: date(us: a), to: date(us: b))
            BruteForce(history.probes, target: target, fromUs: a, toUs: b).expectMatches(summary, "\(target) [\(a), \(b))")
        }
        // The whole history of one target in one go.
        let all = try await store.summary(target: "alpha", from: date(us: history.startUs), to: date(us: history.endUs))
        BruteForce(history.probes, target: "alpha", fromUs: history.startUs, toUs: history.endUs).expectMatches(all, "all")
        #expect(all.total > 3_000)
    }

    @Test func emptyAndUnknown() async throws {
        let (store, _) = try openStore()
        #expect(try await store.summary(target: "nope", from: date(us: epochUs), to: date(us: epochUs + 1)) == WindowSummary())
        let history = History(seed: 1, hours: 0.2)
        try await history.insert(into: store)
        let before = try await store.summary(target: "alpha", from: date(us: epochUs - 3_600_000_000), to: date(us: epochUs))
        #expect(before == WindowSummary())
        let reversed = try await store.summary(target: "alpha", from: date(us: history.endUs), to: date(us: history.startUs))
        #expect(reversed == WindowSummary())
        #expect(before.duration.quantile(0.99) == nil)
    }

    @Test func goodLatencyUsesTheThresholdRecordedWithEachProbe() async throws {
        let (store, _) = try openStore()
        func probe(_ i: Int, _ seconds: Double, _ threshold: Duration?, success: Bool = true) -> StoredProbe {
            StoredProbe(
                result: ProbeResult(
                    target: "t", url: "u", startedAt: date(us: epochUs + Int64(i) * 1_000_000), success: success,
                    failure: success ? nil : Failure(phase: .assert, reason: .status, message: "503"),
                    duration: seconds, traceId: traceID(i)),
                latencyThreshold: threshold)
        }
        try await store.insert([
            probe(0, 0.2, .milliseconds(300)), probe(1, 0.3, .milliseconds(300)), probe(2, 0.300001, .milliseconds(300)),
            probe(3, 0.2, .milliseconds(100)), probe(4, 5, nil), probe(5, 0.01, .seconds(1), success: false),
        ])
        let s = try await store.summary(target: "t", from: date(us: epochUs), to: date(us: epochUs + 60_000_000))
        #expect(s.total == 6)
        #expect(s.success == 5)
        #expect(s.goodLatency == 3)  // 0.2 ≤ 0.3, 0.3 ≤ 0.3, and no threshold
        #expect(s.failuresByPhase == [.assert: 1])
        #expect(s.failuresByReason == [.status: 1])
        #expect(s.duration.count == 5)
    }
}
