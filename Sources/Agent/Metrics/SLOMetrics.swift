import Foundation
import PhaseWatchCore
import Prometheus

/// The SLO series of `/metrics` (contract §5), made from one `SLOSnapshot` on a registry of
/// their own and rendered once per snapshot: a scrape shows exactly the numbers the API shows
/// for the same snapshot, and a removed target's series go with the snapshot that drops it.
enum SLOMetrics {
    static func render(_ targets: [TargetSLO], asOf: Date, location: String) -> String {
        let registry = PrometheusCollectorRegistry()
        func gauge(_ name: String, _ unit: String, _ help: String, _ labels: [(String, String)], _ value: Double) {
            registry.makeGauge(descriptor: .init(metricName: name, unitName: unit, helpText: help), labels: labels).set(to: value)
        }
        gauge("phasewatch_slo_snapshot_timestamp", "seconds", "Unix time the SLO series below were computed for.",
              [("location", location)], asOf.timeIntervalSince1970)
        for target in targets {
            let base = [("target", target.target), ("location", location)]
            for slo in target.slos {
                let labels = base + [("slo", slo.slo.rawValue)]
                gauge("phasewatch_slo_objective", "ratio", "The SLO's objective.", labels, slo.objective)
                for (window, value) in slo.sli.sorted(by: { $0.key < $1.key }) {
                    gauge("phasewatch_sli", "ratio", "Good probes over all probes in the window (absent without probes).",
                          labels + [("window", window)], value)
                }
                if let remaining = slo.errorBudget.remaining {
                    gauge("phasewatch_slo_error_budget_remaining", "ratio",
                          "Share of the SLO window's error budget left (below 0 when overspent).", labels, remaining)
                }
                if let consumed = slo.errorBudget.consumed {
                    gauge("phasewatch_slo_error_budget_consumed", "ratio",
                          "Share of the SLO window's error budget used (above 1 when overspent).", labels, consumed)
                }
                for (phase, value) in slo.budgetByPhase.sorted(by: { $0.key < $1.key }) {
                    gauge("phasewatch_slo_budget_by_phase", "ratio",
                          "Share of the SLO window's error budget used by probes that failed in the phase (too_slow: worked but slower than the threshold).",
                          labels + [("phase", phase)], value)
                }
                for (window, value) in slo.burnRate.sorted(by: { $0.key < $1.key }) {
                    gauge("phasewatch_slo_burn_rate", "", "How fast the error budget burns over the window (1 = exactly on budget).",
                          labels + [("window", window)], value)
                }
                for alert in slo.alerts {
                    gauge("phasewatch_slo_alert_firing", "", "Whether the multiwindow burn-rate alert fires (1) or not (0).",
                          labels + [("severity", alert.severity.rawValue), ("long", alert.long), ("short", alert.short)],
                          alert.firing ? 1 : 0)
                }
            }
        }
        return registry.emitToString() + quantiles(targets, location: location)
    }

    /// `phasewatch_latency_quantile_seconds{phase,quantile,window}` as a summary family (a
    /// gauge may not carry a `quantile` label; promtool rejects it). swift-prometheus has no
    /// summary type, so this family is written here; it has no _sum or _count (the sketches
    /// keep neither), which the text format allows. Label values need no escaping: target
    /// names and locations are validated to [a-zA-Z0-9_.-], the rest are our own words.
    static func quantiles(_ targets: [TargetSLO], location: String) -> String {
        var out = """
            # HELP phasewatch_latency_quantile_seconds Latency quantile of successful probes over the window (phase="total": whole probe).
            # TYPE phasewatch_latency_quantile_seconds summary

            """
        var any = false
        for target in targets {
            for window in target.latency {
                let parts = [("total", window.total)] + window.phases.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }
                for (phase, quantiles) in parts {
                    for (quantile, value) in quantiles.labelled {
                        any = true
                        out += "phasewatch_latency_quantile_seconds{target=\"\(target.target)\",location=\"\(location)\","
                            + "phase=\"\(phase)\",quantile=\"\(quantile)\",window=\"\(window.window)\"} \(value)\n"
                    }
                }
            }
        }
        return any ? out : ""
    }
}
