import Foundation
import Hummingbird
import NIOCore

/// docs/api.md's errors: `{"error":{"code":"...","message":"..."}}` with a 4xx status. Handlers
/// and middleware throw it; the router turns it into the response (`HTTPResponseError`).
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    /// Headers the answer needs beside the body: `Retry-After`, `Allow`, `WWW-Authenticate`.
    var headers: HTTPFields = [:]

    /// 404 for a `{name}` that is not configured; `orStored` where a name in the history
    /// counts as well (docs/api.md).
    static func unknownTarget(_ name: String, orStored: Bool = false) -> APIError {
        APIError(status: .notFound, code: "unknown_target", message: "no \(orStored ? "" : "configured ")target named \"\(name)\"")
    }

    private struct Body: Encodable {
        struct Inner: Encodable { let code: String; let message: String }
        let error: Inner
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        // Not the API's encoder: slashes stay escaped, as clients have always been sent them.
        // Sorted keys give docs/api.md's order every time (`code` before `message`).
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(Body(error: .init(code: code, message: message)))
        var headers = headers
        headers[.contentType] = "application/json"
        let response = Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
        // Thrown past the router's HEAD-from-GET responder, which strips the body only of what
        // a handler returns: a HEAD answer has no body, error or not.
        return request.method == .head ? response.createHeadResponse() : response
    }
}
