import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// The report benchmark behind `bench/report` (skipped unless PHASEWATCH_BENCH=1): a 90-day
/// report with `step=1d` through the API, for one target (JSON) and for every target (CSV),
/// next to a floor in the same run: the same per-day sums by one query of the `sqlite3` shell.
///
/// History: TARGETS targets (default 1 000), one probe every SPARSE seconds (default 1 200) for
/// DAYS + 1 days (default 90), stored with `ProbeStore.insert` (so the rollups are the agent's
/// own) in time order as the agent's writer stores them, with the agent's runs and target spans
/// recorded as `ObservationService` records them, then the agent's default retention applied.
/// The database is kept in PHASEWATCH_BENCH_DIR and topped up to now when reused. Lines starting
/// with `BENCH ` are the results.
@Suite(.serialized)
struct ReportBench {
    static let env = ProcessInfo.processInfo.environment
    static let hourUs: Int64 = 3_600_000_000
    static let dayUs: Int64 = 86_400_000_000

    /// The agent is stopped 02:00–04:00 UTC every tenth day (counted from the epoch): no probes
    /// then, so those days have coverage below 1 and unobserved time.
    static func stop(around us: Int64) -> Range<Int64>? {
        let day = us / dayUs
        guard day % 10 == 3 else { return nil }
        let stop = day * dayUs + 2 * hourUs..<day * dayUs + 4 * hourUs
        return stop.contains(us) ? stop : nil
    }

    /// Every probe of target `i` fails in one hour of 50 (three in a row at 20 minutes: the
    /// target goes down, so reports have downtime and used budget).
    static func failingHour(_ us: Int64, target: Int) -> Bool {
        (us / hourUs + Int64(7 * target)) % 50 == 0
    }

    /// Probes of every target at the multiples of `sparse` seconds in [fromUs, toUs), target
    /// `i` `i` ms after the slot, skipping the agent's stops; an agent run from `fromUs` (or
    /// the end of a stop) to each stop and to `toUs`, with a heartbeat at each batch.
    static func fill(_ store: ProbeStore, targets: Int, sparse: Int64, fromUs: Int64, toUs: Int64) async throws -> Int {
        var rng = SplitMix64(seed: UInt64(fromUs))
        let names = (0..<targets).map { "t\($0)" }
        let step = sparse * 1_000_000
        var batch: [StoredProbe] = []
        var inserted = 0
        var running = false
        var resumeAt = fromUs
        func flush() async throws {
            guard !batch.isEmpty else { return }
            try await store.insert(batch)
            if running, let last = batch.last { try await store.heartbeat(at: last.result.startedAt) }
            inserted += batch.count
            batch.removeAll(keepingCapacity: true)
        }
        var slot = (fromUs + step - 1) / step * step
        while slot < toUs {
            defer { slot += step }
            if let stop = stop(around: slot) {
                if running {
                    try await flush()
                    try await store.endRun(at: Date(timeIntervalSince1970: Double(stop.lowerBound) / 1e6))
                    running = false
                }
                resumeAt = stop.upperBound
                continue
            }
            if !running {
                try await flush()
                try await store.beginRun(at: Date(timeIntervalSince1970: Double(resumeAt) / 1e6), targets: names)
                running = true
            }
            for target in 0..<targets {
                let fails = failingHour(slot, target: target) || Int.random(in: 0..<200, using: &rng) == 0
                let retried = !fails && Int.random(in: 0..<100, using: &rng) == 0
                batch.append(Bench.probe(index: target, startedUs: slot + Int64(target) * 1000, fails: fails, attempts: retried ? 2 : 1, rng: &rng))
                if batch.count >= 5000 { try await flush() }
            }
        }
        try await flush()
        if running { try await store.endRun(at: Date(timeIntervalSince1970: Double(toUs) / 1e6)) }
        return inserted
    }

    /// Wall time of each of `runs` runs of the sqlite3 shell with each of `commands` (argument
    /// lists, run in turn so that they share the machine's ups and downs), in ms: what a person
    /// at the shell waits, process start included (the `select 1` line shows that part).
    static func sqliteTimes(_ commands: [[String]], runs: Int) throws -> [[Double]] {
        var times = commands.map { _ in [Double]() }
        for _ in 0..<runs {
            for (index, arguments) in commands.enumerated() {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["sqlite3"] + arguments
                process.standardOutput = FileHandle.nullDevice
                let started = ContinuousClock.now
                try process.run()
                process.waitUntilExit()
                #expect(process.terminationStatus == 0, "sqlite3 \(arguments)")
                times[index].append((ContinuousClock.now - started) / .milliseconds(1))
            }
        }
        return times
    }

    static func sqliteOutput(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3"] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }

    /// The floor's query: per target and UTC day of [fromS, toS), the probes, good and
    /// first-attempt good summed from the hour rollups — all the report reads for whole days
    /// (`WindowPlan`: no minute rollups or raw rows at day-aligned edges). `target` nil: all
    /// targets, named; targets first, so that SQLite reads each one's rows from the covering
    /// counts index (rollups first, it reads every rollup row from the table instead).
    static func floorSQL(target: String?, fromS: Int64, toS: Int64) -> String {
        let sums = "sum(r.total), sum(r.success), sum(coalesce(r.success_first_attempt, r.success))"
        if let target {
            return """
                SELECT (r.start_s - \(fromS)) / 86400 AS day, \(sums) FROM rollup_hour r \
                WHERE r.target_id = (SELECT id FROM target WHERE name = '\(target)') AND r.start_s >= \(fromS) AND r.start_s < \(toS) GROUP BY day;
                """
        }
        return """
            SELECT t.name, (r.start_s - \(fromS)) / 86400 AS day, \(sums) FROM target t JOIN rollup_hour r ON r.target_id = t.id \
            WHERE t.connection IS NULL AND r.start_s >= \(fromS) AND r.start_s < \(toS) GROUP BY t.id, day;
            """
    }

    static func line(_ name: String, _ times: [Double], _ extra: String = "") -> String {
        let p50 = String(format: "%.2f", Bench.percentile(times, 0.5)), p99 = String(format: "%.2f", Bench.percentile(times, 0.99))
        return "\(name) runs=\(times.count) p50_ms=\(p50) p99_ms=\(p99)\(extra)"
    }

    @Test(.optIn("PHASEWATCH_BENCH"))
    func reportBench() async throws {
        let env = Self.env
        let targets = env["TARGETS"].flatMap(Int.init) ?? 1000
        let sparse = env["SPARSE"].flatMap(Int64.init) ?? 1200
        let days = env["DAYS"].flatMap(Int64.init) ?? 90
        let requests = env["REQUESTS"].flatMap(Int.init) ?? 100
        let repeats = env["REPEATS"].flatMap(Int.init) ?? 5
        let dir = URL(fileURLWithPath: env["PHASEWATCH_BENCH_DIR"] ?? Scratch.dir.path)
        let path = dir.appendingPathComponent("report-\(targets)x\(days)d-\(sparse)s.db").path
        let reuse = FileManager.default.fileExists(atPath: path)
        let store = try ProbeStore(path: path)
        let now = Date()
        let nowUs = Int64(now.timeIntervalSince1970 * 1e6)
        // A kept database goes on from where its last run ended (a top-up to now).
        let ended = try await store.runningSpans(since: .distantPast, now: now).map(\.to).max()
        let fromUs = ended ?? nowUs - (days + 1) * Self.dayUs
        let started = ContinuousClock.now
        let added = try await Self.fill(store, targets: targets, sparse: sparse, fromUs: fromUs, toUs: nowUs)
        let fillSeconds = (ContinuousClock.now - started) / .seconds(1)
        let defaults = AgentConfig().storage
        let retentionStarted = ContinuousClock.now
        let deleted = try await store.enforceRetention(now: now, raw: defaults.rawRetention, rollup: defaults.rollupRetention)
        try await store.checkpoint()
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        Bench.report(
            "fill reused=\(reuse) probes_added=\(added) seconds=\(String(format: "%.0f", fillSeconds)) retention_rows_deleted=\(deleted) "
                + "retention_seconds=\(String(format: "%.0f", (ContinuousClock.now - retentionStarted) / .seconds(1))) db_mib=\(size >> 20)")

        var config = AgentConfig()
        config.storage.path = path
        for i in 0..<targets {
            var target = Target(name: "t\(i)", url: "https://127.0.0.1/t\(i)", interval: .seconds(sparse))
            target.slo = SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(100), objective: 0.99))
            config.targets.append(target)
        }
        // Whole UTC days, the last ending at today's midnight.
        let toS = nowUs / Self.dayUs * 86_400, fromS = toS - days * 86_400
        let day = DateFormatter()
        day.locale = Locale(identifier: "en_US_POSIX")
        day.timeZone = TimeZone(identifier: "UTC")
        day.dateFormat = "yyyy-MM-dd"
        let (from, to) = (Date(timeIntervalSince1970: Double(fromS)), Date(timeIntervalSince1970: Double(toS)))
        let range = "from=\(day.string(from: from))&to=\(day.string(from: to))&step=1d"

        // The floor must compute the numbers the report shows.
        let sample = config.targets[min(7, targets - 1)]
        let expected = try await Report.make(target: sample, from: from, to: to, step: .day, timeZone: TimeZone(identifier: "UTC")!, store: store, now: now)
        #expect(expected.periods.count == Int(days))
        #expect(expected.total.downtimeSeconds ?? 0 > 0 || expected.periods.contains { ($0.downtimeSeconds ?? 0) > 0 })
        #expect(expected.periods.contains { ($0.coverage ?? 1) < 1 })

        let names = config.targets.map(\.name)
        let logger = Logger(label: "bench")
        let runtime = AgentRuntime(config: config, source: .text("", name: "bench"), store: store, logger: logger)
        // Serves the stored history only: nothing may probe (the targets' names are not real).
        runtime.prepareWithoutProbing()
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger)
        try await app.test(.live) { client in
            let base = "http://127.0.0.1:\(try #require(client.port))"
            let healthy = try Bench.curlTimes("\(base)/-/healthy", count: requests)
            Bench.report("http name=healthy requests=\(requests) p50_ms=\(String(format: "%.2f", healthy.p50)) p99_ms=\(String(format: "%.2f", healthy.p99))")
            let one = try Bench.curlTimes("\(base)/api/v1/targets/\(sample.name)/report?\(range)", count: requests)
            Bench.report(
                "report name=one_json requests=\(requests) p50_ms=\(String(format: "%.2f", one.p50)) p99_ms=\(String(format: "%.2f", one.p99)) bytes=\(one.bytes)")
            let urls = names.map { "\(base)/api/v1/targets/\($0)/report?\(range)" }
            var walls: [Double] = []
            var sums: [Double] = []
            var bytes = 0
            for _ in 0..<repeats {
                let all = try Bench.curl(urls, headers: ["Accept: text/csv"])
                walls.append(all.wallMs)
                sums.append(all.times.reduce(0, +))
                bytes = all.bytes.reduce(0, +)
            }
            Bench.report(Self.line("report name=all_csv targets=\(targets)", walls, " requests_sum_p50_ms=\(String(format: "%.2f", Bench.percentile(sums, 0.5))) bytes=\(bytes)"))
        }

        guard (try? Self.sqliteOutput(["-version"])).map({ !$0.isEmpty }) ?? false else {
            Bench.report("floor skipped: no sqlite3 shell (Debian package sqlite3)")
            return
        }
        let oneSQL = Self.floorSQL(target: sample.name, fromS: fromS, toS: toS)
        let allSQL = Self.floorSQL(target: nil, fromS: fromS, toS: toS)
        let rows = try Self.sqliteOutput(["-csv", path, oneSQL]).split(whereSeparator: \.isNewline).map { $0.split(separator: ",").compactMap { Int($0) } }
        let floorDays = rows.map { ($0[0], $0[1], $0[2], $0[3]) }
        let reportDays = expected.periods.enumerated().filter { $0.element.probes > 0 }.map { ($0.offset, $0.element.probes, $0.element.good, $0.element.goodFirstAttempt) }
        #expect(floorDays.elementsEqual(reportDays, by: { $0 == $1 }), "the floor's per-day sums differ from the report's")
        let allRows = try Self.sqliteOutput(["-csv", path, allSQL]).split(whereSeparator: \.isNewline).count
        Bench.report("floor check one_target_days=\(floorDays.count) matches_report=\(floorDays.elementsEqual(reportDays, by: { $0 == $1 })) all_targets_rows=\(allRows)")
        let single = try Self.sqliteTimes([[path, "SELECT 1;"], ["-csv", path, oneSQL]], runs: requests)
        Bench.report(Self.line("floor name=select1", single[0]))
        Bench.report(Self.line("floor name=one", single[1]))
        Bench.report(Self.line("floor name=all targets=\(targets)", try Self.sqliteTimes([["-csv", path, allSQL]], runs: repeats)[0]))
    }
}
