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

/// Coverage end to end (docs/slo.md#coverage): an agent probes for a while, is stopped, and
/// another starts on the same database; the time between shows as unobserved, the missing
/// probes lower the coverage, and an SLO that asks for more says its data is insufficient.
@Suite(.serialized)
struct CoverageLiveTests {
    let logger = Logger(label: "test")

    struct SLOList: Decodable {
        struct Status: Decodable {
            struct Probes: Decodable { let total: Int }
            let target: String
            let coverage: Double?
            let unobserved_seconds: Double
            let min_coverage: Double
            let data: String
            let probes: Probes
        }
        let slos: [Status]
    }

    @Test func aStoppedAgentLeavesUnobservedTimeAndLowCoverage() async throws {
        let dir = Scratch.dir.appendingPathComponent("coverage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 900ms, location: test}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
              - name: strict
                url: \(TestServer.http("/"))
                slo: {window: 1h, availability: 99}
              - name: lenient
                url: \(TestServer.http("/"))
                slo: {window: 1h, availability: 99, min_coverage: 0.5}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath)
        let clock = ContinuousClock()

        // The first agent probes for 6 s and stops cleanly. What the agents record lies between
        // the instants kept here: an agent stops after its closure ends and starts before the next
        // one begins (both take longer on a loaded machine).
        let lastProbing: ContinuousClock.Instant
        do {
            let runtime = AgentRuntime(config: config, source: .file(configPath), store: try ProbeStore(path: config.storage.path), logger: logger)
            runtime.start()
            let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: agentServices(runtime: runtime, logger: logger), logger: logger)
            lastProbing = try await app.test(.live) { _ in
                try await Task.sleep(for: .seconds(6))
                return clock.now
            }
        }
        let stopped = clock.now
        try await Task.sleep(for: .seconds(5))
        let gap = (clock.now - stopped).seconds

        // A second agent on the same database, 6 s more.
        let runtime = AgentRuntime(config: config, source: .file(configPath), store: try ProbeStore(path: config.storage.path), logger: logger)
        runtime.start()
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: agentServices(runtime: runtime, logger: logger), logger: logger)
        let (probingAgain, secondDone) = try await app.test(.live) { _ in
            let start = clock.now
            try await Task.sleep(for: .seconds(6))
            return (start, clock.now)
        }

        try await runtime.slo.refresh()
        let refreshed = clock.now
        let longest = (probingAgain - lastProbing).seconds + (refreshed - secondDone).seconds
        let router = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger)
        try await router.test(.router) { client in
            let list = try await client.execute(uri: "/api/v1/slo", method: .get) { response in
                try JSONDecoder().decode(SLOList.self, from: Data(buffer: response.body))
            }
            let strict = try #require(list.slos.first { $0.target == "strict" })
            let lenient = try #require(list.slos.first { $0.target == "lenient" })
            for slo in [strict, lenient] {
                // The gap, plus the moments between the second agent's stop and this refresh.
                #expect(slo.unobserved_seconds >= gap - 0.5 && slo.unobserved_seconds <= longest + 0.5,
                        "\(slo.target): \(slo.unobserved_seconds) s for a \(gap) s gap (at most \(longest) s)")
                // About 12 s probed of about 17 s configured, one probe a second.
                let coverage = try #require(slo.coverage)
                #expect(coverage > 0.5 && coverage < 0.85, "\(slo.target): coverage \(coverage), \(slo.probes.total) probes")
            }
            #expect(strict.min_coverage == 0.9 && strict.data == "insufficient")
            #expect(lenient.min_coverage == 0.5 && lenient.data == "ok")

            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            let line = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("phasewatch_slo_coverage_ratio{target=\"strict\"") })
            #expect(Double(line.split(separator: " ").last ?? "") == strict.coverage, "\(line)")
            let page = try await client.execute(uri: "/", method: .get) { String(buffer: $0.body) }
            #expect(page.contains("Insufficient data: below the 90"), "the status page says why the strict SLO is grey")
        }
    }
}
