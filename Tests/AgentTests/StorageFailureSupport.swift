import Foundation
import Logging
import PhaseWatchCore
import Storage
import Synchronization
import TestSupport

/// A small tmpfs of its own for one test: a real file system that really fills up (ENOSPC) and
/// really goes read-only (EROFS). Needs `mount`, i.e. root or CAP_SYS_ADMIN.
final class Tmpfs: Sendable {
    let dir: URL
    private let mounted = Mutex(false)

    init(size: String) throws {
        dir = Scratch.dir.appendingPathComponent("tmpfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let (status, output) = Command.run(["mount", "-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", dir.path])
        guard status == 0 else {
            try? FileManager.default.removeItem(at: dir)
            throw Failure("mount -t tmpfs exited \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        mounted.withLock { $0 = true }
    }

    /// Runs `body` with a fresh tmpfs, and unmounts it afterwards whatever happens.
    static func with<T>(size: String, _ body: (Tmpfs) async throws -> T) async throws -> T {
        let fs = try Tmpfs(size: size)
        defer { fs.unmount() }
        return try await body(fs)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    var filler: String { path("filler") }

    /// Fills the file system to its last byte; returns the bytes written.
    @discardableResult
    func fill() throws -> Int {
        let fd = open(filler, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw Failure("open \(filler): errno \(errno)") }
        defer { close(fd) }
        var total = 0
        // Large writes first, then smaller ones to use up the last partial page.
        for size in [1 << 16, 4096, 1] {
            let chunk = [UInt8](repeating: 0x5A, count: size)
            while true {
                let n = chunk.withUnsafeBytes { write(fd, $0.baseAddress, size) }
                if n > 0 {
                    total += n
                    continue
                }
                guard errno == ENOSPC else { throw Failure("write \(filler): errno \(errno)") }
                break
            }
        }
        return total
    }

    func removeFiller() throws { try FileManager.default.removeItem(atPath: filler) }

    var freeBytes: Int64 {
        var stats = statvfs()
        guard statvfs(dir.path, &stats) == 0 else { return -1 }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    /// `mount -o remount,ro|rw`: fails with EBUSY while a file is open for writing.
    func remount(_ mode: String) throws {
        let (status, output) = Command.run(["mount", "-o", "remount,\(mode)", dir.path])
        guard status == 0 else { throw Failure("remount,\(mode) exited \(status): \(output)") }
    }

    func unmount() {
        let wasMounted = mounted.withLock { mounted in
            defer { mounted = false }
            return mounted
        }
        guard wasMounted else { return }
        // Lazily when something still holds a file open: detached now, freed when closed.
        if Command.run(["umount", dir.path]).status != 0 { Command.run(["umount", "-l", dir.path]) }
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { unmount() }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// A command to its end with its combined output.
enum Command {
    @discardableResult
    static func run(_ arguments: [String], stdin: String? = nil, in directory: URL? = nil) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch { return (-1, "\(error)") }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// Every log record, for asserting what an operator would read.
final class LogCapture: Sendable {
    struct Record: Sendable, CustomStringConvertible {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
        var description: String {
            "level=\(level) msg=\"\(message)\" " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }

    private let records = Mutex<[Record]>([])

    var logger: Logger { Logger(label: "test") { _ in Handler(capture: self) } }

    var all: [Record] { records.withLock { $0 } }

    func matching(_ text: String) -> [Record] { all.filter { $0.message.contains(text) } }

    fileprivate func add(_ record: Record) { records.withLock { $0.append(record) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            capture.add(Record(level: event.level, message: event.message.description, metadata: merged.mapValues { "\($0)" }))
        }
    }
}

/// Prometheus text → value of the first series named `name` carrying `labels`.
func metric(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
        let series = line[..<space]
        let seriesName = series.prefix { $0 != "{" }
        guard seriesName == name else { continue }
        var found: [String: String] = [:]
        for pair in series.dropFirst(seriesName.count).trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { found[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        if labels.allSatisfy({ found[$0.key] == $0.value }) { return value }
    }
    return nil
}

/// Checks a database file with Python's sqlite3 (not phasewatch's code): integrity, and that
/// every minute and hour rollup row counts exactly the raw rows of its bucket: totals, successes,
/// good-latency and failures by phase. A rollup that double counts a retried batch, or a raw row
/// without its rollup, shows as a mismatch.
enum DatabaseCheck {
    struct Report: Decodable {
        let integrity: String
        let rows: Int
        let buckets: Int
        let mismatches: [String]
    }

    static let script = #"""
        import json, sqlite3, sys
        db = sqlite3.connect(sys.argv[1])
        integrity = "\n".join(r[0] for r in db.execute("PRAGMA integrity_check"))
        cols = ["total", "success", "good_latency"] + ["failed_" + p for p in
                ["resolve", "connect", "tls", "processing", "transfer", "assert"]]
        rows = db.execute("SELECT count(*) FROM probe").fetchone()[0]
        mismatches, buckets = [], 0
        for table, seconds in (("rollup_minute", 60), ("rollup_hour", 3600)):
            raw = {}
            for t, us, ok, good, phase in db.execute(
                    "SELECT target_id, started_us, success, good_latency, failure_phase FROM probe"):
                key = (t, us // (seconds * 1000000) * seconds)
                v = raw.setdefault(key, [0] * 9)
                v[0] += 1; v[1] += ok; v[2] += good
                if phase: v[2 + phase] += 1
            rolled = {(r[0], r[1]): list(r[2:]) for r in
                      db.execute("SELECT target_id, start_s, %s FROM %s" % (", ".join(cols), table))}
            buckets += len(rolled)
            for key in sorted(set(raw) | set(rolled)):
                if raw.get(key) != rolled.get(key):
                    mismatches.append("%s %s raw=%s rollup=%s" % (table, key, raw.get(key), rolled.get(key)))
        print(json.dumps({"integrity": integrity, "rows": rows, "buckets": buckets, "mismatches": mismatches}))
        """#

    static func run(_ path: String) throws -> Report {
        let (status, output) = Command.run(["python3", "-c", script, path])
        guard status == 0, let line = output.split(separator: "\n").last else {
            throw Tmpfs.Failure("database check failed (\(status)): \(output)")
        }
        return try JSONDecoder().decode(Report.self, from: Data(line.utf8))
    }
}

/// A plain probe result for writer tests: one of a few targets, failures by connect now and then.
func syntheticProbe(_ n: Int, target: String, startedAt: Date) -> StoredProbe {
    let failed = n % 5 == 4
    let result = ProbeResult(
        target: target, url: "http://127.0.0.1:9/\(target)", startedAt: startedAt, success: !failed,
        failure: failed ? Failure(phase: .connect, reason: .connectRefused, message: "refused") : nil,
        phases: Phases(resolve: 0.0001, connect: failed ? nil : 0.0002, tls: failed ? nil : 0, processing: failed ? nil : 0.003,
                       transfer: failed ? nil : 0.0001),
        duration: failed ? 0.0003 : 0.0034, http: failed ? nil : HTTPFacts(status: 200, version: "1.1", redirects: 0, contentLength: 2, bodyBytes: 2),
        traceId: String(format: "%032x", n + 1))
    return StoredProbe(result: result, latencyThreshold: .milliseconds(3))
}
