import Foundation
import PhaseWatchCore

/// One probe result on its way into the store.
public struct StoredProbe: Sendable, Equatable {
    public var result: ProbeResult
    /// The target's latency-SLO threshold when the probe ran; the row records whether the probe
    /// was good against it, so changing the threshold later never rewrites history. nil (no
    /// latency SLO) counts every successful probe as good.
    public var latencyThreshold: Duration?

    public init(result: ProbeResult, latencyThreshold: Duration? = nil) {
        self.result = result
        self.latencyThreshold = latencyThreshold
    }

    /// Whether the probe counts as good for the latency SLI (docs/slo.md).
    public var isGoodLatency: Bool {
        guard result.success else { return false }
        guard let latencyThreshold else { return true }
        return Microseconds.seconds(result.duration) <= Microseconds.duration(latencyThreshold)
    }
}
