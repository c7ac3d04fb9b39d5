import Agent
import Config
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import Synchronization
import TestSupport
import Testing

/// Issue 6: "Disk full or read-only database: a clear error, probing continues, writes resume
/// when space returns, nothing committed is lost." On real file systems: a tmpfs per test,
/// filled to its last byte or remounted read-only; the store is never mocked.
@Suite(.serialized, .requires(.tmpfs))
struct StorageFailureTests {
    static let targets = ["ok", "slow", "broken"]

    /// Polls `condition` every 100 ms until it holds; fails the test after `timeout`.
    func waitFor(_ what: String, timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out after \(timeout) waiting for: \(what)")
        throw Tmpfs.Failure("timed out waiting for \(what)")
    }

    /// "ok" or the error, for the report.
    func outcome(_ body: () async throws -> some Any) async -> String {
        do {
            _ = try await body()
            return "ok"
        } catch {
            return "\(error)"
        }
    }

    @Test func diskFullHoldsResultsWhileProbingGoesOnThenWritesResume() async throws {
        try await Tmpfs.with(size: "8m") { try await diskFull(on: $0) }
    }

    func diskFull(on fs: Tmpfs) async throws {
        let db = fs.path("pw.db")
        let configPath = Scratch.dir.appendingPathComponent("full-\(UUID().uuidString).yml").path
        let slo = "slo: {availability: 99, latency: {threshold: 100ms, objective: 90}}"
        try """
            global: {interval: 1s, timeout: 800ms, location: test}
            storage: {path: \(db)}
            targets:
              - {name: ok, url: "\(TestServer.http("/?processing=0.01"))", \(slo)}
              - {name: slow, url: "\(TestServer.http("/?processing=0.15"))", \(slo)}
              - {name: broken, url: "http://127.0.0.1:\(TestServer.closedPort())/"}
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let capture = LogCapture()
        let logger = capture.logger
        let runtime = AgentRuntime(
            config: try ConfigLoader.load(path: configPath), source: .file(configPath), store: try ProbeStore(path: db), logger: logger)
        runtime.start()
        let app = buildApplication(
            runtime: runtime, host: "127.0.0.1", port: 0, services: agentServices(runtime: runtime, logger: logger), logger: logger)
        @Sendable func stored(_ target: String) async throws -> [ProbeResult] {
            try await runtime.store.results(target: target, since: nil, until: nil, limit: 100_000, cursor: nil).results
        }
        let probed = try await app.test(.live) { client in
            func scrape() async throws -> String {
                try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            }
            func probes(_ text: String, _ target: String) -> Int {
                Int((metric(text, "phasewatch_probes_total", ["target": target, "result": "success"]) ?? 0)
                    + (metric(text, "phasewatch_probes_total", ["target": target, "result": "failure"]) ?? 0))
            }
            func allProbes(_ text: String) -> Int { Self.targets.map { probes(text, $0) }.reduce(0, +) }

            // 1. Healthy: batches reach the database.
            try await waitFor("the first results stored") { try await stored("ok").count >= 2 }
            #expect(metric(try await scrape(), "phasewatch_storage_writable") == 1)

            // 2. The disk fills up.
            let filled = try fs.fill()
            #expect(fs.freeBytes == 0)
            let fullAt = ContinuousClock.now
            try await waitFor("phasewatch_storage_writable 0") { metric(try await scrape(), "phasewatch_storage_writable") == 0 }
            var committed: [String: Int] = [:]
            for target in Self.targets { committed[target] = try await stored(target).count }
            let probesAtFull = allProbes(try await scrape())
            try await Task.sleep(for: .seconds(5))

            let during = try await scrape()
            let held = Int(metric(during, "phasewatch_storage_pending_results") ?? -1)
            #expect(metric(during, "phasewatch_storage_writable") == 0)
            #expect(held >= 12, "3 targets for 5 s: \(held) held")
            #expect((metric(during, "phasewatch_storage_write_errors_total") ?? 0) >= 4)
            #expect(metric(during, "phasewatch_storage_dropped_results_total") == 0)
            // Probing goes on: counters, last-probe gauges, the live state and last result.
            #expect(allProbes(during) >= probesAtFull + 12, "\(probesAtFull) → \(allProbes(during))")
            #expect(metric(during, "probe_success", ["target": "ok"]) == 1)
            #expect(metric(during, "probe_success", ["target": "broken"]) == 0)
            let okBody = try await client.execute(uri: "/api/v1/targets/ok", method: .get) { String(buffer: $0.body) }
            let okView = try JSONSerialization.jsonObject(with: Data(okBody.utf8)) as? [String: Any]
            #expect(okView?["state"] as? String == "up")
            let iso = ISO8601DateFormatter()
            iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let lastStarted = ((okView?["last"] as? [String: Any])?["started_at"] as? String).flatMap { iso.date(from: $0) }
            #expect(lastStarted.map { Date().timeIntervalSince($0) < 2.5 } == true, "last probe \(String(describing: lastStarted))")
            // Reads keep working; nothing was committed meanwhile and nothing committed is gone.
            for target in Self.targets { #expect(try await stored(target).count == committed[target]) }
            try await client.execute(uri: "/api/v1/targets/ok/results?limit=5", method: .get) { #expect($0.status == .ok) }
            let snapshot = try await runtime.slo.refresh()
            #expect(snapshot.targets["ok"]?.slos.isEmpty == false)
            // Retention and a WAL checkpoint on the full disk fail (or not) promptly, and break nothing.
            let jobsStarted = ContinuousClock.now
            let retention = await outcome {
                try await runtime.store.enforceRetention(now: Date(), raw: .seconds(8 * 86_400), rollup: .seconds(400 * 86_400))
            }
            let checkpoint = await outcome { try await runtime.store.checkpoint() }
            #expect(ContinuousClock.now - jobsStarted < .seconds(5))
            try await client.execute(uri: "/-/ready", method: .get) { #expect($0.status == .ok) }  // see docs/storage.md

            // One clear error, not one a second.
            let errors = capture.all.filter { $0.level >= .error }
            #expect(errors.count == 1, "\(errors)")
            let first = capture.matching("cannot write probe results").first
            #expect(first?.level == .error)
            #expect(first?.message.contains("(disk full)") == true, "\(String(describing: first))")
            #expect(first?.metadata["path"] == db)
            #expect(first?.metadata["cause"]?.contains("no space left on the file system holding \(fs.dir.path)") == true)
            #expect(first?.metadata["error"]?.contains("SQLite error 13") == true)
            #expect(first?.metadata["free_bytes"] == "0")

            // 3. Space returns.
            let heldAtFree = runtime.writer.pendingCount
            try fs.removeFiller()
            let freedAt = ContinuousClock.now
            try await waitFor("writes resumed") { !capture.matching("database writes resumed").isEmpty }
            let resumedAfter = ContinuousClock.now - freedAt
            let resumed = capture.matching("database writes resumed")
            #expect(resumed.count == 1)
            #expect(resumed.first?.level == .notice)
            #expect(Int(resumed.first?.metadata["written"] ?? "") ?? 0 >= heldAtFree)
            #expect(resumed.first?.metadata["dropped"] == "0")
            let after = try await scrape()
            #expect(metric(after, "phasewatch_storage_writable") == 1)
            #expect((metric(after, "phasewatch_storage_pending_results") ?? 99) <= 3)

            // 4. Stop probing: every probe counted is stored, none twice, none missing.
            await runtime.scheduler.stopAll(drainTimeout: .seconds(4))
            await runtime.writer.flush()
            let final = try await scrape()
            for target in Self.targets {
                let rows = try await stored(target)
                #expect(rows.count == probes(final, target), "\(target): \(rows.count) stored, \(probes(final, target)) probed")
                #expect(Set(rows.map(\.traceId)).count == rows.count)
                // A probe every second on a fixed grid: a hole would be a lost result.
                let times = rows.map(\.startedAt.timeIntervalSince1970).sorted()
                let widest = zip(times.dropFirst(), times).map { $0 - $1 }.max() ?? 0
                #expect(widest < 1.6, "\(target): \(widest) s between stored probes")
            }
            let probed = allProbes(final)
            print("""
                disk full: filled \(filled) bytes; outage \(freedAt - fullAt); \(held) results held after 5 s \
                (\(heldAtFree) at the end); writes resumed \(resumedAfter) after space returned: \
                \(resumed.first?.description ?? "-"); \(probed) probes in all; on the full disk retention: \(retention), \
                checkpoint: \(checkpoint)
                """)
            for record in capture.all where record.level >= .notice { print("  \(record)") }
            return probed
        }
        let report = try DatabaseCheck.run(db)
        #expect(report.integrity == "ok")
        #expect(report.rows == probed)
        #expect(report.mismatches.isEmpty, "\(report.mismatches)")
        print("database: \(report.rows) rows, \(report.buckets) rollup rows agree with them, integrity \(report.integrity)")
    }

    /// The writer alone on a real full disk: reminders instead of a line a second, the oldest
    /// dropped past `maxPending` (and said so once), the backlog written in order in batches.
    @Test func writerRemindsDropsOldestAndCatchesUpInOrder() async throws {
        try await Tmpfs.with(size: "4m") { fs in
            let capture = LogCapture()
            let store = try ProbeStore(path: fs.path("w.db"))
            let counts = Counts()
            let writer = ResultWriter(
                store: store, maxPending: 300, maxBatch: 40, reminderInterval: .seconds(1), logger: capture.logger,
                hooks: .init(
                    wrote: { n, _ in counts.add(written: n) }, failed: { counts.add(failed: 1) }, dropped: { counts.add(dropped: $0) },
                    status: { pending, writable in counts.set(pending: pending, writable: writable) }))
            let base = Date()
            var n = 0
            func add(_ count: Int) {
                for _ in 0..<count {
                    // Every 10th goes to `order`, all at one instant: the store numbers such ties
                    // (seq) in write order, which shows the order the writer wrote them in.
                    let target = n % 10 == 0 ? "order" : "t\(n % 3)"
                    writer.add(syntheticProbe(n, target: target, startedAt: target == "order" ? base : base.addingTimeInterval(Double(n) * 0.01)))
                    n += 1
                }
            }
            add(100)
            await writer.flush()
            #expect(counts.value.batches == [40, 40, 20])
            #expect(writer.pendingCount == 0)

            try fs.fill()
            for _ in 0..<6 {
                add(50)
                await writer.flush()
                try await Task.sleep(for: .milliseconds(300))
            }  // 300 held: 100..<400
            #expect(counts.value.pending == 300 && counts.value.writable == false)
            add(100)
            await writer.flush()  // 400 held: the oldest 100 go
            add(50)
            await writer.flush()  // and 50 more
            #expect(counts.value.dropped == 150)
            try await Task.sleep(for: .milliseconds(1100))
            await writer.flush()  // a reminder is due by now
            #expect(capture.all.filter { $0.message.hasPrefix("cannot write probe results (disk full)") }.count == 1)
            #expect(capture.matching("dropping the oldest").count == 1)
            let reminders = capture.matching("still cannot write probe results (disk full)")
            #expect((2...4).contains(reminders.count), "a reminder a second at most: \(reminders)")
            #expect(reminders.last?.metadata["held"] == "300" && reminders.last?.metadata["dropped"] == "150")
            #expect(counts.value.failed == 9)  // one attempt per flush while full

            try fs.removeFiller()
            await writer.flush()
            #expect(writer.pendingCount == 0 && counts.value.writable == true)
            #expect(counts.value.batches.dropFirst(3) == [40, 40, 40, 40, 40, 40, 40, 20])
            let resumed = capture.matching("database writes resumed; 300 held results written")
            #expect(resumed.count == 1 && resumed.first?.metadata["dropped"] == "150", "\(capture.all)")

            // Stored: the 100 before the outage and the newest 300 held, none of the 150 dropped.
            var ids = Set<String>()
            for target in ["order", "t0", "t1", "t2"] {
                ids.formUnion(try await store.results(target: target, since: nil, until: nil, limit: 1_000, cursor: nil).results.map(\.traceId))
            }
            let expected = Set((Array(0..<100) + Array(250..<550)).map { String(format: "%032x", $0 + 1) })
            #expect(ids == expected)
            // Newest first: ties at one instant come back by descending seq, i.e. reverse write order.
            let order = try await store.results(target: "order", since: nil, until: nil, limit: 1_000, cursor: nil).results
            let written = order.reversed().compactMap { Int($0.traceId, radix: 16) }
            #expect(written == written.sorted() && written.count == 40, "\(written)")
            let report = try DatabaseCheck.run(store.path)
            #expect(report.integrity == "ok" && report.rows == 400 && report.mismatches.isEmpty, "\(report)")
            for record in capture.all { print("  \(record)") }
        }
    }

    /// The agent cannot start on a database it can never write: it says why in one line and
    /// exits 1, before listening. The database itself is left as it was.
    @Test func startupOnAReadOnlyOrFullFileSystemExitsWithOneClearLine() async throws {
        try await Tmpfs.with(size: "4m") { fs in
            let db = fs.path("pw.db")
            do {
                let store = try ProbeStore(path: db)
                try await store.insert((0..<20).map { syntheticProbe($0, target: "a", startedAt: Date().addingTimeInterval(Double($0))) })
            }  // closed: a file open for writing makes the remount fail with EBUSY
            let config = Scratch.dir.appendingPathComponent("ro-\(UUID().uuidString).yml").path
            try "targets: [{name: a, url: \"\(TestServer.http("/"))\"}]\n".write(toFile: config, atomically: true, encoding: .utf8)
            func start(_ prefix: [String] = []) -> (status: Int32, output: String) {
                // `timeout`: an agent that starts after all would otherwise hang the test.
                Command.run(["timeout", "20"] + prefix + [
                    PhaseWatchBinary.path, "run", "--config.file=\(config)", "--storage.path=\(db)", "--web.listen-address=127.0.0.1:0",
                ])
            }
            func expectOneLine(_ run: (status: Int32, output: String), _ cause: String) {
                #expect(run.status == 1, "\(run)")
                let lines = run.output.split(separator: "\n")
                #expect(lines.count == 1, "\(run.output)")
                #expect(lines.first?.contains("level=critical") == true)
                #expect(lines.first?.contains(db) == true)
                #expect(lines.first?.contains(cause) == true, "\(run.output)")
                print("  exit \(run.status): \(run.output)", terminator: "")
            }

            try fs.remount("ro")
            expectOneLine(start(), "the file system holding \(fs.dir.path) is mounted read-only")
            try fs.remount("rw")

            try fs.fill()
            expectOneLine(start(), "no space left on the file system holding \(fs.dir.path) (0 bytes free)")
            try fs.removeFiller()

            if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), getuid() == 0 {
                let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                expectOneLine(start(nobody), "no permission to create files in \(fs.dir.path)")
                chmod(fs.dir.path, 0o777)
                expectOneLine(start(nobody), "no permission to write \(db)")
                chmod(fs.dir.path, 0o755)
            } else {
                print("StorageFailureTests: not root or no setpriv; the permission cases were not run")
            }
            // What was committed before is all still there.
            let report = try DatabaseCheck.run(db)
            #expect(report.integrity == "ok" && report.rows == 20 && report.mismatches.isEmpty, "\(report)")
        }
    }
}

/// What the writer's hooks reported.
final class Counts: Sendable {
    struct Value {
        var batches: [Int] = []
        var failed = 0
        var dropped = 0
        var pending = 0
        var writable = true
    }

    private let state = Mutex(Value())
    var value: Value { state.withLock { $0 } }
    func add(written: Int) { state.withLock { $0.batches.append(written) } }
    func add(failed: Int) { state.withLock { $0.failed += failed } }
    func add(dropped: Int) { state.withLock { $0.dropped += dropped } }
    func set(pending: Int, writable: Bool) { state.withLock { $0.pending = pending; $0.writable = writable } }
}
