import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `target_files` patterns, expanded by glob(3): `*`, `?` and `[...]` within one directory
/// level, results sorted, names starting with a dot only when the pattern's part does too
/// (editors' swap files stay out). docs/config.md#target_files.
enum Glob {
    /// Why a pattern cannot be what the user meant, or nil. glob(3) itself refuses nothing: it
    /// reads `**` as `*` and an unclosed `[` as a plain character, so those would silently
    /// match other files than intended.
    static func problem(_ pattern: String) -> String? {
        if pattern.contains("\0") { return "a pattern must not contain a NUL character" }
        if pattern.contains("**") {
            return "\"**\" is not supported: a pattern matches within one directory level (write dir/*.yml, one pattern per directory)"
        }
        if pattern.hasSuffix("/") { return "\"\(pattern)\" names a directory; match the files in it, e.g. \(pattern)*.yml" }
        var characters = Array(pattern)[...]
        while let first = characters.popFirst() {
            if first == "\\" {
                _ = characters.popFirst()
            } else if first == "[" {
                // A `]` right after `[`, `[!` or `[^` is a member, not the end.
                var rest = characters
                if rest.first == "!" || rest.first == "^" { rest = rest.dropFirst() }
                if rest.first == "]" { rest = rest.dropFirst() }
                guard let close = rest.firstIndex(of: "]") else {
                    return "unclosed \"[\" in \"\(pattern)\": a bracket expression needs its \"]\" (write \\[ for a literal [)"
                }
                characters = characters[(close + 1)...]
            }
        }
        return nil
    }

    /// The files `pattern` matches, sorted. A relative pattern is matched in `base` and its
    /// matches are returned relative, as written; nothing matched is an empty list. Throws the
    /// reason when a directory on the way exists but cannot be read: matching nothing there
    /// would drop its files' targets on a permission slip.
    static func expand(_ pattern: String, in base: String) throws(GlobFailure) -> [String] {
        let prefix = pattern.hasPrefix("/") ? "" : (base.hasSuffix("/") ? base : base + "/")
        var result = glob_t()
        defer { globfree(&result) }
        // A missing directory is no match (a generator may not have run yet); other errors abort.
        let status = glob(escaped(prefix) + pattern, 0, { _, code in code == ENOENT || code == ENOTDIR ? 0 : 1 }, &result)
        switch status {
        case 0: break
        case GLOB_NOMATCH: return []
        case GLOB_ABORTED: throw GlobFailure(message: "a directory of \"\(pattern)\" cannot be read (permission denied?)")
        default: throw GlobFailure(message: "cannot expand \"\(pattern)\" (glob error \(status))")
        }
        return (0..<Int(result.gl_pathc)).compactMap { index in
            guard let match = result.gl_pathv[index].map({ String(cString: $0) }) else { return nil }
            return match.hasPrefix(prefix) && !prefix.isEmpty ? String(match.dropFirst(prefix.count)) : match
        }
    }

    /// The config's directory taken literally, whatever characters its name has.
    private static func escaped(_ path: String) -> String {
        var text = ""
        for character in path {
            if "*?[]\\".contains(character) { text.append("\\") }
            text.append(character)
        }
        return text
    }
}

struct GlobFailure: Error {
    let message: String
}

/// What tells a target file changed without reading it: a new version written in place changes
/// its size or modification time, one renamed over it (how generators should write) its inode.
struct FileFingerprint: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modifiedSeconds: Int
    let modifiedNanoseconds: Int

    /// nil when the file cannot be examined (it is then read again at every poll, and fails).
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedSeconds = Int(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
    }
}
