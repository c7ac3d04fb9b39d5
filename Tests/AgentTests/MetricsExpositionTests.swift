@testable import Agent
import Foundation
import NIOCore
import PhaseWatchCore
import TestSupport
import Testing

/// `/metrics` text from real probe results, checked by promtool.
struct MetricsExpositionTests {
    func result(_ target: String, success: Bool, tls: Bool = true) -> ProbeResult {
        ProbeResult(
            target: target, url: "https://example.test/", startedAt: Date(), success: success,
            failure: success ? nil : Failure(phase: .tls, reason: .certExpired, message: "certificate expired 2026-11-01"),
            phases: Phases(resolve: 0.001, connect: 0.002, tls: 0.03, processing: success ? 0.05 : nil, transfer: success ? 0.001 : nil),
            duration: success ? 0.084 : 0.033,
            http: success ? HTTPFacts(status: 200, version: "2", redirects: 1, contentLength: 2, bodyBytes: 2) : nil,
            tls: tls ? TLSFacts(version: "TLS 1.3", cipher: "TLS_AES_128_GCM_SHA256", alpn: "h2",
                                certNotAfter: Date(timeIntervalSince1970: 1_900_000_000),
                                chainExpiry: Date(timeIntervalSince1970: 1_890_000_000)) : nil,
            ip: IPFacts(address: "127.0.0.1", family: 4), traceId: "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test(.requires(.promtool)) func passesPromtoolAndHasEveryFamily() async throws {
        let metrics = AgentMetrics(location: "eu-1")
        var api = Target(name: "api", url: "https://user:secret@example.test/a\"b\\c", interval: .seconds(15))
        api.slo = SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(300), objective: 0.99))
        metrics.configure([api, Target(name: "web", url: "http://example.test/")], options: .everything)
        metrics.observe(result("api", success: true))
        metrics.observe(result("api", success: false))
        metrics.observe(result("web", success: true, tls: false))
        metrics.agent.schedulerLag.record(0.0004)
        let text = try await metrics.render()

        let check = try Promtool.checkMetrics(text)
        #expect(check.status == 0, "promtool: \(check.output)\n\(text)")

        for family in [
            "probe_success", "probe_duration_seconds", "probe_http_duration_seconds", "probe_http_status_code",
            "probe_http_version", "probe_http_redirects", "probe_http_content_length", "probe_http_ssl",
            "probe_ssl_earliest_cert_expiry", "probe_ssl_last_chain_expiry_timestamp_seconds", "probe_tls_version_info",
            "probe_tls_cipher_info", "probe_ip_protocol", "probe_failed_due_to_regex", "probe_dns_lookup_time_seconds",
            "phasewatch_probes_total", "phasewatch_probe_failures_total", "phasewatch_probe_phase_duration_seconds_bucket",
            "phasewatch_probe_duration_seconds_bucket", "phasewatch_target_info", "phasewatch_build_info",
            "phasewatch_scheduler_lag_seconds_bucket", "phasewatch_storage_write_seconds_bucket",
            "phasewatch_config_last_reload_successful",
        ] {
            #expect(text.contains("\n\(family){") || text.hasPrefix("\(family){"), "\(family) missing")
        }
        #expect(text.contains(#"probe_success{target="api",location="eu-1"} 0"#))
        #expect(text.contains(#"phasewatch_probes_total{target="api",location="eu-1",result="failure"} 1"#))
        #expect(text.contains(#"phasewatch_probe_failures_total{target="api",location="eu-1",phase="tls",reason="cert_expired"} 1"#))
        #expect(text.contains(#"probe_http_duration_seconds{target="web",location="eu-1",phase="tls"} 0"#))
        // The latency-SLO threshold is a bucket boundary, so Prometheus gets the latency SLI exactly.
        #expect(text.contains(#"phasewatch_probe_duration_seconds_bucket{target="api",location="eu-1",le="0.3"} 1"#))
        // Label values are escaped, and credentials in URLs never leave the agent.
        #expect(text.contains(#"url="https://***@example.test/a\"b\\c""#))
        #expect(!text.contains("secret"))
    }

    /// `connection: both` (docs/metrics.md#connections): the histograms have a `connection`
    /// label, one set per kind; the last-probe gauges follow the kind the SLOs judge; a fresh
    /// target's series are unchanged.
    @Test(.requires(.promtool)) func connectionLabelOnlyForTargetsThatReuse() async throws {
        let metrics = AgentMetrics(location: "eu-1")
        var both = Target(name: "both", url: "https://example.test/")
        both.connection = .both
        metrics.configure([both, Target(name: "plain", url: "https://example.test/")], options: .everything)
        var cold = result("both", success: true)
        cold.connection = .fresh
        var warm = result("both", success: false)
        warm.connection = .reused
        warm.phases = Phases(processing: 0.02)
        metrics.observe(cold)
        metrics.observe(warm)
        metrics.observe(result("plain", success: true))
        let text = try await metrics.render()
        #expect(try Promtool.checkMetrics(text).status == 0)
        #expect(text.contains(#"phasewatch_probe_duration_seconds_count{target="both",location="eu-1",connection="fresh"} 1"#), "\(text)")
        #expect(text.contains(#"phasewatch_probe_duration_seconds_count{target="both",location="eu-1",connection="reused"} 0"#))
        #expect(text.contains(#"phasewatch_probe_phase_duration_seconds_count{target="both",location="eu-1",connection="reused",phase="tls"} 0"#))
        #expect(text.contains(#"phasewatch_probe_phase_duration_seconds_count{target="both",location="eu-1",connection="reused",phase="processing"} 1"#))
        #expect(text.contains(#"phasewatch_probe_phase_duration_seconds_count{target="both",location="eu-1",connection="fresh",phase="tls"} 1"#))
        // The gauges show the cold request (slo.connection's default), not the warm one after it.
        #expect(text.contains(#"probe_success{target="both",location="eu-1"} 1"#))
        #expect(!text.contains(#"target="plain",location="eu-1",connection"#))
        #expect(text.contains(#"phasewatch_probe_duration_seconds_count{target="plain",location="eu-1"} 1"#))
    }

    /// `phasewatch_connection_lifetime_seconds` of a `connection: reuse` target: each kept
    /// connection counted once it is gone, at the age of the last request sent on it.
    @Test(.requires(.promtool)) func connectionLifetimesOfAReuseTarget() async throws {
        let metrics = AgentMetrics(location: "eu-1")
        var reuse = Target(name: "reuse", url: "https://example.test/")
        reuse.connection = .reuse
        metrics.configure([reuse, Target(name: "plain", url: "https://example.test/")])
        func request(reused: Bool, age: Double? = nil, success: Bool = true) -> ProbeResult {
            var r = result("reuse", success: success)
            r.connection = .reused
            r.connectionReused = reused
            r.connectionAge = age
            return r
        }
        // Opened, reused at 20 s and 40 s, found gone (idle): one connection of 40 s. Opened
        // again, reused at 3 s and failed there (curl drops it): one of 3 s. Opened again: kept.
        for r in [request(reused: false), request(reused: true, age: 20), request(reused: true, age: 40), request(reused: false),
                  request(reused: true, age: 3, success: false), request(reused: false), request(reused: true, age: 7)] {
            metrics.observe(r)
        }
        metrics.observe(result("plain", success: true))
        let text = try await metrics.render()
        #expect(try Promtool.checkMetrics(text).status == 0)
        #expect(text.contains(#"phasewatch_connection_lifetime_seconds_count{target="reuse",location="eu-1"} 2"#), "\(text)")
        #expect(text.contains(#"phasewatch_connection_lifetime_seconds_sum{target="reuse",location="eu-1"} 43"#))
        #expect(text.contains(#"phasewatch_connection_lifetime_seconds_bucket{target="reuse",location="eu-1",le="5.0"} 1"#))
        #expect(text.contains(#"phasewatch_connection_lifetime_seconds_bucket{target="reuse",location="eu-1",le="60.0"} 2"#))
        #expect(!text.contains(#"phasewatch_connection_lifetime_seconds_count{target="plain""#))
    }

    @Test func removedTargetsLoseTheirSeries() async throws {
        let metrics = AgentMetrics(location: "local")
        metrics.configure([Target(name: "a", url: "http://x/"), Target(name: "b", url: "http://y/")])
        metrics.observe(result("a", success: true))
        metrics.observe(result("b", success: true))
        metrics.configure([Target(name: "a", url: "http://x/")])
        let text = try await metrics.render()
        #expect(text.contains(#"target="a""#))
        #expect(!text.contains(#"target="b""#))
    }

    @Test func aChangedTLSVersionReplacesItsInfoSeries() async throws {
        let metrics = AgentMetrics(location: "local")
        metrics.configure([Target(name: "a", url: "https://x/")])
        metrics.observe(result("a", success: true))
        var newer = result("a", success: true)
        newer.tls?.version = "TLS 1.2"
        metrics.observe(newer)
        let text = try await metrics.render()
        #expect(text.contains(#"probe_tls_version_info{target="a",location="local",version="TLS 1.2"} 1"#))
        #expect(!text.contains(#"version="TLS 1.3""#))
    }

    /// Hundreds of targets: the text comes in several chunks, every family once, promtool passes.
    @Test(.requires(.promtool)) func manyTargetsStreamInChunksWithEveryFamilyOnce() async throws {
        let metrics = AgentMetrics(location: "local")
        let targets = (0..<600).map { Target(name: "t\($0)", url: "https://example.test/\($0)") }
        metrics.configure(targets)
        for target in targets { metrics.observe(result(target.name, success: target.name.hasSuffix("7") == false)) }
        var chunks: [Int] = []
        var text = ""
        try await metrics.write(slo: nil) { buffer in
            chunks.append(buffer.readableBytes)
            text += String(buffer: buffer)
        }
        #expect(chunks.count > 4, "\(chunks)")
        #expect(chunks.dropLast().allSatisfy { $0 >= AgentMetrics.chunkBytes })
        let types = text.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }
        #expect(types.count == Set(types).count, "a family's TYPE line came twice")
        #expect(text.components(separatedBy: "\nprobe_success{").count - 1 == 600)
        let check = try Promtool.checkMetrics(text)
        #expect(check.status == 0, "promtool: \(check.output.prefix(2000))")
    }

    /// The per-phase histograms are opt-in (`metrics:` in the config); a reload that turns them
    /// on or off keeps counters and histograms of targets that stay, and new duration buckets
    /// start that histogram over.
    @Test(.requires(.promtool)) func optionalFamiliesAndReloads() async throws {
        let metrics = AgentMetrics(location: "local")
        let a = Target(name: "a", url: "http://x/")
        metrics.configure([a], options: MetricsConfig(phaseHistograms: true))
        metrics.observe(result("a", success: true))
        var text = try await metrics.render()
        #expect(text.contains("phasewatch_probe_phase_duration_seconds_bucket{"))
        #expect(text.contains(#"phasewatch_probe_duration_seconds_bucket{target="a",location="local",le="0.25"} 1"#))
        metrics.configure([a, Target(name: "b", url: "http://y/")], options: MetricsConfig(durationBuckets: [0.1, 0.2]))
        metrics.observe(result("a", success: true))
        text = try await metrics.render()
        #expect(!text.contains("phasewatch_probe_phase_duration_seconds"))
        #expect(text.contains(#"phasewatch_probe_duration_seconds_bucket{target="a",location="local",le="0.1"} 1"#))
        #expect(!text.contains(#"target="a",location="local",le="0.25""#))
        #expect(text.contains(#"phasewatch_probes_total{target="a",location="local",result="success"} 2"#))
        #expect(text.contains(#"phasewatch_probes_total{target="b",location="local",result="success"} 0"#))
        #expect(try Promtool.checkMetrics(text).status == 0)
    }

    @Test func credentialsInURLsAreMasked() {
        #expect(URLRedaction.redacted("https://u:p@h:1/x?y=@") == "https://***@h:1/x?y=@")
        #expect(URLRedaction.redacted("http://h/") == "http://h/")
    }
}

extension MetricsConfig {
    /// Every optional family on.
    static let everything = MetricsConfig(phaseHistograms: true, latencyQuantiles: true, sloWindows: true, budgetDetail: true)
}

extension AgentMetrics {
    /// What a reload does to the agent's targets and options, without an agent around them.
    func configure(_ list: [Target], options: MetricsConfig = .init()) {
        configure(options: options)
        targets.configure(list, durationBuckets: options.durationBuckets)
    }

    /// What the result sink does with one probe of a configured target.
    func observe(_ result: ProbeResult) {
        targets[result.target]?.observe(result)
    }
}
