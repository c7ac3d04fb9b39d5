import Foundation
import Hummingbird
import NIOCore
import PhaseWatchCore
import Storage

/// `GET /`: the status page (docs/api.md). It reads the targets as the API does, and the store
/// for the per-phase charts.
struct StatusPageController {
    let targets: LiveTargets
    let store: ProbeStore
    /// Chart buckets that no longer change, kept between views.
    var cache = PhaseSeriesCache()
    /// The 90-day strips, kept per SLO snapshot.
    var strips = DayStripCache()

    var endpoints: RouteCollection<AgentRequestContext> {
        RouteCollection(context: AgentRequestContext.self)
            .get("/", use: page)
    }

    @Sendable func page(_ request: Request, context: AgentRequestContext) async -> Response {
        let clock = ContinuousClock()
        let started = clock.now
        let model = await StatusPageModel.make(targets: targets, store: store, cache: cache, strips: strips)
        let gathered = clock.now
        let html = StatusPage.render(model)
        context.logger.debug("status page", metadata: [
            "targets": .stringConvertible(model.targets.count), "bytes": .stringConvertible(html.utf8.count),
            "gather_seconds": "\((gathered - started).seconds)", "render_seconds": "\((clock.now - gathered).seconds)",
        ])
        // The page runs no script and loads nothing: say so, so that even a text that slipped
        // past escaping could not run or phone home.
        return .rendered(
            ByteBuffer(string: html), contentType: "text/html; charset=utf-8",
            headers: [
                .cacheControl: "no-store",
                .contentSecurityPolicy:
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                .xContentTypeOptions: "nosniff",
            ])
    }
}
