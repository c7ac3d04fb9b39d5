import Foundation
import PhaseWatchCore
import Probing
import TestSupport
import Testing

/// `expect` checks: a response that arrived but is not what the target wants fails in `assert`.
struct AssertionTests {
    let prober = Prober()

    private func check(_ url: String, _ change: (inout Expectations) -> Void) async -> ProbeResult {
        var target = Target(name: "t", url: url)
        change(&target.expect)
        return await prober.probe(target)
    }

    @Test func statusDefaultsTo2xx() async {
        let r = await check(TestServer.http("/?status=404")) { _ in }
        #expect(r.failure == Failure(phase: .assert, reason: .status, message: "status 404, expected 2xx"))
        #expect(r.http?.status == 404)
        let ok = await check(TestServer.http("/?status=404")) { $0.status = [.code(404), .class(2)] }
        #expect(ok.success)
    }

    @Test func bodyRegexBothWays() async {
        let match = await check(TestServer.http("/?body=all%20systems%20ok")) { $0.bodyMatches = "systems\\s+ok$" }
        #expect(match.success)
        let miss = await check(TestServer.http("/?body=degraded")) { $0.bodyMatches = "ok" }
        #expect(miss.failure?.reason == .bodyMatches)
        let forbidden = await check(TestServer.http("/?body=internal%20error")) { $0.bodyNotMatches = "error" }
        #expect(forbidden.failure?.reason == .bodyNotMatches)
        #expect(forbidden.failure?.phase == .assert)
    }

    @Test func headerRegex() async {
        let url = TestServer.http("/?header=Content-Type:text/plain")
        let ok = await check(url) { $0.headers = [Header(name: "content-type", value: "^text/")] }
        #expect(ok.success, "\(String(describing: ok.failure))")
        let bad = await check(url) { $0.headers = [Header(name: "Content-Type", value: "^application/json")] }
        #expect(bad.failure?.reason == .header)
        let absent = await check(url) { $0.headers = [Header(name: "X-Missing", value: ".")] }
        #expect(absent.failure?.message.contains("absent") == true)
    }

    @Test func tlsRequired() async {
        let r = await check(TestServer.http("/")) { $0.tls = true }
        #expect(r.failure?.reason == .notTLS)
        var target = TestServer.httpsTarget()
        target.expect.tls = true
        #expect(await prober.probe(target).success)
    }

    @Test func certificateMinimumDays() async {
        var target = TestServer.httpsTarget("expiring")
        target.expect.certMinDays = 14
        let r = await prober.probe(target)
        #expect(r.failure?.reason == .certExpiring, "\(String(describing: r.failure))")
        target = TestServer.httpsTarget("https")
        target.expect.certMinDays = 14
        #expect(await prober.probe(target).success)
    }

    @Test func maxDuration() async {
        let slow = await check(TestServer.http("/?processing=0.1")) { $0.maxDuration = .milliseconds(50) }
        #expect(slow.failure?.reason == .tooSlow)
        #expect(slow.failure?.phase == .assert)
        let fast = await check(TestServer.http("/")) { $0.maxDuration = .seconds(2) }
        #expect(fast.success)
    }
}
