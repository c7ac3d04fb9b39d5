import Foundation
import PhaseWatchCore

/// The SLO series of `/metrics` (contract §5), written from one `SLOSnapshot` once per snapshot
/// (`ExpositionWriter`): a scrape shows exactly the numbers the API shows for the same
/// snapshot, and a removed target's series go with the snapshot that drops it.
enum SLOMetrics {
    static func render(_ targets: [TargetSLO], asOf: Date, location: String) -> String {
        var out = ExpositionWriter()
        out.add("phasewatch_slo_snapshot_timestamp_seconds", help: "Unix time the SLO series below were computed for.",
                labels: [("location", location)], value: asOf.timeIntervalSince1970)
        for target in targets {
            let base = [("target", target.target), ("location", location)]
            for slo in target.slos {
                let labels = base + [("slo", slo.slo.rawValue)]
                out.add("phasewatch_slo_objective_ratio", help: "The SLO's objective.", labels: labels, value: slo.objective)
                for (window, value) in slo.sli.sorted(by: { $0.key < $1.key }) {
                    out.add("phasewatch_sli_ratio", help: "Good probes over all probes in the window (absent without probes).",
                            labels: labels + [("window", window)], value: value)
                }
                if let remaining = slo.errorBudget.remaining {
                    out.add("phasewatch_slo_error_budget_remaining_ratio",
                            help: "Share of the SLO window's error budget left (below 0 when overspent).", labels: labels, value: remaining)
                }
                if let consumed = slo.errorBudget.consumed {
                    out.add("phasewatch_slo_error_budget_consumed_ratio",
                            help: "Share of the SLO window's error budget used (above 1 when overspent).", labels: labels, value: consumed)
                }
                for (phase, value) in slo.budgetByPhase.sorted(by: { $0.key < $1.key }) {
                    out.add("phasewatch_slo_budget_by_phase_ratio",
                            help: "Share of the SLO window's error budget used by probes that failed in the phase (too_slow: worked but slower than the threshold).",
                            labels: labels + [("phase", phase)], value: value)
                }
                for (window, value) in slo.burnRate.sorted(by: { $0.key < $1.key }) {
                    out.add("phasewatch_slo_burn_rate", help: "How fast the error budget burns over the window (1 = exactly on budget).",
                            labels: labels + [("window", window)], value: value)
                }
                for alert in slo.alerts {
                    out.add("phasewatch_slo_alert_firing", help: "Whether the multiwindow burn-rate alert fires (1) or not (0).",
                            labels: labels + [("severity", alert.severity.rawValue), ("long", alert.long), ("short", alert.short)],
                            value: alert.firing ? 1 : 0)
                }
            }
        }
        // A summary family (a gauge may not carry a `quantile` label; promtool rejects it),
        // without _sum or _count: the sketches keep neither, which the format allows.
        for target in targets {
            for window in target.latency {
                let parts = [("total", window.total)] + window.phases.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }
                for (phase, quantiles) in parts {
                    for (quantile, value) in quantiles.labelled {
                        out.add("phasewatch_latency_quantile_seconds", type: "summary",
                                help: "Latency quantile of successful probes over the window (phase=\"total\": whole probe).",
                                labels: [("target", target.target), ("location", location), ("phase", phase),
                                         ("quantile", quantile), ("window", window.window)],
                                value: value)
                    }
                }
            }
        }
        return out.text
    }
}
