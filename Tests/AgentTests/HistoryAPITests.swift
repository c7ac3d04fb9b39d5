import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// `/api/v1/targets/{name}/results` and `/latency` on the real router over a real SQLite file.
struct HistoryAPITests {
    /// 100 successful probes of "api", one every 10 s ending now, taking 1…100 ms; one failure.
    func makeApp() async throws -> (some ApplicationProtocol, [ProbeResult], now: Date) {
        let dir = Scratch.dir.appendingPathComponent("api-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let now = Date()
        var results: [ProbeResult] = []
        for i in 1...100 {
            let seconds = Double(i) / 1000
            results.append(ProbeResult(
                target: "api", url: "http://127.0.0.1/", startedAt: now.addingTimeInterval(-Double(1000 - i * 10)),
                success: true, phases: Phases(resolve: 0.0001, connect: 0.0002, tls: 0, processing: seconds - 0.0004, transfer: 0.0001),
                duration: seconds, http: HTTPFacts(status: 200, version: "1.1", redirects: 0, contentLength: 2, bodyBytes: 2),
                ip: IPFacts(address: "127.0.0.1", family: 4), traceId: String(format: "%032x", i)))
        }
        results.append(ProbeResult(
            target: "api", url: "http://127.0.0.1/", startedAt: now.addingTimeInterval(-5), success: false,
            failure: Failure(phase: .connect, reason: .connectRefused, message: "refused"),
            phases: Phases(resolve: 0.0001, connect: 0.0002), duration: 0.0003, traceId: String(format: "%032x", 999)))
        try await store.insert(results.map { StoredProbe(result: $0) })
        let config = AgentConfig(targets: [Target(name: "api", url: "http://127.0.0.1/")])
        let runtime = AgentRuntime(config: config, source: .text("", name: "test"), store: store, logger: Logger(label: "test"))
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: Logger(label: "test"))
        return (app, results, now)
    }

    struct Page: Decodable {
        let results: [ProbeResult]
        let next_cursor: String?
    }

    @Test func resultsArePagedNewestFirst() async throws {
        let (app, stored, now) = try await makeApp()
        try await app.test(.router) { client in
            var seen: [String] = []
            var cursor: String?
            repeat {
                let uri = "/api/v1/targets/api/results?limit=30" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok)
                    return try ProbeResult.makeDecoder().decode(Page.self, from: Data(buffer: response.body))
                }
                #expect(page.results.count <= 30)
                seen += page.results.map(\.traceId)
                cursor = page.next_cursor
            } while cursor != nil
            let newestFirst = stored.sorted { $0.startedAt > $1.startedAt }.map(\.traceId)
            #expect(seen == newestFirst)

            // A time range: the last 100 s hold 11 probes (every 10 s, both ends) and the failure.
            // `since` is counted from the instant the history was written, not from the clock
            // at query time: a second boundary in between would drop the oldest of the 11.
            let since = Int(now.timeIntervalSince1970) - 100
            let recent = try await client.execute(uri: "/api/v1/targets/api/results?since=\(since)", method: .get) {
                try ProbeResult.makeDecoder().decode(Page.self, from: Data(buffer: $0.body))
            }
            #expect(recent.results.count == 12)
            #expect(recent.results.map(\.success) == [true, false] + Array(repeating: true, count: 10))
            #expect(recent.results[1].failure?.reason == .connectRefused)
        }
    }

    @Test func latencyQuantilesFromTheSketches() async throws {
        let (app, _, _) = try await makeApp()
        try await app.test(.router) { client in
            let body = try await client.execute(uri: "/api/v1/targets/api/latency?window=1h", method: .get) { response in
                #expect(response.status == .ok)
                return try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
            }
            #expect(body?["probes"] as? Int == 101)
            #expect(body?["successful"] as? Int == 100)
            let total = body?["total"] as? [String: Any]
            // Nearest rank over 1…100 ms: p50 = 50 ms, p99 = 99 ms, within 1 %.
            let p50 = try #require(total?["p50"] as? Double)
            let p99 = try #require(total?["p99"] as? Double)
            #expect(abs(p50 - 0.050) <= 0.0005, "\(p50)")
            #expect(abs(p99 - 0.099) <= 0.00099, "\(p99)")
            let phases = body?["phases"] as? [String: Any]
            #expect(phases?["processing"] != nil)
        }
    }

    @Test(arguments: [
        ("/api/v1/targets/nope/results", 404, "unknown_target"),
        ("/api/v1/targets/nope/latency", 404, "unknown_target"),
        ("/api/v1/targets/api/results?limit=0", 400, "limit"),
        ("/api/v1/targets/api/results?limit=5000", 400, "limit"),
        ("/api/v1/targets/api/results?since=yesterday", 400, "since"),
        ("/api/v1/targets/api/results?cursor=garbage", 400, "cursor"),
        ("/api/v1/targets/api/latency?window=1x", 400, "window"),
        ("/api/v1/targets/api/latency?window=500d", 400, "window"),
        // Found by APIFuzzTests (schemathesis); each of these trapped and took the agent down:
        // times the store cannot turn into 64-bit microseconds, and duration units adding up
        // past Int64 milliseconds.
        ("/api/v1/targets/api/results?since=1e300", 400, "since"),
        ("/api/v1/targets/api/results?until=-1e300", 400, "until"),
        ("/api/v1/targets/api/results?since=1e18", 400, "since"),
        ("/api/v1/targets/api/results?until=9999999999999", 400, "until"),
        ("/api/v1/targets/api/latency?window=292000000y292000000w", 400, "window"),
        // Paths the API does not have: JSON too, not the router's empty 404.
        ("/api/v1/nope", 404, "not_found"),
        ("/api/v2/targets", 404, "not_found"),
        ("/api/v1/targets/api/results/extra", 404, "not_found"),
    ])
    func badRequestsGetJSONErrors(uri: String, status: Int, mention: String) async throws {
        let (app, _, _) = try await makeApp()
        try await app.test(.router) { client in
            try await client.execute(uri: uri, method: .get) { response in
                #expect(response.status.code == status, "\(uri)")
                #expect(response.headers[.contentType] == "application/json")
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: [String: String]]
                let error = try #require(body?["error"])
                #expect(error["code"] != nil)
                #expect((error["message"] ?? "").contains(mention) || error["code"] == mention, "\(error)")
            }
        }
    }
}
