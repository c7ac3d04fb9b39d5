import Agent
import Config
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// `POST /api/v1/targets/{name}/probe` on the real router: a probe now, as the scheduler makes
/// it, answered with its debug detail, never stored or counted, and rate-limited.
@Suite(.serialized)
struct ProbeNowTests {
    struct Agent {
        let runtime: AgentRuntime
        let store: ProbeStore
        let app: any ApplicationProtocol
    }

    static func agent(secret: String = "s", security: WebSecurity = .none) throws -> Agent {
        let dir = Scratch.dir.appendingPathComponent("probe-now-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        var api = Target(name: "api", url: TestServer.http("/redirect/1?body=hello"))
        api.headers = [Header(name: "Authorization", value: "Bearer \(secret)")]
        api.expect = Expectations(status: [.code(200)], bodyMatches: "^hel")
        let slow = Target(name: "slow", url: TestServer.http("/?processing=0.5"))
        var tls = Target(name: "tls", url: "https://127.0.0.1:\(TestServer.shared.port("https"))/")
        tls.tls.caFile = Certs.ca
        let config = AgentConfig(targets: [api, slow, tls, Target(name: "fast", url: TestServer.http("/"))])
        let runtime = AgentRuntime(config: config, source: .text("", name: "test"), store: store, logger: Logger(label: "test"))
        runtime.prepareWithoutProbing()
        let app = buildApplication(
            runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: Logger(label: "test"), security: security)
        return Agent(runtime: runtime, store: store, app: app)
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: buffer).utf8)) as? [String: Any])
    }

    @Test func probesNowWithDetailAndStoresNothing() async throws {
        let secret = UUID().uuidString
        let agent = try Self.agent(secret: secret)
        try await agent.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/targets/api/probe", method: .post) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let text = String(buffer: response.body)
                #expect(!text.contains(secret), "\(text)")
                let body = try Self.json(response.body)
                let result = try JSONSerialization.data(withJSONObject: try #require(body["result"]))
                let decoded = try ProbeResult.makeDecoder().decode(ProbeResult.self, from: result)
                #expect(decoded.success && decoded.target == "api" && decoded.http?.redirects == 1)
                let attempt = try #require(((body["debug"] as? [String: Any])?["attempts"] as? [[String: Any]])?.first)
                let hops = try #require(attempt["hops"] as? [[String: Any]])
                #expect(hops.map { $0["status"] as? Int } == [302, 200])
                let sent = try #require(hops.first?["request_headers"] as? [[String: String]])
                #expect(sent.contains(["name": "Authorization", "value": "<redacted>"]))
                let verdicts = try #require(attempt["expectations"] as? [[String: Any]])
                #expect(verdicts.map { $0["check"] as? String } == ["status", "body_matches"])
            }
            try await client.execute(uri: "/api/v1/targets/tls/probe", method: .post) { response in
                #expect(response.status == .ok)
                let attempt = try #require(((try Self.json(response.body)["debug"] as? [String: Any])?["attempts"] as? [[String: Any]])?.first)
                let tls = try #require(attempt["tls"] as? [String: Any])
                #expect(tls["verify"] as? String == "ok")
                #expect(tls["ca_file"] as? String == Certs.ca)
            }
            try await client.execute(uri: "/api/v1/targets/nope/probe", method: .post) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("unknown_target"))
            }
            try await client.execute(uri: "/api/v1/targets/api/probe", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
            }
        }
        // Not the agent's result: nothing held for the database, stored, remembered or counted.
        #expect(agent.runtime.writer.pendingCount == 0)
        #expect(try await agent.store.targets().isEmpty)
        #expect(agent.runtime.latestResults.isEmpty)
        #expect(agent.runtime.targets.status("api")?.state ?? .unknown == .unknown)
    }

    @Test func oneProbeOfATargetAtATime() async throws {
        let agent = try Self.agent()
        try await agent.app.test(.router) { client in
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?).self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await client.execute(uri: "/api/v1/targets/slow/probe", method: .post) { ($0.status, $0.headers[.retryAfter]) }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.map(\.0).sorted { $0.code < $1.code } == [.ok, .tooManyRequests], "\(statuses)")
            #expect(statuses.first { $0.0 == .tooManyRequests }?.1 == "1")
            // The other targets are not held up by it, and the target is free again after.
            try await client.execute(uri: "/api/v1/targets/slow/probe", method: .post) { #expect($0.status == .ok) }
        }
    }

    @Test func aBoundedNumberAMinute() async throws {
        let agent = try Self.agent()
        try await agent.app.test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            var retryAfter: String?
            for _ in 0..<31 {
                try await client.execute(uri: "/api/v1/targets/fast/probe", method: .post) { response in
                    statuses.append(response.status)
                    if response.status == .tooManyRequests {
                        retryAfter = response.headers[.retryAfter]
                        #expect(String(buffer: response.body).contains("rate_limited"))
                    }
                }
            }
            #expect(statuses.prefix(30).allSatisfy { $0 == .ok })
            #expect(statuses.last == .tooManyRequests)
            let wait = try #require(retryAfter.flatMap { Int($0) })
            #expect((1...60).contains(wait))
            // Unknown targets still get their 404, not a 429.
            try await client.execute(uri: "/api/v1/targets/nope/probe", method: .post) { #expect($0.status == .notFound) }
        }
    }

    /// Behind the web config's authentication, like every route.
    @Test func needsCredentialsWhenConfigured() async throws {
        let token = UUID().uuidString
        let digest = Pipe()
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", #"printf %s "$1" | sha256sum | cut -d' ' -f1"#, "sh", token]
        shell.standardOutput = digest
        try shell.run()
        let hex = String(decoding: digest.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        shell.waitUntilExit()
        let web = try WebConfigLoader.parse(yaml: "bearer_auth_tokens:\n  ops: sha256:\(hex)\n", file: "web.yml", baseDirectory: "/")
        let agent = try Self.agent(security: try WebSecurity(web))
        try await agent.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/targets/fast/probe", method: .post) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/targets/fast/probe", method: .post, headers: [.authorization: "Bearer \(token)"]) {
                #expect($0.status == .ok)
            }
        }
    }
}
