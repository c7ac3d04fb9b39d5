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

/// First attempt and final end to end (docs/slo.md#first-attempt-and-final): a real agent with
/// `retries: {attempts: 1}` probes a local server whose every other probe fails its first request
/// with a 503 and gets a 204 at the retry (Tests/Support/recordserver.py `?pattern=fss…`). Every
/// probe ends good, so the final SLI is 1, while half of them were not good at the first attempt;
/// the API shows both, `/metrics`' attempt counters agree with the stored results and with the
/// requests the server saw, and `availability_basis: first_attempt` moves the budget.
@Suite(.serialized)
struct FirstAttemptLiveTests {
    let logger = Logger(label: "test")

    /// (probes, good at the first attempt, sum of attempts) of a target's stored results.
    static func stored(_ client: some TestClientProtocol, _ target: String) async throws -> (probes: Int, firstGood: Int, attempts: Int) {
        try await client.execute(uri: "/api/v1/targets/\(target)/results?limit=1000", method: .get) { response in
            let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            let results = try #require(body["results"] as? [[String: Any]])
            var out = (probes: 0, firstGood: 0, attempts: 0)
            for result in results {
                let attempts = try #require(result["attempts"] as? Int)
                #expect(result["success"] as? Bool == true, "every probe ends good")
                out.probes += 1
                out.attempts += attempts
                if attempts == 1 { out.firstGood += 1 }
            }
            return out
        }
    }

    static func sample(_ metrics: String, _ prefix: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    @Test func retriesHideFailuresFromTheFinalSLIOnly() async throws {
        let server = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port("http"))"
        let pattern = String(repeating: "fss", count: 100)
        let dir = Scratch.dir.appendingPathComponent("first-attempt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 400ms, location: test}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            metrics: {budget_detail: true}
            targets:
              - name: final
                url: "\(base)/final?status=503&pattern=\(pattern)"
                retries: {attempts: 1, backoff: 10ms}
                slo: {window: 1h, availability: 90}
              - name: first
                url: "\(base)/first?status=503&pattern=\(pattern)"
                retries: {attempts: 1, backoff: 10ms}
                slo: {window: 1h, availability: 90, availability_basis: first_attempt}
              - name: plain
                url: "\(base)/plain"
                slo: {window: 1h, availability: 90}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath)
        let runtime = AgentRuntime(config: config, source: .file(configPath), store: try ProbeStore(path: config.storage.path), logger: logger)
        runtime.start()
        // Probe with every service running, then stop: the scheduler drains, the writer flushes.
        let live = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0,
                                    services: agentServices(runtime: runtime, logger: logger), logger: logger)
        try await live.test(.live) { _ in try await Task.sleep(for: .seconds(8)) }

        let recorded = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(string: "\(base)/recorded")!)) as? [[String: Any]]
        let paths = try #require(recorded).compactMap { ($0["path"] as? String)?.split(separator: "?").first.map(String.init) }
        try await runtime.slo.refresh()
        let router = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger)
        try await router.test(.router) { client in
            let list = try await client.execute(uri: "/api/v1/slo", method: .get) { response in
                #expect(response.status == .ok)
                return try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            }
            let slos = try #require(list["slos"] as? [[String: Any]])
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            for name in ["final", "first"] {
                let seen = try await Self.stored(client, "\(name)")
                try #require(seen.probes >= 6, "\(name): \(seen.probes) probes")
                // The pattern alternates: a probe that fails first and is retried, one that works at once.
                #expect(seen.firstGood == seen.probes / 2, "\(name): \(seen)")
                // Every attempt reached the server: the retries really happened.
                #expect(paths.filter { $0 == "/\(name)" }.count == seen.attempts, "\(name)")

                let slo = try #require(slos.first { $0["target"] as? String == name })
                let firstRatio = Double(seen.firstGood) / Double(seen.probes)
                let sli = try #require(slo["sli"] as? [String: Double])
                let sliFirst = try #require(slo["sli_first_attempt"] as? [String: Double])
                let probes = try #require(slo["probes"] as? [String: Int])
                #expect(sli["5m"] == 1 && sli["1h"] == 1, "\(name): \(sli)")
                #expect(sliFirst["5m"] == firstRatio && sliFirst["1h"] == firstRatio, "\(name): \(sliFirst)")
                #expect(probes == ["total": seen.probes, "good": seen.probes, "bad": 0, "good_first_attempt": seen.firstGood])
                #expect(slo["basis"] as? String == (name == "final" ? "final" : "first_attempt"))

                // The counters: first_success + retry_success + failure = the probes.
                let labels = #"{target="\#(name)",location="test",result="#
                let firstSuccess = Self.sample(metrics, "phasewatch_probe_attempts_total\(labels)\"first_success\"}")
                let retrySuccess = Self.sample(metrics, "phasewatch_probe_attempts_total\(labels)\"retry_success\"}")
                let failure = Self.sample(metrics, "phasewatch_probe_attempts_total\(labels)\"failure\"}")
                #expect(firstSuccess == Double(seen.firstGood), "\(name)")
                #expect(retrySuccess == Double(seen.probes - seen.firstGood), "\(name)")
                #expect(failure == 0, "\(name)")
                #expect(Self.sample(metrics, "phasewatch_probes_total\(labels)\"success\"}") == Double(seen.probes))

                // The budget follows the basis; budget_by_phase puts the retried probes apart.
                let budget = try #require(slo["error_budget"] as? [String: Double])
                let byPhase = try #require(slo["budget_by_phase"] as? [String: Double])
                let burn = try #require(slo["burn_rate"] as? [String: Double])
                let remaining = Self.sample(metrics, #"phasewatch_slo_error_budget_remaining_ratio{target="\#(name)",location="test",slo="availability"}"#)
                if name == "final" {
                    #expect(budget["consumed"] == 0 && byPhase.isEmpty && burn["5m"] == 0)
                    #expect(remaining == 1)
                } else {
                    let consumed = (1 - firstRatio) / 0.1
                    #expect(abs(try #require(budget["consumed"]) - consumed) < 1e-9, "\(budget)")
                    #expect(abs(try #require(byPhase["retried"]) - consumed) < 1e-9 && byPhase.count == 1, "\(byPhase)")
                    #expect(abs(try #require(burn["5m"]) - consumed) < 1e-9, "\(burn)")
                    #expect(abs(try #require(remaining) - (1 - consumed)) < 1e-9)
                    // Half the probes bad against a 10 % budget: burn rate 5 over both page windows' short ones, under 14.4.
                    #expect(metrics.contains(#"phasewatch_slo_budget_by_phase_ratio{target="first",location="test",slo="availability",phase="retried"}"#))
                }
            }
            // Without retries the family does not exist (docs/metrics.md#cardinality), and both SLIs agree.
            #expect(!metrics.contains(#"phasewatch_probe_attempts_total{target="plain""#))
            let plain = try #require(slos.first { $0["target"] as? String == "plain" })
            #expect(plain["sli"] as? [String: Double] == plain["sli_first_attempt"] as? [String: Double])
        }
    }
}
