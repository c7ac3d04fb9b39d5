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
            and a target-down and a certificate-expiry alert. Computed by Prometheus from the agent's \
            counters. Write them to a file Prometheus loads through rule_files.
            """
    )

    @Option(name: .customLong("config.file"), help: "Configuration file (YAML).")
    var configFile: String = "phasewatch.yml"

    func run() throws {
        let config: AgentConfig
        do {
            config = try ConfigLoader.load(path: configFile)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        }
        print(try PrometheusRules.yaml(for: config, configFile: configFile), terminator: "")
    }
}
