import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

struct ResultsTests {
    /// Results that together set and unset every optional field, and use every phase and reason.
    static func variety(target: String = "api") -> [ProbeResult] {
        var out: [ProbeResult] = []
        let full = ProbeResult(
            target: target, url: "https://api.example.com/health?x=1", startedAt: date(us: epochUs + 123_457), success: false,
            failure: Failure(phase: .tls, reason: .certExpired, message: "certificate expired 2026-11-01"),
            phases: Phases(resolve: 0.001_234, connect: 0.003_101, tls: 0.041_2, processing: 0.055, transfer: 0.000_9),
            duration: 0.101_4,
            http: HTTPFacts(status: 200, version: "2", redirects: 2, contentLength: 2, bodyBytes: 2),
            tls: TLSFacts(
                version: "TLS 1.3", cipher: "TLS_AES_128_GCM_SHA256", alpn: "h2", certNotAfter: date(us: 1_798_761_600_000_000),
                chainExpiry: date(us: 1_798_761_600_500_000), subject: "CN=api.example.com", issuer: "CN=R3",
                sans: ["api.example.com", "*.example.com"]),
            ip: IPFacts(address: "2001:db8::7", family: 6), attempts: 3, connectionReused: true,
            traceId: "4bf92f3577b34da6a3ce929d0e0e4736")
        out.append(full)
        var bare = ProbeResult(
            target: target, url: "http://x/", startedAt: date(us: epochUs + 2_000_001), success: true, duration: 0,
            traceId: "not-a-hex-trace-id")
        out.append(bare)
        bare.startedAt = date(us: epochUs + 3_000_000)
        bare.traceId = "4BF92F3577B34DA6A3CE929D0E0E4736"  // uppercase: must come back as it was
        bare.http = HTTPFacts(status: 301, version: "1.1", redirects: 0, contentLength: nil, bodyBytes: 0)
        bare.tls = TLSFacts()
        bare.ip = IPFacts(address: "203.0.113.7", family: 4)
        bare.phases = Phases(resolve: 0, tls: 0)
        out.append(bare)
        var partial = full
        partial.tls = TLSFacts(version: "TLS 1.2", sans: [])
        partial.failure = Failure(phase: .processing, reason: .firstByteTimeout, message: "")
        partial.http = nil
        out.append(partial)
        for (i, reason) in FailureReason.allCases.enumerated() {
            var r = full
            r.startedAt = date(us: epochUs + 10_000_000 + Int64(i) * 1_000_003)
            let phase = Phase.allCases[i % Phase.allCases.count]
            r.failure = Failure(phase: phase, reason: reason, message: "\(reason.rawValue) \(i % 3)")
            r.traceId = traceID(i)
            out.append(r)
        }
        return out.enumerated().map { i, r in
            var r = r
            r.startedAt = date(us: epochUs + Int64(i) * 1_000_003 + 17)
            return r
        }
    }

    @Test(arguments: StoreKind.allCases) func roundTripsEveryField(_ kind: StoreKind) async throws {
        let store = try kind.open()
        let inputs = Self.variety()
        try await store.insert(inputs.map { StoredProbe(result: $0, latencyThreshold: .milliseconds(300)) })
        let page = try await store.results(target: "api", since: nil, until: nil, limit: 1_000, cursor: nil)
        #expect(page.next == nil)
        #expect(page.results.count == inputs.count)
        for (got, want) in zip(page.results, inputs.reversed()) {
            #expect(got == want)
        }
        #expect(try await store.latestResults() == ["api": inputs[inputs.count - 1]])
        #expect(try await store.integrityCheck() == "ok")
    }

    @Test func probesStartingInTheSameMicrosecondAreBothKept() async throws {
        let (store, _) = try openStore()
        var a = Self.variety()[1]
        a.traceId = traceID(1)
        var b = a
        b.traceId = traceID(2)
        try await store.insert([StoredProbe(result: a)])
        try await store.insert([StoredProbe(result: b), StoredProbe(result: a)])
        let page = try await store.results(target: "api", since: nil, until: nil, limit: 10, cursor: nil)
        #expect(page.results.map(\.traceId) == [traceID(1), traceID(2), traceID(1)])
    }

    @Test func sinceUntilSelectAHalfOpenRange() async throws {
        let (store, _) = try openStore()
        let probes = (0..<100).map { i in
            ProbeResult(target: "t", url: "u", startedAt: date(us: epochUs + Int64(i) * 1_000_000), success: true, duration: 0.1, traceId: traceID(i))
        }
        try await store.insert(probes.map { StoredProbe(result: $0) })
        let page = try await store.results(
            target: "t", since: date(us: epochUs + 10_000_000), until: date(us: epochUs + 20_000_000), limit: 100, cursor: nil)
        #expect(page.results.map(\.traceId) == (10..<20).reversed().map(traceID))
        let none = try await store.results(target: "other", since: nil, until: nil, limit: 10, cursor: nil)
        #expect(none.results.isEmpty && none.next == nil)
    }

    @Test func paginationReturnsEveryRowOnceWhileInsertsContinue() async throws {
        let (store, _) = try openStore()
        var rng = SplitMix64(seed: 3)
        // Several probes share a start time, to exercise the tie-breaker in the cursor.
        let original = (0..<250).map { i in
            randomProbe(target: "p", startedUs: epochUs + Int64(i / 3) * 1_000_000, n: i, threshold: nil, rng: &rng)
        }
        try await store.insert(original)
        var seen: [String] = []
        var cursor: String?
        var newer = 1_000
        repeat {
            let page = try await store.results(target: "p", since: nil, until: nil, limit: 7, cursor: cursor)
            seen += page.results.map(\.traceId)
            #expect(page.results.map(\.startedAt) == page.results.map(\.startedAt).sorted(by: >))
            cursor = page.next
            // Newer results arrive between pages, some in the same microsecond as old ones.
            let now = epochUs + 100_000_000 + Int64(newer) * 1_000
            try await store.insert([
                randomProbe(target: "p", startedUs: now, n: newer, threshold: nil, rng: &rng),
                randomProbe(target: "p", startedUs: epochUs + 83 * 1_000_000, n: newer + 1, threshold: nil, rng: &rng),
            ])
            newer += 2
        } while cursor != nil
        let newerIDs = Set((1_000..<newer).map(traceID))
        let oldSeen = seen.filter { !newerIDs.contains($0) }
        #expect(oldSeen.count == original.count)
        #expect(Set(oldSeen) == Set(original.map(\.result.traceId)))
        #expect(Set(seen).count == seen.count, "a row came twice")
    }

    @Test func rejectsBadCursorAndLimit() async throws {
        let (store, _) = try openStore()
        await #expect(throws: StoreError.invalidCursor("zzz")) {
            try await store.results(target: "a", since: nil, until: nil, limit: 5, cursor: "zzz")
        }
        await #expect(throws: StoreError.self) {
            try await store.results(target: "a", since: nil, until: nil, limit: 0, cursor: nil)
        }
    }

    @Test func latestResultsTargetsAndIntegrity() async throws {
        let dir: URL
        let latest: [String: ProbeResult]
        do {
            let (store, storeDir) = try openStore()
            dir = storeDir
            #expect(try await store.latestResults().isEmpty)
            #expect(try await store.targets().isEmpty)
            var rng = SplitMix64(seed: 9)
            var probes: [StoredProbe] = []
            for i in 0..<60 {
                let target = ["b", "a", "c"][i % 3]
                probes.append(randomProbe(target: target, startedUs: epochUs + Int64(i) * 500_000, n: i, threshold: nil, rng: &rng))
            }
            try await store.insert(Array(probes.shuffled(using: &rng).prefix(40)))
            try await store.insert(Array(probes.shuffled(using: &rng)))
            latest = try await store.latestResults()
            #expect(latest.count == 3)
            for target in ["a", "b", "c"] {
                let newest = probes.filter { $0.result.target == target }.max { $0.result.startedAt < $1.result.startedAt }!
                #expect(latest[target] == newest.result)
            }
            #expect(try await store.targets() == ["a", "b", "c"])
            #expect(try await store.integrityCheck() == "ok")
        }
        // A second store on the same file (the agent restarting, the first store closed) sees the same.
        let reopened = try ProbeStore(path: dir.appendingPathComponent("probes.db").path)
        #expect(try await reopened.latestResults() == latest)
    }

    @Test(.requires(.sqlite3)) func fileFormatCodesAreFrozen() async throws {
        let (store, _) = try openStore()
        var r = Self.variety()[0]
        r.failure = Failure(phase: .processing, reason: .tooSlow, message: "slow")
        try await store.insert([StoredProbe(result: r, latencyThreshold: .seconds(1))])
        try await store.checkpoint()
        let path = store.path
        #expect(try sqlite3(path, "SELECT failure_phase, failure_reason, success, duration_us FROM probe") == "4|26|0|101400")
        #expect(try sqlite3(path, "PRAGMA page_size") == "8192")
        #expect(try sqlite3(path, "PRAGMA journal_mode") == "wal")
        #expect(try sqlite3(path, "SELECT target, failure_phase, trace_id, http_status FROM probe_view")
            == "api|processing|4bf92f3577b34da6a3ce929d0e0e4736|200")
        #expect(try sqlite3(path, "SELECT identifier FROM grdb_migrations") 
            == "v1-schema\nv2-probe-view-compact-trace-ids\nv3-hour-rollup-counts-index\nv4-probe-weights\nv5-connection-series\nv6-tls-resumed\nv7-coverage\nv8-first-attempt")
        #expect(try sqlite3(path, "SELECT value FROM json_each((SELECT cert_sans FROM detail))") == "api.example.com\n*.example.com")
    }
}
