@testable import Agent
import Foundation
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// The agent's one map of targets: a reload keeps what a target has seen, a removed target's
/// record is detached, a restart restores state and last result from the store.
struct TargetTableTests {
    func result(_ target: String, success: Bool, at seconds: Double = 0) -> ProbeResult {
        ProbeResult(
            target: target, url: "http://127.0.0.1:9/", startedAt: Date(timeIntervalSince1970: 1_700_000_000 + seconds),
            success: success, failure: success ? nil : Failure(phase: .connect, reason: .connectRefused, message: "refused"),
            phases: Phases(resolve: 0.001, connect: 0.002), duration: 0.003, traceId: String(repeating: "c", count: 32))
    }

    @Test func configureSaysWhatWasAddedChangedAndRemovedAndKeepsWhatStays() async throws {
        let table = TargetTable(location: "lab")
        let a = Target(name: "a", url: "http://127.0.0.1:9/a")
        let b = Target(name: "b", url: "http://127.0.0.1:9/b")
        let first = table.configure([a, b])
        #expect(first.added.map(\.name) == ["a", "b"])
        #expect(first.changed.isEmpty && first.removed.isEmpty)
        let recordA = try #require(table["a"])
        let recordB = try #require(table["b"])
        for i in 0..<3 { recordA.observe(result("a", success: false, at: Double(i))) }
        #expect(table.status("a")?.state == .down)

        // `a` changes (its interval), `b` goes, `c` comes; the order is the config's.
        var a2 = a
        a2.interval = .seconds(45)
        let c = Target(name: "c", url: "http://127.0.0.1:9/c")
        let second = table.configure([c, a2])
        #expect(second.added.map(\.name) == ["c"])
        #expect(second.changed.map(\.name) == ["a"])
        #expect(second.removed.map(\.name) == ["b"])
        #expect(table.all.map(\.name) == ["c", "a"])
        #expect(table["a"] === recordA, "a kept target keeps its record")
        #expect(table["a"]?.target.interval == .seconds(45))
        #expect(table.status("a")?.state == .down, "a reload must not forget a down target")
        #expect(table["b"] == nil && table.status("b") == nil)

        // A probe of the removed target that finishes later lands in its detached record only.
        recordB.observe(result("b", success: true))
        #expect(table.latestResults.keys.sorted() == ["a"])

        // The same config again changes nothing.
        let third = table.configure([c, a2])
        #expect(third.added.isEmpty && third.changed.isEmpty && third.removed.isEmpty)

        // Counters went on across the reload.
        let metrics = AgentMetrics(location: "lab", targets: table)
        recordA.observe(result("a", success: true, at: 10))
        let text = try await metrics.render()
        #expect(text.contains(#"phasewatch_probes_total{target="a",location="lab",result="failure"} 3"#), "\(text.prefix(2000))")
        #expect(text.contains(#"phasewatch_probes_total{target="a",location="lab",result="success"} 1"#))
        #expect(!text.contains(#"target="b""#))
    }

    @Test func restoreReplaysStoredResultsOnlyIntoRecordsThatSawNothing() async throws {
        let dir = Scratch.dir.appendingPathComponent("target-table-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let stored = (0..<4).map { result("down", success: false, at: Double($0)) } + [result("live", success: false, at: 0)]
        try await store.insert(stored.map { StoredProbe(result: $0, latencyThreshold: nil) })

        let table = TargetTable(location: "lab")
        table.configure([Target(name: "down", url: "http://127.0.0.1:9/"), Target(name: "live", url: "http://127.0.0.1:9/"),
                         Target(name: "new", url: "http://127.0.0.1:9/")])
        table["live"]!.observe(result("live", success: true, at: 100))  // a live probe before the restore ran
        await table.restore(from: store, logger: Logger(label: "test"))

        #expect(table.status("down")?.state == .down)
        #expect(table.latestResults["down"]?.startedAt == stored[3].startedAt, "the newest stored result is the last one")
        #expect(table.status("live")?.state == .up, "a live result is newer than anything stored")
        #expect(table.latestResults["live"]?.success == true)
        #expect(table.status("new")?.state == .unknown)
        #expect(table.latestResults["new"] == nil)
        let text = try await AgentMetrics(location: "lab", targets: table).render()
        #expect(text.contains(#"probe_success{target="down",location="lab"} 0"#), "\(text.prefix(2000))")
        #expect(text.contains(#"phasewatch_target_state{target="down",location="lab",state="down"} 1"#))
    }
}
