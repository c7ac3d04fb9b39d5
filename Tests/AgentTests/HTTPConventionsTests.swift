import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// Exporter conventions on the real router: HEAD wherever GET works, 405 with `Allow` for a
/// known path asked with another method, 404 only for unknown paths.
struct HTTPConventionsTests {
    func makeApp() throws -> some ApplicationProtocol {
        let dir = Scratch.dir.appendingPathComponent("conventions-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let config = AgentConfig(targets: [Target(name: "api", url: "http://127.0.0.1:9/")])
        let runtime = AgentRuntime(config: config, source: .text("", name: "test"), store: store, logger: Logger(label: "test"))
        runtime.prepareWithoutProbing()
        return buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: Logger(label: "test"))
    }

    @Test func headWhereGetWorks() async throws {
        try await makeApp().test(.router) { client in
            for path in ["/-/healthy", "/-/ready", "/metrics", "/api/v1/targets", "/"] {
                try await client.execute(uri: path, method: .head) { response in
                    #expect(response.status == .ok, "HEAD \(path)")
                    #expect(response.body.readableBytes == 0, "HEAD \(path) has a body")
                }
            }
        }
    }

    @Test(arguments: [
        ("/-/reload", HTTPRequest.Method.get, "POST"),
        ("/-/reload", .put, "POST"),
        ("/metrics", .post, "GET, HEAD"),
        ("/api/v1/targets/api", .delete, "GET, HEAD"),
        ("/api/v1/slo", .post, "GET, HEAD"),
    ])
    func wrongMethodIs405WithAllow(path: String, method: HTTPRequest.Method, allow: String) async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: path, method: method) { response in
                #expect(response.status == .methodNotAllowed, "\(method) \(path)")
                #expect(response.headers[.allow] == allow)
                #expect(String(buffer: response.body).contains("method_not_allowed"))
            }
        }
    }

    @Test func unknownPathsStay404() async throws {
        try await makeApp().test(.router) { client in
            try await client.execute(uri: "/nope", method: .post) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/metrics/extra", method: .get) { #expect($0.status == .notFound) }
            // The allowed method reaches its handler (which rejects this test's empty config).
            try await client.execute(uri: "/-/reload", method: .post) { #expect($0.status == .badRequest) }
        }
    }
}
