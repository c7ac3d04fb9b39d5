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
    /// Records when the agent runs and which targets are configured (coverage).
    public let observation: ObservationService
    private let source: ConfigSource
    private let current: CurrentConfig
    private let logger: Logger
    /// Held by a reload or a re-read of the target files, one at a time; what was last read
    /// from each target file (docs/config.md#target_files).
    private let reloading: Mutex<TargetFiles>
    /// Target files are re-read only once probing started.
    private let started = Atomic(false)
    /// `run --shard`: wins over `global.shard` at start and at every reload.
    private let shardFlag: Shard?
    /// Where each finished probe goes (its target's record, the result writer).
    let sink: ResultSink

    /// Builds the agent around an already loaded, valid config and an open store; `targetFiles`
    /// are what `load` read from the config's target files (none when nil). `config` holds every
    /// configured target; the agent keeps those its shard owns (`shard`, else `global.shard`).
    public init(
        config: AgentConfig, source: ConfigSource, store: ProbeStore, logger: Logger, maxInFlight: Int = 256,
        targetFiles: TargetFiles? = nil, shard: Shard? = nil
    ) {
        self.source = source
        reloading = Mutex(targetFiles ?? LoadedConfig(config: config).targetFiles)
        shardFlag = shard
        let current = CurrentConfig(config.owned(by: shard ?? config.global.shard))
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
            onResult: { record, target, results, weight in sink.record(results, of: target, into: record, weight: weight) },
            onLag: { metrics.agent.schedulerLag.record(max(0, $0.seconds)) },
            onSkip: { _, count in metrics.agent.skipped.increment(by: Int64(count)) })
        slo = SLOEngine(
            store: store, logger: logger,
            targets: { current.value.withLock { ($0.generation, $0.config.targets) } },
            onRefresh: { metrics.agent.sloRefresh.record($0.seconds) })
        observation = ObservationService(store: store, logger: logger) { current.value.withLock { $0.config.targets.map(\.name) } }
        let slo = self.slo
        remoteWrite = RemoteWriteService(metrics: metrics, location: config.global.location, logger: logger) { slo.latest }
    }

    /// The config in force: only the targets this agent's shard owns.
    public var config: AgentConfig { current.value.withLock { $0.config } }

    /// This agent's shard and how many of the configured targets it owns.
    public var shard: ShardCoverage { current.value.withLock { $0.coverage } }

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
        reloading.withLock { files in
            apply(config)
            for file in files.status { metrics.targetFile(file.file, ok: file.ok) }
            started.store(true, ordering: .sequentiallyConsistent)
        }
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
        reloading.withLock { reloadNow(&$0) }
    }

    /// A target file that is bad keeps its last good targets, as between reloads; only a
    /// problem of the config file itself (or a pattern's unreadable directory) rejects a reload.
    private func reloadNow(_ files: inout TargetFiles) -> Result<AgentConfig, ConfigErrors> {
        let next: LoadedConfig
        do {
            next = try Self.loadMain(source)
        } catch {
            return rejected(error)
        }
        var loaded = next.config
        var targetFiles = next.targetFiles
        targetFiles.keepLastGood(from: files)
        if let update = targetFiles.reread(global: loaded.global, onlyChanged: false) {
            guard update.fatal.isEmpty else { return rejected(ConfigErrors(errors: update.fatal)) }
            loaded.targets = update.targets
            report(update)
        }
        files = targetFiles
        let old = config
        if loaded.storage != old.storage {
            logger.warning("storage settings changed; they take effect at the next restart")
        }
        if loaded.global.location != old.global.location {
            logger.warning("global.location changed; it takes effect at the next restart")
        }
        inForce(loaded)
        metrics.agent.reloadSuccessful.set(to: 1)
        metrics.agent.reloadTimestamp.set(to: Date().timeIntervalSince1970)
        return .success(loaded)
    }

    private func rejected(_ errors: ConfigErrors) -> Result<AgentConfig, ConfigErrors> {
        metrics.agent.reloadSuccessful.set(to: 0)
        logger.error("config reload rejected; keeping the running config", metadata: ["errors": "\(errors)"])
        return .failure(errors)
    }

    /// Reads the target files again if one was added, changed or removed since the last read
    /// (`TargetFileWatcher`), and applies the targets as a reload would; the config file is
    /// not read (its changes still need a reload).
    public func rereadTargetFiles() {
        guard started.load(ordering: .sequentiallyConsistent) else { return }
        reloading.withLock { files in
            var next = files
            guard let update = next.reread(global: config.global, onlyChanged: true) else { return }
            guard update.fatal.isEmpty else {
                logger.error("target files not read; their targets keep running", metadata: ["errors": "\(ConfigErrors(errors: update.fatal))"])
                return
            }
            files = next
            report(update)
            var updated = config
            updated.targets = update.targets
            inForce(updated)
        }
    }

    /// One log line per target file read, and its `phasewatch_target_file_last_reload_successful`.
    private func report(_ update: TargetFileUpdate) {
        for file in update.files {
            if file.gone {
                metrics.removeTargetFile(file.file)
                logger.info("target file gone; its targets removed", metadata: ["file": "\(file.shown)", "removed": .stringConvertible(file.removed)])
                continue
            }
            metrics.targetFile(file.file, ok: file.ok)
            guard file.read else { continue }
            if file.errors.isEmpty {
                logger.info("target file read", metadata: [
                    "file": "\(file.shown)", "added": .stringConvertible(file.added), "changed": .stringConvertible(file.changed),
                    "removed": .stringConvertible(file.removed),
                ])
            } else {
                logger.error("target file rejected; the targets it held keep running", metadata: [
                    "file": "\(file.shown)", "errors": "\(ConfigErrors(errors: file.errors))",
                ])
            }
        }
    }

    /// Where a config becomes the one in force, for a reload and a target file re-read alike:
    /// `config` holds every configured target, the agent keeps its shard's.
    private func inForce(_ config: AgentConfig) {
        let owned = config.owned(by: shardFlag ?? config.global.shard)
        current.value.withLock { $0 = (owned.config, owned.coverage, $0.generation + 1) }
        apply(owned.config)
    }

    /// The one place a config reaches the targets: the table, then the scheduler.
    private func apply(_ config: AgentConfig) {
        let changes = configureTargets(config)
        scheduler.apply(changes)
        observation.configured(config.targets.map(\.name), at: Date())
        remoteWrite.configure(config.remoteWrite)
        let coverage = shard
        logger.info("targets scheduled", metadata: [
            "targets": .stringConvertible(config.targets.count),
            "shard": "\(coverage.shard)", "configured_targets": .stringConvertible(coverage.configured),
            "started": .stringConvertible(changes.added.count + changes.changed.count), "stopped": .stringConvertible(changes.removed.count),
        ])
    }

    @discardableResult
    private func configureTargets(_ config: AgentConfig) -> TargetTable.Changes {
        metrics.configure(options: config.metrics)
        metrics.show(shard: shard.shard)
        return targets.configure(config.targets, durationBuckets: config.metrics.durationBuckets)
    }

    /// The config and its target files, as at start: any error in either is thrown.
    public static func load(_ source: ConfigSource) throws(ConfigErrors) -> LoadedConfig {
        try ConfigLoader.readingTargetFiles(loadMain(source))
    }

    private static func loadMain(_ source: ConfigSource) throws(ConfigErrors) -> LoadedConfig {
        switch source {
        case .file(let path):
            return try ConfigLoader.loadMain(path: path)
        case .text(let yaml, let name):
            return try ConfigLoader.parseMain(yaml: yaml, file: name, baseDirectory: FileManager.default.currentDirectoryPath)
        }
    }
}

/// The config in force (the shard's targets only), what the shard holds of the configured
/// targets, and a number bumped by every reload, so the SLO engine can tell a snapshot of the
/// old targets from one of the new.
final class CurrentConfig: Sendable {
    let value: Mutex<(config: AgentConfig, coverage: ShardCoverage, generation: Int)>

    init(_ owned: (config: AgentConfig, coverage: ShardCoverage)) { value = Mutex((owned.config, owned.coverage, 0)) }
}
