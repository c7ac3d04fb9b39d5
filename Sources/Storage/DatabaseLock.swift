import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on `<database>.lock`, held for as long as this object lives: one
/// phasewatch per database file. Two agents writing one file would interleave their batches and
/// each run retention on the other's targets.
///
/// `flock` rather than a pid file: the kernel drops the lock when the process dies however it
/// dies (kill -9, OOM), so a lock file left behind never blocks the next start. Locks on two
/// open file descriptions conflict even inside one process, so a second `ProbeStore` on the
/// same file is refused too. The file keeps the holder's PID for the refusal message; it is
/// never deleted (unlinking it would let a third process lock a new file while a second still
/// holds the old one).
final class DatabaseLock: Sendable {
    let path: String
    private let fd: Int32

    enum Failure: Error {
        /// Another open file description holds the lock; its PID when the file says it.
        case held(pid: Int32?)
        /// The lock file could not be opened or locked.
        case system(errno: Int32)
    }

    init(path: String) throws(Failure) {
        self.path = path
        // O_CLOEXEC: a child process must not inherit the lock and keep it after we exit.
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0, errno == EACCES {
            // A lock file left by another user (e.g. root ran the agent once): flock needs no
            // write permission; the database's own permissions are checked before this.
            fd = open(path, O_RDONLY | O_CLOEXEC)
        }
        guard fd >= 0 else { throw .system(errno: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let pid = code == EWOULDBLOCK ? Self.readPID(fd) : nil
            close(fd)
            throw code == EWOULDBLOCK ? .held(pid: pid) : .system(errno: code)
        }
        self.fd = fd
        Self.writePID(fd)
    }

    deinit {
        close(fd)  // releases the flock
    }

    /// The holder's PID as the lock file says it; nil when it is empty or unreadable (a
    /// holder between truncating and writing, or one that could not write).
    static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        let text = String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text), pid > 0 else { return nil }
        return pid
    }

    /// Best effort: the lock is what matters, the PID only improves the message. Written over
    /// the old content before truncating, so that a full disk cannot leave an empty file where
    /// the old page still had room; a failed write leaves no stale PID behind.
    private static func writePID(_ fd: Int32) {
        let text = Array("\(getpid())\n".utf8)
        let written = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        _ = ftruncate(fd, written == text.count ? off_t(text.count) : 0)
    }
}
