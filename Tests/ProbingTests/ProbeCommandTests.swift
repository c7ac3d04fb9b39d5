import Foundation
import PhaseWatchCore
import TestSupport
import Testing

/// `phasewatch probe` as a user runs it: the built binary, its output and its exit status.
@Suite(.serialized)
struct ProbeCommandTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var binary: String { PhaseWatchBinary.path }

    static func run(_ arguments: [String], prefix: [String] = []) throws -> Run {
        let process = Process()
        let out = Pipe()
        let err = Pipe()
        if prefix.isEmpty {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = prefix + [binary] + arguments
        }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                   stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func decode(_ run: Run) throws -> ProbeResult {
        try ProbeResult.makeDecoder().decode(ProbeResult.self, from: Data(run.stdout.utf8))
    }

    /// `--connection=both`: the cold and the warm result, one ProbeResult per line, fresh first.
    @Test(.requires(.nginx)) func bothPrintsTwoResults() throws {
        let port = H2Server.shared.port("http")
        let run = try Self.run(["probe", "http://127.0.0.1:\(port)/", "--connection=both", "--format=json"])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        try #require(lines.count == 2, "\(run.stdout)")
        let results = try lines.map { try ProbeResult.makeDecoder().decode(ProbeResult.self, from: Data($0.utf8)) }
        #expect(results.map(\.connection) == [.fresh, .reused])
        #expect(results.map(\.connectionReused) == [false, true])
        let bad = try Self.run(["probe", "http://127.0.0.1:\(port)/", "--connection=warm"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains(#"unsupported connection "warm": use fresh, reuse or both"#), "\(bad.stderr)")
    }

    /// `--ip-policy=all`: one ProbeResult per address, then the target's own, whose success
    /// (by `--success`) is the exit status. The name is pinned; 127.0.0.3 has no server.
    @Test func ipPolicyAllPrintsEveryAddress() throws {
        let port = TestServer.closedPort()
        let server = try ServerProcess(script: "testserver.py", arguments: ["--listen", "a=http,host=127.0.0.2,port=\(port)"])
        defer { server.stop() }
        let args = ["probe", "http://svc.test:\(port)/", "--ip-policy=all", "--resolve=svc.test:\(port):127.0.0.2,127.0.0.3"]
        let all = try Self.run(args + ["--format=json"])
        #expect(all.status == 1, "\(all.stderr)")
        let results = try all.stdout.split(separator: "\n").map { try ProbeResult.makeDecoder().decode(ProbeResult.self, from: Data($0.utf8)) }
        #expect(results.map(\.address) == ["127.0.0.2", "127.0.0.3", nil])
        #expect(results.map(\.success) == [true, false, false])

        let any = try Self.run(args + ["--success=any", "--format=text"])
        #expect(any.status == 0, "\(any.stderr)")
        #expect(any.stdout.contains("OK  http://svc.test:\(port)/  at 127.0.0.2"), "\(any.stdout)")
        #expect(any.stdout.contains("FAILED  http://svc.test:\(port)/  at 127.0.0.3"), "\(any.stdout)")
        #expect(any.stdout.contains("OK  svc.test: 1 of 2 addresses answered well (success: any)"), "\(any.stdout)")

        let proxied = try Self.run(args + ["--set", "proxy_url=http://127.0.0.1:3128"])
        #expect(proxied.status == 2)
        #expect(proxied.stderr.contains("ip_policy: all probes each address"), "\(proxied.stderr)")
    }

    @Test func jsonReportsInjectedDelaysWithin2ms() throws {
        let port = TestServer.shared.port("tlsdelay")
        let args = ["probe", "https://localhost:\(port)/?processing=0.1&transfer=0.05", "--format=json", "--insecure",
                    "--resolve=localhost:\(port):127.0.0.1"]
        var results: [ProbeResult] = []
        for _ in 0..<3 {
            let run = try Self.run(args)
            #expect(run.status == 0, "\(run.stderr)")
            results.append(try Self.decode(run))
        }
        let processing = results.compactMap(\.phases.processing).min()!
        let transfer = results.compactMap(\.phases.transfer).min()!
        let tls = results.compactMap(\.phases.tls).min()!
        // Within 2 ms either way: curl stamps a phase boundary when its thread notices it, which
        // on a busy machine can be a little after the fact, so a phase can read a hair short.
        #expect(abs(processing - 0.1) < 0.002, "processing \(processing)")
        #expect(abs(transfer - 0.05) < 0.002, "transfer \(transfer)")
        #expect(tls > 0.048, "tls \(tls)")
        #expect(results[0].tls?.version == "TLS 1.3")
        #expect(results[0].http?.status == 200)
    }

    @Test func exitStatusSaysWhetherTheProbeSucceeded() throws {
        let ok = try Self.run(["probe", TestServer.http("/"), "--format=json"])
        #expect(ok.status == 0)
        #expect(try Self.decode(ok).success)

        let refused = try Self.run(["probe", "http://127.0.0.1:\(TestServer.closedPort())/", "--format=json"])
        #expect(refused.status == 1)
        #expect(try Self.decode(refused).failure?.reason == .connectRefused)
    }

    @Test(arguments: [
        ["probe", "ftp://example/"], ["probe", "not a url"], ["probe", "http://127.0.0.1/", "--timeout=5sec"],
        ["probe", "http://127.0.0.1/", "--ip=5"], ["probe", "http://127.0.0.1/", "--http-version=3"],
        ["probe", "http://127.0.0.1/", "--header=NoColon"], ["probe", "http://127.0.0.1/", "--resolve=a:b"],
        ["probe"], ["probe", "http://127.0.0.1/", "--format=xml"],
    ])
    func badUsageExitsWith2(arguments: [String]) throws {
        let run = try Self.run(arguments)
        #expect(run.status == 2, "\(arguments): \(run.stderr)")
        #expect(!run.stderr.isEmpty)
    }

    @Test(arguments: [
        ("http://127.0.0.1:99999/", "port number was not a decimal number between 0 and 65535"),
        ("http://127.0.0 .1/", "bad hostname"), ("http://a@b@127.0.0.1/", "bad hostname"),
    ])
    func urlsLibcurlRefusesAreBadUsage(url: String, words: String) throws {
        // Refused before any probe, with libcurl's reason, instead of a probe failing as dns_error.
        let run = try Self.run(["probe", url, "--format=json"])
        #expect(run.status == 2, "\(url): \(run.stderr)")
        #expect(run.stderr.contains("is not a URL libcurl accepts: \(words)"), "\(run.stderr)")
    }

    /// The flags go through the config's decoder: every wrong one at once, named, in the file's words.
    @Test func badFlagsAreNamedWithTheConfigsMessages() throws {
        let run = try Self.run([
            "probe", "http://127.0.0.1/", "--timeout=5sec", "--header=Bad Name: x", "--set", "proxy_url=https://u:hunter2@p:1",
            "--set", "intervall=5s",
        ])
        #expect(run.status == 2)
        for line in [
            #"--timeout: invalid duration "5sec": use a number with a unit, like 500ms, 15s, 5m, 1h or 30d"#,
            #"--header: invalid header name "Bad Name": use letters, digits and - (no spaces or colons)"#,
            #"--set proxy_url: unsupported proxy scheme "https": use http://, socks5:// or socks5h://"#,
            #"--set intervall: unknown key "intervall"; did you mean "interval"?"#,
        ] {
            #expect(run.stderr.contains(line), "\(line) missing in:\n\(run.stderr)")
        }
        #expect(!run.stderr.contains("hunter2"))
    }

    /// `--set proxy_url=…` needs no flag of its own; the environment's proxies are ignored.
    @Test func proxyBySetAndNotFromTheEnvironment() throws {
        let proxy = try ProxyTests.Socks5(user: "u", password: "hunter2")
        defer { proxy.server.stop() }
        let proxyURL = "socks5h://u:hunter2@127.0.0.1:\(proxy.port)"
        let run = try Self.run(["probe", TestServer.http("/"), "--format=json", "-v", "--set", "proxy_url=\(proxyURL)"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains(#""success":true"#))
        #expect(!run.stdout.contains("hunter2") && !run.stderr.contains("hunter2"))
        // An address in the URL goes to the proxy as an address, socks5h or not.
        #expect(proxy.lines == ["CONNECT ipv4 127.0.0.1 \(TestServer.shared.port("http")) user=u ok"])

        // A proxy in the environment is not used: the probe goes straight to the target.
        let dead = "http://127.0.0.1:\(TestServer.closedPort())"
        let direct = try Self.run(
            ["probe", TestServer.http("/"), "--format=json"],
            prefix: ["http_proxy=\(dead)", "HTTPS_PROXY=\(dead)", "ALL_PROXY=\(dead)", "all_proxy=\(dead)"])
        #expect(direct.status == 0, "\(direct.stdout)")
        #expect(proxy.lines.count == 1)
    }

    @Test func textShowsTheWaterfallAndThePlainWordsOfAFailure() throws {
        let ok = try Self.run(["probe", TestServer.http("/?processing=0.02"), "--format=text"])
        for phrase in ["DNS lookup", "TCP connect", "TLS handshake", "Server processing", "Content transfer", "Total", "HTTP/1.1 200", "█"] {
            #expect(ok.stdout.contains(phrase), "\(phrase) missing in:\n\(ok.stdout)")
        }
        let port = TestServer.shared.port("expired")
        let bad = try Self.run(["probe", "https://localhost:\(port)/", "--format=text", "--resolve=localhost:\(port):127.0.0.1",
                                "--ca-file=\(Certs.ca)"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("Failed in TLS handshake: cert_expired — certificate expired"), "\(bad.stdout)")
        #expect(bad.stdout.contains("(not reached)"))
    }

    @Test(.requires(.networkNamespace)) func unknownHostInANetworkNamespaceOfItsOwn() throws {
        // A real name lookup, with no network at all: nothing leaves this machine.
        let run = try Self.run(["probe", "http://phasewatch-test.invalid/", "--format=json"], prefix: ["unshare", "-n"])
        try #require(run.status != 127 && !run.stderr.contains("unshare:"), "unshare -n not permitted here: \(run.stderr)")
        #expect(run.status == 1)
        let result = try Self.decode(run)
        #expect(result.failure?.phase == .resolve)
        #expect(result.failure?.reason == .dnsNXDomain)
    }
}
