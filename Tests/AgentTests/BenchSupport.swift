import Foundation
import PhaseWatchCore
import Testing

/// What the opt-in benchmarks (SLOBench, ReportBench) share: their `BENCH ` result lines, the
/// process's memory, percentiles, and timing requests with curl on one kept-alive connection.
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
}
