import Foundation
import Hummingbird
import NIOCore

/// The agent's own endpoints: `/metrics` and the Prometheus-style
/// `/-/healthy`, `/-/ready`, `/-/reload`.
enum Routes {
    static func add(to router: RouteTable.Recorder, runtime: AgentRuntime) {
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            runtime.metrics.agent.probesInFlight.set(to: Double(runtime.scheduler.probesInFlight))
            // Streamed: with 10 000 targets the text is tens of MB, never held whole. The SLO
            // series come from the engine's latest snapshot.
            let snapshot = runtime.slo.latest
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                try await runtime.metrics.write(slo: snapshot) { try await writer.write($0) }
                try await writer.finish(nil)
            })
        }
        router.get("/-/healthy") { _, _ in "Healthy.\n" }
        router.get("/-/ready") { _, _ in "Ready.\n" }
        router.post("/-/reload") { _, _ -> Response in
            switch runtime.reload() {
            case .success(let config):
                var headers = HTTPFields()
                headers[.contentType] = "text/plain; charset=utf-8"
                return Response(
                    status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "Reloaded: \(config.targets.count) targets.\n")))
            case .failure(let errors):
                return APIError(status: .badRequest, code: "config_invalid", message: errors.description).response()
            }
        }
    }
}

/// docs/api.md's errors: `{"error":{"code":"...","message":"..."}}` with a 4xx status.
struct APIError: Error {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    func response(headers extra: HTTPFields = [:]) -> Response {
        struct Body: Encodable {
            struct Inner: Encodable { let code: String; let message: String }
            let error: Inner
        }
        let data = (try? JSONEncoder().encode(Body(error: .init(code: code, message: message)))) ?? Data()
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
