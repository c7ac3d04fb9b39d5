/// The formats `/metrics` serves, chosen from the scraper's `Accept` header as Prometheus
/// negotiates them (docs/metrics.md "Formats").
public enum ExpositionFormat: Sendable, Hashable {
    /// Prometheus text format 0.0.4: what a scraper gets unless it asks for another.
    case text
    /// OpenMetrics 1.0 text: `# EOF`, counters' families without `_total`, `# UNIT`, exemplars.
    case openMetrics
    /// Length-delimited `io.prometheus.client.MetricFamily` messages: native histograms.
    case protobuf

    public var contentType: String {
        switch self {
        case .text: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        case .protobuf: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        }
    }

    /// The format of the highest-quality media range the agent serves; the earliest one among
    /// equals, as the header lists them in the scraper's order of preference. Text when
    /// nothing matches (a scraper that sends no `Accept`, or only `*/*`).
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .text }
        var best: (format: ExpositionFormat, q: Double)?
        for range in WeightedList.elements([accept]) {
            let format: ExpositionFormat
            switch range.value {
            case "application/vnd.google.protobuf":
                // Only the delimited stream of the client data model's families.
                guard range.parameters.contains("proto=io.prometheus.client.metricfamily"),
                    range.parameters.contains("encoding=delimited")
                else { continue }
                format = .protobuf
            case "application/openmetrics-text": format = .openMetrics
            case "text/plain", "text/*", "*/*": format = .text
            default: continue
            }
            if range.weight > 0, range.weight > (best?.q ?? 0) { best = (format, range.weight) }
        }
        return best?.format ?? .text
    }
}
