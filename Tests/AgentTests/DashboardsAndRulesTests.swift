import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// The whole Prometheus side, for real: two `phasewatch` agents in two locations probe local
/// servers (an HTTPS server failing 1 request in 5 with 30/90 ms delays, a healthy HTTPS one, a
/// closed port), a real Prometheus scrapes them and loads the rules `phasewatch rules` printed
/// plus examples/rules.yml, and then every query of every panel of every dashboard in
/// dashboards/ must answer for the failing and for the healthy target, with legends that keep
/// the locations apart and values that fit the units (Tests/Support/check_dashboards.py). A
/// second Prometheus scrapes native histograms: the panels that read them answer there. The
/// list of dashboards, panels and results is printed in the test log.
@Suite(.serialized, .requires(.prometheus))
struct DashboardsAndRulesTests {
    @Test func dashboardsRulesAndAlertsWorkOnARealPrometheus() async throws {
        let dir = Scratch.dir.appendingPathComponent("dashboards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let flaky = try ServerProcess(
            script: "sloserver.py", arguments: ["--cert", Certs.path("server.pem"), "--key", Certs.path("server.key")])
        defer { flaky.stop() }
        // The second location's own: each sees the server's pattern of failures whole.
        let flakyEU = try ServerProcess(
            script: "sloserver.py", arguments: ["--cert", Certs.path("server.pem"), "--key", Certs.path("server.key")])
        defer { flakyEU.stop() }
        // What the agent pushes (fleet.json's remote-write panels) goes to a server that takes it.
        let receiver = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { receiver.stop() }

        // A 1-day SLO window scales the alert windows to 1/30: the fast page alert looks at
        // 2m and 10s, so it can fire within the test.
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 900ms, location: it}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            remote_write:
              - {url: "http://127.0.0.1:\(receiver.port("http"))/api/v1/write", send_interval: 2s}
            targets:
              - name: api
                url: https://127.0.0.1:\(flaky.port("https"))/
                tls: {ca_file: \(Certs.ca)}
                slo: {window: 1d, availability: 99, latency: {threshold: 60ms, objective: 99}}
              - name: web
                url: https://127.0.0.1:\(TestServer.shared.port("https"))/
                tls: {ca_file: \(Certs.ca)}
                slo: {availability: 99.9}
              - name: gone
                url: http://127.0.0.1:\(TestServer.closedPort())/
            """.write(toFile: configPath, atomically: true, encoding: .utf8)

        let rulesPath = dir.appendingPathComponent("rules.yml")
        #expect(Subprocess.run([PhaseWatchBinary.path, "rules", "--config.file=\(configPath)", "--output=\(rulesPath.path)"]) == 0)

        // A second location probing the same targets: no panel may blend it with the first, or
        // give two series one legend.
        let secondConfig = dir.appendingPathComponent("phasewatch-eu.yml").path
        try String(contentsOfFile: configPath, encoding: .utf8)
            .replacingOccurrences(of: "location: it}", with: "location: eu}")
            .replacingOccurrences(of: "pw.db", with: "pw-eu.db")
            .replacingOccurrences(of: ":\(flaky.port("https"))/", with: ":\(flakyEU.port("https"))/")
            .write(toFile: secondConfig, atomically: true, encoding: .utf8)
        let agentPort = TestServer.closedPort(), secondPort = TestServer.closedPort()
        var agents: [Process] = []
        defer {
            for agent in agents {
                agent.terminate()
                agent.waitUntilExit()
            }
        }
        for (config, port) in [(configPath, agentPort), (secondConfig, secondPort)] {
            let agent = Process()
            agent.executableURL = URL(fileURLWithPath: PhaseWatchBinary.path)
            agent.arguments = ["run", "--config.file=\(config)", "--web.listen-address=127.0.0.1:\(port)"]
            agent.standardOutput = FileHandle.nullDevice
            agent.standardError = FileHandle.nullDevice
            try agent.run()
            agents.append(agent)
        }

        let prometheus = try await PrometheusServer(config: """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files:
              - \(rulesPath.path)
              - \(Repo.root.appendingPathComponent("examples/rules.yml").path)
            scrape_configs:
              - job_name: phasewatch
                static_configs: [{targets: ["127.0.0.1:\(agentPort)", "127.0.0.1:\(secondPort)"]}]
            """, dir: dir)
        defer { prometheus.stop() }
        // Native histograms replace the classic buckets in Prometheus 2.42, and with them the
        // latency rules: this one only serves the panels that read native histograms.
        let nativeDir = dir.appendingPathComponent("native")
        try FileManager.default.createDirectory(at: nativeDir, withIntermediateDirectories: true)
        let native = try await PrometheusServer(config: """
            global: {scrape_interval: 1s}
            scrape_configs:
              - job_name: phasewatch
                static_configs: [{targets: ["127.0.0.1:\(agentPort)", "127.0.0.1:\(secondPort)"]}]
            """, dir: nativeDir, features: ["native-histograms"])
        defer { native.stop() }

        // Wait for the fast burn-rate alert of `api` (1 probe in 5 fails against a 1 % budget)
        // and for the agent's SLO engine to have scraped SLIs (it refreshes every 15 s).
        var firing: [[String: Any]] = []
        let agentSLIQuery = #"phasewatch_sli_ratio{target="api",slo="availability",window="1d",location="it"}"#
        for _ in 0..<90 {
            try await Task.sleep(for: .seconds(1))
            let alerts = (try? await prometheus.api("/api/v1/alerts") as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            firing = alerts.filter { ($0["state"] as? String) == "firing" }
            let fired = firing.contains { Self.labels($0) == ["target": "api", "slo": "availability", "severity": "page", "long": "2m", "short": "10s"] }
            if fired, try await !prometheus.query(agentSLIQuery).isEmpty { break }
        }
        #expect(firing.contains { Self.labels($0) == ["target": "api", "slo": "availability", "severity": "page", "long": "2m", "short": "10s"] },
                "the page alert of api fires: \(firing)")
        #expect(!firing.contains { ($0["labels"] as? [String: String])?["target"] == "web" }, "web is healthy: \(firing)")

        // Every rule of both files evaluates without error (examples/rules.yml's targets have no
        // data here, which is fine; a bad query is not).
        let groups = (try await prometheus.api("/api/v1/rules") as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        let rules = groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
        #expect(rules.count > 100, "both rule files loaded: \(rules.count) rules")
        let broken = rules.filter { ($0["health"] as? String) == "err" }.map { "\($0["name"] ?? ""): \($0["lastError"] ?? "")" }
        #expect(broken.isEmpty, "\(broken)")

        // The agents' own alerts stay quiet for a healthy agent, pending included. The
        // out-of-date check compares the objectives the agent reports with those the rules
        // record: equal, though each spells them its own way.
        let agentAlerts = try await prometheus.query(#"ALERTS{alertname=~"PhaseWatch(AgentDown|StorageNotWritable|ResultsDropped|ConfigReloadFailed|SLOStale|RulesOutOfDate)"}"#)
        #expect(agentAlerts.isEmpty, "\(agentAlerts)")
        let objectives = try await prometheus.query(#"phasewatch_slo_objective_ratio{location="it"}"#)
        #expect(objectives.count == 3, "api availability and latency, web availability: \(objectives)")
        let outOfDate = try #require(rules.first { ($0["name"] as? String) == "PhaseWatchRulesOutOfDate" }?["query"] as? String)
        let unmatched = try await prometheus.query(outOfDate)
        #expect(unmatched.isEmpty, "every SLO the agent reports has its rules: \(unmatched)")

        // Prometheus's SLI from the counters agrees with the agent's SLO engine from its
        // history (both count the whole run here; Prometheus misses the probes before its first
        // scrape and extrapolates, so they agree to a few probes, not exactly).
        let promError = try await prometheus.query(#"slo:sli_error:ratio_rate5m{target="api",slo="availability",location="it"}"#).first?.value
        let agentSLI = try await prometheus.query(agentSLIQuery).first?.value
        let errorRatio = try #require(promError)
        let sli = try #require(agentSLI)
        #expect(abs((1 - errorRatio) - sli) < 0.1, "Prometheus \(1 - errorRatio) vs agent \(sli)")
        #expect(errorRatio > 0.1 && errorRatio < 0.3, "1 request in 5 fails: \(errorRatio)")
        // Two locations that see the same pattern: the fleet's SLI is summed by target alone
        // (location, instance and job drop out).
        let fleetError = try await prometheus.query(#"fleet_slo:sli_error:ratio_rate5m{target="api",slo="availability"}"#)
        #expect(fleetError.count == 1 && fleetError.first?.labels["location"] == nil && fleetError.first?.labels["aggregation"] == "fleet",
                "\(fleetError)")
        // Both places see 1 failure in 5. (The rule groups are evaluated at different moments of
        // a fast-moving start, so the fleet's ratio is compared with the pattern, not with the
        // locations' recorded ones; promtool's tests and FleetTests check the sum exactly.)
        let locations = try await prometheus.query(#"slo:sli_error:ratio_rate5m{target="api",slo="availability"}"#)
        #expect(locations.count == 2, "\(locations)")
        let fleet = fleetError.first?.value ?? -1
        #expect(fleet > 0.1 && fleet < 0.3, "1 request in 5 fails in each place: fleet \(fleet)")

        // Every panel query of every dashboard answers, for the failing and the healthy target.
        let dashboards = try FileManager.default.contentsOfDirectory(atPath: Repo.root.appendingPathComponent("dashboards").path)
            .filter { $0.hasSuffix(".json") }.sorted().map { Repo.root.appendingPathComponent("dashboards/\($0)").path }
        #expect(dashboards.count == 4, "\(dashboards)")
        for (server, mode) in [(prometheus, "no"), (native, "only")] {
            for target in ["api", "web"] {
                let (status, report) = try Self.checkDashboards(
                    dashboards, prometheus: server.baseURL, target: target, nativeHistograms: mode, dir: dir)
                print(report)
                #expect(status == 0, "target \(target), native histograms \(mode): \(report)")
                // Not vacuous: the native Prometheus answers the heatmaps, the other skips them.
                #expect(report.contains(mode == "no" ? "skipped: needs native histograms" : "Latency heatmap — $phase | A [$location=eu] [$phase=tls] | 1 |"),
                        "\(report)")
            }
        }
    }

    /// Runs Tests/Support/check_dashboards.py over `dashboards` with both locations selected.
    static func checkDashboards(
        _ dashboards: [String], prometheus: String, target: String, nativeHistograms: String, dir: URL
    ) throws -> (Int32, String) {
        let output = dir.appendingPathComponent("check-dashboards-\(target)-\(nativeHistograms).txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        let status = Subprocess.run([
            "python3", Repo.support.appendingPathComponent("check_dashboards.py").path,
            "--prometheus", prometheus, "--var", "target=\(target)", "--var", "location=it", "--var", "location=eu",
            "--var", "slo=availability", "--range", "5m", "--rate-interval", "30s",
            "--native-histograms=\(nativeHistograms)",
        ] + dashboards, stdout: handle)
        try handle.close()
        return (status, try String(contentsOf: output, encoding: .utf8))
    }

    /// The alert's labels this test looks at.
    static func labels(_ alert: [String: Any]) -> [String: String] {
        let all = alert["labels"] as? [String: String] ?? [:]
        return all.filter { ["target", "slo", "severity", "long", "short"].contains($0.key) }
    }
}
