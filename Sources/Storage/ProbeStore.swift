import Foundation
import GRDB
import PhaseWatchCore
import Synchronization

/// The probe history database: one SQLite file in WAL mode, owned by this type.
///
/// Writes go through GRDB's single writer connection, one transaction per `insert` batch;
/// reads run concurrently on reader connections and see the last committed state. Layout,
/// crash safety and retention are described in docs/storage.md.
public final class ProbeStore: Sendable {
    public let path: String
    /// The database: a `DatabasePool` on the file from `init(path:)`, or the writer handed to
    /// `init(writer:)` (an in-memory `DatabaseQueue` in unit tests).
    let writer: any DatabaseWriter
    /// `<path>.lock`, held for the store's life: one store per database file.
    private let lock: DatabaseLock?
    /// Target name → id, filled only from committed transactions (targets are never deleted,
    /// so an id never changes meaning). Saves a lookup per probe.
    private let targetIDs = Mutex<[String: Int64]>([:])
    /// Where each detail was last found, from committed transactions; a hint that inserts
    /// verify (see `DetailRecord.ref`). Cleared when it grows large or retention deletes details.
    let detailRefs = Mutex<[ProbeFacts: DetailRecord.Ref]>([:])
    static let maxCachedDetails = 50_000
    /// This process's row of `agent_run` once `beginRun` wrote it (docs/slo.md#coverage).
    let currentRun = Mutex<Int64?>(nil)

    /// Opens the database at `path`, creating it (and its directory) when missing, and brings
    /// the schema up to date.
    ///
    /// WAL mode with `synchronous = NORMAL`: a commit is appended to the -wal file but not
    /// fsynced; the WAL is fsynced at each checkpoint. A killed process (kill -9, crash) loses
    /// nothing that was committed; a power loss or kernel crash may lose the last transactions
    /// since the previous checkpoint, but the file stays consistent (never corrupt).
    ///
    /// Throws `StoreError.cannotOpen` when the file cannot be opened for writing (read-only file
    /// system, no permission, disk full): the agent stops with that one line rather than probe
    /// into a database that can never take the results. Throws `.inUse` while another store
    /// (in this or another process) has the file, `.newerDatabase` or `.foreignDatabase` for a
    /// file that is not this version's to write; those leave the file untouched.
    public init(path: String) throws {
        self.path = path
        // Creates missing directories; the file itself is created by SQLite.
        let resolved = try DatabasePath.prepare(path)
        // An existing file opens without writing a byte, so a full disk would show only at the
        // first batch, after the agent announced itself: refused here instead (docs/storage.md).
        let directory = URL(fileURLWithPath: resolved).deletingLastPathComponent().path
        if let free = FileSystemFacts.freeBytes(directory), free < StorageFailure.nearlyFull {
            throw StoreError.cannotOpen(StorageFailure(
                errno: ENOSPC, path: path, explanation: "no space left on the file system holding \(directory) (\(free) bytes free)"))
        }
        lock = try Self.lock(path: path, resolved: resolved)
        do {
            try Ownership.check(path: path, resolved: resolved)
            let pool = try Self.open(path: path)
            try Self.setUp(pool)
            writer = pool
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.cannotOpen(StorageFailure(error: error, path: path))
        }
    }

    /// Opens an existing database only to read it, next to an agent that may be writing it (WAL
    /// readers never block the writer): no lock file, no migrations, nothing written
    /// (`phasewatch report`, docs/cli.md#phasewatch-report). The schema must be exactly this version's:
    /// throws `.missingDatabase`, `.foreignDatabase`, `.newerDatabase` or `.olderDatabase`.
    public init(readingOnly path: String) throws {
        self.path = path
        lock = nil
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard FileManager.default.fileExists(atPath: resolved) else { throw StoreError.missingDatabase(path: path) }
        try Ownership.check(path: path, resolved: resolved)
        var configuration = Configuration()
        configuration.label = "phasewatch.storage.read"
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        configuration.maximumReaderCount = 2
        let pool = try DatabasePool(path: resolved, configuration: configuration)
        let applied = try pool.read { db in try Schema.migrator.appliedIdentifiers(db) }
        let missing = Schema.migrator.migrations.filter { !applied.contains($0) }
        guard missing.isEmpty else { throw StoreError.olderDatabase(path: path, missingMigrations: missing) }
        writer = pool
    }

    /// A store on a database the caller opened (GRDB's AppDatabase pattern): the schema is
    /// brought up to date. None of the file path's checks, lock or settings apply; unit tests
    /// use it with an in-memory `DatabaseQueue`.
    init(writer: any DatabaseWriter) throws {
        path = writer.path
        lock = nil
        self.writer = writer
        try Self.setUp(writer)
    }

    /// What every writer needs, whoever opened it: the SQL functions of the rollup upsert on
    /// its connection, the file marked as phasewatch's, the migrations run.
    private static func setUp(_ writer: any DatabaseWriter) throws {
        try writer.writeWithoutTransaction { db in
            for function in RollupRecord.functions { db.add(function: function) }
            try Ownership.claim(db)
        }
        try Schema.migrator.migrate(writer)
    }

    /// The lock lives next to the file SQLite opens, so that two paths to one file (a symbolic
    /// link) share it.
    private static func lock(path: String, resolved: String) throws(StoreError) -> DatabaseLock {
        let lockFile = resolved + ".lock"
        do throws(DatabaseLock.Failure) {
            return try DatabaseLock(path: lockFile)
        } catch {
            switch error {
            case .held(let pid):
                throw .inUse(path: path, lockFile: lockFile, pid: pid)
            case .system(let code):
                let directory = URL(fileURLWithPath: lockFile).deletingLastPathComponent().path
                let why =
                    switch code {
                    case ENOSPC, EDQUOT: "no space left on the file system holding \(directory) for the lock file \(lockFile)"
                    case EROFS: "the file system holding \(directory) is mounted read-only"
                    case EACCES: "no permission to create the lock file \(lockFile)"
                    default: "cannot lock \(lockFile)"
                    }
                throw .cannotOpen(StorageFailure(errno: code, path: path, explanation: why))
            }
        }
    }

    /// Concurrent readers: the SLO refresh uses two, the API and status page the rest.
    static let readers = 4
    /// Page cache per connection (KiB).
    static let readerCacheKiB = 512
    static let writerCacheKiB = 2048

    private static func open(path: String) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.label = "phasewatch.storage"
        // Another process (a sqlite3 shell, a backup) may hold a lock for a moment.
        configuration.busyMode = .timeout(10)
        // SQLite's default page cache is 2 MB per connection, and a pool holds the writer plus
        // up to `maximumReaderCount` readers: a large share of the agent's heap at 1 000 targets
        // (docs/architecture.md, "Memory"). The SLO refresh reads
        // each target's rollups once and the operating system caches the file anyway, so a
        // small cache per reader costs little; the writer keeps more for the rollup rows that
        // every batch updates.
        configuration.maximumReaderCount = Self.readers
        configuration.prepareDatabase { db in
            let cacheKiB = db.configuration.readonly ? Self.readerCacheKiB : Self.writerCacheKiB
            try db.execute(sql: "PRAGMA cache_size = -\(cacheKiB)")
            guard !db.configuration.readonly else { return }
            // Only takes effect when the file is new; must precede the switch to WAL.
            try db.execute(sql: "PRAGMA page_size = \(Schema.pageSize)")
            // Debian builds SQLite with secure_delete on, which rewrites every deleted byte;
            // retention deletes a lot, and probe history is not secret.
            try db.execute(sql: "PRAGMA secure_delete = FAST")
            // After a large retention pass, shrink the -wal file back at the next checkpoint.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // GRDB sets synchronous = NORMAL with WAL; say it here too, since crash safety rests on it.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        return pool
    }

    /// `error` (thrown by this store) in an operator's words, with the file system's facts.
    public func failure(_ error: any Error) -> StorageFailure {
        StorageFailure(error: error, path: path)
    }

    // MARK: Writing

    /// Writes a batch in one transaction: a raw row per probe plus the minute and hour rollups
    /// the batch touches. Either all of it is stored or none (the caller may retry the batch).
    /// Probes older than the raw-retention horizon only go into the rollups.
    public func insert(_ batch: [StoredProbe]) async throws {
        guard !batch.isEmpty else { return }
        // Everything that needs no database happens before taking the write lock.
        let incoming = batch.map(Incoming.init).sorted { ($0.target, $0.record.startedUs) < ($1.target, $1.record.startedUs) }
        var deltas: [RollupKey: WindowSummary] = [:]
        var newestUse: [ProbeFacts: Int64] = [:]
        for probe in incoming {
            let startedUs = probe.record.startedUs
            for level in RollupLevel.allCases {
                deltas[RollupKey(target: probe.target, level: level, start: level.bucket(ofMicros: startedUs)), default: .init()]
                    .add(probe.record)
            }
            newestUse[probe.facts] = max(newestUse[probe.facts] ?? .min, startedUs)
        }
        let knownTargets = targetIDs.withLock { $0 }
        let uses = detailRefs.withLock { cache in
            newestUse.map { (facts: $0.key, newest: $0.value, hint: cache[$0.key]) }
        }
        let (resolvedTargets, resolvedDetails) = try await writer.write { [deltas] db in
            ThreadPriority.lowerCurrentThread()  // batches wait a little; probing comes first
            var ids = knownTargets
            let rawHorizon = try Horizons.read(db).raw
            var details: [ProbeFacts: DetailRecord.Ref] = [:]
            for use in uses where use.newest >= rawHorizon {
                details[use.facts] = try DetailRecord.ref(for: use.facts, usedAt: use.newest, hint: use.hint, db: db)
            }
            for probe in incoming where probe.record.startedUs >= rawHorizon {
                // Every detail of a row at or after the horizon was resolved above.
                guard let detail = details[probe.facts] else { continue }
                var record = probe.record
                record.targetID = try Self.targetID(probe.target, cache: &ids, db: db)
                record.detailID = detail.id
                try record.insertWithFreeSeq(db)
            }
            for (key, delta) in deltas {
                let targetID = try Self.targetID(key.target, cache: &ids, db: db)
                try RollupRecord(targetID: targetID, startS: key.start, summary: delta).upsert(key.level, db: db)
            }
            return (ids, details)
        }
        targetIDs.withLock { $0.merge(resolvedTargets) { current, _ in current } }
        detailRefs.withLock { cache in
            if cache.count + resolvedDetails.count > Self.maxCachedDetails { cache.removeAll() }
            cache.merge(resolvedDetails) { _, new in new }
        }
    }

    /// A probe on its way in: its row, with the target and facts whose ids the write
    /// transaction fills in.
    private struct Incoming: Sendable {
        var target: String
        var facts: ProbeFacts
        var record: ProbeRecord

        init(_ probe: StoredProbe) {
            target = Series.name(probe.result.target, probe.result.connection, address: probe.result.address)
            facts = ProbeFacts(probe.result)
            record = ProbeRecord(probe)
        }
    }

    private struct RollupKey: Hashable {
        var target: String
        var level: RollupLevel
        var start: Int64
    }

    static func targetID(_ name: String, cache: inout [String: Int64], db: Database) throws -> Int64 {
        if let id = cache[name] { return id }
        let id: Int64
        if let existing = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM target WHERE name = ?"), arguments: [name]) {
            id = existing
        } else {
            try db.cachedStatement(sql: "INSERT INTO target (name, connection) VALUES (?, ?)")
                .execute(arguments: [name, Series.connection(ofRow: name)])
            id = db.lastInsertedRowID
        }
        cache[name] = id
        return id
    }

    // MARK: Reading

    /// Results of `target` with `started_at` in [since, until), newest first, at most `limit`,
    /// continuing after `cursor`. `next` is the cursor of the following page, nil after the last.
    /// Cursors name a position (start time and tie-breaker), so rows inserted between pages
    /// never shift a page: each row present when paging began comes exactly once. `connection`
    /// keeps one kind of request (docs/probing.md#connections); nil keeps both. `address` reads
    /// the results of one address of an `ip_policy: all` target instead (docs/probing.md#addresses).
    public func results(
        target: String, since: Date?, until: Date?, limit: Int, cursor: String?, connection: ConnectionKind? = nil,
        address: String? = nil
    ) async throws -> (results: [ProbeResult], next: String?) {
        guard limit >= 1 else { throw StoreError.invalidArgument("limit must be at least 1, got \(limit)") }
        let position = try cursor.map(ResultCursor.init(parsing:))
        let lower = since.map(Microseconds.date) ?? .min
        let upper = until.map(Microseconds.date) ?? .max
        return try await writer.read { db in
            let kinds = connection.map { [$0] } ?? ConnectionKind.allCases
            let names = address.map { [Series.name(target, nil, address: $0)] } ?? kinds.map { Series.name(target, $0) }
            let targetIDs = try names.compactMap { try Self.existingTargetID($0, db: db) }
            guard !targetIDs.isEmpty else { return ([], nil) }
            // The two series of a target interleave by start time: a run's warm request starts
            // after its cold one ends.
            let ids = targetIDs.count == 1 ? "= ?" : "IN (\(targetIDs.map { _ in "?" }.joined(separator: ", ")))"
            var sql = "SELECT * FROM probe WHERE target_id \(ids) AND started_us >= ? AND started_us < ?"
            var arguments = StatementArguments(targetIDs) + [lower, upper]
            if let position {
                sql += " AND started_us <= ? AND (started_us < ? OR seq < ?)"
                arguments += [position.startedUs, position.startedUs, position.seq]
            }
            sql += " ORDER BY started_us DESC, seq DESC LIMIT ?"
            arguments += [limit + 1]
            let rows = try ProbeRecord.fetchAll(db.cachedStatement(sql: sql), arguments: arguments)
            let page = rows.prefix(limit)
            let facts = try DetailRecord.facts(ids: page.map(\.detailID), db: db)
            var results = try page.map { try $0.result(target: target, facts: facts[$0.detailID]!) }
            if let address { for i in results.indices { results[i].address = address } }
            let next = rows.count > limit ? page.last.map { ResultCursor(startedUs: $0.startedUs, seq: $0.seq).string } : nil
            return (results, next)
        }
    }

    /// The newest stored result of every target that has raw rows.
    public func latestResults() async throws -> [String: ProbeResult] {
        try await writer.read { db in
            var out: [String: ProbeResult] = [:]
            let latest = try db.cachedStatement(
                sql: "SELECT * FROM probe WHERE target_id = ? ORDER BY started_us DESC, seq DESC LIMIT 1")
            for target in try Row.fetchAll(db, sql: "SELECT id, name FROM target") where Series.address(ofRow: target["name"]) == nil {
                let name = Series.target(ofRow: target["name"])
                guard let record = try ProbeRecord.fetchOne(latest, arguments: [target["id"]]) else { continue }
                let facts = try DetailRecord.facts(ids: [record.detailID], db: db)[record.detailID]!
                let result = try record.result(target: name, facts: facts)
                // A target's two series (docs/storage.md#connection-series): the newer wins.
                if let other = out[name], other.startedAt > result.startedAt { continue }
                out[name] = result
            }
            return out
        }
    }

    /// The results of the newest run of `target`'s addresses (an `ip_policy: all` target,
    /// docs/probing.md#addresses): per address its newest result, kept when it is of the run
    /// the newest of them belongs to (an address the name no longer has drops out). In address order.
    public func latestAddressResults(target: String) async throws -> [ProbeResult] {
        try await writer.read { db in
            let prefix = Series.name(target, nil, address: "")
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, name FROM target WHERE substr(name, 1, ?) = ?", arguments: [prefix.count, prefix])
            let latest = try db.cachedStatement(
                sql: "SELECT * FROM probe WHERE target_id = ? ORDER BY started_us DESC, seq DESC LIMIT 1")
            var newest: [ProbeResult] = []
            for row in rows {
                guard let address = Series.address(ofRow: row["name"]),
                      let record = try ProbeRecord.fetchOne(latest, arguments: [row["id"]]) else { continue }
                let facts = try DetailRecord.facts(ids: [record.detailID], db: db)[record.detailID]!
                var result = try record.result(target: target, facts: facts)
                result.address = address
                newest.append(result)
            }
            guard let run = newest.map(\.startedAt).max() else { return [] }
            return newest.filter { $0.startedAt == run }.sorted { ($0.address ?? "") < ($1.address ?? "") }
        }
    }

    /// Counts and latency sketches of `target` over [from, to), answered as `WindowPlan` says.
    /// Exact when raw rows cover the partial minutes at the edges (always, within raw retention).
    public func summary(
        target: String, from: Date, to: Date, connection: ConnectionKind? = nil, address: String? = nil
    ) async throws -> WindowSummary {
        try await summaries(
            target: target, windows: [WindowQuery(from: from, to: to, sketches: true)], connection: connection, address: address)[0]
    }

    /// Names of every target the database has seen, sorted.
    public func targets() async throws -> [String] {
        try await writer.read { db in
            Set(try String.fetchAll(db, sql: "SELECT name FROM target").map(Series.target(ofRow:))).sorted()
        }
    }

    /// `PRAGMA integrity_check`: "ok", or the problems found, one per line.
    public func integrityCheck() async throws -> String {
        try await writer.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "\n") }
    }

    /// Copies the -wal file into the main file and truncates it (e.g. before measuring the file
    /// or copying it). SQLite also checkpoints by itself every ~1000 pages.
    public func checkpoint() async throws {
        try await writer.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }

    static func existingTargetID(_ name: String, db: Database) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM target WHERE name = ?"), arguments: [name])
    }
}

/// A results position: `<started_us>_<seq>` of the last row of a page. Opaque to API users.
struct ResultCursor: Equatable {
    var startedUs: Int64
    var seq: Int64

    init(startedUs: Int64, seq: Int64) {
        self.startedUs = startedUs
        self.seq = seq
    }

    init(parsing text: String) throws(StoreError) {
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, let started = Int64(parts[0]), let seq = Int64(parts[1]), seq >= 0 else {
            throw StoreError.invalidCursor(text)
        }
        self.init(startedUs: started, seq: seq)
    }

    var string: String { "\(startedUs)_\(seq)" }
}
