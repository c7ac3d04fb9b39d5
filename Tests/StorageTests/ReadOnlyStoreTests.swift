import Foundation
import GRDB
import PhaseWatchCore
import Storage
import Testing
import TestSupport

/// `ProbeStore(readingOnly:)`: no lock, no migrations, and only a database of exactly this
/// version's schema.
struct ReadOnlyStoreTests {
    @Test func readsNextToAWriterWithoutTheLock() async throws {
        let (store, dir) = try openStore()
        var rng = SplitMix64(seed: 7)
        try await store.insert((0..<50).map { randomProbe(target: "a", startedUs: epochUs + Int64($0) * 1_000_000, n: $0, threshold: nil, rng: &rng) })
        let reader = try ProbeStore(readingOnly: store.path)
        let counted = try await reader.summary(target: "a", from: date(us: epochUs), to: date(us: epochUs + 60_000_000)).total
        #expect(counted == 50)
        // The writer goes on; the reader sees its next commit.
        try await store.insert([randomProbe(target: "a", startedUs: epochUs + 55_000_000, n: 99, threshold: nil, rng: &rng)])
        #expect(try await reader.summary(target: "a", from: date(us: epochUs), to: date(us: epochUs + 60_000_000)).total == 51)
        // A second writer is still refused: the reader took no lock, and the writer's is held.
        #expect(throws: StoreError.self) { try ProbeStore(path: store.path) }
        _ = dir
    }

    @Test func refusesMissingOlderAndNewerDatabases() async throws {
        let dir = try scratchDirectory()
        let missing = dir.appendingPathComponent("none.db").path
        #expect(throws: StoreError.missingDatabase(path: missing)) { try ProbeStore(readingOnly: missing) }
        #expect(!FileManager.default.fileExists(atPath: missing))

        let path = dir.appendingPathComponent("old.db").path
        do { _ = try ProbeStore(path: path) }
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v7-coverage'") }
        #expect(throws: StoreError.olderDatabase(path: path, missingMigrations: ["v7-coverage"])) { try ProbeStore(readingOnly: path) }
        try await queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v7-coverage'), ('v99-future')") }
        #expect(throws: StoreError.newerDatabase(path: path, unknownMigrations: ["v99-future"])) { try ProbeStore(readingOnly: path) }
        try queue.close()
    }
}
