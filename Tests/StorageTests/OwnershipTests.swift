import Foundation
import GRDB
import PhaseWatchCore
@testable import Storage
import TestSupport
import Testing

/// Issue 20, "Hardening": one phasewatch per database file (a flock on `<path>.lock`), and no
/// writing into files that are not this version's: a newer phasewatch's, another
/// application's. Real SQLite files in a scratch directory.
struct OwnershipTests {
    /// phasewatch's `PRAGMA application_id`, as files on disk carry it: never change it.
    static let applicationID: Int32 = 0x5057_4442

    static func probe(_ n: Int, target: String = "t") -> StoredProbe {
        var rng = SplitMix64(seed: UInt64(n))
        return randomProbe(target: target, startedUs: epochUs + Int64(n) * 1_000_000, n: n, threshold: nil, rng: &rng)
    }

    /// A database made by the current code with one probe, closed and checkpointed.
    static func makeDatabase(_ name: String = #function) async throws -> String {
        let (store, dir) = try openStore(name)
        try await store.insert([probe(1)])
        try await store.checkpoint()
        _ = dir
        return store.path
    }

    /// Every byte of the database, its -wal and -shm files (nil when absent).
    static func bytes(_ path: String) -> [Data?] {
        [path, path + "-wal", path + "-shm"].map { FileManager.default.contents(atPath: $0) }
    }

    static func applicationID(_ path: String) throws -> Int32? {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in try Int32.fetchOne(db, sql: "PRAGMA application_id") }
    }

    /// Runs `sql` on the file through a plain GRDB connection, as another program would.
    static func edit(_ path: String, _ sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: sql) }
        try queue.close()
    }

    static func expectRefusal(_ path: String, _ expected: StoreError, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try ProbeStore(path: path)
            Issue.record("\(path) opened; expected \(expected)", sourceLocation: sourceLocation)
        } catch {
            #expect(error as? StoreError == expected, "\(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: The lock

    @Test func aSecondStoreOnTheSameFileIsRefusedWithTheHoldersPID() async throws {
        let (store, _) = try openStore()
        let lockFile = store.path + ".lock"
        let pid = getpid()
        #expect(try String(contentsOfFile: lockFile, encoding: .utf8) == "\(pid)\n")
        Self.expectRefusal(store.path, .inUse(path: store.path, lockFile: lockFile, pid: pid))
        do {
            _ = try ProbeStore(path: store.path)
        } catch {
            #expect(
                "\(error)"
                    == "database \(store.path) is in use by PID \(pid) (it holds \(lockFile)): stop that phasewatch, or point --storage.path elsewhere")
        }
        // The refused open left the holder working.
        try await store.insert([Self.probe(1)])
        #expect(try await store.targets() == ["t"])
    }

    @Test func theFileOpensAgainOnceTheFirstStoreIsReleased() async throws {
        let dir = try scratchDirectory()
        let path = dir.appendingPathComponent("probes.db").path
        do {
            let first = try ProbeStore(path: path)
            try await first.insert([Self.probe(1)])
        }
        let second = try ProbeStore(path: path)
        #expect(try await second.targets() == ["t"])
        // The lock file stays (deleting it would race with a starting agent); it names the holder.
        #expect(try String(contentsOfFile: path + ".lock", encoding: .utf8) == "\(getpid())\n")
    }

    /// An unreadable or empty lock file still refuses, without a PID.
    @Test func aHolderWithoutAPIDIsAnotherProcess() async throws {
        let (store, _) = try openStore()
        let lockFile = store.path + ".lock"
        try Data().write(to: URL(fileURLWithPath: lockFile))  // same inode: the lock stays
        Self.expectRefusal(store.path, .inUse(path: store.path, lockFile: lockFile, pid: nil))
        #expect(
            StoreError.inUse(path: "/d/pw.db", lockFile: "/d/pw.db.lock", pid: nil).description
                == "database /d/pw.db is in use by another process (it holds /d/pw.db.lock): stop that phasewatch, or point --storage.path elsewhere")
    }

    /// The lock dies with its process: a holder killed with SIGKILL leaves its lock file (and
    /// PID) behind, and the next store opens regardless.
    @Test(.requires(.python3))  // holds the lock from a child process
    func aLockLeftByAKilledProcessDoesNotBlock() async throws {
        let dir = try scratchDirectory()
        let path = dir.appendingPathComponent("probes.db").path
        let lockFile = path + ".lock"
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try requireTool(.python3))
        child.arguments = [
            "-c",
            """
            import fcntl, os, sys, time
            f = open(sys.argv[1], "a+")
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            f.seek(0); f.truncate(); f.write(f"{os.getpid()}\\n"); f.flush()
            print("locked", flush=True)
            time.sleep(600)
            """,
            lockFile,
        ]
        let out = Pipe()
        child.standardOutput = out
        try child.run()
        defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
        let said = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        try #require(said.hasPrefix("locked"), "the child did not take the lock: \(said)")

        Self.expectRefusal(path, .inUse(path: path, lockFile: lockFile, pid: child.processIdentifier))
        #expect(!FileManager.default.fileExists(atPath: path), "refused before SQLite created the file")

        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
        #expect(try String(contentsOfFile: lockFile, encoding: .utf8) == "\(child.processIdentifier)\n")
        let store = try ProbeStore(path: path)
        try await store.insert([Self.probe(1)])
        #expect(try String(contentsOfFile: lockFile, encoding: .utf8) == "\(getpid())\n")
    }

    // MARK: Files that are not this version's

    @Test func aFileWithUnknownMigrationsIsRefusedUnchanged() async throws {
        let path = try await Self.makeDatabase()
        try Self.edit(path, "INSERT INTO grdb_migrations VALUES ('v9-future'), ('v10-more-future')")
        let before = Self.bytes(path)
        #expect(before[0] != nil)
        Self.expectRefusal(path, .newerDatabase(path: path, unknownMigrations: ["v9-future", "v10-more-future"]))
        #expect(Self.bytes(path) == before)
        do {
            _ = try ProbeStore(path: path)
        } catch {
            #expect(
                "\(error)"
                    == "\(path) was written by a newer phasewatch (unknown migrations: v9-future, v10-more-future): upgrade phasewatch, or point --storage.path elsewhere"
            )
        }
        // The lock was released with the refused store: once the row is gone, it opens.
        try Self.edit(path, "DELETE FROM grdb_migrations WHERE identifier LIKE 'v%-%future'")
        #expect(try await ProbeStore(path: path).targets() == ["t"])
    }

    /// A newer phasewatch killed right after migrating: its migration row is still only in the
    /// -wal file. Read from there too, and refused with both files unchanged.
    @Test func anUnknownMigrationStillInTheWALIsSeen() async throws {
        let path = try await Self.makeDatabase()
        let pool = try DatabasePool(path: path)
        try await pool.write { db in try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v9-future')") }
        // The files as a kill -9 would leave them: copied while the connection is open.
        let crashed = path.replacingOccurrences(of: "probes.db", with: "crashed.db")
        let files = Self.bytes(path)
        #expect((files[1]?.count ?? 0) > 0, "the row is in the WAL")
        try files[0]!.write(to: URL(fileURLWithPath: crashed))
        try files[1]!.write(to: URL(fileURLWithPath: crashed + "-wal"))
        try pool.close()
        let before = Self.bytes(crashed)
        Self.expectRefusal(crashed, .newerDatabase(path: crashed, unknownMigrations: ["v9-future"]))
        #expect(Self.bytes(crashed)[0...1] == before[0...1])
    }

    @Test func anotherApplicationsDatabaseIsRefusedUnchanged() async throws {
        let dir = try scratchDirectory()
        let path = dir.appendingPathComponent("notes.db").path
        try Self.edit(path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')")
        let before = Self.bytes(path)
        Self.expectRefusal(path, .foreignDatabase(path: path, applicationID: 0, tables: ["notes"]))
        #expect(Self.bytes(path) == before)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "never switched to WAL")
        do {
            _ = try ProbeStore(path: path)
        } catch {
            #expect(
                "\(error)"
                    == "\(path) is a SQLite database of another application (application_id 0, tables: notes): phasewatch will not add its tables to it; point --storage.path elsewhere"
            )
        }

        // Another GRDB application: a grdb_migrations table alone does not make a file ours.
        let grdbApp = dir.appendingPathComponent("app.db").path
        try Self.edit(
            grdbApp,
            "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY); INSERT INTO grdb_migrations VALUES ('createAuthor'); CREATE TABLE author (id INTEGER PRIMARY KEY)"
        )
        let appBefore = Self.bytes(grdbApp)
        Self.expectRefusal(grdbApp, .foreignDatabase(path: grdbApp, applicationID: 0, tables: ["author", "grdb_migrations"]))
        #expect(Self.bytes(grdbApp) == appBefore)

        // An application id of its own, even without tables.
        let marked = dir.appendingPathComponent("marked.db").path
        try Self.edit(marked, "PRAGMA application_id = 1234")
        let markedBefore = Self.bytes(marked)
        Self.expectRefusal(marked, .foreignDatabase(path: marked, applicationID: 1234, tables: []))
        #expect(Self.bytes(marked) == markedBefore)
        #expect("\(StoreError.foreignDatabase(path: marked, applicationID: 1234, tables: []))".contains("(application_id 1234, tables: none)"))
    }

    @Test func newAndEmptyFilesAreCreatedWithTheApplicationID() async throws {
        let dir = try scratchDirectory()
        let fresh = dir.appendingPathComponent("new/probes.db").path
        try await ProbeStore(path: fresh).checkpoint()
        #expect(try Self.applicationID(fresh) == Self.applicationID)
        #expect(Ownership.applicationID == Self.applicationID)

        let empty = dir.appendingPathComponent("empty.db").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let store = try ProbeStore(path: empty)
        try await store.insert([Self.probe(1)])
        try await store.checkpoint()
        #expect(try Self.applicationID(empty) == Self.applicationID)
    }

    /// Files of the first release carry application_id 0: theirs is the grdb_migrations row
    /// `v1-schema`. They open as before and are marked.
    @Test func aFileFromBeforeTheApplicationIDOpensAndGetsIt() async throws {
        let path = try await Self.makeDatabase()
        try Self.edit(path, "PRAGMA application_id = 0")
        #expect(try Self.applicationID(path) == 0)
        let store = try ProbeStore(path: path)
        #expect(try await store.targets() == ["t"])
        try await store.checkpoint()
        #expect(try Self.applicationID(path) == Self.applicationID)
    }
}
