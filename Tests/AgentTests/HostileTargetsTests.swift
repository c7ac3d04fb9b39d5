import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PhaseWatchCore
import TestSupport
import Testing

/// Every hostile server at once, against one real `phasewatch run` process, next to healthy
/// targets probed every second: each hostile target fails in the documented phase with the
/// documented reason within its limits, the healthy ones keep their rhythm, and the agent's
/// memory stays flat. (docs/probing.md, "Hostile targets".) Everything is on 127.0.0.1; the DNS
/// case uses a name with an empty label, which the resolver refuses without sending a query.
@Suite(.serialized)
struct HostileTargetsTests {
    /// One hostile target and what every one of its probes must show.
    struct Case {
        let name: String
        let url: String
        /// Flow-mapping YAML of the target's `timeouts`.
        let timeouts: String
        var tls: String? = nil
        let phase: Phase
        let reason: FailureReason
        /// Bounds of every probe's duration, seconds.
        let duration: ClosedRange<Double>
    }

    static let runSeconds = 25
    static let hostileInterval = 5.0

    /// A timeout's duration range: it ends at the limit, and not much later.
    static func at(_ limit: Double) -> ClosedRange<Double> { (limit - 0.001)...(limit + 0.5) }
    /// A failure that needs no timer: well under any limit.
    static let fast: ClosedRange<Double> = 0...1.0

    static func cases(hostile s: ServerProcess) -> [Case] {
        let http = "http://127.0.0.1:\(s.port("http"))"
        let trustTestCA = "{ca_file: \"\(Certs.ca)\"}"
        func https(_ listener: String) -> String { "https://127.0.0.1:\(s.port(listener))/" }
        return [
            Case(name: "slowloris", url: "\(http)/trickle", timeouts: "{first_byte: 1s, total: 2s}",
                 phase: .transfer, reason: .transferTimeout, duration: at(2)),
            Case(name: "endless-body", url: "\(http)/endless", timeouts: "{total: 2s}",
                 phase: .transfer, reason: .bodyTooLarge, duration: fast),
            Case(name: "gigabyte-body", url: "\(http)/big?size=\(1 << 30)", timeouts: "{total: 2s}",
                 phase: .transfer, reason: .bodyTooLarge, duration: fast),
            Case(name: "endless-slow-body", url: "\(http)/drip", timeouts: "{total: 2s}",
                 phase: .transfer, reason: .transferTimeout, duration: at(2)),
            Case(name: "invalid-http", url: "\(http)/garbage", timeouts: "{total: 2s}",
                 phase: .processing, reason: .httpProtocolError, duration: fast),
            Case(name: "reset-mid-response", url: "\(http)/reset", timeouts: "{total: 2s}",
                 phase: .transfer, reason: .connectionReset, duration: fast),
            Case(name: "closed-without-answer", url: "\(http)/empty", timeouts: "{total: 2s}",
                 phase: .processing, reason: .emptyReply, duration: fast),
            Case(name: "accept-never-answer", url: "http://127.0.0.1:\(s.port("blackhole"))/",
                 timeouts: "{first_byte: 1s, total: 2s}", phase: .processing, reason: .firstByteTimeout, duration: at(1)),
            Case(name: "never-answer-total-only", url: "\(http)/hang", timeouts: "{total: 2s}",
                 phase: .processing, reason: .totalTimeout, duration: at(2)),
            Case(name: "tls-never-answers", url: https("blackhole"), timeouts: "{tls: 1s, total: 2s}", tls: trustTestCA,
                 phase: .tls, reason: .tlsTimeout, duration: at(1)),
            Case(name: "connect-never-accepted", url: "http://127.0.0.1:\(s.port("backlog"))/",
                 timeouts: "{connect: 1s, total: 2s}", phase: .connect, reason: .connectTimeout, duration: at(1)),
            Case(name: "tls-to-plain-port", url: "https://127.0.0.1:\(s.port("http"))/", timeouts: "{total: 2s}",
                 tls: trustTestCA, phase: .tls, reason: .tlsHandshakeError, duration: fast),
            Case(name: "plain-to-tls-port", url: "http://127.0.0.1:\(s.port("https"))/", timeouts: "{total: 2s}",
                 phase: .processing, reason: .emptyReply, duration: fast),
            Case(name: "cert-expired", url: https("expired"), timeouts: "{total: 2s}", tls: trustTestCA,
                 phase: .tls, reason: .certExpired, duration: fast),
            Case(name: "cert-self-signed", url: https("selfsigned"), timeouts: "{total: 2s}", tls: trustTestCA,
                 phase: .tls, reason: .certUntrusted, duration: fast),
            Case(name: "cert-wrong-host", url: https("wronghost"), timeouts: "{total: 2s}", tls: trustTestCA,
                 phase: .tls, reason: .certHostnameMismatch, duration: fast),
            Case(name: "redirect-loop", url: "\(http)/loop", timeouts: "{total: 2s}",
                 phase: .processing, reason: .tooManyRedirects, duration: fast),
            Case(name: "redirects-50", url: "\(http)/redirect/50", timeouts: "{total: 2s}",
                 phase: .processing, reason: .tooManyRedirects, duration: fast),
            // An empty label: refused by the resolver itself, no packet leaves the machine.
            Case(name: "dns-failure", url: "http://nxdomain..invalid/", timeouts: "{total: 2s}",
                 phase: .resolve, reason: .dnsNXDomain, duration: fast),
        ]
    }

    static func healthy(_ s: ServerProcess) -> [(name: String, url: String, tls: String?)] {
        let http = "http://127.0.0.1:\(s.port("http"))"
        return [
            ("healthy-plain", "\(http)/", nil),
            ("healthy-processing", "\(http)/?processing=0.01", nil),
            ("healthy-body", "\(http)/?size=100000", nil),
            ("healthy-tls", "https://127.0.0.1:\(s.port("https"))/", "{ca_file: \"\(Certs.ca)\"}"),
        ]
    }

    struct Page: Decodable {
        let results: [ProbeResult]
    }

    @Test func hostileTargetsFailRightWithoutDisturbingTheAgent() async throws {
        func tls(_ name: String, _ cert: String) -> [String] {
            ["--listen", "\(name)=https,cert=\(Certs.path(cert + ".pem")),key=\(Certs.path(cert + ".key"))"]
        }
        // Hostile and healthy targets have servers of their own: a healthy probe must not wait
        // behind a hostile response in the same Python event loop.
        let hostileServer = try ServerProcess(
            script: "testserver.py",
            arguments: ["--listen", "http=http", "--listen", "blackhole=blackhole", "--listen", "backlog=backlog"]
                + tls("https", "server") + tls("expired", "expired") + tls("selfsigned", "selfsigned")
                + tls("wronghost", "wronghost"))
        let healthyServer = try ServerProcess(script: "testserver.py", arguments: ["--listen", "http=http"] + tls("https", "server"))
        defer {
            hostileServer.stop()
            healthyServer.stop()
        }
        let cases = Self.cases(hostile: hostileServer)
        let healthy = Self.healthy(healthyServer)

        let dir = Scratch.dir.appendingPathComponent("hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = dir.appendingPathComponent("phasewatch.yml").path
        var yaml = """
            global: {interval: 1s, timeout: 900ms, location: hostile}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets:

            """
        for c in cases {
            yaml += "  - {name: \(c.name), url: \"\(c.url)\", interval: \(Int(Self.hostileInterval))s, timeouts: \(c.timeouts)"
            yaml += (c.tls.map { ", tls: \($0)" } ?? "") + "}\n"
        }
        for h in healthy {
            yaml += "  - {name: \(h.name), url: \"\(h.url)\"" + (h.tls.map { ", tls: \($0)" } ?? "") + "}\n"
        }
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)

        let port = TestServer.closedPort()
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: PhaseWatchBinary.path)
        agent.arguments = ["run", "--config.file=\(config)", "--web.listen-address=127.0.0.1:\(port)", "--log.level=error"]
        // Every address is local: no proxy may stand in between.
        agent.environment = ProcessInfo.processInfo.environment.filter { !$0.key.lowercased().hasSuffix("_proxy") }
        agent.standardOutput = FileHandle.nullDevice
        try agent.run()
        defer { if agent.isRunning { kill(agent.processIdentifier, SIGKILL) } }
        let base = "http://127.0.0.1:\(port)"
        try await waitReady(base)

        // Run, sampling the agent's resident memory every second.
        var rssKB: [Int] = []
        let clock = ContinuousClock()
        let began = clock.now
        for second in 1...Self.runSeconds {
            try await clock.sleep(until: began + .seconds(second), tolerance: .zero)
            rssKB.append(try Self.residentKB(pid: agent.processIdentifier))
        }
        let runEnded = Date()

        let metrics = try await get("\(base)/metrics")
        var results: [String: [ProbeResult]] = [:]
        for name in cases.map(\.name) + healthy.map(\.name) {
            let page = try ProbeResult.makeDecoder().decode(
                Page.self, from: Data(try await get("\(base)/api/v1/targets/\(name)/results?limit=1000").utf8))
            results[name] = page.results.sorted { $0.startedAt < $1.startedAt }
        }

        agent.terminate()  // SIGTERM: drains the probes in flight, exits 0
        agent.waitUntilExit()
        #expect(agent.terminationReason == .exit && agent.terminationStatus == 0)

        // Memory: bounded, and flat once running.
        let mb = rssKB.map { Double($0) / 1024 }
        print("agent RSS (MB, one sample a second): " + mb.map { String(format: "%.1f", $0) }.joined(separator: " "))
        let firstMax = mb.prefix(10).max()!
        let lastMax = mb.suffix(10).max()!
        #expect(mb.max()! < 150, "RSS peaked at \(mb.max()!) MB")
        #expect(lastMax <= firstMax + 20, "RSS grew: first 10 s max \(firstMax) MB, last 10 s max \(lastMax) MB")

        // Each hostile target: the documented phase and reason, within its limit, every time.
        func pad(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count + 1), withPad: " ", startingAt: 0) }
        var table = [pad("target", 25) + pad("expected", 34) + pad("observed (every probe)", 34) + pad("n", 4) + "duration s (min…max)"]
        for c in cases {
            let rs = results[c.name] ?? []
            let observed = Set(rs.map { r in r.failure.map { "\($0.phase.rawValue)/\($0.reason.rawValue)" } ?? "success" })
            let durations = rs.map(\.duration)
            table.append(
                pad(c.name, 25) + pad("\(c.phase.rawValue)/\(c.reason.rawValue)", 34) + pad(observed.sorted().joined(separator: ","), 34)
                    + pad("\(rs.count)", 4) + String(format: "%.3f…%.3f", durations.min() ?? .nan, durations.max() ?? .nan))
            // The first run is within one interval of the start; then one every interval.
            #expect(rs.count >= Self.runSeconds / Int(Self.hostileInterval) - 1, "\(c.name): \(rs.count) probes")
            for r in rs {
                #expect(r.failure?.phase == c.phase && r.failure?.reason == c.reason, "\(c.name): \(String(describing: r.failure))")
                #expect(c.duration.contains(r.duration), "\(c.name): duration \(r.duration) not in \(c.duration)")
                let sum = Phase.network.compactMap { r.phases[$0] }.reduce(0, +)
                #expect(abs(sum - r.duration) < 0.001, "\(c.name): phases \(r.phases) vs duration \(r.duration)")
            }
            Self.expectOnGrid(rs, interval: Self.hostileInterval, name: c.name)
            // The metrics agree: this target's only failure series is the expected one.
            let series = metrics.split(separator: "\n").filter {
                $0.hasPrefix("phasewatch_probe_failures_total{") && $0.contains("target=\"\(c.name)\"")
            }
            #expect(series.count == 1 && series.first?.contains("phase=\"\(c.phase.rawValue)\",reason=\"\(c.reason.rawValue)\"") == true,
                    "\(c.name): \(series)")
        }
        print("hostile targets:\n" + table.joined(separator: "\n"))

        // The 1 GB body stopped at the limit: a megabyte read of the announced gigabyte.
        for r in results["gigabyte-body"] ?? [] {
            #expect(r.http?.contentLength == 1 << 30)
            #expect((r.http?.bodyBytes ?? .max) <= (1 << 20) + 64 * 1024, "\(String(describing: r.http))")
        }
        for r in results["redirects-50"] ?? [] { #expect(r.http?.redirects == 10) }

        // Healthy targets: every probe succeeded, one a second, none late or skipped.
        print("healthy targets: " + healthy.map { h in
            let rs = results[h.name] ?? []
            let gaps = zip(rs.dropFirst(), rs).map { $0.startedAt.timeIntervalSince($1.startedAt) }
            return "\(h.name) \(rs.filter(\.success).count)/\(rs.count) ok, gaps \(String(format: "%.3f…%.3f", gaps.min() ?? .nan, gaps.max() ?? .nan)) s"
        }.joined(separator: "; "))
        for h in healthy {
            let rs = results[h.name] ?? []
            #expect(rs.allSatisfy { $0.success }, "\(h.name): \(rs.compactMap(\.failure))")
            // Stored once a second: the last second's probes may not be in the store yet.
            #expect(rs.count >= Self.runSeconds - 3, "\(h.name): \(rs.count) probes")
            #expect(rs.last.map { runEnded.timeIntervalSince($0.startedAt) < 2.5 } == true)
            Self.expectOnGrid(rs, interval: 1, name: h.name)
        }
        let skipped = try #require(Self.sample(metrics, "phasewatch_scheduler_skipped_runs_total"))
        #expect(skipped == 0, "\(skipped) runs skipped")
        let lag = Self.histogram(metrics, "phasewatch_scheduler_lag_seconds")
        let count = try #require(lag.last?.count)
        let p99Bound = try #require(lag.first { $0.count >= 0.99 * count }?.le)
        print("scheduler lag: \(Int(count)) probes started, p99 ≤ \(p99Bound) s; buckets \(lag.map { "≤\($0.le): \(Int($0.count))" })")
        #expect(p99Bound <= 0.05, "scheduler lag p99 ≤ \(p99Bound) s")
    }

    // MARK: helpers

    /// Consecutive probes started one interval apart (± half a second): no run late, none skipped.
    static func expectOnGrid(_ rs: [ProbeResult], interval: Double, name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let gaps = zip(rs.dropFirst(), rs).map { $0.startedAt.timeIntervalSince($1.startedAt) }
        let off = gaps.filter { abs($0 - interval) > 0.5 }
        #expect(off.isEmpty, "\(name): gaps between probe starts \(gaps)", sourceLocation: sourceLocation)
    }

    /// VmRSS of a process, kB.
    static func residentKB(pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw RSSUnreadable(status: status) }
        return kb
    }

    struct RSSUnreadable: Error { let status: String }

    /// The value of the one sample of `name` (any labels).
    static func sample(_ text: String, _ name: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    /// A histogram's cumulative buckets, in order: upper bound and count (+Inf last).
    static func histogram(_ text: String, _ name: String) -> [(le: Double, count: Double)] {
        text.split(separator: "\n").filter { $0.hasPrefix(name + "_bucket{") }.compactMap { line in
            guard let leStart = line.range(of: "le=\"")?.upperBound,
                let leEnd = line[leStart...].firstIndex(of: "\""),
                let value = line.split(separator: " ").last.flatMap({ Double($0) })
            else { return nil }
            let le = line[leStart..<leEnd] == "+Inf" ? Double.infinity : Double(line[leStart..<leEnd]) ?? .nan
            return (le, value)
        }.sorted { $0.le < $1.le }
    }

    func get(_ url: String) async throws -> String {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(url)")
        return String(decoding: data, as: UTF8.self)
    }

    func waitReady(_ base: String) async throws {
        for _ in 0..<100 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "\(base)/-/ready")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("agent never became ready")
    }
}
