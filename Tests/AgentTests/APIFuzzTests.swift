import Agent
import Config
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import Synchronization
import TestSupport
import Testing

/// schemathesis (property-based API fuzzing from the OpenAPI document) against a live agent:
/// real HTTP server, real scheduler probing local test servers, real SQLite with two hours of
/// history. Every operation of `/api/v1/openapi.json` gets generated requests, valid and
/// invalid; no response may be a 5xx, and every response must match the document (status
/// code, content type, headers, body schema), and invalid input must be rejected with a 4xx.
/// Reproduce a run with the seed it prints (`PHASEWATCH_SCHEMATHESIS_SEED`).
@Suite(.serialized)
struct APIFuzzTests {
    static let seed = ProcessInfo.processInfo.environment["PHASEWATCH_SCHEMATHESIS_SEED"] ?? "20261202"
    static let examples = ProcessInfo.processInfo.environment["PHASEWATCH_SCHEMATHESIS_EXAMPLES"] ?? "60"
    let logger = Logger(label: "api-fuzz")

    @Test(.requires(.schemathesis)) func schemathesisFindsNoServerErrorAndNoSchemaViolation() async throws {
        let dir = Scratch.dir.appendingPathComponent("api-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        let closed = TestServer.closedPort()
        // Only local test servers: each kind of result (success, HTTP failure, failed
        // assertion, refused connection, TLS) ends up in the history and the API.
        let yaml = """
            global: {interval: 1s, timeout: 900ms, location: fuzz}
            storage: {path: \(dir.appendingPathComponent("pw.db").path), raw_retention: 1d, rollup_retention: 30d}
            targets:
              - name: ok
                url: \(TestServer.http("/?processing=0.005"))
                slo: {window: 1h, availability: 99, latency: {threshold: 50ms, objective: 90}}
              - name: fails
                url: \(TestServer.http("/?status=500"))
                slo: {availability: 99.9}
              - name: assert
                url: \(TestServer.http("/?body=hello"))
                expect: {body_matches: "^bye"}
              - name: closed
                url: http://127.0.0.1:\(closed)/
              - name: tls
                url: https://127.0.0.1:\(TestServer.shared.port("https"))/
                tls: {ca_file: \(Certs.ca)}
                slo: {latency: {threshold: 100ms, objective: 99}}
            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath)
        let store = try ProbeStore(path: config.storage.path)
        try await store.insert(Self.history(now: Date()))

        // The file source: POST /-/reload is in the document, so schemathesis calls it. It reads
        // this same valid file again (a reload schemathesis cannot change into anything else).
        let runtime = AgentRuntime(config: config, source: .file(configPath), store: store, logger: logger)
        runtime.start()
        let app = buildApplication(
            runtime: runtime, host: "127.0.0.1", port: 0, services: agentServices(runtime: runtime, logger: logger), logger: logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let base = "http://127.0.0.1:\(port)"
            // A few live probes of every target first, so `last`, states and SLOs are filled.
            try await Task.sleep(for: .seconds(2.5))
            let loadedBefore = try await Self.gauge("phasewatch_config_last_reload_success_timestamp_seconds", base)

            let output = dir.appendingPathComponent("schemathesis.txt")
            let status = try await ExternalCommand.run(
                [
                    // schemathesis' console script, run by the python3 that `make deps` installed it for.
                    "python3", "-c", "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; schemathesis()",
                    "run", "\(base)/api/v1/openapi.json",
                    "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                        + "response_headers_conformance,response_schema_conformance,negative_data_rejection",
                    "--max-examples", Self.examples, "--seed", Self.seed,
                    "--workers", "1", "--request-timeout", "10", "--max-failures", "20",
                    "--generation-database", "none", "--no-color",
                ],
                directory: dir, output: output, timeout: .seconds(240))
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            print("schemathesis (seed \(Self.seed), \(Self.examples) examples per operation), exit \(status):")
            print(Self.summary(of: text))
            #expect(status == 0, "schemathesis found problems (exit \(status)); full output in \(output.path):\n\(text)")
            // The report's `from` before `to` and its cap of 10 000 periods relate parameters,
            // which OpenAPI cannot say: schemathesis' random pairs are mostly refused with 400, and
            // it warns so. That warning, for that operation alone, is the one allowed.
            let onlyReportWarning = text.contains("1 warning in") && text.contains("Schema validation mismatch: 1 operation")
                && text.contains("  - GET /api/v1/targets/{name}/report\n")
            #expect(text.contains("No issues found") || onlyReportWarning)
            // It really ran: every operation of the document, hundreds of requests.
            #expect(text.contains("Tested: 12"), "\(text)")
            let generated = Self.generatedCases(text)
            #expect(generated >= 300, "only \(generated) test cases")

            // And the agent is still whole: it answers, still probes, and reloads did not
            // change its targets.
            #expect(try await ExternalCommand.httpStatus("\(base)/-/healthy") == 200)
            #expect(runtime.config.targets.map(\.name) == ["ok", "fails", "assert", "closed", "tls"])
            #expect(try await Self.gauge("phasewatch_config_last_reload_successful", base) == 1)
            // schemathesis did POST /-/reload (the file was loaded again, successfully).
            let loadedAfter = try await Self.gauge("phasewatch_config_last_reload_success_timestamp_seconds", base)
            #expect(try #require(loadedAfter) > #require(loadedBefore))
        }
        let stored = try await store.results(target: "ok", since: Date().addingTimeInterval(-60), until: nil, limit: 1000, cursor: nil)
        #expect(stored.results.count >= 3, "the agent kept probing during the run")
    }

    /// Two hours of results for "ok" and "tls", and a target only the history knows.
    static func history(now: Date) -> [StoredProbe] {
        var rng = SplitMix64(seed: 42)
        var probes: [StoredProbe] = []
        for i in 0..<720 {
            let started = now.addingTimeInterval(-7200 + Double(i) * 10)
            for target in ["ok", "tls", "retired"] {
                let fails = Int.random(in: 0..<20, using: &rng) == 0
                let processing = rng.latency(median: 0.02, sigma: 0.5)
                let tls = target == "tls"
                probes.append(StoredProbe(
                    result: ProbeResult(
                        target: target, url: tls ? "https://127.0.0.1/" : "http://127.0.0.1/", startedAt: started,
                        success: !fails,
                        failure: fails ? Failure(phase: .assert, reason: .status, message: "status 503 is not 2xx") : nil,
                        phases: Phases(resolve: 0.0001, connect: 0.0002, tls: tls ? 0.004 : 0, processing: processing, transfer: 0.0001),
                        duration: processing + (tls ? 0.0044 : 0.0004),
                        http: HTTPFacts(status: fails ? 503 : 200, version: "1.1", redirects: 0, contentLength: 2, bodyBytes: 2),
                        tls: tls ? TLSFacts(version: "TLS 1.3", cipher: "TLS_AES_256_GCM_SHA384", alpn: "http/1.1",
                                            certNotAfter: now.addingTimeInterval(86_400 * 60), chainExpiry: now.addingTimeInterval(86_400 * 60),
                                            subject: "CN=localhost", issuer: "CN=phasewatch test CA", sans: ["localhost", "127.0.0.1"]) : nil,
                        ip: IPFacts(address: "127.0.0.1", family: 4), traceId: String(format: "%032x", i * 3 + probes.count + 1)),
                    latencyThreshold: .milliseconds(50)))
            }
        }
        return probes
    }

    /// The value of a gauge without labels but `location` in /metrics.
    static func gauge(_ name: String, _ base: String) async throws -> Double? {
        let metrics = try await ExternalCommand.httpBody("\(base)/metrics")
        let line = metrics.split(separator: "\n").first { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    /// The part of schemathesis' output worth keeping in the test log: phases, failures, summary.
    static func summary(of text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let start = lines.firstIndex { $0.contains("Examples (") || $0.contains("Coverage (") } ?? lines.startIndex
        return lines[start...].filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.joined(separator: "\n")
    }

    /// "1216 generated, 1216 passed" → 1216.
    static func generatedCases(_ text: String) -> Int {
        for line in text.split(separator: "\n") where line.contains(" generated") {
            let words = line.split(separator: " ")
            if let index = words.firstIndex(where: { $0.hasPrefix("generated") }), index > 0, let count = Int(words[index - 1]) {
                return count
            }
        }
        return 0
    }
}

/// Child processes for tests that run tools (schemathesis, the phasewatch binary): output to a
/// file (a pipe nobody drains could fill up and stall the child), waited for without blocking a
/// thread of the cooperative pool, killed after a timeout. HTTP proxies are removed from the
/// environment: every request a test makes goes to 127.0.0.1 directly.
enum ExternalCommand {
    /// A started child. `Process` is not Sendable; it is configured before it starts and only
    /// signalled afterwards, and its exit status is kept under a lock.
    final class Running: @unchecked Sendable {
        let process = Process()
        private let state = Mutex<(status: Int32?, waiting: [CheckedContinuation<Int32, Never>])>((nil, []))

        fileprivate func exited(_ status: Int32) {
            let waiting = state.withLock { state in
                state.status = status
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume(returning: status) }
        }

        /// SIGTERM.
        func terminate() { process.terminate() }

        /// The exit status, once the child has exited.
        func wait() async -> Int32 {
            await withCheckedContinuation { continuation in
                let status = state.withLock { state in
                    if state.status == nil { state.waiting.append(continuation) }
                    return state.status
                }
                if let status { continuation.resume(returning: status) }
            }
        }
    }

    static var localEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
            environment[key] = nil
        }
        environment["NO_PROXY"] = "127.0.0.1,localhost,::1"
        environment["no_proxy"] = "127.0.0.1,localhost,::1"
        return environment
    }

    /// Starts `executable` with `arguments` in `directory`, stdout and stderr into `output`.
    static func start(_ arguments: [String], executable: String, directory: URL, output: URL) throws -> Running {
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let file = try FileHandle(forWritingTo: output)
        defer { try? file.close() }  // the child has its own copy once started
        let running = Running()
        let process = running.process
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = localEnvironment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = file
        process.standardError = file
        process.terminationHandler = { [running] process in running.exited(process.terminationStatus) }
        try process.run()
        return running
    }

    /// Runs a command to its end (`arguments` looked up in PATH unless `executable` is given);
    /// returns its exit status (after SIGTERM at the timeout: the signal's number).
    static func run(
        _ arguments: [String], executable: String = "/usr/bin/env", directory: URL, output: URL, timeout: Duration
    ) async throws -> Int32 {
        let running = try start(arguments, executable: executable, directory: directory, output: output)
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            running.terminate()
        }
        defer { watchdog.cancel() }
        return await running.wait()
    }

    static func httpStatus(_ url: String, method: String = "GET") async throws -> Int {
        try await request(url, method: method).status
    }

    static func httpBody(_ url: String) async throws -> String {
        try await request(url).body
    }

    static func request(_ url: String, method: String = "GET") async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = method
        let configuration = URLSessionConfiguration.ephemeral
        configuration.connectionProxyDictionary = [:]
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let (data, response) = try await session.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }
}
