import Foundation
import Logging
import PhaseWatchCore
import ServiceLifecycle
import Storage
import Synchronization

/// Keeps the SLO status of every configured target up to date (docs/slo.md).
///
/// Every `refreshInterval` it computes a new `SLOSnapshot` from the store: for each target one
/// read transaction asks every window at once (`ProbeStore.summaries`), which answers it from
/// hour rollups for whole hours, minute rollups for whole minutes and raw rows only for the
/// partial minutes at the edges, so no refresh scans 30 days of raw rows. Latency sketches are
/// merged only for `quantileWindows`. The API, the status page and `/metrics` all read the
/// same immutable snapshot, so they agree with each other at its `asOf` instant.
public final class SLOEngine: Service, Sendable {
    /// Windows whose latency quantiles every snapshot holds (metrics, API, status page).
    public static let quantileWindows: [Duration] = [.seconds(300), .seconds(3600)]

    private let store: ProbeStore
    private let targets: @Sendable () -> (generation: Int, targets: [Target])
    private let refreshInterval: Duration
    private let logger: Logger
    private let state = Mutex<(snapshot: SLOSnapshot?, refreshing: Task<SLOSnapshot, any Error>?)>((nil, nil))
    private let onRefresh: @Sendable (Duration) -> Void

    /// `targets` returns the configured targets with a number that changes whenever they do.
    public init(
        store: ProbeStore, refreshInterval: Duration = .seconds(15), logger: Logger,
        targets: @escaping @Sendable () -> (generation: Int, targets: [Target]),
        onRefresh: @escaping @Sendable (Duration) -> Void = { _ in }
    ) {
        self.store = store
        self.refreshInterval = refreshInterval
        self.logger = logger
        self.targets = targets
        self.onRefresh = onRefresh
    }

    /// The latest snapshot if there is one, without waiting.
    public var latest: SLOSnapshot? { state.withLock { $0.snapshot } }

    /// The latest snapshot for the current targets; computes one first when there is none yet
    /// or the targets changed since (a reload).
    public func snapshot() async throws -> SLOSnapshot {
        let generation = targets().generation
        if let snapshot = latest, snapshot.generation == generation { return snapshot }
        return try await refresh()
    }

    /// Computes a snapshot as of now and makes it the latest. Concurrent callers share one
    /// computation.
    @discardableResult
    public func refresh() async throws -> SLOSnapshot {
        let task = state.withLock { state in
            if let running = state.refreshing { return running }
            let task = Task { try await self.compute(at: Date()) }
            state.refreshing = task
            return task
        }
        do {
            let snapshot = try await task.value
            state.withLock { state in
                if state.snapshot.map({ $0.asOf <= snapshot.asOf }) ?? true { state.snapshot = snapshot }
                state.refreshing = nil
            }
            return snapshot
        } catch {
            state.withLock { $0.refreshing = nil }
            throw error
        }
    }

    /// The snapshot of every configured target at `now` (does not make it the latest).
    public func compute(at now: Date) async throws -> SLOSnapshot {
        let clock = ContinuousClock()
        let started = clock.now
        let (generation, list) = targets()
        var statuses: [String: TargetSLO] = [:]
        // When the agent ran is the same for every target: read once, back to the longest SLO window.
        let longest = list.compactMap { $0.slo?.window.seconds }.max() ?? 0
        let running = try await store.runningSpans(since: now.addingTimeInterval(-longest), now: now)
        // A few reads at once: SQLite readers run in parallel in WAL mode.
        try await withThrowingTaskGroup(of: TargetSLO.self) { group in
            var next = 0
            func addNext() {
                guard next < list.count else { return }
                let target = list[next]
                next += 1
                group.addTask { try await Self.evaluate(target, at: now, store: self.store, running: running) }
            }
            for _ in 0..<2 { addNext() }
            while let done = try await group.next() {
                statuses[done.target] = done
                addNext()
            }
        }
        let snapshot = try SLOSnapshot(
            asOf: now, generation: generation, order: list.map(\.name), targets: statuses)
        onRefresh(clock.now - started)
        return snapshot
    }

    /// Everything the snapshot holds about one target at `now`.
    /// `running` is `ProbeStore.runningSpans` back to at least the target's SLO window (read
    /// once per refresh for every target), read here when not given.
    public static func evaluate(_ target: Target, at now: Date, store: ProbeStore, running: [Coverage.Span]? = nil) async throws -> TargetSLO {
        let sloWindows = target.slo.map { SLIWindows.all(sloWindow: $0.window) } ?? []
        let windows = Array(Set(sloWindows + quantileWindows)).sorted()
        let queries = windows.map {
            WindowQuery(from: now.addingTimeInterval(-$0.seconds), to: now, sketches: quantileWindows.contains($0))
        }
        let results = try await store.summaries(target: target.name, windows: queries, connection: target.sloConnection)
        let summaries = Dictionary(uniqueKeysWithValues: zip(windows, results))
        var observation: (configured: Int64, observed: Int64)?
        if let slo = target.slo {
            observation = try await store.observation(
                target: target.name, windows: [(now.addingTimeInterval(-slo.window.seconds), now)], now: now, running: running)[0]
        }
        let latency = quantileWindows.map { window in
            LatencyQuantiles(
                target: target.name, window: window, from: now.addingTimeInterval(-window.seconds), to: now,
                summary: summaries[window]!)
        }
        return TargetSLO(
            target: target.name, slos: SLOStatus.all(for: target, summaries: summaries, observation: observation ?? (0, 0)),
            latency: latency)
    }

    /// Refreshes every `refreshInterval` until shutdown. A failed refresh is logged and the
    /// previous snapshot stays.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.refresh()
                    // A refresh allocates and frees much memory with many targets (window
                    // summaries, the JSON body, the old snapshot); without this glibc would
                    // keep the freed pages and RSS would stay at the refresh's peak.
                    MallocTuning.returnFreedMemory()
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.error("SLO refresh failed; serving the previous snapshot", metadata: ["error": "\(error)"])
                }
                do { try await Task.sleep(for: self.refreshInterval) } catch { return }
            }
        }
    }
}

/// The SLO engine's view of one target.
public struct TargetSLO: Sendable {
    public let target: String
    /// Availability first, then latency; empty without an `slo` section.
    public let slos: [SLOStatus]
    /// One entry per `SLOEngine.quantileWindows`, shortest first.
    public let latency: [LatencyQuantiles]
}

/// Every target's SLO status at one instant.
public struct SLOSnapshot: Sendable {
    public let asOf: Date
    /// The targets' generation it was computed for.
    let generation: Int
    /// Target names in config order.
    public let order: [String]
    public let targets: [String: TargetSLO]
    /// The `/api/v1/slo` body, encoded when the snapshot is made: with many targets it is
    /// megabytes of JSON that take a while to encode (bench/slo), and no request should wait.
    let sloJSON: Data

    init(asOf: Date, generation: Int, order: [String], targets: [String: TargetSLO]) throws {
        self.asOf = asOf
        self.generation = generation
        self.order = order
        self.targets = targets
        sloJSON = try Self.encodeList(asOf: asOf, slos: order.lazy.flatMap { targets[$0]?.slos ?? [] })
    }

    /// `SLOList` as JSON, one SLO at a time: JSONEncoder builds a tree of the whole value before
    /// writing it, a memory peak far above the output at 10 000 targets (bench/scale); this way
    /// the peak is the output plus one SLO's tree.
    static func encodeList(asOf: Date, slos: some Sequence<SLOStatus>) throws -> Data {
        let encoder = ProbeResult.makeEncoder()
        // The keys in sorted order, as the encoder writes every other object.
        var out = try encoder.encode(SLOList(asOf: asOf, slos: []))
        guard out.last == UInt8(ascii: "}"), out.dropLast().last == UInt8(ascii: "]") else {
            throw EncodingError.invalidValue(out, .init(codingPath: [], debugDescription: "unexpected SLOList encoding"))
        }
        out.removeLast(2)  // `]}`: the SLOs go into the array, then it is closed again
        var first = true
        for slo in slos {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(try encoder.encode(slo))
        }
        out.append(contentsOf: Array("]}".utf8))
        // Growing by appends leaves up to half the buffer unused; the body is kept until the
        // next refresh, so keep an exact-size copy (its size with many targets: bench/scale).
        return out.withUnsafeBytes { Data($0) }
    }

    /// Every SLO status, in config order.
    public var allSLOs: [SLOStatus] { order.flatMap { targets[$0]?.slos ?? [] } }
}
