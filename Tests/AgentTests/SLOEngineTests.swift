import Agent
import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// The SLO engine against a brute-force computation over the very probes stored: ratios must
/// match exactly, quantiles within 1 %.
struct SLOEngineTests {
    /// One generated probe, kept in memory for the brute force.
    struct Probe {
        var startedUs: Int64
        var success: Bool
        var failurePhase: Phase?
        var duration: Double
        var phases: Phases
    }

    static let threshold = Duration.milliseconds(120)

    /// `count` probes at random times over `span` ending at `endUs`, about 4 % failing in random
    /// phases, latencies log-normal, some bursts of failures (so burn rates vary by window).
    static func history(seed: UInt64, count: Int, endUs: Int64, span: Int64) -> [Probe] {
        var random = SplitMix64(seed: seed)
        var probes: [Probe] = []
        let burstStart = endUs - Int64.random(in: 0..<(span / 2), using: &random)
        for _ in 0..<count {
            let started = endUs - Int64.random(in: 1...span, using: &random)
            let inBurst = started >= burstStart && started < burstStart + 1_800_000_000
            let fails = Double.random(in: 0..<1, using: &random) < (inBurst ? 0.5 : 0.04)
            let resolve = random.latency(median: 0.002, sigma: 0.5)
            let connect = random.latency(median: 0.004, sigma: 0.5)
            let tls = random.latency(median: 0.02, sigma: 0.4)
            let processing = random.latency(median: 0.06, sigma: 0.6)
            let transfer = random.latency(median: 0.003, sigma: 0.8)
            if fails {
                let phase = [Phase.resolve, .connect, .tls, .processing, .assert].randomElement(using: &random)!
                probes.append(Probe(
                    startedUs: started, success: false, failurePhase: phase, duration: resolve,
                    phases: Phases(resolve: resolve)))
            } else {
                let total = ((resolve + connect + tls + processing + transfer) * 1e6).rounded() / 1e6
                probes.append(Probe(
                    startedUs: started, success: true, failurePhase: nil, duration: total,
                    phases: Phases(resolve: resolve, connect: connect, tls: tls, processing: processing, transfer: transfer)))
            }
        }
        return probes
    }

    static func stored(_ p: Probe, index: Int) -> StoredProbe {
        let failure = p.failurePhase.map { phase in
            Failure(phase: phase, reason: phase == .assert ? .status : .connectRefused, message: "generated")
        }
        return StoredProbe(
            result: ProbeResult(
                target: "svc", url: "https://127.0.0.1/", startedAt: Date(timeIntervalSince1970: Double(p.startedUs) / 1e6),
                success: p.success, failure: failure, phases: p.phases, duration: p.duration,
                traceId: String(format: "%032x", index + 1)),
            latencyThreshold: threshold)
    }

    func makeStore(_ name: String) throws -> ProbeStore {
        let dir = Scratch.dir.appendingPathComponent("slo-\(name)-\(UUID().uuidString.prefix(8))")
        return try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func matchesBruteForceOverRawRows(seed: UInt64) async throws {
        // A 7-day SLO: its scaled alert windows (14m, 1h24m, 5h36m, …) cross hour and minute
        // boundaries at odd places. `now` is not minute-aligned.
        let sloWindow = Duration.seconds(7 * 86_400)
        var target = Target(name: "svc", url: "https://127.0.0.1/")
        target.slo = SLOConfig(window: sloWindow, availability: 0.995, latency: LatencySLO(threshold: Self.threshold, objective: 0.95))
        let nowUs = epochUs + 8 * 86_400_000_000 + 37_123_457
        let probes = Self.history(seed: seed, count: 12_000, endUs: nowUs + 600_000_000, span: 8 * 86_400_000_000 + 600_000_000)
        let store = try makeStore("brute-\(seed)")
        for chunk in stride(from: 0, to: probes.count, by: 2000) {
            try await store.insert((chunk..<min(chunk + 2000, probes.count)).map { Self.stored(probes[$0], index: $0) })
        }
        let now = Date(timeIntervalSince1970: Double(nowUs) / 1e6)
        let evaluated = try await SLOEngine.evaluate(target, at: now, store: store)
        #expect(evaluated.slos.map(\.slo) == [.availability, .latency])

        for status in evaluated.slos {
            let objective = status.slo == .availability ? 0.995 : 0.95
            func isGood(_ p: Probe) -> Bool {
                status.slo == .availability ? p.success : p.success && p.duration <= Self.threshold.seconds
            }
            for window in SLIWindows.all(sloWindow: sloWindow) {
                let key = PromDuration.format(window)
                let inWindow = probes.filter { $0.startedUs >= nowUs - window.microseconds && $0.startedUs < nowUs }
                let good = inWindow.filter(isGood).count
                let sli = inWindow.isEmpty ? nil : Double(good) / Double(inWindow.count)
                #expect(status.sli[key] == sli, "\(status.slo) sli[\(key)]")
                #expect(status.burnRate[key] == sli.map { (1 - $0) / (1 - objective) }, "\(status.slo) burn_rate[\(key)]")
            }
            let whole = probes.filter { $0.startedUs >= nowUs - sloWindow.microseconds && $0.startedUs < nowUs }
            let bad = whole.filter { !isGood($0) }
            let consumed = Double(bad.count) / (Double(whole.count) * (1 - objective))
            #expect(status.probes.total == whole.count)
            #expect(status.probes.bad == bad.count)
            #expect(status.probes.good == whole.count - bad.count)
            #expect(status.errorBudget.consumed == consumed)
            #expect(status.errorBudget.remaining == 1 - consumed)
            // The phases' shares add up to what was consumed; each is exact.
            var expected: [String: Double] = [:]
            for phase in Phase.allCases {
                let n = bad.filter { $0.failurePhase == phase }.count
                if n > 0 { expected[phase.rawValue] = Double(n) / (Double(whole.count) * (1 - objective)) }
            }
            let slow = bad.filter { $0.success }.count
            if slow > 0 { expected["too_slow"] = Double(slow) / (Double(whole.count) * (1 - objective)) }
            #expect(status.budgetByPhase == expected)
            #expect(abs(status.budgetByPhase.values.reduce(0, +) - consumed) < 1e-9)
            for alert in status.alerts {
                let fires = (status.burnRate[alert.long] ?? 0) > alert.threshold && (status.burnRate[alert.short] ?? 0) > alert.threshold
                #expect(alert.firing == fires)
            }
        }

        // Quantiles of the total and of each phase, successful probes only, within 1 %.
        for latency in evaluated.latency {
            let window = try PromDuration.parse(latency.window)
            let ok = probes.filter { $0.success && $0.startedUs >= nowUs - window.microseconds && $0.startedUs < nowUs }
            #expect(latency.successful == ok.count)
            func check(_ q: LatencyQuantiles.Quantiles, _ values: [Double], _ what: String) {
                #expect(q.count == values.count, "\(what) count")
                let sorted = values.sorted()
                for (p, got) in [(0.5, q.p50), (0.9, q.p90), (0.95, q.p95), (0.99, q.p99)] {
                    guard !sorted.isEmpty else {
                        #expect(got == nil)
                        continue
                    }
                    let exact = sorted[LatencySketch.nearestRank(p, count: sorted.count) - 1]
                    let error = abs((got ?? .nan) - exact) / exact
                    #expect(error <= 0.01, "\(what) p\(p * 100) \(got ?? .nan) vs \(exact) over \(latency.window)")
                }
            }
            check(latency.total, ok.map(\.duration), "total")
            for phase in Phase.network {
                let values = ok.compactMap { $0.phases[phase] }
                if let q = latency.phases[phase.rawValue] { check(q, values, phase.rawValue) } else { #expect(values.isEmpty) }
            }
        }
    }

    @Test func windowsWithoutProbesHaveNoSLI() async throws {
        var target = Target(name: "svc", url: "https://127.0.0.1/")
        target.slo = SLOConfig(window: .seconds(86_400), availability: 0.99)
        let store = try makeStore("gap")
        // Probes only between 3 h and 1 h ago.
        let nowUs = epochUs + 86_400_000_000
        let start = nowUs - 3 * 3_600_000_000
        let probes = (0..<120).map { (i: Int) -> Probe in
            let fails = i % 10 == 0
            return Probe(
                startedUs: start + Int64(i) * 60_000_000, success: !fails, failurePhase: fails ? .connect : nil,
                duration: 0.01, phases: Phases(resolve: 0.001))
        }
        try await store.insert(probes.enumerated().map { Self.stored($0.element, index: $0.offset) })
        let status = try await SLOEngine.evaluate(target, at: Date(timeIntervalSince1970: Double(nowUs) / 1e6), store: store).slos[0]
        for window in ["5m", "30m", "1h"] {
            #expect(status.sli[window] == nil, "no probes in \(window): the SLI is absent, not 1")
            #expect(status.burnRate[window] == nil)
        }
        #expect(status.sli["6h"] == 0.9)
        #expect(status.sli["1d"] == 0.9)
        let json = String(decoding: try ProbeResult.makeEncoder().encode(status), as: UTF8.self)
        #expect(!json.contains("\"5m\""), "absent windows are left out of the JSON: \(json)")
        // A target the store has never seen: no SLI anywhere, budget numbers null.
        let empty = try await SLOEngine.evaluate(Target(name: "new", url: "http://127.0.0.1/", slo: target.slo), at: Date(), store: store)
        #expect(empty.slos[0].sli.isEmpty)
        #expect(empty.slos[0].errorBudget.consumed == nil)
        #expect(empty.slos[0].errorBudget.remaining == nil)
        #expect(empty.slos[0].alerts.allSatisfy { !$0.firing })
    }
}

/// 2026-11-22T00:00:00Z, a whole hour, in µs.
let epochUs: Int64 = 1_795_305_600_000_000
