@testable import Agent
import Foundation
import PhaseWatchCore
import TestSupport
import Testing

/// `phasewatch_probe_attempts_total{result}` (docs/metrics.md): only for targets with `retries`,
/// from the reload that gives them retries to the one that takes them away; the three results
/// add up to the probes counted meanwhile.
struct AttemptCountersTests {
    static func sample(_ text: String, _ result: String) -> String? {
        let prefix = #"phasewatch_probe_attempts_total{target="api",location="eu-1",result="\#(result)"} "#
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    @Test func familyFollowsRetriesAcrossReloads() async throws {
        var api = Target(name: "api", url: "https://example.test/")
        let metrics = AgentMetrics(location: "eu-1")
        metrics.configure([api])
        let probes = MetricsExpositionTests()
        metrics.observe(probes.result("api", success: true))
        #expect(!(try await metrics.render()).contains("phasewatch_probe_attempts_total"))

        api.retries = RetryPolicy(attempts: 2)
        metrics.configure([api])
        var text = try await metrics.render()
        #expect(["first_success", "retry_success", "failure"].map { Self.sample(text, $0) } == ["0", "0", "0"])
        var retried = probes.result("api", success: true)
        retried.attempts = 3
        var failedTwice = probes.result("api", success: false)
        failedTwice.attempts = 3
        for result in [probes.result("api", success: true), retried, retried, failedTwice] { metrics.observe(result) }
        text = try await metrics.render()
        #expect(["first_success", "retry_success", "failure"].map { Self.sample(text, $0) } == ["1", "2", "1"])
        #expect(text.contains("# TYPE phasewatch_probe_attempts_total counter"))
        let check = try Promtool.checkMetrics(text)
        #expect(check.status == 0, "\(check.output)")

        // A reload that keeps the retries keeps counting; one that drops them drops the family.
        api.retries = RetryPolicy(attempts: 1)
        metrics.configure([api])
        #expect(Self.sample(try await metrics.render(), "retry_success") == "2")
        api.retries = RetryPolicy()
        metrics.configure([api])
        #expect(!(try await metrics.render()).contains("phasewatch_probe_attempts_total"))
    }
}
