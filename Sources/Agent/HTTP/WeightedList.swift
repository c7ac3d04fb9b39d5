/// The elements of a header that lists values, with weights where it has them (`Accept`,
/// `Accept-Encoding`; RFC 9110 §12.4.2; `Vary` has none), for content negotiation: each element's value and its
/// other parameters, lower-cased and trimmed, and its weight. A malformed or out-of-range `q`
/// reads as 0: nothing a client did not clearly accept is sent.
enum WeightedList {
    struct Element {
        /// `gzip`, `application/openmetrics-text`.
        let value: String
        /// The parameters other than `q`, as written: `proto=io.prometheus.client.metricfamily`.
        let parameters: [String]
        let weight: Double
    }

    /// Every element of every header line in `fields`, in order.
    static func elements(_ fields: [String]) -> [Element] {
        fields.flatMap { $0.split(separator: ",") }.map { element in
            let parts = element.split(separator: ";", omittingEmptySubsequences: false).map { trimmed($0).lowercased() }
            var weight = 1.0
            var parameters: [String] = []
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard trimmed(pair[0]) == "q" else {
                    parameters.append(parameter.filter { $0 != " " && $0 != "\t" })
                    continue
                }
                let value = pair.count == 2 ? Double(trimmed(pair[1])) : nil
                weight = value.flatMap { (0...1).contains($0) ? $0 : nil } ?? 0
            }
            return Element(value: parts[0], parameters: parameters, weight: weight)
        }
    }

    private static func trimmed(_ text: some StringProtocol) -> String {
        var trimmed = Substring(text)
        while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
        return String(trimmed)
    }
}
