import Foundation
import PhaseWatchCore
@testable import Probing
import TestSupport
import Testing

/// Debugging a probe: `phasewatch probe --target` (a configured target, probed as the agent
/// probes it), `-v` (each attempt's hops, headers, TLS facts and expectation verdicts), and a
/// failed handshake's phases adding up in the CLI as in the agent.
@Suite(.serialized)
struct ProbeDebugTests {
    static func run(_ arguments: [String]) throws -> ProbeCommandTests.Run {
        try ProbeCommandTests.run(arguments)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func phaseSum(_ p: Phases) -> Double {
        Phase.network.compactMap { p[$0] }.reduce(0, +)
    }

    /// A fresh process verifies against the system bundle it parses first: that parse used to
    /// sit between phasewatch's clock and curl's, and a failed handshake showed
    /// "TCP connect 17.1 ms, TLS 0.0 ms, Total 2.0 ms".
    @Test func untrustedCertificatePhasesAddUpInTheCLIAsInTheAgent() async throws {
        let url = "https://127.0.0.1:\(TestServer.shared.port("https"))/"
        for _ in 0..<3 {
            let run = try Self.run(["probe", url, "--format=json"])
            #expect(run.status == 1)
            let cli = try ProbeCommandTests.decode(run)
            #expect(cli.failure?.reason == .certUntrusted)
            #expect(cli.failure?.phase == .tls)
            #expect(Self.phaseSum(cli.phases) <= cli.duration + 1e-6, "\(cli.phases) vs \(cli.duration)")
            #expect((cli.phases.connect ?? 0) <= cli.duration)
            #expect(cli.phases.tls != nil && cli.phases.processing == nil)

            let text = try Self.run(["probe", url, "--format=text"])
            #expect(text.status == 1)
            let shown = Self.millis(in: text.stdout)
            let total = try #require(shown["Total"])
            let phases = ["DNS lookup", "TCP connect", "TLS handshake"].compactMap { shown[$0] }
            #expect(phases.count == 3, "\(text.stdout)")
            // Each figure is rounded to 0.1 ms.
            #expect(phases.reduce(0, +) <= total + 0.15, "\(text.stdout)")
        }
        // The agent's prober, the same failure: the same phases reached, the same sum rule.
        let agent = await Prober().probe(Target(name: "t", url: url))
        #expect(agent.failure?.reason == .certUntrusted)
        #expect(Self.phaseSum(agent.phases) <= agent.duration + 1e-6)
        let cli = try ProbeCommandTests.decode(try Self.run(["probe", url, "--format=json"]))
        #expect(Set(Phase.network.filter { agent.phases[$0] != nil }) == Set(Phase.network.filter { cli.phases[$0] != nil }))
    }

    /// "TCP connect     0.1 ms ..." → ["TCP connect": 0.1].
    static func millis(in text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let ms = line.range(of: " ms") else { continue }
            let head = line[..<ms.lowerBound]
            guard let space = head.lastIndex(of: " "), let value = Double(head[head.index(after: space)...]) else { continue }
            let name = head[..<space].trimmingCharacters(in: .whitespaces)
            if !name.isEmpty, out[name] == nil { out[name] = value }
        }
        return out
    }

    static func config(_ dir: URL, secret: String, extra: String = "") throws -> String {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("phasewatch.yml").path
        let https = TestServer.shared.port("https")
        let yaml = """
            targets:
              - name: api
                url: https://127.0.0.1:\(https)/redirect/2?body=hello&header=Set-Cookie:session%3Dfixed
                headers: {Authorization: "Bearer \(secret)", X-Api-Key: "\(secret)k", X-Tenant: "t-\(secret)"}
                tls: {ca_file: \(Certs.ca)}
                expect: {status: [200], body_matches: "^hel", body_not_matches: "^bye", headers: {Content-Type: "^text/"}, max_duration: 5s}
              - name: wrong-body
                url: \(TestServer.http("/?body=hello"))
                expect: {body_matches: "^bye"}
              - name: flaky
                url: \(TestServer.http("/?status=503"))
                retries: {attempts: 1, backoff: 10ms}
            \(extra)
            """
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aConfiguredTargetIsProbedAsConfiguredAndVerboseShowsEveryHop() throws {
        let secret = UUID().uuidString
        let config = try Self.config(Scratch.dir.appendingPathComponent("debug-\(UUID().uuidString)"), secret: secret)

        // Without -v: exactly a ProbeResult, with the target's name, CA and expectations.
        let plain = try Self.run(["probe", "--config.file=\(config)", "--target=api", "--format=json"])
        #expect(plain.status == 0, "\(plain.stdout)\(plain.stderr)")
        let result = try ProbeCommandTests.decode(plain)
        #expect(result.target == "api")
        #expect(result.http?.redirects == 2)
        #expect(try Self.json(plain.stdout)["debug"] == nil)

        let text = try Self.run(["probe", "--config.file=\(config)", "--target=api", "-v", "--format=text"])
        #expect(text.status == 0, "\(text.stdout)\(text.stderr)")
        #expect(!text.stdout.contains(secret), "a secret shows:\n\(text.stdout)")
        for phrase in [
            "Authorization: <redacted>", "X-Api-Key: <redacted>", "X-Tenant: <redacted>", "Set-Cookie: <redacted>",
            "Hop 1", "Hop 2", "Hop 3", "> GET /redirect/2?", "> GET /redirect/0?", "< HTTP/1.1 302 Found", "< HTTP/1.1 200 OK",
            "→ redirected to /redirect/1?", "verify: ok", "CA \(Certs.ca)", "handshake completed",
            "✓ status", "✓ body_matches", "✓ body_not_matches", "✓ header", "✓ max_duration",
            "> User-Agent: phasewatch/", "> traceparent: 00-\(Self.traceID(text.stdout))",
        ] {
            #expect(text.stdout.contains(phrase), "\(phrase) missing in:\n\(text.stdout)")
        }

        let json = try Self.run(["probe", "--config.file=\(config)", "--target=api", "-v", "--format=json"])
        #expect(json.status == 0)
        #expect(!json.stdout.contains(secret))
        let object = try Self.json(json.stdout)
        let debug = try #require(object["debug"] as? [String: Any])
        let attempts = try #require(debug["attempts"] as? [[String: Any]])
        let hops = try #require(attempts.first?["hops"] as? [[String: Any]])
        #expect(hops.map { $0["status"] as? Int } == [302, 302, 200])
        #expect(hops.compactMap { $0["location"] as? String }.map { String($0.prefix(12)) } == ["/redirect/1?", "/redirect/0?"])
        let starts = hops.compactMap { $0["start"] as? Double }
        #expect(starts == starts.sorted() && starts.count == 3)
        for hop in hops {
            let phases = try #require(hop["phases"] as? [String: Double])
            #expect(Set(phases.keys) == ["resolve", "connect", "tls", "processing", "transfer"], "\(phases)")
        }
        let verdicts = try #require(attempts.first?["expectations"] as? [[String: Any]])
        #expect(verdicts.map { $0["check"] as? String } == ["status", "body_matches", "body_not_matches", "header", "max_duration"])
        #expect(verdicts.allSatisfy { $0["pass"] as? Bool == true })
        // The result beside it is the contract's ProbeResult.
        let embedded = try JSONSerialization.data(withJSONObject: try #require(object["result"]))
        #expect(try ProbeResult.makeDecoder().decode(ProbeResult.self, from: embedded).target == "api")
    }

    static func traceID(_ text: String) -> String {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Trace ID: ") }) else { return "?" }
        return String(line.dropFirst("Trace ID: ".count))
    }

    @Test func verboseShowsEveryVerdictAndEachAttempt() throws {
        let config = try Self.config(Scratch.dir.appendingPathComponent("debug-\(UUID().uuidString)"), secret: "s")
        let body = try Self.run(["probe", "--config.file=\(config)", "--target=wrong-body", "-v", "--format=text"])
        #expect(body.status == 1)
        #expect(body.stdout.contains("✓ status"), "\(body.stdout)")
        #expect(body.stdout.contains("✗ body_matches     no match (5 body bytes) (expected /^bye/) — body_matches: body does not match /^bye/"),
                "\(body.stdout)")

        // Retries as the agent makes them: both attempts shown, each with its verdict.
        let flaky = try Self.run(["probe", "--config.file=\(config)", "--target=flaky", "-v", "--format=json"])
        #expect(flaky.status == 1)
        let object = try Self.json(flaky.stdout)
        #expect((object["result"] as? [String: Any])?["attempts"] as? Int == 2)
        let attempts = try #require((object["debug"] as? [String: Any])?["attempts"] as? [[String: Any]])
        #expect(attempts.map { $0["attempt"] as? Int } == [1, 2])
        #expect(Set(attempts.compactMap { $0["traceparent"] as? String }).count == 2, "a new span per attempt")

        // A network failure: nothing to judge, and it says so.
        let refused = try Self.run(["probe", "http://127.0.0.1:\(TestServer.closedPort())/", "-v", "--format=text"])
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("Expectations not checked: no response: the attempt failed in connect"), "\(refused.stdout)")
    }

    @Test func aURLGivenOnTheCommandLineIsRedactedToo() throws {
        let secret = UUID().uuidString
        let run = try Self.run([
            "probe", "http://user:\(secret)@127.0.0.1:\(TestServer.shared.port("http"))/echo", "--header=Authorization: Bearer \(secret)",
            "--header=X-Visible-Name: \(secret)", "-v", "--format=text",
        ])
        #expect(run.status == 0)
        #expect(!run.stdout.contains(secret), "\(run.stdout)")
        #expect(run.stdout.contains("Authorization: <redacted>"))
        #expect(run.stdout.contains("http://***@127.0.0.1"))
    }

    @Test func usageErrorsOfTarget() throws {
        let config = try Self.config(Scratch.dir.appendingPathComponent("debug-\(UUID().uuidString)"), secret: "s")
        let unknown = try Self.run(["probe", "--config.file=\(config)", "--target=nope"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no target named \"nope\""), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("its targets: api, wrong-body, flaky"), "\(unknown.stderr)")

        let badFile = try Self.run(["probe", "--config.file=/nonexistent/phasewatch.yml", "--target=api"])
        #expect(badFile.status == 2)
        #expect(!badFile.stderr.isEmpty)

        for arguments in [
            ["probe", "--config.file=\(config)", "--target=api", "--header=A: b"],
            ["probe", "--config.file=\(config)", "--target=api", "--timeout=1s"],
            ["probe", "--config.file=\(config)", "--target=api", TestServer.http("/")],
            ["probe", "--config.file=\(config)", TestServer.http("/")],
        ] {
            let run = try Self.run(arguments)
            #expect(run.status == 2, "\(arguments): \(run.stderr)")
        }
    }

    /// The library entry points behind `-v`: every verdict, the first failure equal to the
    /// stored result's, and no trace collected for ordinary probes.
    @Test func verdictsAgreeWithTheStoredFailure() async throws {
        var target = Target(name: "t", url: TestServer.http("/?body=hello&header=X-Kind:plain"))
        target.expect = Expectations(
            status: [.code(200)], bodyMatches: "^bye", headers: [Header(name: "X-Kind", value: "^fancy$"), Header(name: "X-None", value: ".")],
            maxDuration: .seconds(5))
        let (result, debug) = await Prober().probeWithDebug(target)
        let verdicts = try #require(debug.attempts.first?.expectations)
        #expect(verdicts.map(\.check) == ["status", "body_matches", "header", "header", "max_duration"])
        #expect(verdicts.map(\.pass) == [true, false, false, false, true])
        #expect(verdicts.map(\.actual)[2...3] == ["present, no value matches", "absent"])
        #expect(verdicts.first { !$0.pass }?.failure == result.failure)
        #expect(result.failure?.reason == .bodyMatches)

        var request = RequestBuilder.request(for: target, traceparent: TraceContext.random().traceparent())
        #expect(await CurlMultiLoop.shared.perform(request).trace == nil)
        request.trace = true
        #expect(await CurlMultiLoop.shared.perform(request).trace?.hops.count == 1)
    }

    @Test func headerNamesThatLookSecret() {
        for name in ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token", "X-Session-Id", "Api_Key", "key"] {
            #expect(HeaderRedaction.isSecret(name), "\(name)")
        }
        for name in ["Accept", "Host", "User-Agent", "traceparent", "Content-Type", "Location", "WWW-Authenticate", "Keep-Alive"] {
            #expect(!HeaderRedaction.isSecret(name), "\(name)")
        }
    }
}
