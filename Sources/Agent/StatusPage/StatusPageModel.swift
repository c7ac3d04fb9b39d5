import Foundation
import PhaseWatchCore
import Probing
import Storage

/// Everything the status page shows, as plain values. `make(runtime:now:)` gathers it from the
/// running agent; `StatusPage.render` turns it into HTML without touching anything else, so the
/// page can be tested from hand-made models.
struct StatusPageModel: Sendable {
    /// One configured target, in config order.
    struct TargetView: Sendable {
        var name: String
        /// The URL with any password masked (`URLRedaction.redacted`).
        var url: String
        var method: String
        var interval: Duration
        var state: TargetState
        var stateSince: Date?
        var stateReason: String
        /// The last probe, nil before the first.
        var last: ProbeResult?
        var slo: SLOSection
        var chart: ChartData
    }

    enum SLOSection: Sendable {
        /// The target has no `slo` section.
        case notConfigured
        /// The SLO engine could not produce a snapshot; why.
        case unavailable(String)
        /// The snapshot does not know the target yet.
        case pending
        case statuses([SLOStatus])
    }

    enum ChartData: Sendable {
        /// Buckets with successful probes, oldest first (see `ProbeStore.phaseMeans`).
        case series([PhaseMeans])
        /// The history could not be read; why.
        case unavailable(String)
    }

    var location: String
    var version: String
    /// When the page was made.
    var now: Date
    /// The instant the SLO numbers describe; nil when there is no snapshot.
    var sloAsOf: Date?
    /// Why there is no SLO snapshot, if there is none.
    var sloError: String?
    var span: ChartSpan
    var targets: [TargetView]

    /// Targets per state, every state present.
    var stateCounts: [TargetState: Int] {
        var counts = Dictionary(uniqueKeysWithValues: TargetState.allCases.map { ($0, 0) })
        for target in targets { counts[target.state, default: 0] += 1 }
        return counts
    }
}

/// The time axis of the per-phase chart: `buckets` buckets of `step` ending at `end`. The end
/// is `now` rounded up to a whole step, so bars keep their place from one refresh to the next.
struct ChartSpan: Sendable, Equatable {
    var end: Date
    var step: Duration
    var buckets: Int

    /// The last 6 hours in 10-minute buckets.
    static func lastHours(endingAfter now: Date, step: Duration = .seconds(600), buckets: Int = 36) -> ChartSpan {
        let stepSeconds = Double(max(1, step.milliseconds / 1000))
        let end = (now.timeIntervalSince1970 / stepSeconds).rounded(.up) * stepSeconds
        return ChartSpan(end: Date(timeIntervalSince1970: end), step: step, buckets: buckets)
    }

    var stepSeconds: Double { Double(step.milliseconds) / 1000 }
    var start: Date { end.addingTimeInterval(-stepSeconds * Double(buckets)) }
    var length: Duration { step * buckets }

    /// The start of the bucket (on this grid, extended both ways) that holds `date`.
    func bucketStart(atOrBefore date: Date) -> Date {
        let steps = (date.timeIntervalSince(end) / stepSeconds).rounded(.down)
        return end.addingTimeInterval(steps * stepSeconds)
    }
}

extension StatusPageModel {
    /// The page's data from the running agent: states and last probes from memory, SLO numbers
    /// from the engine's snapshot, the chart series through `cache`. A failing store does not
    /// take the page down: the parts it feeds say what went wrong, the rest still shows.
    static func make(
        runtime: AgentRuntime, cache: PhaseSeriesCache = PhaseSeriesCache(), now: Date = Date()
    ) async -> StatusPageModel {
        let config = runtime.config
        let latest = runtime.latestResults
        var snapshot: SLOSnapshot?
        var sloError: String?
        do {
            snapshot = try await runtime.slo.snapshot()
        } catch {
            sloError = "\(error)"
        }
        let span = ChartSpan.lastHours(endingAfter: now)
        let charts = await cache.series(targets: config.targets.map(\.name), span: span, now: now, store: runtime.store)

        let targets = config.targets.map { target in
            let entry = runtime.states.entry(target.name)
            let slo: SLOSection
            if target.slo == nil {
                slo = .notConfigured
            } else if let snapshot {
                slo = snapshot.targets[target.name].map { .statuses($0.slos) } ?? .pending
            } else {
                slo = .unavailable(sloError ?? "no SLO snapshot")
            }
            return TargetView(
                name: target.name, url: URLRedaction.redacted(target.url), method: target.method,
                interval: target.interval, state: entry?.state ?? .unknown, stateSince: entry?.since,
                stateReason: entry?.reason ?? "no probe yet", last: latest[target.name], slo: slo,
                chart: charts[target.name] ?? .series([]))
        }
        return StatusPageModel(
            location: config.global.location, version: PhaseWatchVersion.current, now: now, sloAsOf: snapshot?.asOf,
            sloError: sloError, span: span, targets: targets)
    }
}
