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

/// `ip_policy: all` in the running agent (docs/probing.md#addresses): a name pinned to
/// 127.0.0.2, which has a server, and 127.0.0.3, which has none. Each run stores the target's own
/// result and one per address; the SLO counts runs by `success`; the API, `/metrics` and the
/// status page show each address.
@Suite(.serialized)
struct AddressPolicyAgentTests {
    let logger = Logger(label: "test")

    struct Page: Decodable {
        let results: [ProbeResult]
    }

    @Test func eachAddressIsShownAndTheSLOCountsRuns() async throws {
        let port = TestServer.closedPort()
        let server = try ServerProcess(script: "testserver.py", arguments: ["--listen", "a=http,host=127.0.0.2,port=\(port)"])
        defer { server.stop() }
        let dir = Scratch.dir.appendingPathComponent("addresses-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 800ms, location: test}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
              - name: all
                url: "http://svc.test:\(port)/"
                resolve: ["svc.test:\(port):127.0.0.2,127.0.0.3"]
                ip_policy: all
                state: {down_after: 1}
                slo: {availability: 99}
              - name: any
                url: "http://svc.test:\(port)/"
                resolve: ["svc.test:\(port):127.0.0.3,127.0.0.2"]
                ip_policy: all
                success: any
                slo: {availability: 99}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath)
        let store = try ProbeStore(path: config.storage.path)
        let runtime = AgentRuntime(config: config, source: .file(configPath), store: store, logger: logger)
        runtime.start()
        let app = buildApplication(
            runtime: runtime, host: "127.0.0.1", port: 0, services: agentServices(runtime: runtime, logger: logger), logger: logger)
        try await app.test(.live) { client in
            try await Task.sleep(for: .milliseconds(2500))
            func json(_ uri: String) async throws -> [String: Any] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                    return try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                }
            }
            func results(_ uri: String) async throws -> [ProbeResult] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                    return try ProbeResult.makeDecoder().decode(Page.self, from: Data(buffer: response.body)).results
                }
            }

            // The target's own results: one per run, decided by `success`.
            let all = try await results("/api/v1/targets/all/results")
            let any = try await results("/api/v1/targets/any/results")
            #expect(all.count >= 2 && any.count >= 2)
            #expect(all.allSatisfy { !$0.success && $0.address == nil && $0.failure?.message.hasPrefix("127.0.0.3: ") == true })
            #expect(any.allSatisfy { $0.success && $0.ip?.address == "127.0.0.2" }, "\(any.map(\.failure))")
            // Each address's own results, the same runs.
            let refused = try await results("/api/v1/targets/all/results?ip=127.0.0.3")
            let answered = try await results("/api/v1/targets/all/results?ip=127.0.0.2")
            #expect(refused.allSatisfy { $0.address == "127.0.0.3" && $0.failure?.reason == .connectRefused })
            #expect(answered.allSatisfy { $0.address == "127.0.0.2" && $0.success })
            #expect(Set(answered.map(\.startedAt)).isSuperset(of: all.dropFirst().map(\.startedAt)), "each stored run has both addresses")
            try await client.execute(uri: "/api/v1/targets/all/results?ip=svc.test", method: .get) { response in
                #expect(response.status == .badRequest)
            }
            let latency = try await json("/api/v1/targets/any/latency?window=5m&ip=127.0.0.2")
            #expect(((latency["total"] as? [String: Any])?["count"] as? Int ?? 0) >= 2, "\(latency)")

            // The target object lists the addresses with their last result.
            let detail = try await json("/api/v1/targets/all")
            #expect(detail["ip_policy"] as? String == "all")
            #expect(detail["success"] as? String == "all")
            let addresses = try #require(detail["addresses"] as? [[String: Any]])
            #expect(addresses.map { $0["ip"] as? String } == ["127.0.0.2", "127.0.0.3"])
            #expect(addresses.map { ($0["last"] as? [String: Any])?["success"] as? Bool } == [true, false])
            #expect(detail["state"] as? String == "down")
            #expect(try await json("/api/v1/targets/any")["state"] as? String == "up")

            // The SLO counts runs, not addresses.
            let slo = try #require(try await SLOEngine.evaluate(config.targets[0], at: Date(), store: store).slos.first)
            let stored = try await results("/api/v1/targets/all/results")
            #expect(slo.probes.total >= all.count && slo.probes.total <= stored.count, "\(slo.probes) vs \(stored.count) runs")
            #expect(slo.probes.bad == slo.probes.total)

            // /metrics: the last-probe gauges once for the target and once per address.
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"probe_success{target="all",location="test"} 0"#))
            #expect(metrics.contains(#"probe_success{target="all",location="test",ip="127.0.0.2"} 1"#))
            #expect(metrics.contains(#"probe_success{target="all",location="test",ip="127.0.0.3"} 0"#))
            #expect(metrics.contains(#"probe_success{target="any",location="test"} 1"#))
            #expect(metrics.contains(#"probe_http_duration_seconds{target="all",location="test",ip="127.0.0.3",phase="connect"}"#))
            // Counters count the target's runs only.
            #expect(!metrics.contains(#"phasewatch_probes_total{target="all",location="test",ip="#))
            let check = try Promtool.checkMetrics(metrics)
            #expect(check.status == 0, "\(check.output)")

            // The status page lists them.
            let page = try await client.execute(uri: "/", method: .get) { String(buffer: $0.body) }
            #expect(page.contains("<code>127.0.0.3</code> <span class=\"alert\">failed</span> in TCP connect: connect_refused"))
            #expect(page.contains("<code>127.0.0.2</code> <span class=\"ok\">ok</span>"))
        }

        // After a restart the addresses come back from the store before the first run.
        let again = AgentRuntime(config: config, source: .file(configPath), store: store, logger: logger)
        again.prepareWithoutProbing()
        await again.restoreStates()
        #expect(again.targets["all"]?.addressResults.map(\.address) == ["127.0.0.2", "127.0.0.3"])
    }
}
