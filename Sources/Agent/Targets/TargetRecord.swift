import Foundation
import PhaseWatchCore
import Synchronization

/// Everything the agent holds for one configured target: its config, its scheduled run, its
/// up/degraded/down state, its metric series and its last result. One record per target name,
/// kept across reloads (so counters and state go on) and kept in one `TargetTable`.
final class TargetRecord: Sendable {
    let name: String
    /// Counters and histograms must survive a reload, so the series object is the record's
    /// for its whole life; `reconfigure` updates its labels.
    let series: TargetSeries
    private let held: Mutex<Held>

    private struct Held {
        var target: Target
        var machine: TargetStateMachine
        var latest: ProbeResult?
        /// The last run's results per address (`ip_policy: all`), in address order.
        var addresses: [ProbeResult] = []
        /// The scheduler's run for the current config; nil when not scheduled.
        var run: ScheduledRun?
    }

    init(target: Target, location: String, durationBuckets: Buckets) {
        name = target.name
        series = TargetSeries(target: target, location: location, durationBuckets: durationBuckets)
        held = Mutex(Held(target: target, machine: Self.machine(for: target, keeping: nil), latest: nil))
    }

    /// The target's config in force.
    var target: Target { held.withLock { $0.target } }

    /// Takes a reloaded config: new thresholds for the state machine (keeping what it has seen)
    /// and new series labels. Returns whether the config changed, so its run must restart.
    func reconfigure(_ target: Target, durationBuckets: Buckets) -> Bool {
        series.reconfigure(target, durationBuckets: durationBuckets)
        if target.ipPolicy != .all { observeAddresses([]) }
        return held.withLock { held in
            held.machine = Self.machine(for: target, keeping: held.machine)
            defer { held.target = target }
            return held.target != target
        }
    }

    private static func machine(for target: Target, keeping old: TargetStateMachine?) -> TargetStateMachine {
        var machine = old ?? TargetStateMachine(config: target.state)
        machine.config = target.state
        machine.latencyThreshold = target.slo?.latency?.threshold.seconds
        return machine
    }

    /// What one result did to the target's state.
    struct Change: Sendable {
        var state: TargetState
        var previous: TargetState
        /// Why the target is in `state`, for people (`TargetStateMachine.reason`); empty when
        /// the state did not change.
        var reason: String
    }

    /// One finished probe: the state machine, the last result, the series. Quick and
    /// non-blocking (called on the curl loop's executor).
    @discardableResult
    func observe(_ result: ProbeResult) -> Change {
        let change = held.withLock { held in
            let previous = held.machine.state
            held.machine.record(success: result.success, duration: result.duration, startedAt: result.startedAt)
            held.latest = result
            let state = held.machine.state
            return Change(state: state, previous: previous, reason: state == previous ? "" : held.machine.reason)
        }
        series.observe(result, state: change.state)
        return change
    }

    /// The results of one run's addresses (`ip_policy: all`, docs/probing.md#addresses): they
    /// replace the last run's; the target's state follows its own result only (`observe`).
    func observeAddresses(_ results: [ProbeResult]) {
        held.withLock { $0.addresses = results }
        series.observeAddresses(results)
    }

    /// The last run's results per address; empty for a target of `ip_policy: first`.
    var addressResults: [ProbeResult] { held.withLock { $0.addresses } }

    /// After a restart: the latest stored results, oldest first, replayed into a state machine
    /// that has seen nothing yet, so a restart neither forgets a down target nor flaps it. A
    /// live result that arrived meanwhile is newer than anything stored and wins.
    func restore(_ oldestFirst: [ProbeResult]) {
        guard let newest = oldestFirst.last else { return }
        let state = held.withLock { held -> TargetState? in
            guard held.machine.recentCount == 0 else { return nil }
            for result in oldestFirst {
                held.machine.record(success: result.success, duration: result.duration, startedAt: result.startedAt)
            }
            held.latest = newest
            return held.machine.state
        }
        if let state { series.restore(newest, state: state) }
    }

    /// How many recent results the state machine wants replayed after a restart; 0 when it has
    /// seen results already.
    var wantsRestore: Int {
        held.withLock { $0.machine.recentCount == 0 ? $0.machine.config.recentProbes : 0 }
    }

    /// Whether the target runs at `interval_while_failing` now; the scheduler asks after each probe.
    var isFailing: Bool { held.withLock { $0.machine.state.isFailing(latestSucceeded: $0.latest?.success) } }

    var status: TargetStatus {
        held.withLock { TargetStatus(state: $0.machine.state, since: $0.machine.since, reason: $0.machine.reason) }
    }

    /// The last result since start (or restored from the store).
    var latest: ProbeResult? { held.withLock { $0.latest } }

    /// Puts `run` in place of the current one and returns the one it replaced.
    func replaceRun(with run: ScheduledRun?) -> ScheduledRun? {
        held.withLock { held in
            defer { held.run = run }
            return held.run
        }
    }

    var isScheduled: Bool { held.withLock { $0.run != nil } }
}

/// A target's state, since when and why (`TargetStateMachine.reason`).
public struct TargetStatus: Sendable, Equatable {
    public var state: TargetState
    public var since: Date?
    public var reason: String
}
