import Foundation
import PhaseWatchCore
import Probing
import TestSupport
import Testing

/// `connection: reuse | both` (docs/probing.md#connections) against nginx, whose idle
/// connections close after 1 s here: a probe within the second reuses the kept connection, one
/// after it sees the connection gone and says why.
@Suite(.serialized, .requires(.nginx))
struct ConnectionReuseTests {
    let prober = Prober()

    /// nginx closing idle connections after 1 s (HTTP/1.1: it closes the socket; HTTP/2: GOAWAY).
    static let server: ServerProcess = {
        do {
            return try ServerProcess(
                script: "h2server.py",
                arguments: ["--cert", Certs.path("server.pem"), "--key", Certs.path("server.key"), "--keepalive-timeout", "1s"])
        } catch {
            fatalError("could not start Tests/Support/h2server.py (is nginx installed?): \(error)")
        }
    }()

    private func target(_ listener: String, _ path: String = "/", connection: ConnectionMode) -> Target {
        let port = Self.server.port(listener)
        var target = Target(name: "t", url: listener == "http" ? "http://127.0.0.1:\(port)\(path)" : "https://localhost:\(port)\(path)")
        target.resolve = ["localhost:\(port):127.0.0.1"]
        target.tls.caFile = Certs.ca
        target.connection = connection
        return target
    }

    private func only(_ results: [ProbeResult]) throws -> ProbeResult {
        try #require(results.count == 1, "\(results)")
        let result = results[0]
        #expect(result.success, "\(String(describing: result.failure))")
        return result
    }

    @Test func reuseKeepsTheConnectionUntilTheServerClosesIt() async throws {
        let target = target("http", connection: .reuse)
        let kept = prober.keptConnection()
        let first = try only(await prober.run(target, keeping: kept))
        #expect(first.connection == .reused)
        #expect(first.connectionReused == false)
        #expect(first.connectionClosedReason == nil, "nothing was kept before the first probe")
        #expect(first.phases.connect != nil)

        let warm = try only(await prober.run(target, keeping: kept))
        #expect(warm.connectionReused)
        // Absent, not 0: no lookup, connection or handshake happened.
        #expect(warm.phases.resolve == nil && warm.phases.connect == nil && warm.phases.tls == nil, "\(warm.phases)")
        #expect(warm.phases.processing != nil && warm.phases.transfer != nil)
        let age = try #require(warm.connectionAge)
        #expect(age > 0 && age < 1)

        try await Task.sleep(for: .milliseconds(1600))  // past nginx's keepalive_timeout
        let reconnected = try only(await prober.run(target, keeping: kept))
        #expect(reconnected.connectionReused == false)
        #expect(reconnected.connectionClosedReason == .idleClosed)
        #expect(reconnected.connectionAge == nil)
        #expect(reconnected.phases.resolve != nil && reconnected.phases.connect != nil)
    }

    @Test func connectionCloseIsTheReasonGiven() async throws {
        let kept = prober.keptConnection()
        _ = try only(await prober.run(target("http", "/close", connection: .reuse), keeping: kept))
        let next = try only(await prober.run(target("http", connection: .reuse), keeping: kept))
        #expect(next.connectionReused == false)
        #expect(next.connectionClosedReason == .connectionClose)
    }

    @Test func http2ReuseAndGoaway() async throws {
        let target = target("h2", connection: .reuse)
        let kept = prober.keptConnection()
        _ = try only(await prober.run(target, keeping: kept))
        let warm = try only(await prober.run(target, keeping: kept))
        #expect(warm.connectionReused)
        #expect(warm.http?.version == "2")
        #expect(warm.tls?.alpn == "h2", "the kept connection's TLS facts")
        #expect(warm.phases.tls == nil)
        try await Task.sleep(for: .milliseconds(1600))
        let reconnected = try only(await prober.run(target, keeping: kept))
        #expect(reconnected.connectionReused == false)
        #expect(reconnected.connectionClosedReason == .idleClosed)
        #expect(reconnected.phases.tls != nil)
    }

    @Test func targetsOnOneHostNeverShareAConnection() async throws {
        let target = target("https", connection: .reuse)
        let a = prober.keptConnection()
        let b = prober.keptConnection()
        _ = try only(await prober.run(target, keeping: a))
        let other = try only(await prober.run(target, keeping: b))
        #expect(other.connectionReused == false)
        #expect(try only(await prober.run(target, keeping: a)).connectionReused)
    }

    @Test func bothMakesAColdAndAWarmRequest() async throws {
        let target = target("https", connection: .both)
        let kept = prober.keptConnection()
        for _ in 0..<2 {
            let results = await prober.run(target, keeping: kept)
            try #require(results.count == 2)
            let (cold, warm) = (results[0], results[1])
            #expect(cold.success && warm.success)
            #expect(cold.connection == .fresh && warm.connection == .reused)
            // Each run starts cold: the warm request closed the connection after it.
            #expect(cold.connectionReused == false)
            #expect(cold.phases.tls != nil && cold.phases.connect != nil)
            #expect(warm.connectionReused)
            #expect(warm.phases.tls == nil && warm.phases.connect == nil)
            #expect(warm.startedAt > cold.startedAt)
        }
    }

    /// A warm request's phases agree with curl's own timing of a second request on the same
    /// connection (two URLs in one `curl` command), median against median.
    @Test(.requires(.curl)) func reusedPhasesAgreeWithCurl() async throws {
        let target = target("http", connection: .both)
        var ours: [(processing: Double, transfer: Double)] = []
        var theirs: [(processing: Double, transfer: Double)] = []
        for _ in 0..<7 {
            let warm = await prober.run(target, keeping: prober.keptConnection())[1]
            #expect(warm.connectionReused)
            ours.append((try #require(warm.phases.processing), try #require(warm.phases.transfer)))
            let lines = try curlTwice(target.url)
            let second = lines[1]
            #expect(second.connects == 0, "curl reused its connection")
            #expect(second.connect == 0)
            theirs.append((second.starttransfer - second.pretransfer, second.total - second.starttransfer))
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let tolerance = 0.002
        #expect(abs(median(ours.map(\.processing)) - median(theirs.map(\.processing))) < tolerance, "\(ours) vs \(theirs)")
        #expect(abs(median(ours.map(\.transfer)) - median(theirs.map(\.transfer))) < tolerance, "\(ours) vs \(theirs)")
    }

    private struct CurlTimes {
        var connects: Int
        var connect, pretransfer, starttransfer, total: Double
    }

    private func curlTwice(_ url: String) throws -> [CurlTimes] {
        let out = Pipe()
        let format = "%{num_connects} %{time_connect} %{time_pretransfer} %{time_starttransfer} %{time_total}\\n"
        let status = Subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "-w", format, url, url], stdout: out.fileHandleForWriting)
        try out.fileHandleForWriting.close()
        #expect(status == 0)
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(separator: "\n").map { line -> CurlTimes in
            let f = line.split(separator: " ").map { Double($0) ?? -1 }
            return CurlTimes(connects: Int(f[0]), connect: f[1], pretransfer: f[2], starttransfer: f[3], total: f[4])
        }
        try #require(lines.count == 2, "curl printed: \(text)")
        return lines
    }
}
