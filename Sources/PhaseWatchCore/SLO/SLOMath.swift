/// The SLO arithmetic of docs/slo.md, on counts handed in (no clock, no I/O).
///
/// For a window: SLI = good / total (absent when there were no probes, never 1);
/// budget = 1 − objective; burn rate = (1 − SLI) / budget;
/// consumed = bad / (total × budget) over the SLO window; remaining = 1 − consumed (may go below 0).
public enum SLOMath {
    public static func sli(good: Int, total: Int) -> Double? {
        sli(good: Double(good), total: Double(total))
    }

    /// The same with weighted probes (`slo.weighting: time`: each probe counts as the share of
    /// the target's interval it stands for).
    public static func sli(good: Double, total: Double) -> Double? {
        total > 0 ? good / total : nil
    }

    public static func budget(objective: Double) -> Double {
        1 - objective
    }

    public static func burnRate(sli: Double?, objective: Double) -> Double? {
        guard let sli else { return nil }
        return (1 - sli) / budget(objective: objective)
    }

    /// Share of the window's error budget used: bad probes over the probes the budget allows.
    public static func consumed(bad: Int, total: Int, objective: Double) -> Double? {
        consumed(bad: Double(bad), total: Double(total), objective: objective)
    }

    public static func consumed(bad: Double, total: Double, objective: Double) -> Double? {
        guard total > 0 else { return nil }
        return bad / (total * budget(objective: objective))
    }
}

/// The SLI windows every SLO reports, besides its own window.
public enum SLIWindows {
    public static let standard: [Duration] = [
        .seconds(300), .seconds(1800), .seconds(3600), .seconds(7200), .seconds(21_600), .seconds(86_400),
        .seconds(259_200),
    ]

    /// The standard windows plus the SLO window and the alert windows, each once, shortest first.
    public static func all(sloWindow: Duration) -> [Duration] {
        let alertWindows = BurnRateAlert.alerts(sloWindow: sloWindow).flatMap { [$0.long, $0.short] }
        return Array(Set(standard + [sloWindow] + alertWindows)).sorted()
    }
}

/// One multiwindow burn-rate alert (SRE Workbook, chapter 5): it fires when the burn rate is
/// above `threshold` over both the long and the short window.
public struct BurnRateAlert: Sendable, Equatable {
    public enum Severity: String, Sendable, Codable { case page, ticket }

    public var severity: Severity
    public var long: Duration
    public var short: Duration
    public var threshold: Double

    public init(severity: Severity, long: Duration, short: Duration, threshold: Double) {
        self.severity = severity
        self.long = long
        self.short = short
        self.threshold = threshold
    }

    /// The Workbook's table for a 30-day SLO: 2 % of the budget in 1 h, 5 % in 6 h (page);
    /// 10 % in 1 d, 10 % in 3 d (ticket).
    public static let thirtyDayTable: [BurnRateAlert] = [
        BurnRateAlert(severity: .page, long: .seconds(3600), short: .seconds(300), threshold: 14.4),
        BurnRateAlert(severity: .page, long: .seconds(21_600), short: .seconds(1800), threshold: 6),
        BurnRateAlert(severity: .ticket, long: .seconds(86_400), short: .seconds(7200), threshold: 3),
        BurnRateAlert(severity: .ticket, long: .seconds(259_200), short: .seconds(21_600), threshold: 1),
    ]

    /// The table for an SLO window of any length: windows scale in proportion to it (whole
    /// seconds), thresholds stay, so each alert still means the same share of the budget.
    public static func alerts(sloWindow: Duration) -> [BurnRateAlert] {
        let scale = sloWindow.seconds / Duration.seconds(30 * 86_400).seconds
        return thirtyDayTable.map { alert in
            var scaled = alert
            scaled.long = .seconds(max(1, (alert.long.seconds * scale).rounded()))
            scaled.short = .seconds(max(1, (alert.short.seconds * scale).rounded()))
            return scaled
        }
    }

    /// Whether it fires, given the burn rates over its two windows (absent rates never fire).
    public func firing(longBurn: Double?, shortBurn: Double?) -> Bool {
        guard let longBurn, let shortBurn else { return false }
        return longBurn > threshold && shortBurn > threshold
    }
}
