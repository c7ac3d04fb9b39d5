import Foundation
import PhaseWatchCore
import Probing
import TestSupport
import Testing

/// `tls.resume` (docs/probing.md#tls-resumption) against nginx with session tickets on and off:
/// a new TCP connection offers the target's last session; the result says whether the server
/// took it, and a refusal is reported, not failed.
@Suite(.serialized, .requires(.nginx))
struct TLSResumptionTests {
    let prober = Prober()

    static func server(tickets: String) -> ServerProcess {
        do {
            return try ServerProcess(
                script: "h2server.py",
                arguments: ["--cert", Certs.path("server.pem"), "--key", Certs.path("server.key"), "--session-tickets", tickets])
        } catch {
            fatalError("could not start Tests/Support/h2server.py (is nginx installed?): \(error)")
        }
    }

    static let withTickets = server(tickets: "on")
    static let withoutTickets = server(tickets: "off")

    private func target(_ server: ServerProcess, _ path: String = "/", resume: Bool = true) -> Target {
        let port = server.port("https")
        var target = Target(name: "t", url: "https://localhost:\(port)\(path)", resolve: ["localhost:\(port):127.0.0.1"])
        target.tls.caFile = Certs.ca
        target.tls.resume = resume
        return target
    }

    private func probe(_ target: Target, keeping kept: KeptConnection) async throws -> ProbeResult {
        let results = await prober.run(target, keeping: kept)
        try #require(results.count == 1)
        #expect(results[0].success, "\(String(describing: results[0].failure))")
        return results[0]
    }

    @Test func resumesWithSessionTickets() async throws {
        let target = target(Self.withTickets)
        let kept = prober.keptConnection()
        let first = try await probe(target, keeping: kept)
        #expect(first.tls?.resumed == false, "no session to offer yet")
        for _ in 0..<3 {
            let next = try await probe(target, keeping: kept)
            #expect(next.tls?.resumed == true)
            #expect(next.connectionReused == false && next.connection == nil, "a new connection each time")
            #expect(next.phases.connect != nil && next.phases.tls != nil)
            // The session remembers the server's certificate: expiry facts stay.
            #expect(next.tls?.certNotAfter != nil && next.tls?.subject == "CN=localhost")
        }
    }

    @Test func aServerThatRefusesIsReportedNotFailed() async throws {
        let target = target(Self.withoutTickets)
        let kept = prober.keptConnection()
        for _ in 0..<3 {
            #expect(try await probe(target, keeping: kept).tls?.resumed == false)
        }
    }

    @Test func withoutResumeTheResultSaysNothing() async throws {
        let result = try await probe(target(Self.withTickets, resume: false), keeping: prober.keptConnection())
        #expect(result.tls != nil && result.tls?.resumed == nil)
    }

    /// A resumed handshake's tls phase agrees with curl's own resumption (two URLs in one `curl`
    /// command, the server closing the first connection), median against median.
    @Test(.requires(.curl)) func resumedHandshakeAgreesWithCurl() async throws {
        let target = target(Self.withTickets, "/close")
        let port = Self.withTickets.port("https")
        let kept = prober.keptConnection()
        _ = try await probe(target, keeping: kept)
        var ours: [Double] = []
        var theirs: [Double] = []
        for _ in 0..<7 {
            let result = try await probe(target, keeping: kept)
            #expect(result.tls?.resumed == true)
            ours.append(try #require(result.phases.tls))
            let out = Pipe()
            let status = Subprocess.run(
                ["curl", "-s", "--cacert", Certs.ca, "--resolve", "localhost:\(port):127.0.0.1", "-o", "/dev/null", "-o", "/dev/null",
                 "-w", "%{num_connects} %{time_connect} %{time_appconnect}\\n", target.url, target.url],
                stdout: out.fileHandleForWriting)
            try out.fileHandleForWriting.close()
            #expect(status == 0)
            let lines = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            try #require(lines.count == 2)
            let second = lines[1].split(separator: " ").compactMap { Double($0) }
            #expect(second[0] == 1, "curl opened a second connection")
            theirs.append(second[2] - second[1])
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        #expect(abs(median(ours) - median(theirs)) < 0.002, "\(ours) vs \(theirs)")
    }
}
