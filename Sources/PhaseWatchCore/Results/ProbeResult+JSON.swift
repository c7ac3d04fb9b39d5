import Foundation

extension ProbeResult {
    /// The encoder for the JSON of docs/api.md#proberesult: RFC 3339 times with milliseconds, absent optionals left out.
    public static func makeEncoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.rfc3339(date))
        }
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 time: \(text)")
            }
            return date
        }
        return decoder
    }
}

/// RFC 3339 timestamps in UTC with millisecond precision, e.g. `2026-11-22T10:00:00.123Z`.
public enum Timestamp {
    private static let withMillis = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let wholeSeconds = Date.ISO8601FormatStyle()

    /// The times an API query or report may name: years 0001 to 9999, as RFC 3339 writes them.
    /// The store counts microseconds in 64 bits, and converting a time far outside
    /// (`since=1e300`) trapped and took the agent down.
    public static let years = Date(timeIntervalSince1970: -62_135_596_800)..<Date(timeIntervalSince1970: 253_402_300_800)

    public static func rfc3339(_ date: Date) -> String {
        // The formatter truncates, and a Double of .123 s is .12299…: hand it the middle of the
        // nearest millisecond instead.
        let millis = (date.timeIntervalSince1970 * 1000).rounded()
        return withMillis.format(Date(timeIntervalSince1970: (millis + 0.5) / 1000))
    }

    /// The UTC calendar day, `2026-11-01`: how failure messages and the waterfall show dates.
    public static func day(_ date: Date) -> String {
        String(rfc3339(date).prefix(10))
    }

    public static func parse(_ text: String) -> Date? {
        (try? withMillis.parse(text)) ?? (try? wholeSeconds.parse(text))
    }
}
