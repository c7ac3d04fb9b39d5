import Foundation
import PhaseWatchCore
import Probing
import TestSupport
import Testing

struct ConcurrencyTests {
    /// 200 probes at once on the one curl loop: each gets its own answer and its own timing.
    @Test func twoHundredConcurrentProbes() async throws {
        let prober = Prober()
        let started = ContinuousClock.now
        let results = await withTaskGroup(of: (Int, ProbeResult).self) { group in
            for i in 0..<200 {
                var target = Target(name: "p\(i)", url: TestServer.http("/?body=token-\(i)&processing=0.\(i % 5)"))
                target.expect.bodyMatches = "^token-\(i)$"
                group.addTask { (i, await prober.probe(target)) }
            }
            var all: [Int: ProbeResult] = [:]
            for await (i, result) in group { all[i] = result }
            return all
        }
        let elapsed = ContinuousClock.now - started
        #expect(results.count == 200)
        for (i, r) in results {
            #expect(r.success, "probe \(i): \(String(describing: r.failure))")
            #expect(r.target == "p\(i)")
            let delay = Double(i % 5) / 10
            let processing = try #require(r.phases.processing)
            // 2 ms of slack below: curl stamps "request sent" when its thread gets to it.
            #expect(processing > delay - 0.002 && processing < delay + 0.25, "probe \(i): \(processing) for \(delay)")
        }
        #expect(Set(results.values.map(\.traceId)).count == 200)
        // Concurrent, not one after another (which would take 200 × 0.2 s on average).
        #expect(elapsed < .seconds(5), "\(elapsed)")
    }
}
