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

/// End to end: the agent probes a server that fails a known share of requests with known
/// delays; the API's SLIs, burn rates, budget and quantiles must equal what follows from what
/// the server actually served, and `/metrics` must say the same as the API.
@Suite(.serialized)
struct SLOLiveTests {
    let logger = Logger(label: "test")

    struct Served: Decodable {
        let status: Int
        let delay: Double
    }

    struct SLOList: Decodable {
        let as_of: String
        let slos: [Status]
    }

    struct Status: Decodable {
        struct Budget: Decodable { let total: Double; let consumed: Double?; let remaining: Double? }
        let target: String
        let slo: String
        let objective: Double
        let window: String
        let sli: [String: Double]
        let burn_rate: [String: Double]
        let error_budget: Budget
        let budget_by_phase: [String: Double]
    }

    struct Detail: Decodable {
        struct Latency: Decodable {
            struct Q: Decodable { let count: Int; let p50: Double?; let p90: Double?; let p95: Double?; let p99: Double? }
            let window: String
            let probes: Int
            let total: Q
            let phases: [String: Q]
        }
        let name: String
        let state: String
        let latency: [Latency]
        let slo: [Status]
    }

    @Test(.requires(.promtool)) func apiNumbersEqualWhatTheServerServed() async throws {
        let server = try ServerProcess(script: "sloserver.py", arguments: [])
        defer { server.stop() }
        let dir = Scratch.dir.appendingPathComponent("slo-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 900ms, location: test}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            metrics: {latency_quantiles: true, budget_detail: true}
            targets:
              - name: pattern
                url: http://127.0.0.1:\(server.port("http"))/
                slo: {window: 1h, availability: 90, latency: {threshold: 60ms, objective: 50}}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath)
        let runtime = AgentRuntime(
            config: config, source: .file(configPath), store: try ProbeStore(path: config.storage.path), logger: logger)
        runtime.start()

        // Probe for a while with every service running, then shut down: the scheduler drains
        // the probe in flight and the writer flushes, so the store holds every served request.
        let live = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0,
                                    services: agentServices(runtime: runtime, logger: logger), logger: logger)
        try await live.test(.live) { _ in try await Task.sleep(for: .seconds(12)) }

        let served = try JSONDecoder().decode(
            [Served].self, from: try Data(contentsOf: URL(string: "http://127.0.0.1:\(server.port("http"))/served")!))
        #expect(served.count >= 10, "the agent probed once a second for 12 s: \(served.count)")
        let ok = served.filter { $0.status == 200 }
        let fast = ok.filter { $0.delay < 0.06 }
        let total = Double(served.count)

        // A router over the same runtime, without services: nothing probes any more. The engine
        // refreshes every 15 s; make it take the last probes in now.
        try await runtime.slo.refresh()
        let router = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger)
        try await router.test(.router) { client in
            let list = try await client.execute(uri: "/api/v1/slo", method: .get) { response in
                #expect(response.status == .ok)
                return try JSONDecoder().decode(SLOList.self, from: Data(buffer: response.body))
            }
            #expect(list.slos.map(\.slo) == ["availability", "latency"])
            let availability = list.slos[0]
            let latency = list.slos[1]
            // Every probe happened within the last minute: each window ≥ 5m sees all of them.
            for window in ["5m", "30m", "1h"] {
                #expect(availability.sli[window] == Double(ok.count) / total, "availability sli[\(window)]")
                #expect(latency.sli[window] == Double(fast.count) / total, "latency sli[\(window)]")
                #expect(availability.burn_rate[window] == (1 - Double(ok.count) / total) / (1 - 0.9))
                #expect(latency.burn_rate[window] == (1 - Double(fast.count) / total) / (1 - 0.5))
            }
            let availabilityConsumed = Double(served.count - ok.count) / (total * (1 - 0.9))
            #expect(availability.error_budget.consumed == availabilityConsumed)
            #expect(availability.error_budget.remaining == 1 - availabilityConsumed)
            // 503s fail the status assertion: all of the availability budget went to `assert`.
            #expect(availability.budget_by_phase == ["assert": availabilityConsumed])
            #expect(latency.budget_by_phase["assert"] == Double(served.count - ok.count) / (total * 0.5))
            #expect(latency.budget_by_phase["too_slow"] == Double(ok.count - fast.count) / (total * 0.5))

            let detail = try await client.execute(uri: "/api/v1/targets/pattern", method: .get) { response in
                #expect(response.status == .ok)
                return try JSONDecoder().decode(Detail.self, from: Data(buffer: response.body))
            }
            #expect(detail.name == "pattern")
            // Every fifth request fails: never three in a row, but more than 10 % of the recent.
            #expect(detail.state == "degraded")
            let hour = try #require(detail.latency.first { $0.window == "1h" })
            #expect(hour.probes == served.count)
            #expect(hour.total.count == ok.count)
            // Processing is the server's delay plus its own overhead (a Python server on a busy
            // machine: a few ms). The two delays are 60 ms apart, so each quantile must land in
            // its delay's band: from −1 % to +10 ms. (Exactness against the stored rows is
            // SLOEngineTests' job.)
            let delays = ok.map(\.delay).sorted()
            let processing = try #require(hour.phases["processing"])
            for (q, got) in [(0.5, processing.p50), (0.9, processing.p90), (0.99, processing.p99)] {
                let exact = delays[LatencySketch.nearestRank(q, count: delays.count) - 1]
                let value = try #require(got)
                #expect(value >= exact * 0.99 && value <= exact + 0.010, "processing p\(q * 100) \(value) for delay \(exact)")
            }

            // /metrics shows the very snapshot the API answered from.
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            let asOf = try #require(Timestamp.parse(list.as_of))
            let stamp = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("phasewatch_slo_snapshot_timestamp_seconds{") })
            let seconds = try #require(stamp.split(separator: " ").last.flatMap { Double($0) })
            #expect(abs(seconds - asOf.timeIntervalSince1970) < 0.001, "as_of has milliseconds: \(stamp) vs \(list.as_of)")
            for (slo, status) in [("availability", availability), ("latency", latency)] {
                let sli = try #require(status.sli["1h"])
                #expect(metrics.contains(
                    "phasewatch_sli_ratio{target=\"pattern\",location=\"test\",slo=\"\(slo)\",window=\"1h\"} \(sli)"))
                let remaining = try #require(status.error_budget.remaining)
                #expect(metrics.contains(
                    "phasewatch_slo_error_budget_remaining_ratio{target=\"pattern\",location=\"test\",slo=\"\(slo)\"} \(remaining)"))
                for (phase, share) in status.budget_by_phase {
                    #expect(metrics.contains(
                        "phasewatch_slo_budget_by_phase_ratio{target=\"pattern\",location=\"test\",slo=\"\(slo)\",phase=\"\(phase)\"} \(share)"))
                }
            }
            #expect(metrics.contains("phasewatch_target_state{target=\"pattern\",location=\"test\",state=\"degraded\"} 1"))
            let p99 = try #require(processing.p99)
            #expect(metrics.contains(
                "phasewatch_latency_quantile_seconds{target=\"pattern\",location=\"test\",phase=\"processing\",quantile=\"0.99\",window=\"1h\"} \(p99)"))
            let check = try Promtool.checkMetrics(metrics)
            #expect(check.status == 0, "\(check.output)")
        }
    }
}
