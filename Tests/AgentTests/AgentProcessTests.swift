import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// `phasewatch run` as a process: kill -9 keeps every committed probe; SIGTERM drains and exits 0.
@Suite(.serialized)
struct AgentProcessTests {
    /// The agent on `config`, logging errors only (`LifecycleTests.AgentProcess`).
    func start(_ config: String, port: Int) throws -> LifecycleTests.AgentProcess {
        try LifecycleTests.AgentProcess(
            ["--config.file=\(config)", "--web.listen-address=127.0.0.1:\(port)", "--log.level=error"],
            in: URL(fileURLWithPath: config).deletingLastPathComponent())
    }

    func setUp() throws -> (config: String, db: String) {
        let dir = Scratch.dir.appendingPathComponent("proc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let db = dir.appendingPathComponent("pw.db").path
        let config = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 900ms}
            storage: {path: \(db)}
            targets:
              - {name: a, url: "\(TestServer.http("/"))"}
              - {name: b, url: "\(TestServer.http("/?processing=0.05"))"}
              - {name: c, url: "\(TestServer.http("/?status=500"))"}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        return (config, db)
    }

    func traceIDs(_ db: String) async throws -> Set<String> {
        let store = try ProbeStore(path: db)
        #expect(try await store.integrityCheck() == "ok")
        var ids = Set<String>()
        for target in ["a", "b", "c"] {
            let page = try await store.results(target: target, since: nil, until: nil, limit: 10_000, cursor: nil)
            ids.formUnion(page.results.map(\.traceId))
        }
        return ids
    }

    @Test func killMinus9KeepsEveryCommittedProbe() async throws {
        let (config, db) = try setUp()
        let port = TestServer.closedPort()
        let first = try start(config, port: port)
        #expect(await first.waitReady(port: port), "agent never became ready")
        try await Task.sleep(for: .milliseconds(3500))
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()

        let beforeRestart = try await traceIDs(db)
        #expect(beforeRestart.count >= 6, "\(beforeRestart.count) probes stored before the kill")

        let second = try start(config, port: port)
        #expect(await second.waitReady(port: port), "agent never became ready")
        try await Task.sleep(for: .milliseconds(2500))
        let stopAsked = ContinuousClock.now
        second.process.terminate()  // SIGTERM
        second.process.waitUntilExit()
        #expect(ContinuousClock.now - stopAsked < .seconds(5))
        #expect(second.process.terminationReason == .exit)
        #expect(second.process.terminationStatus == 0)

        let afterRestart = try await traceIDs(db)
        #expect(afterRestart.isSuperset(of: beforeRestart))
        #expect(afterRestart.count >= beforeRestart.count + 6, "\(afterRestart.count) vs \(beforeRestart.count)")
    }

    @Test func checkConfigReportsErrorsWithLocations() throws {
        let dir = Scratch.dir.appendingPathComponent("check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let bad = dir.appendingPathComponent("bad.yml").path
        try "targets:\n  - name: x\n    url: http://127.0.0.1/\n    intervall: 5s\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PhaseWatchBinary.path)
        process.arguments = ["check-config", bad]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(message.contains("bad.yml:4:5"), "\(message)")
        #expect(message.contains("intervall"))
    }

    /// check-config reads the target files too: the count covers their targets, and an error
    /// in one is located in it.
    @Test func checkConfigReadsTargetFiles() throws {
        let dir = Scratch.dir.appendingPathComponent("check-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("t"), withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("pw.yml").path
        let file = dir.appendingPathComponent("t/a.yml").path
        try "target_files: [\"t/*.yml\"]\ntargets: [{name: x, url: \"http://127.0.0.1/\"}]\n".write(toFile: config, atomically: true, encoding: .utf8)
        func check() throws -> (status: Int32, out: String, err: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: PhaseWatchBinary.path)
            process.arguments = ["check-config", config]
            let (out, err) = (Pipe(), Pipe())
            process.standardOutput = out
            process.standardError = err
            try process.run()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                    String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        try "- {name: a, url: \"http://127.0.0.1/a\"}\n- {name: b, url: \"http://127.0.0.1/b\"}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let good = try check()
        #expect(good.status == 0)
        #expect(good.out == "\(config): OK, 3 targets\n")
        try "- {name: a, url: \"http://127.0.0.1/a\"}\n- {name: x, url: \"http://127.0.0.1/b\"}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try check()
        #expect(bad.status == 1)
        #expect(bad.err == "\(file):2:10: [1].name: duplicate target name \"x\": also at \(config):2\n")
    }
}
