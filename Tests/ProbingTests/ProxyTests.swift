import Foundation
import PhaseWatchCore
@testable import Probing
import TestSupport
import Testing

/// `proxy_url` (docs/probing.md#proxies) against real proxies on loopback: Debian's tinyproxy for
/// HTTP (absolute-form requests for http://, CONNECT for https://) and Tests/Support/socks5proxy.py
/// for socks5:// and socks5h://. Each test checks the request went through the proxy (its log),
/// the phases, and that the proxy's password shows nowhere.
@Suite(.serialized)
struct ProxyTests {
    let prober = Prober()
    static let password = "pr0xy-s3cret"

    /// tinyproxy in the foreground with a generated config on a free loopback port.
    final class Tinyproxy {
        let port: Int
        let log: URL
        private let process: Process

        init(basicAuth: (user: String, password: String)? = nil) throws {
            let dir = Scratch.dir.appendingPathComponent("tinyproxy-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            port = TestServer.closedPort()
            log = dir.appendingPathComponent("tinyproxy.log")
            var config = """
                Port \(port)
                Listen 127.0.0.1
                Timeout 30
                LogFile "\(log.path)"
                LogLevel Info
                MaxClients 50
                Allow 127.0.0.1
                ViaProxyName "phasewatch-test-proxy"

                """
            if let basicAuth { config += "BasicAuth \(basicAuth.user) \(basicAuth.password)\n" }
            let file = dir.appendingPathComponent("tinyproxy.conf")
            try config.write(to: file, atomically: true, encoding: .utf8)
            process = Process()
            process.executableURL = URL(fileURLWithPath: try requireTool(.tinyproxy))
            process.arguments = ["-d", "-c", file.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Ready when it accepts a connection.
            let deadline = ContinuousClock.now + .seconds(5)
            while !Self.accepts(port) {
                guard ContinuousClock.now < deadline, process.isRunning else { throw ProxyError.didNotStart(log.path) }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }

        var url: String { "http://127.0.0.1:\(port)" }
        var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        func stop() {
            // SIGKILL: the test process's threads block SIGTERM, and a child inherits the mask.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        static func accepts(_ port: Int) -> Bool {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            return withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }
    }

    /// Tests/Support/socks5proxy.py, with its log of CONNECT requests.
    struct Socks5 {
        let server: ServerProcess
        let log: URL

        init(user: String? = nil, password: String? = nil, host: String = "127.0.0.1") throws {
            log = Scratch.dir.appendingPathComponent("socks5-\(UUID().uuidString).log")
            var arguments = ["--log", log.path, "--host", host]
            if let user, let password { arguments += ["--user", user, "--password", password] }
            server = try ServerProcess(script: "socks5proxy.py", arguments: arguments)
        }

        var port: Int { server.port("socks") }
        var lines: [String] { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
    }

    enum ProxyError: Error { case didNotStart(String) }

    /// The phases reached add up to the duration (the proxy's handshake is in `connect`).
    static func expectPhasesAddUp(_ r: ProbeResult, _ phases: [Phase], sourceLocation: SourceLocation = #_sourceLocation) {
        for phase in phases {
            #expect(r.phases[phase] != nil, "\(phase) missing: \(r.phases)", sourceLocation: sourceLocation)
        }
        let sum = Phase.network.compactMap { r.phases[$0] }.reduce(0, +)
        #expect(abs(sum - r.duration) < 0.002, "phases \(r.phases) vs duration \(r.duration)", sourceLocation: sourceLocation)
    }

    /// Nothing a user or a log can see holds the password: the result, its JSON, and `-v`'s trace.
    func expectNoPassword(_ target: Target, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (result, debug) = await prober.probeWithDebug(target)
        let encoder = ProbeResult.makeEncoder(pretty: false)
        let json = String(decoding: try encoder.encode(result), as: UTF8.self)
        let trace = String(decoding: try encoder.encode(debug), as: UTF8.self)
        let basic = Data("user:\(Self.password)".utf8).base64EncodedString()
        for text in [json, trace, String(describing: result)] {
            #expect(!text.contains(Self.password) && !text.contains(basic), "\(text)", sourceLocation: sourceLocation)
        }
    }

    @Test(.requires(.tinyproxy)) func httpTargetThroughTinyproxyIsAnAbsoluteFormRequest() async throws {
        let proxy = try Tinyproxy()
        defer { proxy.stop() }
        var target = Target(name: "t", url: TestServer.http("/echo?processing=0.02"))
        target.proxyURL = proxy.url
        target.expect.bodyMatches = "phasewatch-test-proxy"  // the Via header the proxy added
        let r = await prober.probe(target)
        #expect(r.success, "\(String(describing: r.failure))")
        #expect(r.http?.status == 200)
        #expect(r.ip?.address == "127.0.0.1")  // the proxy's
        Self.expectPhasesAddUp(r, [.resolve, .connect, .processing, .transfer])
        #expect((r.phases.processing ?? 0) >= 0.02)
        #expect(r.phases.tls == 0)
        #expect(proxy.logText.contains("GET http://127.0.0.1:\(TestServer.shared.port("http"))/echo"), "\(proxy.logText)")
    }

    @Test(.requires(.tinyproxy)) func httpsTargetThroughACONNECTTunnel() async throws {
        let proxy = try Tinyproxy()
        defer { proxy.stop() }
        var target = TestServer.httpsTarget("https", "/?processing=0.02")
        target.proxyURL = proxy.url
        let r = await prober.probe(target)
        #expect(r.success, "\(String(describing: r.failure))")
        // The proxy's "200 Connection established" is not the response.
        #expect(r.http?.status == 200)
        #expect(r.http?.version == "1.1")
        #expect(r.tls?.version == "TLS 1.3")
        #expect(r.tls?.subject?.contains("localhost") == true)
        Self.expectPhasesAddUp(r, [.resolve, .connect, .tls, .processing, .transfer])
        #expect((r.phases.processing ?? 0) >= 0.02)
        #expect(proxy.logText.contains("CONNECT localhost:\(TestServer.shared.port("https"))"), "\(proxy.logText)")

        // Verification is still the target's: the expired certificate fails through the tunnel.
        var expired = TestServer.httpsTarget("expired")
        expired.proxyURL = proxy.url
        let bad = await prober.probe(expired)
        #expect(bad.failure?.reason == .certExpired)
        #expect(bad.failure?.phase == .tls)
    }

    @Test(.requires(.tinyproxy)) func httpProxyCredentialsAreSentAndNeverShown() async throws {
        let proxy = try Tinyproxy(basicAuth: ("user", Self.password))
        defer { proxy.stop() }
        var target = Target(name: "t", url: TestServer.http("/"))
        target.proxyURL = "http://user:\(Self.password)@127.0.0.1:\(proxy.port)"
        let ok = await prober.probe(target)
        #expect(ok.success, "\(String(describing: ok.failure))")
        try await expectNoPassword(target)

        var https = TestServer.httpsTarget()
        https.proxyURL = target.proxyURL
        #expect(await prober.probe(https).success)
        try await expectNoPassword(https)

        // Without them the proxy answers 407, which is its answer and not the target's.
        target.proxyURL = proxy.url
        let refused = await prober.probe(target)
        #expect(refused.http?.status == 407)
        #expect(refused.failure?.reason == .status)
        https.proxyURL = proxy.url
        let tunnel = await prober.probe(https)
        #expect(tunnel.failure?.phase == .connect, "\(String(describing: tunnel.failure))")
        #expect(tunnel.failure?.reason == .connectError)
        #expect(tunnel.failure?.message.contains("407") == true)
        #expect(tunnel.http == nil)
    }

    @Test func socks5ResolvesLocallyAndSocks5hOnTheProxy() async throws {
        let proxy = try Socks5()
        defer { proxy.server.stop() }
        var target = TestServer.httpsTarget("https", "/?processing=0.02")
        target.resolve = []  // socks5h: the proxy resolves localhost; socks5: curl does
        target.ipProtocol = .ip4
        let port = TestServer.shared.port("https")

        target.proxyURL = "socks5h://127.0.0.1:\(proxy.port)"
        let remote = await prober.probe(target)
        #expect(remote.success, "\(String(describing: remote.failure))")
        Self.expectPhasesAddUp(remote, [.resolve, .connect, .tls, .processing, .transfer])
        #expect(proxy.lines.last == "CONNECT domain localhost \(port) user=- ok")

        target.proxyURL = "socks5://127.0.0.1:\(proxy.port)"
        let local = await prober.probe(target)
        #expect(local.success, "\(String(describing: local.failure))")
        Self.expectPhasesAddUp(local, [.resolve, .connect, .tls, .processing, .transfer])
        #expect(proxy.lines.last == "CONNECT ipv4 127.0.0.1 \(port) user=- ok")

        // http:// through SOCKS: the handshake with the proxy is in connect, not lost between phases.
        var plain = Target(name: "p", url: TestServer.http("/"))
        plain.proxyURL = "socks5h://127.0.0.1:\(proxy.port)"
        let r = await prober.probe(plain)
        #expect(r.success, "\(String(describing: r.failure))")
        Self.expectPhasesAddUp(r, [.resolve, .connect, .processing, .transfer])
        #expect(proxy.lines.count == 3)
    }

    @Test func socks5WithUsernameAndPassword() async throws {
        let proxy = try Socks5(user: "user", password: Self.password)
        defer { proxy.server.stop() }
        var target = Target(name: "t", url: TestServer.http("/"))
        target.proxyURL = "socks5h://user:\(Self.password)@127.0.0.1:\(proxy.port)"
        let ok = await prober.probe(target)
        #expect(ok.success, "\(String(describing: ok.failure))")
        #expect(proxy.lines.last?.hasSuffix("user=user ok") == true, "\(proxy.lines)")
        try await expectNoPassword(target)

        target.proxyURL = "socks5h://user:wrong@127.0.0.1:\(proxy.port)"
        let refused = await prober.probe(target)
        #expect(!refused.success)
        #expect(refused.failure?.phase == .connect, "\(String(describing: refused.failure))")
        #expect(proxy.lines.last == "AUTH FAILED user=user")
    }

    @Test func aProxyThatRefusesIsAConnectFailure() async {
        var target = Target(name: "t", url: TestServer.http("/"))
        target.proxyURL = "http://127.0.0.1:\(TestServer.closedPort())"
        let r = await prober.probe(target)
        #expect(r.failure?.reason == .connectRefused)
        #expect(r.failure?.phase == .connect)
    }

    /// Through a proxy the address guard sees only the proxy's address (docs/probing.md#proxies):
    /// a redirect to an address refused without a proxy is followed through it.
    @Test func theRedirectGuardChecksTheProxysAddress() async throws {
        // The proxy on another loopback address, so that only the target's is refused.
        let proxy = try Socks5(host: "127.0.0.3")
        defer { proxy.server.stop() }
        let port = TestServer.shared.port("http")
        var target = Target(name: "t", url: TestServer.http("/?status=302&location=http://127.0.0.1:\(port)/"))
        target.redirects.refusedAddresses = ["127.0.0.1"]
        let direct = await prober.probe(target)
        #expect(direct.failure?.reason == .redirectRefused)

        target.proxyURL = "socks5://127.0.0.3:\(proxy.port)"
        let proxied = await prober.probe(target)
        #expect(proxied.success, "\(String(describing: proxied.failure))")
        #expect(proxied.http?.redirects == 1)
        #expect(proxied.ip?.address == "127.0.0.3")
        #expect(proxy.lines == Array(repeating: "CONNECT ipv4 127.0.0.1 \(port) user=- ok", count: 2))
    }
}
