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

/// The whole agent in-process: config file → scheduler → prober → metrics and SQLite, served
/// by the real HTTP server on an ephemeral port.
@Suite(.serialized)
struct AgentLiveTests {
    let logger = Logger(label: "test")

    func writeConfig(_ yaml: String, to url: URL) throws {
        try yaml.write(to: url, atomically: true, encoding: .utf8)
    }

    func config(targets: String, dbPath: String) -> String {
        """
        global: {interval: 1s, timeout: 800ms, location: test}
        storage: {path: \(dbPath)}
        targets:
        \(targets)
        """
    }

    func makeRuntime(configPath: String) throws -> AgentRuntime {
        let config = try ConfigLoader.load(path: configPath)
        let store = try ProbeStore(path: config.storage.path)
        let runtime = AgentRuntime(config: config, source: .file(configPath), store: store, logger: logger)
        runtime.start()
        return runtime
    }

    @Test(.requires(.promtool)) func probesOnScheduleServesMetricsAndStoresHistory() async throws {
        let dir = Scratch.dir.appendingPathComponent("live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml")
        let db = dir.appendingPathComponent("pw.db").path
        try writeConfig(config(targets: """
              - {name: ok, url: "\(TestServer.http("/?processing=0.01"))"}
              - {name: broken, url: "http://127.0.0.1:\(TestServer.closedPort())/"}
            """, dbPath: db), to: configPath)
        let runtime = try makeRuntime(configPath: configPath.path)
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0,
                                   services: agentServices(runtime: runtime, logger: logger), logger: logger)
        try await app.test(.live) { client in
            try await Task.sleep(for: .milliseconds(2500))
            let text = try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                return String(buffer: response.body)
            }
            #expect(text.contains(#"probe_success{target="ok",location="test"} 1"#), "\(text)")
            #expect(text.contains(#"probe_success{target="broken",location="test"} 0"#))
            #expect(text.contains(#"phasewatch_probe_failures_total{target="broken",location="test",phase="connect",reason="connect_refused"}"#))
            #expect(text.contains(#"phasewatch_config_last_reload_successful{location="test"} 1"#))
            let check = try Promtool.checkMetrics(text)
            #expect(check.status == 0, "\(check.output)")

            try await client.execute(uri: "/-/healthy", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/-/ready", method: .get) { #expect($0.status == .ok) }

            // Reload: a target added, one removed, without a restart.
            try writeConfig(config(targets: """
                  - {name: ok, url: "\(TestServer.http("/?processing=0.01"))"}
                  - {name: added, url: "\(TestServer.http("/"))"}
                """, dbPath: db), to: configPath)
            try await client.execute(uri: "/-/reload", method: .post) { #expect($0.status == .ok) }
            try await Task.sleep(for: .milliseconds(1500))
            let after = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(after.contains(#"probe_success{target="added",location="test"} 1"#))
            #expect(!after.contains(#"target="broken""#))

            // A broken file is rejected; the running targets go on.
            try "targets: [{name: ok}]\nbogus: 1\n".write(to: configPath, atomically: true, encoding: .utf8)
            try await client.execute(uri: "/-/reload", method: .post) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("bogus"))
            }
            let rejected = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(rejected.contains(#"phasewatch_config_last_reload_successful{location="test"} 0"#))
            #expect(runtime.scheduler.targetNames == ["added", "ok"])
        }
        await runtime.writer.flush()
        let stored = try await runtime.store.results(target: "ok", since: nil, until: nil, limit: 100, cursor: nil)
        #expect(stored.results.count >= 3, "\(stored.results.count) rows")
        #expect(stored.results.allSatisfy { $0.success && $0.target == "ok" })
        #expect(try await runtime.store.integrityCheck() == "ok")
    }
}
