import Hummingbird
import Synchronization

/// The methods each route answers, recorded as the routes are added (`RouteTable.Recorder`),
/// so that a known path asked with another method gets `405 Method Not Allowed` with `Allow`,
/// as Prometheus's own servers answer, instead of 404 (docs/api.md, "Methods").
final class RouteTable: Sendable {
    private let routes = Mutex<[(segments: [Substring], methods: [HTTPRequest.Method])]>([])

    func add(_ path: String, _ method: HTTPRequest.Method) {
        let segments = Self.segments(path)
        routes.withLock { routes in
            if let i = routes.firstIndex(where: { $0.segments == segments }) {
                routes[i].methods.append(method)
            } else {
                routes.append((segments, [method]))
            }
        }
    }

    /// Methods some route answers on `path` (GET implying HEAD), or nil for an unknown path.
    /// Routes without a wildcard win over `**` ones, as in the router: `GET` on a POST-only
    /// path under `/api/` is a 405, not the `/api/**` fallback's.
    func allowed(_ path: String) -> [HTTPRequest.Method]? {
        let asked = Self.segments(path)
        let matching = routes.withLock { routes in routes.filter { Self.matches($0.segments, asked) } }
        let exact = matching.filter { !$0.segments.contains("**") }
        let methods = (exact.isEmpty ? matching : exact).flatMap(\.methods)
        guard !methods.isEmpty else { return nil }
        var unique: [HTTPRequest.Method] = []
        for method in methods + (methods.contains(.get) ? [.head] : []) where !unique.contains(method) { unique.append(method) }
        return unique
    }

    private static func segments(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }

    /// `{name}` matches one segment, `**` the rest, as in Hummingbird's router.
    private static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        var i = 0
        for part in pattern {
            if part == "**" { return true }
            guard i < path.count, part.hasPrefix("{") || part == "*" || part == path[i] else { return false }
            i += 1
        }
        return i == path.count
    }

    /// The router, recording each route added through it (`addRoutes`, `get`, `post`, ...).
    struct Recorder: RouterMethods {
        let router: Router<AgentRequestContext>
        let table: RouteTable

        @discardableResult
        func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
        where Responder.Context == AgentRequestContext {
            table.add(path.description, method)
            router.on(path, method: method, responder: responder)
            return self
        }

        @discardableResult
        func add(middleware: any MiddlewareProtocol<Request, Response, AgentRequestContext>) -> Self {
            router.add(middleware: middleware)
            return self
        }
    }
}

/// Turns the router's 404 for a known path into 405 with `Allow`.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = AgentRequestContext
    let table: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            guard let allowed = table.allowed(request.uri.path), !allowed.contains(request.method) else { throw error }
            throw APIError(
                status: .methodNotAllowed, code: "method_not_allowed", message: "\(request.method.rawValue) is not allowed here",
                headers: [.allow: allowed.map(\.rawValue).joined(separator: ", ")])
        }
    }
}
