import Foundation
import PhaseWatchCore
import Synchronization

/// The series of one target as plain values: the blackbox_exporter gauges of the last probe,
/// counters and histograms, and the sample lines `TargetFamilies` makes of them after every
/// change (`TargetBlock`), so a scrape copies ready-made bytes instead of formatting numbers.
final class TargetSeries: Sendable {
    let name: String
    /// `target="…",location="…"`, escaped once.
    let labels: [UInt8]
    /// The same labels for the protobuf format.
    let protobufLabels: [PBLabel]
    private let values: Mutex<Values>

    struct Values: Sendable {
        var last: LastProbe?
        /// The last run's addresses of an `ip_policy: all` target, each with its own last-probe
        /// gauges (docs/metrics.md#addresses); empty for the others.
        var addresses: [AddressGauges] = []
        /// Kept from the last probe that had them: a plain-HTTP probe after an HTTPS one leaves
        /// them (as the info series of blackbox_exporter's last TLS probe would).
        var certExpiry: Double?
        var tlsVersion: String?
        var tlsCipher: String?
        /// `,version="…"} ` and `,cipher="…"} `, remade only when the version or cipher changes.
        var tlsVersionClose: [UInt8]?
        var tlsCipherClose: [UInt8]?
        var successes: UInt64 = 0
        var failures: UInt64 = 0
        /// `phasewatch_probe_failures_total`, by phase and reason; a series appears with its
        /// first failure.
        var failuresBy: [FailureKey: UInt64] = [:]
        /// `phasewatch_probe_attempts_total`: only for targets with `retries` (docs/metrics.md),
        /// nil for the others, whose every probe is its first attempt.
        var attempts: AttemptCounts?
        /// The histograms, one set per kind of request the target makes (`KindHistograms`).
        var histograms: [KindHistograms]
        /// The kind of request the last-probe gauges follow: the one its SLOs judge; nil for
        /// `connection: fresh` targets, whose every result is fresh.
        var gaugeKind: ConnectionKind?
        /// `phasewatch_connection_lifetime_seconds`: only for `connection: reuse` targets, whose
        /// kept connection lives until the server (or a failure) ends it.
        var lifetimes: ConnectionLifetimes?
        var state: TargetState = .unknown
        /// `phasewatch_target_info`'s labels (URL credentials masked), and as text:
        /// `,url="…",method="…",interval="…"} `, escaped.
        var info: [(name: String, value: String)]
        var infoClose: [UInt8]
        /// `phasewatch_target_interval_seconds` when not failing and when failing: only for
        /// targets with `interval_while_failing` (docs/metrics.md), nil for the others.
        var intervals: (normal: Double, failing: Double)?
        /// Whether `block` has the phase histograms' lines (`metrics.phase_histograms`).
        var phaseHistograms = false
        /// The lines of every family, made from the values above after each change.
        var block = TargetBlock()
    }

    /// Probes by how they ended: good at the first attempt, good after a retry, bad after every
    /// attempt. They add up to the probes since the target got `retries`.
    struct AttemptCounts: Sendable, Equatable {
        var firstSuccess: UInt64 = 0
        var retrySuccess: UInt64 = 0
        var failure: UInt64 = 0

        /// In the order of the `result` label's values: first_success, retry_success, failure.
        var byResult: [UInt64] { [firstSuccess, retrySuccess, failure] }

        mutating func count(_ r: ProbeResult) {
            if !r.success {
                failure += 1
            } else if r.attempts > 1 {
                retrySuccess += 1
            } else {
                firstSuccess += 1
            }
        }
    }

    /// One address's last-probe gauges: the target's labels and `ip`, made once per address.
    struct AddressGauges: Sendable {
        let address: String
        let labels: [UInt8]
        let protobufLabels: [PBLabel]
        var last: LastProbe
    }

    /// How long a `connection: reuse` target's kept connections lived, told by its results
    /// (docs/metrics.md#connections): a connection is seen alive until the last request sent on
    /// it (`connection_age`), and counted once a later request finds it gone and opens another,
    /// or a request on it fails (curl then drops it). A lower bound: the server may have closed
    /// it any time before the probe that found it gone.
    struct ConnectionLifetimes: Sendable {
        static let buckets = Buckets([1, 5, 15, 30, 60, 300, 900, 3600])
        var histogram = Histogram(Self.buckets)
        /// How long the kept connection had been seen alive; nil while none is kept.
        private(set) var keptAge: Double?

        mutating func observe(_ r: ProbeResult) {
            guard r.connection == .reused else { return }
            if r.connectionReused {
                keptAge = r.connectionAge ?? keptAge
                if !r.success { end() }
            } else {
                end()
                keptAge = r.success ? 0 : nil
            }
        }

        /// The kept connection is gone: count how long it was seen alive.
        private mutating func end() {
            if let age = keptAge { histogram.record(age) }
            keptAge = nil
        }

        /// A reload closed the connection: the next one is not the old one's successor.
        mutating func forgetConnection() {
            keptAge = nil
        }
    }

    /// What the last probe's gauges show.
    struct LastProbe: Sendable {
        var success: Bool
        var duration: Double
        var phases: [Double]  // `Phase.network` order; 0 for phases not reached
        var dnsLookup: Double
        var status: Double
        var httpVersion: Double
        var redirects: Double
        var contentLength: Double
        var ssl: Bool
        var ipProtocol: Double
        var failedDueToRegex: Bool

        init(_ r: ProbeResult) {
            success = r.success
            duration = r.duration
            phases = Phase.network.map { r.phases[$0] ?? 0 }
            dnsLookup = r.phases.resolve ?? 0
            status = Double(r.http?.status ?? 0)
            httpVersion = r.http.flatMap { Double($0.version) } ?? 0
            redirects = Double(r.http?.redirects ?? 0)
            contentLength = Double(r.http?.contentLength ?? -1)
            ssl = r.tls?.version != nil
            ipProtocol = Double(r.ip?.family ?? 0)
            failedDueToRegex = r.failure?.reason == .bodyMatches || r.failure?.reason == .bodyNotMatches
        }
    }

    init(target: Target, location: String, durationBuckets: Buckets) {
        name = target.name
        let labels = Array((ExpositionWriter.label("target", target.name, leadingComma: false) + ExpositionWriter.label("location", location)).utf8)
        self.labels = labels
        protobufLabels = [ProtobufExposition.label("target", target.name), ProtobufExposition.label("location", location)]
        var values = Values(
            histograms: KindHistograms.sets(for: target, durationBuckets: durationBuckets), gaugeKind: Self.gaugeKind(target),
            info: Self.info(target), infoClose: Self.infoClose(target), intervals: Self.intervals(target))
        values.attempts = Self.attempts(target, counted: nil)
        values.lifetimes = Self.lifetimes(target, kept: nil)
        TargetFamilies.render(&values, labels: labels)
        self.values = Mutex(values)
    }

    /// Applies `change` and remakes the lines.
    private func update(_ change: (inout Values) -> Void) {
        values.withLock { v in
            change(&v)
            TargetFamilies.render(&v, labels: labels)
        }
    }

    /// `phasewatch_target_info`'s labels: no secrets (header values are never exposed, user
    /// info in the URL is masked).
    private static func info(_ target: Target) -> [(name: String, value: String)] {
        [("url", URLRedaction.redacted(target.url)), ("method", target.method), ("interval", PromDuration.format(target.interval))]
    }

    private static func intervals(_ target: Target) -> (normal: Double, failing: Double)? {
        target.intervalWhileFailing.map { (target.interval.seconds, $0.seconds) }
    }

    /// Zero counts for a target that has just got `retries`, the counts so far while it keeps
    /// them, nil without retries.
    private static func attempts(_ target: Target, counted: AttemptCounts?) -> AttemptCounts? {
        target.retries.attempts > 0 ? counted ?? AttemptCounts() : nil
    }

    /// Empty lifetimes for a target that has just started reusing, those so far while it
    /// goes on (a reload that changes it closes its connection: `forgetConnection`), nil otherwise.
    private static func lifetimes(_ target: Target, kept: ConnectionLifetimes?) -> ConnectionLifetimes? {
        target.connection == .reuse ? kept ?? ConnectionLifetimes() : nil
    }

    private static func infoClose(_ target: Target) -> [UInt8] {
        ExpositionWriter.close(info(target).map { ExpositionWriter.label($0.name, $0.value) }.joined())
    }

    /// After a reload that kept the target: new info labels; the duration histogram starts over
    /// when its buckets changed (a latency-SLO threshold is always one of them), every histogram
    /// when the target's `connection` makes other kinds of request. Counters and the phase
    /// histograms go on, so a reload resets no rate.
    func reconfigure(_ target: Target, durationBuckets: Buckets) {
        update { v in
            v.info = Self.info(target)
            v.infoClose = Self.infoClose(target)
            v.intervals = Self.intervals(target)
            v.attempts = Self.attempts(target, counted: v.attempts)
            v.lifetimes = Self.lifetimes(target, kept: v.lifetimes)
            v.lifetimes?.forgetConnection()
            v.gaugeKind = Self.gaugeKind(target)
            if v.histograms.map(\.kind) != KindHistograms.kinds(of: target) {
                v.histograms = KindHistograms.sets(for: target, durationBuckets: durationBuckets)
            }
            for i in v.histograms.indices where v.histograms[i].duration.buckets != durationBuckets {
                v.histograms[i].resetDuration(durationBuckets)
            }
        }
    }

    private static func gaugeKind(_ target: Target) -> ConnectionKind? {
        target.connection == .fresh ? nil : target.sloConnection
    }

    func observe(_ r: ProbeResult, state: TargetState?) {
        update { v in
            if r.connection == v.gaugeKind { Self.setLast(r, in: &v) }
            if r.success { v.successes += 1 } else { v.failures += 1 }
            v.attempts?.count(r)
            v.lifetimes?.observe(r)
            // A result of a kind the target no longer makes (a run that outlived a reload) has no set.
            if let i = v.histograms.firstIndex(where: { $0.kind == r.connection }) { v.histograms[i].record(r) }
            if let failure = r.failure {
                v.failuresBy[FailureKey(phase: failure.phase, reason: failure.reason), default: 0] += 1
            }
            if let state { v.state = state }
        }
    }

    /// The results of a run's addresses (an `ip_policy: all` target): their gauges replace the
    /// last run's, so an address the name no longer has leaves `/metrics`. Counters and
    /// histograms count the target's own result only (`observe`).
    func observeAddresses(_ results: [ProbeResult]) {
        update { v in
            let known = Dictionary(v.addresses.map { ($0.address, $0) }, uniquingKeysWith: { a, _ in a })
            v.addresses = results.compactMap { r in
                guard let address = r.address else { return nil }
                if var gauges = known[address] {
                    gauges.last = LastProbe(r)
                    return gauges
                }
                return AddressGauges(
                    address: address, labels: labels + Array(ExpositionWriter.label("ip", address).utf8),
                    protobufLabels: protobufLabels + [ProtobufExposition.label("ip", address)], last: LastProbe(r))
            }
        }
    }

    /// A probe that a histogram bucket links to: its trace id (the one in its `traceparent`),
    /// its duration, and when it started (milliseconds).
    struct Exemplar: Sendable {
        let traceId: String
        let value: Double
        let timestamp: Double

        init(traceId: String, value: Double, start: Date) {
            self.traceId = traceId
            self.value = value
            timestamp = (start.timeIntervalSince1970 * 1000).rounded() / 1000
        }
    }

    /// After a restart: the last stored probe fills the last-probe gauges (counters and
    /// histograms start from zero, as counters do after a restart).
    func restore(_ r: ProbeResult, state: TargetState?) {
        update { v in
            Self.setLast(r, in: &v)
            if let state { v.state = state }
        }
    }

    func setState(_ state: TargetState) {
        update { $0.state = state }
    }

    /// One family's metrics for the protobuf format, from the values now.
    func metrics(_ family: TargetFamily, phaseHistograms: Bool) -> [PBMetric] {
        values.withLock { family.metrics($0, protobufLabels, phaseHistograms) }
    }

    /// The target's lines, with or without the phase histograms' (remade when that changed
    /// since they were made: a reload that switches `metrics.phase_histograms`).
    func block(phaseHistograms: Bool) -> TargetBlock {
        values.withLock { v in
            if v.phaseHistograms != phaseHistograms {
                v.phaseHistograms = phaseHistograms
                TargetFamilies.render(&v, labels: labels)
            }
            return v.block
        }
    }

    private static func setLast(_ r: ProbeResult, in v: inout Values) {
        v.last = LastProbe(r)
        if let expiry = r.tls?.chainExpiry ?? r.tls?.certNotAfter { v.certExpiry = expiry.timeIntervalSince1970 }
        if let version = r.tls?.version, version != v.tlsVersion {
            v.tlsVersion = version
            v.tlsVersionClose = ExpositionWriter.close(ExpositionWriter.label("version", version))
        }
        if let cipher = r.tls?.cipher, cipher != v.tlsCipher {
            v.tlsCipher = cipher
            v.tlsCipherClose = ExpositionWriter.close(ExpositionWriter.label("cipher", cipher))
        }
    }

    /// Reads the values under the lock (the writer formats while holding it: a scrape holds
    /// each target's lock for one family at a time, a few hundred nanoseconds).
    func read<T>(_ body: (borrowing Values) -> T) -> T {
        values.withLock { body($0) }
    }
}

/// The histograms of one kind of request (docs/metrics.md#connections): a `connection: fresh`
/// target has one set without a `connection` label; a `reuse` target one set labelled
/// `connection="reused"`, a `both` target one per kind, so cold and warm requests never share
/// buckets and default targets keep their series.
struct KindHistograms: Sendable {
    let kind: ConnectionKind?
    /// `,connection="…"` after the target's labels, and the same for protobuf; empty without a kind.
    let labelText: [UInt8]
    let protobufLabels: [PBLabel]
    /// `Phase.network` order.
    var phases: [Histogram]
    var duration: Histogram
    /// Per duration bucket (not cumulative, `+Inf` last): the most recent successful probe
    /// that fell in it.
    var exemplars: [TargetSeries.Exemplar?]
    /// The protobuf format's native histograms: the duration of successful probes, and each
    /// network phase (`Phase.network` order).
    var nativeDuration = NativeHistogram()
    var nativePhases = Phase.network.map { _ in NativeHistogram() }

    init(kind: ConnectionKind?, durationBuckets: Buckets) {
        self.kind = kind
        labelText = kind.map { Array(ExpositionWriter.label("connection", $0.rawValue).utf8) } ?? []
        protobufLabels = kind.map { [ProtobufExposition.label("connection", $0.rawValue)] } ?? []
        phases = Phase.network.map { _ in Histogram(AgentMetrics.phaseBucketSet) }
        duration = Histogram(durationBuckets)
        exemplars = Array(repeating: nil, count: durationBuckets.bounds.count + 1)
    }

    /// The target's labels with this set's (no copy without a kind: the common case).
    func labels(_ target: [UInt8]) -> [UInt8] {
        labelText.isEmpty ? target : target + labelText
    }

    func labels(_ target: [PBLabel]) -> [PBLabel] {
        protobufLabels.isEmpty ? target : target + protobufLabels
    }

    static func kinds(of target: Target) -> [ConnectionKind?] {
        target.connection == .fresh ? [nil] : target.connection.kinds
    }

    static func sets(for target: Target, durationBuckets: Buckets) -> [KindHistograms] {
        kinds(of: target).map { KindHistograms(kind: $0, durationBuckets: durationBuckets) }
    }

    mutating func resetDuration(_ buckets: Buckets) {
        duration = Histogram(buckets)
        exemplars = Array(repeating: nil, count: buckets.bounds.count + 1)
    }

    mutating func record(_ r: ProbeResult) {
        for (i, phase) in Phase.network.enumerated() {
            if let seconds = r.phases[phase] {
                phases[i].record(seconds)
                nativePhases[i].record(seconds)
            }
        }
        guard r.success else { return }
        let bucket = duration.record(r.duration)
        nativeDuration.record(r.duration)
        if !r.traceId.isEmpty {
            exemplars[bucket] = TargetSeries.Exemplar(traceId: r.traceId, value: r.duration, start: r.startedAt)
        }
    }
}

/// A (phase, reason) pair of `phasewatch_probe_failures_total`, with its label text.
struct FailureKey: Hashable, Sendable, Comparable {
    let phase: Phase
    let reason: FailureReason

    /// `,phase="…",reason="…"} `, made once per pair in the process.
    var close: [UInt8] { Self.closes[self] ?? ExpositionWriter.close() }

    private static let closes: [FailureKey: [UInt8]] = Dictionary(uniqueKeysWithValues: Phase.allCases.flatMap { phase in
        FailureReason.allCases.map { reason in
            (FailureKey(phase: phase, reason: reason),
             ExpositionWriter.close(ExpositionWriter.label("phase", phase.rawValue) + ExpositionWriter.label("reason", reason.rawValue)))
        }
    })

    static func < (a: FailureKey, b: FailureKey) -> Bool {
        (a.phase.rawValue, a.reason.rawValue) < (b.phase.rawValue, b.reason.rawValue)
    }
}

/// A histogram's bucket bounds with the label text of each bucket, made once per bucket set and
/// shared (copy-on-write) by every target's histogram.
struct Buckets: Sendable, Equatable {
    let bounds: [Double]
    /// `,le="…"} ` for each bound, then `,le="+Inf"} `.
    let closes: [[UInt8]]

    init(_ bounds: [Double]) {
        self.bounds = bounds
        closes = Self.closes(bounds, after: "")
    }

    /// The same buckets' label text after other pairs: `,phase="tls",le="…"} `.
    func closes(after pairs: String) -> [[UInt8]] {
        Self.closes(bounds, after: pairs)
    }

    private static func closes(_ bounds: [Double], after pairs: String) -> [[UInt8]] {
        (bounds.map(\.description) + ["+Inf"]).map { ExpositionWriter.close(pairs + ExpositionWriter.label("le", $0)) }
    }

    static func == (a: Buckets, b: Buckets) -> Bool { a.bounds == b.bounds }
}

/// A Prometheus histogram's state: per-bucket counts (not cumulative; the last is +Inf), sum, count.
struct Histogram: Sendable {
    let buckets: Buckets
    private(set) var counts: [UInt64]
    private(set) var sum: Double = 0
    private(set) var count: UInt64 = 0

    init(_ buckets: Buckets) {
        self.buckets = buckets
        counts = Array(repeating: 0, count: buckets.bounds.count + 1)
    }

    /// Counts `value`; returns the index of its bucket.
    @discardableResult
    mutating func record(_ value: Double) -> Int {
        let bounds = buckets.bounds
        var i = 0
        while i < bounds.count && value > bounds[i] { i += 1 }
        counts[i] += 1
        sum += value
        count += 1
        return i
    }
}

/// One target's sample lines, family by family in `TargetFamilies.all` order, as `/metrics`
/// copies them: family `i` is `bytes[offsets[i]..<offsets[i + 1]]`; after the last family, the
/// duration histogram's lines as OpenMetrics has them (with exemplars). One array about the
/// lines' size: thousands of targets keep one each.
struct TargetBlock: Sendable {
    var bytes: [UInt8] = []
    var offsets: [Int32] = []

    func lines(_ family: Int) -> ArraySlice<UInt8> {
        family + 1 < offsets.count ? bytes[Int(offsets[family])..<Int(offsets[family + 1])] : []
    }

    /// The duration histogram's OpenMetrics lines.
    var openMetricsDuration: ArraySlice<UInt8> {
        bytes[Int(offsets.last ?? 0)...]
    }
}
