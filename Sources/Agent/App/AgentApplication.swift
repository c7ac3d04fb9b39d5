import Hummingbird
import Logging
import ServiceLifecycle

/// Builds the HTTP application around a runtime. `services` are the background services to run
/// with it (scheduler, result writer, retention, reload-on-SIGHUP); tests pass none, so driving
/// the router does not start probing. `security` is `--web.config.file` (TLS, credentials).
/// `onServerRunning` runs once the listening socket is bound, with its port.
public func buildApplication(
    runtime: AgentRuntime, host: String, port: Int, services: [any Service], logger: Logger,
    security: WebSecurity = .none, onServerRunning: @escaping @Sendable (_ port: Int?) async -> Void = { _ in }
) -> some ApplicationProtocol {
    Application(
        router: buildRouter(runtime: runtime, security: security), server: security.server,
        configuration: .init(address: .hostname(host, port: port), serverName: "phasewatch"),
        services: services, onServerRunning: { channel in await onServerRunning(channel.localAddress?.port) }, logger: logger)
}

/// The background services of a running agent, in start order. Hummingbird shuts its server
/// down first, then these in reverse: the scheduler drains its probes before the writer's last
/// flush, and remote write stops last, after a final collection of what the others counted.
/// Signals (SIGHUP's reload among them) are `ProcessSignals`'s, set up by `phasewatch run`.
/// `targetFilePoll` is how often the target files are checked for changes.
public func agentServices(
    runtime: AgentRuntime, logger: Logger, targetFilePoll: Duration = TargetFileWatcher.defaultInterval
) -> [any Service] {
    [
        runtime.remoteWrite,
        runtime.writer,
        RetentionService(store: runtime.store, logger: logger) { runtime.config.storage },
        runtime.observation,
        RestoreStates(runtime: runtime),
        runtime.slo,
        runtime.scheduler,
        TargetFileWatcher(runtime: runtime, interval: targetFilePoll),
    ]
}

/// At start: each target's state and last result from before the restart (one short read per
/// target), so the page and the API do not show every target as unknown until it is probed.
struct RestoreStates: Service {
    let runtime: AgentRuntime

    func run() async throws {
        await runtime.restoreStates()
        // A service that returns would end the whole group: wait for shutdown instead.
        try? await gracefulShutdown()
    }
}
