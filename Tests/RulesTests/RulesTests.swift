import Config
import Foundation
import PhaseWatchCore
import Rules
import TestSupport
import Testing
import Yams

/// `phasewatch rules`: what it prints, that Prometheus's own tools accept it, and that
/// examples/rules.yml is exactly its output for examples/phasewatch.yml.
struct RulesTests {
    static let exampleConfig = "examples/phasewatch.yml"

    /// The rule file as Prometheus reads it: group name → its rules as dictionaries.
    func parse(_ config: AgentConfig) throws -> [String: [[String: Any]]] {
        let text = try PrometheusRules.yaml(for: config, configFile: "test.yml")
        let file = try #require(try Yams.load(yaml: text) as? [String: Any])
        let groups = try #require(file["groups"] as? [[String: Any]])
        var byName: [String: [[String: Any]]] = [:]
        for group in groups {
            let name = try #require(group["name"] as? String)
            #expect(byName[name] == nil, "group \(name) twice")
            byName[name] = group["rules"] as? [[String: Any]] ?? []
        }
        return byName
    }

    func config(_ slo: SLOConfig?, name: String = "api") -> AgentConfig {
        AgentConfig(targets: [Target(name: name, url: "http://127.0.0.1/", slo: slo)])
    }

    @Test func exampleRulesAreTheOutputForTheExampleConfig() throws {
        let config = try ConfigLoader.load(path: Repo.root.appendingPathComponent(Self.exampleConfig).path)
        let printed = try PrometheusRules.yaml(for: config, configFile: Self.exampleConfig)
        let committed = try String(contentsOf: Repo.root.appendingPathComponent("examples/rules.yml"), encoding: .utf8)
        #expect(printed == committed, "examples/rules.yml is stale: phasewatch rules --config.file=\(Self.exampleConfig) > examples/rules.yml")

        // The two-location example: one rule file for both agents, printed from either config.
        let dir = Repo.root.appendingPathComponent("examples/two-locations")
        let eu = try ConfigLoader.load(path: dir.appendingPathComponent("phasewatch-eu.yml").path)
        let us = try ConfigLoader.load(path: dir.appendingPathComponent("phasewatch-us.yml").path)
        let shared = try PrometheusRules.yaml(for: eu, configFile: "phasewatch-eu.yml")
        #expect(PrometheusRules.groups(for: eu) == PrometheusRules.groups(for: us))
        #expect(shared == (try String(contentsOf: dir.appendingPathComponent("rules.yml"), encoding: .utf8)),
                "examples/two-locations/rules.yml is stale: cd examples/two-locations && phasewatch rules --config.file=phasewatch-eu.yml > rules.yml")
    }

    @Test(.enabled(if: PrometheusServer.installed, "Debian's prometheus package (promtool) is not installed (make deps installs it)"))
    func promtoolChecksAndUnitTestsTheExampleRules() throws {
        let check = try Promtool.run(["check", "rules", Repo.root.appendingPathComponent("examples/rules.yml").path])
        #expect(check.status == 0, "\(check.output)")
        // Tests/Support/rules_test.yml feeds counters with 10 % failed probes to the rules of
        // api-health and expects all four burn-rate alerts, and none while it is healthy.
        let test = try Promtool.run(["test", "rules", Repo.support.appendingPathComponent("rules_test.yml").path])
        #expect(test.status == 0, "\(test.output)")
    }

    @Test func availabilitySLIForEveryWindowAndTheWorkbookAlerts() throws {
        let groups = try parse(config(SLOConfig(window: .seconds(30 * 86_400), availability: 0.999)))
        #expect(Set(groups.keys) == [
            "phasewatch-targets", "phasewatch-slo-sli-recordings-api-availability",
            "phasewatch-slo-meta-recordings-api-availability", "phasewatch-slo-alerts-api-availability",
        ])
        let sli = try #require(groups["phasewatch-slo-sli-recordings-api-availability"])
        let records = sli.compactMap { $0["record"] as? String }
        #expect(records == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"].map { "slo:sli_error:ratio_rate\($0)" })
        let fiveMinutes = try #require(sli.first?["expr"] as? String)
        #expect(fiveMinutes.contains(#"rate(phasewatch_probes_total{target="api",result="failure"}[5m])"#))
        #expect(fiveMinutes.contains(#"(sum by (target, location) (rate(phasewatch_probes_total{target="api"}[5m])) > 0)"#),
                "no probes in the window: no SLI, not 1")
        let thirtyDays = try #require(sli.last?["expr"] as? String)
        #expect(thirtyDays.contains(#"sum_over_time(slo:sli_error:ratio_rate5m{sloth_id="api-availability"}[30d])"#))
        #expect((sli.last?["labels"] as? [String: String])?["sloth_window"] == "30d")

        let meta = try #require(groups["phasewatch-slo-meta-recordings-api-availability"])
        func expr(_ record: String) -> String? { meta.first { $0["record"] as? String == record }?["expr"] as? String }
        #expect(expr("slo:objective:ratio") == "vector(0.999)")
        #expect(expr("slo:error_budget:ratio") == "vector(0.001)")
        #expect(expr("slo:time_period:days") == "vector(30)")
        #expect(expr("slo:period_error_budget_remaining:ratio") == #"1 - slo:period_burn_rate:ratio{sloth_id="api-availability"}"#)

        let alerts = try #require(groups["phasewatch-slo-alerts-api-availability"])
        let table = alerts.map { rule -> [String] in
            let labels = rule["labels"] as? [String: String] ?? [:]
            return [labels["severity"] ?? "", labels["long"] ?? "", labels["short"] ?? ""]
        }
        #expect(table == [["page", "1h", "5m"], ["page", "6h", "30m"], ["ticket", "1d", "2h"], ["ticket", "3d", "6h"]])
        let page = try #require(alerts.first?["expr"] as? String)
        #expect(page.contains(#"max without (sloth_window) (slo:sli_error:ratio_rate1h{sloth_id="api-availability"} > (14.4 * 0.001))"#))
        #expect(page.contains(#"max without (sloth_window) (slo:sli_error:ratio_rate5m{sloth_id="api-availability"} > (14.4 * 0.001))"#))
        #expect(alerts.allSatisfy { $0["alert"] as? String == SLORules.alertName })
    }

    @Test func alertWindowsScaleWithTheSLOWindow() throws {
        let groups = try parse(config(SLOConfig(window: .seconds(7 * 86_400), availability: 0.995)))
        let alerts = try #require(groups["phasewatch-slo-alerts-api-availability"])
        let windows = alerts.map { rule -> String in
            let labels = rule["labels"] as? [String: String] ?? [:]
            return "\(labels["long"] ?? "")/\(labels["short"] ?? "")"
        }
        // 7/30 of 1h/5m, 6h/30m, 1d/2h and 3d/6h.
        #expect(windows == ["14m/1m10s", "1h24m/7m", "5h36m/28m", "16h48m/1h24m"])
        let records = try #require(groups["phasewatch-slo-sli-recordings-api-availability"]).compactMap { $0["record"] as? String }
        for window in ["1m10s", "14m", "7d"] {
            #expect(records.contains("slo:sli_error:ratio_rate\(window)"), "\(records)")
        }
        // 7 days is longer than 3: averaged from the 5m ratio, not a rate over raw samples.
        let sevenDays = try #require(groups["phasewatch-slo-sli-recordings-api-availability"]?
            .first { $0["record"] as? String == "slo:sli_error:ratio_rate7d" }?["expr"] as? String)
        #expect(sevenDays.contains("count_over_time"))
    }

    @Test(arguments: [
        (Duration.milliseconds(300), #"le="0.3""#),
        (Duration.milliseconds(1500), #"le="1.5""#),
        (Duration.seconds(1), #"le=~"1|1\\.0""#),
    ])
    func latencySLIReadsTheThresholdBucket(threshold: Duration, matcher: String) throws {
        let groups = try parse(config(SLOConfig(latency: LatencySLO(threshold: threshold, objective: 0.99))))
        let sli = try #require(groups["phasewatch-slo-sli-recordings-api-latency"]?.first?["expr"] as? String)
        #expect(sli.contains("rate(phasewatch_probe_duration_seconds_bucket{target=\"api\",\(matcher)}[5m])"), "\(sli)")
        #expect(sli.hasPrefix("1 - ("))
        #expect(groups["phasewatch-slo-sli-recordings-api-availability"] == nil)
    }

    @Test func targetsWithoutSLOsGetOnlyTheSharedAlerts() throws {
        var withCert = config(nil)
        withCert.targets[0].expect.certMinDays = 21
        let groups = try parse(withCert)
        #expect(Array(groups.keys) == ["phasewatch-targets"])
        let rules = try #require(groups["phasewatch-targets"])
        #expect(rules.compactMap { $0["alert"] as? String } == [PrometheusRules.targetDownAlert, PrometheusRules.certificateAlert])
        let cert = try #require(rules.last?["expr"] as? String)
        #expect(cert.contains("< 21"), "a target's cert_min_days above the default raises the threshold: \(cert)")
    }

    @Test func labelValuesStayStrings() throws {
        let text = try PrometheusRules.yaml(for: config(SLOConfig(availability: 0.999)), configFile: "t.yml")
        #expect(text.hasPrefix("# Prometheus rules for the targets and SLOs of t.yml.\n"))
        // Unquoted, `sloth_objective: 99.9` would be a YAML float and Prometheus would refuse it.
        #expect(text.contains(#"sloth_objective: '99.9'"#) || text.contains(#"sloth_objective: "99.9""#), "\(text)")
    }

    @Test(.enabled(if: PrometheusServer.installed, "Debian's prometheus package (promtool) is not installed (make deps installs it)"))
    func commandPrintsTheRulesAndRejectsABadConfig() throws {
        let dir = Scratch.dir.appendingPathComponent("rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("rules.yml")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        let ok = Subprocess.run([
            PhaseWatchBinary.path, "rules", "--config.file=\(Repo.root.appendingPathComponent(Self.exampleConfig).path)",
        ], stdout: handle)
        try handle.close()
        #expect(ok == 0)
        let check = try Promtool.run(["check", "rules", out.path])
        #expect(check.status == 0, "\(check.output)")

        let bad = dir.appendingPathComponent("bad.yml")
        try "targets:\n  - name: x\n    url: http://127.0.0.1/\n    slo: {availability: 120}\n".write(to: bad, atomically: true, encoding: .utf8)
        #expect(Subprocess.run([PhaseWatchBinary.path, "rules", "--config.file=\(bad.path)"]) == 1)
    }
}
