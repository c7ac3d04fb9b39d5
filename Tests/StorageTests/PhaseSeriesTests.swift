import Foundation
import PhaseWatchCore
import Storage
import Testing

/// `ProbeStore.phaseMeans`: per-bucket means of the phases of successful probes, from known rows.
struct PhaseSeriesTests {
    func probe(
        _ target: String, atUs: Int64, n: Int, phases: Phases, success: Bool = true
    ) -> StoredProbe {
        let duration = micros(Phase.network.compactMap { phases[$0] }.reduce(0, +) + 0.0001)
        return StoredProbe(result: ProbeResult(
            target: target, url: "http://\(target).example/", startedAt: date(us: atUs), success: success,
            failure: success ? nil : Failure(phase: .processing, reason: .firstByteTimeout, message: "slow"),
            phases: phases, duration: duration, traceId: traceID(n)))
    }

    @Test func meansPerBucketOfSuccessfulProbesOnly() async throws {
        let (store, _) = try openStore()
        let minute: Int64 = 60_000_000
        let from = epochUs
        var probes: [StoredProbe] = []
        // Bucket 0 ([0, 10 min)): two successes, one plain HTTP whose TLS is untimed (nil): 0.
        probes.append(probe("web", atUs: from, n: 1,
                            phases: Phases(resolve: 0.001, connect: 0.002, tls: 0.010, processing: 0.020, transfer: 0.001)))
        probes.append(probe("web", atUs: from + 9 * minute + 59_999_999, n: 2,
                            phases: Phases(resolve: 0.003, connect: 0.004, processing: 0.040, transfer: 0.003)))
        // A failure in bucket 0 must not count.
        probes.append(probe("web", atUs: from + 5 * minute, n: 3,
                            phases: Phases(resolve: 0.5, connect: 0.5, tls: 0.5), success: false))
        // Bucket 2 ([20, 30 min)): one success. Bucket 1 is empty and left out.
        probes.append(probe("web", atUs: from + 25 * minute, n: 4,
                            phases: Phases(resolve: 0.0005, connect: 0.0015, tls: 0.003, processing: 0.1, transfer: 0.002)))
        // Outside [from, to): before, at the exclusive end, and another target.
        let huge = Phases(resolve: 9, connect: 9, tls: 9, processing: 9, transfer: 9)
        probes.append(probe("web", atUs: from - 1, n: 5, phases: huge))
        probes.append(probe("web", atUs: from + 30 * minute, n: 6, phases: huge))
        probes.append(probe("other", atUs: from + minute, n: 7, phases: huge))
        try await store.insert(probes)

        let means = try await store.phaseMeans(
            target: "web", from: date(us: from), to: date(us: from + 30 * minute), step: .seconds(600))
        #expect(means.map(\.start) == [date(us: from), date(us: from + 20 * minute)])
        #expect(means.map(\.probes) == [2, 1])
        let first = try #require(means.first)
        let expected0: [Phase: Double] = [.resolve: 0.002, .connect: 0.003, .tls: 0.005, .processing: 0.030, .transfer: 0.002]
        for (phase, value) in expected0 {
            #expect(abs(first[phase] - value) < 1e-9, "\(phase): \(first[phase]) vs \(value)")
        }
        #expect(abs(first.duration - (0.0341 + 0.0501) / 2) < 1e-9, "\(first.duration)")
        let last = try #require(means.last)
        #expect(abs(last.processing - 0.1) < 1e-9 && abs(last.tls - 0.003) < 1e-9 && abs(last.resolve - 0.0005) < 1e-9)
        // The phase means of a bucket stack up to the mean of the probes' phase sums.
        let stacked = Phase.network.map { first[$0] }.reduce(0, +)
        #expect(abs(stacked - (0.034 + 0.050) / 2) < 1e-9)

        // Buckets are counted from `from`, not from the epoch: shifting `from` by 5 min moves the
        // boundaries with it.
        let shifted = try await store.phaseMeans(
            target: "web", from: date(us: from + 5 * minute), to: date(us: from + 30 * minute), step: .seconds(600))
        #expect(shifted.map(\.start) == [date(us: from + 5 * minute), date(us: from + 25 * minute)])
        #expect(shifted.map(\.probes) == [1, 1])

        let nobody = try await store.phaseMeans(target: "nobody", from: date(us: from), to: date(us: from + minute), step: .seconds(60))
        #expect(nobody.isEmpty)
        #expect(try await store.phaseMeans(target: "web", from: date(us: from), to: date(us: from), step: .seconds(60)).isEmpty)
        await #expect(throws: StoreError.self) {
            try await store.phaseMeans(target: "web", from: date(us: from), to: date(us: from + minute), step: .zero)
        }
    }
}
