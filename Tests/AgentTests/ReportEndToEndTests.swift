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

/// Issue 16's whole story (docs/slo.md#reports): an agent probes a server that fails on a known
/// pattern — some probes fail once and pass on their retry, some fail twice — is stopped for
/// 30 s and started again on the same database. The report per minute then equals the server's
/// own log per minute (probes, good, good at the first attempt), the stopped time is
/// unobserved with coverage below 1, the downtime intervals are the server's failing periods
/// within one probe interval, CSV carries the JSON's numbers, and the total equals /api/v1/slo.
@Suite(.serialized)
struct ReportEndToEndTests {
    let logger = Logger(label: "test")

    /// What the server sees of one probe: its first request, and whether it was good at the
    /// first attempt, good after its retry, or bad.
    struct ServedProbe {
        let time: Double
        let good: Bool
        let goodFirst: Bool
    }

    /// Probe by probe: s = good at once, r = fails once then its retry passes, x = fails twice.
    static let probes = String(repeating: "s", count: 8) + "rrsrr" + String(repeating: "s", count: 5) + String(repeating: "x", count: 6)
        + String(repeating: "s", count: 30) + "rsr" + String(repeating: "s", count: 12) + String(repeating: "x", count: 4)
        + String(repeating: "s", count: 6) + "rr"
    /// The same as the server's request pattern (recordserver.py: "f" fails, "s" passes).
    static var requests: String {
        probes.map { $0 == "s" ? "s" : ($0 == "r" ? "fs" : "ff") }.joined()
    }

    /// A target name whose slot sits mid-second (its grid is `offset + k × 1s`): a probe's first
    /// request then never crosses into the next minute after the probe started.
    static func name() -> String {
        (0...).lazy.map { "svc\($0)" }.first { name in
            let offset = Double(FNV1a.hash(name) % 1_000_000_000) / 1e9
            return offset > 0.2 && offset < 0.8
        }!
    }

    @Test func theReportIsTheServersOwnLog() async throws {
        let server = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { server.stop() }
        let dir = Scratch.dir.appendingPathComponent("report-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let target = Self.name()
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        try """
            global: {interval: 1s, timeout: 900ms, location: test}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:
              - name: \(target)
                url: "http://127.0.0.1:\(server.port("http"))/svc?status=503&pattern=\(Self.requests)"
                retries: {attempts: 1, backoff: 10ms}
                state: {down_after: 1, recover_after: 1}
                slo: {window: 1h, availability: 90}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath)

        func run(for seconds: Int) async throws -> AgentRuntime {
            let runtime = AgentRuntime(config: config, source: .file(configPath), store: try ProbeStore(path: config.storage.path), logger: logger)
            runtime.start()
            let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: agentServices(runtime: runtime, logger: logger), logger: logger)
            try await app.test(.live) { _ in try await Task.sleep(for: .seconds(seconds)) }
            return runtime
        }
        _ = try await run(for: 45)
        try await Task.sleep(for: .seconds(30))
        let runtime = try await run(for: 45)

        // The server's log, grouped into probes: a failed request is followed by its retry.
        let recorded = try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(string: "http://127.0.0.1:\(server.port("http"))/recorded")!))
        let times = try #require(recorded as? [[String: Any]]).filter { ($0["path"] as? String)?.hasPrefix("/svc") == true }.map { $0["time"] as! Double }
        let letters = Array(Self.requests)
        var grouped: [ServedProbe] = []
        var i = 0
        while i < times.count {
            let first = i < letters.count ? letters[i] : "s"
            if first == "s" {
                grouped.append(ServedProbe(time: times[i], good: true, goodFirst: true))
                i += 1
            } else {
                let retry = i + 1 < letters.count ? letters[i + 1] : "s"
                grouped.append(ServedProbe(time: times[i], good: retry == "s", goodFirst: false))
                i += 2
            }
        }
        let served = grouped
        try #require(served.count > 70, "\(served.count) probes")
        try #require(served.contains { !$0.good } && served.contains { $0.good && !$0.goodFirst })

        let minute = 60.0
        let from = (served.first!.time / minute).rounded(.down) * minute
        let to = (served.last!.time / minute).rounded(.down) * minute + minute
        let query = "from=\(Timestamp.rfc3339(Date(timeIntervalSince1970: from)))&to=\(Timestamp.rfc3339(Date(timeIntervalSince1970: to)))&step=1m"
        try await runtime.slo.refresh()
        let router = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger)
        try await router.test(.router) { client in
            let report = try await client.execute(uri: "/api/v1/targets/\(target)/report?\(query)", method: .get) { response in
                #expect(response.status == .ok)
                return try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            }
            let periods = try #require(report["periods"] as? [[String: Any]])
            #expect(periods.count == Int((to - from) / minute))

            // Minute by minute, the report's counts are the server's.
            for (n, period) in periods.enumerated() {
                let start = from + Double(n) * minute
                let inMinute = served.filter { $0.time >= start && $0.time < start + minute }
                let counts = [period["probes"], period["good"], period["good_first_attempt"]].map { $0 as? Int }
                #expect(counts == [inMinute.count, inMinute.filter(\.good).count, inMinute.filter(\.goodFirst).count],
                        "minute \(n) (\(Timestamp.rfc3339(Date(timeIntervalSince1970: start))))")
            }

            // The stop: about 30 s unobserved over the minutes it spans, where coverage is below 1.
            let unobserved = periods.compactMap { $0["unobserved_seconds"] as? Double }.reduce(0, +)
            #expect(unobserved > 28 && unobserved < 34, "unobserved \(unobserved) s")
            #expect(periods.contains { ($0["coverage"] as? Double ?? 1) < 0.9 })
            let total = try #require(report["total"] as? [String: Any])
            #expect((total["coverage"] as? Double ?? 1) < 1)

            // Downtime: each run of bad probes, from its first to the next good one, within a
            // probe interval.
            var failing: [(from: Double, to: Double)] = []
            for (k, probe) in served.enumerated() where !probe.good && (k == 0 || served[k - 1].good) {
                guard let next = served[k...].first(where: \.good) else { continue }
                failing.append((probe.time, next.time))
            }
            let downtime = try #require(total["downtime"] as? [[String: String]]).map {
                (from: Timestamp.parse($0["from"]!)!.timeIntervalSince1970, to: Timestamp.parse($0["to"]!)!.timeIntervalSince1970)
            }
            #expect(downtime.count == failing.count, "\(downtime) vs \(failing)")
            for (got, want) in zip(downtime, failing) {
                #expect(abs(got.from - want.from) <= 1 && abs(got.to - want.to) <= 1, "\(got) vs \(want)")
            }

            // CSV: the same numbers, row by row.
            let csv = try await client.execute(uri: "/api/v1/targets/\(target)/report?\(query)", method: .get, headers: [.accept: "text/csv"]) {
                String(buffer: $0.body)
            }
            let lines = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            let header = try #require(lines.first)
            let columns = ["probes", "good", "good_first_attempt"].map { header.firstIndex(of: $0)! }
            #expect(lines.count == periods.count + 2, "header, the periods, the total")
            for (row, period) in zip(lines.dropFirst(), periods + [total]) {
                #expect(columns.map { Int(row[$0]) } == ["probes", "good", "good_first_attempt"].map { period[$0] as? Int })
            }

            // The total is what /api/v1/slo says of the SLO's 1-hour window, which holds every probe.
            let slo = try await client.execute(uri: "/api/v1/slo", method: .get) { response in
                try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            }
            let status = try #require((slo["slos"] as? [[String: Any]])?.first)
            let probes = try #require(status["probes"] as? [String: Int])
            #expect(probes["total"] == total["probes"] as? Int && probes["good"] == total["good"] as? Int)
            #expect(probes["good_first_attempt"] == total["good_first_attempt"] as? Int)
            let totalSLI = ((total["slo"] as? [String: Any])?["availability"] as? [String: Any])?["sli"] as? Double
            #expect(totalSLI == (status["sli"] as? [String: Double])?["1h"])
        }
    }
}
