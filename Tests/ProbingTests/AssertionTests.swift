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

    /// The server's header value is named, never copied into the failure message (it is
    /// stored and shown on the API and the status page).
    @Test func headerFailureNeverQuotesTheValue() async {
        let url = TestServer.http("/?header=X-Secret:s3cr3t-session-token")
        let bad = await check(url) { $0.headers = [Header(name: "X-Secret", value: "^nope$")] }
        #expect(bad.failure?.reason == .header)
        #expect(bad.failure?.message == "header X-Secret present, no value matches, expected /^nope$/")
        #expect(bad.failure?.message.contains("s3cr3t") == false)
    }

    /// A pattern that backtracks without end stops at the time limit as `assert/regex_timeout`,
    /// off the curl loop's thread: probes of other targets running meanwhile are not held up.
    @Test func catastrophicRegexTimesOutWithoutHoldingOtherProbes() async throws {
        let bomb = TestServer.http("/?body=" + String(repeating: "a", count: 31))
        async let others: [Duration] = withTaskGroup(of: Duration.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(10 * i))
                    let started = ContinuousClock.now
                    _ = await prober.probe(Target(name: "other-\(i)", url: TestServer.http("/")))
                    return ContinuousClock.now - started
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let started = ContinuousClock.now
        let results = await withTaskGroup(of: ProbeResult.self) { group in
            for _ in 0..<4 {
                group.addTask { await check(bomb) { $0.bodyMatches = "(.*a){15}b" } }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let bombs = ContinuousClock.now - started
        for r in results {
            #expect(r.failure?.phase == .assert)
            #expect(r.failure?.reason == .regexTimeout, "\(String(describing: r.failure))")
            #expect(r.failure?.message == "/(.*a){15}b/ on the body exceeded the regex time limit")
            #expect(r.duration < 0.5, "the regex's time is part of no phase: \(r.duration) s")
        }
        // Unlimited, this pattern takes seconds on 31 bytes; with the limit each probe ends fast.
        #expect(bombs < .seconds(2), "\(bombs)")
        let slowest = try #require(await others.max())
        #expect(slowest < .milliseconds(500), "a probe of another target took \(slowest) while regexes ran")
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
