import PhaseWatchCore

/// Everything `phasewatch rules` prints for a config: the alerts every target shares (down,
/// certificate expiring) and, per SLO, Sloth-style SLI, budget and burn-rate rules.
public enum PrometheusRules {
    public static let targetDownAlert = "PhaseWatchTargetDown"
    public static let certificateAlert = "PhaseWatchCertificateExpiresSoon"
    /// Days before a certificate's expiry the ticket is raised, unless a target's
    /// `expect.cert_min_days` asks for more (its probes fail from then on).
    public static let certificateDays = 14

    public static func groups(for config: AgentConfig) -> [RuleGroup] {
        [targetGroup(config)] + config.targets.flatMap { SLORules.all(for: $0).flatMap(\.groups) }
    }

    public static func yaml(for config: AgentConfig, configFile: String) throws -> String {
        try RuleFile.yaml(groups(for: config), header: """
            Prometheus rules for the targets and SLOs of \(configFile).
            Printed by `phasewatch rules --config.file=\(configFile)`: print them again after
            changing targets or SLOs. Check with `promtool check rules`.
            """)
    }

    /// Rules for every target the agent probes, whatever its config: they select by metric only.
    static func targetGroup(_ config: AgentConfig) -> RuleGroup {
        let days = max(certificateDays, config.targets.compactMap(\.expect.certMinDays).max() ?? 0)
        return RuleGroup(name: "phasewatch-targets", rules: [
            Rule(
                .alert(targetDownAlert),
                expr: "phasewatch_target_state{state=\"down\"} == 1",
                pending: "1m",
                labels: [("severity", "page")],
                annotations: [
                    ("summary", "{{ $labels.target }} ({{ $labels.location }}) is down"),
                    ("description", """
                        Its last probes failed one after another (the target's state.down_after). \
                        The failing phase and reason: phasewatch_probe_failures_total, or GET /api/v1/targets/{{ $labels.target }} on the agent.
                        """),
                ]),
            Rule(
                .alert(certificateAlert),
                expr: """
                    (probe_ssl_earliest_cert_expiry - time()) / 86400 < \(days)
                    and on (target, location)
                    probe_http_ssl == 1
                    """,
                pending: "10m",
                labels: [("severity", "ticket")],
                annotations: [
                    ("summary", "{{ $labels.target }} ({{ $labels.location }}): TLS certificate expires in {{ $value | humanize }} days"),
                    ("description", "The earliest expiry in the certificate chain the target served is less than \(days) days away."),
                ]),
        ])
    }
}
