import Hummingbird
import PhaseWatchCore

/// The first middleware: the request's thread runs at background priority from now on (see
/// `ThreadPriority`).
struct BackgroundPriorityMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        ThreadPriority.lowerCurrentThread()
        return try await next(request, context)
    }
}
