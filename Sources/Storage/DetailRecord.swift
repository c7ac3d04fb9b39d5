import GRDB

/// A row of table `detail`: one set of `ProbeFacts`, shared by every probe row with the same
/// facts (`probe.detail_id`).
struct DetailRecord: Sendable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "detail"

    /// The columns besides the facts' own (`ProbeFacts.Columns`).
    enum Columns: String, ColumnExpression, CaseIterable {
        case id
        /// `ProbeFacts.stableHash`, moved on past a collision (see `ref`).
        case hash
        /// The newest probe (µs) that uses the row, refreshed at most every `touchInterval`:
        /// retention drops rows unused for longer without an index on probe.detail_id.
        case lastUsedUs = "last_used_us"
    }

    var id: Int64?
    var hash: Int64
    var lastUsedUs: Int64
    var facts: ProbeFacts

    init(id: Int64? = nil, hash: Int64, lastUsedUs: Int64, facts: ProbeFacts) {
        self.id = id
        self.hash = hash
        self.lastUsedUs = lastUsedUs
        self.facts = facts
    }

    init(row: Row) throws {
        id = row[Columns.id]
        hash = row[Columns.hash]
        lastUsedUs = row[Columns.lastUsedUs]
        facts = try ProbeFacts(row: row)
    }

    func encode(to container: inout PersistenceContainer) {
        container[Columns.id] = id
        container[Columns.hash] = hash
        container[Columns.lastUsedUs] = lastUsedUs
        facts.encode(to: &container)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    // MARK: Finding and reading rows

    /// How stale `last_used_us` may get before an insert refreshes it. Retention keeps a detail
    /// row until its `last_used_us` is this much older than the raw-row cut-off.
    static let touchInterval: Int64 = 3_600_000_000

    /// Where a detail row was found: its id and the hash slot it sits in.
    struct Ref: Sendable, Equatable {
        var id: Int64
        var hash: Int64
    }

    /// The row holding `facts`, inserting it when new; `usedAt` is the newest probe (µs) about
    /// to reference it. `hint` is where an earlier transaction found it: checked with one
    /// primary-key read (the row may have been deleted by retention since, and SQLite may hand
    /// its id to a new row, hence the hash check), which spares the content comparison.
    static func ref(for facts: ProbeFacts, usedAt: Int64, hint: Ref?, db: Database) throws -> Ref {
        if let hint,
            let lastUsed = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT last_used_us FROM detail WHERE id = ? AND hash = ?"), arguments: [hint.id, hint.hash])
        {
            try touch(hint.id, lastUsed: lastUsed, usedAt: usedAt, db: db)
            return hint
        }
        var hash = facts.stableHash
        let select = try db.cachedStatement(sql: "SELECT * FROM detail WHERE hash = ?")
        // Linear probing past the (astronomically rare) FNV collision with different content.
        for _ in 0..<16 {
            guard let found = try DetailRecord.fetchOne(select, arguments: [hash]) else {
                var record = DetailRecord(hash: hash, lastUsedUs: usedAt, facts: facts)
                try record.insert(db)
                return Ref(id: record.id ?? db.lastInsertedRowID, hash: hash)
            }
            if found.facts == facts, let id = found.id {
                try touch(id, lastUsed: found.lastUsedUs, usedAt: usedAt, db: db)
                return Ref(id: id, hash: hash)
            }
            hash &+= 1
        }
        throw StoreError.corrupt("too many detail hash collisions")
    }

    private static func touch(_ id: Int64, lastUsed: Int64, usedAt: Int64, db: Database) throws {
        guard usedAt > lastUsed + touchInterval else { return }
        try db.cachedStatement(sql: "UPDATE detail SET last_used_us = ? WHERE id = ?").execute(arguments: [usedAt, id])
    }

    /// The facts of the rows with these ids.
    static func facts(ids: some Collection<Int64>, db: Database) throws -> [Int64: ProbeFacts] {
        var out: [Int64: ProbeFacts] = [:]
        let select = try db.cachedStatement(sql: "SELECT * FROM detail WHERE id = ?")
        for id in Set(ids) {
            guard let record = try DetailRecord.fetchOne(select, arguments: [id]) else {
                throw StoreError.corrupt("probe row refers to missing detail \(id)")
            }
            out[id] = record.facts
        }
        return out
    }
}
