@testable import Agent
import Foundation
import TestSupport
import Testing

/// The `process_*` series, as client_golang names them, from this process's /proc.
struct ProcessMetricsTests {
    @Test func statFieldsAreCountedFromTheLastParenthesis() throws {
        // A command name with spaces and a ")" in it must not shift the fields.
        let stat = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 9 0 12345 104857600 2560 "
            + "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
        let sample = try #require(ProcessMetrics.parseStat(stat, ticksPerSecond: 100, pageSize: 4096, bootTime: 1_800_000_000))
        #expect(sample.cpuSeconds == 4.0)  // (250 + 150) / 100
        #expect(sample.startTimeSeconds == 1_800_000_123.45)
        #expect(sample.virtualBytes == 104_857_600)
        #expect(sample.residentBytes == 2560 * 4096)
        #expect(ProcessMetrics.parseBootTime("cpu  1 2 3\nbtime 1800000000\nprocesses 9\n") == 1_800_000_000)
        #expect(ProcessMetrics.parseStat("garbage", ticksPerSecond: 100, pageSize: 4096, bootTime: 0) == nil)
    }

    @Test func thisProcessIsDescribedTruly() throws {
        let sample = try #require(ProcessMetrics.sample())
        let now = Date().timeIntervalSince1970
        #expect(sample.startTimeSeconds <= now && sample.startTimeSeconds > now - 3600)
        #expect(sample.residentBytes > 1_000_000)
        #expect(sample.openFDs >= 3 && sample.openFDs <= sample.maxFDs)
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        #expect(try #require(ProcessMetrics.sample()).openFDs >= sample.openFDs + 1)
    }

    @Test func exposedOnMetrics() async throws {
        let text = try await AgentMetrics(location: "lab").render()
        for name in [
            "process_cpu_seconds_total", "process_max_fds", "process_open_fds", "process_resident_memory_bytes",
            "process_start_time_seconds", "process_virtual_memory_bytes",
        ] {
            #expect(text.contains("\n# TYPE \(name) "), "\(name) missing")
            #expect(text.contains("\n\(name) "), "\(name) has no plain sample line")
        }
    }
}

/// `phasewatch_build_info` and `--version` say which build this is.
struct BuildInfoTests {
    @Test func revisionAndSwiftAreReported() async throws {
        let text = try await AgentMetrics(location: "lab").render()
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("phasewatch_build_info{") }.map(String.init))
        let match = try #require(
            line.firstMatch(of: #/version="0\.1\.0",revision="(unknown|[0-9a-f]{12}(-dirty)?)",swift="(6\.[0-9.]+[^"]*)"/#), "\(line)")
        let version = InstallTests.shell("\(PhaseWatchBinary.path) --version")
        #expect(version.status == 0)
        #expect(version.output.contains("revision \(match.output.1)"), "\(version.output)")
        #expect(version.output.contains("Swift \(match.output.3)"), "\(version.output)")
    }
}
