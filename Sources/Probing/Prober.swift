import CCurl
import Foundation
import PhaseWatchCore

/// Probes a target: `(Target) async -> ProbeResult`. One attempt runs on the shared curl loop with
/// a fresh connection and DNS lookup (or, by the target's `connection`, on its kept connection:
/// `run`); retryable failures get more attempts with backoff.
public struct Prober: Sendable {
    private let loop: CurlMultiLoop

    public init(loop: CurlMultiLoop = .shared) {
        self.loop = loop
    }

    /// The executor probe tasks should prefer (`Task(executorPreference:)`,
    /// `group.addTask(executorPreference:)`): the curl loop's thread.
    public var executor: any TaskExecutor { loop }

    /// Runs `action` on the curl loop's thread at `deadline`, on time however busy Swift's
    /// cooperative pool is (see `CurlMultiLoop.schedule`). Quick, non-blocking actions only.
    public func schedule(at deadline: ContinuousClock.Instant, _ action: @escaping @Sendable () -> Void) {
        loop.schedule(at: deadline, action)
    }

    public func probe(_ target: Target) async -> ProbeResult {
        await probe(target, trace: .random())
    }

    /// A probe exactly as `probe` makes it (the same attempts, retries and result), and what
    /// each attempt showed on the way: for `phasewatch probe -v` and the probe-now endpoint.
    public func probeWithDebug(_ target: Target) async -> (result: ProbeResult, debug: ProbeDebug) {
        await withTaskExecutorPreference(loop) {
            let (result, attempts) = await probeAttempts(target, trace: .random(), debug: true)
            return (result, ProbeDebug(attempts: attempts))
        }
    }

    /// A probe in a given trace (tests check that the id sent is the id returned).
    func probe(_ target: Target, trace: TraceContext) async -> ProbeResult {
        await withTaskExecutorPreference(loop) { await probeAttempts(target, trace: trace, debug: false).result }
    }

    /// A kept connection for a target of `connection: reuse | both` or `tls.resume`, on this
    /// prober's loop: the caller holds it between the target's runs and drops it to close the
    /// connection (and forget the TLS session).
    public func keptConnection() -> KeptConnection {
        KeptConnection(loop: loop)
    }

    /// One run of `target` as its `connection` mode says (docs/probing.md#connections): one
    /// result for `fresh` and `reuse`, two for `both` (the cold request, then the warm one on its
    /// connection). `connection` is the target's kept connection; without one, the run opens a
    /// connection for itself alone. An `ip_policy: all` target's run: its own result first, then
    /// one per address (`runAddresses`).
    public func run(_ target: Target, keeping connection: KeptConnection? = nil) async -> [ProbeResult] {
        await runRequests(target, keeping: connection, debug: false).map(\.result)
    }

    /// `run`, with what each attempt of each request showed (`phasewatch probe -v`).
    public func runWithDebug(_ target: Target, keeping connection: KeptConnection? = nil) async -> [(result: ProbeResult, debug: ProbeDebug)] {
        await runRequests(target, keeping: connection, debug: true)
    }

    private func runRequests(
        _ target: Target, keeping connection: KeptConnection?, debug: Bool
    ) async -> [(result: ProbeResult, debug: ProbeDebug)] {
        await withTaskExecutorPreference(loop) {
            if target.ipPolicy == .all { return await runAddresses(target, debug: debug) }
            guard target.keepsConnectionState else {
                let (result, attempts) = await probeAttempts(target, trace: .random(), debug: debug)
                return [(result, ProbeDebug(attempts: attempts))]
            }
            let kept = connection ?? KeptConnection(loop: loop)
            var results: [(result: ProbeResult, debug: ProbeDebug)] = []
            for kind in target.connection.kinds {
                // `both` closes its connection after the warm request: the next run starts cold.
                let use = PoolUse(id: kept.id, fresh: kind == .fresh, keep: kind == .fresh || target.connection == .reuse)
                let (result, attempts) = await probeAttempts(
                    target, trace: .random(), debug: debug, pool: use, kind: target.connection == .fresh ? nil : kind)
                results.append((result, ProbeDebug(attempts: attempts)))
            }
            withExtendedLifetime(kept) {}
            return results
        }
    }

    /// Every address of the target's name at once, each on its own connection with its own
    /// attempts (docs/probing.md#addresses). Each address's result starts when the lookup did and
    /// carries the lookup's time as its resolve phase; the target's own result is the deciding
    /// address's (`AddressSuccess.deciding`), or the lookup's failure alone.
    private func runAddresses(_ target: Target, debug: Bool) async -> [(result: ProbeResult, debug: ProbeDebug)] {
        let startedAt = Date()
        let lookup: AddressLookup
        switch await AddressLookup.lookup(target) {
        case .failure(let failed):
            let result = ProbeResult(
                target: target.name, url: target.url, startedAt: startedAt, success: false, failure: failed.failure,
                phases: Phases(resolve: failed.seconds), duration: failed.seconds, traceId: TraceContext.random().traceID)
            return [(result, ProbeDebug(attempts: []))]
        case .success(let found):
            lookup = found
        }
        var probed = await withTaskGroup(of: (Int, ProbeResult, [ProbeDebug.Attempt]).self) { group in
            for (index, address) in lookup.addresses.enumerated() {
                let pinned = target.pinned(lookup.host, lookup.port, to: address)
                group.addTask(executorPreference: loop) {
                    let (result, attempts) = await probeAttempts(pinned, trace: .random(), debug: debug)
                    return (index, result, attempts)
                }
            }
            var all: [(Int, ProbeResult, [ProbeDebug.Attempt])] = []
            for await one in group { all.append(one) }
            return all.sorted { $0.0 < $1.0 }.map { (result: $0.1, debug: ProbeDebug(attempts: $0.2)) }
        }
        for i in probed.indices {
            let address = lookup.addresses[i]
            probed[i].result.address = address
            probed[i].result.startedAt = startedAt
            probed[i].result.phases.resolve = lookup.seconds + (probed[i].result.phases.resolve ?? 0)
            probed[i].result.duration += lookup.seconds
        }
        var own = target.addressSuccess.deciding(probed.map(\.result))
        if let address = own.address, var failure = own.failure {
            failure.message = "\(address): \(failure.message)"
            own.failure = failure
        }
        own.address = nil
        return [(own, ProbeDebug(attempts: []))] + probed
    }

    private func probeAttempts(
        _ target: Target, trace: TraceContext, debug: Bool, pool: PoolUse? = nil, kind: ConnectionKind? = nil
    ) async -> (result: ProbeResult, debug: [ProbeDebug.Attempt]) {
        let startedAt = Date()
        var attempt = 1
        var attempts: [ProbeDebug.Attempt] = []
        while true {
            var (result, attemptDebug) = await probeOnce(
                target, trace: trace, startedAt: startedAt, debug: debug ? attempt : nil, pool: pool, kind: kind)
            result.attempts = attempt
            if let attemptDebug { attempts.append(attemptDebug) }
            guard attempt <= target.retries.attempts, Self.isRetryable(result), !Task.isCancelled else { return (result, attempts) }
            try? await Task.sleep(for: Self.backoff(target.retries.backoff, attempt: attempt))
            attempt += 1
        }
    }

    /// Network trouble, timeouts, 5xx and 429 may pass on a second try; a wrong answer will not.
    static func isRetryable(_ result: ProbeResult) -> Bool {
        guard let failure = result.failure else { return false }
        if failure.reason == .status, let status = result.http?.status { return status >= 500 || status == 429 }
        return failure.reason.isRetryable
    }

    /// Exponential backoff with full jitter: uniform in [0, base × 2^(attempt−1)].
    static func backoff(_ base: Duration, attempt: Int) -> Duration {
        let ceiling = base.seconds * Double(1 << min(attempt - 1, 16))
        return .microseconds(Int64(Double.random(in: 0...ceiling) * 1e6))
    }

    /// One attempt; `debug` is the attempt's number when its trace is wanted.
    private func probeOnce(
        _ target: Target, trace: TraceContext, startedAt: Date, debug: Int?, pool: PoolUse?, kind: ConnectionKind?
    ) async -> (ProbeResult, ProbeDebug.Attempt?) {
        let traceparent = trace.traceparent()
        var request = RequestBuilder.request(for: target, traceparent: traceparent)
        request.trace = debug != nil
        request.pool = pool
        var outcome: TransferOutcome
        if target.ipProtocol == .auto, !RequestBuilder.hostIsLiteral(target.url) {
            request.ipResolve = .v4
            outcome = await loop.perform(request)
            // Prefer IPv4; a name without an IPv4 address gets a second lookup for IPv6.
            if outcome.curlCode == Int32(CURLE_COULDNT_RESOLVE_HOST.rawValue) {
                request.ipResolve = .v6
                outcome = await loop.perform(request)
            }
        } else {
            outcome = await loop.perform(request)
        }
        return await Self.result(
            target: target, outcome: outcome, trace: trace, startedAt: startedAt, debug: debug, traceparent: traceparent, kind: kind)
    }

    /// Where responses are checked against regexes: not the curl loop's thread, which every
    /// other probe's transfers and timers need (docs/probing.md, "Assertions").
    private static let assertions = DispatchQueue(label: "phasewatch.assertions", qos: .utility, attributes: .concurrent)

    private static func result(
        target: Target, outcome: TransferOutcome, trace: TraceContext, startedAt: Date, debug: Int?, traceparent: String,
        kind: ConnectionKind?
    ) async -> (ProbeResult, ProbeDebug.Attempt?) {
        @Sendable func build() -> (ProbeResult, ProbeDebug.Attempt?) {
            let result = ResultBuilder.result(target: target, outcome: outcome, trace: trace, startedAt: startedAt, kind: kind)
            let attempt = debug.map {
                DebugBuilder.attempt($0, target: target, outcome: outcome, result: result, traceparent: traceparent, now: Date())
            }
            return (result, attempt)
        }
        guard target.expect.hasPatterns else { return build() }
        return await withCheckedContinuation { continuation in
            assertions.async { continuation.resume(returning: build()) }
        }
    }
}
