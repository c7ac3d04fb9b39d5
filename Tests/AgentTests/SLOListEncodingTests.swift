@testable import Agent
import Foundation
import PhaseWatchCore
import Storage
import Testing

/// The `/api/v1/slo` body is encoded one SLO at a time (memory); it must be byte for byte what
/// JSONEncoder makes of the whole list.
struct SLOListEncodingTests {
    @Test(arguments: [0, 1, 7])
    func pieceByPieceEqualsTheWholeList(targets: Int) throws {
        var summary = WindowSummary(total: 50, success: 48, goodLatency: 45, failuresByPhase: [.tls: 2], failuresByReason: [.certExpired: 2])
        for i in 1...50 { summary.duration.add(Double(i) / 1000) }
        let windows = SLIWindows.all(sloWindow: .seconds(30 * 86_400))
        let summaries = Dictionary(uniqueKeysWithValues: windows.map { ($0, summary) })
        var slos: [SLOStatus] = []
        for i in 0..<targets {
            var target = Target(name: "t\(i)", url: "http://127.0.0.1/")
            target.slo = SLOConfig(availability: 0.999, latency: LatencySLO(threshold: .milliseconds(20), objective: 0.9))
            slos += SLOStatus.all(for: target, summaries: summaries)
        }
        let asOf = Date(timeIntervalSince1970: 1_800_000_000.25)
        let whole = try ProbeResult.makeEncoder().encode(SLOList(asOf: asOf, slos: slos))
        let pieces = try SLOSnapshot.encodeList(asOf: asOf, slos: slos)
        #expect(String(decoding: pieces, as: UTF8.self) == String(decoding: whole, as: UTF8.self))
    }
}
