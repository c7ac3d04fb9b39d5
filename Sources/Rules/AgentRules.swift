/// The alerts that watch the agents themselves: nothing else notices a stopped agent (its
/// targets' alerts go quiet, and burn-rate alerts resolve as their windows empty), a database
/// that refuses writes, lost history, a rejected reload, a stuck SLO engine, or rules printed
/// for an older config.
public enum AgentRules {
    public static let agentDownAlert = "PhaseWatchAgentDown"
    public static let storageNotWritableAlert = "PhaseWatchStorageNotWritable"
    public static let resultsDroppedAlert = "PhaseWatchResultsDropped"
    public static let reloadFailedAlert = "PhaseWatchConfigReloadFailed"
    public static let sloStaleAlert = "PhaseWatchSLOStale"
    public static let rulesOutOfDateAlert = "PhaseWatchRulesOutOfDate"
    public static let coverageLowAlert = "PhaseWatchProbeCoverageLow"

    /// Seconds without a new SLO snapshot before it counts as stale; the engine makes one
    /// every 15 s.
    public static let sloStaleSeconds = 300

    static func group(_ options: RuleOptions) -> RuleGroup {
        let job = PromQL.string(options.job)
        func links(_ alert: String, location: Bool = true) -> [(String, String)] {
            options.links(alert: alert, dashboard: .overview, variables: location ? ["location"] : [])
        }
        return RuleGroup(name: "phasewatch-agent", rules: [
            // `up` is 0 per stopped agent for as long as Prometheus is told to scrape it; the
            // absent() covers a job with no agent at all (never scraped, dropped by service
            // discovery, renamed) and is added only then, so one stopped agent alerts once.
            Rule(
                .alert(agentDownAlert),
                expr: """
                    up{job=\(job)} == 0
                    or on ()
                    absent(phasewatch_build_info{job=\(job)})
                    """,
                pending: "2m",
                labels: [("severity", "page")],
                annotations: [
                    ("summary", "{{ with $labels.instance }}phasewatch agent {{ . }} is down{{ else }}no phasewatch agent reports to job {{ $labels.job }}{{ end }}"),
                    ("description", """
                        Prometheus cannot scrape it, or finds no phasewatch_build_info in the job: nothing probes its targets, \
                        and their alerts stay silent.
                        """),
                ] + links(agentDownAlert, location: false)),
            Rule(
                .alert(storageNotWritableAlert),
                expr: "phasewatch_storage_writable == 0",
                pending: "5m",
                labels: [("severity", "page")],
                annotations: [
                    ("summary", "phasewatch ({{ $labels.location }}): the database refuses writes"),
                    ("description", """
                        Probing goes on, but results wait in memory (phasewatch_storage_pending_results) and are retried every second; \
                        past 1 000 000 the oldest are dropped, and a restart loses them. The agent's log says why (disk full, read-only, I/O error).
                        """),
                ] + links(storageNotWritableAlert)),
            Rule(
                .alert(resultsDroppedAlert),
                expr: "increase(phasewatch_storage_dropped_results_total[15m]) > 0",
                labels: [("severity", "page")],
                annotations: [
                    ("summary", "phasewatch ({{ $labels.location }}): probe results are being dropped"),
                    ("description", """
                        About {{ $value | printf \"%.0f\" }} results were discarded in the last 15 minutes because too many waited \
                        for the database: that history is lost for good, and SLOs computed from it miss those probes.
                        """),
                ] + links(resultsDroppedAlert)),
            Rule(
                .alert(reloadFailedAlert),
                expr: "phasewatch_config_last_reload_successful == 0",
                pending: "5m",
                labels: [("severity", "ticket")],
                annotations: [
                    ("summary", "phasewatch ({{ $labels.location }}): the last config reload was rejected"),
                    ("description", "The agent still runs the config it had before; the reload's errors are in its log and in the answer to POST /-/reload."),
                ] + links(reloadFailedAlert)),
            Rule(
                .alert(sloStaleAlert),
                expr: "time() - phasewatch_slo_snapshot_timestamp_seconds > \(sloStaleSeconds)",
                pending: "5m",
                labels: [("severity", "ticket")],
                annotations: [
                    ("summary", "phasewatch ({{ $labels.location }}): SLO numbers are {{ $value | humanizeDuration }} old"),
                    ("description", """
                        The SLO engine refreshes every 15 s; its phasewatch_slo_* series, /api/v1/slo and the status page \
                        still show an older snapshot (or the agent's clock is behind Prometheus's).
                        """),
                ] + links(sloStaleAlert)),
            // The generated file records slo:objective:ratio per SLO it knows: an SLO the agent
            // reports without one, or with another objective, was added or changed after the
            // rules were printed. The objectives are compared to a tolerance, not for equality:
            // the agent and the rules spell the same ratio with different digits.
            Rule(
                .alert(rulesOutOfDateAlert),
                expr: """
                    phasewatch_slo_objective_ratio
                    unless on (target, slo, location)
                    (
                      abs(
                        phasewatch_slo_objective_ratio
                        - on (target, slo) group_left ()
                        max by (target, slo) (slo:objective:ratio)
                      ) < 1e-9
                    )
                    """,
                pending: "15m",
                labels: [("severity", "ticket")],
                annotations: [
                    ("summary", "{{ $labels.target }} ({{ $labels.location }}): no rules for its {{ $labels.slo }} SLO"),
                    ("description", """
                        The agent reports the {{ $labels.slo }} SLO of {{ $labels.target }} with objective {{ $value | humanizePercentage }}, \
                        but no loaded rule records slo:objective:ratio with that objective: its burn-rate alerts do not exist. Print the rules again \
                        (phasewatch rules --output=FILE) and reload Prometheus.
                        """),
                ] + options.links(alert: rulesOutOfDateAlert, dashboard: .slo, variables: ["location", "target", "slo"])),
            // Each SLO's min_coverage is recorded with its other metadata (slo:min_coverage:ratio).
            Rule(
                .alert(coverageLowAlert),
                expr: """
                    phasewatch_slo_coverage_ratio
                    < on (target, slo) group_left ()
                    max by (target, slo) (slo:min_coverage:ratio)
                    """,
                pending: "15m",
                labels: [("severity", "ticket")],
                annotations: [
                    ("summary", "{{ $labels.target }} ({{ $labels.location }}): only {{ $value | humanizePercentage }} of its {{ $labels.slo }} SLO window was probed"),
                    ("description", """
                        Probes are missing from the SLO window (the agent was stopped or restarting, runs were skipped, results were \
                        dropped), so its SLI and budget describe less than the window and /api/v1/slo says "data": "insufficient". \
                        The API's unobserved_seconds is the time no agent ran.
                        """),
                ] + options.links(alert: coverageLowAlert, dashboard: .slo, variables: ["location", "target", "slo"])),
        ])
    }
}
