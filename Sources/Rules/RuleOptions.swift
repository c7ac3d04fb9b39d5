import Foundation

/// What the generated rules need to know beyond the config: the scrape job of the agents and
/// where the links in every alert's annotations point.
public struct RuleOptions: Sendable, Equatable {
    /// The `job` label Prometheus gives the agents' series (`job_name` of their scrape config).
    public var job: String
    /// docs/alerts.md as your people reach it; each alert links to its section (`#<alert name>`).
    public var runbookURL: String
    /// Grafana's root URL; `dashboard_url` opens the dashboards of dashboards/*.json by their uid.
    public var grafanaURL: String

    public static let defaultJob = "phasewatch"
    /// Relative: there is no public copy of the docs, so the default names the file and the
    /// section; `--rules.runbook-url` points it at wherever the docs are hosted.
    public static let defaultRunbookURL = "docs/alerts.md"
    /// Grafana's own default `root_url`.
    public static let defaultGrafanaURL = "http://localhost:3000"

    public init(job: String = defaultJob, runbookURL: String = defaultRunbookURL, grafanaURL: String = defaultGrafanaURL) {
        self.job = job
        self.runbookURL = runbookURL
        self.grafanaURL = grafanaURL
    }

    /// The flags that print these options again, none for a default.
    public var flags: [String] {
        var flags: [String] = []
        if job != Self.defaultJob { flags.append("--rules.job=\(job)") }
        if runbookURL != Self.defaultRunbookURL { flags.append("--rules.runbook-url=\(runbookURL)") }
        if grafanaURL != Self.defaultGrafanaURL { flags.append("--rules.grafana-url=\(grafanaURL)") }
        return flags
    }

    /// `runbook_url` and `dashboard_url` of an alert; the dashboard's variables are filled from
    /// the alert's labels of the same name.
    func links(alert: String, dashboard: Dashboard, variables: [String]) -> [(String, String)] {
        let base = grafanaURL.hasSuffix("/") ? String(grafanaURL.dropLast()) : grafanaURL
        let query = variables.map { "var-\($0)={{ $labels.\($0) }}" }.joined(separator: "&")
        return [
            ("runbook_url", "\(runbookURL)#\(alert.lowercased())"),
            ("dashboard_url", "\(base)/d/\(dashboard.rawValue)" + (query.isEmpty ? "" : "?\(query)")),
        ]
    }
}

/// The uids of dashboards/*.json (RulesTests checks they match).
public enum Dashboard: String, Sendable, CaseIterable {
    case overview = "phasewatch-overview"
    case target = "phasewatch-target"
    case slo = "phasewatch-slo"
    case fleet = "phasewatch-fleet"
}

/// PromQL literals for values from the config and the command line.
enum PromQL {
    /// A double-quoted string literal.
    static func string(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A regex matching exactly these texts (RE2 syntax), as a string literal.
    static func alternation(_ texts: [String]) -> String {
        let special = Set("\\.+*?()|[]{}^$")
        let escaped = texts.map { text in
            String(text.flatMap { special.contains($0) ? ["\\", $0] : [$0] })
        }
        return string(escaped.joined(separator: "|"))
    }
}
