@testable import Agent
import Config
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// gzip when the client asks (docs/metrics.md, "Compression"): through the real server on an
/// ephemeral port, every exchange of a test on one keep-alive connection (Python's http.client,
/// Tests/Support/http_exchange.py), so a body after a HEAD or a wrong Content-Length breaks the
/// next response; bodies gunzipped by Python's gzip module, not by the code under test.
@Suite(.serialized)
struct ResponseCompressionTests {
    static let logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .error  // not a line per target that has never been probed
        return logger
    }()

    // MARK: Accept-Encoding

    @Test(arguments: [
        ([], false),
        (["gzip"], true),  // Prometheus
        (["GZip"], true),
        (["x-gzip"], true),
        (["gzip, deflate, br, zstd"], true),  // browsers
        (["deflate, gzip;q=1.0, *;q=0.5"], true),
        (["gzip;q=0"], false),
        (["gzip; q=0.000"], false),
        (["gzip ;Q=0.001"], true),
        (["gzip;q=0, *"], false),  // an explicit refusal wins over *
        (["*"], true),
        (["*;q=0"], false),
        (["br, *;q=0.1"], true),
        (["identity"], false),
        (["deflate"], false),
        (["br", "gzip"], true),  // two header lines
        (["gzip;q=abc"], false),  // malformed weights refuse
        (["gzip;q=2"], false),
        (["gzip;q"], false),
        (["gzip;level=1"], true),  // other parameters are not weights
    ] as [([String], Bool)])
    func acceptEncoding(fields: [String], accepts: Bool) {
        #expect(AcceptEncoding.acceptsGzip(fields) == accepts, "\(fields)")
    }

    // MARK: /metrics and the API through the agent

    /// An agent with `targets` targets (closed ports, never probed: no services run), each with
    /// one recorded result so every per-target family has its series; `web` a web config.
    static func withAgent(targets count: Int, web: String? = nil, _ test: @Sendable (_ port: Int) async throws -> Void) async throws {
        let dir = Scratch.dir.appendingPathComponent("gzip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let closed = TestServer.closedPort()
        let targets = (0..<count).map { Target(name: "target-\($0)", url: "https://127.0.0.1:\(closed)/path/\($0)") }
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let runtime = AgentRuntime(config: AgentConfig(targets: targets), source: .text("", name: "test"), store: store, logger: logger)
        runtime.prepareWithoutProbing()
        for (n, target) in targets.enumerated() { runtime.record(result(target.name, success: n % 7 != 0), of: target) }
        let security = try web.map { try WebSecurity(WebConfigLoader.parse(yaml: $0, file: "web.yml", baseDirectory: dir.path)) } ?? .none
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger, security: security)
        try await app.test(.live) { client in try await test(try #require(client.port)) }
    }

    static func result(_ target: String, success: Bool) -> ProbeResult {
        ProbeResult(
            target: target, url: "https://example.test/", startedAt: Date(), success: success,
            failure: success ? nil : Failure(phase: .connect, reason: .connectRefused, message: "connection refused"),
            phases: Phases(resolve: 0.001, connect: 0.002, tls: success ? 0.03 : nil, processing: success ? 0.05 : nil,
                           transfer: success ? 0.001 : nil),
            duration: success ? 0.084 : 0.003,
            http: success ? HTTPFacts(status: 200, version: "1.1", redirects: 0, contentLength: 2, bodyBytes: 2) : nil,
            tls: nil, ip: IPFacts(address: "127.0.0.1", family: 4), traceId: "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    /// Hundreds of targets: /metrics spans several 256 KiB chunks, each compressed as it comes.
    @Test func metricsAndAPIAreGzippedWhenAsked() async throws {
        try await Self.withAgent(targets: 600) { port in
            let gzip = ["Accept-Encoding": "gzip"]
            let exchange = try await Exchange.run(port: port, [
                .init("GET", "/metrics", gzip),  // 0
                .init("GET", "/metrics"),  // 1
                .init("GET", "/metrics", ["Accept-Encoding": "gzip;q=0"]),  // 2
                .init("HEAD", "/metrics", gzip),  // 3
                .init("GET", "/metrics", ["Accept-Encoding": "deflate, identity"]),  // 4
                .init("GET", "/api/v1/openapi.json", gzip),  // 5
                .init("GET", "/api/v1/openapi.json"),  // 6
                .init("GET", "/api/v1/targets", ["Accept-Encoding": "gzip, deflate, br"]),  // 7
                .init("GET", "/-/healthy", gzip),  // 8: tiny, plain
                .init("GET", "/api/v1/targets/nope", gzip),  // 9: a thrown API error, small
                .init("GET", "/metrics", gzip),  // 10: after all that, the connection is still in step
                .init("GET", "/metrics"),  // 11
            ])
            let r = exchange.responses

            // Compressed, streamed (chunked, no Content-Length), and says it varies.
            for n in [0, 5, 7, 10] {
                #expect(r[n].status == 200, "\(n)")
                #expect(r[n].header("Content-Encoding") == ["gzip"], "\(n)")
                #expect(r[n].header("Content-Length").isEmpty && r[n].chunked, "\(n): \(r[n].headers)")
                #expect(r[n].header("Vary").contains("Accept-Encoding"), "\(n)")  // /metrics varies with Accept too
                #expect(r[n].magic == "1f8b", "\(n)")
                #expect(r[n].gunzipError == nil, "\(n): \(r[n].gunzipError ?? "")")
            }
            #expect(r[0].header("Content-Type") == ["text/plain; version=0.0.4; charset=utf-8"])
            #expect(r[0].header("Vary").contains("Accept"), "the format follows Accept")

            // Plain: not asked, refused with q=0, only codings other than gzip.
            let plain = try exchange.body(1)
            for n in [1, 2, 4, 6] {
                #expect(r[n].header("Content-Encoding").isEmpty, "\(n)")
                #expect(r[n].header("Vary").contains("Accept-Encoding"), "\(n)")  // /metrics varies with Accept too
                #expect(r[n].magic != "1f8b", "\(n)")
            }
            #expect(plain.count > 3 * AgentMetrics.chunkBytes, "\(plain.count) bytes: fewer than 4 chunks")

            // The same exposition either way (process_* samples move between two scrapes).
            let unzipped = try exchange.gunzipped(0)
            #expect(Self.stable(unzipped) == Self.stable(plain))
            #expect(Self.stable(try exchange.body(2)) == Self.stable(plain))
            #expect(r[0].size * 5 < plain.count, "gzip \(r[0].size) of \(plain.count) bytes")
            #expect(try exchange.gunzipped(5) == exchange.body(6))

            // HEAD: no body, headers of the plain answer.
            #expect(r[3].status == 200 && r[3].size == 0)
            #expect(r[3].header("Content-Encoding").isEmpty)
            #expect(r[3].header("Vary").contains("Accept-Encoding"))

            // Small answers stay plain and do not vary.
            for n in [8, 9] {
                #expect(r[n].header("Content-Encoding").isEmpty, "\(n)")
                #expect(r[n].header("Vary").isEmpty, "\(n)")
            }
            #expect(r[9].status == 404)
            // (The API's SLO snapshot moved phasewatch_slo_refresh_seconds since 1: compare with 11.)
            #expect(Self.stable(try exchange.gunzipped(10)) == Self.stable(try exchange.body(11)))
        }
    }

    /// The same over HTTPS (`tls_server_config`): the middleware sits above the TLS layer.
    @Test func gzipOverTLS() async throws {
        let web = """
            tls_server_config:
              cert_file: \(Certs.path("server.pem"))
              key_file: \(Certs.path("server.key"))
            """
        try await Self.withAgent(targets: 50, web: web) { port in
            let exchange = try await Exchange.run(port: port, tls: true, [
                .init("HEAD", "/metrics", ["Accept-Encoding": "gzip"]),
                .init("GET", "/metrics", ["Accept-Encoding": "gzip"]),
                .init("GET", "/metrics"),
            ])
            let r = exchange.responses
            #expect(r[0].size == 0 && r[0].header("Content-Encoding").isEmpty)
            #expect(r[1].header("Content-Encoding") == ["gzip"] && r[1].header("Content-Length").isEmpty)
            #expect(r[2].header("Content-Encoding").isEmpty)
            #expect(Self.stable(try exchange.gunzipped(1)) == Self.stable(try exchange.body(2)))
        }
    }

    /// The exposition without its `process_*` samples, which change between any two scrapes.
    static func stable(_ body: Data) -> [Substring] {
        String(decoding: body, as: UTF8.self).split(separator: "\n").filter { !$0.hasPrefix("process_") }
    }

    // MARK: Exact bytes, through a router of the test's own

    /// Many writes of a streamed body, a large incompressible one of known length, an empty
    /// streamed one, a body that already has its coding: byte for byte after gunzip.
    @Test func exactBytesWhateverTheBody() async throws {
        var random = SplitMix64(seed: 42)
        let words = (0..<5000).map { _ in "w\(random.next() % 1000)" }
        let chunks = (0..<9).map { n in
            ByteBuffer(string: (0..<40_000).map { words[($0 * 7 + n) % words.count] }.joined(separator: " "))
        }
        let noise = ByteBuffer(bytes: (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &random) })
        let router = Router()
        router.add(middleware: ResponseCompressionMiddleware())
        router.get("/stream") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in
                for chunk in chunks { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
        }
        router.get("/noise") { _, _ in Response(status: .ok, body: ResponseBody(byteBuffer: noise)) }
        router.get("/empty") { _, _ in
            Response(status: .ok, body: ResponseBody { writer in try await writer.finish(nil) })
        }
        router.get("/coded") { _, _ in
            Response(status: .ok, headers: [.contentEncoding: "br"], body: ResponseBody(byteBuffer: noise))
        }
        router.get("/nothing") { _, _ in Response(status: .noContent) }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: Self.logger)
        try await app.test(.live) { client in
            let gzip = ["Accept-Encoding": "gzip"]
            let exchange = try await Exchange.run(port: try #require(client.port), [
                .init("GET", "/stream", gzip), .init("GET", "/noise", gzip), .init("GET", "/empty", gzip),
                .init("GET", "/coded", gzip), .init("GET", "/nothing", gzip), .init("GET", "/stream", gzip),
            ])
            let r = exchange.responses
            let expected = chunks.reduce(into: Data()) { $0.append(contentsOf: $1.readableBytesView) }
            #expect(try exchange.gunzipped(0) == expected)
            #expect(try exchange.gunzipped(1) == Data(noise.readableBytesView))
            #expect(r[1].header("Content-Length").isEmpty, "the uncompressed length must go")
            #expect(try exchange.gunzipped(2).isEmpty && r[2].header("Content-Encoding") == ["gzip"])
            #expect(r[3].header("Content-Encoding") == ["br"] && r[3].header("Vary").isEmpty)
            #expect(try exchange.body(3) == Data(noise.readableBytesView))
            #expect(r[4].status == 204 && r[4].header("Content-Encoding").isEmpty && r[4].size == 0)
            #expect(try exchange.gunzipped(5) == expected)
        }
    }
}

/// Tests/Support/http_exchange.py: requests in order on one connection, bodies saved as sent.
private struct Exchange {
    struct Request: Encodable {
        let method: String
        let path: String
        let headers: [String: String]
        init(_ method: String, _ path: String, _ headers: [String: String] = [:]) {
            self.method = method
            self.path = path
            self.headers = headers
        }
    }

    struct Response: Decodable {
        let status: Int
        let headers: [[String]]
        let chunked: Bool
        let size: Int
        let magic: String
        let gunzipError: String?

        enum CodingKeys: String, CodingKey {
            case status, headers, chunked, size, magic
            case gunzipError = "gunzip_error"
        }

        func header(_ name: String) -> [String] {
            headers.filter { $0[0].lowercased() == name.lowercased() }.map { $0[1] }
        }
    }

    let dir: URL
    let responses: [Response]

    func body(_ n: Int) throws -> Data { try Data(contentsOf: dir.appendingPathComponent("\(n).body")) }
    func gunzipped(_ n: Int) throws -> Data { try Data(contentsOf: dir.appendingPathComponent("\(n).gunzip")) }

    static func run(port: Int, tls: Bool = false, _ requests: [Request]) async throws -> Exchange {
        try requireTool(.python3)
        let dir = Scratch.dir.appendingPathComponent("exchange-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let input = dir.appendingPathComponent("requests.json")
        try JSONEncoder().encode(requests).write(to: input)
        let output = dir.appendingPathComponent("responses.json")
        let errors = dir.appendingPathComponent("stderr")
        var arguments = ["python3", Repo.support.appendingPathComponent("http_exchange.py").path, "127.0.0.1", "\(port)", dir.path]
        if tls { arguments += ["--cafile", Certs.ca, "--server-name", "localhost"] }
        let status = try await run(arguments, stdin: input, stdout: output, stderr: errors)
        let printed = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        guard status == 0 else {
            Issue.record("http_exchange.py exited \(status): \(printed) \(stderr)")
            throw CancellationError()
        }
        let responses = try JSONDecoder().decode([Response].self, from: Data(printed.utf8))
        try #require(responses.count == requests.count)
        return Exchange(dir: dir, responses: responses)
    }

    /// Runs a process to its end without blocking a thread (the server under test needs them).
    static func run(_ arguments: [String], stdin: URL, stdout: URL, stderr: URL) async throws -> Int32 {
        for url in [stdout, stderr] { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        let input = try FileHandle(forReadingFrom: stdin)
        let out = try FileHandle(forWritingTo: stdout)
        let err = try FileHandle(forWritingTo: stderr)
        defer { try? input.close(); try? out.close(); try? err.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        return process.terminationStatus
    }
}
