@testable import Agent
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// The status page's 90-day strip: one cell per UTC day, green where the day met the
/// availability objective, red where it missed it, grey without probes, each linking to that
/// day's report.
struct DayStripTests {
    @Test func cellsFollowEachDaysAvailability() async throws {
        let dir = Scratch.dir.appendingPathComponent("strip-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let now = Date()
        let today = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
        let twoDaysAgo = today.addingTimeInterval(-2 * 86_400)
        try await store.beginRun(at: twoDaysAgo, targets: ["api"])
        // Two days ago: 100 of 1 440 probes failed (93 %); yesterday: all good.
        let probes = (0..<2 * 1440).map { i in
            let fails = i < 100
            return StoredProbe(result: ProbeResult(
                target: "api", url: "http://127.0.0.1/", startedAt: twoDaysAgo.addingTimeInterval(Double(i) * 60), success: !fails,
                failure: fails ? Failure(phase: .connect, reason: .connectRefused, message: "refused") : nil,
                phases: Phases(resolve: 0.0001, connect: 0.0002), duration: 0.001, traceId: String(format: "%032x", i + 1)))
        }
        try await store.insert(probes)
        let target = Target(name: "api", url: "http://127.0.0.1/", interval: .seconds(60), slo: SLOConfig(availability: 0.99))
        let runtime = AgentRuntime(
            config: AgentConfig(targets: [target, Target(name: "plain", url: "http://127.0.0.1/")]), source: .text("", name: "test"),
            store: store, logger: Logger(label: "test"))
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: Logger(label: "test"))
        try await app.test(.router) { client in
            let html = try await client.execute(uri: "/", method: .get) { String(buffer: $0.body) }
            let strips = html.components(separatedBy: "<div class=\"days\">").dropFirst()
            #expect(strips.count == 1, "only the target with an availability objective has a strip")
            let cells = try #require(strips.first?.components(separatedBy: "</div>").first).components(separatedBy: "<a class=\"").dropFirst()
            #expect(cells.count == 90)
            let classes = cells.map { String($0.prefix { $0 != "\"" }) }
            #expect(classes.suffix(3) == ["missed", "met", "unknown"])
            #expect(classes.dropLast(3).allSatisfy { $0 == "unknown" })
            let day = Timestamp.day(twoDaysAgo), next = Timestamp.day(twoDaysAgo.addingTimeInterval(86_400))
            #expect(cells[cells.endIndex - 3].contains("href=\"/api/v1/targets/api/report?step=1h&amp;from=\(day)&amp;to=\(next)\""))
            #expect(cells[cells.endIndex - 3].contains("title=\"\(day) 93.056 % of 1,440\""), "\(cells[cells.endIndex - 3])")

            // The link answers with that day's report per hour.
            let report = try await client.execute(uri: "/api/v1/targets/api/report?step=1h&from=\(day)&to=\(next)", method: .get) {
                #expect($0.status == .ok)
                return try JSONSerialization.jsonObject(with: Data(buffer: $0.body)) as? [String: Any]
            }
            #expect((report?["periods"] as? [Any])?.count == 24)
            #expect((report?["total"] as? [String: Any])?["good"] as? Int == 1340)
        }
    }

    @Test func coverageBelowTheMinimumIsGrey() {
        let day = Date(timeIntervalSince1970: 0)
        // 1 440 slots configured, 1 000 probes: 69 % coverage, under 90 %.
        let sparse = DayStrip.day(
            start: day, counts: DayCounts(total: 1000, success: 1000), configuredUs: 86_400_000_000, interval: .seconds(60),
            objective: 0.99, minCoverage: 0.9)
        #expect(sparse.verdict == .unknown)
        #expect(sparse.sli == 1)
        let full = DayStrip.day(
            start: day, counts: DayCounts(total: 1440, success: 1420), configuredUs: 86_400_000_000, interval: .seconds(60),
            objective: 0.99, minCoverage: 0.9)
        #expect(full.verdict == .missed)
        // No record of the target being configured: coverage unknown, not judged.
        let unrecorded = DayStrip.day(
            start: day, counts: DayCounts(total: 10, success: 10), configuredUs: 0, interval: .seconds(60), objective: 0.99, minCoverage: 0.9)
        #expect(unrecorded.verdict == .met)
        #expect(unrecorded.coverage == nil)
    }
}
