import Foundation
import PhaseWatchCore
import PrometheusModel

/// The SLO series of `/metrics` (docs/metrics.md), written from the engine's latest
/// `SLOSnapshot` once per snapshot and format (`AgentMetrics` keeps the text until the next
/// one): a scrape shows exactly the numbers the API shows for the same snapshot, and a removed
/// target's series go with the snapshot that drops it.
enum SLOMetrics {
    /// Optional: config `metrics.latency_quantiles`.
    static let latencyQuantileName = "phasewatch_latency_quantile_seconds"

    /// The families in the order `/metrics` shows them, each written for every target before
    /// the next (the format wants a family's samples together).
    enum Family: CaseIterable {
        case objective, sli, budgetRemaining, budgetConsumed, budgetByPhase, burnRate, alertFiring, coverage, latencyQuantile

        var name: String {
            switch self {
            case .objective: "phasewatch_slo_objective_ratio"
            case .sli: "phasewatch_sli_ratio"
            case .budgetRemaining: "phasewatch_slo_error_budget_remaining_ratio"
            case .budgetConsumed: "phasewatch_slo_error_budget_consumed_ratio"
            case .budgetByPhase: "phasewatch_slo_budget_by_phase_ratio"
            case .burnRate: "phasewatch_slo_burn_rate"
            case .alertFiring: "phasewatch_slo_alert_firing"
            case .coverage: "phasewatch_slo_coverage_ratio"
            case .latencyQuantile: SLOMetrics.latencyQuantileName
            }
        }

        var help: String {
            switch self {
            case .objective: "The SLO's objective."
            case .sli: "Good probes over all probes in the window (absent without probes)."
            case .budgetRemaining: "Share of the SLO window's error budget left (below 0 when overspent)."
            case .budgetConsumed: "Share of the SLO window's error budget used (above 1 when overspent)."
            case .budgetByPhase:
                "Share of the SLO window's error budget used by probes that failed in the phase (too_slow: worked but slower than the threshold)."
            case .burnRate: "How fast the error budget burns over the window (1 = exactly on budget)."
            case .alertFiring: "Whether the multiwindow burn-rate alert fires (1) or not (0)."
            case .coverage: "Probes over the SLO window divided by the slots its configured time holds (at most 1)."
            case .latencyQuantile: "Latency quantile of successful probes over the window (phase=\"total\": whole probe)."
            }
        }

        /// A summary family (a gauge may not carry a `quantile` label; promtool rejects it),
        /// without _sum or _count: the sketches keep neither, which the format allows.
        var type: String { self == .latencyQuantile ? "summary" : "gauge" }
    }

    /// Whether `options` shows the family at all.
    static func shows(_ family: Family, _ options: MetricsConfig) -> Bool {
        switch family {
        case .latencyQuantile: options.latencyQuantiles
        case .budgetConsumed, .budgetByPhase: options.budgetDetail
        default: true
        }
    }

    /// The SLI windows shown: by default the SLO window only.
    static func sli(_ slo: SLOStatus, allWindows: Bool) -> [String: Double] {
        if allWindows { return slo.sli }
        return slo.sli[slo.window].map { [slo.window: $0] } ?? [:]
    }

    /// The burn-rate windows shown: by default the long windows of the page alerts (the burn
    /// over the SLO window is the consumed budget, 1 − remaining).
    static func burnRate(_ slo: SLOStatus, allWindows: Bool) -> [String: Double] {
        if allWindows { return slo.burnRate }
        var values: [String: Double] = [:]
        for alert in slo.alerts where alert.severity == .page {
            if let value = slo.burnRate[alert.long] { values[alert.long] = value }
        }
        return values
    }

    /// The alerts shown: by default the page alerts.
    static func shows(_ alert: SLOStatus.Alert, allWindows: Bool) -> Bool {
        allWindows || alert.severity == .page
    }

    /// The same series as `write`, for the protobuf format: every family `options` shows, each
    /// with every target's metrics.
    static func protobufFamilies(_ snapshot: SLOSnapshot, location: String, options: MetricsConfig)
        -> [(name: String, type: String, help: String, metrics: [PBMetric])]
    {
        typealias P = ProtobufExposition
        let locationLabel = P.label("location", location)
        var families: [(name: String, type: String, help: String, metrics: [PBMetric])] = [
            ("phasewatch_slo_snapshot_timestamp_seconds", "gauge", "Unix time the SLO series below were computed for.",
             [P.gauge([locationLabel], snapshot.asOf.timeIntervalSince1970)])
        ]
        let targets = snapshot.order.compactMap { name in snapshot.targets[name].map { ($0, [P.label("target", name), locationLabel]) } }
        for family in Family.allCases where shows(family, options) {
            var metrics: [PBMetric] = []
            for (target, labels) in targets {
                if family == .latencyQuantile {
                    for window in target.latency {
                        for (phase, q) in [("total", window.total)] + window.phases.sorted(by: { $0.key < $1.key }) {
                            let quantiles = [(0.5, q.p50), (0.9, q.p90), (0.95, q.p95), (0.99, q.p99)].compactMap { rank, value in
                                value.map { v -> Io_Prometheus_Client_Quantile in
                                    var quantile = Io_Prometheus_Client_Quantile()
                                    quantile.quantile = rank
                                    quantile.value = v
                                    return quantile
                                }
                            }
                            guard !quantiles.isEmpty else { continue }
                            var metric = PBMetric()
                            metric.label = labels + [P.label("phase", phase), P.label("window", window.window)]
                            // The sketches keep no sum: NaN says so (protobuf summaries always carry one).
                            metric.summary.sampleCount = UInt64(q.count)
                            metric.summary.sampleSum = .nan
                            metric.summary.quantile = quantiles
                            metrics.append(metric)
                        }
                    }
                    continue
                }
                for slo in target.slos {
                    let sloLabels = labels + [P.label("slo", slo.slo.rawValue)]
                    func keyed(_ values: [String: Double], _ key: String) {
                        for (k, v) in values.sorted(by: { $0.key < $1.key }) { metrics.append(P.gauge(sloLabels + [P.label(key, k)], v)) }
                    }
                    switch family {
                    case .objective: metrics.append(P.gauge(sloLabels, slo.objective))
                    case .sli: keyed(sli(slo, allWindows: options.sloWindows), "window")
                    case .budgetRemaining: if let v = slo.errorBudget.remaining { metrics.append(P.gauge(sloLabels, v)) }
                    case .budgetConsumed: if let v = slo.errorBudget.consumed { metrics.append(P.gauge(sloLabels, v)) }
                    case .budgetByPhase: keyed(slo.budgetByPhase, "phase")
                    case .burnRate: keyed(burnRate(slo, allWindows: options.sloWindows), "window")
                    case .alertFiring:
                        for alert in slo.alerts where shows(alert, allWindows: options.sloWindows) {
                            metrics.append(P.gauge(sloLabels + [
                                P.label("severity", alert.severity.rawValue), P.label("long", alert.long), P.label("short", alert.short),
                            ], alert.firing ? 1 : 0))
                        }
                    case .coverage: if let v = slo.coverage { metrics.append(P.gauge(sloLabels, v)) }
                    case .latencyQuantile: break
                    }
                }
            }
            families.append((family.name, family.type, family.help, metrics))
        }
        return families
    }

    /// `phasewatch_slo_snapshot_timestamp_seconds`, then every family `options` shows for every
    /// target.
    static func write(_ snapshot: SLOSnapshot, location: String, options: MetricsConfig, into out: inout ExpositionWriter) {
        let timestamp = "phasewatch_slo_snapshot_timestamp_seconds"
        out.family(timestamp, type: "gauge", help: "Unix time the SLO series below were computed for.")
        out.sample(ExpositionWriter.open(timestamp), Array(ExpositionWriter.label("location", location, leadingComma: false).utf8),
                   ExpositionWriter.close(), value: snapshot.asOf.timeIntervalSince1970)
        let locationLabel = ExpositionWriter.label("location", location)
        let targets = snapshot.order.compactMap { name in
            snapshot.targets[name].map { ($0, Array((ExpositionWriter.label("target", name, leadingComma: false) + locationLabel).utf8)) }
        }
        var lines = SLOLines(allWindows: options.sloWindows)
        for family in Family.allCases where shows(family, options) {
            out.family(family.name, type: family.type, help: family.help)
            let open = ExpositionWriter.open(family.name)
            for i in targets.indices {  // by index: iterating would copy each target's SLOs
                lines.write(family, targets[i].0, open: open, labels: targets[i].1, into: &out)
            }
        }
    }
}

/// Writes one target's lines of one SLO family. The label text a line needs (`,slo=…,window=…} `)
/// is made the first time a scrape meets it and kept for the next targets, which nearly always
/// have the same SLOs, windows, phases and alerts: a line then costs a dictionary lookup for
/// its value, three byte copies and the number.
private struct SLOLines {
    /// Every window and alert (`metrics.slo_windows`), or by default only what says where the
    /// SLO stands: the SLI over the SLO window, the burn rate over the page alerts' long
    /// windows, the page alerts.
    let allWindows: Bool
    /// Per SLO kind: the SLI windows, the burn-rate windows, the budget phases, the alerts.
    private var sli: [SLOStatus.Kind: LineSuffixCache] = [:]
    private var burn: [SLOStatus.Kind: LineSuffixCache] = [:]
    private var byPhase: [SLOStatus.Kind: LineSuffixCache] = [:]
    private var alertCloses: [AlertKey: [UInt8]] = [:]
    private struct AlertKey: Hashable {
        let slo: SLOStatus.Kind
        let severity: BurnRateAlert.Severity
        let long: String, short: String
    }
    /// Per latency window (in the snapshot's order): each phase's quantile lines.
    private var latency: [(window: String, phases: LineSuffixCache)] = []

    private static let sloPairs = Dictionary(uniqueKeysWithValues: SLOStatus.Kind.allCases.map { ($0, ExpositionWriter.label("slo", $0.rawValue)) })
    private static let sloCloses = sloPairs.mapValues { ExpositionWriter.close($0) }
    /// The order of `writeQuantiles`' lines.
    private static let quantiles = ["0.5", "0.9", "0.95", "0.99"]

    init(allWindows: Bool) {
        self.allWindows = allWindows
    }

    private func sliValues(_ slo: SLOStatus) -> [String: Double] { SLOMetrics.sli(slo, allWindows: allWindows) }
    private func burnValues(_ slo: SLOStatus) -> [String: Double] { SLOMetrics.burnRate(slo, allWindows: allWindows) }

    mutating func write(_ family: SLOMetrics.Family, _ target: TargetSLO, open: [UInt8], labels: [UInt8], into out: inout ExpositionWriter) {
        if family == .latencyQuantile { return writeLatency(target, open, labels, &out) }
        for i in target.slos.indices { write(family, target.slos[i], open, labels, &out) }
    }

    private mutating func write(_ family: SLOMetrics.Family, _ slo: SLOStatus, _ open: [UInt8], _ labels: [UInt8], _ out: inout ExpositionWriter) {
        let kind = slo.slo
        switch family {
        case .objective: out.sample(open, labels, Self.sloCloses[kind]!, value: slo.objective)
        case .sli: sli[kind, default: LineSuffixCache(label: "window", after: Self.sloPairs[kind]!)].write(sliValues(slo), open, labels, &out)
        case .budgetRemaining:
            if let value = slo.errorBudget.remaining { out.sample(open, labels, Self.sloCloses[kind]!, value: value) }
        case .budgetConsumed:
            if let value = slo.errorBudget.consumed { out.sample(open, labels, Self.sloCloses[kind]!, value: value) }
        case .budgetByPhase:
            byPhase[kind, default: LineSuffixCache(label: "phase", after: Self.sloPairs[kind]!)].write(slo.budgetByPhase, open, labels, &out)
        case .burnRate: burn[kind, default: LineSuffixCache(label: "window", after: Self.sloPairs[kind]!)].write(burnValues(slo), open, labels, &out)
        case .alertFiring: writeAlerts(slo, open, labels, &out)
        case .coverage:
            if let value = slo.coverage { out.sample(open, labels, Self.sloCloses[kind]!, value: value) }
        case .latencyQuantile: break
        }
    }

    private mutating func writeAlerts(_ slo: SLOStatus, _ open: [UInt8], _ labels: [UInt8], _ out: inout ExpositionWriter) {
        for alert in slo.alerts where SLOMetrics.shows(alert, allWindows: allWindows) {
            let key = AlertKey(slo: slo.slo, severity: alert.severity, long: alert.long, short: alert.short)
            if alertCloses[key] == nil {
                alertCloses[key] = ExpositionWriter.close(Self.sloPairs[slo.slo]! + ExpositionWriter.label("severity", alert.severity.rawValue)
                    + ExpositionWriter.label("long", alert.long) + ExpositionWriter.label("short", alert.short))
            }
            out.sample(open, labels, alertCloses[key]!, value: alert.firing ? 1 : 0)
        }
    }

    /// `phase="total"` first, then the phases in name order, each with its four quantiles.
    private mutating func writeLatency(_ target: TargetSLO, _ open: [UInt8], _ labels: [UInt8], _ out: inout ExpositionWriter) {
        for (i, window) in target.latency.enumerated() {
            if i >= latency.count || latency[i].window != window.window {
                let entry = (window.window, LineSuffixCache(label: "phase", after: "", quantiles: Self.quantiles, window: window.window))
                if i < latency.count { latency[i] = entry } else { latency.append(entry) }
            }
            latency[i].phases.writeQuantiles(total: window.total, phases: window.phases, open, labels, &out)
        }
    }
}

/// The sorted keys of a target's per-window (or per-phase) values with the label text that ends
/// each key's line (its "close"), kept from one target for the next: most targets have the same
/// keys, so the text is built once per scrape, not once per line.
private struct LineSuffixCache {
    let label: String
    /// Label pairs before this one (`,slo="latency"`).
    let after: String
    /// For quantile lines: the quantile label values and the window, which come after the key.
    let quantiles: [String]
    let window: String
    private var keys: [String] = []
    /// One close per key; for quantile lines, one per key and quantile.
    private var closes: [[UInt8]] = []

    init(label: String, after: String, quantiles: [String] = [], window: String = "") {
        self.label = label
        self.after = after
        self.quantiles = quantiles
        self.window = window
    }

    /// One line per value, keys in name order (a target with keys the previous one lacked
    /// gets its own order, and its keys are kept for the next).
    mutating func write(_ values: [String: Double], _ open: [UInt8], _ labels: [UInt8], _ out: inout ExpositionWriter) {
        if values.count != keys.count { remake(values.keys.sorted()) }
        var written = 0
        for i in keys.indices {
            if let value = values[keys[i]] {
                out.sample(open, labels, closes[i], value: value)
                written += 1
            }
        }
        guard written < values.count else { return }
        // As many keys as the previous target, but other ones: the rest, then this target's keys.
        let done = Set(keys.filter { values[$0] != nil })
        remake(values.keys.sorted())
        for i in keys.indices where !done.contains(keys[i]) {
            out.sample(open, labels, closes[i], value: values[keys[i]]!)
        }
    }

    /// `total` and each phase's quantiles, quantile by quantile; a quantile without a value
    /// (no successful probe) has no line.
    mutating func writeQuantiles(total: LatencyQuantiles.Quantiles, phases: [String: LatencyQuantiles.Quantiles],
                                 _ open: [UInt8], _ labels: [UInt8], _ out: inout ExpositionWriter) {
        if keys.count != phases.count + 1 || !phases.keys.allSatisfy({ keys.contains($0) }) {
            remake(["total"] + phases.keys.sorted())
        }
        for (k, key) in keys.enumerated() {
            guard let q = key == "total" ? total : phases[key] else { continue }
            func line(_ j: Int, _ value: Double?) {
                if let value { out.sample(open, labels, closes[k * quantiles.count + j], value: value) }
            }
            line(0, q.p50)
            line(1, q.p90)
            line(2, q.p95)
            line(3, q.p99)
        }
    }

    private mutating func remake(_ keys: [String]) {
        self.keys = keys
        closes = keys.flatMap { key in
            let pairs = after + ExpositionWriter.label(label, key)
            if quantiles.isEmpty { return [ExpositionWriter.close(pairs)] }
            return quantiles.map { ExpositionWriter.close(pairs + ExpositionWriter.label("quantile", $0) + ExpositionWriter.label("window", window)) }
        }
    }
}
