import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// The SLO benchmark behind `bench/slo` (skipped unless PHASEWATCH_BENCH=1): `/api/v1/slo`
/// latency for TARGETS targets (default 1 000) with 30 days of history, next to `/-/healthy` on
/// the same server in the same run, plus the engine's refresh time and the memory used.
///
/// History per target: one probe every SPARSE seconds (default 1 200) for 30 days, and one
/// every 30 s for the last 2 hours, so every window (5m … 30d) has data and the hour rollups
/// span the whole SLO window. The database is kept in PHASEWATCH_BENCH_DIR and reused when it
/// is already there. Lines starting with `BENCH ` are the results. FILL_ONLY=1 makes or tops up
/// the database and stops there (bench/scale's startup run uses it).
@Suite(.serialized)
struct SLOBench {
    static let env = ProcessInfo.processInfo.environment

    /// Probes of every target from `fromUs` to `nowUs`: every `sparse` seconds until 2 hours
    /// before `nowUs`, every 30 s after that.
    static func fill(_ store: ProbeStore, targets: Int, sparse: Int64, fromUs: Int64, nowUs: Int64) async throws -> Int {
        var rng = SplitMix64(seed: 30)
        var batch: [StoredProbe] = []
        var inserted = 0
        // Time-major, like the agent's writer: each batch holds many targets' probes.
        let start: Int64 = fromUs
        let denseStart: Int64 = nowUs - 7_200_000_000
        let sparseStep: Int64 = sparse * 1_000_000
        var times: [Int64] = []
        var t = start
        while t < nowUs {
            times.append(t)
            t += t < denseStart ? sparseStep : 30_000_000
        }
        for t in times {
            for target in 0..<targets {
                let fails = Int.random(in: 0..<200, using: &rng) == 0
                batch.append(Bench.probe(index: target, startedUs: t + Int64(target) * 1000, fails: fails, rng: &rng))
                if batch.count == 5000 {
                    try await store.insert(batch)
                    inserted += batch.count
                    batch.removeAll(keepingCapacity: true)
                }
            }
        }
        try await store.insert(batch)
        return inserted + batch.count
    }

    @Test(.optIn("PHASEWATCH_BENCH"))
    func sloBench() async throws {
        let env = Self.env
        let targets = env["TARGETS"].flatMap(Int.init) ?? 1000
        let sparse = env["SPARSE"].flatMap(Int64.init) ?? 1200
        let requests = env["REQUESTS"].flatMap(Int.init) ?? 300
        let dir = URL(fileURLWithPath: env["PHASEWATCH_BENCH_DIR"] ?? Scratch.dir.path)
        let path = dir.appendingPathComponent("slo-\(targets)x30d-\(sparse)s.db").path
        let baseline = Bench.memory()
        let reuse = FileManager.default.fileExists(atPath: path)
        let store = try ProbeStore(path: path)
        let nowUs = Int64(Date().timeIntervalSince1970 * 1e6)
        // A database kept from an earlier run is topped up to now, so every window has data.
        var fromUs = nowUs - 30 * 86_400_000_000
        if reuse, let last = try await store.results(target: "t0", since: nil, until: nil, limit: 1, cursor: nil).results.first {
            fromUs = Int64(last.startedAt.timeIntervalSince1970 * 1e6) + 30_000_000
        }
        let started = ContinuousClock.now
        let n = try await Self.fill(store, targets: targets, sparse: sparse, fromUs: fromUs, nowUs: nowUs)
        Bench.report("fill reused=\(reuse) probes_added=\(n) seconds=\(String(format: "%.0f", (ContinuousClock.now - started) / .seconds(1)))")
        // bench/scale only needs the history (its startup run opens it with the real binary).
        if env["FILL_ONLY"] == "1" { return }

        var config = AgentConfig()
        config.storage.path = path
        for i in 0..<targets {
            var target = Target(name: "t\(i)", url: "https://127.0.0.1/t\(i)", interval: .seconds(30))
            target.slo = SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(100), objective: 0.99))
            config.targets.append(target)
        }
        let logger = Logger(label: "bench")
        let runtime = AgentRuntime(config: config, source: .text("", name: "bench"), store: store, logger: logger)
        // Serves the stored history only: nothing may probe (the targets' names are not real).
        runtime.prepareWithoutProbing()
        await runtime.restoreStates()

        var refreshes: [Double] = []
        for _ in 0..<5 {
            let started = ContinuousClock.now
            let snapshot = try await runtime.slo.refresh()
            refreshes.append((ContinuousClock.now - started) / .milliseconds(1))
            #expect(snapshot.allSLOs.count == 2 * targets)
        }
        let snapshot = try await runtime.slo.snapshot()
        #expect(snapshot.allSLOs.allSatisfy { $0.sli["30d"] != nil })
        let afterSnapshot = Bench.memory()
        Bench.report("refresh targets=\(targets) median_ms=\(String(format: "%.0f", Bench.percentile(refreshes, 0.5))) max_ms=\(String(format: "%.0f", refreshes.max()!))")

        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            // curl measures (one process, one kept-alive connection, its own timer): the test
            // client of HummingbirdTesting copies large bodies chunk by chunk and would measure
            // itself.
            for (uri, count) in [("/-/healthy", requests), ("/api/v1/slo", requests), ("/api/v1/targets", requests / 3),
                                 ("/api/v1/targets/t7", requests), ("/metrics", requests / 10)] {
                let m = try Bench.curlTimes("http://127.0.0.1:\(port)\(uri)", count: count)
                Bench.report("http uri=\(uri) requests=\(count) p50_ms=\(String(format: "%.2f", m.p50)) p99_ms=\(String(format: "%.2f", m.p99)) bytes=\(m.bytes)")
            }
        }
        let end = Bench.memory()
        Bench.report("memory baseline_mib=\(String(format: "%.0f", baseline.rss)) after_snapshot_mib=\(String(format: "%.0f", afterSnapshot.rss)) after_requests_mib=\(String(format: "%.0f", end.rss)) peak_mib=\(String(format: "%.0f", end.peak))")
    }
}
