import Foundation
import PhaseWatchCore
import Storage
import Testing

/// A target's fresh and reused requests are two series (docs/storage.md#connection-series): one
/// listing with a filter, and windows of one kind each.
struct ConnectionSeriesTests {
    /// Runs of `connection: both`: a cold request, then a warm one 1 ms later; the warm ones of
    /// odd runs fail.
    static func runs(_ count: Int) -> [ProbeResult] {
        (0..<count).flatMap { i -> [ProbeResult] in
            let start = epochUs + Int64(i) * 10_000_000
            var cold = ProbeResult(
                target: "api", url: "https://api.example/", startedAt: date(us: start), success: true,
                phases: Phases(resolve: 0.001, connect: 0.002, tls: 0.005, processing: 0.010, transfer: 0.001), duration: 0.019,
                traceId: traceID(2 * i))
            cold.connection = .fresh
            cold.tls = TLSFacts(version: "TLS 1.3")
            cold.tls?.resumed = i % 2 == 1  // tls.resume: the stored flag comes back
            var warm = ProbeResult(
                target: "api", url: "https://api.example/", startedAt: date(us: start + 1_000), success: i % 2 == 0,
                failure: i % 2 == 0 ? nil : Failure(phase: .processing, reason: .firstByteTimeout, message: "slow"),
                phases: Phases(processing: 0.010, transfer: 0.001), duration: 0.011, connectionReused: i % 2 == 0,
                traceId: traceID(2 * i + 1))
            warm.connection = .reused
            if i % 2 == 0 { warm.connectionAge = 0.5 } else { warm.connectionClosedReason = .idleClosed }
            return [cold, warm]
        }
    }

    @Test func bothKindsAreListedAndFilteredAndSummedApart() async throws {
        let (store, _) = try openStore()
        let inputs = Self.runs(4)
        try await store.insert(inputs.map { StoredProbe(result: $0) })

        let all = try await store.results(target: "api", since: nil, until: nil, limit: 100, cursor: nil)
        #expect(all.results == inputs.reversed(), "every field back, the two kinds interleaved by start")
        let warm = try await store.results(target: "api", since: nil, until: nil, limit: 100, cursor: nil, connection: .reused)
        #expect(warm.results.map(\.traceId) == inputs.filter { $0.connection == .reused }.reversed().map(\.traceId))
        let cold = try await store.results(target: "api", since: nil, until: nil, limit: 3, cursor: nil, connection: .fresh)
        #expect(cold.results.allSatisfy { $0.connection == .fresh } && cold.results.count == 3 && cold.next != nil)

        let from = date(us: epochUs - 60_000_000)
        let to = date(us: epochUs + 3_600_000_000)
        let freshSummary = try await store.summary(target: "api", from: from, to: to, connection: .fresh)
        #expect(freshSummary.total == 4 && freshSummary.success == 4)
        let reusedSummary = try await store.summary(target: "api", from: from, to: to, connection: .reused)
        #expect(reusedSummary.total == 4 && reusedSummary.success == 2)
        #expect(reusedSummary.failuresByPhase[.processing] == 2)
        // A plain target's default is its one series, the fresh one.
        #expect(try await store.summary(target: "api", from: from, to: to).total == 4)

        #expect(try await store.targets() == ["api"])
        #expect(try await store.latestResults()["api"] == inputs.last)
    }
}
