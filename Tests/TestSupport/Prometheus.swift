import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real Prometheus (Debian's `prometheus` package) on 127.0.0.1, for tests that need one.
// The Process is started in init and only terminated afterwards; no state is shared unguarded.
public final class PrometheusServer: @unchecked Sendable {
    public let port: Int
    private let process: Process

    /// Starts Prometheus on a free loopback port with `config` (YAML text) in `dir`, and waits
    /// until it is ready.
    /// Skips the test when Prometheus is not installed.
    /// `features` go to `--enable-feature` (`native-histograms`, `exemplar-storage`), `flags`
    /// as they are (`--web.enable-remote-write-receiver`). `port` restarts one on the port (and
    /// with the data, in `dir`) of one stopped before.
    public init(config: String, dir: URL, features: [String] = [], flags: [String] = [], port: Int? = nil) async throws {
        try requireTool(.prometheus)
        let configPath = dir.appendingPathComponent("prometheus.yml").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        self.port = port ?? TestServer.closedPort()
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "prometheus", "--config.file=\(configPath)", "--storage.tsdb.path=\(dir.appendingPathComponent("tsdb").path)",
            "--web.listen-address=127.0.0.1:\(self.port)",
        ] + (features.isEmpty ? [] : ["--enable-feature=\(features.joined(separator: ","))"]) + flags
        let log = dir.appendingPathComponent("prometheus.log")
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        try handle.seekToEnd()  // a restart adds to the log of the run before
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        for _ in 0..<100 {
            if let (_, response) = try? await URLSession.shared.data(from: url("/-/ready")),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        stop()
        throw StartError(log: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    public struct StartError: Error, CustomStringConvertible {
        public let log: String
        public var description: String { "Prometheus did not become ready:\n\(log)" }
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func url(_ path: String) -> URL { URL(string: baseURL + path)! }

    /// `data` of a Prometheus API answer (`/api/v1/...`), or nil when it failed.
    public func api(_ path: String, query: [String: String] = [:]) async throws -> Any? {
        var parts = URLComponents(string: baseURL + path)!
        if !query.isEmpty { parts.queryItems = query.map { URLQueryItem(name: $0.key, value: $0.value) } }
        let (data, _) = try await URLSession.shared.data(from: parts.url!)
        let body = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        guard body?["status"] as? String == "success" else { return nil }
        return body?["data"]
    }

    /// An instant query: each series' labels and value.
    public func query(_ promql: String) async throws -> [(labels: [String: String], value: Double)] {
        let data = try await api("/api/v1/query", query: ["query": promql]) as? [String: Any]
        let result = data?["result"] as? [[String: Any]] ?? []
        return result.map { series in
            let value = (series["value"] as? [Any])?.last as? String
            return (series["metric"] as? [String: String] ?? [:], value.flatMap(Double.init) ?? .nan)
        }
    }

    public func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}
