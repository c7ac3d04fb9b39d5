import Foundation
import PhaseWatchCore
import Probing
import TestSupport
import Testing

/// Each phase is measured within 2 ms of a delay the server injects into exactly that phase.
/// The delay is compared against the same server without it, so the fixed costs of loopback
/// (and of the TLS handshake's crypto) cancel out. Each side is the fastest of a few probes: the
/// Python server's own jitter only ever adds time, so the minimum is the truest reading.
@Suite(.serialized)
struct PhaseTimingTests {
    let prober = Prober()
    let tolerance = 0.002

    private func fastest(_ target: Target, _ phase: Phase, runs: Int = 5) async throws -> Double {
        var values: [Double] = []
        for _ in 0..<runs {
            let result = await prober.probe(target)
            #expect(result.success, "\(String(describing: result.failure))")
            values.append(try #require(result.phases[phase]))
        }
        return values.min()!
    }

    @Test func processingDelay() async throws {
        let base = try await fastest(Target(name: "t", url: TestServer.http("/")), .processing)
        let delayed = try await fastest(Target(name: "t", url: TestServer.http("/?processing=0.1")), .processing)
        #expect(abs(delayed - base - 0.1) < tolerance, "processing \(delayed) vs base \(base)")
    }

    @Test func transferDelay() async throws {
        let base = try await fastest(Target(name: "t", url: TestServer.http("/")), .transfer)
        let delayed = try await fastest(Target(name: "t", url: TestServer.http("/?transfer=0.08")), .transfer)
        #expect(abs(delayed - base - 0.08) < tolerance, "transfer \(delayed) vs base \(base)")
    }

    @Test func tlsDelay() async throws {
        _ = await prober.probe(TestServer.httpsTarget())  // warm up OpenSSL and the CA cache
        let base = try await fastest(TestServer.httpsTarget("https"), .tls)
        let delayed = try await fastest(TestServer.httpsTarget("tlsdelay"), .tls)
        #expect(abs(delayed - base - 0.05) < tolerance, "tls \(delayed) vs base \(base)")
    }

    @Test func phasesAddUpToDuration() async throws {
        let result = await prober.probe(TestServer.httpsTarget("https", "/?processing=0.02&transfer=0.01"))
        #expect(result.success)
        // The contract's formulas leave out only the moment between handshake and request sent.
        let sum = Phase.network.compactMap { result.phases[$0] }.reduce(0, +)
        #expect(sum <= result.duration + 1e-6 && result.duration - sum < 0.001, "phases \(result.phases) vs duration \(result.duration)")
        #expect(result.phases.resolve != nil && result.phases.connect != nil && result.phases.tls! > 0)
    }

    @Test func plainHTTPHasZeroTLSPhase() async throws {
        let result = await prober.probe(Target(name: "t", url: TestServer.http("/")))
        #expect(result.phases.tls == 0)
        #expect(result.tls == nil)
        #expect(result.http?.status == 200)
        #expect(result.http?.version == "1.1")
        #expect(result.http?.bodyBytes == 2)
        #expect(result.http?.contentLength == 2)
        #expect(result.ip == IPFacts(address: "127.0.0.1", family: 4))
        #expect(result.connectionReused == false)
    }
}
