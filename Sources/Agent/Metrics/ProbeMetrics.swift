import PhaseWatchCore
import Probing
import Prometheus
import Synchronization

/// Every Prometheus series phasewatch exposes (contract §5), on one swift-prometheus registry.
///
/// Per target: the blackbox_exporter-compatible gauges of the last probe, counters, and
/// histograms. Series of removed targets are unregistered on reload. (swift-prometheus 2.4.1
/// escapes label values itself; the exposition test checks that with promtool.)
public final class ProbeMetrics: Sendable {
    /// Latency buckets (seconds) for network phases: 0.5 ms … 30 s.
    public static let phaseBuckets: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]

    let registry = PrometheusCollectorRegistry()
    private let location: String
    private let targets = Mutex<[String: TargetSeries]>([:])
    /// Buckets of `phasewatch_probe_duration_seconds`: `phaseBuckets` plus every latency-SLO threshold.
    private let durationBuckets = Mutex<[Double]>(phaseBuckets)
    let agent: AgentSeries

    public init(location: String) {
        self.location = location
        agent = AgentSeries(registry: registry, location: location)
    }

    /// Registers the series of `targets` and removes those of targets no longer configured.
    public func configure(_ list: [Target]) {
        let thresholds = list.compactMap { $0.slo?.latency?.threshold.seconds }
        let buckets = Array(Set(Self.phaseBuckets + thresholds)).sorted()
        let bucketsChanged = durationBuckets.withLock { current in
            defer { current = buckets }
            return current != buckets
        }
        targets.withLock { series in
            let wanted = Set(list.map(\.name))
            for (name, old) in series where !wanted.contains(name) || bucketsChanged {
                old.unregister(from: registry, keepingCounters: wanted.contains(name))
                if !wanted.contains(name) { series[name] = nil }
            }
            for target in list {
                if let existing = series[target.name], !bucketsChanged {
                    existing.updateInfo(target, registry: registry)
                    continue
                }
                let counters = series[target.name]?.counters
                series[target.name] = TargetSeries(
                    target: target, location: location, registry: registry, durationBuckets: buckets, counters: counters)
            }
        }
    }

    /// Records one finished probe and the target's state after it. Quick and non-blocking:
    /// called on the curl loop's executor.
    public func observe(_ result: ProbeResult, state: TargetState? = nil) {
        let series = targets.withLock { $0[result.target] }
        series?.observe(result, registry: registry)
        if let state { series?.setState(state) }
    }

    /// Sets a target's state series (e.g. after its series were made anew by a reload).
    public func setState(target: String, state: TargetState) {
        targets.withLock { $0[target] }?.setState(state)
    }

    /// After a restart: the last stored probe of a target fills its last-probe gauges and state
    /// (counters and histograms start from zero, as counters do after a restart).
    public func observeRestored(_ result: ProbeResult, state: TargetState?) {
        let series = targets.withLock { $0[result.target] }
        series?.setLast(result, registry: registry)
        if let state { series?.setState(state) }
    }

    /// The exposition text (Prometheus format 0.0.4).
    public func render() -> String {
        registry.emitToString()
    }
}

/// Agent-wide series: build info, scheduling lag, storage writes, config reloads.
struct AgentSeries: Sendable {
    let schedulerLag: ValueHistogram
    let storageWrite: ValueHistogram
    let sloRefresh: ValueHistogram
    let reloadSuccessful: Gauge
    let reloadTimestamp: Gauge
    let probesInFlight: Gauge
    let skipped: Counter
    let storageErrors: Counter

    init(registry: PrometheusCollectorRegistry, location: String) {
        let labels = [("location", location)]
        registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_build_info", unitName: "", helpText: "phasewatch build; the value is always 1."),
            labels: labels + [("version", PhaseWatchVersion.current)]
        ).set(to: 1)
        schedulerLag = registry.makeValueHistogram(
            descriptor: .init(metricName: "phasewatch_scheduler_lag", unitName: "seconds",
                              helpText: "Delay between a probe's scheduled time and its start."),
            labels: labels, buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5])
        storageWrite = registry.makeValueHistogram(
            descriptor: .init(metricName: "phasewatch_storage_write", unitName: "seconds",
                              helpText: "Time to write one batch of probe results to SQLite."),
            labels: labels, buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5])
        sloRefresh = registry.makeValueHistogram(
            descriptor: .init(metricName: "phasewatch_slo_refresh", unitName: "seconds",
                              helpText: "Time to compute the SLO status of every target from the store."),
            labels: labels, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        reloadSuccessful = registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_config_last_reload_successful", unitName: "",
                              helpText: "Whether the last configuration reload succeeded (1) or was rejected (0)."),
            labels: labels)
        reloadTimestamp = registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_config_last_reload_success_timestamp", unitName: "seconds",
                              helpText: "Unix time of the last successful configuration load."),
            labels: labels)
        probesInFlight = registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_probes_in_flight", unitName: "", helpText: "Probes running now."),
            labels: labels)
        skipped = registry.makeCounter(
            descriptor: .init(metricName: "phasewatch_scheduler_skipped_runs", unitName: "total",
                              helpText: "Scheduled runs skipped because the previous probe of the target was still running."),
            labels: labels)
        storageErrors = registry.makeCounter(
            descriptor: .init(metricName: "phasewatch_storage_write_errors", unitName: "total",
                              helpText: "Batches of probe results that could not be written (kept and retried)."),
            labels: labels)
    }
}
