@testable import Agent
import Config
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// `connection: both` in the running agent (docs/probing.md#connections): each scheduled run
/// stores a fresh and a reused result, the results API tells them apart, and the SLO judges the
/// kind `slo.connection` names.
@Suite(.serialized, .requires(.nginx))
struct ConnectionModeAgentTests {
    let logger = Logger(label: "test")

    struct Page: Decodable {
        let results: [ProbeResult]
    }

    /// The status page puts a `both` target's cold and warm requests side by side, and a
    /// `reuse` target's chart shows its reused requests.
    @Test func statusPageShowsColdAgainstWarm() async throws {
        let dir = Scratch.dir.appendingPathComponent("coldwarm-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let now = Date()
        var probes: [StoredProbe] = []
        for i in 0..<10 {
            let start = now.addingTimeInterval(-Double(10 - i) * 60)
            var cold = ProbeResult(
                target: "both", url: "https://x/", startedAt: start, success: true,
                phases: Phases(resolve: 0.0012, connect: 0.0204, tls: 0.0418, processing: 0.023, transfer: 0.0003), duration: 0.0868,
                traceId: String(format: "%032x", 2 * i))
            cold.connection = .fresh
            var warm = ProbeResult(
                target: "both", url: "https://x/", startedAt: start.addingTimeInterval(0.1), success: true,
                phases: Phases(processing: 0.0226, transfer: 0.0003), duration: 0.023, connectionReused: true,
                traceId: String(format: "%032x", 2 * i + 1))
            warm.connection = .reused
            var reuse = warm
            reuse.target = "reuse"
            probes += [cold, warm, reuse].map { StoredProbe(result: $0) }
        }
        try await store.insert(probes)
        var both = Target(name: "both", url: "https://x/")
        both.connection = .both
        var reuse = Target(name: "reuse", url: "https://x/")
        reuse.connection = .reuse
        let runtime = AgentRuntime(
            config: AgentConfig(targets: [both, reuse]), source: .text("", name: "test"), store: store, logger: logger)
        runtime.prepareWithoutProbing()
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger)
        try await app.test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get) { String(buffer: $0.body) }
            // Medians within the sketches' 1 %: 86.8 ms cold, 23.0 ms warm, 63.4 ms of setup.
            let line = try #require(page.range(of: #"<p class="coldwarm">[^<]*</p>"#, options: .regularExpression).map { String(page[$0]) })
            #expect(line.contains("Cold 8"), "\(line)")
            #expect(line.contains("warm 23"), "\(line)")
            #expect(line.contains("lookup, connect and TLS cost 6"), "\(line)")
            #expect(page.components(separatedBy: #"class="coldwarm""#).count == 2, "only the both target has the line")
        }
        let charts = await PhaseSeriesCache().series(
            targets: ["reuse"], span: .lastHours(endingAfter: now), now: now, store: store, connections: ["reuse": .reused])
        guard case .series(let buckets) = charts["reuse"] else { Issue.record("no chart"); return }
        #expect(buckets.reduce(0) { $0 + $1.probes } == 10)
    }

    @Test func bothStoresTwoResultsPerRunAndTheAPIFiltersThem() async throws {
        let dir = Scratch.dir.appendingPathComponent("connection-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        let url = "http://127.0.0.1:\(H2Server.shared.port("http"))/"
        try """
            global: {interval: 1s, timeout: 800ms, location: test}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
              - {name: warm, url: "\(url)", connection: both, slo: {availability: 99, connection: reused}}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath)
        let store = try ProbeStore(path: config.storage.path)
        let runtime = AgentRuntime(config: config, source: .file(configPath), store: store, logger: logger)
        runtime.start()
        let app = buildApplication(
            runtime: runtime, host: "127.0.0.1", port: 0, services: agentServices(runtime: runtime, logger: logger), logger: logger)
        try await app.test(.live) { client in
            try await Task.sleep(for: .milliseconds(3500))
            func page(_ query: String) async throws -> [ProbeResult] {
                try await client.execute(uri: "/api/v1/targets/warm/results\(query)", method: .get) { response in
                    #expect(response.status == .ok)
                    return try ProbeResult.makeDecoder().decode(Page.self, from: Data(buffer: response.body)).results
                }
            }
            let all = try await page("")
            let fresh = all.filter { $0.connection == .fresh }
            let reused = all.filter { $0.connection == .reused }
            #expect(fresh.count >= 2, "\(all)")
            // Newest first: each run's warm result right before its cold one (a run still being
            // written may have only its cold one stored yet).
            #expect(abs(fresh.count - reused.count) <= 1, "\(all.map(\.connection))")
            #expect(fresh.allSatisfy { !$0.connectionReused && $0.phases.connect != nil })
            #expect(reused.allSatisfy { $0.connectionReused && $0.phases.connect == nil && $0.connectionAge != nil })

            let onlyReused = try await page("?connection=reused")
            #expect(onlyReused.map(\.traceId) == reused.map(\.traceId))
            #expect(try await page("?connection=fresh").map(\.traceId) == fresh.map(\.traceId))
            try await client.execute(uri: "/api/v1/targets/warm/results?connection=warm", method: .get) { response in
                #expect(response.status == .badRequest)
            }

            // The latency of warm requests: no connect phase to report.
            let latency = try await client.execute(uri: "/api/v1/targets/warm/latency?window=5m&connection=reused", method: .get) {
                response in
                #expect(response.status == .ok)
                return try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
            }
            let phases = try #require(latency?["phases"] as? [String: Any])
            #expect(phases["processing"] != nil)
            #expect(((phases["connect"] as? [String: Any])?["count"] as? Int ?? 0) == 0, "\(phases)")

            // The SLO counts the reused requests only (more may be stored while it reads).
            let before = try await page("?connection=reused").count
            let total = try #require(try await SLOEngine.evaluate(config.targets[0], at: Date(), store: store).slos.first?.probes.total)
            let after = try await page("?connection=reused").count
            #expect(before <= total && total <= after, "\(before) ≤ \(total) ≤ \(after)")
        }
    }
}
