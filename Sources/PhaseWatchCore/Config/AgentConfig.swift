/// The whole configuration file (docs/config.md), after defaults were applied and it was validated.
public struct AgentConfig: Sendable, Equatable {
    public var global: GlobalConfig
    public var storage: StorageConfig
    public var metrics: MetricsConfig
    public var targets: [Target]
    /// Where the series are pushed besides being served on `/metrics`.
    public var remoteWrite: [RemoteWriteConfig]

    public init(
        global: GlobalConfig = .init(), storage: StorageConfig = .init(), metrics: MetricsConfig = .init(), targets: [Target] = [],
        remoteWrite: [RemoteWriteConfig] = []
    ) {
        self.global = global
        self.storage = storage
        self.metrics = metrics
        self.targets = targets
        self.remoteWrite = remoteWrite
    }
}

/// What `/metrics` shows beyond its lean default (docs/metrics.md "Cardinality"): a target
/// with an availability and a latency SLO costs at most 52 series by default; every family
/// that would add more per target is a switch here, off unless set.
public struct MetricsConfig: Sendable, Equatable {
    /// `phasewatch_probe_duration_seconds`'s buckets (seconds), to which every latency-SLO
    /// threshold is added.
    public var durationBuckets: [Double]
    /// `phasewatch_probe_phase_duration_seconds` with classic buckets in the text formats (the
    /// protobuf format always has it, as one native histogram per phase).
    public var phaseHistograms: Bool
    /// `phasewatch_latency_quantile_seconds`.
    public var latencyQuantiles: Bool
    /// SLI and burn rate over every window the SLO engine computes, and the ticket alerts;
    /// without it, the SLO window and the page alerts' long windows, and the page alerts.
    public var sloWindows: Bool
    /// `phasewatch_slo_error_budget_consumed_ratio` and `phasewatch_slo_budget_by_phase_ratio`.
    public var budgetDetail: Bool

    /// Coarse on purpose: exact quantiles come from the native histograms and the API, and the
    /// latency SLI from the thresholds' own buckets.
    public static let defaultDurationBuckets: [Double] = [0.01, 0.05, 0.25, 1, 5]

    public init(
        durationBuckets: [Double] = Self.defaultDurationBuckets, phaseHistograms: Bool = false, latencyQuantiles: Bool = false,
        sloWindows: Bool = false, budgetDetail: Bool = false
    ) {
        self.durationBuckets = durationBuckets
        self.phaseHistograms = phaseHistograms
        self.latencyQuantiles = latencyQuantiles
        self.sloWindows = sloWindows
        self.budgetDetail = budgetDetail
    }
}

public struct GlobalConfig: Sendable, Equatable {
    /// Default probe interval of targets that set none.
    public var interval: Duration
    /// Default `interval_while_failing` of targets that set none; nil: none.
    public var intervalWhileFailing: Duration?
    /// Default total timeout of targets that set none.
    public var timeout: Duration
    /// The `location` label on every series, to tell agents apart.
    public var location: String
    /// Default state thresholds of targets; each target may override them key by key.
    public var state: StateConfig
    /// Default redirect policy of targets (`global.redirects`).
    public var redirects = RedirectPolicy()
    /// Which of the location's agents this is (`global.shard`; `run --shard` wins over it).
    public var shard = Shard.whole

    public init(
        interval: Duration = .seconds(30), timeout: Duration = .seconds(10), location: String = "local",
        state: StateConfig = .init()
    ) {
        self.interval = interval
        self.timeout = timeout
        self.location = location
        self.state = state
    }
}

public struct StorageConfig: Sendable, Equatable {
    public var path: String
    /// How long per-probe rows are kept.
    public var rawRetention: Duration
    /// How long per-minute and per-hour rollups are kept (long SLO windows read these).
    public var rollupRetention: Duration

    public init(
        path: String = "data/phasewatch.db", rawRetention: Duration = .seconds(8 * 86_400),
        rollupRetention: Duration = .seconds(400 * 86_400)
    ) {
        self.path = path
        self.rawRetention = rawRetention
        self.rollupRetention = rollupRetention
    }
}

/// A target's service level objectives (docs/config.md `slo`; the math in docs/slo.md).
public struct SLOConfig: Sendable, Equatable {
    public var window: Duration
    /// Objective as a ratio (99.9 % in the file is 0.999 here); nil when not set.
    public var availability: Double?
    public var latency: LatencySLO?
    /// What a probe weighs in the SLIs (docs/slo.md#probing-faster-while-failing).
    public var weighting = SLOWeighting.probes
    /// Which requests the SLO judges (`slo.connection`); nil: `Target.sloConnection`'s default.
    public var connection: ConnectionKind?
    /// Below this coverage of the SLO window the SLO says its data is insufficient
    /// (docs/slo.md#coverage).
    public var minCoverage = 0.9
    /// Which SLI of the availability SLO its burn rates, budget and alerts follow
    /// (docs/slo.md#first-attempt-and-final).
    public var availabilityBasis = AvailabilityBasis.final

    public init(window: Duration = .seconds(30 * 86_400), availability: Double? = nil, latency: LatencySLO? = nil) {
        self.window = window
        self.availability = availability
        self.latency = latency
    }
}

/// `slo.weighting`: `probes` counts every probe once; `time` counts each as the share of the
/// target's interval it stands for, so a failing period probed faster (`interval_while_failing`)
/// weighs its length, not its number of probes.
public enum SLOWeighting: String, Sendable, Equatable, CaseIterable {
    case probes, time
}

/// `slo.availability_basis`: `final` counts a probe good when it ended good, after any retries;
/// `first_attempt` only when its first attempt was good, so retries hide no failure.
public enum AvailabilityBasis: String, Sendable, Equatable, CaseIterable {
    case final
    case firstAttempt = "first_attempt"
}

extension Target {
    /// The requests the target's SLOs judge (docs/slo.md#connection): `slo.connection`, else the
    /// fresh ones, or the reused ones of a `connection: reuse` target, which makes no other.
    public var sloConnection: ConnectionKind {
        slo?.connection ?? (connection == .reuse ? .reused : .fresh)
    }
}

/// Good = the probe succeeded and took at most `threshold`.
public struct LatencySLO: Sendable, Equatable {
    public var threshold: Duration
    /// Objective as a ratio (99 % in the file is 0.99 here).
    public var objective: Double

    public init(threshold: Duration, objective: Double) {
        self.threshold = threshold
        self.objective = objective
    }
}
