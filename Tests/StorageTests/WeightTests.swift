import Foundation
import GRDB
@testable import Storage
import PhaseWatchCore
import TestSupport
import Testing

/// Probe weights (schema v4, docs/slo.md#probing-faster-while-failing): each probe's share of its
/// target's interval, summed by every path a window takes — raw rows, minute and hour rollups,
/// counts only or with sketches — exactly as a sum over the probes gives it.
struct WeightTests {
    /// A history of one target over 3 h with weights 1, 1/12 and 1/4 mixed, and what a brute-force
    /// sum of the weights gives for a window.
    struct Weighted {
        var probes: [StoredProbe] = []

        init(seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            var at = epochUs + 1_000
            var n = 0
            while at < epochUs + 3 * 3_600_000_000 {
                var probe = randomProbe(target: "t", startedUs: at, n: n, threshold: .milliseconds(100), rng: &rng)
                probe.weight = [1, 1.0 / 12, 0.25].randomElement(using: &rng)!
                probes.append(probe)
                at += Int64(probe.weight * 60_000_000)
                n += 1
            }
        }

        func sums(fromUs: Int64, toUs: Int64) -> WindowSummary.Weighted {
            var out = WindowSummary.Weighted()
            for p in probes {
                let us = Int64((p.result.startedAt.timeIntervalSince1970 * 1_000_000).rounded())
                guard us >= fromUs, us < toUs else { continue }
                out.total += p.weight
                if p.result.success { out.success += p.weight }
                if p.isGoodLatency { out.goodLatency += p.weight }
            }
            return out
        }
    }

    static func close(_ a: WindowSummary.Weighted, _ b: WindowSummary.Weighted) -> Bool {
        abs(a.total - b.total) < 1e-9 && abs(a.success - b.success) < 1e-9 && abs(a.goodLatency - b.goodLatency) < 1e-9
    }

    @Test(arguments: StoreKind.allCases) func weightedSumsMatchEveryPath(_ kind: StoreKind) async throws {
        let store = try kind.open()
        let history = Weighted(seed: 41)
        for start in stride(from: 0, to: history.probes.count, by: 50) {
            try await store.insert(Array(history.probes[start..<min(start + 50, history.probes.count)]))
        }
        let hour: Int64 = 3_600_000_000
        // Whole hours (hour rollups), whole minutes (minute rollups), odd edges (raw rows).
        let windows: [(Int64, Int64)] = [
            (epochUs, epochUs + 3 * hour), (epochUs + hour, epochUs + 2 * hour), (epochUs + 60_000_000, epochUs + hour + 120_000_000),
            (epochUs + 1_234_567, epochUs + 2 * hour + 7_654_321), (epochUs + 5_000_000, epochUs + 600_000_000),
        ]
        for (from, to) in windows {
            let expected = history.sums(fromUs: from, toUs: to)
            let queries = [true, false].map { WindowQuery(from: date(us: from), to: date(us: to), sketches: $0) }
            for summary in try await store.summaries(target: "t", windows: queries) {
                #expect(Self.close(summary.weighted, expected), "[\(from), \(to)): \(summary.weighted) vs \(expected)")
                #expect(summary.total > 0 && summary.weighted.total < Double(summary.total))  // the weights really are below 1
            }
        }
    }

    /// A report's summaries (`reportSummaries`: the hour rollups of all windows read at once,
    /// without phase sketches) are `summaries`' with sketches, bit for bit, less the phases and
    /// failure reasons a report does not show.
    @Test(arguments: StoreKind.allCases) func reportSummariesAreSummariesToTheBit(_ kind: StoreKind) async throws {
        let store = try kind.open()
        let history = Weighted(seed: 43)
        try await store.insert(history.probes)
        let hour: Int64 = 3_600_000_000
        // A report's periods (whole hours) and its total, then odd edges (minute rollups, raw rows).
        let windows = [(epochUs, epochUs + hour), (epochUs + hour, epochUs + 2 * hour), (epochUs + 2 * hour, epochUs + 3 * hour),
                       (epochUs, epochUs + 3 * hour), (epochUs + 60_000_000, epochUs + hour + 120_000_000),
                       (epochUs + 1_234_567, epochUs + 2 * hour + 7_654_321), (epochUs + 5_000_000, epochUs + 600_000_000)]
            .map { (from: date(us: $0.0), to: date(us: $0.1)) }
        let full = try await store.summaries(target: "t", windows: windows.map { WindowQuery(from: $0.from, to: $0.to, sketches: true) })
        let report = try await store.reportSummaries(target: "t", windows: windows)
        for (window, (got, all)) in zip(windows, zip(report, full)) {
            var expected = all
            expected.phases = [:]
            expected.failuresByReason = [:]
            #expect(got == expected, "[\(window.from), \(window.to))")
            #expect(got.total > 0 && !got.duration.isEmpty)
        }
    }

    @Test func rollupRowsFromBeforeTheWeightsCountEachProbeOnce() async throws {
        let queue = try DatabaseQueue()
        let store = try ProbeStore(writer: queue)
        let history = Weighted(seed: 42)
        try await store.insert(history.probes)
        // As schema v3 left them: rollup rows without sums (every probe weighed 1 then), nor the
        // first-attempt sums of v8.
        try await queue.write { db in
            for table in ["rollup_minute", "rollup_hour"] {
                try db.execute(sql: "UPDATE \(table) SET weighted_total = NULL, weighted_success = NULL, weighted_good_latency = NULL, success_first_attempt = NULL, weighted_success_first_attempt = NULL")
            }
        }
        let hour: Int64 = 3_600_000_000
        let whole = [true, false].map { WindowQuery(from: date(us: epochUs), to: date(us: epochUs + hour), sketches: $0) }
        for summary in try await store.summaries(target: "t", windows: whole) {
            #expect(summary.weighted == WindowSummary.Weighted(
                total: Double(summary.total), success: Double(summary.success), goodLatency: Double(summary.goodLatency)))
        }
        // A later probe in such a bucket adds its weight to the count the row stands for.
        let before = try await store.summary(target: "t", from: date(us: epochUs), to: date(us: epochUs + hour))
        var late = history.probes[0]
        late.result.startedAt = date(us: epochUs + 999)
        late.result.traceId = traceID(999_999)
        late.weight = 0.25
        try await store.insert([late])
        let after = try await store.summary(target: "t", from: date(us: epochUs), to: date(us: epochUs + hour))
        #expect(after.total == before.total + 1)
        #expect(abs(after.weighted.total - (Double(before.total) + 0.25)) < 1e-9)
    }
}
