import Foundation
import GRDB
@testable import Storage
import PhaseWatchCore
import TestSupport
import Testing

/// First attempt and final (schema v8, docs/slo.md#first-attempt-and-final): the probes good at
/// their first attempt, counted and weighed by every path a window takes — raw rows, minute and
/// hour rollups, counts only or with sketches — exactly as a sum over the probes gives it.
struct FirstAttemptTests {
    /// One target over 3 h; a third of the successes needed a retry, some failures took several
    /// attempts; weights 1 and 1/4 mixed so the weighted sums differ from the counts.
    static func history(seed: UInt64) -> [StoredProbe] {
        var rng = SplitMix64(seed: seed)
        var probes: [StoredProbe] = []
        var at = epochUs + 1_000
        var n = 0
        while at < epochUs + 3 * 3_600_000_000 {
            var probe = randomProbe(target: "t", startedUs: at, n: n, threshold: .milliseconds(100), rng: &rng)
            probe.result.attempts = Int.random(in: 0..<3, using: &rng) == 0 ? Int.random(in: 2...3, using: &rng) : 1
            probe.weight = [1, 0.25].randomElement(using: &rng)!
            probes.append(probe)
            at += Int64(probe.weight * 60_000_000)
            n += 1
        }
        return probes
    }

    /// (count, weighted sum) of the probes in [fromUs, toUs) good at their first attempt.
    static func firstAttempt(_ probes: [StoredProbe], fromUs: Int64, toUs: Int64) -> (count: Int, weighted: Double) {
        var out = (count: 0, weighted: 0.0)
        for p in probes {
            let us = Int64((p.result.startedAt.timeIntervalSince1970 * 1_000_000).rounded())
            guard us >= fromUs, us < toUs, p.result.success, p.result.attempts == 1 else { continue }
            out.count += 1
            out.weighted += p.weight
        }
        return out
    }

    @Test(arguments: StoreKind.allCases) func firstAttemptSumsMatchEveryPath(_ kind: StoreKind) async throws {
        let store = try kind.open()
        let probes = Self.history(seed: 61)
        for start in stride(from: 0, to: probes.count, by: 50) {
            try await store.insert(Array(probes[start..<min(start + 50, probes.count)]))
        }
        let hour: Int64 = 3_600_000_000
        // Whole hours (hour rollups), whole minutes (minute rollups), odd edges (raw rows).
        let windows: [(Int64, Int64)] = [
            (epochUs, epochUs + 3 * hour), (epochUs + hour, epochUs + 2 * hour), (epochUs + 60_000_000, epochUs + hour + 120_000_000),
            (epochUs + 1_234_567, epochUs + 2 * hour + 7_654_321), (epochUs + 5_000_000, epochUs + 600_000_000),
        ]
        for (from, to) in windows {
            let expected = Self.firstAttempt(probes, fromUs: from, toUs: to)
            let final = BruteForce(probes, target: "t", fromUs: from, toUs: to)
            let queries = [true, false].map { WindowQuery(from: date(us: from), to: date(us: to), sketches: $0) }
            for summary in try await store.summaries(target: "t", windows: queries) {
                #expect(summary.successFirstAttempt == expected.count, "[\(from), \(to))")
                #expect(abs(summary.weighted.successFirstAttempt - expected.weighted) < 1e-9, "[\(from), \(to))")
                #expect(summary.success == final.success)
                // Retries really did hide failures in this history.
                #expect(summary.successFirstAttempt < summary.success)
            }
        }
    }

    @Test func rollupRowsFromBeforeTheFirstAttemptSumsReadAsFinal() async throws {
        let queue = try DatabaseQueue()
        let store = try ProbeStore(writer: queue)
        let probes = Self.history(seed: 62)
        try await store.insert(probes)
        // As schema v7 left them: rollup rows without first-attempt sums, probe rows without retries.
        try await queue.write { db in
            for table in ["rollup_minute", "rollup_hour"] {
                try db.execute(sql: "UPDATE \(table) SET success_first_attempt = NULL, weighted_success_first_attempt = NULL")
            }
            try db.execute(sql: "UPDATE probe SET success_after_retry = 0")
        }
        let hour: Int64 = 3_600_000_000
        let windows = [(epochUs, epochUs + hour), (epochUs + 1_234_567, epochUs + 2 * hour + 7_654_321)]
        for (from, to) in windows {
            let queries = [true, false].map { WindowQuery(from: date(us: from), to: date(us: to), sketches: $0) }
            for summary in try await store.summaries(target: "t", windows: queries) {
                #expect(summary.total > 0)
                #expect(summary.successFirstAttempt == summary.success)
                #expect(abs(summary.weighted.successFirstAttempt - summary.weighted.success) < 1e-9)
            }
        }
        // A later probe in such a bucket adds to the final count the row stands for.
        let before = try await store.summary(target: "t", from: date(us: epochUs), to: date(us: epochUs + hour))
        var late = probes.first { $0.result.success }!
        late.result.startedAt = date(us: epochUs + 999)
        late.result.traceId = traceID(999_999)
        late.result.attempts = 2
        try await store.insert([late])
        let after = try await store.summary(target: "t", from: date(us: epochUs), to: date(us: epochUs + hour))
        #expect(after.success == before.success + 1)
        #expect(after.successFirstAttempt == before.success)
    }
}
