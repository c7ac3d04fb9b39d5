import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import PhaseWatchCore
import PrometheusModel
import Synchronization
import TestSupport
import Testing

@testable import RemoteWrite

/// The sender against a real HTTP server (Tests/Support/recordserver.py) that records every
/// request and answers with the status a test asks for: what goes on the wire, and what
/// retries, refusals and an unreachable receiver do to the queue and the counts.
@Suite(.serialized)
struct SenderTests {
    struct Recorded: Decodable {
        let path: String
        let headers: [String: String]
        let body: String

        /// The request body as the receiver decodes it: snappy, then protobuf.
        func writeRequest() throws -> Prometheus_WriteRequest {
            let compressed = [UInt8](Data(base64Encoded: body) ?? Data())
            let bytes = try #require(Snappy.uncompress(compressed), "not a snappy block")
            return try Prometheus_WriteRequest(serializedBytes: bytes)
        }
    }

    final class Counts: Sendable {
        let values = Mutex<[String: Int]>([:])
        func add(_ key: String, _ n: Int) { values.withLock { $0[key, default: 0] += n } }
        subscript(key: String) -> Int { values.withLock { $0[key] ?? 0 } }

        var hooks: SenderHooks {
            SenderHooks(
                sent: {
                    self.add("sent", $0)
                    self.add("bytes", $1)
                }, failed: { self.add("failed", $0) }, dropped: { self.add("dropped", $0) },
                pending: { n in self.values.withLock { $0["pending"] = n } }, succeeded: { _ in self.add("successes", 1) })
        }
    }

    static let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    static func series(_ name: String, _ count: Int, at timestamp: Int64 = 1_000) -> [Prometheus_TimeSeries] {
        (0..<count).map { i in
            var ts = Prometheus_TimeSeries()
            var label = Prometheus_Label()
            label.name = "__name__"
            label.value = name
            var target = Prometheus_Label()
            target.name = "target"
            target.value = "t\(i)"
            ts.labels = [label, target]
            var sample = Prometheus_Sample()
            sample.value = Double(i)
            sample.timestamp = timestamp
            ts.samples = [sample]
            return ts
        }
    }

    static func recorded(_ server: ServerProcess) async throws -> [Recorded] {
        let url = URL(string: "http://127.0.0.1:\(server.port("http"))/recorded")!
        let (data, _) = try await URLSession(configuration: .ephemeral).data(from: url)
        return try JSONDecoder().decode([Recorded].self, from: data)
    }

    static func waitUntil(_ what: String, timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func sendsWriteRequestsWithTheProtocolHeaders() async throws {
        let server = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { server.stop() }
        let dir = Scratch.dir.appendingPathComponent("rw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let token = dir.appendingPathComponent("token")
        try "s3cret-token\n".write(to: token, atomically: true, encoding: .utf8)
        var settings = RemoteWriteConfig(url: "http://127.0.0.1:\(server.port("http"))/api/v1/write")
        settings.bearerTokenFile = token.path
        settings.headers = [Header(name: "X-Scope-OrgID", value: "team-a")]
        let counts = Counts()
        let sender = RemoteWriteSender(settings: settings, userAgent: "phasewatch/test", hooks: counts.hooks, logger: Self.quiet)
        // 2 500 series: two requests, the metadata in the first.
        var metadata = Prometheus_MetricMetadata()
        metadata.metricFamilyName = "probe_success"
        metadata.type = .gauge
        sender.enqueue(Batcher.batches(Self.series("probe_success", 2500), metadata: [metadata]))
        try await Self.waitUntil("both requests were sent") { counts["sent"] == 2500 }
        await sender.stop(drain: .seconds(1))

        let requests = try await Self.recorded(server)
        try #require(requests.count == 2)
        for request in requests {
            #expect(request.path == "/api/v1/write")
            #expect(request.headers["content-type"] == "application/x-protobuf")
            #expect(request.headers["content-encoding"] == "snappy")
            #expect(request.headers["x-prometheus-remote-write-version"] == "0.1.0")
            #expect(request.headers["authorization"] == "Bearer s3cret-token")
            #expect(request.headers["x-scope-orgid"] == "team-a")
            #expect(request.headers["user-agent"] == "phasewatch/test")
        }
        let first = try requests[0].writeRequest(), second = try requests[1].writeRequest()
        #expect(first.timeseries.count == Batcher.maxSeriesPerRequest && second.timeseries.count == 500)
        #expect(first.metadata.map(\.metricFamilyName) == ["probe_success"] && second.metadata.isEmpty)
        // In order: the first request has t0…, the second ends with the last series.
        #expect(first.timeseries[0].labels.map(\.value) == ["probe_success", "t0"])
        #expect(second.timeseries.last?.samples == [Self.sample(2499, 1_000)])
        #expect(counts["failed"] == 0 && counts["dropped"] == 0 && counts["pending"] == 0)
        #expect(counts["bytes"] == requests.reduce(0) { $0 + (Data(base64Encoded: $1.body)?.count ?? 0) })
    }

    static func sample(_ value: Double, _ timestamp: Int64) -> Prometheus_Sample {
        var sample = Prometheus_Sample()
        sample.value = value
        sample.timestamp = timestamp
        return sample
    }

    /// 503 and 429 are retried with the batch kept at the head: the two batches arrive once
    /// the receiver is back, oldest first, and each failed attempt counted its samples.
    @Test(arguments: [503, 429])
    func retriesUntilTheReceiverTakesThemInOrder(status: Int) async throws {
        let server = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { server.stop() }
        let settings = RemoteWriteConfig(url: "http://127.0.0.1:\(server.port("http"))/w?status=\(status)&fail_first=3")
        let counts = Counts()
        let sender = RemoteWriteSender(settings: settings, userAgent: "t", hooks: counts.hooks, logger: Self.quiet)
        sender.enqueue(Batcher.batches(Self.series("old", 10, at: 1_000)))
        sender.enqueue(Batcher.batches(Self.series("new", 10, at: 2_000)))
        try await Self.waitUntil("both batches were taken") { counts["sent"] == 20 }
        await sender.stop(drain: .seconds(1))
        #expect(counts["failed"] == 30, "three refused attempts of the 10-sample head batch")
        #expect(counts["dropped"] == 0)
        let taken = try await Self.recorded(server).dropFirst(3).map { try $0.writeRequest().timeseries[0].labels[0].value }
        #expect(taken == ["old", "new"])
    }

    /// Any other 4xx will never be taken: the batch is dropped and counted, the next one goes.
    @Test func dropsWhatTheReceiverRefuses() async throws {
        let server = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { server.stop() }
        let settings = RemoteWriteConfig(url: "http://127.0.0.1:\(server.port("http"))/w?status=400")
        let counts = Counts()
        let sender = RemoteWriteSender(settings: settings, userAgent: "t", hooks: counts.hooks, logger: Self.quiet)
        sender.enqueue(Batcher.batches(Self.series("a", 7)))
        sender.enqueue(Batcher.batches(Self.series("b", 5)))
        try await Self.waitUntil("both batches were refused") { counts["dropped"] == 12 }
        await sender.stop(drain: .seconds(1))
        #expect(counts["sent"] == 0 && counts["failed"] == 0 && counts["pending"] == 0)
        #expect(try await Self.recorded(server).count == 2, "each refused batch was sent once")
    }

    /// An unreachable receiver: attempts fail and are counted, the queue stays within
    /// max_pending by dropping the oldest, and a stop drops what is left.
    @Test func unreachableReceiverKeepsTheQueueBounded() async throws {
        var settings = RemoteWriteConfig(url: "http://127.0.0.1:\(TestServer.closedPort())/w")
        settings.maxPending = 1000
        settings.timeout = .seconds(1)
        let counts = Counts()
        let sender = RemoteWriteSender(settings: settings, userAgent: "t", hooks: counts.hooks, logger: Self.quiet)
        for round in 0..<5 { sender.enqueue(Batcher.batches(Self.series("s", 300, at: Int64(round)))) }
        try await Self.waitUntil("an attempt failed") { counts["failed"] > 0 }
        #expect(sender.pendingSamples == 900, "5 × 300 over a bound of 1 000: the two oldest went")
        #expect(counts["dropped"] == 600)
        // A stop does not wait on a receiver that is failing, whatever drain it allows.
        let stopping = ContinuousClock.now
        await sender.stop(drain: .seconds(5))
        #expect(ContinuousClock.now - stopping < .seconds(1))
        #expect(counts["dropped"] == 1500 && counts["sent"] == 0 && counts["pending"] == 0)
    }
}
