import Foundation
import PhaseWatchCore

/// Recording and alerting rules for one SLO of one target, computed by Prometheus from the
/// agent's counters (docs/metrics.md), named as Sloth names them (`slo:sli_error:ratio_rate5m`,
/// `slo:error_budget:ratio`, ...; labels `sloth_id`, `sloth_service` = target, `sloth_slo`,
/// `sloth_window`) so Sloth-style dashboards fit. Each series also carries our own `target`,
/// `location` and `slo` labels, as the agent's `phasewatch_slo_*` series do.
///
/// The same SLIs, burn rates and alerts exist twice: per target and location, and per target
/// over the whole fleet (every location and shard summed: `Aggregation`, docs/slo.md#fleet-slos).
///
/// The math is docs/slo.md's, the same as the agent's SLO engine: error ratio = bad / total
/// probes in the window (absent without probes; bad on the SLO's availability basis), burn rate = error ratio / budget, and the four
/// multiwindow alerts of `BurnRateAlert.alerts(sloWindow:)`.
public struct SLORules: Sendable {
    public enum Kind: String, Sendable { case availability, latency }

    /// Which probes one SLI counts together.
    public enum Aggregation: Sendable, CaseIterable {
        /// One location's: the agents of a location (its shards) summed, as the agents report it.
        case location
        /// Every location's and shard's probes of the target summed. Its series have names of
        /// their own (`fleet_slo:…`) and the label `aggregation="fleet"`: a `sum` or `max` over
        /// the `slo:…` series never counts a probe twice.
        case fleet

        /// The labels a sum keeps: every other one (`instance`, `job`, a push's external
        /// labels) tells agents apart and is summed away.
        var by: String {
            switch self {
            case .location: "target, location"
            case .fleet: "target"
            }
        }

        var prefix: String {
            switch self {
            case .location: "slo"
            case .fleet: "fleet_slo"
            }
        }

        /// Added to every fleet series and alert. The per-location ones get none: their labels
        /// stay those that existing routes and silences match.
        var labels: [(String, String)] {
            switch self {
            case .location: []
            case .fleet: [("aggregation", "fleet")]
            }
        }

        var groupPrefix: String {
            switch self {
            case .location: "phasewatch-slo"
            case .fleet: "phasewatch-slo-fleet"
            }
        }
    }

    public var target: String
    public var kind: Kind
    public var objective: Double
    public var window: Duration
    /// Latency SLOs: good probes succeeded within this.
    public var threshold: Duration?
    /// `slo.min_coverage`: below it `PhaseWatchProbeCoverageLow` fires.
    public var minCoverage = 0.9
    /// An availability SLO on the first-attempt basis (`slo.availability_basis`) of a target
    /// with retries: bad probes are those not good at their first attempt, from
    /// `phasewatch_probe_attempts_total` (docs/slo.md#first-attempt-and-final). Without retries
    /// the two bases are the same and the probe counters serve both.
    public var firstAttempt = false

    /// Windows up to 3 days are `rate()`s over the counters. Longer ones (the SLO window of a
    /// 30-day SLO) average the 5m error ratio over the window, as Sloth does: a rate over 30
    /// days of raw samples at every evaluation costs Prometheus too much.
    static let longestRateWindow = Duration.seconds(259_200)
    static let shortWindow = Duration.seconds(300)

    public init(target: String, kind: Kind, objective: Double, window: Duration, threshold: Duration? = nil) {
        self.target = target
        self.kind = kind
        self.objective = objective
        self.window = window
        self.threshold = threshold
    }

    /// The SLOs `target` has, availability first.
    public static func all(for target: Target) -> [SLORules] {
        guard let slo = target.slo else { return [] }
        var rules: [SLORules] = []
        if let objective = slo.availability {
            var availability = SLORules(target: target.name, kind: .availability, objective: objective, window: slo.window)
            availability.firstAttempt = slo.availabilityBasis == .firstAttempt && target.retries.attempts > 0
            rules.append(availability)
        }
        if let latency = slo.latency {
            rules.append(SLORules(
                target: target.name, kind: .latency, objective: latency.objective, window: slo.window,
                threshold: latency.threshold))
        }
        for i in rules.indices { rules[i].minCoverage = slo.minCoverage }
        return rules
    }

    public var id: String { "\(target)-\(kind.rawValue)" }

    /// The per-location groups, then the fleet's.
    public func groups(_ options: RuleOptions = RuleOptions()) -> [RuleGroup] {
        Aggregation.allCases.flatMap { groups($0, options) }
    }

    func groups(_ aggregation: Aggregation, _ options: RuleOptions) -> [RuleGroup] {
        let prefix = aggregation.groupPrefix
        return [
            RuleGroup(name: "\(prefix)-sli-recordings-\(id)", rules: sliRecordings(aggregation)),
            RuleGroup(name: "\(prefix)-meta-recordings-\(id)", rules: metaRecordings(aggregation)),
            RuleGroup(name: "\(prefix)-alerts-\(id)", rules: alerts(aggregation, options)),
        ]
    }

    // MARK: - SLIs

    func sliRecordings(_ aggregation: Aggregation) -> [Rule] {
        SLIWindows.all(sloWindow: window).map { window in
            Rule(
                .record(Self.errorRatioName(window, aggregation)),
                expr: window <= Self.longestRateWindow
                    ? errorRatio(over: window, aggregation) : meanErrorRatio(over: window, aggregation),
                labels: sloLabels + [("sloth_window", PromDuration.format(window))] + aggregation.labels)
        }
    }

    static func errorRatioName(_ window: Duration, _ aggregation: Aggregation) -> String {
        "\(aggregation.prefix):sli_error:ratio_rate\(PromDuration.format(window))"
    }

    /// Bad probes over all probes in the window; no series when there were no probes. Counters
    /// are summed before dividing, so the fleet's ratio weighs every probe alike, not every
    /// location.
    func errorRatio(over window: Duration, _ aggregation: Aggregation) -> String {
        let w = PromDuration.format(window)
        let by = aggregation.by
        let total = "(sum by (\(by)) (rate(phasewatch_probes_total{target=\"\(target)\"}[\(w)])) > 0)"
        switch kind {
        case .availability where firstAttempt:
            return """
                sum by (\(by)) (rate(phasewatch_probe_attempts_total{target="\(target)",result!="first_success"}[\(w)]))
                /
                (sum by (\(by)) (rate(phasewatch_probe_attempts_total{target="\(target)"}[\(w)])) > 0)
                """
        case .availability:
            return """
                sum by (\(by)) (rate(phasewatch_probes_total{target="\(target)",result="failure"}[\(w)]))
                /
                \(total)
                """
        case .latency:
            // Good = successful and at most the threshold: the `le` bucket of the histogram of
            // successful probes, whose buckets include every latency-SLO threshold.
            return """
                1 - (
                  sum by (\(by)) (rate(phasewatch_probe_duration_seconds_bucket{target="\(target)",\(leMatcher)}[\(w)]))
                  /
                  \(total)
                )
                """
        }
    }

    /// The `le` label of the threshold's bucket. The agent writes bucket bounds as Swift prints
    /// a Double (`0.3`, `1.0`); Prometheus 3 rewrites `1.0` to `1` when it ingests classic
    /// histograms, 2.x keeps it, so whole seconds match both spellings.
    var leMatcher: String {
        let text = (threshold ?? .zero).seconds.description
        guard text.hasSuffix(".0") else { return "le=\"\(text)\"" }
        let whole = text.dropLast(2)
        return "le=~\"\(whole)|\(whole)\\\\.0\""
    }

    func meanErrorRatio(over window: Duration, _ aggregation: Aggregation) -> String {
        let short = "\(Self.errorRatioName(Self.shortWindow, aggregation)){sloth_id=\"\(id)\"}"
        let w = PromDuration.format(window)
        return """
            sum_over_time(\(short)[\(w)])
            / ignoring (sloth_window)
            count_over_time(\(short)[\(w)])
            """
    }

    // MARK: - Budget

    /// The constants are recorded once, with the per-location rules: the fleet's burn rates
    /// divide by the same `slo:error_budget:ratio`.
    func metaRecordings(_ aggregation: Aggregation) -> [Rule] {
        let budget = "slo:error_budget:ratio{sloth_id=\"\(id)\"}"
        let join = "/ on (sloth_id, sloth_slo, sloth_service) group_left ()"
        let prefix = aggregation.prefix
        let labels = metaLabels + aggregation.labels
        let burnRates = [
            Rule(
                .record("\(prefix):current_burn_rate:ratio"),
                expr: "\(Self.errorRatioName(Self.shortWindow, aggregation)){sloth_id=\"\(id)\"}\n\(join)\n\(budget)",
                labels: labels),
            Rule(
                .record("\(prefix):period_burn_rate:ratio"),
                expr: "\(Self.errorRatioName(window, aggregation)){sloth_id=\"\(id)\"}\n\(join)\n\(budget)",
                labels: labels),
            Rule(
                .record("\(prefix):period_error_budget_remaining:ratio"),
                expr: "1 - \(prefix):period_burn_rate:ratio{sloth_id=\"\(id)\"}", labels: labels),
        ]
        guard aggregation == .location else { return burnRates }
        return [
            Rule(.record("slo:objective:ratio"), expr: "vector(\(Self.number(objective)))", labels: metaLabels),
            Rule(.record("slo:error_budget:ratio"), expr: "vector(\(Self.number(budgetRatio)))", labels: metaLabels),
            Rule(.record("slo:time_period:days"), expr: "vector(\(Self.number(window.seconds / 86_400)))", labels: metaLabels),
            Rule(.record("slo:min_coverage:ratio"), expr: "vector(\(Self.number(minCoverage)))", labels: metaLabels),
        ] + burnRates + [
            Rule(
                .record("sloth_slo_info"), expr: "vector(1)",
                labels: metaLabels + [
                    ("sloth_mode", "phasewatch"), ("sloth_objective", Self.number(objective * 100)),
                    ("sloth_window", PromDuration.format(window)),
                ]),
        ]
    }

    var budgetRatio: Double { SLOMath.budget(objective: objective) }

    // MARK: - Alerts

    public static let alertName = "PhaseWatchErrorBudgetBurn"
    /// A name of its own, so routes and silences tell the fleet's burn from one location's.
    public static let fleetAlertName = "PhaseWatchFleetErrorBudgetBurn"

    func alerts(_ aggregation: Aggregation, _ options: RuleOptions) -> [Rule] {
        let name: String
        let links: [(String, String)]
        let seen: String
        let next: String
        switch aggregation {
        case .location:
            name = Self.alertName
            links = options.links(alert: name, dashboard: .slo, variables: ["location", "target", "slo"])
            seen = "{{ $labels.location }}"
            next = "Which phase burns it: budget_by_phase in GET /api/v1/targets/\(target) on the agent."
        case .fleet:
            name = Self.fleetAlertName
            links = options.links(alert: name, dashboard: .fleet, variables: ["target"])
            seen = "all locations"
            next = "Whether one location burns or all: \(Self.alertName) per location, and the fleet dashboard's locations side by side."
        }
        return BurnRateAlert.alerts(sloWindow: window).map { alert in
            let long = PromDuration.format(alert.long)
            let short = PromDuration.format(alert.short)
            let limit = "(\(Self.number(alert.threshold)) * \(Self.number(budgetRatio)))"
            func above(_ window: Duration) -> String {
                "max without (sloth_window) (\(Self.errorRatioName(window, aggregation)){sloth_id=\"\(id)\"} > \(limit))"
            }
            let what = kind == .availability
                ? "\(Self.number(objective * 100)) % of probes succeed"
                : "\(Self.number(objective * 100)) % of probes succeed within \(PromDuration.format(threshold ?? .zero))"
            return Rule(
                .alert(name),
                expr: "(\n  \(above(alert.long))\n  and\n  \(above(alert.short))\n)",
                labels: sloLabels + aggregation.labels + [("severity", alert.severity.rawValue), ("long", long), ("short", short)],
                annotations: [
                    ("summary", "{{ $labels.target }} (\(seen)): \(kind.rawValue) burn rate above \(Self.number(alert.threshold)) over \(long) and \(short)"),
                    ("description", """
                        Error ratio {{ $value | humanizePercentage }} over the last \(long), and over \(short) too, \
                        against a budget of \(Self.number(budgetRatio * 100)) % (SLO: \(what) over \(PromDuration.format(window))). \
                        At this rate the \(PromDuration.format(window)) budget lasts \
                        \(PromDuration.format(.seconds((window.seconds / alert.threshold).rounded()))). \
                        \(next)
                        """),
                ] + links)
        }
    }

    // MARK: - Labels and numbers

    /// On every SLI series (with `sloth_window` added) and every alert.
    var sloLabels: [(String, String)] {
        [("sloth_id", id), ("sloth_service", target), ("sloth_slo", kind.rawValue), ("slo", kind.rawValue)]
    }

    /// On the series made from constants, which have no labels of their own.
    var metaLabels: [(String, String)] { sloLabels + [("target", target)] }

    /// Shortest spelling that reads back as the same number to ten significant digits:
    /// `0.001`, not `0.0010000000000000009`.
    static func number(_ value: Double) -> String {
        String(format: "%.10g", value)
    }
}
