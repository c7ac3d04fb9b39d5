import Hummingbird

/// `GET /metrics` (docs/metrics.md): the per-target and agent-wide series, then the SLO series
/// of the engine's latest snapshot.
struct MetricsController {
    let metrics: AgentMetrics
    /// Probes running now, for its gauge, which is set only at a scrape.
    let probesInFlight: @Sendable () -> Int
    /// The SLO engine's latest snapshot, without waiting for one.
    let sloSnapshot: @Sendable () -> SLOSnapshot?

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .get("/metrics", use: scrape)
    }

    /// Streamed: with many targets the text is large, and it is never held whole. The format
    /// is the one the scraper's `Accept` prefers (docs/metrics.md "Formats").
    @Sendable func scrape(_ request: Request, context: AgentRequestContext) -> Response {
        metrics.agent.probesInFlight.set(to: Double(probesInFlight()))
        let snapshot = sloSnapshot()
        let format = ExpositionFormat.negotiate(accept: request.headers[.accept])
        return .rendered(
            ResponseBody { writer in
                try await metrics.write(slo: snapshot, format: format) { try await writer.write($0) }
                try await writer.finish(nil)
            }, contentType: format.contentType, headers: [.vary: "Accept"])
    }
}
