@testable import Agent
import Foundation
import PhaseWatchCore
import Storage
import Testing

/// `/metrics` rendering alone, in-process (skipped unless PHASEWATCH_BENCH=1; bench/scale runs
/// it): TARGETS targets (default 10 000) with probes recorded and a full SLO snapshot (both
/// SLOs, every window, latency quantiles of every phase), written chunk by chunk as the route
/// does. Reports CPU time per render — with the other core busy, CPU time is what stays
/// comparable — and the bytes, with all families and with the lean `metrics` settings. Lines
/// starting with `BENCH ` are the results.
struct MetricsRenderBench {
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    @Test(.optIn("PHASEWATCH_BENCH"))
    func renderBench() async throws {
        let env = ProcessInfo.processInfo.environment
        let count = env["TARGETS"].flatMap(Int.init) ?? 10_000
        let rounds = env["ROUNDS"].flatMap(Int.init) ?? 5
        var targets: [Target] = []
        for i in 0..<count {
            var target = Target(name: "t\(i)", url: "http://127.0.0.1:8080/t\(i)", interval: .seconds(5))
            target.slo = SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(100), objective: 0.99))
            targets.append(target)
        }
        let metrics = AgentMetrics(location: "local")
        metrics.configure(targets)
        var rng = SystemRandomNumberGenerator()
        var summary = WindowSummary(total: 100, success: 99, goodLatency: 97, failuresByPhase: [.connect: 1],
                                    failuresByReason: [.connectRefused: 1])
        for _ in 0..<100 {
            summary.duration.add(Double.random(in: 0.002...0.2, using: &rng))
            for phase in Phase.network { summary.phases[phase, default: .init()].add(Double.random(in: 0.0001...0.1, using: &rng)) }
        }
        var slos: [String: TargetSLO] = [:]
        let now = Date()
        for target in targets {
            for k in 0..<3 {
                metrics.observe(ProbeResult(
                    target: target.name, url: target.url, startedAt: now, success: k < 2,
                    failure: k < 2 ? nil : Failure(phase: .connect, reason: .connectRefused, message: "refused"),
                    phases: Phases(resolve: 0.0001, connect: 0.0002, processing: 0.003, transfer: 0.0001), duration: 0.0034,
                    http: HTTPFacts(status: 200, version: "1.1", redirects: 0, contentLength: 3, bodyBytes: 3),
                    ip: IPFacts(address: "127.0.0.1", family: 4), traceId: "0af7651916cd43dd8448eb211c80319c"))
            }
            let windows = SLIWindows.all(sloWindow: .seconds(30 * 86_400))
            let summaries = Dictionary(uniqueKeysWithValues: windows.map { ($0, summary) })
            slos[target.name] = TargetSLO(
                target: target.name, slos: SLOStatus.all(for: target, summaries: summaries),
                latency: [300, 3600].map { LatencyQuantiles(target: target.name, window: .seconds($0), from: now, to: now, summary: summary) })
        }
        let snapshot = try SLOSnapshot(asOf: now, generation: 1, order: targets.map(\.name), targets: slos)

        for (name, options) in [("everything", MetricsConfig.everything), ("default", MetricsConfig())] {
            metrics.configure(targets, options: options)
            var cpu: [Double] = []
            var bytes = 0
            for _ in 0..<rounds {
                let started = Self.cpuSeconds()
                var size = 0
                try await metrics.write(slo: snapshot) { size += $0.readableBytes }
                cpu.append(Self.cpuSeconds() - started)
                bytes = size
            }
            let best = cpu.min()!
            let line = "render families=\(name) targets=\(count) bytes=\(bytes) cpu_ms_best=\(String(format: "%.1f", best * 1000)) "
                + "cpu_ms_median=\(String(format: "%.1f", cpu.sorted()[cpu.count / 2] * 1000)) mb_per_cpu_s=\(String(format: "%.0f", Double(bytes) / best / 1e6))"
            FileHandle.standardOutput.write(Data("BENCH \(line)\n".utf8))
            #expect(bytes > count * 1000)
        }
    }
}
