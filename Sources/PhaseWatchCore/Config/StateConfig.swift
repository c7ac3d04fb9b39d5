/// When a target counts as `up`, `degraded` or `down` (a circuit breaker's hysteresis: entering
/// a worse state is quick, leaving it needs a run of successes). Set in `global.state`, and per
/// target in `targets[].state`, key by key.
public struct StateConfig: Sendable, Equatable {
    /// How many of the latest probes the error ratio and the P99 are taken over.
    public var recentProbes: Int
    /// `degraded` when the share of failed probes among the recent ones is above this.
    public var degradedErrorRatio: Double
    /// `down` after this many failures in a row.
    public var downAfter: Int
    /// Leaving `down` or `degraded` needs this many successes in a row.
    public var recoverAfter: Int

    public init(recentProbes: Int = 20, degradedErrorRatio: Double = 0.1, downAfter: Int = 3, recoverAfter: Int = 2) {
        self.recentProbes = recentProbes
        self.degradedErrorRatio = degradedErrorRatio
        self.downAfter = downAfter
        self.recoverAfter = recoverAfter
    }
}
