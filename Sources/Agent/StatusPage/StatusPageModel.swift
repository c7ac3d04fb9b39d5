import Foundation
import PhaseWatchCore
import Probing
import Storage

/// Everything the status page shows, as plain values. `make(targets:store:cache:now:)` gathers
/// it from the running agent; `StatusPage.render` turns it into HTML without touching anything
/// else, so the page can be tested from hand-made models.
struct StatusPageModel: Sendable {
    /// One configured target, in config order: the summary the API shows too, with the page's
    /// SLO section and chart. Reads the summary's fields as its own (`view.name`).
    @dynamicMemberLookup
    struct TargetView: Sendable {
        var summary: TargetSummary
        var slo: SLOSection
        var chart: ChartData
        /// `connection: both` targets: cold against warm requests; nil for other targets.
        var coldWarm: ColdWarm? = nil
        /// The last 90 days, for targets with an availability objective.
        var strip: DayStrip? = nil

        subscript<Value>(dynamicMember field: KeyPath<TargetSummary, Value>) -> Value { summary[keyPath: field] }
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

    /// Medians over the last hour of a `connection: both` target's fresh and reused requests
    /// (docs/probing.md#connections), and what the cold ones spend before the request goes out.
    struct ColdWarm: Sendable, Equatable {
        var cold: Double
        var warm: Double
        /// Median lookup + connect + TLS of the fresh requests.
        var setup: Double

        static let window: TimeInterval = 3600

        init(cold: Double, warm: Double, setup: Double) {
            self.cold = cold
            self.warm = warm
            self.setup = setup
        }

        /// From the two kinds' summaries; nil while either has no successful request.
        init?(fresh: WindowSummary, reused: WindowSummary) {
            guard let cold = fresh.duration.quantile(0.5), let warm = reused.duration.quantile(0.5) else { return nil }
            let setup = [Phase.resolve, .connect, .tls].compactMap { fresh.phases[$0]?.quantile(0.5) }.reduce(0, +)
            self.init(cold: cold, warm: warm, setup: setup)
        }
    }

    enum ChartData: Sendable {
        /// Buckets with successful probes, oldest first (see `ProbeStore.phaseMeans`).
        case series([PhaseMeans])
        /// The history could not be read; why.
        case unavailable(String)
    }

    var location: String
    /// This agent's shard and how many of the configured targets it owns.
    var shard: ShardCoverage
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
    /// from the engine's snapshot, the chart series from `store` through `cache`. A failing
    /// store does not take the page down: the parts it feeds say what went wrong, the rest
    /// still shows.
    static func make(
        targets live: LiveTargets, store: ProbeStore, cache: PhaseSeriesCache = PhaseSeriesCache(),
        strips stripCache: DayStripCache = DayStripCache(), now: Date = Date()
    ) async -> StatusPageModel {
        let location = live.config().global.location
        let summaries = live.summaries()
        var snapshot: SLOSnapshot?
        var sloError: String?
        do {
            snapshot = try await live.sloSnapshot()
        } catch {
            sloError = "\(error)"
        }
        let span = ChartSpan.lastHours(endingAfter: now)
        let configured = live.config().targets.filter { $0.connection != .fresh }
        // Targets that reuse connections chart the kind their SLOs judge.
        let connections = Dictionary(configured.map { ($0.name, $0.sloConnection) }, uniquingKeysWith: { a, _ in a })
        let charts = await cache.series(targets: summaries.map(\.name), span: span, now: now, store: store, connections: connections)
        var coldWarm: [String: ColdWarm] = [:]
        for target in configured where target.connection == .both {
            let from = now.addingTimeInterval(-ColdWarm.window)
            // A failing store leaves the line out; the chart says why.
            guard let fresh = try? await store.summary(target: target.name, from: from, to: now, connection: .fresh),
                  let reused = try? await store.summary(target: target.name, from: from, to: now, connection: .reused)
            else { continue }
            coldWarm[target.name] = ColdWarm(fresh: fresh, reused: reused)
        }

        let strips = await stripCache.strips(targets: live.config().targets, asOf: snapshot?.asOf, now: now, store: store)

        let targets = summaries.map { summary in
            let slo: SLOSection
            if !summary.hasSLO {
                slo = .notConfigured
            } else if let snapshot {
                slo = snapshot.targets[summary.name].map { .statuses($0.slos) } ?? .pending
            } else {
                slo = .unavailable(sloError ?? "no SLO snapshot")
            }
            return TargetView(
                summary: summary, slo: slo, chart: charts[summary.name] ?? .series([]), coldWarm: coldWarm[summary.name],
                strip: strips[summary.name])
        }
        return StatusPageModel(
            location: location, shard: live.shard(), version: PhaseWatchVersion.current, now: now, sloAsOf: snapshot?.asOf,
            sloError: sloError, span: span, targets: targets)
    }
}
