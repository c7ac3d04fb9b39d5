import PhaseWatchCore
import Prometheus
import Synchronization

/// The series of one target. Gauges describe the last probe (blackbox_exporter's names and
/// meaning); counters and histograms accumulate.
final class TargetSeries: Sendable {
    struct Counters: Sendable {
        let success: Counter
        let failure: Counter
    }

    private let labels: [(String, String)]
    let counters: Counters
    private let phaseHistograms: [Phase: ValueHistogram]
    private let durationHistogram: ValueHistogram
    /// `phasewatch_target_state{state}`: 1 for the target's state, 0 for the others.
    private let stateGauges: [TargetState: Gauge]
    /// The last-probe gauges exist from the first result on: before it, a target has no last
    /// probe, and a 0 would read as a failure.
    private let last = Mutex<LastProbeGauges?>(nil)
    /// Series whose label values change with the data: registered on first sight, replaced on change.
    private let dynamic = Mutex<[String: (labelValue: String, metric: DynamicMetric)]>([:])

    enum DynamicMetric: Sendable {
        case gauge(Gauge)
        case counter(Counter)
    }

    init(target: Target, location: String, registry: PrometheusCollectorRegistry, durationBuckets: [Double], counters: Counters?) {
        let labels = [("target", target.name), ("location", location)]
        self.labels = labels
        var phaseHistograms: [Phase: ValueHistogram] = [:]
        for phase in Phase.network {
            phaseHistograms[phase] = registry.makeValueHistogram(
                descriptor: .init(metricName: "phasewatch_probe_phase_duration", unitName: "seconds",
                                  helpText: "Time spent in each phase, per probe that reached it."),
                labels: labels + [("phase", phase.rawValue)], buckets: ProbeMetrics.phaseBuckets)
        }
        self.phaseHistograms = phaseHistograms
        durationHistogram = registry.makeValueHistogram(
            descriptor: .init(metricName: "phasewatch_probe_duration", unitName: "seconds",
                              helpText: "Duration of successful probes; buckets include every latency-SLO threshold."),
            labels: labels, buckets: durationBuckets)
        var stateGauges: [TargetState: Gauge] = [:]
        for state in TargetState.allCases {
            let gauge = registry.makeGauge(
                descriptor: .init(metricName: "phasewatch_target_state", unitName: "",
                                  helpText: "The target's state (up, degraded, down, unknown): 1 for the current one."),
                labels: labels + [("state", state.rawValue)])
            gauge.set(to: state == .unknown ? 1 : 0)
            stateGauges[state] = gauge
        }
        self.stateGauges = stateGauges
        self.counters = counters ?? Counters(
            success: registry.makeCounter(
                descriptor: .init(metricName: "phasewatch_probes", unitName: "total", helpText: "Probes finished, by result."),
                labels: labels + [("result", "success")]),
            failure: registry.makeCounter(
                descriptor: .init(metricName: "phasewatch_probes", unitName: "total", helpText: "Probes finished, by result."),
                labels: labels + [("result", "failure")]))
        updateInfo(target, registry: registry)
    }

    /// `phasewatch_target_info`: the target's URL and settings as labels (no secrets: header
    /// values are never exposed, user info in the URL is masked).
    func updateInfo(_ target: Target, registry: PrometheusCollectorRegistry) {
        let info = [
            "url=" + URLRedaction.redacted(target.url), "method=" + target.method,
            "interval=" + PromDuration.format(target.interval),
        ].joined(separator: "\u{1}")
        setDynamic(key: "target_info", labelValue: info, registry: registry) { registry in
            .gauge(registry.makeGauge(
                descriptor: .init(metricName: "phasewatch_target_info", unitName: "", helpText: "A configured target; the value is always 1."),
                labels: self.labels + [
                    ("url", URLRedaction.redacted(target.url)),
                    ("method", target.method),
                    ("interval", PromDuration.format(target.interval)),
                ]))
        }
    }

    func setState(_ state: TargetState) {
        for (each, gauge) in stateGauges { gauge.set(to: each == state ? 1 : 0) }
    }

    /// The last-probe gauges and the TLS info series, from `r`.
    func setLast(_ r: ProbeResult, registry: PrometheusCollectorRegistry) {
        let gauges = last.withLock { last in
            if let last { return last }
            let made = LastProbeGauges(registry: registry, labels: labels)
            last = made
            return made
        }
        gauges.set(r)
        let tls = r.tls
        if let version = tls?.version {
            setDynamic(key: "tls_version", labelValue: version, registry: registry) { registry in
                .gauge(registry.makeGauge(
                    descriptor: .init(metricName: "probe_tls_version_info", unitName: "", helpText: "TLS version of the last probe; the value is 1."),
                    labels: self.labels + [("version", version)]))
            }
        }
        if let cipher = tls?.cipher {
            setDynamic(key: "tls_cipher", labelValue: cipher, registry: registry) { registry in
                .gauge(registry.makeGauge(
                    descriptor: .init(metricName: "probe_tls_cipher_info", unitName: "", helpText: "TLS cipher of the last probe; the value is 1."),
                    labels: self.labels + [("cipher", cipher)]))
            }
        }
    }

    func observe(_ r: ProbeResult, registry: PrometheusCollectorRegistry) {
        setLast(r, registry: registry)
        (r.success ? counters.success : counters.failure).increment()
        for phase in Phase.network {
            if let seconds = r.phases[phase] { phaseHistograms[phase]?.record(seconds) }
        }
        if r.success { durationHistogram.record(r.duration) }
        if let failure = r.failure {
            failureCounter(failure, registry: registry).increment()
        }
    }

    private func failureCounter(_ failure: Failure, registry: PrometheusCollectorRegistry) -> Counter {
        let key = "failure/\(failure.phase.rawValue)/\(failure.reason.rawValue)"
        let existing = dynamic.withLock { $0[key] }
        if case .counter(let counter)? = existing?.metric { return counter }
        let counter = registry.makeCounter(
            descriptor: .init(metricName: "phasewatch_probe_failures", unitName: "total",
                              helpText: "Failed probes by the phase they failed in and the reason."),
            labels: labels + [("phase", failure.phase.rawValue), ("reason", failure.reason.rawValue)])
        dynamic.withLock { $0[key] = ("", .counter(counter)) }
        return counter
    }

    /// An info-style series (value 1) whose label changes with the data: the old one is removed.
    private func setDynamic(
        key: String, labelValue: String, registry: PrometheusCollectorRegistry,
        make: (PrometheusCollectorRegistry) -> DynamicMetric
    ) {
        let current = dynamic.withLock { $0[key] }
        if current?.labelValue == labelValue { return }
        if case .gauge(let old)? = current?.metric { registry.unregisterGauge(old) }
        let metric = make(registry)
        if case .gauge(let gauge) = metric { gauge.set(to: 1) }
        dynamic.withLock { $0[key] = (labelValue, metric) }
    }

    /// Removes this target's series. Counters can be kept when the target stays (a reload that
    /// only changed histogram buckets), so its totals do not reset.
    func unregister(from registry: PrometheusCollectorRegistry, keepingCounters: Bool) {
        last.withLock { $0 }?.unregister(from: registry)
        for histogram in Array(phaseHistograms.values) + [durationHistogram] { registry.unregisterValueHistogram(histogram) }
        for gauge in stateGauges.values { registry.unregisterGauge(gauge) }
        for (_, entry) in dynamic.withLock({ $0 }) {
            switch entry.metric {
            case .gauge(let gauge): registry.unregisterGauge(gauge)
            case .counter(let counter): if !keepingCounters { registry.unregisterCounter(counter) }
            }
        }
        if !keepingCounters {
            registry.unregisterCounter(counters.success)
            registry.unregisterCounter(counters.failure)
        }
    }
}

/// blackbox_exporter's gauges, describing the last probe of one target.
final class LastProbeGauges: Sendable {
    let success, duration, statusCode, httpVersion, redirects, contentLength, ssl, ipProtocol, failedDueToRegex,
        dnsLookup: Gauge
    let phases: [Phase: Gauge]
    /// Certificate expiry exists only once a probe saw a certificate: a 0 for a plain-HTTP
    /// target would set off every "certificate expires soon" alert.
    private let expiry: Mutex<(earliest: Gauge, lastChain: Gauge)?> = Mutex(nil)
    private let registry: PrometheusCollectorRegistry
    private let labels: [(String, String)]

    init(registry: PrometheusCollectorRegistry, labels: [(String, String)]) {
        self.registry = registry
        self.labels = labels
        func gauge(_ name: String, _ unit: String, _ help: String, _ extra: [(String, String)] = []) -> Gauge {
            registry.makeGauge(descriptor: .init(metricName: name, unitName: unit, helpText: help), labels: labels + extra)
        }
        success = gauge("probe_success", "", "Whether the last probe succeeded (1) or failed (0).")
        duration = gauge("probe_duration", "seconds", "How long the last probe took.")
        statusCode = gauge("probe_http_status_code", "", "HTTP status of the last probe's final response (0 without one).")
        httpVersion = gauge("probe_http_version", "", "HTTP version of the last probe's final response.")
        redirects = gauge("probe_http_redirects", "", "Redirects the last probe followed.")
        contentLength = gauge("probe_http_content_length", "", "Content-Length of the last response (-1 when unknown).")
        ssl = gauge("probe_http_ssl", "", "Whether the last probe's final response came over TLS.")
        ipProtocol = gauge("probe_ip_protocol", "", "IP family of the last probe's connection (4 or 6).")
        failedDueToRegex = gauge("probe_failed_due_to_regex", "", "Whether the last probe failed a body regex.")
        dnsLookup = gauge("probe_dns_lookup_time", "seconds", "DNS lookup time of the last probe.")
        var phases: [Phase: Gauge] = [:]
        for phase in Phase.network {
            phases[phase] = gauge("probe_http_duration", "seconds", "Duration of each phase of the last probe's HTTP request.",
                                  [("phase", phase.rawValue)])
        }
        self.phases = phases
    }

    func set(_ r: ProbeResult) {
        success.set(to: r.success ? 1 : 0)
        duration.set(to: r.duration)
        for (phase, gauge) in phases { gauge.set(to: r.phases[phase] ?? 0) }
        dnsLookup.set(to: r.phases.resolve ?? 0)
        statusCode.set(to: Double(r.http?.status ?? 0))
        httpVersion.set(to: r.http.flatMap { Double($0.version) } ?? 0)
        redirects.set(to: Double(r.http?.redirects ?? 0))
        contentLength.set(to: Double(r.http?.contentLength ?? -1))
        ipProtocol.set(to: Double(r.ip?.family ?? 0))
        failedDueToRegex.set(to: r.failure?.reason == .bodyMatches || r.failure?.reason == .bodyNotMatches ? 1 : 0)
        ssl.set(to: r.tls?.version != nil ? 1 : 0)
        if let expiry = r.tls?.chainExpiry ?? r.tls?.certNotAfter {
            let gauges = self.expiry.withLock { gauges in
                if let gauges { return gauges }
                let made = (
                    earliest: registry.makeGauge(
                        descriptor: .init(metricName: "probe_ssl_earliest_cert_expiry", unitName: "",
                                          helpText: "Unix time the first certificate of the last probe's chain expires."),
                        labels: labels),
                    lastChain: registry.makeGauge(
                        descriptor: .init(metricName: "probe_ssl_last_chain_expiry_timestamp", unitName: "seconds",
                                          helpText: "Unix time the verified chain of the last probe expires (its earliest certificate)."),
                        labels: labels))
                gauges = made
                return made
            }
            gauges.earliest.set(to: expiry.timeIntervalSince1970)
            gauges.lastChain.set(to: expiry.timeIntervalSince1970)
        }
    }

    func unregister(from registry: PrometheusCollectorRegistry) {
        let expiry = self.expiry.withLock { $0 }
        for gauge in [success, duration, statusCode, httpVersion, redirects, contentLength, ssl, ipProtocol,
                      failedDueToRegex, dnsLookup] + Array(phases.values) + [expiry?.earliest, expiry?.lastChain].compactMap({ $0 }) {
            registry.unregisterGauge(gauge)
        }
    }
}
