import Foundation
import NIOCore
import PhaseWatchCore
import Probing
import Prometheus
import Synchronization

/// Every Prometheus series phasewatch exposes (docs/metrics.md).
///
/// Agent-wide series (a dozen, long-lived) live on a swift-prometheus registry. Per-target
/// series are plain values in `TargetSeries`, written by `TargetFamilies` (see
/// `ExpositionWriter` for why), and the SLO series are written from the engine's snapshot.
/// `/metrics` streams all three in chunks, so a scrape of many targets never holds the whole
/// text in memory.
public final class AgentMetrics: Sendable {
    /// Latency buckets (seconds) for network phases: 0.5 ms … 30 s.
    public static let phaseBuckets: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
    ]
    static let phaseBucketSet = Buckets(phaseBuckets)
    /// Chunks of `/metrics` handed to the server.
    static let chunkBytes = 256 * 1024

    let registry = PrometheusCollectorRegistry()
    private let location: String
    /// The targets whose series are written: the agent's one `TargetTable`.
    let targets: TargetTable
    /// Which optional families are shown (config `metrics`); changes with a reload.
    private let options = Mutex(MetricsConfig())
    let agent: AgentSeries
    /// `phasewatch_shard_info`'s one series; its labels are the shard, so a reload that changes
    /// the shard replaces it.
    private let shardInfo: Mutex<(shard: Shard, gauge: Gauge)>

    /// `targets` is the agent's table; a fresh one when none is given (tests).
    public init(location: String, targets: TargetTable? = nil) {
        self.location = location
        self.targets = targets ?? TargetTable(location: location)
        agent = AgentSeries(registry: registry, location: location)
        shardInfo = Mutex((.whole, AgentSeries.shardInfo(registry: registry, location: location, shard: .whole)))
    }

    /// Which shard `phasewatch_shard_info` says this agent is.
    public func show(shard: Shard) {
        shardInfo.withLock { info in
            guard info.shard != shard else { return }
            let gauge = AgentSeries.shardInfo(registry: registry, location: location, shard: shard)
            registry.unregisterGauge(info.gauge)
            info = (shard, gauge)
        }
    }

    /// `phasewatch_target_file_last_reload_successful`: one series per target file matched,
    /// labelled with its path as matched (docs/metrics.md).
    public func targetFile(_ file: String, ok: Bool) {
        targetFileGauge(file).set(to: ok ? 1 : 0)
    }

    /// Drops a target file's series once no pattern matches it.
    public func removeTargetFile(_ file: String) {
        registry.unregisterGauge(targetFileGauge(file))
    }

    private func targetFileGauge(_ file: String) -> Gauge {
        registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_target_file_last_reload_successful", unitName: "",
                              helpText: "Whether the last read of the target file was accepted (1) or rejected (0, its previous targets keep running)."),
            labels: [("location", location), ("file", file)])
    }

    /// Which optional families `/metrics` shows (config `metrics`).
    public func configure(options: MetricsConfig) {
        self.options.withLock { $0 = options }
    }

    /// The whole exposition in `format`, chunk by chunk: agent-wide series, then every
    /// per-target family (each target's ready-made lines), then the SLO series of `slo` when
    /// there is one (made once per snapshot and format).
    public func write(slo: SLOSnapshot?, format: ExpositionFormat = .text, to sink: (ByteBuffer) async throws -> Void) async throws {
        if format == .protobuf { return try await writeProtobuf(slo: slo, to: sink) }
        // The ready-made lines go straight into the chunks handed to the server.
        var chunk = ByteBuffer()
        chunk.reserveCapacity(Self.chunkBytes + 64 * 1024)
        func flush() async throws {
            guard chunk.readableBytes >= Self.chunkBytes else { return }
            try await sink(chunk)
            chunk = ByteBuffer()
            chunk.reserveCapacity(Self.chunkBytes + 64 * 1024)
        }
        var head = ExpositionWriter(capacity: 16 * 1024, format: format)
        var agentText: [UInt8] = []
        registry.emit(into: &agentText)
        head.writeRaw(agentText)
        ProcessMetrics.write(ProcessMetrics.sample(), into: &head)
        chunk.writeBytes(head.bytes)
        let options = self.options.withLock { $0 }
        let blocks = targets.all.map { $0.series.block(phaseHistograms: options.phaseHistograms) }
        for (index, family) in TargetFamilies.all.enumerated() {
            // The header goes with the family's first line: a family without lines has none
            // (the phase histograms' lines are in the blocks only with `phase_histograms`).
            var header: [UInt8]? = Array(ExpositionWriter.header(family.name, type: family.type, help: family.help, format: format).utf8)
            let openMetricsDuration = format == .openMetrics && index == TargetFamilies.durationIndex
            for block in blocks {
                let lines = openMetricsDuration ? block.openMetricsDuration : block.lines(index)
                guard !lines.isEmpty else { continue }
                if let bytes = header {
                    chunk.writeBytes(bytes)
                    header = nil
                }
                chunk.writeBytes(lines)
                try await flush()
            }
        }
        if let slo {
            let lines = sloLines(slo, format: format, options: options)
            var start = 0
            while start < lines.count {
                let end = min(start + Self.chunkBytes, lines.count)
                chunk.writeBytes(lines[start..<end])
                try await flush()
                start = end
            }
        }
        if format == .openMetrics { chunk.writeString("# EOF\n") }
        if chunk.readableBytes > 0 { try await sink(chunk) }
    }

    /// The protobuf format: the same families, built as messages at the scrape. Per-target
    /// histograms are native (one series each in Prometheus), with classic buckets where the
    /// text format shows them: the duration histogram's always, the phases' with
    /// `metrics.phase_histograms`.
    private func writeProtobuf(slo: SLOSnapshot?, to sink: (ByteBuffer) async throws -> Void) async throws {
        var out: [UInt8] = []
        out.reserveCapacity(Self.chunkBytes + 64 * 1024)
        func flush() async throws {
            guard out.count >= Self.chunkBytes else { return }
            try await sink(ByteBuffer(bytes: out))
            out.removeAll(keepingCapacity: true)
        }
        var agentText: [UInt8] = []
        registry.emit(into: &agentText)
        for family in ProtobufExposition.families(fromText: String(decoding: agentText, as: UTF8.self)) {
            try ProtobufExposition.append(family.name, type: family.type, help: family.help, family.metrics, to: &out)
        }
        for (name, type, help, value) in ProcessMetrics.families(ProcessMetrics.sample()) {
            let metric = type == "counter" ? ProtobufExposition.counter([], value) : ProtobufExposition.gauge([], value)
            try ProtobufExposition.append(name, type: type, help: help, [metric], to: &out)
        }
        let options = self.options.withLock { $0 }
        let records = targets.all
        for family in TargetFamilies.all {
            var metrics: [PBMetric] = []
            metrics.reserveCapacity(records.count)
            for record in records { metrics += record.series.metrics(family, phaseHistograms: options.phaseHistograms) }
            try ProtobufExposition.append(family.name, type: family.type, help: family.help, metrics, to: &out)
            try await flush()
        }
        if let slo {
            for family in SLOMetrics.protobufFamilies(slo, location: location, options: options) {
                try ProtobufExposition.append(family.name, type: family.type, help: family.help, family.metrics, to: &out)
                try await flush()
            }
        }
        if !out.isEmpty { try await sink(ByteBuffer(bytes: out)) }
    }

    /// Every target's native histograms, as the protobuf format shows them: for remote write
    /// with `send_native_histograms`.
    func nativeHistograms() -> [(name: String, metric: PBMetric)] {
        let families = TargetFamilies.all.filter { $0.type == "histogram" }
        var out: [(name: String, metric: PBMetric)] = []
        for record in targets.all {
            for family in families {
                // zero_threshold > 0 is how a histogram says it has the native form.
                for metric in record.series.metrics(family, phaseHistograms: false) where metric.histogram.zeroThreshold > 0 {
                    out.append((family.name, metric))
                }
            }
        }
        return out
    }

    /// The SLO series of `snapshot`, made at the first scrape that needs them and kept until
    /// the next snapshot: every scrape in between copies them.
    private func sloLines(_ snapshot: SLOSnapshot, format: ExpositionFormat, options: MetricsConfig) -> [UInt8] {
        let key = SLOLinesKey(asOf: snapshot.asOf, generation: snapshot.generation, format: format, options: options)
        if let kept = sloCache.withLock({ $0[format] }), kept.key == key { return kept.lines }
        var out = ExpositionWriter(capacity: 1 << 20, format: format)
        SLOMetrics.write(snapshot, location: location, options: options, into: &out)
        let lines = out.bytes
        sloCache.withLock { $0[format] = (key, lines) }
        return lines
    }

    private struct SLOLinesKey: Equatable {
        let asOf: Date
        let generation: Int
        let format: ExpositionFormat
        let options: MetricsConfig
    }

    private let sloCache = Mutex<[ExpositionFormat: (key: SLOLinesKey, lines: [UInt8])]>([:])

    /// The whole exposition as one string (tests, and small target lists).
    public func render(slo: SLOSnapshot? = nil, format: ExpositionFormat = .text) async throws -> String {
        var text = ""
        try await write(slo: slo, format: format) { text += String(buffer: $0) }
        return text
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
    let storagePending: Gauge
    let storageWritable: Gauge
    let storageDropped: Counter
    let agentErrors: Counter

    init(registry: PrometheusCollectorRegistry, location: String) {
        let labels = [("location", location)]
        registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_build_info", unitName: "", helpText: "phasewatch build; the value is always 1."),
            labels: labels + [
                ("version", PhaseWatchVersion.current), ("revision", PhaseWatchVersion.revision), ("swift", PhaseWatchVersion.swift),
            ]
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
        storagePending = registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_storage_pending_results", unitName: "",
                              helpText: "Probe results held in memory, not yet written to SQLite."),
            labels: labels)
        storageWritable = registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_storage_writable", unitName: "",
                              helpText: "Whether the last write to SQLite succeeded (1) or failed (0: results are held and retried)."),
            labels: labels)
        storageWritable.set(to: 1)  // the store opened for writing, or the agent would not run
        storageDropped = registry.makeCounter(
            descriptor: .init(metricName: "phasewatch_storage_dropped_results", unitName: "total",
                              helpText: "Held probe results discarded, oldest first, because too many waited for the database."),
            labels: labels)
        agentErrors = registry.makeCounter(
            descriptor: .init(metricName: "phasewatch_probe_agent_errors", unitName: "total",
                              helpText: "Probes the agent itself could not run (out of file descriptors or buffers); not stored, not in SLOs."),
            labels: labels)
    }

    static func shardInfo(registry: PrometheusCollectorRegistry, location: String, shard: Shard) -> Gauge {
        let gauge = registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_shard_info", unitName: "",
                              helpText: "Which shard of its location this agent is (index of total); the value is always 1."),
            labels: [("location", location), ("index", "\(shard.index)"), ("total", "\(shard.total)")])
        gauge.set(to: 1)
        return gauge
    }
}
