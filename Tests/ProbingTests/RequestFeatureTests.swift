import Foundation
import PhaseWatchCore
@testable import Probing
import Storage
import TestSupport
import Testing

/// Redirects, HTTP/2, retries, SNI, chains, mTLS rotation, headers and trace context.
struct RequestFeatureTests {
    let prober = Prober()

    @Test func redirectsAreFollowedAndPhasesSummed() async throws {
        // 3 redirects + the final answer: 4 responses, each 40 ms of server processing.
        let r = await prober.probe(Target(name: "t", url: TestServer.http("/redirect/3?processing=0.04")))
        #expect(r.success, "\(String(describing: r.failure))")
        #expect(r.http?.redirects == 3)
        #expect(r.http?.status == 200)
        let processing = try #require(r.phases.processing)
        #expect(processing >= 0.16 && processing < 0.17, "processing \(processing)")
        let sum = Phase.network.compactMap { r.phases[$0] }.reduce(0, +)
        // curl's total and its per-hop sums are rounded separately, a microsecond per hop.
        #expect(abs(sum - r.duration) < 0.001)
    }

    @Test func redirectsNotFollowedWhenOff() async {
        var target = Target(name: "t", url: TestServer.http("/redirect/2"))
        target.followRedirects = false
        let r = await prober.probe(target)
        #expect(r.http?.status == 302)
        #expect(r.http?.redirects == 0)
        #expect(r.failure?.reason == .status)
    }

    @Test(.requires(.nginx)) func http2NegotiatedWithALPN() async {
        var target = Target(name: "h2", url: "https://localhost:\(H2Server.shared.port("h2"))/")
        target.resolve = ["localhost:\(H2Server.shared.port("h2")):127.0.0.1"]
        target.tls.caFile = Certs.ca
        let r = await prober.probe(target)
        #expect(r.success, "\(String(describing: r.failure))")
        #expect(r.http?.version == "2")
        #expect(r.tls?.alpn == "h2")
        #expect(r.tls?.version == "TLS 1.3")
        target.httpVersion = .http1_1
        let r11 = await prober.probe(target)
        #expect(r11.http?.version == "1.1")
        #expect(r11.tls?.alpn == "http/1.1")
    }

    @Test func retriesOnlyRetryableFailures() async {
        var target = Target(name: "t", url: TestServer.http("/?status=503"))
        target.retries = RetryPolicy(attempts: 2, backoff: .milliseconds(10))
        #expect(await prober.probe(target).attempts == 3)

        target.url = TestServer.http("/?status=429")
        #expect(await prober.probe(target).attempts == 3)

        target.url = "http://127.0.0.1:\(TestServer.closedPort())/"
        let refused = await prober.probe(target)
        #expect(refused.attempts == 3)
        #expect(refused.failure?.reason == .connectRefused)

        target.url = TestServer.http("/?status=404")
        #expect(await prober.probe(target).attempts == 1)

        target.url = TestServer.http("/?body=nope")
        target.expect.bodyMatches = "yes"
        #expect(await prober.probe(target).attempts == 1)

        target.url = TestServer.http("/")
        let ok = await prober.probe(target)
        #expect(ok.attempts == 1 && ok.success == false)  // body "ok" does not match "yes"
    }

    @Test func backoffIsBoundedAndJittered() {
        let waits = (0..<200).map { _ in Prober.backoff(.milliseconds(100), attempt: 3) }
        #expect(waits.allSatisfy { $0 >= .zero && $0 <= .milliseconds(400) })
        #expect(Set(waits).count > 100)
    }

    @Test func serverNameOverridesSNIAndVerification() async {
        // The certificate names only wrong.example; connecting to 127.0.0.1 with that server name passes.
        var target = Target(name: "t", url: "https://127.0.0.1:\(TestServer.shared.port("wronghost"))/echo")
        target.tls.caFile = Certs.ca
        target.tls.serverName = "wrong.example"
        target.expect.bodyMatches = "\"host\": \"127.0.0.1:\(TestServer.shared.port("wronghost"))\""
        let r = await prober.probe(target)
        #expect(r.success, "\(String(describing: r.failure))")
        #expect(r.tls?.sans == ["wrong.example"])
        target.tls.serverName = nil
        target.expect.bodyMatches = nil
        #expect(await prober.probe(target).failure?.reason == .certHostnameMismatch)
    }

    /// Targets with their own CA file, targets on the system bundle and a CA file that cannot
    /// be read, probed in turn: each is verified against its own bundle (the loop keeps one
    /// parsed store per bundle; libcurl's single cached store used to be replaced at each switch).
    @Test func eachTargetIsVerifiedAgainstItsOwnCABundle() async throws {
        let own = TestServer.httpsTarget()
        var system = own
        system.tls.caFile = nil
        var missing = own
        missing.tls.caFile = Scratch.dir.appendingPathComponent("no-such-ca-\(UUID().uuidString).pem").path
        var skip = system
        skip.tls.insecureSkipVerify = true
        for round in 0..<3 {
            let ok = await prober.probe(own)
            #expect(ok.success, "round \(round): \(String(describing: ok.failure))")
            let untrusted = await prober.probe(system)
            #expect(untrusted.failure?.phase == .tls, "round \(round): \(String(describing: untrusted.failure))")
            #expect(untrusted.failure?.reason == .certUntrusted, "round \(round): \(String(describing: untrusted.failure))")
            let unreadable = await prober.probe(missing)
            #expect(unreadable.failure?.phase == .tls && unreadable.failure?.reason == .tlsHandshakeError,
                    "round \(round): \(String(describing: unreadable.failure))")
            #expect(await prober.probe(skip).success, "round \(round)")
        }
    }

    @Test func chainExpiryIsTheEarliestInTheChain() async throws {
        let r = await prober.probe(TestServer.httpsTarget("chain"))
        #expect(r.success, "\(String(describing: r.failure))")
        let leaf = try #require(r.tls?.certNotAfter)
        let chain = try #require(r.tls?.chainExpiry)
        #expect(leaf.timeIntervalSinceNow > 80 * 86_400)
        #expect(chain.timeIntervalSinceNow > 50 * 86_400 && chain.timeIntervalSinceNow < 61 * 86_400)
        #expect(r.tls?.issuer == "CN=phasewatch test intermediate")
        #expect(r.tls?.subject == "CN=localhost")
    }

    @Test func clientCertificateRotationNeedsNoRestart() async throws {
        let dir = Scratch.dir.appendingPathComponent("mtls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cert = dir.appendingPathComponent("client.pem")
        let key = dir.appendingPathComponent("client.key")
        func install(_ name: String) throws {
            for (from, to) in [(name + ".pem", cert), (name + ".key", key)] {
                try? FileManager.default.removeItem(at: to)
                try FileManager.default.copyItem(atPath: Certs.path(from), toPath: to.path)
            }
        }
        var target = TestServer.httpsTarget("mtls", "/client-cert")
        target.tls.certFile = cert.path
        target.tls.keyFile = key.path

        try install("client1")
        target.expect.bodyMatches = "^client-one$"
        let first = await prober.probe(target)
        #expect(first.success, "\(String(describing: first.failure))")

        try install("client2")
        target.expect.bodyMatches = "^client-two$"
        let second = await prober.probe(target)
        #expect(second.success, "\(String(describing: second.failure))")
    }

    @Test func methodHeadersBodyAndTraceparentAreSent() async throws {
        var target = Target(name: "t", url: TestServer.http("/echo"), method: "POST", body: "{\"ping\":1}")
        target.headers = [Header(name: "X-Probe", value: "phasewatch-test")]
        target.expect.bodyMatches = "\"method\": \"POST\""
        #expect(await prober.probe(target).success)
        target.expect.bodyMatches = "\"x-probe\": \"phasewatch-test\""
        #expect(await prober.probe(target).success)
        target.expect.bodyMatches = #""body": "\{\\"ping\\":1\}""#
        #expect(await prober.probe(target).success)
        target.expect.bodyMatches = "\"traceparent\": \"00-[0-9a-f]{32}-[0-9a-f]{16}-01\""
        let r = await prober.probe(target)
        #expect(r.success)
        #expect(r.traceId.count == 32 && r.traceId.allSatisfy(\.isHexDigit))
        #expect(TraceID.compactForm(r.traceId) != nil, "the store keeps the prober's ids as 8-byte integers")
        let other = await prober.probe(target)
        #expect(other.traceId != r.traceId)

        // The trace id the server saw is the one in the result, and the one the store gives back.
        let trace = TraceContext.random()
        target.expect.bodyMatches = "\"traceparent\": \"00-\(trace.traceID)-[0-9a-f]{16}-01\""
        let traced = await prober.probe(target, trace: trace)
        #expect(traced.success, "\(String(describing: traced.failure))")
        #expect(traced.traceId == trace.traceID)
        let path = Scratch.dir.appendingPathComponent("traceparent-\(UUID().uuidString).db").path
        let store = try ProbeStore(path: path)
        try await store.insert([StoredProbe(result: traced)])
        let stored = try await store.results(target: target.name, since: nil, until: nil, limit: 1, cursor: nil).results
        #expect(stored.map(\.traceId) == [trace.traceID])
    }

    @Test func ipProtocolChoosesTheFamily() async {
        // "localhost" has both 127.0.0.1 and ::1; the test server listens on 127.0.0.1 only.
        var target = Target(name: "t", url: "http://localhost:\(TestServer.shared.port("http"))/")
        let auto = await prober.probe(target)
        #expect(auto.success)
        #expect(auto.ip?.family == 4)
        target.ipProtocol = .ip6
        let v6 = await prober.probe(target)
        #expect(v6.ip?.family == 6 || v6.failure?.reason == .connectRefused || v6.failure?.reason == .dnsNXDomain)
        #expect(!v6.success)
    }
}
