import Agent
import Config
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import PhaseWatchCore
import ServiceLifecycle
import Storage
import Synchronization
import TestSupport
import Testing

/// `phasewatch run` never hangs: a failed bind exits 1 naming the address, signals end or
/// reload the agent at every stage of its life, and every service ends when cancelled.
@Suite(.serialized)
struct LifecycleTests {
    /// An agent process whose stderr goes to a file, read once it has exited.
    final class AgentProcess {
        let process = Process()
        let log: URL

        /// `launcher` runs the agent through another command (e.g. `prlimit --nofile=…`).
        init(_ arguments: [String], in dir: URL, launcher: [String] = []) throws {
            log = dir.appendingPathComponent("agent-\(UUID().uuidString).log")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let command = launcher + [PhaseWatchBinary.path, "run"] + arguments
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: log)
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }
        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// Waits for the exit at most `limit`; returns the status and how long it took, or nil
        /// (and kills the process) when it did not exit in time.
        func exit(within limit: Duration) async -> (status: Int32, took: Duration)? {
            let started = ContinuousClock.now
            while process.isRunning, ContinuousClock.now - started < limit {
                try? await Task.sleep(for: .milliseconds(20))
            }
            guard !process.isRunning else {
                kill(pid, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            return (process.terminationStatus, ContinuousClock.now - started)
        }

        func waitReady(port: Int) async -> Bool {
            for _ in 0..<200 {
                if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/-/ready")!),
                    (response as? HTTPURLResponse)?.statusCode == 200
                { return true }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return false
        }

        deinit { if process.isRunning { kill(pid, SIGKILL) } }
    }

    func scratch() throws -> URL {
        let dir = Scratch.dir.appendingPathComponent("lifecycle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A config with `count` targets on a closed port: its startup (parse, validate, schedule)
    /// takes long enough to signal the agent in the middle of it.
    func config(targets count: Int, interval: String = "30s", in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("phasewatch.yml").path
        let port = TestServer.closedPort()
        var yaml = "global: {interval: \(interval), timeout: 500ms}\nstorage: {path: \(dir.appendingPathComponent("pw.db").path)}\ntargets:\n"
        for i in 0..<count { yaml += "  - {name: t\(i), url: \"http://127.0.0.1:\(port)/\(i)\"}\n" }
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A socket bound and listening on 127.0.0.1, on an ephemeral port; closed by `close`.
    func occupyPort() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ptr in
                _ = bind(fd, ptr, len)
                _ = listen(fd, 8)
                _ = getsockname(fd, ptr, &len)
            }
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    @Test func busyPortExitsOneNamingTheAddress() async throws {
        let dir = try scratch()
        let (fd, port) = occupyPort()
        defer { close(fd) }
        let agent = try AgentProcess(
            ["--config.file=\(try config(targets: 3, in: dir))", "--web.listen-address=127.0.0.1:\(port)"], in: dir)
        let exit = try #require(await agent.exit(within: .seconds(10)), "the agent did not exit on a busy port:\n\(agent.output)")
        #expect(exit.status == 1)
        #expect(exit.took < .seconds(5))
        #expect(agent.output.contains("cannot listen on 127.0.0.1:\(port): address already in use"), "\(agent.output)")
        #expect(!agent.output.contains("phasewatch listening"), "announced listening on a port it could not bind:\n\(agent.output)")
        // Nothing was probed: probing starts only once the address is bound.
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let page = try await store.results(target: "t0", since: nil, until: nil, limit: 10, cursor: nil)
        #expect(page.results.isEmpty)
    }

    @Test func addressNotOnTheHostExitsOne() async throws {
        let dir = try scratch()
        // A documentation address (RFC 5737): bind fails locally, nothing is sent anywhere.
        let agent = try AgentProcess(
            ["--config.file=\(try config(targets: 1, in: dir))", "--web.listen-address=192.0.2.1:\(TestServer.closedPort())"], in: dir)
        let exit = try #require(await agent.exit(within: .seconds(10)), "the agent did not exit:\n\(agent.output)")
        #expect(exit.status == 1)
        #expect(agent.output.contains("cannot listen on 192.0.2.1:"), "\(agent.output)")
        #expect(agent.output.contains("cannot assign requested address"), "\(agent.output)")
    }

    /// `:port` listens on every address, IPv4 and IPv6 alike, as Prometheus's exporters do.
    @Test func portAloneListensOnIPv4AndIPv6() async throws {
        guard InstallTests.shell("python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind((\"::1\", 0))'").status == 0 else {
            print("skipped: this host has no IPv6 loopback")
            return
        }
        let dir = try scratch()
        let port = TestServer.closedPort()
        let agent = try AgentProcess(["--config.file=\(try config(targets: 1, in: dir))", "--web.listen-address=:\(port)"], in: dir)
        #expect(await agent.waitReady(port: port))
        for host in ["127.0.0.1", "[::1]"] {
            let answer = InstallTests.shell("curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://\(host):\(port)/-/healthy")
            #expect(answer.output == "200", "\(host): \(answer)")
        }
        kill(agent.pid, SIGTERM)
        let exit = try #require(await agent.exit(within: .seconds(10)))
        #expect(exit.status == 0)
    }

    /// SIGTERM while the config is parsed, the database opened or the targets scheduled, and
    /// once it serves: each time the process exits 0 within a bound.
    @Test(arguments: [0.05, 0.1, 0.25, 0.5])
    func sigtermAtEveryStartupStageEndsTheAgent(after seconds: Double) async throws {
        let dir = try scratch()
        let port = TestServer.closedPort()
        let agent = try AgentProcess(
            ["--config.file=\(try config(targets: 5000, in: dir))", "--web.listen-address=127.0.0.1:\(port)"], in: dir)
        try await Task.sleep(for: .seconds(seconds))
        kill(agent.pid, SIGTERM)
        let exit = try #require(await agent.exit(within: .seconds(10)), "no exit after SIGTERM at \(seconds) s:\n\(agent.output)")
        #expect(exit.status == 0, "\(agent.output)")
        #expect(exit.took < .seconds(6), "took \(exit.took)")
    }

    @Test func sighupDuringStartupReloadsOnceRunning() async throws {
        let dir = try scratch()
        let port = TestServer.closedPort()
        let agent = try AgentProcess(
            ["--config.file=\(try config(targets: 5000, in: dir))", "--web.listen-address=127.0.0.1:\(port)"], in: dir)
        try await Task.sleep(for: .milliseconds(100))
        kill(agent.pid, SIGHUP)
        #expect(await agent.waitReady(port: port), "not ready after a SIGHUP during startup:\n\(agent.output)")
        #expect(agent.process.isRunning)
        try await Task.sleep(for: .milliseconds(1000))
        kill(agent.pid, SIGHUP)  // and a SIGHUP once running reloads too
        try await Task.sleep(for: .milliseconds(1000))
        kill(agent.pid, SIGTERM)
        let exit = try #require(await agent.exit(within: .seconds(10)))
        #expect(exit.status == 0, "\(agent.output)")
        let output = agent.output
        #expect(output.contains("reloading for a SIGHUP received during startup") || output.contains("reload deferred"), "\(output)")
        // The initial schedule plus one reload per SIGHUP.
        let scheduled = output.components(separatedBy: "targets scheduled").count - 1
        #expect(scheduled == 3, "\(output)")
    }

    /// The last flush waits on a write lock another process holds: a second signal exits at
    /// once, and without one `--shutdown.timeout` ends the wait.
    @Test(arguments: [true, false])
    func stuckShutdownEndsWithinBound(secondSignal: Bool) async throws {
        let dir = try scratch()
        let port = TestServer.closedPort()
        let agent = try AgentProcess(
            [
                "--config.file=\(try config(targets: 50, interval: "1s", in: dir))", "--web.listen-address=127.0.0.1:\(port)",
                "--shutdown.timeout=2s",
            ], in: dir)
        #expect(await agent.waitReady(port: port))
        try await Task.sleep(for: .milliseconds(1500))
        let locker = Process()
        locker.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        locker.arguments = [
            "python3", "-c",
            "import sqlite3,sys,time; c=sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(20)",
            dir.appendingPathComponent("pw.db").path,
        ]
        let lockerOut = Pipe()
        locker.standardOutput = lockerOut
        try locker.run()
        defer { locker.terminate() }
        _ = lockerOut.fileHandleForReading.readData(ofLength: 7)  // "locked\n"
        try await Task.sleep(for: .milliseconds(1200))  // results pile up behind the lock
        kill(agent.pid, SIGTERM)
        if secondSignal {
            try await Task.sleep(for: .milliseconds(200))
            kill(agent.pid, SIGINT)
        }
        let exit = try #require(await agent.exit(within: .seconds(10)), "\(agent.output)")
        #expect(exit.status == 1, "\(agent.output)")
        if secondSignal {
            #expect(exit.took < .seconds(1), "took \(exit.took)")
            #expect(agent.output.contains("second signal during shutdown"), "\(agent.output)")
        } else {
            #expect(exit.took >= .milliseconds(1900) && exit.took < .seconds(4), "took \(exit.took)")
            #expect(agent.output.contains("shutdown did not finish in time"), "\(agent.output)")
        }
    }

    /// A probe still running when the drain ends is not waited for past it, and the log says
    /// how many were left (their results are not stored).
    @Test func probesStillInFlightAfterTheDrainAreCounted() async throws {
        let dir = try scratch()
        let config = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 12s, timeout: 11s}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
              - {name: slow, url: "\(TestServer.http("/?processing=10"))"}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let port = TestServer.closedPort()
        let agent = try AgentProcess(["--config.file=\(config)", "--web.listen-address=127.0.0.1:\(port)"], in: dir)
        #expect(await agent.waitReady(port: port))
        // The first run is spread over the interval by a hash of the name: wait until it runs.
        var inFlight = false
        for _ in 0..<150 where !inFlight {
            if let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!) {
                inFlight = String(decoding: data, as: UTF8.self).contains("phasewatch_probes_in_flight{location=\"local\"} 1")
            }
            if !inFlight { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(inFlight, "the slow probe never started")
        kill(agent.pid, SIGTERM)
        let exit = try #require(await agent.exit(within: .seconds(10)))
        #expect(exit.status == 0, "\(agent.output)")
        #expect(exit.took > .seconds(3) && exit.took < .seconds(5), "took \(exit.took)")
        #expect(agent.output.contains("stopping with probes still in flight: their results are not stored"), "\(agent.output)")
        #expect(agent.output.contains("probes=1"), "\(agent.output)")
    }

    /// Each background service returns promptly when its task is cancelled (as when the server
    /// fails to bind), rather than spinning or waiting for a graceful shutdown that never comes.
    @Test func everyServiceEndsOnCancellation() async throws {
        let dir = try scratch()
        let config = try ConfigLoader.load(path: try self.config(targets: 2, interval: "1s", in: dir))
        let store = try ProbeStore(path: config.storage.path)
        let logger = Logger(label: "test")
        let runtime = AgentRuntime(config: config, source: .text("", name: "test"), store: store, logger: logger)
        runtime.start()
        for service in agentServices(runtime: runtime, logger: logger) {
            let done = Done()
            let task = Task {
                try? await service.run()
                done.set()
            }
            try await Task.sleep(for: .milliseconds(300))
            let cancelled = ContinuousClock.now
            task.cancel()
            // Polled, not awaited: a service that ignores cancellation would hang the test.
            while !done.value, ContinuousClock.now - cancelled < .seconds(3) { try await Task.sleep(for: .milliseconds(10)) }
            #expect(done.value, "\(type(of: service)) still running 3 s after cancellation")
            #expect(ContinuousClock.now - cancelled < .seconds(2), "\(type(of: service)) took \(ContinuousClock.now - cancelled)")
        }
        await runtime.scheduler.stopAll(drainTimeout: .seconds(2))
    }
}

final class Done: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var value: Bool { flag.withLock { $0 } }
}
