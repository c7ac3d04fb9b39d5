import Foundation
import PhaseWatchCore
import Storage
import Synchronization

/// The status page's last 90 UTC days of a target with an availability objective, one cell per
/// day (docs/slo.md#reports): its availability SLI against the objective, grey (`unknown`) for a
/// day without probes or with coverage under `slo.min_coverage`. Each cell links to the day's
/// report.
struct DayStrip: Sendable, Equatable {
    enum Verdict: String, Sendable {
        case met, missed, unknown
    }

    struct Day: Sendable, Equatable {
        /// UTC midnight.
        var start: Date
        var probes: Int
        var sli: Double?
        var coverage: Double?
        var verdict: Verdict
    }

    /// Oldest first; the last is today, so far.
    var days: [Day]

    static let length = 90
    static let day: TimeInterval = 86_400

    static func day(start: Date, counts: DayCounts?, configuredUs: Int64, interval: Duration, objective: Double, minCoverage: Double) -> Day {
        let probes = counts?.total ?? 0
        let sli = SLOMath.sli(good: counts?.success ?? 0, total: probes)
        let coverage = Coverage.ratio(probes: Double(probes), configuredSeconds: Double(configuredUs) / 1e6, intervalSeconds: interval.seconds)
        // Unknown coverage (no record of the target being configured) is not judged, as in SLOStatus.
        let verdict: Verdict =
            if let sli, (coverage ?? 1) >= minCoverage { sli >= objective ? .met : .missed } else { .unknown }
        return Day(start: start, probes: probes, sli: sli, coverage: coverage, verdict: verdict)
    }
}

/// The strips of every target, cheap enough for a page served often: the 89 finished days are
/// read once per UTC day (one query over the hour rollups' counts for all targets, and each
/// target's coverage), today's cell once per SLO snapshot.
final class DayStripCache: Sendable {
    private struct Finished {
        var today: Date
        var names: [String]
        var counts: [String: [Int: DayCounts]]
        var configuredUs: [String: [Int64]]
    }

    private struct Latest {
        var asOf: Date
        var names: [String]
        var strips: [String: DayStrip]
    }

    private let finished = Mutex<Finished?>(nil)
    private let latest = Mutex<Latest?>(nil)

    /// The strip of each target with an availability objective; none when the store fails
    /// (the rest of the page still shows). `asOf` is the SLO snapshot's time: strips are kept
    /// until the next snapshot.
    func strips(targets: [Target], asOf: Date?, now: Date, store: ProbeStore) async -> [String: DayStrip] {
        let judged = targets.filter { $0.slo?.availability != nil }
        let names = judged.map(\.name)
        if let asOf, let kept = latest.withLock({ $0 }), kept.asOf == asOf, kept.names == names { return kept.strips }
        let today = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / DayStrip.day).rounded(.down) * DayStrip.day)
        let first = today.addingTimeInterval(-Double(DayStrip.length - 1) * DayStrip.day)
        let series = judged.map { (name: $0.name, connection: $0.sloConnection) }
        do {
            // When the agent ran is the same for every target: read once.
            let running = try await store.runningSpans(since: first, now: now)
            var past = finished.withLock { $0 }
            if past?.today != today || past?.names != names {
                let counts = try await store.dailyCounts(targets: series, from: first, to: today)
                var configured: [String: [Int64]] = [:]
                let windows = (0..<DayStrip.length - 1).map { i in
                    (from: first.addingTimeInterval(Double(i) * DayStrip.day), to: first.addingTimeInterval(Double(i + 1) * DayStrip.day))
                }
                for name in names {
                    configured[name] = try await store.observation(target: name, windows: windows, now: now, running: running).map(\.configured)
                }
                past = Finished(today: today, names: names, counts: counts, configuredUs: configured)
                finished.withLock { [past] in $0 = past }
            }
            let todayCounts = try await store.dailyCounts(targets: series, from: today, to: today.addingTimeInterval(DayStrip.day))
            var strips: [String: DayStrip] = [:]
            for target in judged {
                guard let slo = target.slo, let objective = slo.availability else { continue }
                var days: [DayStrip.Day] = []
                for i in 0..<DayStrip.length - 1 {
                    days.append(DayStrip.day(
                        start: first.addingTimeInterval(Double(i) * DayStrip.day), counts: past?.counts[target.name]?[i],
                        configuredUs: past?.configuredUs[target.name]?[i] ?? 0, interval: target.interval, objective: objective,
                        minCoverage: slo.minCoverage))
                }
                let sofar = try await store.observation(target: target.name, windows: [(today, now)], now: now, running: running)[0].configured
                days.append(DayStrip.day(
                    start: today, counts: todayCounts[target.name]?[0], configuredUs: sofar, interval: target.interval, objective: objective,
                    minCoverage: slo.minCoverage))
                strips[target.name] = DayStrip(days: days)
            }
            if let asOf { latest.withLock { $0 = Latest(asOf: asOf, names: names, strips: strips) } }
            return strips
        } catch {
            return [:]
        }
    }
}
