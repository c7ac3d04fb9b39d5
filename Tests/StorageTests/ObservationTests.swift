import Foundation
import PhaseWatchCore
@testable import Storage
import TestSupport
import Testing

/// When the agent ran and which targets were configured (schema v7, docs/slo.md#coverage), in a
/// real SQLite file that outlives a store, as a restart does.
struct ObservationTests {
    static func at(_ seconds: Int64) -> Date { date(us: epochUs + seconds * 1_000_000) }

    /// Run 1 starts at 0 with a and b, beats at 60 and dies; run 2 starts at 300 with a only (b
    /// was dropped while no agent ran), a reload adds c at 400, run 2 stops at 500.
    @Test func runsAndSpansSurviveARestartAndAReload() async throws {
        let path = Scratch.dir.appendingPathComponent("observation-\(UUID().uuidString).db").path
        do {
            let store = try ProbeStore(path: path)
            try await store.beginRun(at: Self.at(0), targets: ["a", "b"])
            try await store.heartbeat(at: Self.at(60))
        }
        let store = try ProbeStore(path: path)
        try await store.beginRun(at: Self.at(300), targets: ["a"])
        try await store.configure(targets: ["a", "c"], at: Self.at(400))
        let window = [(from: Self.at(0), to: Self.at(500))]
        func seconds(_ target: String, now: Int64) async throws -> [Int64] {
            let seen = try await store.observation(target: target, windows: window, now: Self.at(now))[0]
            return [seen.configured / 1_000_000, seen.observed / 1_000_000]
        }
        // While run 2 is running, it lasts until `now`.
        #expect(try await seconds("a", now: 450) == [450, 60 + 150])
        try await store.endRun(at: Self.at(500))
        #expect(try await seconds("a", now: 900) == [500, 60 + 200], "configured throughout; no agent from 60 to 300")
        #expect(try await seconds("b", now: 900) == [60, 60], "dropped where the run that had it was last seen")
        #expect(try await seconds("c", now: 900) == [100, 100])
        #expect(try await seconds("never", now: 900) == [0, 0])
        // A window that starts later sees only its part.
        let late = try await store.observation(target: "a", windows: [(Self.at(200), Self.at(500))], now: Self.at(900))[0]
        #expect(late.configured == 300_000_000 && late.observed == 200_000_000)
    }

    /// A reload that keeps a target keeps its span; one that drops and re-adds it opens a new one.
    @Test func aKeptTargetKeepsItsSpan() async throws {
        let store = try ProbeStore(path: Scratch.dir.appendingPathComponent("spans-\(UUID().uuidString).db").path)
        try await store.beginRun(at: Self.at(0), targets: ["a"])
        try await store.configure(targets: ["a"], at: Self.at(10))
        try await store.configure(targets: [], at: Self.at(20))
        try await store.configure(targets: ["a"], at: Self.at(30))
        let seen = try await store.observation(target: "a", windows: [(Self.at(0), Self.at(40))], now: Self.at(40))[0]
        #expect(seen.configured == 30_000_000, "0–20 and 30–40")
        #expect(seen.observed == 30_000_000)
    }

    /// Retention drops the runs and spans that ended before the oldest rollup it keeps, except
    /// the newest run, which the next start needs.
    @Test func retentionDropsRunsAndSpansOlderThanTheRollups() async throws {
        let store = try ProbeStore(path: Scratch.dir.appendingPathComponent("spans-retention-\(UUID().uuidString).db").path)
        try await store.beginRun(at: Self.at(0), targets: ["a", "b"])
        try await store.endRun(at: Self.at(100))
        try await store.beginRun(at: Self.at(200), targets: ["a"])
        try await store.endRun(at: Self.at(300))
        try await store.beginRun(at: Self.at(10 * 86_400), targets: ["a", "c"])
        try await store.configure(targets: ["a"], at: Self.at(10 * 86_400 + 60))
        try await store.endRun(at: Self.at(10 * 86_400 + 120))
        func rows() async throws -> (runs: Int, spans: Int) {
            try await store.writer.read { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM agent_run")!, try Int.fetchOne(db, sql: "SELECT count(*) FROM target_span")!)
            }
        }
        #expect(try await rows() == (3, 3), "a open, b closed at 200, c closed at 10 d + 60")
        try await store.enforceRetention(now: Self.at(10 * 86_400 + 200), raw: .seconds(86_400), rollup: .seconds(2 * 86_400))
        #expect(try await rows() == (1, 2), "the two early runs and b's span are gone; a's and c's stay")
        // Even long after everything: the newest run stays.
        try await store.enforceRetention(now: Self.at(30 * 86_400), raw: .seconds(86_400), rollup: .seconds(2 * 86_400))
        #expect(try await rows() == (1, 1))
        let seen = try await store.observation(target: "a", windows: [(Self.at(10 * 86_400), Self.at(10 * 86_400 + 120))], now: Self.at(30 * 86_400))[0]
        #expect(seen.configured == 120_000_000 && seen.observed == 120_000_000)
    }
}
