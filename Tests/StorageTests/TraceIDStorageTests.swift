import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// How `probe.trace_id` keeps ids: compact ones (every id the prober makes) as 8-byte integers,
/// other lowercase 32-hex ids as 16-byte blobs, anything else as text; all come back as they went in.
struct TraceIDStorageTests {
    static func startedUs(_ i: Int) -> Int64 { epochUs + Int64(i) * 1_000_003 }

    static func probe(_ i: Int, _ traceId: String) -> ProbeResult {
        ProbeResult(
            target: "t", url: "https://t.example/health", startedAt: date(us: startedUs(i)), success: true,
            duration: 0.012_345, traceId: traceId)
    }

    static func compactIDs(_ count: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        let edges: [UInt64] = [1, .max, 1 << 63, (1 << 63) - 1, 0xFF]
        return (edges + (0..<count).map { _ in max(rng.next(), 1) }).map(TraceID.make(random:))
    }

    /// Newest first, as results() returns them.
    static func stored(_ store: ProbeStore) async throws -> [ProbeResult] {
        try await store.results(target: "t", since: nil, until: nil, limit: 10_000, cursor: nil).results
    }

    @Test func compactIDsAreIntegersAndRoundTrip() async throws {
        let (store, _) = try openStore()
        let ids = Self.compactIDs(500, seed: 21)
        let probes = ids.enumerated().map { Self.probe($0, $1) }
        try await store.insert(probes.map { StoredProbe(result: $0) })
        #expect(try await Self.stored(store) == probes.reversed())
        try requireTool(.sqlite3)  // the checks above ran without it
        try await store.checkpoint()
        #expect(try sqlite3(store.path, "SELECT typeof(trace_id), count(*) FROM probe GROUP BY 1") == "integer|\(ids.count)")
        // probe_view computes TraceID's mix in SQL: it must show the very ids the API returns.
        #expect(try sqlite3(store.path, "SELECT trace_id FROM probe_view ORDER BY started_at") == ids.joined(separator: "\n"))
    }

    @Test func otherIDsAreBlobsOrTextAndRoundTrip() async throws {
        let (store, _) = try openStore()
        let compact = TraceID.make(random: 0x0123_4567_89AB_CDEF)
        let cases: [(id: String, type: String)] = [
            ("4bf92f3577b34da6a3ce929d0e0e4736", "blob"),  // a random 128-bit id
            (String(repeating: "0", count: 32), "blob"),
            ("not-a-hex-trace-id", "text"),
            ("4BF92F3577B34DA6A3CE929D0E0E4736", "text"),
            (compact.uppercased(), "text"),
            ("", "text"),
            (compact, "integer"),
        ]
        let probes = cases.enumerated().map { Self.probe($0, $1.id) }
        try await store.insert(probes.map { StoredProbe(result: $0) })
        #expect(try await Self.stored(store) == probes.reversed())
        try requireTool(.sqlite3)  // the checks above ran without it
        try await store.checkpoint()
        #expect(try sqlite3(store.path, "SELECT typeof(trace_id) FROM probe ORDER BY started_us") == cases.map(\.type).joined(separator: "\n"))
        #expect(try sqlite3(store.path, "SELECT trace_id FROM probe_view ORDER BY started_at") == cases.map(\.id).joined(separator: "\n"))
    }

    /// A file of the previous version: every lowercase 32-hex id a 16-byte blob (compact-looking
    /// ones too), only migration v1-schema applied. It opens without a rewrite, reads back the same
    /// ids, and new probes are stored compact next to the old ones.
    @Test(.requires(.sqlite3)) func previousVersionFilesStayReadable() async throws {
        let old = Self.compactIDs(20, seed: 22) + ["4bf92f3577b34da6a3ce929d0e0e4736", "not-a-hex-trace-id"]
        let oldProbes = old.enumerated().map { Self.probe($0, $1) }
        let dir: URL
        let path: String
        do {  // closed before the legacy edit and the reopening
            let (store, storeDir) = try openStore()
            (dir, path) = (storeDir, store.path)
            try await store.insert(oldProbes.map { StoredProbe(result: $0) })
            try await store.checkpoint()
        }
        // As the previous version left it: only v1 applied, so no later index or column either.
        var legacy = "DELETE FROM grdb_migrations WHERE identifier <> 'v1-schema'; DROP INDEX rollup_hour_counts_first_attempt;"
        legacy += "ALTER TABLE probe DROP COLUMN weight; ALTER TABLE probe DROP COLUMN success_after_retry;"
        for table in ["rollup_minute", "rollup_hour"] {
            for column in ["weighted_total", "weighted_success", "weighted_good_latency", "success_first_attempt", "weighted_success_first_attempt"] { legacy += "ALTER TABLE \(table) DROP COLUMN \(column);" }
        }
        legacy += "ALTER TABLE target DROP COLUMN connection; ALTER TABLE detail DROP COLUMN connection;"
        legacy += "ALTER TABLE detail DROP COLUMN connection_closed_reason; ALTER TABLE probe DROP COLUMN connection_age_us;"
        legacy += "ALTER TABLE detail DROP COLUMN tls_resumed; DROP TABLE agent_run; DROP TABLE target_span;"
        for (i, id) in old.enumerated() where TraceID.compactForm(id) != nil {
            legacy += "UPDATE probe SET trace_id = X'\(id)' WHERE started_us = \(Self.startedUs(i));"
        }
        _ = try sqlite3(path, legacy, readOnly: false)
        #expect(try sqlite3(path, "SELECT DISTINCT typeof(trace_id) FROM probe ORDER BY 1") == "blob\ntext")

        let reopened = try ProbeStore(path: dir.appendingPathComponent("probes.db").path)  // the upgrade
        #expect(try await Self.stored(reopened) == oldProbes.reversed())
        let newProbes = Self.compactIDs(3, seed: 23).enumerated().map { Self.probe(old.count + $0, $1) }
        try await reopened.insert(newProbes.map { StoredProbe(result: $0) })
        #expect(try await Self.stored(reopened) == (oldProbes + newProbes).reversed())
        try await reopened.checkpoint()
        let types = try sqlite3(path, "SELECT typeof(trace_id), count(*) FROM probe GROUP BY 1 ORDER BY 1")
        #expect(types == "blob|\(old.count - 1)\ninteger|\(newProbes.count)\ntext|1")
        #expect(try sqlite3(path, "SELECT trace_id FROM probe_view ORDER BY started_at") == (old + newProbes.map(\.traceId)).joined(separator: "\n"))
        #expect(try sqlite3(path, "SELECT identifier FROM grdb_migrations") 
            == "v1-schema\nv2-probe-view-compact-trace-ids\nv3-hour-rollup-counts-index\nv4-probe-weights\nv5-connection-series\nv6-tls-resumed\nv7-coverage\nv8-first-attempt")
        #expect(try await reopened.integrityCheck() == "ok")
    }
}
