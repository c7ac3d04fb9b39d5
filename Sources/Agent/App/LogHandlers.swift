import Foundation
import Logging
import PhaseWatchCore

/// swift-log handlers for `--log.format=logfmt|json`, one line per record on stderr, in the
/// style of Prometheus components: `ts=… level=info msg="…" key=value`.
public struct LineLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable { case logfmt, json }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let format: Format
    private let label: String

    public init(label: String, format: Format, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, Logger.MetadataValue)] = [
            ("ts", .string(Timestamp.rfc3339(Date()))),
            ("level", .string(event.level.rawValue)), ("msg", .string(event.message.description)),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() { fields.append((key, merged[key]!)) }
        let line: String
        switch format {
        case .logfmt:
            line = fields.map { "\($0.0)=\(Self.logfmtValue("\($0.1)"))" }.joined(separator: " ")
        case .json:
            var object: [String: Any] = [:]
            for (key, value) in fields { object[key] = Self.jsonValue(value) }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Numbers and booleans given as values (`.stringConvertible(42)`) stay numbers and booleans
    /// in JSON, so log pipelines can compare them; text stays text even when it looks numeric.
    static func jsonValue(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .stringConvertible(let v as Int): v
        case .stringConvertible(let v as Int32): Int(v)
        case .stringConvertible(let v as Int64): v
        case .stringConvertible(let v as UInt64): v
        case .stringConvertible(let v as Double) where v.isFinite: v
        case .stringConvertible(let v as Bool): v
        case .array(let values): values.map(jsonValue)
        case .dictionary(let values): values.mapValues(jsonValue)
        default: "\(value)"
        }
    }

    private static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline }
        guard needsQuotes else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
