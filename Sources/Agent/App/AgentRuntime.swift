import Config
import Foundation
import Logging
import PhaseWatchCore
import Probing
import Storage
import Synchronization

/// The running agent's state that reloads touch: the current config and the parts it feeds.
/// Data flows one way: scheduler → `record` → metrics and the result writer → SQLite.
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

    public let metrics: ProbeMetrics
    public let scheduler: Scheduler
    public let writer: ResultWriter
    public let store: ProbeStore
    public let states = TargetStates()
    public let slo: SLOEngine
    private let source: ConfigSource
    private let current: CurrentConfig
    private let logger: Logger
    private let latest = LatestResults()
    private let reloading = Mutex(())
    /// Where each finished probe goes (state, metrics, latest, writer).
    let sink: ResultSink

    /// Builds the agent around an already loaded, valid config and an open store.
    public init(config: AgentConfig, source: ConfigSource, store: ProbeStore, logger: Logger, maxInFlight: Int = 256) {
        self.source = source
        let current = CurrentConfig(config)
        self.current = current
        self.store = store
        self.logger = logger
        let metrics = ProbeMetrics(location: config.global.location)
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
        let sink = ResultSink(
            metrics: metrics, states: self.states, latest: self.latest, writer: writer, location: config.global.location, logger: logger)
        self.sink = sink
        scheduler = Scheduler(
            prober: Prober(), maxInFlight: maxInFlight, logger: logger,
            onResult: { target, result in sink.record(result, of: target) },
            onLag: { metrics.agent.schedulerLag.record(max(0, $0.seconds)) },
            onSkip: { _, count in metrics.agent.skipped.increment(by: Int64(count)) })
        slo = SLOEngine(
            store: store, logger: logger,
            targets: { current.value.withLock { ($0.generation, $0.config.targets) } },
            onRefresh: { metrics.agent.sloRefresh.record($0.seconds) })
    }

    public var config: AgentConfig { current.value.withLock { $0.config } }

    /// The last result and state of each target from before a restart, read from the store.
    public func restoreStates() async {
        for result in await states.restore(from: store, logger: logger) {
            latest.setIfMissing(result)
            metrics.observeRestored(result, state: states.entry(result.target)?.state)
        }
    }

    /// The last result of each target seen since start.
    public var latestResults: [String: ProbeResult] { latest.all }

    /// Takes one finished probe as the scheduler hands it over (tests call it directly).
    public func record(_ result: ProbeResult, of target: Target) { sink.record(result, of: target) }

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

    private func apply(_ config: AgentConfig) {
        configureTargets(config)
        let (started, stopped) = scheduler.update(config.targets)
        latest.remove(stopped)
        logger.info("targets scheduled", metadata: [
            "targets": .stringConvertible(config.targets.count), "started": .stringConvertible(started.count), "stopped": .stringConvertible(stopped.count),
        ])
    }

    private func configureTargets(_ config: AgentConfig) {
        states.configure(config.targets)
        metrics.configure(config.targets, options: config.metrics)
        for target in config.targets {
            if let state = states.entry(target.name)?.state { metrics.setState(target: target.name, state: state) }
        }
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

/// The last result of each target since start, for readers on any thread.
final class LatestResults: Sendable {
    private let results = Mutex<[String: ProbeResult]>([:])

    func set(_ result: ProbeResult) { results.withLock { $0[result.target] = result } }
    func setIfMissing(_ result: ProbeResult) { results.withLock { if $0[result.target] == nil { $0[result.target] = result } } }
    func remove(_ names: [String]) { results.withLock { for name in names { $0[name] = nil } } }
    var all: [String: ProbeResult] { results.withLock { $0 } }
}
