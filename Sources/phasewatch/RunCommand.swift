import Agent
import ArgumentParser
import Config
import Foundation
import Hummingbird
import Logging
import NIOCore
import PhaseWatchCore
import ServiceLifecycle
import Probing
import Storage
import Synchronization

/// `phasewatch run`: the agent. Schedules probes, stores results, serves /metrics.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent: probe on schedule, store history, serve /metrics.",
        discussion: """
            Without --config.file, uses ./phasewatch.yml if present, else a built-in example that \
            probes the agent itself. SIGHUP or POST /-/reload reloads the config; SIGTERM/SIGINT \
            drain probes in flight, flush storage and exit.
            """
    )

    @Option(name: .customLong("config.file"), help: "Configuration file (YAML).")
    var configFile: String?

    @Option(name: .customLong("web.listen-address"), help: "Address for /metrics and the API.")
    var listenAddress: String = "127.0.0.1:9470"

    @Option(name: .customLong("web.config.file"), help: "TLS and authentication for the HTTP server (docs/web-config.md).")
    var webConfigFile: String?

    @Option(name: .customLong("web.max-connections"), help: "HTTP connections served at once; more wait to be accepted.")
    var maxConnections: Int = ConnectionLimits.default.maxConnections

    @Option(
        name: .customLong("web.idle-timeout"),
        help: "Close an HTTP connection that sends no complete request part for this long (slow headers, idle keep-alive).")
    var idleTimeout: String = PromDuration.format(ConnectionLimits.default.idleTimeout)

    @Option(name: .customLong("storage.path"), help: "SQLite database file (overrides storage.path in the config).")
    var storagePath: String?

    @Option(name: .customLong("probes.max-in-flight"), help: "Probes allowed to run at once, over all targets.")
    var maxInFlight: Int = 256

    @Option(help: "INDEX/TOTAL: probe only the targets this shard of the location owns (overrides global.shard).")
    var shard: String?

    @Option(
        name: .customLong("shutdown.timeout"),
        help: "After SIGTERM/SIGINT, exit anyway when draining and flushing take longer than this.")
    var shutdownTimeout: String = PromDuration.format(ProcessSignals.defaultHardStop)

    @Option(
        name: .customLong("target-files.poll-interval"),
        help: "How often to check the config's target_files for added, changed and removed files.")
    var targetFilePoll: String = PromDuration.format(TargetFileWatcher.defaultInterval)

    @Option(name: .customLong("log.format"), help: "logfmt or json.")
    var logFormat: String = "logfmt"

    @Option(name: .customLong("log.level"), help: "debug, info, warn or error.")
    var logLevel: String = "info"

    func validate() throws {
        _ = try listen()
        guard LineLogHandler.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log.format must be logfmt or json, not \"\(logFormat)\"")
        }
        _ = try hardStop()
        _ = try limits()
        _ = try pollInterval()
        guard maxInFlight > 0 else { throw ValidationError("--probes.max-in-flight must be at least 1") }
        guard level() != nil else { throw ValidationError("--log.level must be debug, info, warn or error, not \"\(logLevel)\"") }
        _ = try Shard(flag: shard)
    }

    func run() async throws {
        let format = LineLogHandler.Format(rawValue: logFormat)!
        let level = level()!
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format, level: level) }
        let logger = Logger(label: "phasewatch")
        // First: a signal during any later step must end or reload the agent, never kill it
        // half-started or be lost.
        let signals = ProcessSignals(logger: logger, hardStop: try hardStop())
        MallocTuning.keepLargeBuffersSeparate()
        let files = FileLimit.raiseSoftToHard()
        let (host, port) = try listen()
        let poll = try pollInterval()

        // Before anything else: a bad web config must stop the agent before it opens its
        // database or listens, never fall back to serving without the protection asked for.
        let limits = try limits()
        var security = WebSecurity.plain(limits)
        if let webConfigFile {
            do {
                security = try WebSecurity(WebConfigLoader.load(path: webConfigFile), limits: limits)
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode.failure
            }
        }

        let source: AgentRuntime.ConfigSource
        if let configFile {
            source = .file(configFile)
        } else if FileManager.default.fileExists(atPath: "phasewatch.yml") {
            source = .file("phasewatch.yml")
        } else {
            // The example probes the agent itself: through loopback when it listens everywhere.
            let reachable = host == "::" || host == "0.0.0.0" ? "127.0.0.1" : host
            let shown = reachable.contains(":") ? "[\(reachable)]:\(port)" : "\(reachable):\(port)"
            source = .text(ExampleConfig.yaml(listen: shown), name: "<built-in example>")
            logger.info("no config file given and no ./phasewatch.yml: running the built-in example")
            if webConfigFile != nil {
                logger.warning("the built-in example probes the agent over plain HTTP without credentials: with --web.config.file those probes fail; give --config.file")
            }
        }
        let loaded: LoadedConfig
        do {
            loaded = try AgentRuntime.load(source)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        }
        var config = loaded.config
        if let storagePath { config.storage.path = storagePath }
        let store: ProbeStore
        do {
            store = try ProbeStore(path: config.storage.path)  // creates the file and its directory
        } catch {
            logger.critical("cannot open the database", metadata: ["path": "\(config.storage.path)", "error": "\(error)"])
            throw ExitCode.failure
        }
        let runtime = AgentRuntime(
            config: config, source: source, store: store, logger: logger, maxInFlight: maxInFlight, targetFiles: loaded.targetFiles,
            shard: try Shard(flag: shard))
        let group = GroupHandle()
        let app = buildApplication(
            runtime: runtime, host: host, port: port, services: agentServices(runtime: runtime, logger: logger, targetFilePoll: poll),
            logger: logger, security: security,
            onServerRunning: {
                [listenAddress, security, files, coverage = runtime.shard, path = config.storage.path,
                 location = config.global.location, configName = source.name] boundPort in
                // Pushed series carry the `instance` a scrape of this agent would give them.
                let shownHost = host == "::" || host == "0.0.0.0" ? RemoteWriteService.hostName() : host
                let instanceHost = shownHost.contains(":") ? "[\(shownHost)]" : shownHost
                runtime.remoteWrite.identify(instance: "\(instanceHost):\(boundPort ?? port)")
                // Probing starts only once the address is ours: a failed bind leaves nothing behind.
                runtime.start()
                logger.info(
                    "phasewatch listening",
                    metadata: [
                        "address": "\(listenAddress)", "scheme": "\(security.scheme)", "web": "\(security.summary)",
                        "targets": .stringConvertible(coverage.owned), "configured_targets": .stringConvertible(coverage.configured),
                        "shard": "\(coverage.shard)", "storage": "\(path)", "max_open_files": .stringConvertible(files.soft),
                        "version": "\(PhaseWatchVersion.current)", "revision": "\(PhaseWatchVersion.revision)",
                        "config": "\(configName)", "location": "\(location)",
                    ])
                if security.requiresAuthentication, security.scheme == "http" {
                    logger.warning("authentication without TLS: passwords and tokens cross the network in clear text; add tls_server_config")
                }
                signals.running(
                    shutdown: { group.triggerGracefulShutdown() }, reload: { runtime.reload() },
                    unwritten: { runtime.writer.pendingCount })
            })
        let serviceGroup = ServiceGroup(configuration: .init(services: [app], logger: logger))
        group.set(serviceGroup)
        do {
            try await serviceGroup.run()
        } catch let error as IOError {
            // The listening socket: bind and listen are the only I/O errors that end the group.
            let reason = String(cString: strerror(error.errnoCode)).lowercased()
            logger.critical("cannot listen on \(listenAddress): \(reason)", metadata: ["errno": .stringConvertible(error.errnoCode)])
            throw ExitCode.failure
        }
        // Results that never reached the database (logged by the writer) make it a failed run,
        // for systemd and whoever reads the exit status.
        let lost = runtime.writer.pendingCount
        logger.info("phasewatch stopped", metadata: ["unwritten_results": .stringConvertible(lost)])
        if lost > 0 { throw ExitCode.failure }
    }

    private func limits() throws -> ConnectionLimits {
        guard maxConnections > 0 else { throw ValidationError("--web.max-connections must be at least 1") }
        guard let idle = try? PromDuration.parse(idleTimeout), idle > .zero else {
            throw ValidationError("--web.idle-timeout must be a positive duration such as 30s, not \"\(idleTimeout)\"")
        }
        return ConnectionLimits(maxConnections: maxConnections, idleTimeout: idle)
    }

    private func pollInterval() throws -> Duration {
        guard let duration = try? PromDuration.parse(targetFilePoll), duration > .zero else {
            throw ValidationError("--target-files.poll-interval must be a positive duration such as 10s, not \"\(targetFilePoll)\"")
        }
        return duration
    }

    private func hardStop() throws -> Duration {
        guard let duration = try? PromDuration.parse(shutdownTimeout), duration > .zero else {
            throw ValidationError("--shutdown.timeout must be a positive duration such as 30s, not \"\(shutdownTimeout)\"")
        }
        return duration
    }

    private func level() -> Logger.Level? {
        switch logLevel {
        case "debug": .debug
        case "info": .info
        case "warn", "warning": .warning
        case "error": .error
        default: nil
        }
    }

    /// `host:port`, `[v6]:port` or `:port` (all interfaces, IPv4 and IPv6 as Prometheus's
    /// exporters do; IPv4 only on a host without IPv6).
    private func listen() throws -> (String, Int) {
        let text = listenAddress
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { throw ValidationError("--web.listen-address \"\(text)\" is not host:port") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = Self.ipv6Available() ? "::" : "0.0.0.0" }
        return (host, port)
    }

    /// Whether an IPv6 socket can be made here (a kernel booted with ipv6.disable=1 cannot).
    /// A socket bound to `::` also takes IPv4 connections unless net.ipv6.bindv6only is set.
    private static func ipv6Available() -> Bool {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }
}

/// `phasewatch check-config FILE`: validate, print every error with its location.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and its target files; exit 0 when valid, 1 with every error otherwise."
    )

    @Argument(help: "Configuration file (YAML).")
    var file: String

    @Option(help: "INDEX/TOTAL: also list the targets this shard would own.")
    var shard: String?

    func validate() throws { _ = try Shard(flag: shard) }

    func run() throws {
        do {
            let config = try ConfigLoader.load(path: file)
            print("\(file): OK, \(config.targets.count) target\(config.targets.count == 1 ? "" : "s")")
            if let shard = try Shard(flag: shard) {
                let owned = config.owned(by: shard)
                print("shard \(shard.index) of \(shard.total): \(owned.coverage.owned) of \(owned.coverage.configured) targets")
                for target in owned.config.targets { print(target.name) }
            }
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

/// The service group, for the signal handler that asks it to shut down; set once it exists.
final class GroupHandle: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)

    func set(_ serviceGroup: ServiceGroup) { group.withLock { $0 = serviceGroup } }

    func triggerGracefulShutdown() {
        guard let serviceGroup = group.withLock({ $0 }) else { return }
        Task { await serviceGroup.triggerGracefulShutdown() }
    }
}

extension Shard {
    /// `--shard`'s value, nil when the flag is not given; a bad one is a usage error.
    init?(flag: String?) throws {
        guard let flag else { return nil }
        do {
            try self.init(parsing: flag)
        } catch {
            throw ValidationError("--shard: \(error.description)")
        }
    }
}
