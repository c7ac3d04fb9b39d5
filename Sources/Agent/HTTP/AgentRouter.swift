import Hummingbird
import PhaseWatchCore

/// The agent's routes, each controller given only what it reads from the runtime.
/// `security`'s authenticator guards every route and unknown paths too.
func buildRouter(runtime: AgentRuntime, security: WebSecurity) -> Router<AgentRequestContext> {
    // HEAD wherever GET works, as exporters answer it.
    let router = Router(context: AgentRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: BackgroundPriorityMiddleware())
    // Outside the others, so their answers (401, 405) are seen too; small ones stay plain.
    router.add(middleware: ResponseCompressionMiddleware())
    // Before the routes, so it guards every route added below and unknown paths too: /-/healthy
    // included, as in exporter-toolkit (docs/web-config.md says why).
    if let authenticator = security.authenticator {
        router.add(middleware: AuthenticationMiddleware(authenticator: authenticator))
    }
    let table = RouteTable()
    router.add(middleware: MethodNotAllowedMiddleware(table: table))
    let routes = RouteTable.Recorder(router: router, table: table)

    let targets = LiveTargets(runtime)
    routes.addRoutes(
        MetricsController(
            metrics: runtime.metrics, probesInFlight: { runtime.scheduler.probesInFlight }, sloSnapshot: { runtime.slo.latest }
        ).endpoints)
    routes.addRoutes(ManagementController(reload: { runtime.reload() }).endpoints)
    routes.addRoutes(StatusPageController(targets: targets, store: runtime.store).endpoints)
    routes.addRoutes(TargetsController(targets: targets).endpoints)
    routes.addRoutes(HistoryController(store: runtime.store, config: { runtime.config }).endpoints)
    routes.addRoutes(ReportController(store: runtime.store, config: { runtime.config }).endpoints)
    routes.addRoutes(ProbeNowController(target: { name in runtime.config.targets.first { $0.name == name } }).endpoints)
    routes.get("/api/v1/openapi.json") { _, _ in
        Response.rendered(ByteBuffer(string: OpenAPIDocument.json), contentType: "application/json")
    }
    // Last: any other path under /api/ is a JSON 404 like every other API error (docs/api.md),
    // not the router's empty one. The routes above are more specific and win over it.
    routes.get("/api/**") { request, _ -> Response in
        throw APIError(status: .notFound, code: "not_found", message: "no API endpoint at \(request.uri.path)")
    }
    return router
}

extension LiveTargets {
    /// The runtime's targets: the config in force (which names exist, in which order), each
    /// target's state and last result from its record, the SLO engine's snapshot.
    init(_ runtime: AgentRuntime) {
        @Sendable func summary(_ target: Target, location: String) -> TargetSummary {
            let record = runtime.targets[target.name]
            let status = record?.status
            return TargetSummary(
                target, location: location, state: status.map { ($0.state, $0.since, $0.reason) }, last: record?.latest,
                addresses: record?.addressResults ?? [])
        }
        self.init(
            config: { runtime.config },
            shard: { runtime.shard },
            summaries: {
                let config = runtime.config
                return config.targets.map { summary($0, location: config.global.location) }
            },
            summary: { name in
                let config = runtime.config
                return config.targets.first { $0.name == name }.map { summary($0, location: config.global.location) }
            },
            sloSnapshot: { try await runtime.slo.snapshot() })
    }
}
