import Foundation
import PhaseWatchCore

/// The report's JSON names, written out: explicit nulls need hand-written `encode(to:)`s.
private struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    init(_ name: String) { stringValue = name }
}

/// The report's three spellings (docs/api.md#get-apiv1targetsnamereport): JSON, CSV (one row per period and a
/// `total` row, columns named as the JSON's fields with nested names joined by `_`) and the
/// aligned table of `phasewatch report`.
extension Report: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(target, forKey: Key("target"))
        try c.encode(Timestamp.rfc3339(from), forKey: Key("from"))
        try c.encode(Timestamp.rfc3339(to), forKey: Key("to"))
        try c.encode(step.rawValue, forKey: Key("step"))
        try c.encode(zoneName, forKey: Key("tz"))
        try c.encode(periods, forKey: Key("periods"))
        try c.encode(total, forKey: Key("total"))
    }
}

extension Report.Row: Encodable {
    private struct Pair: Encodable {
        let from: String
        let to: String
    }

    private struct SLOs: Encodable {
        let availability: SLO?
        let latency: SLO?

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(availability, forKey: Key("availability"))
            try c.encode(latency, forKey: Key("latency"))
        }
    }

    private struct SLO: Encodable {
        let numbers: Report.SLONumbers
        /// Only availability SLOs have a first-attempt basis.
        let availability: Bool

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(numbers.sli, forKey: Key("sli"))
            if availability { try c.encode(numbers.sliFirstAttempt, forKey: Key("sli_first_attempt")) }
            try c.encode(numbers.budgetConsumed, forKey: Key("budget_consumed"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(Timestamp.rfc3339(start), forKey: Key("start"))
        try c.encode(Timestamp.rfc3339(end), forKey: Key("end"))
        try c.encode(probes, forKey: Key("probes"))
        try c.encode(good, forKey: Key("good"))
        try c.encode(goodFirstAttempt, forKey: Key("good_first_attempt"))
        try c.encode(expected, forKey: Key("expected"))
        try c.encode(coverage, forKey: Key("coverage"))
        try c.encode(unobservedSeconds, forKey: Key("unobserved_seconds"))
        try c.encode(downtimeSeconds, forKey: Key("downtime_seconds"))
        try c.encode(
            downtime?.map { Pair(from: Timestamp.rfc3339($0.from), to: Timestamp.rfc3339($0.to)) }, forKey: Key("downtime"))
        try c.encode(
            SLOs(availability: availability.map { SLO(numbers: $0, availability: true) }, latency: latency.map { SLO(numbers: $0, availability: false) }),
            forKey: Key("slo"))
        try c.encode(worstPhase?.rawValue, forKey: Key("worst_phase"))
        var quantiles = c.nestedContainer(keyedBy: Key.self, forKey: Key("latency"))
        try quantiles.encode(p50, forKey: Key("p50"))
        try quantiles.encode(p95, forKey: Key("p95"))
        try quantiles.encode(p99, forKey: Key("p99"))
    }

    /// The CSV columns after `row`, in order, with this row's values: numbers as JSON writes
    /// them (shortest round-trip form), empty for null, downtime as `from/to` pairs separated by
    /// spaces.
    var fields: [(name: String, value: String)] {
        func number(_ value: Double?) -> String { value.map { "\($0)" } ?? "" }
        return [
            ("start", Timestamp.rfc3339(start)), ("end", Timestamp.rfc3339(end)),
            ("probes", "\(probes)"), ("good", "\(good)"), ("good_first_attempt", "\(goodFirstAttempt)"), ("expected", number(expected)), ("coverage", number(coverage)),
            ("unobserved_seconds", number(unobservedSeconds)), ("downtime_seconds", number(downtimeSeconds)),
            ("downtime", downtime.map { $0.map { "\(Timestamp.rfc3339($0.from))/\(Timestamp.rfc3339($0.to))" }.joined(separator: " ") } ?? ""),
            ("slo_availability_sli", number(availability?.sli)),
            ("slo_availability_sli_first_attempt", number(availability?.sliFirstAttempt)),
            ("slo_availability_budget_consumed", number(availability?.budgetConsumed)),
            ("slo_latency_sli", number(latency?.sli)), ("slo_latency_budget_consumed", number(latency?.budgetConsumed)),
            ("worst_phase", worstPhase?.rawValue ?? ""), ("latency_p50", number(p50)), ("latency_p95", number(p95)),
            ("latency_p99", number(p99)),
        ]
    }
}

extension Report {
    /// RFC 4180 CSV: a header, a row per period (`row` = `period`), then the `total` row.
    public var csv: String {
        let header = ["row"] + total.fields.map(\.name)
        var lines = [header.joined(separator: ",")]
        for period in periods { lines.append((["period"] + period.fields.map(\.value)).joined(separator: ",")) }
        lines.append((["total"] + total.fields.map(\.value)).joined(separator: ","))
        // No value holds a comma, quote or line break: times, numbers, phase names.
        return lines.map { $0 + "\r\n" }.joined()
    }

    /// Aligned columns for people: period starts in the report's time zone, SLIs and budgets
    /// in percent, downtime and latency in readable units.
    public var table: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = step == .hour ? "yyyy-MM-dd HH:mm" : "yyyy-MM-dd"
        func percent(_ value: Double?, digits: Int) -> String { value.map { String(format: "%.\(digits)f%%", $0 * 100) } ?? "-" }
        func ms(_ value: Double?) -> String { value.map { String(format: "%.1f", $0 * 1000) } ?? "-" }
        func line(_ label: String, _ row: Row) -> [String] {
            [
                label, "\(row.probes)", "\(row.good)", percent(row.coverage, digits: 1), percent(row.availability?.sli, digits: 3),
                percent(row.availability?.budgetConsumed, digits: 1), percent(row.latency?.sli, digits: 3),
                row.downtimeSeconds.map(Self.duration) ?? "unknown", row.worstPhase?.rawValue ?? "-", ms(row.p50), ms(row.p95), ms(row.p99),
            ]
        }
        let header = [
            "period (\(zoneName))", "probes", "good", "coverage", "availability", "budget used", "latency SLI",
            "downtime", "worst phase", "p50 ms", "p95 ms", "p99 ms",
        ]
        let rows = [header] + periods.map { line(formatter.string(from: $0.start), $0) } + [line("total", total)]
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                return index == 0 || index == 8 ? cell + pad : pad + cell  // text left, numbers right
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = "\(target): \(Timestamp.rfc3339(from)) to \(Timestamp.rfc3339(to)), step \(step.rawValue)\n\n"
        for (index, row) in rows.enumerated() {
            out += render(row) + "\n"
            if index == 0 || index == rows.count - 2 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return out
    }

    /// `1h02m03s`, `45s`, `0s`.
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        let (h, m, s) = (whole / 3600, whole % 3600 / 60, whole % 60)
        if h > 0 { return String(format: "%dh%02dm%02ds", h, m, s) }
        if m > 0 { return String(format: "%dm%02ds", m, s) }
        return "\(s)s"
    }
}
