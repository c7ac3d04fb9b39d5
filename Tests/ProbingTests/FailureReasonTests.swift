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

    @Test func insecureAcceptsBadCertificatesButReportsThem() async {
        var target = TestServer.httpsTarget("expired")
        target.tls.insecureSkipVerify = true
        let r = await prober.probe(target)
        #expect(r.success, "\(String(describing: r.failure))")
        #expect(r.tls?.certNotAfter.map { $0 < Date() } == true)
    }
}
