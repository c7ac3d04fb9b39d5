import Foundation
import PhaseWatchCore
import Probing
import TestSupport
import Testing

/// Every failure reason that can be produced on loopback, with the phase it must name.
struct FailureReasonTests {
    let prober = Prober()

    private func expectFailure(
        _ target: Target, _ phase: Phase, _ reason: FailureReason, sourceLocation: SourceLocation = #_sourceLocation
    ) async -> ProbeResult {
        let result = await prober.probe(target)
        #expect(!result.success, sourceLocation: sourceLocation)
        #expect(result.failure?.phase == phase, "\(String(describing: result.failure))", sourceLocation: sourceLocation)
        #expect(result.failure?.reason == reason, "\(String(describing: result.failure))", sourceLocation: sourceLocation)
        #expect(result.failure?.message.isEmpty == false, sourceLocation: sourceLocation)
        return result
    }

    private func short(_ target: Target, connect: Duration = .seconds(5), tls: Duration = .seconds(5),
                       firstByte: Duration = .seconds(5), total: Duration = .seconds(5)) -> Target {
        var t = target
        t.timeouts = Timeouts(connect: connect, tls: tls, firstByte: firstByte, total: total)
        return t
    }

    @Test func unknownHost() async {
        // An empty label is refused by the resolver without sending a query anywhere.
        let r = await expectFailure(Target(name: "t", url: "http://nxdomain..invalid/"), .resolve, .dnsNXDomain)
        #expect(r.phases.connect == nil)
    }

    @Test func connectionRefused() async {
        let r = await expectFailure(Target(name: "t", url: "http://127.0.0.1:\(TestServer.closedPort())/"), .connect, .connectRefused)
        #expect(r.phases.resolve != nil)
        #expect(r.phases.processing == nil)
    }

    @Test func connectTimeout() async {
        let target = short(Target(name: "t", url: "http://127.0.0.1:\(TestServer.shared.port("backlog"))/"), connect: .milliseconds(300))
        let r = await expectFailure(target, .connect, .connectTimeout)
        #expect(r.duration >= 0.3 && r.duration < 0.5, "\(r.duration)")
    }

    @Test func tlsTimeout() async {
        var target = short(Target(name: "t", url: "https://127.0.0.1:\(TestServer.shared.port("blackhole"))/"), tls: .milliseconds(300))
        target.tls.insecureSkipVerify = true
        let r = await expectFailure(target, .tls, .tlsTimeout)
        #expect(r.duration >= 0.3 && r.duration < 0.5, "\(r.duration)")
        #expect(abs((r.phases.tls ?? 0) - 0.3) < 0.05, "\(r.phases)")
    }

    @Test func firstByteTimeout() async {
        let r = await expectFailure(short(Target(name: "t", url: TestServer.http("/hang")), firstByte: .milliseconds(300)),
                                    .processing, .firstByteTimeout)
        #expect(r.duration >= 0.3 && r.duration < 0.5, "\(r.duration)")
        #expect(r.phases.transfer == nil)
    }

    @Test func transferTimeout() async {
        let r = await expectFailure(short(Target(name: "t", url: TestServer.http("/?transfer=3")), total: .milliseconds(400)),
                                    .transfer, .transferTimeout)
        #expect(r.http?.status == 200)
        #expect(r.duration >= 0.4 && r.duration < 0.6, "\(r.duration)")
    }

    @Test func totalTimeout() async {
        // Each phase is within its own limit, but together they exceed the total.
        let target = short(TestServer.httpsTarget("tlsdelay", "/?processing=0.3"), firstByte: .seconds(1), total: .milliseconds(250))
        _ = await expectFailure(target, .processing, .totalTimeout)
    }

    @Test func connectionReset() async {
        _ = await expectFailure(Target(name: "t", url: TestServer.http("/reset")), .transfer, .connectionReset)
    }

    @Test func emptyReply() async {
        _ = await expectFailure(Target(name: "t", url: TestServer.http("/empty")), .processing, .emptyReply)
    }

    @Test func invalidHTTP() async {
        _ = await expectFailure(Target(name: "t", url: TestServer.http("/garbage")), .processing, .httpProtocolError)
    }

    @Test func redirectLoop() async {
        let r = await expectFailure(Target(name: "t", url: TestServer.http("/loop")), .processing, .tooManyRedirects)
        #expect(r.failure?.message.contains("10") == true, "\(String(describing: r.failure))")
    }

    @Test func bodyTooLarge() async {
        var target = Target(name: "t", url: TestServer.http("/endless"))
        target.bodyLimit = 256 * 1024
        let r = await expectFailure(target, .transfer, .bodyTooLarge)
        #expect(r.http?.bodyBytes ?? 0 > 256 * 1024)
    }

    @Test func expiredCertificate() async {
        let r = await expectFailure(TestServer.httpsTarget("expired"), .tls, .certExpired)
        #expect(r.failure?.message.hasPrefix("certificate expired 20") == true, "\(String(describing: r.failure))")
        #expect(r.tls?.certNotAfter.map { $0 < Date() } == true)
    }

    @Test func notYetValidCertificate() async {
        _ = await expectFailure(TestServer.httpsTarget("notyet"), .tls, .certNotYetValid)
    }

    @Test func selfSignedCertificate() async {
        let r = await expectFailure(TestServer.httpsTarget("selfsigned"), .tls, .certUntrusted)
        #expect(r.failure?.message.contains("self-signed") == true, "\(String(describing: r.failure))")
    }

    @Test func wrongHostCertificate() async {
        let r = await expectFailure(TestServer.httpsTarget("wronghost"), .tls, .certHostnameMismatch)
        #expect(r.failure?.message.contains("wrong.example") == true, "\(String(describing: r.failure))")
    }

    @Test func tlsToPlainPort() async {
        var target = Target(name: "t", url: "https://127.0.0.1:\(TestServer.shared.port("http"))/")
        target.tls.insecureSkipVerify = true
        _ = await expectFailure(target, .tls, .tlsHandshakeError)
    }

    @Test func plainToTLSPort() async {
        // The TLS server reads the request as a broken ClientHello and hangs up without a word.
        _ = await expectFailure(Target(name: "t", url: "http://127.0.0.1:\(TestServer.shared.port("https"))/"), .processing, .emptyReply)
    }

    // MARK: hostile servers (docs/probing.md, "Hostile targets")

    /// The phases of a failed probe add up to its duration: the failing phase gets the rest.
    private func expectPhasesAddUp(_ r: ProbeResult, sourceLocation: SourceLocation = #_sourceLocation) {
        let sum = Phase.network.compactMap { r.phases[$0] }.reduce(0, +)
        #expect(abs(sum - r.duration) < 0.001, "phases \(r.phases) vs duration \(r.duration)", sourceLocation: sourceLocation)
    }

    @Test func slowlorisHeaders() async {
        // The first byte comes at once, then one byte every 200 ms: the first-byte limit is met
        // (curl saw the byte), the response never completes, and the total limit ends it in transfer.
        let target = short(Target(name: "t", url: TestServer.http("/trickle?every=0.2")), firstByte: .milliseconds(300),
                           total: .milliseconds(900))
        let r = await expectFailure(target, .transfer, .transferTimeout)
        #expect(r.duration >= 0.9 && r.duration < 1.1, "\(r.duration)")
        #expect((r.phases.processing ?? 1) < 0.1, "\(r.phases)")
        #expect(r.http == nil)  // no status line was ever complete
        expectPhasesAddUp(r)
    }

    @Test func slowlorisHeadersWithOnlyATotalLimit() async {
        // Without a first-byte limit of its own (= total) the result is the same.
        let r = await expectFailure(short(Target(name: "t", url: TestServer.http("/trickle?every=0.2")), total: .milliseconds(600)),
                                    .transfer, .transferTimeout)
        #expect(r.duration >= 0.6 && r.duration < 0.8, "\(r.duration)")
        expectPhasesAddUp(r)
    }

    @Test func gigabyteBodyStopsAtTheLimit() async {
        let r = await expectFailure(Target(name: "t", url: TestServer.http("/big?size=\(1 << 30)")), .transfer, .bodyTooLarge)
        #expect(r.http?.contentLength == 1 << 30)
        #expect((r.http?.bodyBytes ?? 0) > 1 << 20 && (r.http?.bodyBytes ?? .max) <= (1 << 20) + 64 * 1024, "\(String(describing: r.http))")
        #expect(r.duration < 1, "\(r.duration)")
        expectPhasesAddUp(r)
    }

    @Test func endlessBodyStopsAtTheDefaultLimitFast() async {
        let r = await expectFailure(Target(name: "t", url: TestServer.http("/endless")), .transfer, .bodyTooLarge)
        #expect((r.http?.bodyBytes ?? .max) <= (1 << 20) + 64 * 1024)
        #expect(r.duration < 1, "\(r.duration)")
    }

    @Test func endlessSlowBody() async {
        let r = await expectFailure(short(Target(name: "t", url: TestServer.http("/drip?every=0.1")), total: .milliseconds(500)),
                                    .transfer, .transferTimeout)
        #expect(r.http?.status == 200)
        #expect((r.http?.bodyBytes ?? 0) >= 1024)
        #expect(r.duration >= 0.5 && r.duration < 0.7, "\(r.duration)")
        expectPhasesAddUp(r)
    }

    @Test func fiftyRedirects() async {
        let r = await expectFailure(Target(name: "t", url: TestServer.http("/redirect/50")), .processing, .tooManyRedirects)
        #expect(r.http?.redirects == 10)
        #expect(r.duration < 1, "\(r.duration)")
        expectPhasesAddUp(r)
    }

    @Test func acceptAndNeverAnswer() async {
        // Plain HTTP to a port that accepts and never reads nor writes.
        let target = short(Target(name: "t", url: "http://127.0.0.1:\(TestServer.shared.port("blackhole"))/"), firstByte: .milliseconds(300))
        let r = await expectFailure(target, .processing, .firstByteTimeout)
        #expect(r.duration >= 0.3 && r.duration < 0.5, "\(r.duration)")
        expectPhasesAddUp(r)
    }

    @Test func onlyATotalLimitNamesTheSameReasonEveryTime() async {
        // An unset phase limit equals the total but starts later: the total always runs out first,
        // however late the loop wakes up. (Before, the reason flipped between the two.)
        var hang = Target(name: "t", url: TestServer.http("/hang"))
        hang.timeouts = Timeouts(total: .milliseconds(300))
        var tls = Target(name: "t", url: "https://127.0.0.1:\(TestServer.shared.port("blackhole"))/")
        tls.timeouts = Timeouts(total: .milliseconds(300))
        tls.tls.insecureSkipVerify = true
        var backlog = Target(name: "t", url: "http://127.0.0.1:\(TestServer.shared.port("backlog"))/")
        backlog.timeouts = Timeouts(total: .milliseconds(300))  // connect starts with the probe: a tie, connect wins
        let cases: [(Target, Phase, FailureReason)] = [
            (hang, .processing, .totalTimeout), (tls, .tls, .totalTimeout), (backlog, .connect, .connectTimeout),
        ]
        for (target, phase, reason) in cases {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let r = await expectFailure(target, phase, reason)
                        #expect(r.duration >= 0.3 && r.duration < 0.5, "\(r.duration)")
                    }
                }
            }
        }
    }

    @Test func invalidHTTPPhasesAddUp() async {
        expectPhasesAddUp(await expectFailure(Target(name: "t", url: TestServer.http("/garbage")), .processing, .httpProtocolError))
    }

    // MARK: hostile answers that are the server's fault, not the network's (issue 20)

    /// Retries allowed, so a reason wrongly marked retryable shows as a second attempt.
    private func withRetries(_ target: Target) -> Target {
        var t = target
        t.retries = RetryPolicy(attempts: 2, backoff: .milliseconds(1))
        return t
    }

    @Test(arguments: ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/x"])
    func redirectToAnotherSchemeIsRefused(location: String) async {
        let query = "status=302&location=" + location.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let r = await expectFailure(withRetries(Target(name: "t", url: TestServer.http("/?" + query))), .processing, .redirectRefused)
        #expect(r.attempts == 1)
        #expect(r.http?.status == 302)
        #expect(r.failure?.message.contains("127.0.0.1") == false && r.failure?.message.contains("passwd") == false,
                "the Location is the server's text: \(String(describing: r.failure))")
        expectPhasesAddUp(r)
    }

    @Test func redirectToAMalformedURLIsRefused() async {
        let r = await expectFailure(withRetries(Target(name: "t", url: TestServer.http("/?status=302&location=http%3A%2F%2F127.0.0.1%3A99999%2F"))),
                                    .processing, .redirectRefused)
        #expect(r.attempts == 1)
    }

    @Test func aHundredThousandResponseHeaders() async {
        let r = await expectFailure(withRetries(Target(name: "t", url: TestServer.http("/manyheaders?count=100000"))),
                                    .transfer, .responseHeadersTooLarge)
        #expect(r.attempts == 1)
        expectPhasesAddUp(r)
    }

    @Test(arguments: ["/bigheader", "/bigheader?status=302&name=Location"])
    func aMegabyteResponseHeader(path: String) async {
        let r = await expectFailure(withRetries(Target(name: "t", url: TestServer.http(path))), .transfer, .responseHeadersTooLarge)
        #expect(r.attempts == 1)
        #expect(r.failure?.message.contains("xxx") == false, "\(String(describing: r.failure))")
        expectPhasesAddUp(r)
    }

    @Test func clientCertificateRequiredButNoneSent() async {
        // TLS 1.3: the server's "certificate required" alert arrives at the first read, after the
        // client's side of the handshake has finished.
        let r = await expectFailure(withRetries(TestServer.httpsTarget("mtlsrequired")), .tls, .clientCertificateRejected)
        #expect(r.attempts == 1)
        #expect(r.tls?.version == "TLS 1.3")
        #expect(r.failure?.message.contains("certificate required") == true, "\(String(describing: r.failure))")
        expectPhasesAddUp(r)
    }

    @Test func clientCertificateFromAnotherCA() async {
        var target = TestServer.httpsTarget("mtlsrequired")
        target.tls.certFile = Certs.path("server.pem")
        target.tls.keyFile = Certs.path("server.key")
        let r = await expectFailure(target, .tls, .clientCertificateRejected)
        #expect(r.failure?.message.contains("unknown CA") == true, "\(String(describing: r.failure))")
        expectPhasesAddUp(r)

        target.tls.certFile = Certs.path("client1.pem")
        target.tls.keyFile = Certs.path("client1.key")
        let accepted = await prober.probe(target)
        #expect(accepted.success, "\(String(describing: accepted.failure))")
    }

    @Test func insecureAcceptsBadCertificatesButReportsThem() async {
        var target = TestServer.httpsTarget("expired")
        target.tls.insecureSkipVerify = true
        let r = await prober.probe(target)
        #expect(r.success, "\(String(describing: r.failure))")
        #expect(r.tls?.certNotAfter.map { $0 < Date() } == true)
    }
}
