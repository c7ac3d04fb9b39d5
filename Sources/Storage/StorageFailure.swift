import Foundation
import GRDB

/// Why the database refused to open or to write, in an operator's words ("disk full",
/// "read-only"), with the file system's facts behind it. GRDB stays inside `Storage`, so the
/// agent classifies store errors through this type.
///
/// SQLite's codes alone mislead: a read-only file system shows as "unable to open database
/// file", a full one while SQLite maps its -shm index as "disk I/O error". So the file system is
/// asked too (writable? free space?), and its answer wins when it explains the error.
public struct StorageFailure: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case diskFull = "disk full"
        case readOnly = "database is read-only"
        case permissionDenied = "permission denied"
        case ioError = "disk I/O error"
        case locked = "database is locked"
        case corrupt = "database is corrupt"
        case other = "storage error"
        /// ENOENT: a dangling symbolic link, or a directory that cannot be created.
        case notFound = "no such file or directory"
        /// EISDIR: the database path is a directory.
        case isDirectory = "is a directory"
        /// ENOTDIR: a component of the path is a file, not a directory.
        case notDirectory = "not a directory"
        /// ELOOP: symbolic links that point at each other.
        case symlinkLoop = "symbolic link loop"
    }

    public let kind: Kind
    /// The database file.
    public let path: String
    /// What SQLite or the OS said, without the SQL statement, with the errno name when known,
    /// e.g. "database or disk is full (SQLite error 13, ENOSPC)", "Is a directory (EISDIR)".
    public let error: String
    /// The errno name behind the failure ("ENOSPC", "EROFS", …), when known.
    public let errnoName: String?
    /// Bytes an unprivileged process may still write on the database's file system, when known.
    public let freeBytes: Int64?
    /// One sentence naming the file or directory at fault.
    public let explanation: String

    /// Free space below this with an I/O error means the I/O error is the full disk.
    static let nearlyFull: Int64 = 64 * 1024

    public init(error: any Error, path: String) {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var kind = Kind.other
        var message: String
        if let error = error as? DatabaseError {
            kind = switch error.resultCode.primaryResultCode {
            case .SQLITE_FULL: .diskFull
            case .SQLITE_READONLY: .readOnly
            case .SQLITE_PERM, .SQLITE_AUTH: .permissionDenied
            case .SQLITE_IOERR: .ioError
            case .SQLITE_BUSY, .SQLITE_LOCKED: .locked
            case .SQLITE_CORRUPT, .SQLITE_NOTADB: .corrupt
            default: .other
            }
            message = "\(error.message ?? "unknown error") (SQLite error \(error.extendedResultCode.rawValue)"
        } else if let posix = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError, posix.domain == NSPOSIXErrorDomain {
            // Foundation's own text is a long dump of its userInfo.
            message = "\(String(cString: strerror(Int32(posix.code)))) (\(Errno.name(Int32(posix.code))))"
        } else {
            message = "\(error)"
        }
        let facts = FileSystemFacts(path: path, directory: directory)
        freeBytes = facts.freeBytes
        var errnoName: String?
        switch kind {
        case .readOnly, .permissionDenied, .ioError, .other:
            if facts.readOnlyFileSystem {
                kind = .readOnly
                errnoName = "EROFS"
                explanation = "the file system holding \(facts.existingDirectory) is mounted read-only"
            } else if let denied = facts.notWritable {
                kind = .permissionDenied
                errnoName = "EACCES"
                explanation = denied
            } else if kind != .readOnly, let free = facts.freeBytes, free < Self.nearlyFull {
                kind = .diskFull
                errnoName = "ENOSPC"
                explanation = "no space left on the file system holding \(directory) (\(free) bytes free)"
            } else {
                explanation = kind == .readOnly ? "\(path) cannot be written" : "\(kind.rawValue) on \(path)"
            }
        case .diskFull:
            errnoName = "ENOSPC"
            explanation = "no space left on the file system holding \(directory)"
                + (facts.freeBytes.map { " (\($0) bytes free)" } ?? "")
        case .locked:
            explanation = "\(path) is locked by another process"
        case .corrupt:
            explanation = "\(path) is corrupt"
        case .notFound, .isDirectory, .notDirectory, .symlinkLoop:
            explanation = "\(kind.rawValue): \(path)"  // only made by init(errno:…)
        }
        if error is DatabaseError {
            // The errno goes inside SQLite's parenthesis: "(SQLite error 13, ENOSPC)".
            message += errnoName.map { ", \($0))" } ?? ")"
        }
        self.kind = kind
        self.error = message
        self.errnoName = errnoName
    }

    /// A failure the file system reported before SQLite saw the file: `errno` of the call that
    /// failed, `explanation` naming the file or directory at fault and what is wrong with it.
    init(errno code: Int32, path: String, explanation: String, kind: Kind? = nil) {
        self.path = path
        self.kind = kind ?? Self.kind(errno: code)
        self.errnoName = Errno.name(code)
        self.error = "\(String(cString: strerror(code))) (\(Errno.name(code)))"
        self.explanation = explanation
        freeBytes = code == ENOSPC || code == EDQUOT
            ? FileSystemFacts.freeBytes(URL(fileURLWithPath: path).deletingLastPathComponent().path) : nil
    }

    static func kind(errno code: Int32) -> Kind {
        switch code {
        case ENOSPC, EDQUOT: .diskFull
        case EROFS: .readOnly
        case EACCES, EPERM: .permissionDenied
        case EIO: .ioError
        case ENOENT: .notFound
        case EISDIR: .isDirectory
        case ENOTDIR: .notDirectory
        case ELOOP: .symlinkLoop
        default: .other
        }
    }

    public var description: String { "\(explanation): \(error)" }
}

/// errno names, for messages that an operator can search for.
enum Errno {
    static func name(_ code: Int32) -> String {
        switch code {
        case ENOENT: "ENOENT"
        case EISDIR: "EISDIR"
        case ENOTDIR: "ENOTDIR"
        case ELOOP: "ELOOP"
        case EACCES: "EACCES"
        case EPERM: "EPERM"
        case EROFS: "EROFS"
        case ENOSPC: "ENOSPC"
        case EDQUOT: "EDQUOT"
        case EIO: "EIO"
        case EEXIST: "EEXIST"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case EBUSY: "EBUSY"
        case EINVAL: "EINVAL"
        case ENOLCK: "ENOLCK"
        case EMFILE: "EMFILE"
        case ENFILE: "ENFILE"
        case EAGAIN: "EAGAIN"
        default: "errno \(code)"
        }
    }
}

/// What the file system says about the database's directory, asked as this process's user.
struct FileSystemFacts {
    /// The directory, or its nearest existing ancestor when it does not exist yet.
    var existingDirectory: String
    var readOnlyFileSystem = false
    /// Why this user cannot write the file or create files next to it; nil when it can.
    var notWritable: String?
    var freeBytes: Int64?

    init(path: String, directory: String) {
        var dir = directory.isEmpty ? "." : directory
        while access(dir, F_OK) != 0, dir != "/", !dir.isEmpty {
            dir = URL(fileURLWithPath: dir).deletingLastPathComponent().path
        }
        existingDirectory = dir
        freeBytes = Self.freeBytes(dir)
        // access() reports EROFS for a read-only mount even to root, who passes every
        // permission check. AT_EACCESS: as this process opens files (effective ids).
        if faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) != 0 {
            if errno == EROFS {
                readOnlyFileSystem = true
            } else if errno == EACCES {
                notWritable = "no permission to create files in \(dir) (SQLite keeps -wal and -shm files next to the database)"
            }
        } else if access(path, F_OK) == 0, faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) != 0 {
            if errno == EROFS { readOnlyFileSystem = true } else { notWritable = "no permission to write \(path)" }
        }
    }

    /// Space an unprivileged process may still use; nil for file systems without a size (such
    /// as /proc, whose 0 free bytes once read as "disk full").
    static func freeBytes(_ directory: String) -> Int64? {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0, stats.f_blocks > 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }
}
