import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PhaseWatchCore
import TestSupport
import Testing

/// Many agents, one view (docs/scaling.md), on loopback: four real agents — location `a` in two
/// shards reading one config, location `b`, and location `c`, an agent nobody scrapes — push
/// with remote_write to a real Prometheus started with `--web.enable-remote-write-receiver`
/// and no scrape config, which evaluates the rules `phasewatch rules` printed for the fleet.
@Suite(.serialized)
struct FleetTests {
    struct Recorded: Decodable {
        let path: String
    }

    static let targets = ["t1", "t2", "t3", "t4", "t5", "t6"]

    /// A location's config. `flaky` fails in `a` only; `c` probes it a third as often, so the
    /// fleet's error ratio (summed counters) and the mean of the locations' ratios differ.
    static func config(location: String, dir: URL, record: Int, receiver: Int, targetFiles: Bool) -> String {
        let interval = location == "c" ? "3s" : "1s"
        let flaky = location == "a" ? "/a/flaky?status=500" : "/\(location)/flaky"
        return """
            global: {interval: 1s, timeout: 800ms, location: \(location)}
            \(targetFiles ? "target_files: [\"targets.d/*.yml\"]" : "")
            remote_write:
              - url: http://127.0.0.1:\(receiver)/api/v1/write
                send_interval: 1s
                timeout: 2s
            targets:
            \(targets.map { "  - {name: \($0), url: \"http://127.0.0.1:\(record)/\(location)/\($0)\"}" }.joined(separator: "\n"))
              - name: flaky
                url: "http://127.0.0.1:\(record)\(flaky)"
                interval: \(interval)
                slo: {window: 1h, availability: 90}
            """
    }

    struct Agent {
        let name: String
        let base: String
        let process: ExternalCommand.Running
    }

    @Test func fourAgentsPushOneFleetView() async throws {
        try requireTool(.prometheus)
        let record = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { record.stop() }
        let recordPort = record.port("http")
        let dir = Scratch.dir.appendingPathComponent("fleet-\(UUID().uuidString)")
        for sub in ["a/targets.d", "b", "c", "prometheus"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let receiverPort = TestServer.closedPort()
        for location in ["a", "b", "c"] {
            try Self.config(location: location, dir: dir, record: recordPort, receiver: receiverPort, targetFiles: location == "a")
                .write(to: dir.appendingPathComponent("\(location)/phasewatch.yml"), atomically: true, encoding: .utf8)
        }

        // The rules of every SLO, per location and for the fleet, from the config of `a`.
        let rulesFile = dir.appendingPathComponent("prometheus/rules.yml")
        let rulesStatus = try await ExternalCommand.run(
            ["rules", "--config.file=\(dir.appendingPathComponent("a/phasewatch.yml").path)", "--output=\(rulesFile.path)"],
            executable: PhaseWatchBinary.path, directory: dir, output: dir.appendingPathComponent("rules.log"), timeout: .seconds(30))
        #expect(rulesStatus == 0)
        let receiverConfig = """
            global: {evaluation_interval: 1s}
            rule_files: [\(rulesFile.path)]
            """
        let receiverDir = dir.appendingPathComponent("prometheus")
        var receiver = try await PrometheusServer(
            config: receiverConfig, dir: receiverDir, flags: ["--web.enable-remote-write-receiver"], port: receiverPort)
        defer { receiver.stop() }

        // The agents: a's two shards share one config file (each its own database).
        var agents: [Agent] = []
        defer { for agent in agents { agent.process.terminate() } }
        for (name, location, shard) in [("a1", "a", "1/2"), ("a2", "a", "2/2"), ("b", "b", nil), ("c", "c", nil)] {
            let port = TestServer.closedPort()
            var arguments = [
                "run", "--config.file=\(dir.appendingPathComponent("\(location)/phasewatch.yml").path)",
                "--web.listen-address=127.0.0.1:\(port)", "--storage.path=\(dir.appendingPathComponent("\(name).db").path)",
                "--target-files.poll-interval=1s",
            ]
            if let shard { arguments.append("--shard=\(shard)") }
            let process = try ExternalCommand.start(
                arguments, executable: PhaseWatchBinary.path, directory: dir, output: dir.appendingPathComponent("\(name).log"))
            agents.append(Agent(name: name, base: "http://127.0.0.1:\(port)", process: process))
        }
        for agent in agents { try await SecretsTests.waitReady(agent.base) }
        let all = Self.targets + ["flaky"]

        // Every target's series arrive from exactly one shard per location.
        try await Self.eventually("every target of every location arrives", timeout: .seconds(30)) {
            let pairs = try await receiver.query("count by (location, target) (probe_success)")
            return pairs.count == 3 * all.count
        }
        let perPair = try await receiver.query("count by (location, target) (probe_success)")
        #expect(perPair.allSatisfy { $0.value == 1 }, "a target with more than one series in a location: \(perPair)")
        let aByInstance = try await receiver.query(#"count by (instance) (probe_success{location="a"})"#)
        #expect(aByInstance.count == 2 && aByInstance.reduce(0) { $0 + $1.value } == Double(all.count),
                "a's two shards split its \(all.count) targets: \(aByInstance)")
        let shards = try await receiver.query(#"phasewatch_shard_info{location="a"}"#)
        #expect(Set(shards.compactMap { $0.labels["index"] }) == ["1", "2"] && shards.allSatisfy { $0.labels["total"] == "2" })
        #expect(try await receiver.query("count(phasewatch_build_info)").first?.value == 4, "every agent's own series, once each")

        // A target file added while the agents run: one shard of `a` takes its target.
        let file = dir.appendingPathComponent("a/targets.d/late.yml")
        try "- {name: late, url: \"http://127.0.0.1:\(recordPort)/a/late\"}\n".write(to: file, atomically: true, encoding: .utf8)
        try await Self.eventually("the file's target arrives from one shard of a", timeout: .seconds(20)) {
            try await receiver.query(#"probe_success{location="a",target="late"}"#).count == 1
        }
        // Changed: the new url is probed.
        try "- {name: late, url: \"http://127.0.0.1:\(recordPort)/a/late-changed\"}\n".write(to: file, atomically: true, encoding: .utf8)
        try await Self.eventually("the changed url is probed", timeout: .seconds(20)) {
            try await Self.recorded(recordPort).contains { $0.path == "/a/late-changed" }
        }
        // Broken: rejected on both shards, and the target keeps running with what the file said before.
        try "- {name: late, url: [\n".write(to: file, atomically: true, encoding: .utf8)
        try await Self.eventually("both shards reject the broken file", timeout: .seconds(20)) {
            let flags = try await receiver.query(#"phasewatch_target_file_last_reload_successful{location="a"}"#)
            return flags.count == 2 && flags.allSatisfy { $0.value == 0 }
        }
        let before = try await Self.recorded(recordPort).filter { $0.path == "/a/late-changed" }.count
        try await Task.sleep(for: .seconds(3))
        let after = try await Self.recorded(recordPort).filter { $0.path == "/a/late-changed" }.count
        #expect(after > before, "the broken file's target stopped: \(before) → \(after) probes")

        // The receiver away for 30 s: the agents queue, retry, and deliver those 30 s afterwards.
        receiver.stop()
        let outageStart = Date()
        try await Task.sleep(for: .seconds(30))
        let outageEnd = Date()
        receiver = try await PrometheusServer(
            config: receiverConfig, dir: receiverDir, flags: ["--web.enable-remote-write-receiver"], port: receiverPort)
        try await Self.eventually("every queue drained", timeout: .seconds(60)) {
            var pending = 0.0
            for agent in agents { pending += try await Self.metric(agent.base, "phasewatch_remote_write_pending_samples") }
            return pending == 0
        }
        try await Task.sleep(for: .seconds(2))
        let window = Int(Date().timeIntervalSince(outageStart).rounded(.up))
        let sinceEnd = Int(Date().timeIntervalSince(outageEnd).rounded(.down))
        // Samples of t1 in `b` (one a second) stamped inside the outage: all but the edges.
        let during = try await receiver.query(
            #"count_over_time(probe_success{location="b",target="t1"}[\#(window - sinceEnd)s] offset \#(sinceEnd)s)"#)
        #expect((during.first?.value ?? 0) >= 27, "samples of the outage's 30 s that reached the receiver: \(during)")
        for agent in agents {
            let failed = try await Self.metric(agent.base, #"phasewatch_remote_write_samples_total{"#, containing: #"result="failed""#)
            let dropped = try await Self.metric(agent.base, #"phasewatch_remote_write_samples_total{"#, containing: #"result="dropped""#)
            #expect(failed > 0, "\(agent.name) counted its failed attempts")
            #expect(dropped == 0, "\(agent.name) dropped \(dropped) samples")
        }

        // The fleet SLI of the generated rules equals good/total of the probes the server saw.
        let probes = try await Self.recorded(recordPort).filter { $0.path.contains("/flaky") }
        let failed = probes.filter { $0.path.hasPrefix("/a/") }.count
        let expected = Double(failed) / Double(probes.count)
        try await Self.eventually("the fleet rules are evaluated", timeout: .seconds(20)) {
            try await !receiver.query(#"fleet_slo:sli_error:ratio_rate5m{target="flaky"}"#).isEmpty
        }
        let fleet = try #require(try await receiver.query(#"fleet_slo:sli_error:ratio_rate5m{target="flaky"}"#).first)
        #expect(fleet.labels["aggregation"] == "fleet")
        #expect(abs(fleet.value - expected) < 0.03, "fleet error ratio \(fleet.value), the server logged \(failed) of \(probes.count)")
        // Summed counters, not the mean of the locations' ratios (1, 0, 0).
        #expect(abs(fleet.value - 1.0 / 3) > 0.06, "\(fleet.value) is the mean of the locations' ratios")
        let perLocation = try await receiver.query(#"slo:sli_error:ratio_rate5m{target="flaky"}"#)
        #expect(Set(perLocation.compactMap { $0.labels["location"] }) == ["a", "b", "c"])

        for agent in agents { agent.process.terminate() }
        for agent in agents { #expect(await agent.process.wait() == 0, "\(agent.name) did not stop cleanly") }
        agents = []
    }

    /// `send_native_histograms`: the per-target histograms arrive as native histograms (and
    /// the classic buckets as before) at a Prometheus that takes them.
    @Test func nativeHistogramsArriveAsNativeHistograms() async throws {
        try requireTool(.prometheus)
        let dir = Scratch.dir.appendingPathComponent("native-push-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("prometheus"), withIntermediateDirectories: true)
        let receiver = try await PrometheusServer(
            config: "global: {}\n", dir: dir.appendingPathComponent("prometheus"), features: ["native-histograms"],
            flags: ["--web.enable-remote-write-receiver"])
        defer { receiver.stop() }
        let config = dir.appendingPathComponent("phasewatch.yml")
        try """
            global: {interval: 1s, timeout: 800ms, location: native}
            remote_write:
              - {url: "http://127.0.0.1:\(receiver.port)/api/v1/write", send_interval: 1s, send_native_histograms: true}
            targets:
              - {name: web, url: "\(TestServer.http("/"))"}
            """.write(to: config, atomically: true, encoding: .utf8)
        let port = TestServer.closedPort()
        let agent = try ExternalCommand.start(
            ["run", "--config.file=\(config.path)", "--web.listen-address=127.0.0.1:\(port)",
             "--storage.path=\(dir.appendingPathComponent("pw.db").path)"],
            executable: PhaseWatchBinary.path, directory: dir, output: dir.appendingPathComponent("agent.log"))
        defer { agent.terminate() }
        try await Self.eventually("native histograms with a few probes arrive", timeout: .seconds(30)) {
            let count = try await receiver.query(#"histogram_count(phasewatch_probe_duration_seconds{target="web"})"#)
            return (count.first?.value ?? 0) >= 3
        }
        let phases = try await receiver.query(#"histogram_count(phasewatch_probe_phase_duration_seconds{target="web"})"#)
        #expect(Set(phases.compactMap { $0.labels["phase"] }) == Set(Phase.network.map(\.rawValue)), "\(phases)")
        let p50 = try await receiver.query(#"histogram_quantile(0.5, phasewatch_probe_duration_seconds{target="web"})"#)
        #expect((p50.first?.value ?? .nan) > 0 && (p50.first?.value ?? .nan) < 1, "\(p50)")
        let classic = try await receiver.query(#"phasewatch_probe_duration_seconds_count{target="web"}"#)
        #expect((classic.first?.value ?? 0) >= 3, "the classic series are still sent")
    }

    static func recorded(_ port: Int) async throws -> [Recorded] {
        try JSONDecoder().decode([Recorded].self, from: Data(try await ExternalCommand.httpBody("http://127.0.0.1:\(port)/recorded").utf8))
    }

    /// The sum of an agent's samples whose line starts with `prefix` (and contains `containing`).
    static func metric(_ base: String, _ prefix: String, containing: String = "") async throws -> Double {
        let text = try await ExternalCommand.httpBody("\(base)/metrics")
        return text.split(separator: "\n").filter { $0.hasPrefix(prefix) && (containing.isEmpty || $0.contains(containing)) }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    static func eventually(_ what: String, timeout: Duration, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        Issue.record("timed out: \(what)")
    }
}
