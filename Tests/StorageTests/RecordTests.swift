import Foundation
import GRDB
import PhaseWatchCore
@testable import Storage
import TestSupport
import Testing

/// The two ways tests open a store: on a file, as the agent does, and on an injected in-memory
/// database (real SQLite, no file) through `ProbeStore(writer:)`.
enum StoreKind: CaseIterable, Sendable {
    case file, memory

    func open(_ name: String = #function) throws -> ProbeStore {
        switch self {
        case .file: try openStore(name).0
        case .memory: try ProbeStore(writer: DatabaseQueue())
        }
    }
}

/// The record types against the schema, on in-memory stores.
struct RecordTests {
    static func inMemoryStore() throws -> ProbeStore {
        let store = try StoreKind.memory.open()
        #expect(store.path == ":memory:")
        return store
    }

    /// Every column of each table belongs to exactly one record field, and every field to a
    /// column: a column missing from a record, or named wrong, fails here.
    @Test func recordColumnsAreExactlyTheTablesColumns() async throws {
        let store = try Self.inMemoryStore()
        func names(_ columns: [some ColumnExpression]) -> [String] { columns.map(\.name) }
        let expected: [String: [String]] = [
            "probe": names(ProbeRecord.Columns.allCases),
            "detail": names(DetailRecord.Columns.allCases) + names(ProbeFacts.Columns.allCases),
            "rollup_minute": names(RollupRecord.Columns.allCases),
            "rollup_hour": names(RollupRecord.Columns.allCases),
        ]
        let actual = try await store.writer.read { db in
            try expected.keys.reduce(into: [String: [String]]()) { $0[$1] = try db.columns(in: $1).map(\.name) }
        }
        // The rollup summary reads by position, the raw value.
        #expect(RollupRecord.Columns.allCases.map(\.rawValue) == Array(0..<RollupRecord.Columns.allCases.count))
        for (table, columns) in expected {
            #expect(Set(columns).count == columns.count, "\(table): a column named twice")
            #expect(Set(columns) == Set(actual[table] ?? []), "\(table)")
        }
    }

    @Test func aProbeRecordWrittenByGRDBReadsBackEqual() async throws {
        let store = try Self.inMemoryStore()
        var record = ProbeRecord(StoredProbe(result: ResultsTests.variety()[0], latencyThreshold: .milliseconds(300)))
        let read = try await store.writer.write { [record] db in
            var record = record
            try db.execute(sql: "INSERT INTO target (name) VALUES ('api')")
            record.targetID = db.lastInsertedRowID
            record.detailID = 42
            try record.insert(db)
            return (record, try ProbeRecord.fetchOne(db, sql: "SELECT * FROM probe"))
        }
        record = read.0
        #expect(read.1 == record)
        #expect(record.traceID == .bytes(Data([0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36])))
        #expect(record.failurePhase == FileCodes.code(.tls))
        #expect(record.phasesUs == [1_234, 3_101, 41_200, 55_000, 900])
    }

    /// Three probes of one target in one microsecond: the record insert takes the next free seq.
    @Test func probesInTheSameMicrosecondGetTheNextFreeSeq() async throws {
        let store = try Self.inMemoryStore()
        let probes = (1...3).map { n in
            var r = ResultsTests.variety()[1]
            r.traceId = traceID(n)
            return StoredProbe(result: r)
        }
        try await store.insert([probes[0]])
        try await store.insert([probes[1], probes[2]])
        let seqs = try await store.writer.read { db in try Int64.fetchAll(db, sql: "SELECT seq FROM probe ORDER BY seq") }
        #expect(seqs == [0, 1, 2])
        let page = try await store.results(target: "api", since: nil, until: nil, limit: 10, cursor: nil)
        #expect(Set(page.results.map(\.traceId)) == Set((1...3).map(traceID)))
    }

    /// Batches landing in one bucket are merged by the upsert's SQL functions, which the
    /// injected writer gets from the store (a plain `DatabaseQueue` has none).
    @Test func rollupRowsOfOneBucketMergeAcrossBatches() async throws {
        let store = try Self.inMemoryStore()
        var rng = SplitMix64(seed: 5)
        let probes = (0..<40).map { n in
            randomProbe(target: "api", startedUs: epochUs + Int64(n) * 1_000_000, n: n, threshold: .milliseconds(100), rng: &rng)
        }
        for chunk in stride(from: 0, to: probes.count, by: 7) {
            try await store.insert(Array(probes[chunk..<min(chunk + 7, probes.count)]))
        }
        let rows = try await store.writer.read { db in
            try RollupRecord.fetchAll(db, sql: "SELECT * FROM rollup_minute ORDER BY start_s")
        }
        #expect(rows.map(\.startS) == [epochUs / 1_000_000])
        let minute = try #require(rows.first)
        BruteForce(probes, target: "api", fromUs: epochUs, toUs: epochUs + 60_000_000).expectMatches(minute.summary, "minute row")
        let hour = try await store.writer.read { db in try RollupRecord.fetchOne(db, sql: "SELECT * FROM rollup_hour") }
        #expect(hour?.summary == minute.summary)
    }
}
