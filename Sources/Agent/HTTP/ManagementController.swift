import Config
import Hummingbird
import PhaseWatchCore

/// Prometheus's management endpoints (docs/api.md): `/-/healthy`, `/-/ready` and `/-/reload`.
struct ManagementController {
    /// Loads the config file again (`AgentRuntime.reload`).
    let reload: @Sendable () -> Result<AgentConfig, ConfigErrors>

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .get("/-/healthy") { _, _ in "Healthy.\n" }
            .get("/-/ready") { _, _ in "Ready.\n" }
            .post("/-/reload", use: reloadConfig)
    }

    /// A rejected file answers 400 with every error; the running config stays in force.
    @Sendable func reloadConfig(_ request: Request, context: AgentRequestContext) throws -> String {
        switch reload() {
        case .success(let config):
            return "Reloaded: \(config.targets.count) targets.\n"
        case .failure(let errors):
            throw APIError(status: .badRequest, code: "config_invalid", message: errors.description)
        }
    }
}
