import Foundation
import PhaseWatchCore
import Storage

/// A target's report over [from, to) in calendar periods (docs/api.md#get-apiv1targetsnamereport, docs/slo.md#reports):
/// exact counts, coverage, downtime and SLO numbers per period and for the whole range. The API
/// and `phasewatch report` both build it here; the SLO numbers come from `SLOStatus` with the
/// period as the SLO window, so a range equal to an SLO window gives `/api/v1/slo`'s numbers.
public struct Report: Sendable, Equatable {
    public struct Interval: Sendable, Equatable {
        public var from: Date
        public var to: Date
    }

    /// One SLO over one period: its SLI and the share of the period's own error budget its bad
    /// probes used (`SLOMath.consumed`).
    public struct SLONumbers: Sendable, Equatable {
        public var sli: Double?
        /// Availability SLOs: the SLI counting a probe good only if its first attempt was.
        public var sliFirstAttempt: Double?
        public var budgetConsumed: Double?
    }

    public struct Row: Sendable, Equatable {
        public var start: Date
        public var end: Date
        public var probes: Int
        /// Availability-good: successful probes.
        public var good: Int
        /// Successful at the first attempt (docs/slo.md#first-attempt-and-final).
        public var goodFirstAttempt: Int
        /// Probe slots of the time the target was configured (`Coverage`), 0 without a record.
        public var expected: Double
        public var coverage: Double?
        public var unobservedSeconds: Double
        /// Nil where raw results are gone (rollups keep no order of outcomes to replay).
        public var downtimeSeconds: Double?
        public var downtime: [Interval]?
        /// Nil for an SLO the target does not have.
        public var availability: SLONumbers?
        public var latency: SLONumbers?
        /// The phase with the most failed probes, which consumed the most availability budget.
        public var worstPhase: Phase?
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?
    }

    public var target: String
    public var from: Date
    public var to: Date
    public var step: ReportStep
    public var timeZone: TimeZone
    public var periods: [Row]

    /// The zone's IANA name; Foundation on Linux names UTC "GMT", the same zone under the name
    /// docs/api.md#get-apiv1targetsnamereport gives as the default.
    public var zoneName: String { timeZone.identifier == "GMT" ? "UTC" : timeZone.identifier }
    public var total: Row

    /// The report of `target` (as configured now) from `store`; `now` ends this process's
    /// agent run for coverage (`ProbeStore.observation`). Throws `ReportPeriods.Problem` for a
    /// range it refuses.
    public static func make(
        target: Target, from: Date, to: Date, step: ReportStep, timeZone: TimeZone, store: ProbeStore, now: Date
    ) async throws -> Report {
        let periods = try ReportPeriods.periods(from: from, to: to, step: step, timeZone: timeZone)
        let windows = periods + [(start: from, end: to)]
        let summaries = try await store.reportSummaries(
            target: target.name, windows: windows.map { ($0.start, $0.end) }, connection: target.sloConnection)
        let observations = try await store.observation(target: target.name, windows: windows.map { ($0.start, $0.end) }, now: now)
        let state = target.state
        let (outcomes, rawFrom) = try await store.outcomes(
            target: target.name, from: from, to: to, before: state.downAfter + state.recoverAfter + state.recentProbes)
        let down = downSpans(outcomes, target: target, to: to)
        var rows = zip(windows, zip(summaries, observations)).map { window, numbers in
            let known = rawFrom.map { window.start >= $0 } ?? true
            return row(target: target, window: window, summary: numbers.0, observation: numbers.1, down: known ? down : nil)
        }
        let total = rows.removeLast()
        return Report(target: target.name, from: from, to: to, step: step, timeZone: timeZone, periods: rows, total: total)
    }

    static func row(
        target: Target, window: (start: Date, end: Date), summary: WindowSummary, observation: (configured: Int64, observed: Int64),
        down: [Coverage.Span]?
    ) -> Row {
        let configuredSeconds = Double(observation.configured) / 1e6
        var row = Row(
            start: window.start, end: window.end, probes: summary.total, good: summary.success, goodFirstAttempt: summary.successFirstAttempt,
            expected: configuredSeconds / target.interval.seconds,
            coverage: Coverage.ratio(
                probes: summary.weighted.total, configuredSeconds: configuredSeconds, intervalSeconds: target.interval.seconds),
            unobservedSeconds: Double(observation.configured - observation.observed) / 1e6,
            worstPhase: summary.failuresByPhase.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key,
            p50: summary.duration.quantile(0.5), p95: summary.duration.quantile(0.95), p99: summary.duration.quantile(0.99))
        if let down {
            let inside = Coverage.intersection(down, [Coverage.Span(from: micros(window.start), to: micros(window.end))])
            row.downtime = inside.map { Interval(from: date($0.from), to: date($0.to)) }
            row.downtimeSeconds = Double(Coverage.length(inside)) / 1e6
        }
        if let slo = target.slo {
            // The period is the SLO window: SLOStatus computes exactly what /api/v1/slo does for a
            // window of that length (availability SLOs on their basis, latency on the final one).
            func numbers(_ kind: SLOStatus.Kind, _ objective: Double, _ basis: AvailabilityBasis) -> SLONumbers {
                let n = SLOStatus.windowNumbers(summary, kind: kind, objective: objective, weighting: slo.weighting, basis: basis)
                return SLONumbers(sli: n.sli, sliFirstAttempt: n.sliFirstAttempt, budgetConsumed: n.consumed)
            }
            row.availability = slo.availability.map { numbers(.availability, $0, slo.availabilityBasis) }
            row.latency = slo.latency.map { numbers(.latency, $0.objective, .final) }
        }
        return row
    }

    /// When the target's state was `down`, replaying its state machine (the agent's hysteresis,
    /// `TargetStateMachine`) over the outcomes: from the probe that made it down to the one that
    /// ended it; still down after the last probe, until that probe's interval ran out (or `to`).
    static func downSpans(_ outcomes: [ProbeOutcome], target: Target, to: Date) -> [Coverage.Span] {
        var machine = TargetStateMachine(config: target.state, latencyThreshold: target.slo?.latency?.threshold.seconds)
        var spans: [Coverage.Span] = []
        var downSince: Date?
        for outcome in outcomes {
            machine.record(success: outcome.success, duration: outcome.duration, startedAt: outcome.startedAt)
            if machine.state == .down, downSince == nil {
                downSince = outcome.startedAt
            } else if machine.state != .down, let since = downSince {
                spans.append(Coverage.Span(from: micros(since), to: micros(outcome.startedAt)))
                downSince = nil
            }
        }
        if let since = downSince, let last = outcomes.last {
            let end = min(to, last.startedAt.addingTimeInterval(target.interval.seconds))
            spans.append(Coverage.Span(from: micros(since), to: micros(end)))
        }
        return Coverage.merged(spans)
    }

    static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1e6).rounded()) }
    static func date(_ micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1e6) }
}
