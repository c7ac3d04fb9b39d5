import Foundation
import TestSupport
import Testing

/// README's Quick start, run as written: the fenced block after `<!-- readme-test: quickstart -->`
/// in a scratch directory that holds `examples/`, with `make build` already done by the test
/// run and `BIN` pointing at the binary it built.
@Suite(.serialized)
struct ReadmeTests {
    static func block(after marker: String) throws -> String {
        let readme = try String(contentsOf: Repo.root.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: marker), "README has no \(marker)")
        let rest = readme[start.upperBound...]
        let open = try #require(rest.range(of: "```sh\n"))
        let close = try #require(rest[open.upperBound...].range(of: "```"))
        return String(rest[open.upperBound..<close.lowerBound])
    }

    @Test(.requires(.curl)) func quickStartWorksAsWritten() throws {
        let block = try Self.block(after: "<!-- readme-test: quickstart -->")
        let lines = block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "make build")
        let binLine = try #require(lines.first { $0.hasPrefix("BIN=") })
        #expect(binLine == "BIN=$(swift build --show-bin-path)/phasewatch")
        // Port 9470 is the README's; it must be free for this test.
        guard InstallTests.shell("! (exec 3<>/dev/tcp/127.0.0.1/9470) 2>/dev/null").status == 0 else {
            try Test.cancel("needs port 9470 free: README's Quick start uses it")
        }
        let script = lines.map { line -> String in
            if line == "make build" { return "# make build: done by the test run" }
            if line == binLine { return "BIN=\(PhaseWatchBinary.path)" }
            return line
        }.joined(separator: "\n")
        let dir = Scratch.dir.appendingPathComponent("readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("examples"), withDestinationURL: Repo.root.appendingPathComponent("examples"))
        let run = InstallTests.shell("set -euo pipefail\n" + script, in: dir)
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("examples/quickstart.yml: OK, 3 targets"), "\(run.output)")
        #expect(run.output.contains("\"success\":true") || run.output.contains("\"success\" : true"), "\(run.output)")
        #expect(run.output.contains("agent-health"))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("rules.yml").path))
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("data/phasewatch.db").path))
    }
}
