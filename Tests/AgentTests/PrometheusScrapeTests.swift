import Agent
import Config
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import Logging
import Storage
import TestSupport
import Testing

/// A real Prometheus (Debian's package) on loopback scrapes the live agent and stores its series.
@Suite(.serialized)
struct PrometheusScrapeTests {
    @Test func prometheusScrapesAndStoresTheSeries() async throws {
        let dir = Scratch.dir.appendingPathComponent("prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 800ms, location: scrape-test}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
              - {name: fast, url: "\(TestServer.http("/"))"}
              - {name: slow, url: "\(TestServer.http("/?processing=0.2"))", slo: {latency: {threshold: 100ms, objective: 99}}}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let logger = Logger(label: "test")
        let config = try ConfigLoader.load(path: configPath)
        let runtime = AgentRuntime(config: config, source: .file(configPath), store: try ProbeStore(path: config.storage.path), logger: logger)
        runtime.start()
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0,
                                   services: agentServices(runtime: runtime, logger: logger), logger: logger)
        try await app.test(.live) { client in
            let agentPort = try #require(client.port)
            let promPort = TestServer.closedPort()
            let promConfig = dir.appendingPathComponent("prometheus.yml").path
            try """
                global: {scrape_interval: 1s, evaluation_interval: 1s}
                scrape_configs:
                  - job_name: phasewatch
                    static_configs: [{targets: ["127.0.0.1:\(agentPort)"]}]
                """.write(toFile: promConfig, atomically: true, encoding: .utf8)
            let prometheus = Process()
            prometheus.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            prometheus.arguments = [
                "prometheus", "--config.file=\(promConfig)", "--storage.tsdb.path=\(dir.appendingPathComponent("tsdb").path)",
                "--web.listen-address=127.0.0.1:\(promPort)",
            ]
            prometheus.standardOutput = FileHandle.nullDevice
            prometheus.standardError = FileHandle.nullDevice
            try prometheus.run()
            defer {
                prometheus.terminate()
                prometheus.waitUntilExit()
            }

            func query(_ promql: String) async throws -> [[String: Any]] {
                var parts = URLComponents(string: "http://127.0.0.1:\(promPort)/api/v1/query")!
                parts.queryItems = [URLQueryItem(name: "query", value: promql)]
                let (data, _) = try await URLSession.shared.data(from: parts.url!)
                let body = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                let resultData = body?["data"] as? [String: Any]
                return resultData?["result"] as? [[String: Any]] ?? []
            }

            var series: [[String: Any]] = []
            for _ in 0..<30 {
                try await Task.sleep(for: .seconds(1))
                series = (try? await query(#"probe_success{job="phasewatch"}"#)) ?? []
                if series.count == 2 { break }
            }
            let targets = Set(series.compactMap { ($0["metric"] as? [String: String])?["target"] })
            #expect(targets == ["fast", "slow"], "\(series)")
            // Several scrapes stored, and the latency SLI computable from the histogram alone.
            try await Task.sleep(for: .seconds(3))
            let samples = try await query(#"count_over_time(probe_success{target="fast"}[1m])"#)
            let count = Double((samples.first?["value"] as? [Any])?.last as? String ?? "0") ?? 0
            #expect(count >= 3, "\(samples)")
            let good = try await query(#"phasewatch_probe_duration_seconds_bucket{target="slow",le="0.1"}"#)
            #expect(good.count == 1, "the 100ms SLO threshold is a bucket: \(good)")
        }
    }
}
