/// Durations in Prometheus syntax: `500ms`, `15s`, `1h30m`, `30d`. Units ms, s, m, h, d, w, y
/// (a day is 24 h, a week 7 d, a year 365 d), largest first, each at most once.
public enum PromDuration {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public let text: String
        public var description: String {
            "invalid duration \"\(text)\": use a number with a unit, like 500ms, 15s, 5m, 1h or 30d"
        }
    }

    private static let units: [(suffix: String, millis: Int64)] = [
        ("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000),
        ("ms", 1), ("m", 60_000), ("s", 1_000),
    ]
    /// Order in which units may appear (largest first), by suffix.
    private static let order = ["y", "w", "d", "h", "m", "s", "ms"]

    public static func parse(_ text: String) throws(ParseError) -> Duration {
        var rest = Substring(text)
        guard !rest.isEmpty else { throw ParseError(text: text) }
        if rest == "0" { return .zero }
        var total: Int64 = 0
        var lastRank = -1
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCII).prefix(while: \.isNumber)
            guard !digits.isEmpty, let value = Int64(digits) else { throw ParseError(text: text) }
            rest = rest.dropFirst(digits.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.suffix) }),
                let rank = order.firstIndex(of: unit.suffix), rank > lastRank
            else { throw ParseError(text: text) }
            rest = rest.dropFirst(unit.suffix.count)
            lastRank = rank
            // Each part and their sum checked: `292000000y292000000w` is an error, not a trap.
            let (product, overflow) = value.multipliedReportingOverflow(by: unit.millis)
            guard !overflow else { throw ParseError(text: text) }
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            guard !sumOverflow else { throw ParseError(text: text) }
            total = sum
        }
        return .milliseconds(total)
    }

    /// A canonical spelling, e.g. `30d`, `1h30m`, `250ms`, `0s` (days at most: `30d`, not `4w2d`).
    public static func format(_ duration: Duration) -> String {
        var millis = duration.milliseconds
        if millis == 0 { return "0s" }
        var out = ""
        for suffix in order.dropFirst(2) {
            let size = units.first { $0.suffix == suffix }!.millis
            if millis >= size {
                out += "\(millis / size)\(suffix)"
                millis %= size
            }
        }
        return out
    }
}

extension Duration {
    /// Whole milliseconds (truncated).
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// Whole microseconds (truncated).
    public var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// Seconds as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
