import Foundation

/// The periods of a report (docs/api.md#get-apiv1targetsnamereport): [from, to) cut at calendar boundaries of a
/// time zone. Pure date arithmetic, no clock, so daylight-saving days and months are tested
/// directly: a day is midnight to midnight (23 or 25 hours across a change), a week starts on
/// Monday (ISO 8601), a month on the 1st.
public enum ReportStep: String, Sendable, CaseIterable, Codable {
    /// `1m` a minute and `1M` a month, as the issue and Prometheus-minded users spell them.
    case minute = "1m", hour = "1h", day = "1d", week = "1w", month = "1M"

    var component: Calendar.Component {
        switch self {
        case .minute: .minute
        case .hour: .hour
        case .day: .day
        case .week: .weekOfYear
        case .month: .month
        }
    }
}

public enum ReportPeriods {
    /// More periods than this are refused: a report is for people, and each period costs a
    /// window query.
    public static let maxPeriods = 10_000

    public enum Problem: Error, Equatable, CustomStringConvertible {
        case emptyRange
        case tooManyPeriods(limit: Int)

        public var description: String {
            switch self {
            case .emptyRange: "from must be before to"
            case .tooManyPeriods(let limit): "more than \(limit) periods: use a longer step or a shorter range"
            }
        }
    }

    /// The Gregorian calendar of `timeZone` with ISO weeks.
    public static func calendar(_ timeZone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        calendar.firstWeekday = 2
        calendar.minimumDaysInFirstWeek = 4
        return calendar
    }

    /// [start, end) of each period: the calendar periods of `step` that meet [from, to),
    /// the first and last clipped to it.
    public static func periods(from: Date, to: Date, step: ReportStep, timeZone: TimeZone) throws(Problem) -> [(start: Date, end: Date)] {
        guard from < to else { throw .emptyRange }
        let calendar = Self.calendar(timeZone)
        var out: [(start: Date, end: Date)] = []
        var cursor = from
        while cursor < to {
            guard out.count < maxPeriods else { throw .tooManyPeriods(limit: maxPeriods) }
            // dateInterval(of:for:) answers the period holding `cursor` in the zone's own
            // time, so a repeated or skipped hour is handled by Foundation, not here.
            guard let period = calendar.dateInterval(of: step.component, for: cursor), period.end > cursor else {
                throw .emptyRange
            }
            out.append((start: cursor, end: min(period.end, to)))
            cursor = period.end
        }
        return out
    }

    /// `YYYY-MM-DD` as midnight of that day in `timeZone` (the first instant of the day where
    /// midnight is skipped); nil for anything else or a date that does not exist.
    public static func day(_ text: String, timeZone: TimeZone) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), year >= 1
        else { return nil }
        let calendar = Self.calendar(timeZone)
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar), let noon = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: 12))
        else { return nil }
        return calendar.startOfDay(for: noon)
    }
}
