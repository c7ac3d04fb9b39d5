import ArgumentParser
import Config
import Foundation
import PhaseWatchCore
import Rules

/// `phasewatch rules`: the Prometheus recording and alerting rules for a config's SLOs.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "Print Prometheus recording and alerting rules for the configured targets and SLOs.",
        discussion: """
            SLIs per window, error budget and burn rates (Sloth's naming: slo:sli_error:ratio_rate5m, \
            slo:period_error_budget_remaining:ratio, ...), the four multiwindow burn-rate alerts per SLO, \
            the same per SLO over every location and shard together (fleet_slo:..., aggregation="fleet", \
            PhaseWatchFleetErrorBudgetBurn), a target-down and a certificate-expiry alert, and the agents' \
            own alerts (agent down, storage not writable, results dropped, reload failed, SLO numbers \
            stale, rules out of date). Computed by \
            Prometheus from the agent's counters. Every alert links to its section of docs/alerts.md \
            (runbook_url) and to a dashboard (dashboard_url). Write them with --output to the file \
            Prometheus loads through rule_files: it is replaced at once, and only when the config is valid.
            """
    )

    @Option(name: .customLong("config.file"), help: "Configuration file (YAML).")
    var configFile: String = "phasewatch.yml"

    @Option(name: .customLong("output"), help: ArgumentHelp(
        "Write the rules to this file instead of standard output: replaced atomically (a temporary file in the same directory, renamed over it), untouched when the config is invalid.",
        valueName: "file"))
    var output: String?

    @Option(name: .customLong("rules.job"), help: "The job_name the agents are scraped under (agent-down alert).")
    var job: String = RuleOptions.defaultJob

    @Option(name: .customLong("rules.runbook-url"), help: ArgumentHelp(
        "Where docs/alerts.md is published; each alert's runbook_url is this plus #<alert name, lowercase>.",
        valueName: "url"))
    var runbookURL: String = RuleOptions.defaultRunbookURL

    @Option(name: .customLong("rules.grafana-url"), help: ArgumentHelp(
        "Grafana's root URL, for each alert's dashboard_url (the dashboards of dashboards/*.json, by uid).",
        valueName: "url"))
    var grafanaURL: String = RuleOptions.defaultGrafanaURL

    func validate() throws {
        if job.isEmpty { throw ValidationError("--rules.job must not be empty") }
    }

    func run() throws {
        let config: AgentConfig
        do {
            config = try ConfigLoader.load(path: configFile)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        }
        let options = RuleOptions(job: job, runbookURL: runbookURL, grafanaURL: grafanaURL)
        let text = try PrometheusRules.yaml(for: config, configFile: configFile, options: options)
        guard let output else {
            print(text, terminator: "")
            return
        }
        do {
            try AtomicFile.write(text, to: output)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
