import Config
import Foundation
import Logging
import PhaseWatchCore
import Probing
import Storage
import Synchronization

/// The running agent's state that reloads touch: the current config and the parts it feeds.
/// Data flows one way: scheduler → `ResultSink` → the target's record (state, series, last
/// result) and the result writer → SQLite.
public final class AgentRuntime: Sendable {
    public enum ConfigSource: Sendable {
        case file(String)
        /// Built-in YAML (the example config), with the name used in error messages.
        case text(String, name: String)

        /// The file's path, or the built-in text's name: for log lines.
        public var name: String {
            switch self {
            case .file(let path): path
            case .text(_, let name): name
            }
        }
    }

    public let metrics: AgentMetrics
    public let scheduler: Scheduler
    public let writer: ResultWriter
    public let store: ProbeStore
    /// One record per configured target (`TargetTable`).
    public let targets: TargetTable
    public let slo: SLOEngine
    /// Pushes the series to the `remote_write` receivers.
    public let remoteWrite: RemoteWriteService
    private let source: ConfigSource
    private let current: CurrentConfig
    private let logger: Logger
    private let reloading = Mutex(())
    /// Where each finished probe goes (its target's record, the result writer).
    let sink: ResultSink

    /// Builds the agent around an already loaded, valid config and an open store.
    public init(config: AgentConfig, source: ConfigSource, store: ProbeStore, logger: Logger, maxInFlight: Int = 256) {
        self.source = source
        let current = CurrentConfig(config)
        self.current = current
        self.store = store
        self.logger = logger
        let targets = TargetTable(location: config.global.location)
        self.targets = targets
        let metrics = AgentMetrics(location: config.global.location, targets: targets)
        self.metrics = metrics
        let writer = ResultWriter(
            store: store, logger: logger,
            hooks: .init(
                wrote: { _, took in metrics.agent.storageWrite.record(took.seconds) },
                failed: { metrics.agent.storageErrors.increment() },
                dropped: { metrics.agent.storageDropped.increment(by: Int64($0)) },
                status: { pending, writable in
                    metrics.agent.storagePending.set(to: Double(pending))
                    metrics.agent.storageWritable.set(to: writable ? 1 : 0)
                }))
        self.writer = writer
        let sink = ResultSink(metrics: metrics, writer: writer, location: config.global.location, logger: logger)
        self.sink = sink
        scheduler = Scheduler(
            prober: Prober(), table: targets, maxInFlight: maxInFlight, logger: logger,
            onResult: { record, target, result in sink.record(result, of: target, into: record) },
            onLag: { metrics.agent.schedulerLag.record(max(0, $0.seconds)) },
            onSkip: { _, count in metrics.agent.skipped.increment(by: Int64(count)) })
        slo = SLOEngine(
            store: store, logger: logger,
            targets: { current.value.withLock { ($0.generation, $0.config.targets) } },
            onRefresh: { metrics.agent.sloRefresh.record($0.seconds) })
        let slo = self.slo
        remoteWrite = RemoteWriteService(metrics: metrics, location: config.global.location, logger: logger) { slo.latest }
    }

    public var config: AgentConfig { current.value.withLock { $0.config } }

    /// The last result and state of each target from before a restart, read from the store.
    public func restoreStates() async {
        await targets.restore(from: store, logger: logger)
    }

    /// The last result of each target seen since start.
    public var latestResults: [String: ProbeResult] { targets.latestResults }

    /// Takes one finished probe as the scheduler hands it over (tests call it directly).
    public func record(_ result: ProbeResult, of target: Target) {
        sink.record(result, of: target, into: targets[target.name])
    }

    /// Starts probing the configured targets.
    public func start() {
        apply(config)
        metrics.agent.reloadSuccessful.set(to: 1)
        metrics.agent.reloadTimestamp.set(to: Date().timeIntervalSince1970)
    }

    /// Sets up the targets' states and metrics series without probing anything: for serving
    /// an existing history (tests, benchmarks) with no probe leaving the process.
    public func prepareWithoutProbing() {
        configureTargets(config)
        metrics.agent.reloadSuccessful.set(to: 1)
        metrics.agent.reloadTimestamp.set(to: Date().timeIntervalSince1970)
    }

    /// Loads the config again. A bad file is rejected and the running config stays in force.
    /// One reload at a time: a SIGHUP and a `POST /-/reload` must not apply two configs
    /// interleaved (the scheduler, states and metrics each seeing a different one).
    @discardableResult
    public func reload() -> Result<AgentConfig, ConfigErrors> {
        reloading.withLock { _ in reloadNow() }
    }

    private func reloadNow() -> Result<AgentConfig, ConfigErrors> {
        let loaded: AgentConfig
        do {
            loaded = try Self.load(source)
        } catch {
            metrics.agent.reloadSuccessful.set(to: 0)
            logger.error("config reload rejected; keeping the running config", metadata: ["errors": "\(error)"])
            return .failure(error)
        }
        let old = config
        if loaded.storage != old.storage {
            logger.warning("storage settings changed; they take effect at the next restart")
        }
        if loaded.global.location != old.global.location {
            logger.warning("global.location changed; it takes effect at the next restart")
        }
        current.value.withLock { $0 = (loaded, $0.generation + 1) }
        apply(loaded)
        metrics.agent.reloadSuccessful.set(to: 1)
        metrics.agent.reloadTimestamp.set(to: Date().timeIntervalSince1970)
        return .success(loaded)
    }

    /// The one place a config reaches the targets: the table, then the scheduler.
    private func apply(_ config: AgentConfig) {
        let changes = configureTargets(config)
        scheduler.apply(changes)
        remoteWrite.configure(config.remoteWrite)
        logger.info("targets scheduled", metadata: [
            "targets": .stringConvertible(config.targets.count),
            "started": .stringConvertible(changes.added.count + changes.changed.count), "stopped": .stringConvertible(changes.removed.count),
        ])
    }

    @discardableResult
    private func configureTargets(_ config: AgentConfig) -> TargetTable.Changes {
        metrics.configure(options: config.metrics)
        return targets.configure(config.targets, durationBuckets: config.metrics.durationBuckets)
    }

    public static func load(_ source: ConfigSource) throws(ConfigErrors) -> AgentConfig {
        switch source {
        case .file(let path):
            return try ConfigLoader.load(path: path)
        case .text(let yaml, let name):
            return try ConfigLoader.parse(yaml: yaml, file: name, baseDirectory: FileManager.default.currentDirectoryPath)
        }
    }
}

/// The config in force and a number bumped by every reload, so the SLO engine can tell a
/// snapshot of the old targets from one of the new.
final class CurrentConfig: Sendable {
    let value: Mutex<(config: AgentConfig, generation: Int)>

    init(_ config: AgentConfig) { value = Mutex((config, 0)) }
}
