import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

@Suite(.serialized)
struct RetentionTests {
    static let minute: Int64 = 60_000_000
    static let hour: Int64 = 3_600_000_000

    static func floor(_ x: Int64, _ unit: Int64) -> Int64 { x / unit * unit }
    static func ceil(_ x: Int64, _ unit: Int64) -> Int64 { (x + unit - 1) / unit * unit }

    /// Every raw row of `target`, newest first, through the paginated API.
    static func allRows(_ store: ProbeStore, _ target: String) async throws -> [ProbeResult] {
        var out: [ProbeResult] = []
        var cursor: String?
        repeat {
            let page = try await store.results(target: target, since: nil, until: nil, limit: 997, cursor: cursor)
            out += page.results
            cursor = page.next
        } while cursor != nil
        return out
    }

    static func uniformDetails(_ probe: StoredProbe) -> StoredProbe {
        var p = probe
        p.result.ip = IPFacts(address: "203.0.113.1", family: 4)
        p.result.tls = nil
        p.result.http = HTTPFacts(status: 200, version: "2", redirects: 0, contentLength: 2, bodyBytes: 2)
        if var failure = p.result.failure {
            failure.message = "failed"
            p.result.failure = failure
        }
        return p
    }

    @Test func deletesExactlyWhatIsOlderThanTheCutoffsInBatches() async throws {
        let (store, _) = try openStore()
        // 12 hours; the first probes of "alpha" carry a failure message used nowhere later, so
        // their detail row becomes garbage once they are gone.
        // Details are made uniform (two per target: success, failure) so which detail rows
        // become garbage is known exactly.
        let history = History(seed: 21, hours: 12)
        let probes = history.probes.map { p in
            var p = Self.uniformDetails(p)
            if p.result.target == "alpha" && p.result.startedAt < date(us: history.startUs + 3_600_000_000) {
                p.result.success = false
                p.result.failure = Failure(phase: .connect, reason: .connectRefused, message: "only early on")
            }
            return p
        }
        var i = 0
        while i < probes.count {
            try await store.insert(Array(probes[i..<min(i + 500, probes.count)]))
            i += 500
        }

        let nowUs = history.endUs
        let raw = Duration.seconds(6 * 3600 + 17)  // not a whole minute: the cut splits a minute
        let minuteRollup = Duration.seconds(9 * 3600)
        let rollup = Duration.seconds(11 * 3600)
        let rawCut = nowUs - 6 * Self.hour - 17_000_000
        let minuteCut = Self.floor(nowUs - 9 * Self.hour, Self.minute)
        let hourCut = Self.floor(nowUs - 11 * Self.hour, Self.hour)

        // A writer keeps inserting newer probes while retention runs (in batches of 300 rows).
        var rng = SplitMix64(seed: 5)
        let late = (0..<200).map { n in
            Self.uniformDetails(randomProbe(target: "beta", startedUs: nowUs + Int64(n) * 100_000, n: 900_000 + n, threshold: nil, rng: &rng))
        }
        async let deleted = store.enforceRetention(
            now: date(us: nowUs), raw: raw, rollup: rollup, minuteRollup: minuteRollup, batchSize: 300)
        for chunk in stride(from: 0, to: late.count, by: 20) {
            try await store.insert(Array(late[chunk..<chunk + 20]))
        }
        let deletedCount = try await deleted

        let everything = probes + late
        var expectedDeleted = 1  // the "only early on" detail row
        for target in history.targets {
            let mine = everything.filter { $0.result.target == target }
            let starts = mine.map { Int64(($0.result.startedAt.timeIntervalSince1970 * 1_000_000).rounded()) }
            let kept = try await Self.allRows(store, target)
            let expected = mine.filter { $0.result.startedAt >= date(us: rawCut) }.map(\.result)
            #expect(kept.count == expected.count, "\(target)")
            #expect(Set(kept.map(\.traceId)) == Set(expected.map(\.traceId)), "\(target)")
            expectedDeleted += mine.count - expected.count
            expectedDeleted += Set(starts.map { Self.floor($0, Self.minute) }.filter { $0 < minuteCut }).count
            expectedDeleted += Set(starts.map { Self.floor($0, Self.hour) }.filter { $0 < hourCut }).count
        }
        #expect(deletedCount == expectedDeleted)
        #expect(try await store.integrityCheck() == "ok")
        // Nothing left to do the second time.
        #expect(try await store.enforceRetention(now: date(us: nowUs), raw: raw, rollup: rollup, minuteRollup: minuteRollup) == 0)
    }

    @Test func rollupsStillAnswerAfterRawRowsAreGone() async throws {
        let (store, _) = try openStore()
        let history = History(seed: 31, hours: 8)
        try await history.insert(into: store, batch: 200)
        let nowUs = history.endUs
        let rawCut = nowUs - 3 * Self.hour - 29_000_000
        let minuteCut = Self.floor(nowUs - 5 * Self.hour - 30 * Self.minute, Self.minute)
        try await store.enforceRetention(
            now: date(us: nowUs), raw: .seconds(3 * 3600 + 29), rollup: .seconds(30 * 86_400), minuteRollup: .seconds(5 * 3600 + 1800))

        // Where raw rows are gone, a window edge widens to the minute rollup that overlaps it;
        // where minute rollups are gone too, to the overlapping hour. Inside raw retention all
        // is exact.
        func expectedBounds(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
            Self.answeredWindow(a, b, rawCut: rawCut, minuteCut: minuteCut)
        }
        var rng = SplitMix64(seed: 32)
        var widened = 0
        for _ in 0..<150 {
            let (a, b) = history.randomWindow(&rng)
            guard a < b else { continue }
            let target = history.targets.randomElement(using: &rng)!
            let summary = try await store.summary(target: target, from: date(us: a), to: date(us: b))
            let (f, t) = expectedBounds(a, b)
            if (f, t) != (a, b) { widened += 1 }
            BruteForce(history.probes, target: target, fromUs: f, toUs: t).expectMatches(summary, "\(target) [\(a), \(b)) → [\(f), \(t))")
        }
        #expect(widened > 20, "the windows should exercise widened edges")
        // Whole minutes before the raw cut: exact, from minute rollups alone.
        let a = Self.floor(history.startUs + 3 * Self.hour, Self.minute)
        let b = a + 37 * Self.minute
        #expect(a >= minuteCut && b < rawCut)
        let old = try await store.summary(target: "alpha", from: date(us: a), to: date(us: b))
        BruteForce(history.probes, target: "alpha", fromUs: a, toUs: b).expectMatches(old, "old whole minutes")
        #expect(try await Self.allRows(store, "alpha").allSatisfy { $0.startedAt >= date(us: rawCut) })
    }

    /// The window a summary answers for [a, b) when raw rows before `rawCut` and minute rollups
    /// before `minuteCut` are gone: edges widen to the bucket that still covers them.
    static func answeredWindow(_ a: Int64, _ b: Int64, rawCut: Int64, minuteCut: Int64) -> (Int64, Int64) {
        let whole = min(rawCut, minuteCut)
        var f = a
        var t = b
        if f < whole {
            f = floor(f, hour)
        } else if f < rawCut, f % minute != 0 {
            f = floor(f, minute)
        }
        if t % hour != 0, max(f, floor(t, hour)) < whole {
            t = ceil(t, hour)
        } else if t % minute != 0, max(f, floor(t, minute)) < rawCut {
            t = ceil(t, minute)
        }
        return (f, t)
    }

    @Test func minuteRollupsKeptShorterThanRawRowsFallBackToRawRows() async throws {
        let (store, _) = try openStore()
        let history = History(seed: 51, hours: 6)
        try await history.insert(into: store, batch: 300)
        let nowUs = history.endUs
        let rawCut = nowUs - 4 * Self.hour
        let minuteCut = Self.floor(nowUs - 2 * Self.hour - 7 * Self.minute, Self.minute)
        try await store.enforceRetention(
            now: date(us: nowUs), raw: .seconds(4 * 3600), rollup: .seconds(86_400), minuteRollup: .seconds(2 * 3600 + 420))
        var rng = SplitMix64(seed: 52)
        for _ in 0..<100 {
            let (a, b) = history.randomWindow(&rng)
            guard a < b else { continue }
            let target = history.targets.randomElement(using: &rng)!
            let summary = try await store.summary(target: target, from: date(us: a), to: date(us: b))
            let (f, t) = Self.answeredWindow(a, b, rawCut: rawCut, minuteCut: minuteCut)
            if a >= rawCut { #expect((f, t) == (a, b)) }
            BruteForce(history.probes, target: target, fromUs: f, toUs: t).expectMatches(summary, "\(target) [\(a), \(b))")
        }
    }

    @Test func lateProbesOlderThanTheRawHorizonOnlyReachRollups() async throws {
        let (store, _) = try openStore()
        var rng = SplitMix64(seed: 41)
        let nowUs = epochUs + 48 * Self.hour
        try await store.enforceRetention(now: date(us: nowUs), raw: .seconds(86_400), rollup: .seconds(40 * 86_400))
        let old = randomProbe(target: "x", startedUs: epochUs + 3 * Self.hour + 5, n: 1, threshold: nil, rng: &rng)
        let fresh = randomProbe(target: "x", startedUs: nowUs - 5, n: 2, threshold: nil, rng: &rng)
        try await store.insert([old, fresh])
        let rows = try await Self.allRows(store, "x")
        #expect(rows == [fresh.result])
        let summary = try await store.summary(target: "x", from: date(us: epochUs), to: date(us: nowUs))
        #expect(summary.total == 2)
    }

    /// A wall clock 401 days ahead (more than every retention) deletes nothing recent: `now`
    /// counts only up to the newest probe plus the tolerance, and no horizon passes the data,
    /// so a probe stored after the clock is corrected keeps its raw row.
    @Test func aClockAheadDeletesNothingRecentAndLeavesNoFutureHorizon() async throws {
        let (store, _) = try openStore()
        let history = History(seed: 61, hours: 6)
        try await history.insert(into: store, batch: 500)
        let newest = try #require(try await store.newestDataMicros())
        #expect(newest <= history.endUs && newest > history.endUs - Self.hour)
        let jumped = date(us: history.endUs + 401 * 24 * Self.hour)
        try await store.enforceRetention(now: jumped, raw: .seconds(4 * 3600), rollup: .seconds(400 * 86_400))
        // As if `now` were the newest probe + 1 h: raw rows of the last 3 hours stay.
        let rawCut = newest + Self.hour - 4 * Self.hour
        for target in history.targets {
            let kept = try await Self.allRows(store, target)
            let expected = history.probes.filter { $0.result.target == target && date(us: rawCut) <= $0.result.startedAt }
            #expect(kept.count == expected.count, "\(target): \(kept.count) raw rows kept, \(expected.count) expected")
            // Rollups answer the whole history.
            let summary = try await store.summary(target: target, from: date(us: history.startUs), to: date(us: history.endUs))
            #expect(summary.total == history.probes.filter { $0.result.target == target }.count)
        }
        var rng = SplitMix64(seed: 62)
        let later = randomProbe(target: history.targets[0], startedUs: history.endUs + Self.minute, n: 1, threshold: nil, rng: &rng)
        try await store.insert([later])
        #expect(try await Self.allRows(store, history.targets[0]).first == later.result)
    }

    @Test func defaultMinuteRetention() {
        let day = 86_400
        #expect(ProbeStore.defaultMinuteRetention(raw: .seconds(8 * day), rollup: .seconds(400 * day)) == .seconds(35 * day))
        #expect(ProbeStore.defaultMinuteRetention(raw: .seconds(60 * day), rollup: .seconds(400 * day)) == .seconds(60 * day))
        #expect(ProbeStore.defaultMinuteRetention(raw: .seconds(8 * day), rollup: .seconds(20 * day)) == .seconds(20 * day))
    }
}
