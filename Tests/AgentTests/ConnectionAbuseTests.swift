import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// Idle clients cannot take the descriptors probes need: the server holds at most
/// `--web.max-connections`, closes connections that send nothing complete within
/// `--web.idle-timeout`, and the rest wait in the accept backlog.
@Suite(.serialized)
struct ConnectionAbuseTests {
    /// Opens `count` TCP connections to 127.0.0.1:`port` that send nothing (or a request head
    /// cut short, slowloris-style) and keeps them open.
    static func idleClients(_ count: Int, port: Int, partialHead: Bool) -> [Int32] {
        var fds: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var flags = fcntl(fd, F_GETFL)
            flags |= O_NONBLOCK
            _ = fcntl(fd, F_SETFL, flags)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            _ = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            fds.append(fd)
        }
        if partialHead {
            usleep(200_000)
            for fd in fds { _ = "GET /metrics HTTP/1.1\r\nHost: x\r\n".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        }
        return fds
    }

    @Test(arguments: [false, true])
    func idleAndSlowClientsCauseNoFalseFailures(partialHead: Bool) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") else {
            print("skipped: needs prlimit (util-linux) to give the agent a small descriptor limit")
            return
        }
        let dir = Scratch.dir.appendingPathComponent("abuse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 900ms}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
              - {name: healthy, url: "\(TestServer.http("/"))"}
              - {name: also-healthy, url: "\(TestServer.http("/?processing=0.01"))"}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let port = TestServer.closedPort()
        // 128 descriptors and 200 clients: without the limits they would take every one (and
        // the 168 beyond the cap still fit the accept backlog, so none is refused outright).
        let agent = try LifecycleTests.AgentProcess(
            [
                "--config.file=\(config)", "--web.listen-address=127.0.0.1:\(port)", "--web.max-connections=32",
                "--web.idle-timeout=1s",
            ], in: dir, launcher: ["/usr/bin/prlimit", "--nofile=128:128"])
        #expect(await agent.waitReady(port: port))
        let clients = Self.idleClients(200, port: port, partialHead: partialHead)
        defer { for fd in clients { close(fd) } }
        try await Task.sleep(for: .seconds(5))

        // /metrics still answers (after the idle clients ahead of it are closed) ...
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        request.timeoutInterval = 30
        let started = ContinuousClock.now
        let (data, response) = try await URLSession.shared.data(for: request)
        let waited = ContinuousClock.now - started
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        // Behind the clients queued before it, each let in as an idle one is closed.
        #expect(waited < .seconds(20), "/metrics took \(waited)")
        let text = String(decoding: data, as: UTF8.self)
        // ... and no probe failed: neither the targets nor the agent ran out of anything.
        let failures = text.split(separator: "\n").filter { $0.hasPrefix("phasewatch_probes_total{") && $0.contains("result=\"failure\"") }
        #expect(failures.allSatisfy { $0.hasSuffix(" 0") }, "\(failures)")
        #expect(text.contains("phasewatch_probe_agent_errors_total{location=\"local\"} 0"))
        let successes = text.split(separator: "\n").filter { $0.hasPrefix("phasewatch_probes_total{") && $0.contains("result=\"success\"") }
        #expect(successes.count == 2 && successes.allSatisfy { !$0.hasSuffix(" 0") }, "\(successes)")
        let open = text.split(separator: "\n").first { $0.hasPrefix("process_open_fds") }.map(String.init) ?? ""
        #expect(!open.isEmpty && (Double(open.split(separator: " ").last ?? "") ?? 999) < 128, "\(open)")

        kill(agent.pid, SIGTERM)
        let exit = try #require(await agent.exit(within: .seconds(10)))
        #expect(exit.status == 0, "\(agent.output)")
    }
}
