import Foundation
import Hummingbird
import NIOCore
import PhaseWatchCore

/// The request context of every route: Hummingbird's core context, the project's JSON encoder
/// as `responseEncoder` (so a handler returns a `ResponseEncodable` value and the API's JSON
/// comes out the same everywhere), and the client's address for the bcrypt queue's bounds.
struct AgentRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connection's peer; nil when the router is driven without a socket (tests).
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    var responseEncoder: APIJSONEncoder { APIJSONEncoder() }

    /// Who sent the request, as the bcrypt queue counts clients.
    var client: ClientID { ClientID(remoteAddress) }
}

/// The API's JSON (docs/api.md): keys sorted, slashes unescaped, times RFC 3339 with
/// milliseconds — `ProbeResult.makeEncoder()`, the encoding `phasewatch probe` prints too.
struct APIJSONEncoder: ResponseEncoder {
    func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        .rendered(ByteBuffer(bytes: try ProbeResult.makeEncoder().encode(value)), contentType: "application/json")
    }
}

extension Response {
    /// A 200 whose body is ready-made: the SLO snapshot's JSON, the OpenAPI document, the status
    /// page, a JSON value encoded (`APIJSONEncoder`).
    static func rendered(_ body: ByteBuffer, contentType: String, headers extra: HTTPFields = [:]) -> Response {
        .rendered(ResponseBody(byteBuffer: body), contentType: contentType, headers: extra)
    }

    /// A 200 with `body` (possibly streamed) and its `Content-Type`.
    static func rendered(_ body: ResponseBody, contentType: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: body)
    }
}
