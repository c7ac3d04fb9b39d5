@testable import Agent
import Foundation
import PhaseWatchCore
import TestSupport
import Testing

/// `/metrics` in the formats a scraper can ask for, chosen from its `Accept` header.
struct ExpositionFormatTests {
    @Test(arguments: [
        // Prometheus 2.x's header by default: OpenMetrics first.
        ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
         ExpositionFormat.openMetrics),
        ("text/plain;version=0.0.4;q=0.5,*/*;q=0.1", .text),
        ("*/*", .text),
        ("", .text),
        ("application/json", .text),
        ("application/openmetrics-text; version=1.0.0; q=0", .text),
        ("text/plain;q=0.9, application/openmetrics-text;q=0.5", .text),
        ("APPLICATION/OpenMetrics-Text", .openMetrics),
        // Prometheus with native histograms on: protobuf first.
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
         .protobuf),
        // Protobuf as text, or another message: not what the agent writes.
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text,text/plain;q=0.5", .text),
        ("application/vnd.google.protobuf;proto=other.Message;encoding=delimited", .text),
    ])
    func negotiation(accept: String, format: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == format)
    }

    @Test func noAcceptHeaderIsText() {
        #expect(ExpositionFormat.negotiate(accept: nil) == .text)
    }

    /// OpenMetrics through a strict parser, with an exemplar on each duration bucket that a
    /// successful probe fell in: the most recent probe's trace id, value and start time.
    @Test(.requires(.prometheusClient)) func openMetricsIsValidAndCarriesTraceIdExemplars() async throws {
        var api = Target(name: "api", url: "https://example.test/")
        api.slo = SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(300), objective: 0.99))
        let metrics = AgentMetrics(location: "eu-1")
        metrics.configure([api, Target(name: "web", url: "http://example.test/")], options: .everything)
        let probes = MetricsExpositionTests()
        var fast = probes.result("api", success: true)  // 84 ms: the 0.25 bucket
        fast.traceId = "0af7651916cd43dd8448eb211c80319c"
        var slow = probes.result("api", success: true)
        slow.duration = 0.4  // the 1 s bucket
        slow.traceId = "11111111111111111111111111111111"
        var latest = probes.result("api", success: true)
        latest.traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
        latest.startedAt = Date(timeIntervalSince1970: 1_765_000_000.25)
        for r in [fast, slow, latest, probes.result("api", success: false)] { metrics.observe(r) }

        let text = try await metrics.render(format: .openMetrics)
        #expect(text.hasSuffix("# EOF\n"))
        #expect(text.contains("# TYPE phasewatch_probes counter\n"))
        #expect(text.contains("# UNIT phasewatch_probe_duration_seconds seconds\n"))
        #expect(text.contains("# TYPE phasewatch_scheduler_skipped_runs counter\n"), "the registry's counters too")
        #expect(text.contains(#"phasewatch_probe_duration_seconds_bucket{target="api",location="eu-1",le="0.25"} 2 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.084 1765000000.25"#))
        let check = try Promtool.checkOpenMetrics(text)
        #expect(check.status == 0, "\(check.output)\n\(text)")
        let exemplars = check.output.split(separator: "\n").filter { $0.hasPrefix("phasewatch_probe_duration_seconds ") }
        #expect(exemplars.map { $0.split(separator: " ")[2...3].joined(separator: " ") }.sorted() == [
            "0.25 4bf92f3577b34da6a3ce929d0e0e4736", "1.0 11111111111111111111111111111111",
        ], "\(check.output)")

        // The text format has no exemplars, and the same sample lines.
        let plain = try await metrics.render()
        #expect(!plain.contains("trace_id"))
        #expect(plain.contains(#"phasewatch_probe_duration_seconds_bucket{target="api",location="eu-1",le="0.25"} 2"# + "\n"))
    }
}
