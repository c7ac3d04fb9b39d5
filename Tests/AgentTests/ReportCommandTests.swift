import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// `phasewatch report` reads a database another store holds (as a running agent does): no lock
/// taken, nothing written, the same numbers as the API.
struct ReportCommandTests {
    func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PhaseWatchBinary.path)
        process.arguments = ["report"] + arguments
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }

    @Test func readsADatabaseHeldByARunningStore() async throws {
        let (store, path) = try await ReportAPITests.makeStore()
        let config = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("pw.yml").path
        try """
            storage: {path: "\(path)"}
            targets:
              - name: api
                url: http://127.0.0.1/
                interval: 60s
                slo: {availability: 99, latency: {threshold: 50ms, objective: 90}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let common = ["--config.file", config, "--target", "api", "--from", "2026-11-22", "--to", "2026-11-25"]

        let csv = try run(common + ["--format", "csv"])
        #expect(csv.status == 0, "\(csv.err)")
        let lines = csv.out.split(separator: "\r\n")
        #expect(lines.count == 5)
        #expect(lines[2].hasPrefix("period,2026-11-23T00:00:00.000Z,2026-11-24T00:00:00.000Z,1440,1430,"))
        #expect(lines[4].hasPrefix("total,2026-11-22T00:00:00.000Z,2026-11-25T00:00:00.000Z,4320,4310,"))

        let table = try run(common + ["--step", "1w", "--tz", "Europe/Rome"])
        #expect(table.status == 0, "\(table.err)")
        #expect(table.out.contains("period (Europe/Rome)"))
        // 2026-11-22 is a Sunday: its week is clipped to that day, the next starts on Monday.
        let labels = table.out.split(separator: "\n").compactMap { $0.split(separator: " ").first }
        #expect(labels.contains("2026-11-22") && labels.contains("2026-11-23"), "\(table.out)")
        #expect(table.out.split(separator: "\n").contains { $0.hasPrefix("total") && $0.contains("9m00s") }, "\(table.out)")

        // The store still holds its lock and writes: the report changed nothing in its way.
        try await store.insert([ReportAPITests.probe(3 * 1440)])

        let bad = try run(common + ["--step", "2d"])
        #expect(bad.status == 2)
        #expect(bad.err.contains("step: \"2d\""), "\(bad.err)")
        let unknown = try run(["--config.file", config, "--target", "nope", "--from", "2026-11-22", "--to", "2026-11-25"])
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("no target named \"nope\""))
    }
}
