import Agent
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
