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

/// `interval_while_failing` end to end (docs/probing.md#interval_while_failing): a real agent
/// probes a real local server that answers 2 requests, fails 5, then recovers
/// (Tests/Support/recordserver.py `?pattern=`). The stored results must be 500 ms apart while the
/// target fails and 2 s apart when it works, every start on its grid within the scheduling lag;
/// the API and `/metrics` show the interval in force. A target without the key keeps 2 s.
@Suite(.serialized)
struct IntervalWhileFailingLiveTests {
    let logger = Logger(label: "test")
    /// Scheduling lag allowed on a loaded 2-core machine (the lag histogram's p99 is far below).
    static let lag = 0.1

    struct Probe {
        let start: Double  // Unix seconds
        let success: Bool
    }

    static func probes(_ client: some TestClientProtocol, _ target: String) async throws -> [Probe] {
        try await client.execute(uri: "/api/v1/targets/\(target)/results?limit=100", method: .get) { response in
            let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            let results = try #require(body["results"] as? [[String: Any]])
            let format = ISO8601DateFormatter()
            format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return try results.reversed().map { result in
                let text = try #require(result["started_at"] as? String)
                let started = try #require(format.date(from: text))
                return Probe(start: started.timeIntervalSince1970, success: try #require(result["success"] as? Bool))
            }
        }
    }

    /// How far `time` is from the nearest point of the name's grid of `period` (the wall-clock
    /// phase `Schedule` gives it), in seconds.
    static func offGrid(_ time: Double, name: String, interval: Double, period: Double) -> Double {
        let offset = Double(FNV1a.hash(name) % UInt64(interval * 1e9)) / 1e9
        let into = (time - offset).truncatingRemainder(dividingBy: period)
        return min(into, period - into)
    }

    @Test func probesFastWhileFailingAndBackOnTheGridAfterRecovery() async throws {
        let server = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { server.stop() }
        let base = "http://127.0.0.1:\(server.port("http"))"
        let dir = Scratch.dir.appendingPathComponent("failing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml")
        // recent_probes 1 and recover_after 1: one success after the failures makes the state up.
        try """
            global: {interval: 2s, timeout: 400ms, location: test, state: {recent_probes: 1, recover_after: 1}}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
              - {name: flaky, url: "\(base)/flaky?status=503&pattern=ssfffff", interval_while_failing: 500ms}
              - {name: plain, url: "\(base)/plain?status=503&pattern=ssfffff"}
            """.write(to: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath.path)
        let runtime = AgentRuntime(config: config, source: .file(configPath.path), store: try ProbeStore(path: config.storage.path), logger: logger)
        runtime.start()
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0,
                                   services: agentServices(runtime: runtime, logger: logger), logger: logger)
        try await app.test(.live) { client in
            // What the API and /metrics said along the way: (last probe succeeded, effective_interval, gauge).
            var seen: Set<String> = []
            var probes: [Probe] = []
            let deadline = ContinuousClock.now + .seconds(25)
            while ContinuousClock.now < deadline {
                try await client.execute(uri: "/api/v1/targets/flaky", method: .get) { response in
                    let body = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
                    #expect(body["interval"] as? String == "2s")
                    #expect(body["interval_while_failing"] as? String == "500ms")
                    let last = (body["last"] as? [String: Any])?["success"] as? Bool
                    seen.insert("\(body["state"] ?? "") \(last.map(String.init) ?? "none") \(body["effective_interval"] ?? "")")
                }
                let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                #expect(!metrics.contains(#"phasewatch_target_interval_seconds{target="plain""#))
                for line in metrics.split(separator: "\n") where line.hasPrefix(#"phasewatch_target_interval_seconds{target="flaky""#) {
                    seen.insert("gauge \(line.split(separator: " ").last ?? "")")
                }
                probes = try await Self.probes(client, "flaky")
                if probes.count >= 10 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let plain = try await Self.probes(client, "plain")
            try #require(probes.count >= 10, "\(probes.count) probes stored")
            let flaky = Array(probes.prefix(10))
            #expect(flaky.map(\.success) == [true, true, false, false, false, false, false, true, true, true])

            let gaps = zip(flaky, flaky.dropFirst()).map { $1.start - $0.start }
            for (i, gap) in gaps.enumerated() {
                if !flaky[i].success {
                    // After a failure: the next fast slot, 500 ms on.
                    #expect(abs(gap - 0.5) < Self.lag, "gap \(i) after a failure: \(gap) s")
                } else if i == 1 {
                    // The first failure came on a normal slot, 2 s after the success before it.
                    #expect(abs(gap - 2) < Self.lag, "gap \(i): \(gap) s")
                } else if i > 0, !flaky[i - 1].success {
                    // The recovering probe: the next normal slot, at most 2 s on and not a fast step.
                    #expect(gap > 0.5 - Self.lag && gap < 2 + Self.lag, "gap \(i) after recovery: \(gap) s")
                } else if i > 0 {
                    #expect(abs(gap - 2) < Self.lag, "gap \(i) while up: \(gap) s")
                }
            }
            // Every start is on the fast grid, and every run of a target that was up before it on
            // the normal one: the switches neither drifted the grid nor delayed a run beyond the lag.
            var worst = 0.0
            for (i, probe) in flaky.enumerated() {
                let period = i > 0 && flaky[i - 1].success ? 2.0 : 0.5
                let off = Self.offGrid(probe.start, name: "flaky", interval: 2, period: period)
                worst = max(worst, off)
                #expect(off < Self.lag, "probe \(i) is \(off) s off its \(period) s grid")
            }
            // Each stored probe weighs the time since the run before it, in intervals
            // (slo.weighting: time): probes 2 … 10 together stand for the time from probe 1 to 10.
            let window = WindowQuery(
                from: Date(timeIntervalSince1970: flaky[1].start - 0.01), to: Date(timeIntervalSince1970: flaky[9].start + 0.01),
                sketches: false)
            let weighted = try await runtime.store.summaries(target: "flaky", windows: [window])[0]
            #expect(weighted.total == 9)
            #expect(abs(weighted.weighted.total - (flaky[9].start - flaky[0].start) / 2) < Self.lag, "\(weighted.weighted)")
            // The failures: the first stands for the 2 s before it, the 4 fast ones for 500 ms each.
            #expect(abs(weighted.weighted.total - weighted.weighted.success - (1 + 4 * 0.25)) < 1e-9, "\(weighted.weighted)")

            // Without the key the same failures change nothing: 2 s apart throughout.
            try #require(plain.count >= 5, "\(plain.count) probes stored")
            for (a, b) in zip(plain, plain.dropFirst()) {
                #expect(abs(b.start - a.start - 2) < Self.lag, "plain: \(b.start - a.start) s")
            }
            #expect(plain.prefix(5).map(\.success) == [true, true, false, false, false])

            // The API and the gauge followed the switches both ways.
            #expect(seen.contains { $0.hasSuffix(" false 500ms") }, "\(seen)")
            #expect(seen.contains("up true 2s"), "\(seen)")
            #expect(seen.contains("gauge 0.5"), "\(seen)")
            #expect(seen.contains("gauge 2.0") || seen.contains("gauge 2"), "\(seen)")
            print("interval_while_failing: worst start off its grid \(Int(worst * 1000)) ms")
        }
    }
}
