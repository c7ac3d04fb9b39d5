import PhaseWatchCore

/// One metric family of the per-target series: its name, type, help, and how one target's
/// samples are written. `/metrics` writes each family for every target before the next family,
/// as the text format requires.
struct TargetFamily: Sendable {
    let name: String
    let type: String
    let help: String
    let write: @Sendable (borrowing TargetSeries.Values, String, inout ExpositionWriter) -> Void
}

/// The per-target families of contract §5, in the order `/metrics` shows them.
enum TargetFamilies {
    /// Optional: config `metrics.phase_histograms`.
    static let phaseHistogramName = "phasewatch_probe_phase_duration_seconds"
    static let phaseLabels = Phase.network.map { ExpositionWriter.label("phase", $0.rawValue) }
    static let stateLabels = TargetState.allCases.map { ($0, ExpositionWriter.label("state", $0.rawValue)) }

    /// A gauge of the last probe; absent before the first probe (a 0 would read as a failure).
    private static func last(_ name: String, _ help: String, _ value: @escaping @Sendable (TargetSeries.LastProbe) -> Double) -> TargetFamily {
        TargetFamily(name: name, type: "gauge", help: help) { v, labels, out in
            if let last = v.last { out.sample(name, labels: labels, value: value(last)) }
        }
    }

    /// A gauge that is 1 while `value` has a value, labelled with it.
    private static func info(_ name: String, _ label: String, _ help: String, _ value: @escaping @Sendable (TargetSeries.Values) -> String?) -> TargetFamily {
        TargetFamily(name: name, type: "gauge", help: help) { v, labels, out in
            if let text = value(v) { out.sample(name, labels: labels, extra: ExpositionWriter.label(label, text), value: 1) }
        }
    }

    private static func histogram(_ name: String, _ histogram: Histogram, labels: String, extra: String, into out: inout ExpositionWriter) {
        var cumulative: UInt64 = 0
        for (i, le) in histogram.buckets.le.enumerated() {
            cumulative += histogram.counts[i]
            out.sample(name + "_bucket", labels: labels, extra: extra, extra2: le, count: cumulative)
        }
        out.sample(name + "_sum", labels: labels, extra: extra, value: histogram.sum)
        out.sample(name + "_count", labels: labels, extra: extra, count: histogram.count)
    }

    static let all: [TargetFamily] = [
        last("probe_success", "Whether the last probe succeeded (1) or failed (0).") { $0.success ? 1 : 0 },
        last("probe_duration_seconds", "How long the last probe took.") { $0.duration },
        TargetFamily(name: "probe_http_duration_seconds", type: "gauge",
                     help: "Duration of each phase of the last probe's HTTP request.") { v, labels, out in
            guard let last = v.last else { return }
            for (i, phase) in phaseLabels.enumerated() {
                out.sample("probe_http_duration_seconds", labels: labels, extra: phase, value: last.phases[i])
            }
        },
        last("probe_http_status_code", "HTTP status of the last probe's final response (0 without one).") { $0.status },
        last("probe_http_version", "HTTP version of the last probe's final response.") { $0.httpVersion },
        last("probe_http_redirects", "Redirects the last probe followed.") { $0.redirects },
        last("probe_http_content_length", "Content-Length of the last response (-1 when unknown).") { $0.contentLength },
        last("probe_http_ssl", "Whether the last probe's final response came over TLS.") { $0.ssl ? 1 : 0 },
        // Certificate expiry exists only once a probe saw a certificate: a 0 for a plain-HTTP
        // target would set off every "certificate expires soon" alert.
        TargetFamily(name: "probe_ssl_earliest_cert_expiry", type: "gauge",
                     help: "Unix time the first certificate of the last probe's chain expires.") { v, labels, out in
            if let expiry = v.certExpiry { out.sample("probe_ssl_earliest_cert_expiry", labels: labels, value: expiry) }
        },
        TargetFamily(name: "probe_ssl_last_chain_expiry_timestamp_seconds", type: "gauge",
                     help: "Unix time the verified chain of the last probe expires (its earliest certificate).") { v, labels, out in
            if let expiry = v.certExpiry { out.sample("probe_ssl_last_chain_expiry_timestamp_seconds", labels: labels, value: expiry) }
        },
        info("probe_tls_version_info", "version", "TLS version of the last probe; the value is 1.") { $0.tlsVersion },
        info("probe_tls_cipher_info", "cipher", "TLS cipher of the last probe; the value is 1.") { $0.tlsCipher },
        last("probe_ip_protocol", "IP family of the last probe's connection (4 or 6).") { $0.ipProtocol },
        last("probe_failed_due_to_regex", "Whether the last probe failed a body regex.") { $0.failedDueToRegex ? 1 : 0 },
        last("probe_dns_lookup_time_seconds", "DNS lookup time of the last probe.") { $0.dnsLookup },
        TargetFamily(name: "phasewatch_probes_total", type: "counter", help: "Probes finished, by result.") { v, labels, out in
            out.sample("phasewatch_probes_total", labels: labels, extra: #",result="success""#, count: v.successes)
            out.sample("phasewatch_probes_total", labels: labels, extra: #",result="failure""#, count: v.failures)
        },
        TargetFamily(name: "phasewatch_probe_failures_total", type: "counter",
                     help: "Failed probes by the phase they failed in and the reason.") { v, labels, out in
            for (key, count) in v.failuresBy.sorted(by: { $0.key < $1.key }) {
                out.sample("phasewatch_probe_failures_total", labels: labels, extra: key, count: count)
            }
        },
        TargetFamily(name: phaseHistogramName, type: "histogram",
                     help: "Time spent in each phase, per probe that reached it.") { v, labels, out in
            for (i, phase) in phaseLabels.enumerated() {
                histogram("phasewatch_probe_phase_duration_seconds", v.phases[i], labels: labels, extra: phase, into: &out)
            }
        },
        TargetFamily(name: "phasewatch_probe_duration_seconds", type: "histogram",
                     help: "Duration of successful probes; buckets include every latency-SLO threshold.") { v, labels, out in
            histogram("phasewatch_probe_duration_seconds", v.duration, labels: labels, extra: "", into: &out)
        },
        TargetFamily(name: "phasewatch_target_state", type: "gauge",
                     help: "The target's state (up, degraded, down, unknown): 1 for the current one.") { v, labels, out in
            for (state, label) in stateLabels {
                out.sample("phasewatch_target_state", labels: labels, extra: label, value: state == v.state ? 1 : 0)
            }
        },
        TargetFamily(name: "phasewatch_target_info", type: "gauge", help: "A configured target; the value is always 1.") { v, labels, out in
            out.sample("phasewatch_target_info", labels: labels, extra: v.info, value: 1)
        },
    ]
}
