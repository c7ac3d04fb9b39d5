import Foundation
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// What a crash leaves behind is the main file and the -wal file as they were at that instant
/// (-shm is rebuilt from the WAL). These tests take such snapshots while a store is open and
/// writing, and open them as the restarted agent would.
@Suite(.serialized)
struct CrashSafetyTests {
    static func batch(_ k: Int, rng: inout SplitMix64) -> [StoredProbe] {
        (0..<50).map { i in
            let n = k * 1_000 + i
            return randomProbe(target: "t\(i % 5)", startedUs: epochUs + Int64(n) * 20_000, n: n, threshold: .milliseconds(200), rng: &rng)
        }
    }

    static func traceIDs(in path: String) async throws -> Set<String> {
        let store = try ProbeStore(path: path)
        #expect(try await store.integrityCheck() == "ok")
        var ids = Set<String>()
        for target in try await store.targets() {
            ids.formUnion(try await store.results(target: target, since: nil, until: nil, limit: 100_000, cursor: nil).results.map(\.traceId))
        }
        return ids
    }

    static func read(_ path: String) -> Data {
        FileManager.default.contents(atPath: path) ?? Data()
    }

    /// Writes `files` (name → bytes) into a fresh directory as a database and its WAL.
    static func snapshot(_ db: Data, _ wal: Data, in dir: URL, name: String) throws -> String {
        let path = dir.appendingPathComponent("\(name).db").path
        try db.write(to: URL(fileURLWithPath: path))
        try wal.write(to: URL(fileURLWithPath: path + "-wal"))
        return path
    }

    @Test func everyBatchCommittedBeforeTheSnapshotSurvives() async throws {
        let (store, dir) = try openStore()
        var rng = SplitMix64(seed: 77)
        var committed = Set<String>()
        var snapshots: [(path: String, ids: Set<String>)] = []
        for k in 0..<40 {
            let b = Self.batch(k, rng: &rng)
            try await store.insert(b)
            committed.formUnion(b.map(\.result.traceId))
            if k % 9 == 4 {
                // The process "dies" here: the files as they are, not closed, not checkpointed.
                let path = try Self.snapshot(Self.read(store.path), Self.read(store.path + "-wal"), in: dir, name: "crash-\(k)")
                snapshots.append((path, committed))
            }
        }
        #expect(snapshots.count >= 4)
        for (path, ids) in snapshots {
            #expect(try await Self.traceIDs(in: path) == ids, "\(path)")
        }
    }

    @Test func aTransactionTornByTheCrashIsRolledBackCleanly() async throws {
        let (store, dir) = try openStore()
        var rng = SplitMix64(seed: 78)
        var committed = Set<String>()
        var tested = 0
        for k in 0..<30 {
            let dbBefore = Self.read(store.path)
            let walBefore = Self.read(store.path + "-wal")
            let b = Self.batch(k, rng: &rng)
            try await store.insert(b)
            let walAfter = Self.read(store.path + "-wal")
            defer { committed.formUnion(b.map(\.result.traceId)) }
            // Only a valid crash image when this batch just appended to the WAL (no checkpoint
            // or WAL restart in between).
            guard Self.read(store.path) == dbBefore, walAfter.count > walBefore.count, walAfter.prefix(walBefore.count) == walBefore
            else { continue }
            // Killed half-way through writing this batch's frames: its commit frame is missing.
            let cut = walBefore.count + (walAfter.count - walBefore.count) / 2
            let torn = try Self.snapshot(dbBefore, walAfter.prefix(cut), in: dir, name: "torn-\(k)")
            #expect(try await Self.traceIDs(in: torn) == committed, "batch \(k) must be absent, all before present")
            // Killed right after the commit: all of it is there.
            let whole = try Self.snapshot(dbBefore, walAfter, in: dir, name: "whole-\(k)")
            #expect(try await Self.traceIDs(in: whole) == committed.union(b.map(\.result.traceId)))
            tested += 1
            if tested == 4 { break }
        }
        #expect(tested == 4)
    }
}
