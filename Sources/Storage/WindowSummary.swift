import Foundation
import PhaseWatchCore

/// Everything known about the probes of one target in a window: exact counts and mergeable
/// latency sketches (docs/slo.md).
public struct WindowSummary: Sendable, Equatable {
    public var total: Int
    public var success: Int
    /// Probes good at their first attempt: successful with no retry (docs/slo.md#first-attempt-and-final).
    /// `success` counts the final outcome, after retries. Probes stored before schema v8 count as
    /// their final outcome here too.
    public var successFirstAttempt: Int
    /// Successful probes no slower than the latency threshold recorded with each probe.
    public var goodLatency: Int
    /// Failed probes by the phase they failed in; phases without failures are left out.
    public var failuresByPhase: [Phase: Int]
    public var failuresByReason: [FailureReason: Int]
    /// Total duration of successful probes.
    public var duration: LatencySketch
    /// Per network phase, successful probes only; phases never timed are left out.
    public var phases: [Phase: LatencySketch]
    /// `total`, `success`, `successFirstAttempt` and `goodLatency` with each probe counted as its weight (`StoredProbe.weight`),
    /// for time-weighted SLIs; equal to the counts when every probe ran at its target's interval.
    public var weighted: Weighted

    public struct Weighted: Sendable, Equatable {
        public var total: Double
        public var success: Double
        public var goodLatency: Double
        public var successFirstAttempt: Double

        /// `successFirstAttempt` defaults to `success` (no probe retried).
        public init(total: Double = 0, success: Double = 0, goodLatency: Double = 0, successFirstAttempt: Double? = nil) {
            self.total = total
            self.success = success
            self.goodLatency = goodLatency
            self.successFirstAttempt = successFirstAttempt ?? success
        }
    }

    /// `weighted` defaults to the counts (every probe weighs 1), `successFirstAttempt` to `success`.
    public init(
        total: Int = 0, success: Int = 0, successFirstAttempt: Int? = nil, goodLatency: Int = 0, failuresByPhase: [Phase: Int] = [:],
        failuresByReason: [FailureReason: Int] = [:], duration: LatencySketch = .init(), phases: [Phase: LatencySketch] = [:],
        weighted: Weighted? = nil
    ) {
        self.total = total
        self.success = success
        self.successFirstAttempt = successFirstAttempt ?? success
        self.goodLatency = goodLatency
        self.weighted = weighted ?? Weighted(
            total: Double(total), success: Double(success), goodLatency: Double(goodLatency),
            successFirstAttempt: Double(successFirstAttempt ?? success))
        self.failuresByPhase = failuresByPhase
        self.failuresByReason = failuresByReason
        self.duration = duration
        self.phases = phases
    }

    public var failures: Int { total - success }

    public mutating func merge(_ other: WindowSummary) {
        total += other.total
        success += other.success
        successFirstAttempt += other.successFirstAttempt
        goodLatency += other.goodLatency
        weighted.total += other.weighted.total
        weighted.success += other.weighted.success
        weighted.successFirstAttempt += other.weighted.successFirstAttempt
        weighted.goodLatency += other.weighted.goodLatency
        failuresByPhase.merge(other.failuresByPhase, uniquingKeysWith: +)
        failuresByReason.merge(other.failuresByReason, uniquingKeysWith: +)
        duration.merge(other.duration)
        phases.merge(other.phases) { $0.merged(with: $1) }
    }
}

extension WindowSummary {
    /// Counts one probe. Sketches take successful probes only (docs/slo.md: latency is the
    /// latency of probes that worked); raw rows and rollups go through here alike, so both paths
    /// agree to the count and to the bucket.
    mutating func add(
        success isSuccess: Bool, afterRetry: Bool, goodLatency isGood: Bool, failurePhase: Int?, failureReason: Int?,
        durationUs: Int64, phasesUs: [Int64?], weight: Double
    ) throws {
        total += 1
        weighted.total += weight
        if isSuccess {
            success += 1
            weighted.success += weight
            if !afterRetry {
                successFirstAttempt += 1
                weighted.successFirstAttempt += weight
            }
            duration.add(Microseconds.toSeconds(durationUs))
            for (phase, us) in zip(Phase.network, phasesUs) {
                guard let us else { continue }
                phases[phase, default: LatencySketch()].add(Microseconds.toSeconds(us))
            }
        }
        if isGood {
            goodLatency += 1
            weighted.goodLatency += weight
        }
        if let failurePhase { failuresByPhase[try FileCodes.phase(failurePhase), default: 0] += 1 }
        if let failureReason { failuresByReason[try FileCodes.reason(failureReason), default: 0] += 1 }
    }

    mutating func add(_ record: ProbeRecord) {
        // Codes in a ProbeRecord made from a probe come from FileCodes.code(_:), so they decode.
        try? add(
            success: record.success, afterRetry: record.successAfterRetry, goodLatency: record.goodLatency, failurePhase: record.failurePhase,
            failureReason: record.failureReason, durationUs: record.durationUs, phasesUs: record.phasesUs, weight: record.weight)
    }
}
