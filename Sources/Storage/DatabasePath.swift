import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The database path checked, and its missing directories created, before anything opens it.
///
/// SQLite reports most path problems as "unable to open database file (SQLite error 14)", and
/// the free space of a pseudo file system such as /proc is 0, which read as "disk full". So
/// the path is walked component by component first, and the first one at fault is named with
/// the errno that the file system gave for it.
enum DatabasePath {
    /// The file SQLite will open: `path`, or the file it points to when it is a symbolic link
    /// (SQLite follows the link and keeps its -wal and -shm files next to the target).
    /// Throws `StoreError.cannotOpen` naming the cause and the file or directory at fault.
    static func prepare(_ path: String) throws(StoreError) -> String {
        let fail = { (code: Int32, explanation: String) -> StoreError in
            .cannotOpen(StorageFailure(errno: code, path: path, explanation: explanation))
        }
        guard !path.isEmpty else { throw fail(ENOENT, "the database path is empty") }
        let absolute = path.hasPrefix("/")
        var parent = absolute ? "/" : "."
        var walked: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true).dropLast() {
            walked.append(component)
            let directory = (absolute ? "/" : "") + walked.joined(separator: "/")
            try ensureDirectory(directory, in: parent, fail: fail)
            parent = directory
        }

        var resolved = path
        var info = stat()
        if lstat(path, &info) == 0 {
            if isLink(info) {
                let target = linkTarget(path)
                var followed = stat()
                guard stat(path, &followed) == 0 else { throw linkFailure(path, target: target, errno: errno, fail: fail) }
                if isDirectory(followed) {
                    throw fail(EISDIR, "\(path) is a symbolic link to the directory \(target), not to a database file")
                }
                resolved = realPath(path) ?? path
            } else if isDirectory(info) {
                throw fail(EISDIR, "\(path) is a directory, not a database file")
            }
        } else if errno != ENOENT {
            let code = errno
            throw fail(code, code == EACCES ? "no permission to search \(parent) (x) to reach \(path)" : "cannot look up \(path)")
        }
        try checkWritable(resolved, fail: fail)
        return resolved
    }

    /// `directory` exists (created when missing, like `mkdir -p`) and is a directory, or a
    /// symbolic link to one.
    private static func ensureDirectory(
        _ directory: String, in parent: String, fail: (Int32, String) -> StoreError
    ) throws(StoreError) {
        var info = stat()
        if lstat(directory, &info) != 0 {
            let code = errno
            guard code == ENOENT else {
                throw fail(code, code == EACCES ? "no permission to search \(parent) (x) to reach \(directory)" : "cannot look up \(directory)")
            }
            guard mkdir(directory, 0o777) == 0 || errno == EEXIST else {
                let code = errno
                let why =
                    switch code {
                    case ENOENT: "the directory \(directory) does not exist, and \(parent) does not allow creating it"
                    case EACCES: "no permission to create the directory \(directory): \(parent) is not writable (w) for this user"
                    case EROFS: "the file system holding \(parent) is mounted read-only, so the directory \(directory) cannot be created"
                    case ENOSPC, EDQUOT: "no space left on the file system holding \(parent) to create the directory \(directory)"
                    default: "cannot create the directory \(directory)"
                    }
                throw fail(code, why)
            }
            guard lstat(directory, &info) == 0 else { throw fail(errno, "cannot look up \(directory)") }
        }
        if isLink(info) {
            let target = linkTarget(directory)
            var followed = stat()
            guard stat(directory, &followed) == 0 else { throw linkFailure(directory, target: target, errno: errno, fail: fail) }
            guard isDirectory(followed) else {
                throw fail(ENOTDIR, "\(directory) is a symbolic link to \(target), which is \(kind(followed)), not a directory")
            }
        } else if !isDirectory(info) {
            throw fail(ENOTDIR, "\(directory) is \(kind(info)), not a directory, so it cannot hold the database")
        }
    }

    private static func linkFailure(
        _ link: String, target: String, errno code: Int32, fail: (Int32, String) -> StoreError
    ) -> StoreError {
        let why =
            switch code {
            case ENOENT: "\(link) is a symbolic link to \(target), which does not exist"
            case ELOOP: "\(link) is a symbolic link to \(target) in a loop of symbolic links"
            case ENOTDIR: "\(link) is a symbolic link to \(target), which goes through something that is not a directory"
            case EACCES: "no permission to follow the symbolic link \(link) to \(target)"
            default: "cannot follow the symbolic link \(link) to \(target)"
            }
        return fail(code, why)
    }

    /// This process (its effective user) can create the -wal, -shm and lock files next to the
    /// database when they are missing, and read and write those that exist. A directory it
    /// cannot write is reported first, as before, unless every file exists and is writable
    /// (SQLite then needs to create nothing).
    private static func checkWritable(_ file: String, fail: (Int32, String) -> StoreError) throws(StoreError) {
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        let companions = [file, file + "-wal", file + "-shm", file + ".lock"]
        var fileProblem: StoreError?
        search: for existing in companions.dropLast() where access(existing, F_OK) == 0 {
            for (mode, verb) in [(W_OK, "write"), (R_OK, "read")] where faccessat(AT_FDCWD, existing, mode, AT_EACCESS) != 0 {
                let code = errno
                fileProblem = fail(code, code == EROFS ? "the file system holding \(directory) is mounted read-only" : "no permission to \(verb) \(existing)")
                break search
            }
        }
        let missing = companions.contains { access($0, F_OK) != 0 }
        if missing || fileProblem != nil, faccessat(AT_FDCWD, directory, W_OK | X_OK, AT_EACCESS) != 0 {
            let code = errno
            let why =
                switch code {
                case EROFS: "the file system holding \(directory) is mounted read-only"
                case EACCES: "no permission to create files in \(directory) (SQLite keeps -wal and -shm files next to the database)"
                default: "cannot create files in \(directory)"
                }
            throw fail(code, why)
        }
        if let fileProblem { throw fileProblem }
    }

    private static func isLink(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFLNK }
    private static func isDirectory(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFDIR }

    private static func kind(_ info: stat) -> String {
        switch info.st_mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        case S_IFCHR, S_IFBLK: "a device"
        default: "not a directory"
        }
    }

    /// What the link says, as written in it (relative targets stay relative).
    private static func linkTarget(_ link: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(link, &buffer, buffer.count - 1)
        guard n >= 0 else { return "?" }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
