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

/// Target files read again while the agent runs (docs/config.md#target_files): the whole agent
/// in-process with its services (the watcher polling every 200 ms), probing the test server.
@Suite(.serialized)
struct TargetFileLiveTests {
    let logger = Logger(label: "test")

    func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func filesAddedChangedBrokenAndRemovedWhileTheAgentRuns() async throws {
        let dir = Scratch.dir.appendingPathComponent("target-files-\(UUID().uuidString)")
        let configPath = dir.appendingPathComponent("phasewatch.yml")
        let a = dir.appendingPathComponent("targets.d/a.yml")
        let b = dir.appendingPathComponent("targets.d/b.yml")
        try write("""
            global: {interval: 1s, timeout: 800ms, location: test}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            target_files: ["targets.d/*.yml"]
            targets: [{name: main, url: "\(TestServer.http("/?t=main"))"}]
            """, to: configPath)
        try write("- {name: a1, url: \"\(TestServer.http("/?t=a1"))\"}\n", to: a)

        let loaded = try AgentRuntime.load(.file(configPath.path))
        let runtime = AgentRuntime(
            config: loaded.config, source: .file(configPath.path), store: try ProbeStore(path: loaded.config.storage.path),
            logger: logger, targetFiles: loaded.targetFiles)
        runtime.start()
        let app = buildApplication(
            runtime: runtime, host: "127.0.0.1", port: 0,
            services: agentServices(runtime: runtime, logger: logger, targetFilePoll: .milliseconds(200)), logger: logger)
        try await app.test(.live) { client in
            func metrics() async throws -> String {
                try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            }
            /// name → the API's view of the target.
            func targets() async throws -> [String: [String: Any]] {
                let body = try await client.execute(uri: "/api/v1/targets", method: .get) { Data(buffer: $0.body) }
                let list = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["targets"] as? [[String: Any]])
                return Dictionary(list.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { first, _ in first })
            }
            func eventually(_ what: String, _ condition: () async throws -> Bool) async throws {
                let deadline = ContinuousClock.now + .seconds(10)
                while ContinuousClock.now < deadline {
                    if try await condition() { return }
                    try await Task.sleep(for: .milliseconds(100))
                }
                Issue.record("not within 10 s: \(what)")
            }
            let fileA = #"phasewatch_target_file_last_reload_successful{location="test",file="targets.d/a.yml"} "#
            let fileB = #"phasewatch_target_file_last_reload_successful{location="test",file="targets.d/b.yml"} "#
            #expect(try await metrics().contains(fileA + "1"))
            #expect(try await targets().keys.sorted() == ["a1", "main"])

            // Added: probed, in the API and in /metrics.
            try write("- {name: b1, url: \"\(TestServer.http("/?t=b1"))\"}\n", to: b)
            try await eventually("b1 probed") {
                let text = try await metrics()
                return text.contains(#"probe_success{target="b1",location="test"} 1"#) && text.contains(fileB + "1")
            }
            #expect(try await targets()["b1"]?["url"] as? String == TestServer.http("/?t=b1"))

            // Changed: interval and url.
            try write("- {name: a1, url: \"\(TestServer.http("/?t=a1-v2"))\", interval: 2s}\n", to: a)
            try await eventually("a1 changed") {
                let a1 = try await targets()["a1"]
                return a1?["interval"] as? String == "2s" && a1?["url"] as? String == TestServer.http("/?t=a1-v2")
            }
            try await eventually("a1 probed at its new url") { runtime.latestResults["a1"]?.url == TestServer.http("/?t=a1-v2") }

            // Broken: rejected, metric 0, and a1 goes on being probed as before.
            try write("- {name: a1, url: \"\(TestServer.http("/"))\", interval: [\n", to: a)
            try await eventually("a.yml rejected") { try await metrics().contains(fileA + "0") }
            let brokenAt = Date()
            #expect(try await targets()["a1"]?["interval"] as? String == "2s")
            #expect(runtime.scheduler.targetNames == ["a1", "b1", "main"])
            try await eventually("a1 still probed") { (runtime.latestResults["a1"]?.startedAt ?? .distantPast) > brokenAt }
            #expect(try await metrics().contains(fileB + "1"), "the other file is untouched")

            // Fixed: metric 1, its new targets run.
            try write("- {name: a1, url: \"\(TestServer.http("/?t=a1-v2"))\", interval: 2s}\n- {name: a2, url: \"\(TestServer.http("/?t=a2"))\"}\n", to: a)
            try await eventually("a.yml fixed") {
                let text = try await metrics()
                return text.contains(fileA + "1") && text.contains(#"probe_success{target="a2",location="test"} 1"#)
            }

            // Removed: its targets and its series go.
            try FileManager.default.removeItem(at: b)
            try await eventually("b.yml gone") { try await targets()["b1"] == nil }
            let text = try await metrics()
            #expect(!text.contains(fileB))
            #expect(!text.contains(#"target="b1""#))
            #expect(runtime.scheduler.targetNames == ["a1", "a2", "main"])
            #expect(runtime.config.targets.map(\.name) == ["main", "a1", "a2"])
        }
    }
}
