import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Replaces a file all at once: a reader (Prometheus reloading its rules) sees the old content
/// or the new, never an empty or half-written file. The text goes to a temporary file in the
/// same directory (rename is atomic only within one file system), is synced, and is renamed
/// over the destination; on any failure the temporary file is removed and the destination is
/// untouched.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var action: String
        public var code: Int32

        public var description: String {
            "cannot write \(path): \(action): \(String(cString: strerror(code))) (errno \(code))"
        }
    }

    public static func write(_ text: String, to path: String) throws {
        // Through a symbolic link the file it points to is replaced, and the link kept.
        let destination = resolved(path)
        let directory = (destination as NSString).deletingLastPathComponent
        let name = (destination as NSString).lastPathComponent
        let temp = (directory.isEmpty ? "" : directory + "/") + ".\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        func fail(_ action: String, _ code: Int32 = errno) -> WriteError {
            WriteError(path: path, action: action, code: code)
        }

        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("creating \(temp)") }
        var renamed = false
        var closed = false
        defer {
            if !closed { close(fd) }
            if !renamed { unlink(temp) }
        }
        // The replaced file's permissions stay (a rule file Prometheus's user may read).
        var existing = stat()
        if stat(destination, &existing) == 0, fchmod(fd, existing.st_mode & 0o7777) != 0 {
            throw fail("setting the mode of \(temp)")
        }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("writing \(temp)")
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw fail("syncing \(temp)") }
        closed = true
        guard close(fd) == 0 else { throw fail("closing \(temp)") }
        guard rename(temp, destination) == 0 else { throw fail("renaming \(temp) to \(destination)") }
        renamed = true
        // The rename itself survives a crash once the directory is synced.
        let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    /// The path with every symbolic link resolved when the file exists, else as given.
    static func resolved(_ path: String) -> String {
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }
}

/// write(2), out of reach of `AtomicFile.write`'s name.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
