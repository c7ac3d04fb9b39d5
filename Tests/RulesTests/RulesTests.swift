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

    @Test(.requires(.promtool))
    func promtoolChecksAndUnitTestsTheExampleRules() throws {
        let check = try Promtool.run(["check", "rules", Repo.root.appendingPathComponent("examples/rules.yml").path])
        #expect(check.status == 0, "\(check.output)")
        // Tests/Support/rules_test.yml feeds counters with 10 % failed probes to the rules of
        // api-health and expects all four burn-rate alerts, and none while it is healthy;
        // rules_fleet_test.yml feeds two locations and checks the fleet's SLI and alerts.
        for file in ["rules_test.yml", "rules_fleet_test.yml"] {
            let test = try Promtool.run(["test", "rules", Repo.support.appendingPathComponent(file).path])
            #expect(test.status == 0, "\(file): \(test.output)")
        }
    }

    @Test func availabilitySLIForEveryWindowAndTheWorkbookAlerts() throws {
        let groups = try parse(config(SLOConfig(window: .seconds(30 * 86_400), availability: 0.999)))
        #expect(Set(groups.keys) == [
            "phasewatch-targets", "phasewatch-agent", "phasewatch-slo-sli-recordings-api-availability",
            "phasewatch-slo-meta-recordings-api-availability", "phasewatch-slo-alerts-api-availability",
            "phasewatch-slo-fleet-sli-recordings-api-availability", "phasewatch-slo-fleet-meta-recordings-api-availability",
            "phasewatch-slo-fleet-alerts-api-availability",
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

    /// An availability SLO on the first-attempt basis of a target with retries: Prometheus counts
    /// a probe good only when its first attempt was, as the agent does; without retries the probe
    /// counters serve both bases. promtool evaluates the recording on counters where a quarter of
    /// the probes fail at first and half of those pass at their retry.
    @Test(.requires(.promtool))
    func firstAttemptBasisCountsRetriedProbesAsBad() throws {
        var target = Target(name: "api", url: "https://api.example.com/")
        target.retries = RetryPolicy(attempts: 1)
        var slo = SLOConfig(window: .seconds(30 * 86_400), availability: 0.99)
        slo.availabilityBasis = .firstAttempt
        target.slo = slo
        let rules = try #require(SLORules.all(for: target).first)
        #expect(rules.firstAttempt)
        target.retries = RetryPolicy()
        #expect(SLORules.all(for: target).first?.firstAttempt == false)

        let dir = Scratch.dir.appendingPathComponent("first-attempt-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        target.retries = RetryPolicy(attempts: 1)
        let yaml = try PrometheusRules.yaml(for: AgentConfig(targets: [target]), configFile: "first-attempt.yml")
        #expect(yaml.contains(#"rate(phasewatch_probe_attempts_total{target="api",result!="first_success"}[5m])"#))
        try AtomicFile.write(yaml, to: dir.appendingPathComponent("rules.yml").path)
        // Per minute: 30 first_success, 5 retry_success, 5 failure: final error 5/40, first-attempt 10/40.
        try """
            rule_files: [rules.yml]
            evaluation_interval: 1m
            tests:
              - interval: 1m
                input_series:
                  - series: 'phasewatch_probe_attempts_total{target="api",location="eu",result="first_success"}'
                    values: '0+30x20'
                  - series: 'phasewatch_probe_attempts_total{target="api",location="eu",result="retry_success"}'
                    values: '0+5x20'
                  - series: 'phasewatch_probe_attempts_total{target="api",location="eu",result="failure"}'
                    values: '0+5x20'
                  - series: 'phasewatch_probes_total{target="api",location="eu",result="success"}'
                    values: '0+35x20'
                  - series: 'phasewatch_probes_total{target="api",location="eu",result="failure"}'
                    values: '0+5x20'
                promql_expr_test:
                  - expr: slo:sli_error:ratio_rate5m{sloth_id="api-availability"}
                    eval_time: 10m
                    exp_samples:
                      - labels: 'slo:sli_error:ratio_rate5m{target="api",location="eu",sloth_id="api-availability",sloth_service="api",sloth_slo="availability",slo="availability",sloth_window="5m"}'
                        value: 0.25
            """.write(to: dir.appendingPathComponent("test.yml"), atomically: true, encoding: .utf8)
        let result = try Promtool.run(["test", "rules", dir.appendingPathComponent("test.yml").path])
        #expect(result.status == 0, "\(result.output)")
    }

    /// The fleet's SLIs sum every location's and shard's counters of a target before dividing,
    /// under names of their own; its alerts have a name of their own and `aggregation: fleet`.
    @Test func fleetRulesSumEveryLocationUnderTheirOwnNames() throws {
        let groups = try parse(config(SLOConfig(window: .seconds(30 * 86_400), availability: 0.999, latency: LatencySLO(threshold: .milliseconds(300), objective: 0.99))))
        for slo in ["availability", "latency"] {
            let local = try #require(groups["phasewatch-slo-sli-recordings-api-\(slo)"])
            let fleet = try #require(groups["phasewatch-slo-fleet-sli-recordings-api-\(slo)"])
            #expect(fleet.compactMap { $0["record"] as? String }
                == local.compactMap { ($0["record"] as? String)?.replacingOccurrences(of: "slo:", with: "fleet_slo:") },
                "one fleet SLI per window the per-location rules have")
            for rule in fleet {
                let expr = try #require(rule["expr"] as? String)
                #expect(!expr.contains("location") && !expr.replacingOccurrences(of: "fleet_slo:", with: "").contains("slo:"), "\(expr)")
                #expect((rule["labels"] as? [String: String])?["aggregation"] == "fleet")
            }
            for rule in local {
                #expect((rule["labels"] as? [String: String])?["aggregation"] == nil, "the per-location rules keep their labels")
            }
        }
        let fiveMinutes = try #require(groups["phasewatch-slo-fleet-sli-recordings-api-availability"]?.first?["expr"] as? String)
        #expect(fiveMinutes == """
            sum by (target) (rate(phasewatch_probes_total{target="api",result="failure"}[5m]))
            /
            (sum by (target) (rate(phasewatch_probes_total{target="api"}[5m])) > 0)

            """)
        let latency = try #require(groups["phasewatch-slo-fleet-sli-recordings-api-latency"]?.first?["expr"] as? String)
        #expect(latency.contains(#"sum by (target) (rate(phasewatch_probe_duration_seconds_bucket{target="api",le="0.3"}[5m]))"#), "\(latency)")
        let thirtyDays = try #require(groups["phasewatch-slo-fleet-sli-recordings-api-availability"]?.last?["expr"] as? String)
        #expect(thirtyDays.contains(#"sum_over_time(fleet_slo:sli_error:ratio_rate5m{sloth_id="api-availability"}[30d])"#))

        // The constants are recorded once; the fleet's burn rates divide by the same budget.
        let meta = try #require(groups["phasewatch-slo-fleet-meta-recordings-api-availability"])
        #expect(meta.compactMap { $0["record"] as? String } == [
            "fleet_slo:current_burn_rate:ratio", "fleet_slo:period_burn_rate:ratio", "fleet_slo:period_error_budget_remaining:ratio",
        ])
        #expect((meta.first?["expr"] as? String)?.contains(#"slo:error_budget:ratio{sloth_id="api-availability"}"#) == true)

        let alerts = try #require(groups["phasewatch-slo-fleet-alerts-api-availability"])
        #expect(alerts.allSatisfy { $0["alert"] as? String == SLORules.fleetAlertName })
        let table = alerts.map { rule -> [String] in
            let labels = rule["labels"] as? [String: String] ?? [:]
            return [labels["aggregation"] ?? "", labels["severity"] ?? "", labels["long"] ?? "", labels["short"] ?? ""]
        }
        #expect(table == [["fleet", "page", "1h", "5m"], ["fleet", "page", "6h", "30m"], ["fleet", "ticket", "1d", "2h"], ["fleet", "ticket", "3d", "6h"]])
        let page = try #require(alerts.first?["expr"] as? String)
        #expect(page.contains(#"max without (sloth_window) (fleet_slo:sli_error:ratio_rate1h{sloth_id="api-availability"} > (14.4 * 0.001))"#))
        let annotations = try #require(alerts.first?["annotations"] as? [String: String])
        #expect(annotations["dashboard_url"] == "http://localhost:3000/d/phasewatch-fleet?var-target={{ $labels.target }}")
        #expect(annotations["summary"]?.hasPrefix("{{ $labels.target }} (all locations): ") == true)
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
        let groups = try parse(config(nil))
        #expect(Set(groups.keys) == ["phasewatch-targets", "phasewatch-agent"])
        let rules = try #require(groups["phasewatch-targets"])
        #expect(rules.compactMap { $0["alert"] as? String } == [PrometheusRules.targetDownAlert, PrometheusRules.certificateAlert])
        let cert = try #require(rules.last?["expr"] as? String)
        #expect(cert.hasPrefix("(probe_ssl_earliest_cert_expiry - time()) / 86400 < 14\n"), "no cert_min_days: 14 days for all: \(cert)")
    }

    @Test func eachTargetsCertMinDaysIsItsCertificateThreshold() throws {
        var config = AgentConfig(targets: ["shop", "api.v2", "www", "cdn", "default-14"].map {
            Target(name: $0, url: "https://127.0.0.1/")
        })
        config.targets[0].expect.certMinDays = 30
        config.targets[1].expect.certMinDays = 7
        config.targets[3].expect.certMinDays = 30
        config.targets[4].expect.certMinDays = 14
        let rules = try #require(try parse(config)["phasewatch-targets"]).filter { $0["alert"] as? String == PrometheusRules.certificateAlert }
        let firstLines = rules.compactMap { ($0["expr"] as? String)?.split(separator: "\n").first.map(String.init) }
        #expect(firstLines == [
            #"(probe_ssl_earliest_cert_expiry{target!~"api\\.v2|shop|cdn"} - time()) / 86400 < 14"#,
            #"(probe_ssl_earliest_cert_expiry{target="api.v2"} - time()) / 86400 < 7"#,
            #"(probe_ssl_earliest_cert_expiry{target=~"shop|cdn"} - time()) / 86400 < 30"#,
        ], "the default rule for every other target (those of other agents too), then one per threshold")
    }

    @Test func theAgentWatchesItself() throws {
        let rules = try #require(try parse(config(nil))["phasewatch-agent"])
        #expect(rules.compactMap { $0["alert"] as? String } == [
            AgentRules.agentDownAlert, AgentRules.storageNotWritableAlert, AgentRules.resultsDroppedAlert,
            AgentRules.reloadFailedAlert, AgentRules.sloStaleAlert, AgentRules.rulesOutOfDateAlert, AgentRules.coverageLowAlert,
        ])
        let down = try #require(rules.first?["expr"] as? String)
        #expect(down.contains(#"up{job="phasewatch"} == 0"#) && down.contains(#"absent(phasewatch_build_info{job="phasewatch"})"#), "\(down)")
        // What the generated rules record per SLO is what the out-of-date alert looks for.
        let outOfDate = try #require(rules.first { $0["alert"] as? String == AgentRules.rulesOutOfDateAlert }?["expr"] as? String)
        #expect(outOfDate.contains("max by (target, slo) (slo:objective:ratio)"))
        let coverage = try #require(rules.last?["expr"] as? String)
        #expect(coverage.contains("max by (target, slo) (slo:min_coverage:ratio)"))
        let meta = try #require(try parse(config(SLOConfig(availability: 0.999)))["phasewatch-slo-meta-recordings-api-availability"])
        let objective = try #require(meta.first { $0["record"] as? String == "slo:objective:ratio" })
        let labels = try #require(objective["labels"] as? [String: String])
        #expect(labels["target"] == "api" && labels["slo"] == "availability")
    }

    /// Every alert links its section of docs/alerts.md (a `## <alert name>` heading, whose
    /// anchor is the lowercased name) and a dashboard of dashboards/*.json by its uid.
    @Test func everyAlertLinksItsRunbookAndADashboard() throws {
        let config = try ConfigLoader.load(path: Repo.root.appendingPathComponent(Self.exampleConfig).path)
        let alerts = try parse(config).values.flatMap { $0 }.filter { $0["alert"] != nil }
        let docs = try String(contentsOf: Repo.root.appendingPathComponent("docs/alerts.md"), encoding: .utf8)
        let headings = Set(docs.split(separator: "\n").filter { $0.hasPrefix("## ") }.map { String($0.dropFirst(3)) })
        var names: Set<String> = []
        for alert in alerts {
            let name = try #require(alert["alert"] as? String)
            names.insert(name)
            let annotations = alert["annotations"] as? [String: String] ?? [:]
            #expect(annotations["runbook_url"] == "docs/alerts.md#\(name.lowercased())", "\(name)")
            #expect(headings.contains(name), "docs/alerts.md has no section ## \(name)")
            let dashboard = annotations["dashboard_url"] ?? ""
            #expect(Dashboard.allCases.contains { dashboard.hasPrefix("http://localhost:3000/d/\($0.rawValue)") }, "\(name): \(dashboard)")
        }
        #expect(names.count == 11, "\(names.sorted())")
    }

    @Test func dashboardUIDsAreThoseOfTheDashboards() throws {
        let dir = Repo.root.appendingPathComponent("dashboards")
        let uids = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.map { file in
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(file))) as? [String: Any]
            return try #require(json?["uid"] as? String)
        }
        #expect(Set(uids) == Set(Dashboard.allCases.map(\.rawValue)))
    }

    @Test func optionsReachTheRulesAndTheHeader() throws {
        let options = RuleOptions(
            job: #"probes "eu""#, runbookURL: "https://wiki.example.com/phasewatch/alerts", grafanaURL: "https://grafana.example.com/")
        let text = try PrometheusRules.yaml(for: config(SLOConfig(availability: 0.999)), configFile: "t.yml", options: options)
        #expect(text.contains(#"Printed by `phasewatch rules --config.file=t.yml --rules.job=probes "eu" --rules.runbook-url=https://wiki.example.com/phasewatch/alerts --rules.grafana-url=https://grafana.example.com/`"#), "\(text)")
        let file = try #require(try Yams.load(yaml: text) as? [String: Any])
        let rules = (file["groups"] as? [[String: Any]] ?? []).flatMap { $0["rules"] as? [[String: Any]] ?? [] }
        let down = try #require(rules.first { $0["alert"] as? String == AgentRules.agentDownAlert })
        #expect((down["expr"] as? String)?.contains(#"up{job="probes \"eu\""} == 0"#) == true, "\(down)")
        let burn = try #require(rules.first { $0["alert"] as? String == SLORules.alertName }?["annotations"] as? [String: String])
        #expect(burn["runbook_url"] == "https://wiki.example.com/phasewatch/alerts#phasewatcherrorbudgetburn")
        #expect(burn["dashboard_url"] == "https://grafana.example.com/d/phasewatch-slo?var-location={{ $labels.location }}&var-target={{ $labels.target }}&var-slo={{ $labels.slo }}")
    }

    @Test(.requires(.promtool))
    func promtoolUnitTestsTheAgentAndCertificateAlerts() throws {
        // Tests/Support/rules_agent_test.yml loads agent_rules.yml from its own directory:
        // a copy of it goes next to the rules printed for rules_agent_config.yml.
        let dir = Scratch.dir.appendingPathComponent("agent-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = try ConfigLoader.load(path: Repo.support.appendingPathComponent("rules_agent_config.yml").path)
        try AtomicFile.write(
            try PrometheusRules.yaml(for: config, configFile: "rules_agent_config.yml"), to: dir.appendingPathComponent("agent_rules.yml").path)
        let test = dir.appendingPathComponent("rules_agent_test.yml")
        try FileManager.default.copyItem(at: Repo.support.appendingPathComponent("rules_agent_test.yml"), to: test)
        let check = try Promtool.run(["check", "rules", dir.appendingPathComponent("agent_rules.yml").path])
        #expect(check.status == 0, "\(check.output)")
        let result = try Promtool.run(["test", "rules", test.path])
        #expect(result.status == 0, "\(result.output)")
    }

    /// `--output`: the file Prometheus loads is replaced at once by a valid config's rules, the
    /// same text as printed, and left as it was by an invalid config or a failed write.
    @Test func outputReplacesTheFileAtomicallyAndOnlyForAValidConfig() throws {
        let dir = Scratch.dir.appendingPathComponent("rules-output-\(UUID().uuidString)")
        let rulesDir = dir.appendingPathComponent("prometheus")
        try FileManager.default.createDirectory(at: rulesDir, withIntermediateDirectories: true)
        let out = rulesDir.appendingPathComponent("rules.yml")
        let old = "# rules Prometheus runs now\ngroups: []\n"
        try old.write(to: out, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: out.path)
        let good = Repo.root.appendingPathComponent(Self.exampleConfig).path
        let bad = dir.appendingPathComponent("bad.yml")
        try "targets:\n  - name: x\n    url: http://127.0.0.1/\n    slo: {availability: 120}\n".write(to: bad, atomically: true, encoding: .utf8)
        func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: rulesDir.path).sorted() }

        #expect(Subprocess.run([PhaseWatchBinary.path, "rules", "--config.file=\(bad.path)", "--output=\(out.path)"]) == 1)
        #expect(try String(contentsOf: out, encoding: .utf8) == old, "a bad config leaves the file as it was")
        #expect(try listing() == ["rules.yml"])
        #expect(Subprocess.run([PhaseWatchBinary.path, "rules", "--config.file=\(good)", "--output=\(rulesDir.path)/missing/rules.yml"]) == 1)

        let printed = dir.appendingPathComponent("printed.yml")
        _ = FileManager.default.createFile(atPath: printed.path, contents: nil)
        let handle = try FileHandle(forWritingTo: printed)
        #expect(Subprocess.run([PhaseWatchBinary.path, "rules", "--config.file=\(good)"], stdout: handle) == 0)
        try handle.close()
        #expect(Subprocess.run([PhaseWatchBinary.path, "rules", "--config.file=\(good)", "--output=\(out.path)"]) == 0)
        let written = try String(contentsOf: out, encoding: .utf8)
        #expect(written == (try String(contentsOf: printed, encoding: .utf8)) && written.contains("PhaseWatchAgentDown"))
        #expect(try listing() == ["rules.yml"], "no temporary file left behind")
        let mode = try FileManager.default.attributesOfItem(atPath: out.path)[.posixPermissions] as? Int
        #expect(mode == 0o640, "the replaced file's permissions stay")

        // Through a symbolic link, the file it points to is replaced and the link stays.
        let link = dir.appendingPathComponent("current.yml")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: out.path)
        try old.write(to: out, atomically: false, encoding: .utf8)
        #expect(Subprocess.run([PhaseWatchBinary.path, "rules", "--config.file=\(good)", "--output=\(link.path)"]) == 0)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == out.path)
        #expect(try String(contentsOf: out, encoding: .utf8) == written)
    }

    @Test func labelValuesStayStrings() throws {
        let text = try PrometheusRules.yaml(for: config(SLOConfig(availability: 0.999)), configFile: "t.yml")
        #expect(text.hasPrefix("# Prometheus rules for the targets and SLOs of t.yml.\n"))
        // Unquoted, `sloth_objective: 99.9` would be a YAML float and Prometheus would refuse it.
        #expect(text.contains(#"sloth_objective: '99.9'"#) || text.contains(#"sloth_objective: "99.9""#), "\(text)")
    }

    @Test(.requires(.promtool))
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
