import Foundation
import GRDB

/// Whether an existing file at the database path is phasewatch's to open, decided on a
/// read-only connection before anything writes to it: a refused file is left byte for byte as
/// it was (opening it for writing would switch it to WAL mode, and migrating would add tables).
enum Ownership {
    /// `PRAGMA application_id` of phasewatch databases ("PWDB"), set on every file phasewatch
    /// creates or recognizes as its own, so that `file(1)` and the next start can tell.
    static let applicationID: Int32 = 0x5057_4442

    /// The first migration: a file without the application id is phasewatch's when GRDB
    /// recorded this one (files made before the id existed).
    static let firstMigration = "v1-schema"

    /// Throws `StoreError.foreignDatabase` or `.newerDatabase`; returns for a missing, empty
    /// or own file. `resolved` is the file SQLite will open (symbolic links followed).
    static func check(path: String, resolved: String) throws {
        guard FileManager.default.fileExists(atPath: resolved) else { return }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "phasewatch.storage.check"
        let queue = try DatabaseQueue(path: readOnlyLocation(resolved), configuration: configuration)
        defer { try? queue.close() }
        try queue.read { db in
            let id = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
            let applied =
                tables.contains("grdb_migrations")
                ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") : []
            let ours = id == applicationID || (id == 0 && (tables.isEmpty || applied.contains(firstMigration)))
            guard ours else {
                throw StoreError.foreignDatabase(path: path, applicationID: id, tables: tables)
            }
            let known = Set(Schema.migrator.migrations)
            let unknown = applied.filter { !known.contains($0) }
            guard unknown.isEmpty else {
                throw StoreError.newerDatabase(path: path, unknownMigrations: unknown)
            }
        }
    }

    /// Even a read-only connection creates the -wal and -shm files of a WAL database. When no
    /// -wal content or rollback journal exists the main file is complete, and `immutable=1`
    /// reads it without creating anything; otherwise those files exist already.
    static func readOnlyLocation(_ path: String) -> String {
        let files = FileManager.default
        let walBytes = (try? files.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        guard walBytes == 0, !files.fileExists(atPath: path + "-journal") else { return path }
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        return "file:\(path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path)?immutable=1"
    }

    /// Marks an accepted file as phasewatch's (new files, and files from before the id).
    static func claim(_ db: Database) throws {
        guard try Int32.fetchOne(db, sql: "PRAGMA application_id") != applicationID else { return }
        try db.execute(sql: "PRAGMA application_id = \(applicationID)")
    }
}
