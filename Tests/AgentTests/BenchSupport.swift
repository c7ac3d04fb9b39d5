import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// What the opt-in benchmarks (SLOBench, ReportBench) share: their synthetic probes, their
/// `BENCH ` result lines, the process's memory, percentiles, and timing requests with curl on
/// one kept-alive connection.
enum Bench {
    static func report(_ line: String) {
        FileHandle.standardOutput.write(Data("BENCH \(line)\n".utf8))
    }

    /// Resident and peak resident memory of this process, in MiB.
    static func memory() -> (rss: Double, peak: Double) {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func kib(_ key: String) -> Double {
            let line = status.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
            return Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return (kib("VmRSS") / 1024, kib("VmHWM") / 1024)
    }

    static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        return sorted[LatencySketch.nearestRank(q, count: sorted.count) - 1]
    }

    /// `count` GETs of `url` on one connection; curl's time_total of each, in ms.
    static func curlTimes(_ url: String, count: Int) throws -> (p50: Double, p99: Double, bytes: Int) {
        let m = try curl(Array(repeating: url, count: count))
        return (percentile(m.times, 0.5), percentile(m.times, 0.99), m.bytes.last ?? 0)
    }

    /// GETs of `urls` in order on one connection (curl's own timer, one process): each
    /// request's time_total in ms and body size, and the wall time of the whole curl process.
    static func curl(_ urls: [String], headers: [String] = []) throws -> (times: [Double], bytes: [Int], wallMs: Double) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = ["curl", "-sS", "--fail"]
        for header in headers { arguments += ["-H", header] }
        for url in urls { arguments += ["-o", "/dev/null", "-w", "%{time_total} %{size_download}\\n", url] }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        let started = ContinuousClock.now
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let wall = (ContinuousClock.now - started) / .milliseconds(1)
        let rows = text.split(separator: "\n").map { $0.split(separator: " ") }
        let times = rows.compactMap { $0.first.flatMap { Double($0) }.map { $0 * 1000 } }
        #expect(process.terminationStatus == 0 && times.count == urls.count, "curl: \(text.prefix(300))")
        return (times, rows.compactMap { $0.last.flatMap { Int($0) } }, wall)
    }

    /// A synthetic HTTPS probe of target `index` (named `t<index>`) started at `startedUs`: a
    /// log-normal processing time around 40–80 ms (by index), or a connect timeout when it
    /// fails; judged against a 100 ms latency threshold.
    static func probe(index: Int, startedUs: Int64, fails: Bool, attempts: Int = 1, rng: inout SplitMix64) -> StoredProbe {
        let processing = rng.latency(median: 0.04 + Double(index % 5) / 100, sigma: 0.5)
        var result = ProbeResult(
            target: "t\(index)", url: "https://127.0.0.1/t\(index)", startedAt: Date(timeIntervalSince1970: Double(startedUs) / 1e6),
            success: !fails, phases: Phases(resolve: 0.0005, connect: 0.002, tls: 0.01, processing: processing, transfer: 0.0004),
            duration: 0.0129 + processing, http: HTTPFacts(status: 200, version: "2", redirects: 0, contentLength: 2, bodyBytes: 2),
            attempts: attempts, traceId: TraceID.make(random: rng.next() | 1))
        if fails {
            result.failure = Failure(phase: .connect, reason: .connectTimeout, message: "timeout")
            result.phases = Phases(resolve: 0.0005, connect: 1.0)
            result.duration = 1.0005
            result.http = nil
        }
        return StoredProbe(result: result, latencyThreshold: .milliseconds(100))
    }
}
