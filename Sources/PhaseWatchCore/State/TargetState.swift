import Foundation

/// What a target looks like right now, from its latest probes (not from the SLO windows).
public enum TargetState: String, Sendable, Codable, CaseIterable {
    /// No probe result yet.
    case unknown
    case up
    /// Working, but too many of the recent probes failed, or the recent P99 is above the
    /// latency-SLO threshold.
    case degraded
    /// Failing: `down_after` failures in a row.
    case down

    /// Whether a target in this state, whose latest probe succeeded or not (nil: no probe yet),
    /// runs at `interval_while_failing` (docs/probing.md#interval_while_failing): in every state
    /// but `up`, and when up after a failed probe, so the failure is confirmed or cleared within
    /// the fast interval instead of waiting a whole interval for each of `down_after` failures.
    public func isFailing(latestSucceeded: Bool?) -> Bool {
        self != .up || latestSucceeded == false
    }
}

/// The state of one target as a circuit breaker: a few bad probes move it to `degraded` or
/// `down` at once; coming back needs `recover_after` successes in a row, so a flapping target
/// does not flap its state. Pure: fed one probe outcome at a time, no clock.
public struct TargetStateMachine: Sendable, Equatable {
    public var config: StateConfig
    /// The latency-SLO threshold (seconds) the recent P99 is held against; nil: latency does
    /// not make the target degraded.
    public var latencyThreshold: Double?
    public private(set) var state: TargetState = .unknown
    /// Start time of the probe that moved the target into `state`.
    public private(set) var since: Date?
    public private(set) var consecutiveFailures = 0
    public private(set) var consecutiveSuccesses = 0
    /// The latest outcomes, oldest first, at most `config.recentProbes`.
    private var recent: [Outcome] = []

    struct Outcome: Sendable, Equatable {
        var success: Bool
        var duration: Double
    }

    public init(config: StateConfig, latencyThreshold: Double? = nil) {
        self.config = config
        self.latencyThreshold = latencyThreshold
    }

    /// How many outcomes the machine has seen (at most `recentProbes` are kept).
    public var recentCount: Int { recent.count }

    /// Share of failures among the recent probes; nil before the first.
    public var errorRatio: Double? {
        recent.isEmpty ? nil : Double(recent.count { !$0.success }) / Double(recent.count)
    }

    /// P99 (nearest rank) of the durations of the recent successful probes.
    public var recentP99: Double? {
        let durations = recent.filter(\.success).map(\.duration).sorted()
        guard !durations.isEmpty else { return nil }
        return durations[LatencySketch.nearestRank(0.99, count: durations.count) - 1]
    }

    /// Why the target is in its state, for people.
    public var reason: String {
        switch state {
        case .unknown: return "no probe yet"
        case .down: return "\(consecutiveFailures) failures in a row"
        case .degraded:
            if let p99 = recentP99, let latencyThreshold, p99 > latencyThreshold {
                return "P99 of the last \(recent.count) probes \(Self.ms(p99)) is above \(Self.ms(latencyThreshold))"
            }
            if let ratio = errorRatio, ratio > config.degradedErrorRatio {
                return "\(recent.count { !$0.success }) of the last \(recent.count) probes failed"
            }
            return "recovering: \(consecutiveSuccesses) of \(config.recoverAfter) successes in a row"
        case .up: return "working"
        }
    }

    public mutating func record(success: Bool, duration: Double, startedAt: Date) {
        recent.append(Outcome(success: success, duration: duration))
        if recent.count > config.recentProbes { recent.removeFirst(recent.count - config.recentProbes) }
        if success {
            consecutiveSuccesses += 1
            consecutiveFailures = 0
        } else {
            consecutiveFailures += 1
            consecutiveSuccesses = 0
        }
        let next = nextState()
        if next != state {
            state = next
            since = startedAt
        }
    }

    private func nextState() -> TargetState {
        if consecutiveFailures >= config.downAfter { return .down }
        let recovered = consecutiveSuccesses >= config.recoverAfter
        switch state {
        case .down:
            guard recovered else { return .down }
            return isDegraded ? .degraded : .up
        case .degraded:
            return isDegraded || !recovered ? .degraded : .up
        case .up, .unknown:
            return isDegraded ? .degraded : .up
        }
    }

    private var isDegraded: Bool {
        if let ratio = errorRatio, ratio > config.degradedErrorRatio { return true }
        if let latencyThreshold, let p99 = recentP99, p99 > latencyThreshold { return true }
        return false
    }

    private static func ms(_ seconds: Double) -> String {
        String(format: "%.1f ms", seconds * 1000)
    }
}
