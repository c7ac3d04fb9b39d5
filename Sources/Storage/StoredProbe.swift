import Foundation
import PhaseWatchCore

/// One probe result on its way into the store.
public struct StoredProbe: Sendable, Equatable {
    public var result: ProbeResult
    /// The target's latency-SLO threshold when the probe ran; the row records whether the probe
    /// was good against it, so changing the threshold later never rewrites history. nil (no
    /// latency SLO) counts every successful probe as good.
    public var latencyThreshold: Duration?
    /// The share of the target's interval the probe stands for, for time-weighted SLIs
    /// (docs/slo.md#probing-faster-while-failing): 1 at the target's interval, less for a probe
    /// run sooner (`interval_while_failing`).
    public var weight: Double

    public init(result: ProbeResult, latencyThreshold: Duration? = nil, weight: Double = 1) {
        self.result = result
        self.latencyThreshold = latencyThreshold
        self.weight = weight
    }

    /// Whether the probe counts as good for the latency SLI (docs/slo.md).
    public var isGoodLatency: Bool {
        guard result.success else { return false }
        guard let latencyThreshold else { return true }
        return Microseconds.seconds(result.duration) <= Microseconds.duration(latencyThreshold)
    }
}
