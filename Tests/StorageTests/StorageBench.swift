import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// The storage benchmark behind `bench/storage` (skipped unless PHASEWATCH_BENCH=1):
/// bytes per probe on disk, sustained insert rate, and the cost of a 30-day summary.
///
/// Load: PROBES probes (default 10 M) for TARGETS targets (default 1 000) probed every 30 s,
/// inserted in batches of BATCH (default 1 000) the way the agent's writer does, preceded by
/// 30 days of one extra target ("bench-30d", every 60 s) for the long-window query.
/// Lines starting with `BENCH ` are the results; the script reads them.
@Suite(.serialized)
struct StorageBench {
    static let env = ProcessInfo.processInfo.environment

    static func setting(_ name: String, _ fallback: Int) -> Int {
        env[name].flatMap { Int($0.replacingOccurrences(of: "_", with: "")) } ?? fallback
    }

    static func report(_ line: String) {
        // Unbuffered: print() is block-buffered into a pipe.
        FileHandle.standardOutput.write(Data("BENCH \(line)\n".utf8))
    }

    /// A target's probes look alike over time (same address, TLS or not), as real ones do.
    struct Generator {
        var rng = SplitMix64(seed: 2026)

        mutating func probe(target: Int, name: String, startedUs: Int64) -> StoredProbe {
            let https = target % 4 != 0
            let scale = 1 + Double(target % 7) / 3
            var phases = Phases(
                resolve: rng.latency(median: 0.0008, sigma: 0.5), connect: rng.latency(median: 0.002 * scale, sigma: 0.3),
                tls: https ? rng.latency(median: 0.012 * scale, sigma: 0.3) : 0,
                processing: rng.latency(median: 0.04 * scale, sigma: 0.6), transfer: rng.latency(median: 0.0004, sigma: 0.8))
            var failure: Failure?
            if Int.random(in: 0..<100, using: &rng) == 0 {
                failure = Failure(phase: .connect, reason: .connectTimeout, message: "connect timed out after 1s")
                phases.tls = nil
                phases.processing = nil
                phases.transfer = nil
            }
            let duration = micros(Phase.network.compactMap { phases[$0] }.reduce(0.00005, +))
            let result = ProbeResult(
                target: name, url: "https://\(name).example.com/health", startedAt: date(us: startedUs),
                success: failure == nil, failure: failure, phases: phases, duration: duration,
                http: failure == nil ? HTTPFacts(status: 200, version: https ? "2" : "1.1", redirects: 0, contentLength: 15, bodyBytes: 15) : nil,
                tls: https && failure == nil
                    ? TLSFacts(
                        version: "TLS 1.3", cipher: "TLS_AES_128_GCM_SHA256", alpn: "h2", certNotAfter: date(us: 1_798_761_600_000_000),
                        chainExpiry: date(us: 1_798_761_600_000_000), subject: "CN=\(name).example.com", issuer: "CN=R11",
                        sans: ["\(name).example.com"]) : nil,
                ip: IPFacts(address: "198.51.100.\(target % 250)", family: 4),
                traceId: TraceID.make(random: max(rng.next(), 1)))
            return StoredProbe(result: result, latencyThreshold: .milliseconds(250))
        }
    }

    /// User + system CPU of the whole process. Between inserts the benchmark only generates
    /// probes on its own task, so the difference around an insert is the insert's cost.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    @Test(.optIn("PHASEWATCH_BENCH"))
    func storageBench() async throws {
        let probes = Self.setting("PROBES", 10_000_000)
        let targets = Self.setting("TARGETS", 1_000)
        let batchSize = Self.setting("BATCH", 1_000)
        let dir = try Self.env["PHASEWATCH_BENCH_DIR"].map { URL(fileURLWithPath: $0) } ?? scratchDirectory()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("bench.db").path
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        let store = try ProbeStore(path: path)
        var generator = Generator()
        let interval: Int64 = 30_000_000
        let startUs = epochUs
        let nowUs = startUs + Int64((probes + targets - 1) / targets) * interval

        // 30 days of one target, once a minute, ending where the main load ends.
        let longStart = nowUs - 30 * 86_400_000_000
        var long: [StoredProbe] = []
        var n = 0
        for at in stride(from: longStart, to: nowUs, by: 60_000_000) {
            long.append(generator.probe(target: 1, name: "bench-30d", startedUs: at))
            n += 1
            if long.count == batchSize {
                try await store.insert(long)
                long.removeAll(keepingCapacity: true)
            }
        }
        try await store.insert(long)
        let longCount = n
        Self.report("setup bench-30d probes=\(longCount)")

        // The main load, timed around insert() only.
        let names = (0..<targets).map { "target-\($0)" }
        let clock = ContinuousClock()
        var insertTime = Duration.zero
        var insertCPU = 0.0
        var slowest = Duration.zero
        var batch: [StoredProbe] = []
        batch.reserveCapacity(batchSize)
        var lastReport = 0
        for i in 0..<probes {
            let target = i % targets
            let round = Int64(i / targets)
            let offset = Int64(target) * interval / Int64(targets)
            batch.append(generator.probe(target: target, name: names[target], startedUs: startUs + round * interval + offset))
            if batch.count == batchSize || i == probes - 1 {
                let started = clock.now
                let cpuBefore = Self.cpuSeconds()
                try await store.insert(batch)
                insertCPU += Self.cpuSeconds() - cpuBefore
                let took = clock.now - started
                insertTime += took
                slowest = max(slowest, took)
                batch.removeAll(keepingCapacity: true)
            }
            if (i + 1) * 10 / probes > lastReport {
                lastReport = (i + 1) * 10 / probes
                let rate = Double(i + 1) / max(insertTime / .seconds(1), 1e-9)
                Self.report("progress \(lastReport * 10)% probes=\(i + 1) rate=\(Int(rate))/s")
            }
        }
        let seconds = insertTime / .seconds(1)
        Self.report("insert probes=\(probes) targets=\(targets) batch=\(batchSize) seconds=\(String(format: "%.1f", seconds)) rate=\(Int(Double(probes) / seconds)) cpu_us_per_probe=\(String(format: "%.1f", insertCPU * 1e6 / Double(probes))) slowest_batch_ms=\(String(format: "%.1f", slowest / .milliseconds(1)))")

        try await store.checkpoint()
        let bytes = Self.fileSize(path) + Self.fileSize(path + "-wal")
        let total = probes + longCount
        Self.report("disk bytes=\(bytes) probes=\(total) bytes_per_probe=\(String(format: "%.1f", Double(bytes) / Double(total)))")

        // 30-day P99 from rollups (hour rows + minute rows at the edges + raw at the partial minutes).
        var timings: [Duration] = []
        var p99 = 0.0
        for k in 0..<7 {
            let started = clock.now
            let summary = try await store.summary(
                target: "bench-30d", from: date(us: nowUs - 30 * 86_400_000_000 + 1_234 + Int64(k)), to: date(us: nowUs))
            p99 = summary.duration.quantile(0.99) ?? 0
            timings.append(clock.now - started)
            #expect(summary.total == longCount - 1)  // the first one started before `from`
        }
        timings.sort()
        Self.report("summary30d median_ms=\(String(format: "%.2f", timings[3] / .milliseconds(1))) min_ms=\(String(format: "%.2f", timings[0] / .milliseconds(1))) p99_s=\(String(format: "%.4f", p99))")

        var hourTimings: [Duration] = []
        for k in 0..<7 {
            let started = clock.now
            _ = try await store.summary(target: "target-\(k)", from: date(us: nowUs - 3_600_000_000 - 17), to: date(us: nowUs))
            hourTimings.append(clock.now - started)
        }
        hourTimings.sort()
        Self.report("summary1h median_ms=\(String(format: "%.2f", hourTimings[3] / .milliseconds(1)))")
        Self.report("file path=\(path)")
        #expect(try await store.integrityCheck() == "ok")
    }
}
