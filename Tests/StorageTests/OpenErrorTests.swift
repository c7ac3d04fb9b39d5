import Foundation
import GRDB
import PhaseWatchCore
@testable import Storage
import TestSupport
import Testing

/// Issue 20: "a directory, a dangling symlink or a symlink loop as the database path all give
/// 'unable to open database file (SQLite error 14)'"; "a storage path under a missing /proc
/// directory is reported as 'no space left'". Each now names its cause, its errno and the path
/// at fault. Real paths in a scratch directory.
struct OpenErrorTests {
    /// The failure of opening `path`; records an issue when it opens or fails otherwise.
    static func failure(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) -> StorageFailure? {
        do {
            _ = try ProbeStore(path: path)
            Issue.record("\(path) opened", sourceLocation: sourceLocation)
        } catch StoreError.cannotOpen(let failure) {
            return failure
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    static func expect(
        _ path: String, _ kind: StorageFailure.Kind, _ errno: String, says explanation: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let failure = failure(path, sourceLocation: sourceLocation) else { return }
        #expect(failure.kind == kind, "\(failure)", sourceLocation: sourceLocation)
        #expect(failure.errnoName == errno, "\(failure)", sourceLocation: sourceLocation)
        #expect(failure.explanation == explanation, sourceLocation: sourceLocation)
        #expect(failure.error.hasSuffix("(\(errno))"), "\(failure.error)", sourceLocation: sourceLocation)
        #expect(!failure.description.contains("SQLite error"), "\(failure)", sourceLocation: sourceLocation)
        let message = "\(StoreError.cannotOpen(failure))"
        #expect(message.hasPrefix("cannot open the database \(path) for writing: \(explanation): "), "\(message)", sourceLocation: sourceLocation)
    }

    @Test func aDirectory() throws {
        let dir = try scratchDirectory().path
        let path = "\(dir)/pw.db"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        Self.expect(path, .isDirectory, "EISDIR", says: "\(path) is a directory, not a database file")
        #expect(!FileManager.default.fileExists(atPath: path + ".lock"), "refused before the lock file")

        let link = "\(dir)/link.db"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        Self.expect(link, .isDirectory, "EISDIR", says: "\(link) is a symbolic link to the directory \(path), not to a database file")
    }

    @Test func aDanglingSymbolicLink() throws {
        let dir = try scratchDirectory().path
        let path = "\(dir)/pw.db"
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "\(dir)/gone/pw.db")
        Self.expect(path, .notFound, "ENOENT", says: "\(path) is a symbolic link to \(dir)/gone/pw.db, which does not exist")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/gone"), "nothing created where the link points")

        // A dangling link where a directory should be.
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/data", withDestinationPath: "missing")
        Self.expect("\(dir)/data/pw.db", .notFound, "ENOENT", says: "\(dir)/data is a symbolic link to missing, which does not exist")
    }

    @Test func aSymbolicLinkLoop() throws {
        let dir = try scratchDirectory().path
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/a.db", withDestinationPath: "b.db")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/b.db", withDestinationPath: "a.db")
        Self.expect("\(dir)/a.db", .symlinkLoop, "ELOOP", says: "\(dir)/a.db is a symbolic link to b.db in a loop of symbolic links")

        try FileManager.default.createSymbolicLink(atPath: "\(dir)/self", withDestinationPath: "self")
        Self.expect("\(dir)/self/pw.db", .symlinkLoop, "ELOOP", says: "\(dir)/self is a symbolic link to self in a loop of symbolic links")
    }

    @Test func aParentThatIsARegularFile() throws {
        let dir = try scratchDirectory().path
        #expect(FileManager.default.createFile(atPath: "\(dir)/file", contents: Data("x".utf8)))
        Self.expect(
            "\(dir)/file/sub/pw.db", .notDirectory, "ENOTDIR",
            says: "\(dir)/file is a regular file, not a directory, so it cannot hold the database")
        #expect(FileManager.default.contents(atPath: "\(dir)/file") == Data("x".utf8))
    }

    /// Was "no space left": /proc's file system reports 0 free bytes.
    @Test func aMissingDirectoryUnderProc() throws {
        try #require(FileManager.default.fileExists(atPath: "/proc/self"), "needs /proc")
        let path = "/proc/nonexistent/pw.db"
        Self.expect(
            path, .notFound, "ENOENT", says: "the directory /proc/nonexistent does not exist, and /proc does not allow creating it")
        #expect(Self.failure(path).map { "\($0)".contains("space") } == false)
    }

    @Test func missingDirectoriesAreCreated() async throws {
        let dir = try scratchDirectory().path
        let path = "\(dir)/a/b/c/pw.db"
        let store = try ProbeStore(path: path)
        try await store.checkpoint()
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(FileManager.default.fileExists(atPath: path + ".lock"))
    }

    /// Through a symbolic link SQLite opens the target, so the lock is the target's: the link
    /// and the file itself cannot be opened at the same time.
    @Test func aSymbolicLinkToTheFileSharesItsLock() async throws {
        let dir = try scratchDirectory().path
        let real = "\(dir)/real/pw.db"
        let link = "\(dir)/link.db"
        do { _ = try ProbeStore(path: real) }
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real/pw.db")
        let store = try ProbeStore(path: link)
        try await store.checkpoint()
        #expect(!FileManager.default.fileExists(atPath: link + ".lock"))
        do {
            _ = try ProbeStore(path: real)
            Issue.record("opened while the link's store holds it")
        } catch {
            #expect(error as? StoreError == .inUse(path: real, lockFile: real + ".lock", pid: getpid()))
        }
    }

    // MARK: Permissions, read-only and full file systems

    /// Runs `body` on this thread with the file system identity of `nobody` (setfsuid is per
    /// thread, so tests running beside it keep root). Nil when that is not possible.
    static func asNobody<T>(_ body: () throws -> T) rethrows -> T? {
        typealias SetFSID = @convention(c) (UInt32) -> Int32
        guard getuid() == 0, let handle = dlopen(nil, RTLD_NOW), let u = dlsym(handle, "setfsuid"), let g = dlsym(handle, "setfsgid")
        else { return nil }
        let setfsuid = unsafeBitCast(u, to: SetFSID.self)
        let setfsgid = unsafeBitCast(g, to: SetFSID.self)
        _ = setfsgid(65534)
        _ = setfsuid(65534)
        defer {
            _ = setfsuid(0)
            _ = setfsgid(0)
        }
        // setfsuid returns the previous id: asking again tells whether the switch took.
        guard setfsuid(65534) == 65534 else { return nil }
        return try body()
    }

    /// Root passes every permission check, so the test takes nobody's identity for the open.
    @Test func permissionsNameTheDirectoryOrFileAndWhatIsMissing() async throws {
        let dir = try scratchDirectory().path
        let locked = "\(dir)/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        chmod(locked, 0o555)
        let path = "\(locked)/pw.db"
        guard Self.asNobody({ () }) != nil else {
            print("OpenErrorTests: permission cases not run: needs root and setfsuid to act as nobody")
            return
        }
        Self.asNobody {
            Self.expect(
                path, .permissionDenied, "EACCES",
                says: "no permission to create files in \(locked) (SQLite keeps -wal and -shm files next to the database)")
            Self.expect(
                "\(locked)/sub/pw.db", .permissionDenied, "EACCES",
                says: "no permission to create the directory \(locked)/sub: \(locked) is not writable (w) for this user")
        }

        chmod(locked, 0o777)
        do { _ = try ProbeStore(path: path) }  // root's file, mode 0644
        Self.asNobody {
            Self.expect(path, .permissionDenied, "EACCES", says: "no permission to write \(path)")
        }

        chmod(locked, 0o700)
        Self.asNobody {
            Self.expect(path, .permissionDenied, "EACCES", says: "no permission to search \(locked) (x) to reach \(path)")
        }
        chmod(locked, 0o755)
    }

    /// A small tmpfs, mounted for the test (which skips where mounting is not permitted).
    static func withTmpfs(_ body: (String) async throws -> Void) async throws {
        try requireTool(.tmpfs)
        let dir = try scratchDirectory("tmpfs").path
        try #require(run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]) == 0, "mount -t tmpfs \(dir)")
        defer { _ = run(["umount", "-l", dir]) }
        try await body(dir)
    }

    @discardableResult
    static func run(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test(.requires(.tmpfs)) func aReadOnlyFileSystem() async throws {
        try await Self.withTmpfs { fs in
            do { _ = try ProbeStore(path: "\(fs)/pw.db") }  // closed: remounting needs no file open for writing
            #expect(Self.run(["mount", "-o", "remount,ro", fs]) == 0)
            Self.expect("\(fs)/pw.db", .readOnly, "EROFS", says: "the file system holding \(fs) is mounted read-only")
            Self.expect(
                "\(fs)/sub/pw.db", .readOnly, "EROFS",
                says: "the file system holding \(fs) is mounted read-only, so the directory \(fs)/sub cannot be created")
        }
    }

    @Test(.requires(.tmpfs)) func aFullFileSystem() async throws {
        try await Self.withTmpfs { fs in
            let filler = open("\(fs)/filler", O_WRONLY | O_CREAT, 0o644)
            let chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while chunk.withUnsafeBytes({ write(filler, $0.baseAddress, $0.count) }) > 0 {}
            let full = errno
            close(filler)
            try #require(full == ENOSPC)
            guard let failure = Self.failure("\(fs)/pw.db") else { return }
            #expect(failure.kind == .diskFull, "\(failure)")
            #expect(failure.errnoName == "ENOSPC", "\(failure)")
            #expect(failure.explanation.hasPrefix("no space left on the file system holding \(fs)"), "\(failure)")
            #expect(failure.freeBytes == 0)
            #expect("\(failure)".contains("ENOSPC"), "\(failure)")
        }
    }
}
