import Agent
import Config
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// A real Prometheus (Debian's package) on loopback scrapes the live agent and stores its series.
@Suite(.serialized, .requires(.prometheus))
struct PrometheusScrapeTests {
    @Test func prometheusScrapesAndStoresTheSeries() async throws {
        try await withAgentAndPrometheus(targets: [
            #"{name: fast, url: "\#(TestServer.http("/"))"}"#,
            #"{name: slow, url: "\#(TestServer.http("/?processing=0.2"))", slo: {latency: {threshold: 100ms, objective: 99}}}"#,
        ], features: []) { prometheus, _, _ in
            var series: [(labels: [String: String], value: Double)] = []
            for _ in 0..<30 {
                try await Task.sleep(for: .seconds(1))
                series = (try? await prometheus.query(#"probe_success{job="phasewatch"}"#)) ?? []
                if series.count == 2 { break }
            }
            let targets = Set(series.compactMap { $0.labels["target"] })
            #expect(targets == ["fast", "slow"], "\(series)")
            // Several scrapes stored, and the latency SLI computable from the histogram alone.
            try await Task.sleep(for: .seconds(3))
            let samples = try await prometheus.query(#"count_over_time(probe_success{target="fast"}[1m])"#)
            let count = samples.first?.value ?? 0
            #expect(count >= 3, "\(samples)")
            let good = try await prometheus.query(#"phasewatch_probe_duration_seconds_bucket{target="slow",le="0.1"}"#)
            #expect(good.count == 1, "the 100ms SLO threshold is a bucket: \(good)")
        }
    }

    /// With exemplar storage, Prometheus keeps the trace ids the agent attaches to the duration
    /// histogram's buckets (OpenMetrics, Prometheus's first choice), and each one is the trace id
    /// of a probe the results API has.
    @Test func exemplarsLinkBucketsToTheProbesTraces() async throws {
        try await withAgentAndPrometheus(
            targets: [#"{name: slow, url: "\#(TestServer.http("/?processing=0.03"))", slo: {latency: {threshold: 100ms, objective: 99}}}"#],
            features: ["exemplar-storage"]
        ) { prometheus, client, runtime in
            let traceIds = try await Self.exemplarTraceIds(prometheus, #"phasewatch_probe_duration_seconds_bucket{target="slow"}"#)
            #expect(traceIds.count >= 3, "Prometheus stored exemplars: \(traceIds)")
            let stored = try await Self.storedTraceIds(client, runtime)
            #expect(!traceIds.isEmpty && traceIds.isSubset(of: stored), "exemplars \(traceIds.subtracting(stored)) not among \(stored.count) stored")
        }
    }

    /// With native histograms on, Prometheus asks for protobuf: the phase histograms are native
    /// (one series per phase), and `histogram_quantile` over them lands in the schema-5 buckets
    /// of the processing times the agent stored; exemplars come through too.
    @Test func nativeHistogramsThroughProtobuf() async throws {
        try await withAgentAndPrometheus(
            targets: [#"{name: slow, url: "\#(TestServer.http("/?processing=0.05"))", slo: {latency: {threshold: 100ms, objective: 99}}}"#],
            features: ["native-histograms", "exemplar-storage"]
        ) { prometheus, client, runtime in
            let query = #"histogram_quantile(0.95, rate(phasewatch_probe_phase_duration_seconds{target="slow",phase="processing"}[1m]))"#
            var estimate: Double?
            for _ in 0..<30 {
                try await Task.sleep(for: .seconds(1))
                if let value = try await prometheus.query(query).first?.value, value.isFinite {
                    estimate = value
                    break
                }
            }
            let p95 = try #require(estimate, "no native-histogram quantile from Prometheus")
            // The duration histogram is native too (its classic buckets, also served, are
            // what Prometheus 2.42 leaves out when it takes the native form).
            let count = try await prometheus.query(#"histogram_count(phasewatch_probe_duration_seconds{target="slow"})"#)
            #expect((count.first?.value ?? 0) >= 1, "\(count)")

            await runtime.writer.flush()
            let processing = try await client.execute(uri: "/api/v1/targets/slow/results?limit=1000", method: .get) { response in
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                return (body?["results"] as? [[String: Any]] ?? []).compactMap { ($0["phases"] as? [String: Double])?["processing"] }
            }
            let low = try #require(processing.min()), high = try #require(processing.max())
            let lower = NativeHistogram.bounds(index: NativeHistogram.index(of: low, schema: 5), schema: 5).lower
            let upper = NativeHistogram.bounds(index: NativeHistogram.index(of: high, schema: 5), schema: 5).upper
            #expect(p95 >= lower && p95 <= upper, "p95 \(p95) outside the buckets of the stored \(low)…\(high) (\(lower)…\(upper))")

            let traceIds = try await Self.exemplarTraceIds(prometheus, #"phasewatch_probe_duration_seconds{target="slow"}"#)
            let stored = try await Self.storedTraceIds(client, runtime)
            #expect(!traceIds.isEmpty && traceIds.isSubset(of: stored), "exemplars \(traceIds) vs \(stored.count) stored")
        }
    }

    /// The agent with `targets` (YAML flow mappings) and a Prometheus scraping it every second.
    func withAgentAndPrometheus(
        targets: [String], features: [String],
        _ body: @Sendable (PrometheusServer, TestClientProtocol, AgentRuntime) async throws -> Void
    ) async throws {
        let dir = Scratch.dir.appendingPathComponent("prom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 800ms, location: scrape-test}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
            \(targets.map { "  - " + $0 }.joined(separator: "\n"))
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let logger = Logger(label: "test")
        let config = try ConfigLoader.load(path: configPath)
        let runtime = AgentRuntime(config: config, source: .file(configPath), store: try ProbeStore(path: config.storage.path), logger: logger)
        runtime.start()
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0,
                                   services: agentServices(runtime: runtime, logger: logger), logger: logger)
        try await app.test(.live) { client in
            let agentPort = try #require(client.port)
            let prometheus = try await PrometheusServer(config: """
                global: {scrape_interval: 1s, evaluation_interval: 1s}
                scrape_configs:
                  - job_name: phasewatch
                    static_configs: [{targets: ["127.0.0.1:\(agentPort)"]}]
                """, dir: dir, features: features)
            defer { prometheus.stop() }
            try await body(prometheus, client, runtime)
        }
    }

    /// Trace ids of the exemplars Prometheus keeps for `selector` over the last 2 minutes, once
    /// at least 3 are there (or after 30 s).
    static func exemplarTraceIds(_ prometheus: PrometheusServer, _ selector: String) async throws -> Set<String> {
        var traceIds: Set<String> = []
        for _ in 0..<30 {
            try await Task.sleep(for: .seconds(1))
            let now = Date().timeIntervalSince1970
            let answer = try await prometheus.api("/api/v1/query_exemplars", query: [
                "query": selector, "start": "\(now - 120)", "end": "\(now)",
            ]) as? [[String: Any]] ?? []
            traceIds = Set(answer.flatMap { $0["exemplars"] as? [[String: Any]] ?? [] }.compactMap {
                ($0["labels"] as? [String: String])?["trace_id"]
            })
            if traceIds.count >= 3 { break }
        }
        return traceIds
    }

    /// Trace ids of the probes the results API has.
    static func storedTraceIds(_ client: TestClientProtocol, _ runtime: AgentRuntime) async throws -> Set<String> {
        await runtime.writer.flush()
        return try await client.execute(uri: "/api/v1/targets/slow/results?limit=1000", method: .get) { response in
            let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
            return Set((body?["results"] as? [[String: Any]] ?? []).compactMap { $0["trace_id"] as? String })
        }
    }
}
