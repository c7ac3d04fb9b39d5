import PrometheusModel
import SwiftProtobuf

/// One collection's series as remote-write requests (docs/remote-write.md#protocol): at most
/// `maxSeriesPerRequest` series each, every one a protobuf `WriteRequest` compressed with
/// snappy. The family metadata rides in the first.
public enum Batcher {
    /// As Prometheus's own `max_samples_per_send`: requests small enough for any receiver's
    /// body limit, few enough that a thousand targets take a handful.
    public static let maxSeriesPerRequest = 2000

    public static func batches(
        _ series: [Prometheus_TimeSeries], metadata: [Prometheus_MetricMetadata] = [], maxSeriesPerRequest: Int = Self.maxSeriesPerRequest
    ) -> [Batch] {
        guard !series.isEmpty else { return [] }
        var batches: [Batch] = []
        var start = 0
        repeat {
            let end = min(start + maxSeriesPerRequest, series.count)
            var request = Prometheus_WriteRequest()
            request.timeseries = Array(series[start..<end])
            if start == 0 { request.metadata = metadata }
            // Serialising a message of plain fields cannot fail.
            let bytes: [UInt8] = (try? request.serializedBytes()) ?? []
            let samples = request.timeseries.reduce(0) { $0 + $1.samples.count + $1.histograms.count }
            batches.append(Batch(body: Snappy.compress(bytes), samples: samples))
            start = end
        } while start < series.count
        return batches
    }
}
