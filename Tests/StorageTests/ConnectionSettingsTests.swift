import GRDB
@testable import Storage
import Testing

/// The page caches that bound the store's memory (see `ProbeStore.open`).
struct ConnectionSettingsTests {
    @Test func readersKeepASmallerPageCacheThanTheWriter() async throws {
        let (store, _) = try openStore()
        let writer = try await store.writer.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") }
        let reader = try await store.writer.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") }
        // Negative: KiB rather than pages.
        #expect(writer == -ProbeStore.writerCacheKiB)
        #expect(reader == -ProbeStore.readerCacheKiB)
        #expect(ProbeStore.readerCacheKiB < ProbeStore.writerCacheKiB)
        #expect(store.writer.configuration.maximumReaderCount == ProbeStore.readers)
    }
}
