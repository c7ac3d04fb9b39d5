import Foundation
import NIOCore
import PhaseWatchCore
import PrometheusModel
import RemoteWrite

/// One collection for a receiver (docs/remote-write.md#what-is-sent): every series the text
/// format of `/metrics` shows, read back from the same writer so the two never differ, each
/// with one sample at the collection's time; the family types and help as metadata; and with
/// `send_native_histograms` the per-target native histograms of the protobuf format.
struct SeriesCollector {
    let metrics: AgentMetrics

    /// `labels` go on every series that does not have them (`external_labels`, `job`, `instance`).
    func collect(slo: SLOSnapshot?, at time: Date, settings: RemoteWriteConfig, labels: [RemoteWriteConfig.Label]) async -> [Batch] {
        var reader = LineReader(timestamp: Int64((time.timeIntervalSince1970 * 1000).rounded()), external: labels)
        do {
            try await metrics.write(slo: slo, format: .text) { chunk in
                chunk.withUnsafeReadableBytes { reader.feed($0) }
            }
        } catch {
            // The sink never throws: writing into memory cannot fail.
        }
        reader.finish()
        if settings.sendNativeHistograms {
            for histogram in metrics.nativeHistograms() {
                reader.add(native: histogram.metric, name: histogram.name)
            }
        }
        return Batcher.batches(reader.series, metadata: reader.metadata)
    }
}

/// Text exposition lines → remote-write series, across chunk boundaries.
private struct LineReader {
    let timestamp: Int64
    let external: [RemoteWriteConfig.Label]
    private(set) var series: [Prometheus_TimeSeries] = []
    private var types: [String: Prometheus_MetricMetadata.MetricType] = [:]
    private var helps: [String: String] = [:]
    private var familyOrder: [String] = []
    /// The end of the last chunk when it stopped inside a line.
    private var partial: [UInt8] = []

    init(timestamp: Int64, external: [RemoteWriteConfig.Label]) {
        self.timestamp = timestamp
        self.external = external
    }

    var metadata: [Prometheus_MetricMetadata] {
        familyOrder.map { name in
            var entry = Prometheus_MetricMetadata()
            entry.metricFamilyName = name
            entry.type = types[name] ?? .unknown
            entry.help = helps[name] ?? ""
            return entry
        }
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        for i in 0..<bytes.count where bytes[i] == UInt8(ascii: "\n") {
            if partial.isEmpty {
                line(bytes[start..<i])
            } else {
                partial += bytes[start..<i]
                line(partial[...])
                partial.removeAll(keepingCapacity: true)
            }
            start = i + 1
        }
        if start < bytes.count { partial += bytes[start...] }
    }

    mutating func finish() {
        if !partial.isEmpty { line(partial[...]) }
        partial = []
    }

    private mutating func line<Bytes: RandomAccessCollection<UInt8>>(_ line: Bytes) where Bytes.Index == Int {
        guard let first = line.first else { return }
        if first == UInt8(ascii: "#") {
            comment(String(decoding: line, as: UTF8.self))
            return
        }
        guard let sample = TextSample(line) else { return }
        var point = Prometheus_Sample()
        point.value = sample.value
        point.timestamp = timestamp
        var ts = Prometheus_TimeSeries()
        ts.labels = labels(name: sample.name, sample.labels)
        ts.samples = [point]
        series.append(ts)
    }

    /// `# TYPE name type` and `# HELP name text`.
    private mutating func comment(_ text: String) {
        let parts = text.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4 else { return }
        let name = String(parts[2])
        if types[name] == nil, helps[name] == nil { familyOrder.append(name) }
        switch parts[1] {
        case "TYPE": types[name] = Self.type(parts[3])
        case "HELP": helps[name] = parts[3].replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\\\", with: "\\")
        default: break
        }
    }

    private static func type(_ text: Substring) -> Prometheus_MetricMetadata.MetricType {
        switch text {
        case "counter": .counter
        case "gauge": .gauge
        case "histogram": .histogram
        case "summary": .summary
        default: .unknown
        }
    }

    /// `__name__`, the series' labels, and the external labels it does not have, sorted by
    /// name as the remote-write protocol requires.
    private func labels(name: String, _ own: [(name: String, value: String)]) -> [Prometheus_Label] {
        var labels: [Prometheus_Label] = []
        labels.reserveCapacity(own.count + 1 + external.count)
        labels.append(Self.label("__name__", name))
        for (key, value) in own { labels.append(Self.label(key, value)) }
        for extra in external where !own.contains(where: { $0.name == extra.name }) {
            labels.append(Self.label(extra.name, extra.value))
        }
        labels.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        return labels
    }

    private static func label(_ name: String, _ value: String) -> Prometheus_Label {
        var label = Prometheus_Label()
        label.name = name
        label.value = value
        return label
    }

    /// A native histogram of the protobuf exposition (integer counts) as a remote-write one.
    mutating func add(native metric: PBMetric, name: String) {
        let h = metric.histogram
        var histogram = Prometheus_Histogram()
        histogram.count = .countInt(h.sampleCount)
        histogram.sum = h.sampleSum
        histogram.schema = h.schema
        histogram.zeroThreshold = h.zeroThreshold
        histogram.zeroCount = .zeroCountInt(h.zeroCount)
        histogram.positiveSpans = h.positiveSpan.map { Self.span($0) }
        histogram.positiveDeltas = h.positiveDelta
        histogram.negativeSpans = h.negativeSpan.map { Self.span($0) }
        histogram.negativeDeltas = h.negativeDelta
        histogram.timestamp = timestamp
        var ts = Prometheus_TimeSeries()
        ts.labels = labels(name: name, metric.label.map { ($0.name, $0.value) })
        ts.histograms = [histogram]
        series.append(ts)
        if types[name] == nil {
            familyOrder.append(name)
            types[name] = .histogram
        }
    }

    private static func span(_ span: Io_Prometheus_Client_BucketSpan) -> Prometheus_BucketSpan {
        var out = Prometheus_BucketSpan()
        out.offset = span.offset
        out.length = span.length
        return out
    }
}
