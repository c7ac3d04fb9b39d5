import Foundation
import Logging
import PhaseWatchCore
import Storage
import Synchronization

/// The up/degraded/down state of every configured target, fed with each probe result as it
/// arrives (see `TargetStateMachine`), readable from any thread.
public final class TargetStates: Sendable {
    public struct Entry: Sendable, Equatable {
        public var state: TargetState
        public var since: Date?
        public var reason: String
    }

    private let machines = Mutex<[String: TargetStateMachine]>([:])

    public init() {}

    /// Adds machines for new targets, drops those of removed ones, and gives changed targets
    /// their new thresholds (keeping what they have seen).
    public func configure(_ targets: [Target]) {
        machines.withLock { machines in
            var next: [String: TargetStateMachine] = [:]
            for target in targets {
                var machine = machines[target.name] ?? TargetStateMachine(config: target.state)
                machine.config = target.state
                machine.latencyThreshold = target.slo?.latency?.threshold.seconds
                next[target.name] = machine
            }
            machines = next
        }
    }

    /// What one result did to its target's state.
    public struct Change: Sendable {
        public var state: TargetState
        public var previous: TargetState
        /// Why the target is in `state`, for people (`TargetStateMachine.reason`).
        public var reason: String
    }

    /// Records one result; returns the target's state after it and before (nil for an unknown
    /// target).
    @discardableResult
    public func record(_ result: ProbeResult) -> Change? {
        machines.withLock { machines in
            guard let previous = machines[result.target]?.state else { return nil }
            machines[result.target]!.record(success: result.success, duration: result.duration, startedAt: result.startedAt)
            let machine = machines[result.target]!
            return Change(state: machine.state, previous: previous, reason: machine.state == previous ? "" : machine.reason)
        }
    }

    public func entry(_ target: String) -> Entry? {
        machines.withLock { $0[target] }.map { Entry(state: $0.state, since: $0.since, reason: $0.reason) }
    }

    /// After a restart: replays each target's latest stored results (oldest first) into machines
    /// that have seen nothing yet, so a restart neither forgets a down target nor flaps it.
    /// Returns the newest stored result of each target restored.
    public func restore(from store: ProbeStore, logger: Logger) async -> [ProbeResult] {
        let wanted = machines.withLock { $0.filter { $0.value.recentCount == 0 }.mapValues(\.config.recentProbes) }
        var newest: [ProbeResult] = []
        for (name, count) in wanted {
            do {
                let page = try await store.results(target: name, since: nil, until: nil, limit: count, cursor: nil)
                guard let last = page.results.first else { continue }
                machines.withLock { machines in
                    // A live result may have arrived meanwhile; it is newer than anything stored.
                    guard machines[name]?.recentCount == 0 else { return }
                    for result in page.results.reversed() {
                        machines[name]?.record(success: result.success, duration: result.duration, startedAt: result.startedAt)
                    }
                }
                newest.append(last)
            } catch {
                logger.warning("could not restore the state of a target", metadata: ["target": "\(name)", "error": "\(error)"])
            }
        }
        return newest
    }
}
