import Foundation
import Hummingbird
import NIOCore
import PhaseWatchCore

/// `GET /`: the status page (docs/api.md).
enum StatusPageRoutes {
    static func add(to router: RouteTable.Recorder, runtime: AgentRuntime) {
        let cache = PhaseSeriesCache()
        router.get("/") { _, context -> Response in
            let clock = ContinuousClock()
            let started = clock.now
            let model = await StatusPageModel.make(runtime: runtime, cache: cache)
            let gathered = clock.now
            let html = StatusPage.render(model)
            context.logger.debug("status page", metadata: [
                "targets": .stringConvertible(model.targets.count), "bytes": .stringConvertible(html.utf8.count),
                "gather_seconds": "\((gathered - started).seconds)", "render_seconds": "\((clock.now - gathered).seconds)",
            ])
            var headers = HTTPFields()
            headers[.contentType] = "text/html; charset=utf-8"
            headers[.cacheControl] = "no-store"
            // The page runs no script and loads nothing: say so, so that even a text that slipped
            // past escaping could not run or phone home.
            headers[.contentSecurityPolicy] =
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            headers[.xContentTypeOptions] = "nosniff"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
        }
    }
}
