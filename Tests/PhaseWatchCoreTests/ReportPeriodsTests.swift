import Foundation
import PhaseWatchCore
import Testing

/// The calendar arithmetic of reports (docs/api.md#get-apiv1targetsnamereport), no clock involved.
struct ReportPeriodsTests {
    let utc = TimeZone(identifier: "UTC")!
    let rome = TimeZone(identifier: "Europe/Rome")!

    func t(_ text: String) -> Date { Timestamp.parse(text)! }

    func hours(_ periods: [(start: Date, end: Date)]) -> [Double] {
        periods.map { $0.end.timeIntervalSince($0.start) / 3600 }
    }

    @Test func daysAreClippedToTheRange() throws {
        let periods = try ReportPeriods.periods(from: t("2026-11-22T10:00:00Z"), to: t("2026-11-24T06:00:00Z"), step: .day, timeZone: utc)
        #expect(periods.map(\.start) == [t("2026-11-22T10:00:00Z"), t("2026-11-23T00:00:00Z"), t("2026-11-24T00:00:00Z")])
        #expect(hours(periods) == [14, 24, 6])
    }

    @Test func aDayAcrossDaylightSavingIsMidnightToMidnight() throws {
        let from = ReportPeriods.day("2026-03-28", timeZone: rome)!
        let to = ReportPeriods.day("2026-03-31", timeZone: rome)!
        #expect(from == t("2026-03-27T23:00:00Z"))
        let spring = try ReportPeriods.periods(from: from, to: to, step: .day, timeZone: rome)
        #expect(hours(spring) == [24, 23, 24])
        #expect(spring[2].start == t("2026-03-29T22:00:00Z"))
        let autumn = try ReportPeriods.periods(
            from: ReportPeriods.day("2026-10-25", timeZone: rome)!, to: ReportPeriods.day("2026-10-26", timeZone: rome)!, step: .day,
            timeZone: rome)
        #expect(hours(autumn) == [25])
    }

    @Test func hoursSkipTheMissingHour() throws {
        // 02:00 does not exist in Rome on 2026-03-29: midnight to 04:00 local is three hours.
        let periods = try ReportPeriods.periods(
            from: t("2026-03-28T23:00:00Z"), to: t("2026-03-29T02:00:00Z"), step: .hour, timeZone: rome)
        #expect(periods.count == 3)
        #expect(hours(periods) == [1, 1, 1])
    }

    @Test func weeksStartOnMonday() throws {
        // 2026-03-01 is a Sunday.
        let periods = try ReportPeriods.periods(
            from: ReportPeriods.day("2026-03-01", timeZone: utc)!, to: ReportPeriods.day("2026-03-16", timeZone: utc)!, step: .week,
            timeZone: utc)
        #expect(periods.map { Timestamp.day($0.start) } == ["2026-03-01", "2026-03-02", "2026-03-09"])
        #expect(hours(periods) == [24, 168, 168])
    }

    @Test func monthsStartOnTheFirst() throws {
        let periods = try ReportPeriods.periods(
            from: t("2026-01-15T00:00:00Z"), to: t("2026-04-01T00:00:00Z"), step: .month, timeZone: utc)
        #expect(periods.map { Timestamp.day($0.start) } == ["2026-01-15", "2026-02-01", "2026-03-01"])
        #expect(hours(periods) == [408, 672, 744])  // 17, 28 and 31 days
        // In Rome, March is one hour short and starts at 23:00 UTC on the last of February.
        let march = try ReportPeriods.periods(
            from: ReportPeriods.day("2026-03-01", timeZone: rome)!, to: ReportPeriods.day("2026-04-01", timeZone: rome)!, step: .month,
            timeZone: rome)
        #expect(march.count == 1)
        #expect(march[0].start == t("2026-02-28T23:00:00Z"))
        #expect(hours(march) == [743])
    }

    @Test func refusedRanges() {
        #expect(throws: ReportPeriods.Problem.emptyRange) {
            try ReportPeriods.periods(from: t("2026-01-02T00:00:00Z"), to: t("2026-01-01T00:00:00Z"), step: .day, timeZone: utc)
        }
        #expect(throws: ReportPeriods.Problem.tooManyPeriods(limit: ReportPeriods.maxPeriods)) {
            try ReportPeriods.periods(from: t("2025-01-01T00:00:00Z"), to: t("2027-01-01T00:00:00Z"), step: .hour, timeZone: utc)
        }
        // Exactly the limit is allowed.
        #expect((try? ReportPeriods.periods(
            from: t("2026-01-01T00:00:00Z"), to: t("2026-01-01T00:00:00Z").addingTimeInterval(Double(ReportPeriods.maxPeriods) * 3600),
            step: .hour, timeZone: utc))?.count == ReportPeriods.maxPeriods)
    }

    @Test func dates() {
        #expect(ReportPeriods.day("2026-03-29", timeZone: rome) == t("2026-03-28T23:00:00Z"))
        #expect(ReportPeriods.day("2026-02-30", timeZone: utc) == nil)
        #expect(ReportPeriods.day("2026-3-29", timeZone: utc) == nil)
        #expect(ReportPeriods.day("2026-03-29T00:00:00Z", timeZone: utc) == nil)
        #expect(ReportPeriods.day("２０２６-03-29", timeZone: utc) == nil)
    }
}
