import Foundation
import PhaseWatchCore

/// A report's range, step and time zone as the API and `phasewatch report` take them (text),
/// checked once for both: `from`/`to` are RFC 3339 times or dates (`YYYY-MM-DD`, midnight in
/// `tz`), `step` one of 1m|1h|1d|1w|1M (default 1d), `tz` an IANA zone (default UTC).
public struct ReportQuery: Sendable {
    public struct Parameters: Sendable {
        public var from, to, step, tz: String?

        public init(from: String?, to: String?, step: String?, tz: String?) {
            self.from = from
            self.to = to
            self.step = step
            self.tz = tz
        }
    }

    /// What is wrong, naming the parameter.
    public struct Invalid: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public var from: Date
    public var to: Date
    public var step: ReportStep
    public var timeZone: TimeZone

    public init(_ p: Parameters) throws {
        let zoneName = p.tz ?? "UTC"
        guard let zone = TimeZone(identifier: zoneName) else {
            throw Invalid(message: "tz: \"\(zoneName)\" is not an IANA time zone like UTC or Europe/Rome")
        }
        timeZone = zone
        let stepText = p.step ?? ReportStep.day.rawValue
        guard let step = ReportStep(rawValue: stepText) else {
            throw Invalid(message: "step: \"\(stepText)\" is not one of \(ReportStep.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.step = step
        from = try Self.time(p.from, "from", zone)
        to = try Self.time(p.to, "to", zone)
        guard from < to else { throw Invalid(message: "from (\(p.from ?? "")) must be before to (\(p.to ?? ""))") }
    }

    static func time(_ text: String?, _ name: String, _ zone: TimeZone) throws(Invalid) -> Date {
        guard let text, !text.isEmpty else { throw Invalid(message: "\(name) is required: an RFC 3339 time or a date (YYYY-MM-DD)") }
        guard let date = ReportPeriods.day(text, timeZone: zone) ?? Timestamp.parse(text) else {
            throw Invalid(message: "\(name): \"\(text)\" is not an RFC 3339 time (2026-11-22T10:00:00Z) or a date (2026-11-22)")
        }
        guard Timestamp.years.contains(date) else { throw Invalid(message: "\(name): \"\(text)\" is outside the years 0001 to 9999") }
        return date
    }
}
