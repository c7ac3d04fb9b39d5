import PhaseWatchCore

/// One metric family of the per-target series: its name, type, help, and how one target's
/// samples are written as text lines (`write`: the series' label text, the writer) and as
/// protobuf metrics (`metrics`: the series' labels). `/metrics` writes each family for every
/// target before the next family, as every format requires.
struct TargetFamily: Sendable {
    let name: String
    let type: String
    let help: String
    let write: @Sendable (borrowing TargetSeries.Values, [UInt8], inout ExpositionWriter) -> Void
    /// The last argument: whether the phase histograms have classic buckets too.
    let metrics: @Sendable (borrowing TargetSeries.Values, [PBLabel], Bool) -> [PBMetric]
}

/// The per-target families of docs/metrics.md, in the order `/metrics` shows them. Every piece of
/// label text a line needs is made here once per process (or per target, in `TargetSeries`),
/// so writing a line copies bytes and formats one number.
enum TargetFamilies {
    /// Optional: config `metrics.phase_histograms`.
    static let phaseHistogramName = "phasewatch_probe_phase_duration_seconds"
    private static let plain = ExpositionWriter.close()
    /// `,phase="…"} ` in `Phase.network` order.
    private static let phaseCloses = Phase.network.map { ExpositionWriter.close(ExpositionWriter.label("phase", $0.rawValue)) }
    /// `,phase="…",le="…"} ` for each network phase and bucket of the phase histograms.
    private static let phaseBucketCloses = Phase.network.map {
        AgentMetrics.phaseBucketSet.closes(after: ExpositionWriter.label("phase", $0.rawValue))
    }
    private static let stateCloses = TargetState.allCases.map { ($0, ExpositionWriter.close(ExpositionWriter.label("state", $0.rawValue))) }

    /// A gauge of the last probe; absent before the first probe (a 0 would read as a failure).
    /// An `ip_policy: all` target has one more per address, labelled `ip`.
    private static func last(_ name: String, _ help: String, _ value: @escaping @Sendable (TargetSeries.LastProbe) -> Double) -> TargetFamily {
        let open = ExpositionWriter.open(name)
        return TargetFamily(name: name, type: "gauge", help: help, write: { v, labels, out in
            if let last = v.last { out.sample(open, labels, plain, value: value(last)) }
            for a in v.addresses { out.sample(open, a.labels, plain, value: value(a.last)) }
        }, metrics: { v, labels, _ in
            (v.last.map { [ProtobufExposition.gauge(labels, value($0))] } ?? [])
                + v.addresses.map { ProtobufExposition.gauge($0.protobufLabels, value($0.last)) }
        })
    }

    /// A gauge of 1 while the series has a value, labelled with it (`label`; `close` holds its
    /// text).
    private static func info(
        _ name: String, _ help: String, label: String, _ value: @escaping @Sendable (borrowing TargetSeries.Values) -> String?,
        close: @escaping @Sendable (borrowing TargetSeries.Values) -> [UInt8]?
    ) -> TargetFamily {
        let open = ExpositionWriter.open(name)
        return TargetFamily(name: name, type: "gauge", help: help, write: { v, labels, out in
            if let close = close(v) { out.sample(open, labels, close, value: 1) }
        }, metrics: { v, labels, _ in
            value(v).map { [ProtobufExposition.gauge(labels + [ProtobufExposition.label(label, $0)], 1)] } ?? []
        })
    }

    /// A gauge of the certificate expiry, which exists only once a probe saw a certificate: a 0
    /// for a plain-HTTP target would set off every "certificate expires soon" alert.
    private static func certExpiry(_ name: String, _ help: String) -> TargetFamily {
        let open = ExpositionWriter.open(name)
        return TargetFamily(name: name, type: "gauge", help: help, write: { v, labels, out in
            if let expiry = v.certExpiry { out.sample(open, labels, plain, value: expiry) }
        }, metrics: { v, labels, _ in
            v.certExpiry.map { [ProtobufExposition.gauge(labels, $0)] } ?? []
        })
    }

    /// The interval the scheduler picks from the same state and latest result (`TargetState.isFailing`).
    private static func currentInterval(_ v: borrowing TargetSeries.Values) -> Double? {
        guard let intervals = v.intervals else { return nil }
        return v.state.isFailing(latestSucceeded: v.last?.success) ? intervals.failing : intervals.normal
    }

    private static let phaseLabels = Phase.network.map { ProtobufExposition.label("phase", $0.rawValue) }

    /// The `_bucket`, `_sum` and `_count` lines of one histogram. `closes` has each bucket's
    /// label text, `close` the text of `_sum` and `_count`.
    private struct HistogramLines: Sendable {
        let bucket: [UInt8], sum: [UInt8], count: [UInt8]

        init(_ name: String) {
            bucket = ExpositionWriter.open(name + "_bucket")
            sum = ExpositionWriter.open(name + "_sum")
            count = ExpositionWriter.open(name + "_count")
        }

        /// `exemplars` (one per bucket) are written in OpenMetrics only.
        func write(_ histogram: Histogram, labels: [UInt8], closes: [[UInt8]], close: [UInt8], exemplars: [TargetSeries.Exemplar?] = [],
                   into out: inout ExpositionWriter) {
            var cumulative: UInt64 = 0
            for i in histogram.counts.indices {
                cumulative += histogram.counts[i]
                if out.format == .openMetrics, i < exemplars.count, let exemplar = exemplars[i] {
                    out.sample(bucket, labels, closes[i], count: cumulative,
                               exemplar: exemplar.traceId, value: exemplar.value, timestamp: exemplar.timestamp)
                } else {
                    out.sample(bucket, labels, closes[i], count: cumulative)
                }
            }
            out.sample(sum, labels, close, value: histogram.sum)
            out.sample(count, labels, close, count: histogram.count)
        }
    }

    /// Remakes `v.block`, the lines of every family for one target's values (the phase
    /// histograms' only when `v.phaseHistograms`), in the arrays the block already has: once
    /// they are large enough, a probe's new lines cost no allocation (unless a scrape is still
    /// copying the previous ones), so thousands of targets do not churn the allocator.
    static func render(_ v: inout TargetSeries.Values, labels: [UInt8]) {
        var block = TargetBlock()
        swap(&block, &v.block)
        var buffer: [UInt8] = []
        swap(&buffer, &block.bytes)
        let previous = buffer.count
        buffer.removeAll(keepingCapacity: true)
        // Room for the previous lines and a little more: values change length by a few digits.
        buffer.reserveCapacity(previous + slack)
        block.offsets.removeAll(keepingCapacity: true)
        block.offsets.append(0)
        var out = ExpositionWriter(buffer: consume buffer)
        for family in all {
            if v.phaseHistograms || family.name != phaseHistogramName { family.write(v, labels, &out) }
            block.offsets.append(Int32(out.count))
        }
        out.switchFormat(to: .openMetrics)
        all[durationIndex].write(v, labels, &out)
        block.bytes = out.takeBuffer()
        // Appending past the capacity doubles it (the first lines of a target, a reload that
        // adds families): back to the lines' size, so 10 000 targets do not keep twice their text.
        if block.bytes.capacity > block.bytes.count + 4 * slack {
            var exact: [UInt8] = []
            exact.reserveCapacity(block.bytes.count + slack)
            exact.append(contentsOf: block.bytes)
            block.bytes = exact
        }
        v.block = block
    }

    /// Spare bytes a target's lines keep for values that grow by a digit or two.
    private static let slack = 256

    static let durationName = "phasewatch_probe_duration_seconds"
    /// Where the duration histogram is in `all`.
    static let durationIndex = all.firstIndex { $0.name == durationName }!

    static let all: [TargetFamily] = {
        let phaseDurations = ExpositionWriter.open("probe_http_duration_seconds")
        let probes = ExpositionWriter.open("phasewatch_probes_total")
        let (success, failure) = (ExpositionWriter.close(#",result="success""#), ExpositionWriter.close(#",result="failure""#))
        let failures = ExpositionWriter.open("phasewatch_probe_failures_total")
        let attempts = ExpositionWriter.open("phasewatch_probe_attempts_total")
        let attemptResults = ["first_success", "retry_success", "failure"]
        let attemptCloses = attemptResults.map { ExpositionWriter.close(ExpositionWriter.label("result", $0)) }
        let phaseHistogram = HistogramLines(phaseHistogramName)
        let durationHistogram = HistogramLines(durationName)
        let state = ExpositionWriter.open("phasewatch_target_state")
        let info = ExpositionWriter.open("phasewatch_target_info")
        let interval = ExpositionWriter.open("phasewatch_target_interval_seconds")
        let lifetimeHistogram = HistogramLines("phasewatch_connection_lifetime_seconds")
        return [
            last("probe_success", "Whether the last probe succeeded (1) or failed (0).") { $0.success ? 1 : 0 },
            last("probe_duration_seconds", "How long the last probe took.") { $0.duration },
            TargetFamily(name: "probe_http_duration_seconds", type: "gauge",
                         help: "Duration of each phase of the last probe's HTTP request.", write: { v, labels, out in
                if let last = v.last {
                    for i in phaseCloses.indices { out.sample(phaseDurations, labels, phaseCloses[i], value: last.phases[i]) }
                }
                for a in v.addresses {
                    for i in phaseCloses.indices { out.sample(phaseDurations, a.labels, phaseCloses[i], value: a.last.phases[i]) }
                }
            }, metrics: { v, labels, _ in
                let own = v.last.map { last in phaseLabels.indices.map { ProtobufExposition.gauge(labels + [phaseLabels[$0]], last.phases[$0]) } }
                return (own ?? []) + v.addresses.flatMap { a in
                    phaseLabels.indices.map { ProtobufExposition.gauge(a.protobufLabels + [phaseLabels[$0]], a.last.phases[$0]) }
                }
            }),
            last("probe_http_status_code", "HTTP status of the last probe's final response (0 without one).") { $0.status },
            last("probe_http_version", "HTTP version of the last probe's final response.") { $0.httpVersion },
            last("probe_http_redirects", "Redirects the last probe followed.") { $0.redirects },
            last("probe_http_content_length", "Content-Length of the last response (-1 when unknown).") { $0.contentLength },
            last("probe_http_ssl", "Whether the last probe's final response came over TLS.") { $0.ssl ? 1 : 0 },
            certExpiry("probe_ssl_earliest_cert_expiry", "Unix time the first certificate of the last probe's chain expires."),
            certExpiry("probe_ssl_last_chain_expiry_timestamp_seconds",
                       "Unix time the verified chain of the last probe expires (its earliest certificate)."),
            Self.info("probe_tls_version_info", "TLS version of the last probe; the value is 1.", label: "version", { $0.tlsVersion },
                      close: { $0.tlsVersionClose }),
            Self.info("probe_tls_cipher_info", "TLS cipher of the last probe; the value is 1.", label: "cipher", { $0.tlsCipher },
                      close: { $0.tlsCipherClose }),
            last("probe_ip_protocol", "IP family of the last probe's connection (4 or 6).") { $0.ipProtocol },
            last("probe_failed_due_to_regex", "Whether the last probe failed a body regex.") { $0.failedDueToRegex ? 1 : 0 },
            last("probe_dns_lookup_time_seconds", "DNS lookup time of the last probe.") { $0.dnsLookup },
            TargetFamily(name: "phasewatch_probes_total", type: "counter", help: "Probes finished, by result.", write: { v, labels, out in
                out.sample(probes, labels, success, count: v.successes)
                out.sample(probes, labels, failure, count: v.failures)
            }, metrics: { v, labels, _ in
                [ProtobufExposition.counter(labels + [ProtobufExposition.label("result", "success")], Double(v.successes)),
                 ProtobufExposition.counter(labels + [ProtobufExposition.label("result", "failure")], Double(v.failures))]
            }),
            TargetFamily(name: "phasewatch_probe_failures_total", type: "counter",
                         help: "Failed probes by the phase they failed in and the reason.", write: { v, labels, out in
                guard !v.failuresBy.isEmpty else { return }
                for (key, count) in v.failuresBy.sorted(by: { $0.key < $1.key }) {
                    out.sample(failures, labels, key.close, count: count)
                }
            }, metrics: { v, labels, _ in
                v.failuresBy.sorted(by: { $0.key < $1.key }).map { key, count in
                    ProtobufExposition.counter(
                        labels + [ProtobufExposition.label("phase", key.phase.rawValue), ProtobufExposition.label("reason", key.reason.rawValue)],
                        Double(count))
                }
            }),
            // Only targets with `retries`: for the others every probe is its first attempt.
            TargetFamily(name: "phasewatch_probe_attempts_total", type: "counter",
                         help: "Probes of targets with retries, by result: first_success, retry_success (good after a retry), failure.",
                         write: { v, labels, out in
                guard let counts = v.attempts?.byResult else { return }
                for i in attemptCloses.indices { out.sample(attempts, labels, attemptCloses[i], count: counts[i]) }
            }, metrics: { v, labels, _ in
                guard let counts = v.attempts?.byResult else { return [] }
                return attemptResults.indices.map {
                    ProtobufExposition.counter(labels + [ProtobufExposition.label("result", attemptResults[$0])], Double(counts[$0]))
                }
            }),
            // The text formats show it with `metrics.phase_histograms`; protobuf always, as one
            // native histogram per phase (classic buckets too with the option).
            TargetFamily(name: phaseHistogramName, type: "histogram",
                         help: "Time spent in each phase, per probe that reached it.", write: { v, labels, out in
                for h in v.histograms {
                    let labels = h.labels(labels)
                    for i in phaseCloses.indices {
                        phaseHistogram.write(h.phases[i], labels: labels, closes: phaseBucketCloses[i], close: phaseCloses[i], into: &out)
                    }
                }
            }, metrics: { v, labels, classic in
                v.histograms.flatMap { h in
                    phaseLabels.indices.map { i in
                        ProtobufExposition.histogram(h.labels(labels) + [phaseLabels[i]], classic: classic ? h.phases[i] : nil,
                                                     native: h.nativePhases[i])
                    }
                }
            }),
            TargetFamily(name: durationName, type: "histogram",
                         help: "Duration of successful probes; buckets include every latency-SLO threshold.", write: { v, labels, out in
                for h in v.histograms {
                    durationHistogram.write(
                        h.duration, labels: h.labels(labels), closes: h.duration.buckets.closes, close: plain, exemplars: h.exemplars,
                        into: &out)
                }
            }, metrics: { v, labels, _ in
                v.histograms.map { h in
                    ProtobufExposition.histogram(h.labels(labels), classic: h.duration, native: h.nativeDuration, exemplars: h.exemplars)
                }
            }),
            TargetFamily(name: "phasewatch_target_state", type: "gauge",
                         help: "The target's state (up, degraded, down, unknown): 1 for the current one.", write: { v, labels, out in
                for (s, close) in stateCloses { out.sample(state, labels, close, value: s == v.state ? 1 : 0) }
            }, metrics: { v, labels, _ in
                TargetState.allCases.map { ProtobufExposition.gauge(labels + [ProtobufExposition.label("state", $0.rawValue)], $0 == v.state ? 1 : 0) }
            }),
            TargetFamily(name: "phasewatch_target_info", type: "gauge", help: "A configured target; the value is always 1.", write: { v, labels, out in
                out.sample(info, labels, v.infoClose, value: 1)
            }, metrics: { v, labels, _ in
                [ProtobufExposition.gauge(labels + v.info.map { ProtobufExposition.label($0.name, $0.value) }, 1)]
            }),
            // Only targets with `interval_while_failing`: for the others it is the info's interval.
            TargetFamily(name: "phasewatch_target_interval_seconds", type: "gauge",
                         help: "The interval the target runs at now (interval_while_failing while it is failing).",
                         write: { v, labels, out in
                if let seconds = currentInterval(v) { out.sample(interval, labels, plain, value: seconds) }
            }, metrics: { v, labels, _ in
                currentInterval(v).map { [ProtobufExposition.gauge(labels, $0)] } ?? []
            }),
            // Only targets with `connection: reuse`: the others' connections end with their run.
            TargetFamily(name: "phasewatch_connection_lifetime_seconds", type: "histogram",
                         help: "How long the kept connections of a connection: reuse target were seen alive, counted when one is gone.",
                         write: { v, labels, out in
                guard let h = v.lifetimes?.histogram else { return }
                lifetimeHistogram.write(h, labels: labels, closes: h.buckets.closes, close: plain, into: &out)
            }, metrics: { v, labels, _ in
                v.lifetimes.map { [ProtobufExposition.histogram(labels, classic: $0.histogram, native: nil)] } ?? []
            }),
        ]
    }()
}
