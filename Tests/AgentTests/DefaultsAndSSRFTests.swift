import Foundation
import TestSupport
import Testing

/// Issue #6's defaults: the real binary listens on 127.0.0.1 only when no address is given, and
/// no endpoint fetches a URL that a request names (no SSRF): only configured targets are probed.
@Suite(.serialized)
struct DefaultsAndSSRFTests {
    /// Listening TCP sockets on `port` from /proc/net/tcp and tcp6, as (hex address, family).
    static func listeners(port: Int) throws -> [String] {
        var found: [String] = []
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            // Read to the end: /proc files report size 0, and String(contentsOfFile:) then
            // stops after its first read (one page), missing listeners on a busy machine.
            let data = try FileHandle(forReadingFrom: URL(fileURLWithPath: file)).readToEnd() ?? Data()
            let text = String(decoding: data, as: UTF8.self)
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 3, fields[3] == "0A" else { continue }  // 0A = LISTEN
                let local = fields[1].split(separator: ":")
                if local.count == 2, Int(local[1], radix: 16) == port { found.append(String(local[0])) }
            }
        }
        return found
    }

    @Test func defaultAddressIsLoopbackAndNoRequestMakesTheAgentFetchAURL() async throws {
        let dir = Scratch.dir.appendingPathComponent("ssrf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // No targets: whatever reaches the recorder was asked for by a request.
        try "storage:\n  path: pw.db\ntargets: []\n".write(to: dir.appendingPathComponent("pw.yml"), atomically: true, encoding: .utf8)
        try #require(try Self.listeners(port: 9470).isEmpty, "port 9470 is in use; this test needs the default port")
        let record = try ServerProcess(script: "recordserver.py", arguments: [])
        let recordPort = record.port("http")
        let agent = try ExternalCommand.start(
            ["run", "--config.file=pw.yml", "--log.level=error"], executable: PhaseWatchBinary.path, directory: dir,
            output: dir.appendingPathComponent("agent.log"))
        defer { agent.terminate() }
        let base = "http://127.0.0.1:9470"
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? await ExternalCommand.httpStatus(base + "/-/ready")) == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(ready, "the agent did not answer on \(base)")

        // Every listening socket on the default port is 127.0.0.1 (0100007F), none on 0.0.0.0 or ::.
        let addresses = try Self.listeners(port: 9470)
        #expect(!addresses.isEmpty && addresses.allSatisfy { $0 == "0100007F" }, "listening on \(addresses)")

        // Every documented path, with a URL of the recorder put wherever a request could carry one.
        let lure = "http://127.0.0.1:\(recordPort)/lure"
        let encoded = lure.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let document = try JSONSerialization.jsonObject(with: Data(try await ExternalCommand.httpBody(base + "/api/v1/openapi.json").utf8))
        let paths = try #require(((document as? [String: Any])?["paths"] as? [String: Any])?.keys)
        var requests = 0
        for path in paths.sorted() + ["/", "/-/healthy", "/-/ready", "/metrics"] {
            let filled = path.replacingOccurrences(of: "{name}", with: encoded)
            for query in ["", "?url=\(encoded)", "?target=\(encoded)&name=\(encoded)", "?window=1h&since=\(encoded)"] {
                for method in ["GET", "POST"] {
                    _ = try? await ExternalCommand.httpStatus(base + filled + query, method: method)
                    requests += 1
                }
            }
        }
        #expect(requests > 40)
        let recorded = try await ExternalCommand.httpBody("http://127.0.0.1:\(recordPort)/recorded")
        #expect(recorded == "[]", "the agent fetched: \(recorded)")
    }
}
