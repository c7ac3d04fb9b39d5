@testable import Agent
import Foundation
import PhaseWatchCore
import Storage
import Testing

/// The cardinality budget of docs/metrics.md: with default settings, an HTTPS target with an
/// availability and a latency SLO costs at most 52 series. The count is exact, family by family,
/// so a change that adds a series per target fails here and must say so in the docs.
struct SeriesBudgetTests {
    /// What docs/metrics.md ("Cardinality") says each family costs such a target by default,
    /// after successes and one kind of failure.
    static let expected: [String: Int] = [
        "probe_success": 1, "probe_duration_seconds": 1, "probe_http_duration_seconds": 5, "probe_http_status_code": 1,
        "probe_http_version": 1, "probe_http_redirects": 1, "probe_http_content_length": 1, "probe_http_ssl": 1,
        "probe_ssl_earliest_cert_expiry": 1, "probe_ssl_last_chain_expiry_timestamp_seconds": 1, "probe_tls_version_info": 1,
        "probe_tls_cipher_info": 1, "probe_ip_protocol": 1, "probe_failed_due_to_regex": 1, "probe_dns_lookup_time_seconds": 1,
        "phasewatch_probes_total": 2, "phasewatch_probe_failures_total": 1,
        // 5 default buckets, the SLO threshold (300 ms), +Inf, _sum, _count.
        "phasewatch_probe_duration_seconds": 9,
        "phasewatch_target_state": 4, "phasewatch_target_info": 1,
        // Per SLO: objective, SLI over the SLO window, burn rate over 1h and 6h, budget
        // remaining, the two page alerts, the coverage of the SLO window.
        "phasewatch_slo_objective_ratio": 2, "phasewatch_sli_ratio": 2, "phasewatch_slo_burn_rate": 4,
        "phasewatch_slo_error_budget_remaining_ratio": 2, "phasewatch_slo_alert_firing": 4, "phasewatch_slo_coverage_ratio": 2,
    ]

    @Test func defaultSettingsCostAtMostFiftyTwoSeriesPerTarget() async throws {
        var api = Target(name: "api", url: "https://example.test/", interval: .seconds(15))
        api.slo = SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(300), objective: 0.99))
        let metrics = AgentMetrics(location: "eu-1")
        metrics.configure([api])
        let probes = MetricsExpositionTests()
        for _ in 0..<9 { metrics.observe(probes.result("api", success: true)) }
        metrics.observe(probes.result("api", success: false))

        var summary = WindowSummary(total: 10, success: 9, goodLatency: 9, failuresByPhase: [.tls: 1])
        for _ in 0..<9 { summary.duration.add(0.084) }
        let windows = SLIWindows.all(sloWindow: api.slo!.window)
        let summaries = Dictionary(uniqueKeysWithValues: windows.map { ($0, summary) })
        // Configured and observed for an hour: the coverage is known.
        let hour: Int64 = 3_600_000_000
        let slo = TargetSLO(target: "api", slos: SLOStatus.all(for: api, summaries: summaries, observation: (hour, hour)), latency: [])
        let snapshot = try SLOSnapshot(asOf: Date(), generation: 1, order: ["api"], targets: ["api": slo])

        let text = try await metrics.render(slo: snapshot)
        var counted: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.contains(#"target="api""#) {
            let name = String(line.prefix { $0 != "{" })
            let family = ["_bucket", "_sum", "_count"].reduce(name) { n, suffix in
                n.hasSuffix(suffix) && n.hasPrefix("phasewatch_probe_duration_seconds") ? String(n.dropLast(suffix.count)) : n
            }
            counted[family, default: 0] += 1
        }
        let total = counted.values.reduce(0, +)
        #expect(counted == Self.expected, "added: \(counted.filter { Self.expected[$0.key] != $0.value })")
        #expect(total <= 52, "\(total) series per target")
    }
}
