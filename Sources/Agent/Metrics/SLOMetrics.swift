import Foundation
import PhaseWatchCore

/// The SLO series of `/metrics` (contract §5), written at each scrape from the engine's latest
/// `SLOSnapshot`: a scrape shows exactly the numbers the API shows for the same snapshot, and a
/// removed target's series go with the snapshot that drops it. (Kept as text they would cost
/// ~10 KB of memory per target; written from the snapshot they cost a few µs per target.)
enum SLOMetrics {
    /// One SLO family: how one target's samples are written, given its escaped labels.
    struct Family: Sendable {
        let name: String
        let type: String
        let help: String
        let write: @Sendable (TargetSLO, String, inout ExpositionWriter) -> Void
    }

    /// `phasewatch_slo_snapshot_timestamp_seconds`, then every family for every target
    /// (`phasewatch_latency_quantile_seconds` only with `latencyQuantiles`).
    static func write(
        _ snapshot: SLOSnapshot, location: String, latencyQuantiles: Bool, into out: inout ExpositionWriter,
        flush: (inout ExpositionWriter) async throws -> Void
    ) async throws {
        out.family("phasewatch_slo_snapshot_timestamp_seconds", type: "gauge", help: "Unix time the SLO series below were computed for.")
        out.sample("phasewatch_slo_snapshot_timestamp_seconds", labels: ExpositionWriter.label("location", location, leadingComma: false),
                   value: snapshot.asOf.timeIntervalSince1970)
        let targets = snapshot.order.compactMap { name in
            snapshot.targets[name].map { ($0, ExpositionWriter.label("target", name, leadingComma: false) + ExpositionWriter.label("location", location)) }
        }
        for family in families where latencyQuantiles || family.name != latencyQuantileName {
            out.family(family.name, type: family.type, help: family.help)
            for (target, labels) in targets {
                family.write(target, labels, &out)
                try await flush(&out)
            }
        }
    }

    /// Optional: config `metrics.latency_quantiles`.
    static let latencyQuantileName = "phasewatch_latency_quantile_seconds"

    /// Each SLO's own labels (`,slo="availability"`) with the SLO.
    private static func perSLO(_ target: TargetSLO, _ body: (SLOStatus, String) -> Void) {
        for slo in target.slos { body(slo, slo.slo == .availability ? availabilityLabel : latencyLabel) }
    }

    /// Label pairs of the few phase and quantile values there are, made once.
    private static let phaseLabels = Dictionary(uniqueKeysWithValues: (Phase.allCases.map(\.rawValue) + ["total"]).map {
        ($0, ExpositionWriter.label("phase", $0))
    })
    private static let quantileLabels = Dictionary(uniqueKeysWithValues: ["0.5", "0.9", "0.95", "0.99"].map {
        ($0, ExpositionWriter.label("quantile", $0))
    })

    // Made once: label strings longer than 15 bytes are heap allocations in Swift.
    private static let availabilityLabel = ExpositionWriter.label("slo", SLOStatus.Kind.availability.rawValue)
    private static let latencyLabel = ExpositionWriter.label("slo", SLOStatus.Kind.latency.rawValue)

    /// A gauge with one sample per SLO (none where `value` is nil).
    private static func perSLO(_ name: String, help: String, _ value: @escaping @Sendable (SLOStatus) -> Double?) -> Family {
        Family(name: name, type: "gauge", help: help) { target, labels, out in
            perSLO(target) { slo, sloLabel in
                if let value = value(slo) { out.sample(name, labels: labels, extra: sloLabel, value: value) }
            }
        }
    }

    /// A gauge with one sample per SLO and window, windows in label order.
    private static func perWindow(_ name: String, help: String, _ values: @escaping @Sendable (SLOStatus) -> [String: Double]) -> Family {
        Family(name: name, type: "gauge", help: help) { target, labels, out in
            perSLO(target) { slo, sloLabel in
                for (window, value) in values(slo).sorted(by: { $0.key < $1.key }) {
                    out.sample(name, labels: labels, extra: sloLabel, extra2: ExpositionWriter.label("window", window), value: value)
                }
            }
        }
    }

    static let families: [Family] = [
        perSLO("phasewatch_slo_objective_ratio", help: "The SLO's objective.") { $0.objective },
        perWindow("phasewatch_sli_ratio", help: "Good probes over all probes in the window (absent without probes).") { $0.sli },
        perSLO("phasewatch_slo_error_budget_remaining_ratio",
               help: "Share of the SLO window's error budget left (below 0 when overspent).") { $0.errorBudget.remaining },
        perSLO("phasewatch_slo_error_budget_consumed_ratio",
               help: "Share of the SLO window's error budget used (above 1 when overspent).") { $0.errorBudget.consumed },
        Family(name: "phasewatch_slo_budget_by_phase_ratio", type: "gauge",
               help: "Share of the SLO window's error budget used by probes that failed in the phase (too_slow: worked but slower than the threshold).") { target, labels, out in
            perSLO(target) { slo, sloLabel in
                for (phase, value) in slo.budgetByPhase.sorted(by: { $0.key < $1.key }) {
                    out.sample("phasewatch_slo_budget_by_phase_ratio", labels: labels, extra: sloLabel,
                               extra2: ExpositionWriter.label("phase", phase), value: value)
                }
            }
        },
        perWindow("phasewatch_slo_burn_rate", help: "How fast the error budget burns over the window (1 = exactly on budget).") { $0.burnRate },
        Family(name: "phasewatch_slo_alert_firing", type: "gauge",
               help: "Whether the multiwindow burn-rate alert fires (1) or not (0).") { target, labels, out in
            perSLO(target) { slo, sloLabel in
                for alert in slo.alerts {
                    out.sample("phasewatch_slo_alert_firing", labels: labels, extra: sloLabel,
                               extra2: ExpositionWriter.label("severity", alert.severity.rawValue) + ExpositionWriter.label("long", alert.long)
                                   + ExpositionWriter.label("short", alert.short),
                               value: alert.firing ? 1 : 0)
                }
            }
        },
        // A summary family (a gauge may not carry a `quantile` label; promtool rejects it),
        // without _sum or _count: the sketches keep neither, which the format allows.
        Family(name: latencyQuantileName, type: "summary",
               help: "Latency quantile of successful probes over the window (phase=\"total\": whole probe).") { target, labels, out in
            for window in target.latency {
                let windowLabel = ExpositionWriter.label("window", window.window)
                let parts = [("total", window.total)] + window.phases.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }
                for (phase, quantiles) in parts {
                    let phaseLabel = phaseLabels[phase] ?? ExpositionWriter.label("phase", phase)
                    for (quantile, value) in quantiles.labelled {
                        out.sample(latencyQuantileName, labels: labels, extra: phaseLabel,
                                   extra2: (quantileLabels[quantile] ?? ExpositionWriter.label("quantile", quantile)) + windowLabel, value: value)
                    }
                }
            }
        },
    ]
}
