import Foundation
import PhaseWatchCore
import Storage
import Testing
import TestSupport

/// A fresh directory per test; files stay for inspection after a failure.
func scratchDirectory(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("phasewatch-storage-tests-\(getpid())")
        .appendingPathComponent("\(safe)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func openStore(_ name: String = #function) throws -> (ProbeStore, URL) {
    let dir = try scratchDirectory(name)
    let path = dir.appendingPathComponent("probes.db").path
    return (try ProbeStore(path: path), dir)
}

/// Seconds rounded to whole microseconds.
func micros(_ seconds: Double) -> Double {
    (seconds * 1_000_000).rounded() / 1_000_000
}

/// The Date of a microsecond timestamp, built the way the store rebuilds it.
func date(us: Int64) -> Date {
    Date(timeIntervalSince1970: Double(us) / 1_000_000)
}

/// 2026-11-22T00:00:00Z, a whole hour, in µs.
let epochUs: Int64 = 1_795_305_600_000_000

func traceID(_ n: Int) -> String {
    let hex = String(UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15, radix: 16)
    return String(repeating: "0", count: 32 - hex.count) + hex
}

let failureChoices: [(Phase, FailureReason)] = [
    (.resolve, .dnsNXDomain), (.connect, .connectRefused), (.connect, .connectTimeout), (.tls, .certExpired),
    (.processing, .firstByteTimeout), (.transfer, .connectionReset), (.assert, .status), (.assert, .tooSlow),
]

/// A plausible probe: mostly successes with log-normal phases, sometimes a failure in a random
/// phase (phases after the failing one absent), sometimes plain HTTP (tls = 0).
func randomProbe(target: String, startedUs: Int64, n: Int, threshold: Duration?, rng: inout SplitMix64) -> StoredProbe {
    let https = Int.random(in: 0..<4, using: &rng) != 0
    var phases = Phases(
        resolve: rng.latency(median: 0.002, sigma: 0.8), connect: rng.latency(median: 0.004, sigma: 0.5),
        tls: https ? rng.latency(median: 0.03, sigma: 0.4) : 0, processing: rng.latency(median: 0.08, sigma: 0.9),
        transfer: rng.latency(median: 0.001, sigma: 1.2))
    var failure: Failure?
    if Int.random(in: 0..<10, using: &rng) == 0 {
        let (phase, reason) = failureChoices.randomElement(using: &rng)!
        failure = Failure(phase: phase, reason: reason, message: "failed: \(reason.rawValue)")
        if phase != .assert {
            for later in Phase.network where later > phase { phases[later] = nil }
        }
    }
    let duration = micros(Phase.network.compactMap { phases[$0] }.reduce(0, +) + 0.0001)
    let gotResponse = failure.map { $0.phase == .assert } ?? true
    let result = ProbeResult(
        target: target, url: "https://\(target).example/health", startedAt: date(us: startedUs), success: failure == nil,
        failure: failure, phases: phases, duration: duration,
        http: gotResponse
            ? HTTPFacts(status: failure == nil ? 200 : 503, version: "2", redirects: 0, contentLength: 2, bodyBytes: 2) : nil,
        tls: https ? TLSFacts(version: "TLS 1.3", cipher: "TLS_AES_128_GCM_SHA256", alpn: "h2", sans: ["\(target).example"]) : nil,
        ip: IPFacts(address: "203.0.113.\(n % 4)", family: 4), traceId: traceID(n))
    return StoredProbe(result: result, latencyThreshold: threshold)
}

/// The answer `summary()` must give, computed from the probes themselves.
struct BruteForce {
    var total = 0
    var success = 0
    var goodLatency = 0
    var byPhase: [Phase: Int] = [:]
    var byReason: [FailureReason: Int] = [:]
    var durations: [Double] = []
    var phases: [Phase: [Double]] = [:]

    init(_ probes: [StoredProbe], target: String, fromUs: Int64, toUs: Int64) {
        for p in probes where p.result.target == target {
            let us = Int64((p.result.startedAt.timeIntervalSince1970 * 1_000_000).rounded())
            guard us >= fromUs, us < toUs else { continue }
            total += 1
            if p.isGoodLatency { goodLatency += 1 }
            if let f = p.result.failure {
                byPhase[f.phase, default: 0] += 1
                byReason[f.reason, default: 0] += 1
            }
            guard p.result.success else { continue }
            success += 1
            durations.append(p.result.duration)
            for phase in Phase.network {
                if let v = p.result.phases[phase] { phases[phase, default: []].append(v) }
            }
        }
    }

    func expectMatches(_ s: WindowSummary, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(s.total == total, "total \(context)", sourceLocation: sourceLocation)
        #expect(s.success == success, "success \(context)", sourceLocation: sourceLocation)
        #expect(s.goodLatency == goodLatency, "good_latency \(context)", sourceLocation: sourceLocation)
        #expect(s.failuresByPhase == byPhase, "failures by phase \(context)", sourceLocation: sourceLocation)
        #expect(s.failuresByReason == byReason, "failures by reason \(context)", sourceLocation: sourceLocation)
        #expect(s.duration.count == durations.count, "duration count \(context)", sourceLocation: sourceLocation)
        expectQuantiles(s.duration, durations, "duration \(context)", sourceLocation: sourceLocation)
        #expect(Set(s.phases.keys) == Set(phases.keys), "phases \(context)", sourceLocation: sourceLocation)
        for (phase, values) in phases {
            expectQuantiles(s.phases[phase] ?? LatencySketch(), values, "\(phase) \(context)", sourceLocation: sourceLocation)
        }
    }
}

let testQuantiles = [0.5, 0.9, 0.95, 0.99, 1.0]

/// The exact nearest-rank quantile of `values`.
func exactQuantile(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    return sorted[LatencySketch.nearestRank(q, count: sorted.count) - 1]
}

/// Each quantile of `sketch` is within 1 % of the exact nearest-rank value (values ≤ 1 µs: 0).
func expectQuantiles(
    _ sketch: LatencySketch, _ values: [Double], _ context: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(sketch.count == values.count, "count \(context)", sourceLocation: sourceLocation)
    guard !values.isEmpty else {
        #expect(sketch.quantile(0.5) == nil, sourceLocation: sourceLocation)
        return
    }
    for q in testQuantiles {
        let exact = exactQuantile(values, q)
        guard let got = sketch.quantile(q) else {
            Issue.record("no quantile \(q) \(context)", sourceLocation: sourceLocation)
            continue
        }
        if exact <= LatencySketch.minTrackedValue {
            #expect(got == 0, "q\(q) \(context)", sourceLocation: sourceLocation)
        } else {
            let error = abs(got - exact) / exact
            #expect(error <= LatencySketch.relativeAccuracy + 1e-9, "q\(q) \(context): \(got) vs exact \(exact)", sourceLocation: sourceLocation)
        }
    }
}

/// Runs the sqlite3 shell on a database file (read-only unless told) and returns its output.
func sqlite3(_ path: String, _ sql: String, readOnly: Bool = true) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try requireTool(.sqlite3))
    process.arguments = (readOnly ? ["-readonly"] : []) + [path, sql]
    let out = Pipe()
    process.standardOutput = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}
