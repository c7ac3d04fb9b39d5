import PhaseWatchCore

/// Everything `phasewatch rules` prints for a config: the alerts every target shares (down,
/// certificate expiring), the agents' own alerts and, per SLO, Sloth-style SLI, budget and
/// burn-rate rules.
public enum PrometheusRules {
    public static let targetDownAlert = "PhaseWatchTargetDown"
    public static let certificateAlert = "PhaseWatchCertificateExpiresSoon"
    /// Days before a certificate's expiry the ticket is raised for a target without
    /// `expect.cert_min_days`; a target with one is ticketed from that day, when its probes
    /// start failing (assert/cert_expiring).
    public static let certificateDays = 14

    public static func groups(for config: AgentConfig, options: RuleOptions = RuleOptions()) -> [RuleGroup] {
        [targetGroup(config, options), AgentRules.group(options)]
            + config.targets.flatMap { SLORules.all(for: $0).flatMap { $0.groups(options) } }
    }

    public static func yaml(for config: AgentConfig, configFile: String, options: RuleOptions = RuleOptions()) throws -> String {
        let command = (["phasewatch rules", "--config.file=\(configFile)"] + options.flags).joined(separator: " ")
        return try RuleFile.yaml(groups(for: config, options: options), header: """
            Prometheus rules for the targets and SLOs of \(configFile).
            Printed by `\(command)`: print them again after
            changing targets or SLOs. Check with `promtool check rules`.
            """)
    }

    /// Rules for every target the agent probes, whatever its config: they select by metric
    /// only, except that targets with their own `cert_min_days` get a certificate alert of
    /// their own.
    static func targetGroup(_ config: AgentConfig, _ options: RuleOptions) -> RuleGroup {
        let targetLinks = { (alert: String) in
            options.links(alert: alert, dashboard: .target, variables: ["location", "target"])
        }
        var rules = [
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
                ] + targetLinks(targetDownAlert)),
        ]
        // One rule per threshold, smallest first; the default one selects every other target,
        // including those of agents whose config this is not.
        var byDays: [Int: [String]] = [:]
        for target in config.targets {
            if let days = target.expect.certMinDays, days != certificateDays { byDays[days, default: []].append(target.name) }
        }
        let own = byDays.keys.sorted().map { (days: $0, targets: byDays[$0] ?? []) }
        let others = own.flatMap(\.targets)
        rules.append(certificateRule(
            days: certificateDays,
            matcher: others.isEmpty ? "" : "{target!~\(PromQL.alternation(others))}",
            why: "targets without an expect.cert_min_days of their own",
            links: targetLinks(certificateAlert)))
        for (days, targets) in own {
            rules.append(certificateRule(
                days: days,
                matcher: targets.count == 1 ? "{target=\(PromQL.string(targets[0]))}" : "{target=~\(PromQL.alternation(targets))}",
                why: "the target's expect.cert_min_days: its probes fail from now on, reason cert_expiring",
                links: targetLinks(certificateAlert)))
        }
        return RuleGroup(name: "phasewatch-targets", rules: rules)
    }

    static func certificateRule(days: Int, matcher: String, why: String, links: [(String, String)]) -> Rule {
        Rule(
            .alert(certificateAlert),
            expr: """
                (probe_ssl_earliest_cert_expiry\(matcher) - time()) / 86400 < \(days)
                and on (target, location)
                probe_http_ssl == 1
                """,
            pending: "10m",
            labels: [("severity", "ticket")],
            annotations: [
                ("summary", "{{ $labels.target }} ({{ $labels.location }}): TLS certificate expires in {{ $value | humanize }} days"),
                ("description", "The earliest expiry in the certificate chain the target served is less than \(days) days away (\(why))."),
            ] + links)
    }
}
