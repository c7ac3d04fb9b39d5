@testable import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// How long `GET /` takes with many targets, each with 6 hours of probes at the default 30 s
/// interval. Opt-in (it writes ~720,000 rows first): `PHASEWATCH_PAGE_BENCH=1000 swift test
/// --filter StatusPageScale` (the number is the target count). A debug build is several times
/// slower than the release binary; the `status page` debug log line of `phasewatch run
/// --log.level=debug` gives the release figures.
@Suite(.serialized)
struct StatusPageScaleTests {
    static let targetCount = Int(ProcessInfo.processInfo.environment["PHASEWATCH_PAGE_BENCH"] ?? "") ?? 0

    @Test(.optIn("PHASEWATCH_PAGE_BENCH") { (Int($0) ?? 0) > 0 }) func pageWithManyTargets() async throws {
        let count = Self.targetCount
        let now = Date()
        let dir = Scratch.dir.appendingPathComponent("status-scale-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let clock = ContinuousClock()
        let names = (0..<count).map { String(format: "target-%04d", $0) }
        let insertStarted = clock.now
        var batch: [StoredProbe] = []
        var n = 0
        // Probe by probe in time order, all targets interleaved, as the writer stores them.
        for step in 0..<720 {
            let startedAt = now.addingTimeInterval(-Double(720 - step) * 30)
            for (i, name) in names.enumerated() {
                n += 1
                let failed = (step + i) % 97 == 0
                batch.append(StoredProbe(
                    result: ProbeResult(
                        target: name, url: "https://\(name).example/health", startedAt: startedAt, success: !failed,
                        failure: failed ? Failure(phase: .connect, reason: .connectTimeout, message: "timed out") : nil,
                        phases: failed
                            ? Phases(resolve: 0.001)
                            : Phases(resolve: 0.001, connect: 0.002 + Double(i % 7) / 1000, tls: 0.01,
                                     processing: 0.02 + Double(step % 13) / 1000, transfer: 0.0005),
                        duration: failed ? 1 : 0.0335 + Double(i % 7 + step % 13) / 1000,
                        http: failed ? nil : HTTPFacts(status: 200, version: "2", redirects: 0, contentLength: 2, bodyBytes: 2),
                        tls: failed ? nil : TLSFacts(version: "TLS 1.3", subject: "CN=\(name).example"),
                        ip: IPFacts(address: "203.0.113.\(i % 250)", family: 4), traceId: String(format: "%032x", n)),
                    latencyThreshold: .milliseconds(300)))
            }
            if batch.count >= 20_000 {
                try await store.insert(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        try await store.insert(batch)
        let inserted = clock.now - insertStarted

        let targets = names.enumerated().map { i, name in
            Target(name: name, url: "https://\(name).example/health",
                   slo: i % 2 == 0 ? SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(300), objective: 0.99)) : nil)
        }
        let config = AgentConfig(targets: targets)
        let runtime = AgentRuntime(config: config, source: .text("", name: "test"), store: store, logger: Logger(label: "test"))
        runtime.prepareWithoutProbing()
        await runtime.restoreStates()
        // In a running agent the engine refreshes in the background; the page reads its snapshot.
        let snapshotStarted = clock.now
        _ = try await runtime.slo.snapshot()
        let snapshot = clock.now - snapshotStarted

        // The first view reads every chart bucket; later ones only the unsettled ones.
        let cache = PhaseSeriesCache()
        var modelTimes: [Duration] = []
        var renderTimes: [Duration] = []
        var bytes = 0
        for _ in 0..<3 {
            let modelStarted = clock.now
            let model = await StatusPageModel.make(targets: LiveTargets(runtime), store: runtime.store, cache: cache)
            modelTimes.append(clock.now - modelStarted)
            let renderStarted = clock.now
            bytes = StatusPage.render(model).utf8.count
            renderTimes.append(clock.now - renderStarted)
        }
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: Logger(label: "test"))
        let requestTimes = try await app.test(.router) { client in
            var times: [Duration] = []
            for _ in 0..<3 {
                let started = clock.now
                try await client.execute(uri: "/", method: .get) { #expect($0.status == .ok) }
                times.append(clock.now - started)
            }
            return times
        }
        print("""
            status page, \(count) targets, \(n) probes (inserted in \(inserted), SLO snapshot \(snapshot)):
              model (states, snapshot, chart series; first view cold): \(modelTimes)
              render (\(bytes / 1024) KiB of HTML): \(renderTimes)
              GET / on the router: \(requestTimes)
            """)
        #expect(requestTimes.min()! < .seconds(2))
    }
}
