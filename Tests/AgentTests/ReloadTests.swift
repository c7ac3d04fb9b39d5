import Agent
import Config
import Foundation
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// Reloads from SIGHUP and `POST /-/reload` may come at once: applied one at a time, the
/// config in force, the scheduler and the metrics always end up describing the same targets.
struct ReloadTests {
    @Test func concurrentReloadsLeaveOneConsistentConfig() async throws {
        let dir = Scratch.dir.appendingPathComponent("reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("phasewatch.yml").path
        let port = TestServer.closedPort()
        func write(_ names: [String]) throws {
            var yaml = "global: {interval: 60s}\nstorage: {path: \(dir.appendingPathComponent("pw.db").path)}\ntargets:\n"
            for name in names { yaml += "  - {name: \(name), url: \"http://127.0.0.1:\(port)/\(name)\"}\n" }
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let small = (0..<3).map { "small-\($0)" }
        let large = (0..<300).map { "large-\($0)" }
        try write(small)
        let config = try ConfigLoader.load(path: path)
        let runtime = AgentRuntime(
            config: config, source: .file(path), store: try ProbeStore(path: config.storage.path), logger: Logger(label: "test"))
        runtime.start()
        for round in 0..<40 {
            // Two reloads at once while the file changes under them.
            try write(round % 2 == 0 ? large : small)
            async let first: Void = Task.detached { runtime.reload() }.value.map { _ in () }.get()
            try write(round % 2 == 0 ? small : large)
            async let second: Void = Task.detached { runtime.reload() }.value.map { _ in () }.get()
            _ = try await (first, second)
            let inForce = runtime.config.targets.map(\.name).sorted()
            #expect(runtime.scheduler.targetNames == inForce, "round \(round): scheduler and config differ")
            let text = try await runtime.metrics.render()
            let described = Set(text.split(separator: "\n").filter { $0.hasPrefix("phasewatch_target_info{") }.compactMap {
                $0.firstMatch(of: #/target="([^"]+)"/#).map { String($0.output.1) }
            })
            #expect(described == Set(inForce), "round \(round): metrics and config differ")
        }
        await runtime.scheduler.stopAll(drainTimeout: .seconds(1))
    }
}
