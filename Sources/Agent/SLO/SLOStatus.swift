import Foundation
import PhaseWatchCore
import Storage

/// The status of one SLO of one target (the SLO status object of docs/api.md), computed from window
/// summaries with the math of docs/slo.md (`SLOMath`). Windows are keyed by their Prometheus
/// spelling (`5m`, `30d`); a window without probes has no SLI and no burn rate (left out, never 1).
public struct SLOStatus: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Encodable, CaseIterable {
        case availability, latency
    }

    public struct ErrorBudget: Sendable, Encodable, Equatable {
        /// 1 − objective.
        public var total: Double
        /// Share of the budget used over the SLO window; null without probes.
        public var consumed: Double?
        /// 1 − consumed (below 0 once overspent); null without probes.
        public var remaining: Double?
    }

    public struct Alert: Sendable, Encodable, Equatable {
        public var severity: BurnRateAlert.Severity
        public var long: String
        public var short: String
        public var threshold: Double
        public var firing: Bool
    }

    /// Whether enough of the SLO window was observed for its numbers to mean what they say
    /// (docs/slo.md#coverage).
    public enum Data: String, Sendable, Encodable, Equatable {
        case ok, insufficient
    }

    /// Probe counts over the SLO window behind the numbers. `good` and `bad` are final (after
    /// retries); availability SLOs also count the probes good at their first attempt.
    public struct Probes: Sendable, Encodable, Equatable {
        public var total: Int
        public var good: Int
        public var bad: Int
        public var goodFirstAttempt: Int?

        enum CodingKeys: String, CodingKey {
            case total, good, bad
            case goodFirstAttempt = "good_first_attempt"
        }
    }

    public var target: String
    public var slo: Kind
    public var objective: Double
    public var window: String
    /// Latency SLOs: the threshold in seconds.
    public var threshold: Double?
    /// Final SLIs: a probe is good when it ended good, after any retries.
    public var sli: [String: Double]
    /// Availability SLOs: the SLIs of the same windows with a probe good only when its first
    /// attempt was (docs/slo.md#first-attempt-and-final); nil for latency SLOs.
    public var sliFirstAttempt: [String: Double]?
    /// Availability SLOs: which of the two SLIs the burn rates, budget and alerts follow
    /// (`slo.availability_basis`); nil for latency SLOs.
    public var basis: AvailabilityBasis?
    public var errorBudget: ErrorBudget
    public var burnRate: [String: Double]
    public var alerts: [Alert]
    /// The consumed budget split by the phase the bad probes failed in (`too_slow`: latency SLO,
    /// probes that worked but took longer than the threshold). Adds up to `error_budget.consumed`.
    public var budgetByPhase: [String: Double]
    public var probes: Probes
    /// Probes over the SLO window ÷ the slots its configured time holds, at most 1; null when
    /// the window holds no record of the target being configured.
    public var coverage: Double?
    /// Seconds of the SLO window the target was configured but no agent ran.
    public var unobservedSeconds: Double
    /// `insufficient` while `coverage` is below `slo.min_coverage`.
    public var data: Data
    /// `slo.min_coverage`.
    public var minCoverage: Double

    enum CodingKeys: String, CodingKey {
        case target, slo, objective, window, threshold, sli, basis, alerts, probes, coverage, data
        case sliFirstAttempt = "sli_first_attempt"
        case minCoverage = "min_coverage"
        case errorBudget = "error_budget"
        case burnRate = "burn_rate"
        case budgetByPhase = "budget_by_phase"
        case unobservedSeconds = "unobserved_seconds"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(target, forKey: .target)
        try c.encode(slo, forKey: .slo)
        try c.encode(objective, forKey: .objective)
        try c.encode(window, forKey: .window)
        try c.encodeIfPresent(threshold, forKey: .threshold)
        try c.encode(sli, forKey: .sli)
        try c.encodeIfPresent(sliFirstAttempt, forKey: .sliFirstAttempt)
        try c.encodeIfPresent(basis?.rawValue, forKey: .basis)
        try c.encode(errorBudget, forKey: .errorBudget)
        try c.encode(burnRate, forKey: .burnRate)
        try c.encode(alerts, forKey: .alerts)
        try c.encode(budgetByPhase, forKey: .budgetByPhase)
        try c.encode(probes, forKey: .probes)
        try c.encode(coverage, forKey: .coverage)
        try c.encode(unobservedSeconds, forKey: .unobservedSeconds)
        try c.encode(minCoverage, forKey: .minCoverage)
        try c.encode(data, forKey: .data)
    }

    /// Which alerts fire now.
    public var firingAlerts: [Alert] { alerts.filter(\.firing) }

    /// The status of `kind` from the summaries of every window of `SLIWindows.all(sloWindow:)`
    /// (more may be given; they are ignored). With `weighting: .time` the SLIs, burn rates and
    /// budget count each probe as its weight (docs/slo.md#probing-faster-while-failing); `probes`
    /// stays the plain counts. `basis` picks the availability SLI the burn rates, budget and
    /// alerts follow; latency SLOs ignore it.
    public init(
        target: String, kind: Kind, objective: Double, sloWindow: Duration, threshold: Duration?,
        summaries: [Duration: WindowSummary], weighting: SLOWeighting = .probes, basis: AvailabilityBasis = .final,
        observed: Observed = .unknown
    ) {
        self.target = target
        slo = kind
        self.objective = objective
        window = PromDuration.format(sloWindow)
        self.threshold = threshold?.seconds
        let firstAttemptBudget = kind == .availability && basis == .firstAttempt
        func good(_ s: WindowSummary, firstAttempt: Bool = false) -> Int { Self.good(s, kind: kind, firstAttempt: firstAttempt) }
        func counted(_ s: WindowSummary, firstAttempt: Bool = false) -> (good: Double, total: Double) {
            Self.counted(s, kind: kind, weighting: weighting, firstAttempt: firstAttempt)
        }

        var sli: [String: Double] = [:]
        var sliFirstAttempt: [String: Double] = [:]
        var burn: [String: Double] = [:]
        for window in SLIWindows.all(sloWindow: sloWindow) {
            let s = summaries[window] ?? WindowSummary()
            let key = PromDuration.format(window)
            let (goodCount, total) = counted(s)
            sli[key] = SLOMath.sli(good: goodCount, total: total)
            if kind == .availability {
                let (goodFirst, _) = counted(s, firstAttempt: true)
                sliFirstAttempt[key] = SLOMath.sli(good: goodFirst, total: total)
            }
            burn[key] = SLOMath.burnRate(sli: firstAttemptBudget ? sliFirstAttempt[key] : sli[key], objective: objective)
        }
        self.sli = sli
        self.sliFirstAttempt = kind == .availability ? sliFirstAttempt : nil
        self.basis = kind == .availability ? basis : nil
        burnRate = burn
        alerts = BurnRateAlert.alerts(sloWindow: sloWindow).map { alert in
            let long = PromDuration.format(alert.long)
            let short = PromDuration.format(alert.short)
            return Alert(
                severity: alert.severity, long: long, short: short, threshold: alert.threshold,
                firing: alert.firing(longBurn: burn[long], shortBurn: burn[short]))
        }

        let whole = summaries[sloWindow] ?? WindowSummary()
        probes = Probes(
            total: whole.total, good: good(whole), bad: whole.total - good(whole),
            goodFirstAttempt: kind == .availability ? whole.successFirstAttempt : nil)
        // The probes the budget counts bad: on the first-attempt basis, those good only after a retry too.
        let bad = whole.total - good(whole, firstAttempt: firstAttemptBudget)
        let consumed = Self.consumed(whole, kind: kind, objective: objective, weighting: weighting, basis: basis)
        errorBudget = ErrorBudget(total: SLOMath.budget(objective: objective), consumed: consumed, remaining: consumed.map { 1 - $0 })
        var badByPhase: [String: Int] = [:]
        for (phase, failed) in whole.failuresByPhase where failed > 0 { badByPhase[phase.rawValue] = failed }
        if kind == .latency, whole.success > whole.goodLatency { badByPhase["too_slow"] = whole.success - whole.goodLatency }
        if firstAttemptBudget, whole.success > whole.successFirstAttempt { badByPhase["retried"] = whole.success - whole.successFirstAttempt }
        budgetByPhase = badByPhase.compactMapValues { n in
            switch weighting {
            case .probes: SLOMath.consumed(bad: n, total: whole.total, objective: objective)
            // The rollups keep no weighted sum per phase: each phase gets its share of the bad
            // probes, of the consumed budget, so the parts still add up to `consumed`.
            case .time: consumed.map { $0 * Double(n) / Double(bad) }
            }
        }
        // Each probe covers the share of the interval it stands for (its weight), so probing
        // faster while failing covers no more than the time it took.
        coverage = Coverage.ratio(
            probes: whole.weighted.total, configuredSeconds: Double(observed.configuredUs) / 1e6, intervalSeconds: observed.interval.seconds)
        unobservedSeconds = Double(observed.configuredUs - observed.observedUs) / 1e6
        minCoverage = observed.minCoverage
        // Unknown coverage (no record of the target being configured in the window: history
        // from before coverage was recorded) is not judged.
        data = coverage.map { $0 < observed.minCoverage } == true ? .insufficient : .ok
    }

    /// The SLIs (final, and first-attempt for availability) and the budget consumed of one
    /// window taken as the SLO window: what `init` gives as `sli[window]`,
    /// `sliFirstAttempt?[window]` and `errorBudget.consumed`, without the other windows, burn
    /// rates and alerts a report's period has no use for (docs/slo.md#reports).
    public static func windowNumbers(
        _ s: WindowSummary, kind: Kind, objective: Double, weighting: SLOWeighting, basis: AvailabilityBasis
    ) -> (sli: Double?, sliFirstAttempt: Double?, consumed: Double?) {
        let final = counted(s, kind: kind, weighting: weighting, firstAttempt: false)
        let first = kind == .availability ? counted(s, kind: kind, weighting: weighting, firstAttempt: true) : nil
        return (
            SLOMath.sli(good: final.good, total: final.total), first.flatMap { SLOMath.sli(good: $0.good, total: $0.total) },
            consumed(s, kind: kind, objective: objective, weighting: weighting, basis: basis)
        )
    }

    private static func good(_ s: WindowSummary, kind: Kind, firstAttempt: Bool) -> Int {
        kind == .availability ? (firstAttempt ? s.successFirstAttempt : s.success) : s.goodLatency
    }

    /// (good, total) as the SLIs count them.
    private static func counted(_ s: WindowSummary, kind: Kind, weighting: SLOWeighting, firstAttempt: Bool) -> (good: Double, total: Double) {
        switch weighting {
        case .probes: (Double(good(s, kind: kind, firstAttempt: firstAttempt)), Double(s.total))
        case .time:
            (kind == .availability ? (firstAttempt ? s.weighted.successFirstAttempt : s.weighted.success) : s.weighted.goodLatency,
             s.weighted.total)
        }
    }

    /// The share of the budget the window's bad probes used, on the basis the budget follows.
    private static func consumed(_ s: WindowSummary, kind: Kind, objective: Double, weighting: SLOWeighting, basis: AvailabilityBasis) -> Double? {
        let (good, total) = counted(s, kind: kind, weighting: weighting, firstAttempt: kind == .availability && basis == .firstAttempt)
        return SLOMath.consumed(bad: total - good, total: total, objective: objective)
    }

    /// What the SLO needs to know of its window's coverage: the configured and observed time
    /// (`ProbeStore.observation`), the target's interval and `slo.min_coverage`.
    public struct Observed: Sendable {
        public var configuredUs: Int64
        public var observedUs: Int64
        public var interval: Duration
        public var minCoverage: Double

        public init(configuredUs: Int64, observedUs: Int64, interval: Duration, minCoverage: Double) {
            self.configuredUs = configuredUs
            self.observedUs = observedUs
            self.interval = interval
            self.minCoverage = minCoverage
        }

        /// Nothing known: no coverage, data not judged.
        public static let unknown = Observed(configuredUs: 0, observedUs: 0, interval: .seconds(60), minCoverage: 0.9)
    }

    /// Every SLO `target` has, availability first. `observation` is the configured and observed
    /// time of the SLO window (`ProbeStore.observation`).
    public static func all(
        for target: Target, summaries: [Duration: WindowSummary], observation: (configured: Int64, observed: Int64) = (0, 0)
    ) -> [SLOStatus] {
        guard let slo = target.slo else { return [] }
        let observed = Observed(
            configuredUs: observation.configured, observedUs: observation.observed, interval: target.interval, minCoverage: slo.minCoverage)
        var out: [SLOStatus] = []
        if let objective = slo.availability {
            out.append(SLOStatus(
                target: target.name, kind: .availability, objective: objective, sloWindow: slo.window, threshold: nil,
                summaries: summaries, weighting: slo.weighting, basis: slo.availabilityBasis, observed: observed))
        }
        if let latency = slo.latency {
            out.append(SLOStatus(
                target: target.name, kind: .latency, objective: latency.objective, sloWindow: slo.window,
                threshold: latency.threshold, summaries: summaries, weighting: slo.weighting, observed: observed))
        }
        return out
    }
}

/// p50/p90/p95/p99 of the total and of each phase over one window, successful probes only
/// (nearest rank, ≤ 1 % relative error), with the counts they come from.
public struct LatencyQuantiles: Sendable, Encodable, Equatable {
    public struct Quantiles: Sendable, Encodable, Equatable {
        public let count: Int
        public let p50, p90, p95, p99: Double?

        public init(_ sketch: LatencySketch) {
            count = sketch.count
            p50 = sketch.quantile(0.5)
            p90 = sketch.quantile(0.9)
            p95 = sketch.quantile(0.95)
            p99 = sketch.quantile(0.99)
        }
    }

    public let target: String
    public let window: String
    public let from: Date
    public let to: Date
    public let probes: Int
    public let successful: Int
    public let total: Quantiles
    public let phases: [String: Quantiles]

    public init(target: String, window: Duration, from: Date, to: Date, summary: WindowSummary) {
        self.target = target
        self.window = PromDuration.format(window)
        self.from = from
        self.to = to
        probes = summary.total
        successful = summary.success
        total = Quantiles(summary.duration)
        phases = Dictionary(uniqueKeysWithValues: summary.phases.map { ($0.key.rawValue, Quantiles($0.value)) })
    }
}
