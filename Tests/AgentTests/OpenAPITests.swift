import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// `/api/v1/openapi.json` is valid OpenAPI 3.1 and describes what the live server answers:
/// every documented path is requested, and every response body must match its schema.
struct OpenAPITests {
    let logger = Logger(label: "test")

    @Test(.requires(.openAPIValidators)) func liveResponsesMatchTheDocument() async throws {
        let dir = Scratch.dir.appendingPathComponent("openapi-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let now = Date()
        var results: [ProbeResult] = []
        for i in 0..<30 {
            let fails = i % 7 == 3
            results.append(ProbeResult(
                target: "api", url: "https://127.0.0.1/health", startedAt: now.addingTimeInterval(Double(i - 30) * 10),
                success: !fails,
                failure: fails ? Failure(phase: .tls, reason: .certExpired, message: "certificate expired 2026-11-01") : nil,
                phases: fails ? Phases(resolve: 0.001, connect: 0.002) : Phases(resolve: 0.001, connect: 0.002, tls: 0.01, processing: 0.02 + Double(i) / 1000, transfer: 0.001),
                duration: fails ? 0.003 : 0.034 + Double(i) / 1000,
                http: fails ? nil : HTTPFacts(status: 200, version: "2", redirects: 0, contentLength: 2, bodyBytes: 2),
                tls: TLSFacts(version: "TLS 1.3", cipher: "TLS_AES_128_GCM_SHA256", alpn: "h2", certNotAfter: now.addingTimeInterval(86_400 * 30),
                              chainExpiry: now.addingTimeInterval(86_400 * 30), subject: "CN=api", issuer: "CN=ca", sans: ["api"]),
                ip: IPFacts(address: "127.0.0.1", family: 4), traceId: String(format: "%032x", i + 1)))
        }
        // An `ip_policy: all` target's runs: its own result and one per address (docs/probing.md#addresses).
        for i in 0..<5 {
            let start = now.addingTimeInterval(Double(i - 5) * 10)
            var good = ProbeResult(
                target: "lb", url: "http://lb.example/", startedAt: start, success: true,
                phases: Phases(resolve: 0.001, connect: 0.002, tls: 0, processing: 0.01, transfer: 0.001), duration: 0.014,
                http: HTTPFacts(status: 200, version: "1.1", redirects: 0, contentLength: 2, bodyBytes: 2),
                ip: IPFacts(address: "10.0.0.1", family: 4), traceId: String(format: "%032x", 100 + 2 * i))
            var refused = ProbeResult(
                target: "lb", url: "http://lb.example/", startedAt: start, success: false,
                failure: Failure(phase: .connect, reason: .connectRefused, message: "Couldn't connect to server"),
                phases: Phases(resolve: 0.001, connect: 0.001), duration: 0.002, traceId: String(format: "%032x", 101 + 2 * i))
            results.append(good)
            good.address = "10.0.0.1"
            refused.address = "10.0.0.2"
            results += [good, refused]
        }
        try await store.insert(results.map { StoredProbe(result: $0, latencyThreshold: .milliseconds(50)) })
        var lb = Target(name: "lb", url: "http://lb.example/")
        lb.ipPolicy = .all
        lb.addressSuccess = .any
        var api = Target(name: "api", url: "https://user:secret@127.0.0.1/health")
        api.slo = SLOConfig(availability: 0.99, latency: LatencySLO(threshold: .milliseconds(50), objective: 0.9))
        // A probe on demand of this one fills every part of its debug detail: hops, TLS, verdicts.
        var live = TestServer.httpsTarget("https", "/redirect/1?body=ok", name: "live")
        live.headers = [Header(name: "Authorization", value: "Bearer x")]
        live.expect = Expectations(bodyMatches: "^ok", headers: [Header(name: "Content-Type", value: "text")], certMinDays: 1)
        let config = AgentConfig(targets: [api, Target(name: "web", url: "http://127.0.0.1/"), live, lb])
        let runtime = AgentRuntime(
            config: config, source: .text("targets: [{name: api, url: \"http://127.0.0.1/\"}]", name: "test.yml"), store: store,
            logger: logger)
        await runtime.restoreStates()
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let requests = [
                "GET:/api/v1/targets:200", "GET:/api/v1/targets/api:200", "GET:/api/v1/targets/web:200",
                "GET:/api/v1/targets/nope:404", "GET:/api/v1/targets/api/results?limit=2:200",
                "GET:/api/v1/targets/api/results?limit=0:400", "GET:/api/v1/targets/nope/results:404",
                "GET:/api/v1/targets/api/latency?window=1h:200", "GET:/api/v1/targets/api/latency?window=soon:400",
                "GET:/api/v1/targets/nope/latency:404", "GET:/api/v1/targets/api/report?from=2020-01-01&to=2030-01-01&step=1M:200",
                "GET:/api/v1/targets/api/report?from=soon&to=2030-01-01:400", "GET:/api/v1/targets/nope/report?from=2020-01-01&to=2030-01-01:404",
                "GET:/api/v1/targets/lb:200", "GET:/api/v1/targets/lb/results?ip=10.0.0.2:200",
                "GET:/api/v1/targets/lb/results?ip=lb.example:400", "GET:/api/v1/targets/lb/latency?ip=10.0.0.1:200",
                "GET:/api/v1/slo:200", "GET:/api/v1/openapi.json:200",
                "GET:/metrics:200", "GET:/:200", "GET:/-/healthy:200", "GET:/-/ready:200",
                // Before the reload, which replaces the targets with the source's one.
                "POST:/api/v1/targets/web/probe:200", "POST:/api/v1/targets/live/probe:200", "POST:/api/v1/targets/nope/probe:404", "POST:/-/reload:200",
            ]
            let output = Pipe()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", Repo.support.appendingPathComponent("check_openapi.py").path, "http://127.0.0.1:\(port)"]
                + requests
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            print(text)
            #expect(process.terminationStatus == 0, "\(text)")
            #expect(text.contains("is valid OpenAPI 3.1.0"))
        }
    }
}
