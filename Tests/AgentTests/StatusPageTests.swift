@testable import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// Four targets over a real SQLite file, each showing a different part of the status page:
/// - `api`: TLS, both SLOs; its last 20 minutes are over the latency threshold, so it is
///   degraded and the latency SLO's page alert fires. Its URL carries a password and its config
///   a secret header; neither may reach the page.
/// - a hostile name, failing with a `<script>` in its message and certificate subject: down.
/// - `plain`: plain HTTP, working, no SLO.
/// - `fresh`: an SLO but no probe yet: unknown.
enum StatusPageFixture {
    static let hostileName = #"evil<script>"'&"#
    static let hostileMessage = #"<script>alert("pwned")</script> certificate expired"#
    static let hostileSubject = "CN=<img src=x onerror=alert(1)>"
    static let headerSecret = "s3cr3t-header-value"
    static let urlPassword = "hunter2pw"
    static let names = ["api", hostileName, "plain", "fresh"]

    static func makeRuntime(now: Date = Date()) async throws -> AgentRuntime {
        let dir = Scratch.dir.appendingPathComponent("status-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        var api = Target(
            name: "api", url: "https://pwuser:\(urlPassword)@api.example.test/health?probe=1",
            headers: [Header(name: "Authorization", value: "Bearer \(headerSecret)")],
            slo: SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(300), objective: 0.99)))
        api.interval = .seconds(120)
        let hostile = Target(name: hostileName, url: "https://127.0.0.1:1/?q=<b>&x='y'")
        let plain = Target(name: "plain", url: "http://127.0.0.1:8080/")
        let fresh = Target(name: "fresh", url: "http://127.0.0.1:8081/", slo: SLOConfig(availability: 0.99))
        var probes: [StoredProbe] = []
        // Every 2 minutes over the last 6 hours.
        for i in 0..<180 {
            let startedAt = now.addingTimeInterval(-Double(180 - i) * 120 + 1)
            let slow = i >= 170
            probes.append(StoredProbe(
                result: ProbeResult(
                    target: "api", url: api.url, startedAt: startedAt, success: true,
                    phases: Phases(resolve: 0.002, connect: 0.004, tls: 0.030, processing: slow ? 0.45 : 0.080, transfer: 0.001),
                    duration: slow ? 0.487 : 0.117,
                    http: HTTPFacts(status: 200, version: "2", redirects: 0, contentLength: 2, bodyBytes: 2),
                    tls: TLSFacts(version: "TLS 1.3", alpn: "h2", certNotAfter: now.addingTimeInterval(40 * 86_400),
                                  subject: "CN=api.example.test", issuer: "CN=Test CA", sans: ["api.example.test"]),
                    ip: IPFacts(address: "203.0.113.7", family: 4), traceId: String(format: "%032x", 1000 + i)),
                latencyThreshold: .milliseconds(300)))
            probes.append(StoredProbe(result: ProbeResult(
                target: "plain", url: plain.url, startedAt: startedAt, success: true,
                phases: Phases(resolve: 0.0001, connect: 0.0002, tls: 0, processing: 0.003, transfer: 0.0004),
                duration: 0.0038, http: HTTPFacts(status: 200, version: "1.1", redirects: 0, contentLength: 5, bodyBytes: 5),
                ip: IPFacts(address: "127.0.0.1", family: 4), traceId: String(format: "%032x", 2000 + i))))
        }
        for i in 0..<5 {
            probes.append(StoredProbe(result: ProbeResult(
                target: hostileName, url: hostile.url, startedAt: now.addingTimeInterval(-Double(5 - i) * 60), success: false,
                failure: Failure(phase: .tls, reason: .certExpired, message: hostileMessage),
                phases: Phases(resolve: 0.001, connect: 0.002), duration: 0.009,
                tls: TLSFacts(version: "TLS 1.3", subject: hostileSubject, issuer: "CN=\"quoted\" & co"),
                ip: IPFacts(address: "127.0.0.1", family: 4), traceId: String(format: "%032x", 3000 + i))))
        }
        try await store.insert(probes)
        let config = AgentConfig(global: GlobalConfig(location: "lab<1>"), targets: [api, hostile, plain, fresh])
        let runtime = AgentRuntime(config: config, source: .text("", name: "test"), store: store, logger: Logger(label: "test"))
        // What `start()` and the RestoreStates service do, without starting to probe.
        runtime.prepareWithoutProbing()
        await runtime.restoreStates()
        return runtime
    }

    static func makeApp(_ runtime: AgentRuntime) -> some ApplicationProtocol {
        buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: Logger(label: "test"))
    }
}

struct StatusPageTests {
    @Test func servesEveryTargetEscapedAndWithoutSecrets() async throws {
        let runtime = try await StatusPageFixture.makeRuntime()
        try await StatusPageFixture.makeApp(runtime).test(.router) { client in
            let (page, headers) = try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                return (String(buffer: response.body), response.headers)
            }
            #expect(headers[.contentType] == "text/html; charset=utf-8")
            #expect(headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)

            // Every target, in config order.
            let positions = StatusPageFixture.names.map { page.range(of: "<h2>\(HTML.escape($0))</h2>")?.lowerBound }
            #expect(positions.allSatisfy { $0 != nil }, "\(positions)")
            #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())

            // Config and probe text is escaped; the page itself holds no script and no image.
            #expect(page.contains("evil&lt;script&gt;&quot;&#39;&amp;"))
            #expect(page.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; certificate expired"))
            #expect(page.contains("CN=&lt;img src=x onerror=alert(1)&gt;"))
            #expect(page.contains("lab&lt;1&gt;"))
            #expect(!page.contains("<script"))
            #expect(!page.contains("<img"))
            #expect(page.contains("https://127.0.0.1:1/?q=&lt;b&gt;&amp;x=&#39;y&#39;"))
            #expect(!page.contains("?q=<b>"))

            // Secrets never: neither the header value nor the URL's user and password.
            #expect(!page.contains(StatusPageFixture.headerSecret))
            #expect(!page.contains(StatusPageFixture.urlPassword))
            #expect(!page.contains("pwuser"))
            #expect(page.contains("https://***@api.example.test/health?probe=1"))

            // States in words, the counts in the header.
            #expect(page.contains("! degraded</span>"))
            #expect(page.contains("✗ down</span>"))
            #expect(page.contains("✓ up</span>"))
            #expect(page.contains("? unknown</span>"))
            #expect(page.contains("4 targets: <span class=\"badge up\">✓ 1 up</span> <span class=\"badge degraded\">! 1 degraded</span> "
                + "<span class=\"badge down\">✗ 1 down</span> <span class=\"badge unknown\">? 1 unknown</span>"))
            #expect(page.contains("5 failures in a row"))

            // The failed probe's waterfall names the phase it failed in.
            #expect(page.contains("Failed in TLS handshake:</strong> <code>cert_expired</code>"))
            #expect(page.contains("TLS handshake ✗"))
            #expect(page.contains("not reached"))

            // SLOs: api's numbers from the snapshot; the others say why they have none.
            #expect(page.contains("<strong>Availability</strong> · objective 99.9 % over 30d"))
            #expect(page.contains("SLI <b>100 %</b>"))
            // Latency: 10 of 180 probes too slow → SLI 94.444 %, 10 / (180 × 0.01) of the budget used.
            #expect(page.contains("<strong>Latency ≤ 300 ms</strong> · objective 99 % over 30d"))
            #expect(page.contains("SLI <b>94.444 %</b> · error budget left <b class=\"down\">-455.6 %</b> (overspent)"))
            #expect(page.contains("<strong>PAGE</strong> firing: burn rate"))
            #expect(page.components(separatedBy: "No SLO configured").count - 1 == 2)
            #expect(page.contains("No probes in the window yet."))

            // A per-phase chart per target; the header and the phone layout.
            #expect(page.components(separatedBy: "<svg class=\"chart\" viewBox=\"0 0 400 170\"").count - 1 == 4)
            #expect(page.contains("no successful probes in the last 6h"))
            #expect(page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
            #expect(page.contains("@media (max-width:700px)"))
            #expect(page.contains("version 0.1.0"))
            #expect(page.contains("SLO data as of <time datetime="))
        }
    }

    @Test func chartStacksPhaseMeansOnANiceMillisecondAxis() throws {
        let now = Date(timeIntervalSince1970: 1_795_305_600 + 125)
        let span = ChartSpan.lastHours(endingAfter: now)
        #expect(span.end == Date(timeIntervalSince1970: 1_795_305_600 + 600))
        #expect(span.start == span.end.addingTimeInterval(-6 * 3600))
        let point = PhaseMeans(
            start: span.end.addingTimeInterval(-600), probes: 3, resolve: 0.001, connect: 0.002, tls: 0.003,
            processing: 0.030, transfer: 0.001, duration: 0.038)
        let svg = PhaseChart(span: span).render([point], target: "t")
        // 37 ms stacked → grid step 10 ms, axis up to 40 ms.
        for label in ["0 ms", "10 ms", "20 ms", "30 ms", "40 ms"] { #expect(svg.contains(">\(label)</text>"), "\(label)") }
        #expect(!svg.contains(">50 ms</text>"))
        #expect(svg.contains(">-6h</text>") && svg.contains(">-1h</text>") && svg.contains(">now</text>"))
        // One path per phase; the last bucket's bar is a stroke in the middle of the last slot.
        let slot = 336.0 / 36
        let middle = HTML.short(54 + 35 * slot + (slot - 1.5) / 2, 1)
        for phase in Phase.network { #expect(svg.contains("<path class=\"p-\(phase.rawValue)\" d=\"M\(middle) "), "\(phase)") }
        #expect(svg.contains("DNS lookup <b>1.0 ms</b>") && svg.contains("Server processing <b>30.0 ms</b>"))
        #expect(PhaseChart.niceStep(0.3) == 0.5 && PhaseChart.niceStep(7) == 10 && PhaseChart.niceStep(120) == 200)
    }

    /// The cache answers what the store answers, while reading only unsettled buckets again.
    @Test func cachedSeriesMatchTheStore() async throws {
        let dir = Scratch.dir.appendingPathComponent("status-cache-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let base = Date(timeIntervalSince1970: 1_795_305_600)
        var n = 0
        func probe(at date: Date, processing: Double) -> StoredProbe {
            n += 1
            return StoredProbe(result: ProbeResult(
                target: "a", url: "http://a/", startedAt: date, success: true,
                phases: Phases(resolve: 0.001, connect: 0.002, tls: 0, processing: processing, transfer: 0.001),
                duration: processing + 0.004, traceId: String(format: "%032x", n)))
        }
        func minutes(_ range: Range<Int>) -> [StoredProbe] {
            range.map { probe(at: base.addingTimeInterval(Double($0) * 60 + 7), processing: 0.01 + Double($0 % 17) / 1000) }
        }
        try await store.insert(minutes(0..<420))
        let cache = PhaseSeriesCache(settle: 300, batchSize: 1)
        var now = base.addingTimeInterval(420 * 60 - 30)
        var minute = 420
        for _ in 0..<4 {
            let span = ChartSpan.lastHours(endingAfter: now)
            let cached = await cache.series(targets: ["a", "b"], span: span, now: now, store: store)
            let direct = try await store.phaseMeans(target: "a", from: span.start, to: span.end, step: span.step)
            guard case .series(let got) = cached["a"], case .series(let none) = cached["b"] else {
                Issue.record("no series: \(cached)")
                return
            }
            #expect(got == direct)
            #expect(got.count >= 34 && none.isEmpty)
            // Probes keep coming, one of them written late but within `settle`.
            try await store.insert(minutes(minute..<minute + 13) + [probe(at: now.addingTimeInterval(-120), processing: 0.5)])
            minute += 13
            now = now.addingTimeInterval(13 * 60)
        }
        // A probe written into a settled bucket is not read again: the cache did its job.
        try await store.insert([probe(at: now.addingTimeInterval(-3600), processing: 5)])
        let span = ChartSpan.lastHours(endingAfter: now)
        let cached = await cache.series(targets: ["a"], span: span, now: now, store: store)
        let direct = try await store.phaseMeans(target: "a", from: span.start, to: span.end, step: span.step)
        guard case .series(let got) = cached["a"] else { return }
        #expect(got != direct && got.count == direct.count)
    }

    @Test func textHelpers() {
        #expect(HTML.escape(#"<a href="x">'&'</a>"#) == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
        #expect(HTML.escape("plain ✓") == "plain ✓")
        #expect(HTML.fixed(1.25, 1) == "1.3" && HTML.fixed(-0.04, 1) == "0.0" && HTML.fixed(-4.56, 1) == "-4.6")
        #expect(HTML.fixed(0.5, 0) == "1" && HTML.fixed(12.3456, 2) == "12.35" && HTML.fixed(3, 3) == "3.000")
        #expect(HTML.short(2.500, 3) == "2.5" && HTML.short(40, 1) == "40" && HTML.short(-0.01, 1) == "0")
        #expect(HTML.ms(0.000123) == "0.12 ms" && HTML.ms(0.0451) == "45.1 ms" && HTML.ms(0.4567) == "457 ms")
        #expect(HTML.percent(0.999) == "99.9 %" && HTML.percent(1) == "100 %" && HTML.percent(0.944444) == "94.444 %")
        #expect(HTML.count(1_234_567) == "1,234,567" && HTML.count(999) == "999" && HTML.count(-1000) == "-1,000")
        #expect(HTML.age(42) == "42 s ago" && HTML.age(7200) == "2 h ago" && HTML.age(-90) == "in 1 min")
    }
}
