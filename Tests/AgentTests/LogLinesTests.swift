import Foundation
import TestSupport
import Testing

/// What `phasewatch run` tells people in its log: startup facts, a line when a target goes down
/// or comes back, a debug line per probe, and JSON with numbers as numbers.
@Suite(.serialized)
struct LogLinesTests {
    @Test func stateChangesAndStartupInJSON() async throws {
        let dir = Scratch.dir.appendingPathComponent("logs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 500ms, location: lab-1}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
              - {name: gone, url: "http://127.0.0.1:\(TestServer.closedPort())/", state: {down_after: 2}}
              - {name: fine, url: "\(TestServer.http("/"))"}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let port = TestServer.closedPort()
        let agent = try LifecycleTests.AgentProcess(
            ["--config.file=\(config)", "--web.listen-address=127.0.0.1:\(port)", "--log.format=json", "--log.level=debug"], in: dir)
        #expect(await agent.waitReady(port: port))
        try await Task.sleep(for: .milliseconds(2500))
        kill(agent.pid, SIGTERM)
        _ = try #require(await agent.exit(within: .seconds(10)))

        let lines = agent.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(lines.count == agent.output.split(separator: "\n").count, "every line is JSON:\n\(agent.output)")
        let listening = try #require(lines.first { $0["msg"] as? String == "phasewatch listening" })
        #expect(listening["targets"] as? Int == 2, "\(listening)")
        #expect(listening["version"] is String)
        #expect(listening["storage"] as? String == dir.appendingPathComponent("pw.db").path)
        #expect(listening["config"] as? String == config)
        #expect(listening["location"] as? String == "lab-1")

        let down = try #require(lines.first { $0["msg"] as? String == "target down" }, "\(agent.output)")
        #expect(down["level"] as? String == "warning")
        #expect(down["target"] as? String == "gone")
        #expect(down["location"] as? String == "lab-1")
        #expect(down["phase"] as? String == "connect")
        #expect(down["reason"] as? String == "connect_refused")
        #expect(down["why"] as? String == "2 failures in a row")
        // A healthy target's first probe is no news at info level.
        #expect(!lines.contains { $0["msg"] as? String == "target up" && $0["level"] as? String != "debug" })

        let probes = lines.filter { $0["msg"] as? String == "probe" }
        #expect(probes.count >= 3)
        #expect(probes.allSatisfy { $0["duration_seconds"] is Double && $0["success"] is Bool })
        #expect(!agent.output.contains("Optional("), "a Swift value dump in the log")
    }
}
