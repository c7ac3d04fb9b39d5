import Agent
import ArgumentParser
import Config
import Foundation
import Hummingbird
import Logging
import PhaseWatchCore
import ServiceLifecycle
import Storage

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

    @Option(name: .customLong("storage.path"), help: "SQLite database file (overrides storage.path in the config).")
    var storagePath: String?

    @Option(name: .customLong("probes.max-in-flight"), help: "Probes allowed to run at once, over all targets.")
    var maxInFlight: Int = 256

    @Option(name: .customLong("log.format"), help: "logfmt or json.")
    var logFormat: String = "logfmt"

    @Option(name: .customLong("log.level"), help: "debug, info, warn or error.")
    var logLevel: String = "info"

    func validate() throws {
        _ = try listen()
        guard LineLogHandler.Format(rawValue: logFormat) != nil else {
            throw ValidationError("--log.format must be logfmt or json, not \"\(logFormat)\"")
        }
        guard maxInFlight > 0 else { throw ValidationError("--probes.max-in-flight must be at least 1") }
        guard level() != nil else { throw ValidationError("--log.level must be debug, info, warn or error, not \"\(logLevel)\"") }
    }

    func run() async throws {
        MallocTuning.keepLargeBuffersSeparate()
        let format = LineLogHandler.Format(rawValue: logFormat)!
        let level = level()!
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format, level: level) }
        let logger = Logger(label: "phasewatch")
        let (host, port) = try listen()

        // Before anything else: a bad web config must stop the agent before it opens its
        // database or listens, never fall back to serving without the protection asked for.
        var security = WebSecurity.none
        if let webConfigFile {
            do {
                security = try WebSecurity(WebConfigLoader.load(path: webConfigFile))
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
            let shown = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            source = .text(ExampleConfig.yaml(listen: shown), name: "<built-in example>")
            logger.info("no config file given and no ./phasewatch.yml: running the built-in example")
            if webConfigFile != nil {
                logger.warning("the built-in example probes the agent over plain HTTP without credentials: with --web.config.file those probes fail; give --config.file")
            }
        }
        var config: AgentConfig
        do {
            config = try AgentRuntime.load(source)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        }
        if let storagePath { config.storage.path = storagePath }
        let store: ProbeStore
        do {
            store = try ProbeStore(path: config.storage.path)  // creates the file and its directory
        } catch {
            logger.critical("cannot open the database", metadata: ["path": "\(config.storage.path)", "error": "\(error)"])
            throw ExitCode.failure
        }
        let runtime = AgentRuntime(config: config, source: source, store: store, logger: logger, maxInFlight: maxInFlight)
        runtime.start()
        let app = buildApplication(
            runtime: runtime, host: host, port: port, services: agentServices(runtime: runtime, logger: logger), logger: logger,
            security: security)
        logger.info(
            "phasewatch listening",
            metadata: [
                "address": "\(listenAddress)", "scheme": "\(security.scheme)", "web": "\(security.summary)",
                "targets": "\(config.targets.count)", "storage": "\(config.storage.path)",
            ])
        if security.requiresAuthentication, security.scheme == "http" {
            logger.warning("authentication without TLS: passwords and tokens cross the network in clear text; add tls_server_config")
        }
        try await app.runService()
        logger.info("phasewatch stopped")
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

    /// `host:port`, `[v6]:port` or `:port` (all interfaces).
    private func listen() throws -> (String, Int) {
        let text = listenAddress
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { throw ValidationError("--web.listen-address \"\(text)\" is not host:port") }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        return (host, port)
    }
}

/// `phasewatch check-config FILE`: validate, print every error with its location.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file; exit 0 when valid, 1 with every error otherwise."
    )

    @Argument(help: "Configuration file (YAML).")
    var file: String

    func run() throws {
        do {
            let config = try ConfigLoader.load(path: file)
            print("\(file): OK, \(config.targets.count) target\(config.targets.count == 1 ? "" : "s")")
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}
