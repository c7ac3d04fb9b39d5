public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// A `cursor` that `results` did not hand out.
    case invalidCursor(String)
    /// A parameter out of range, e.g. `limit` < 1.
    case invalidArgument(String)
    /// The file holds something this version cannot read (e.g. written by a newer phasewatch).
    case corrupt(String)
    /// The database could not be opened for writing (read-only, no permission, disk full…).
    case cannotOpen(StorageFailure)
    /// Another process, or another `ProbeStore` of this one, holds the database's lock file;
    /// `pid` as the lock file says it.
    case inUse(path: String, lockFile: String, pid: Int32?)
    /// The file records migrations this version does not know. Nothing in it was changed.
    case newerDatabase(path: String, unknownMigrations: [String])
    /// A SQLite file of another application. Nothing in it was changed.
    case foreignDatabase(path: String, applicationID: Int32, tables: [String])
    /// A read-only open (`ProbeStore(readingOnly:)`) of a file whose schema is older than this
    /// version's: it runs no migrations, so an agent of this version must open it first.
    case olderDatabase(path: String, missingMigrations: [String])
    /// A read-only open of a file that does not exist.
    case missingDatabase(path: String)

    /// The complete message for an operator: a caller prints it as it is.
    public var description: String {
        switch self {
        case .invalidCursor(let cursor): "invalid cursor \"\(cursor)\""
        case .invalidArgument(let message): "invalid argument: \(message)"
        case .corrupt(let message): "unreadable data in the probe database: \(message)"
        case .cannotOpen(let failure): "cannot open the database \(failure.path) for writing: \(failure)"
        case .inUse(let path, let lockFile, let pid):
            "database \(path) is in use by \(pid.map { "PID \($0)" } ?? "another process") (it holds \(lockFile)): "
                + "stop that phasewatch, or point --storage.path elsewhere"
        case .newerDatabase(let path, let unknown):
            "\(path) was written by a newer phasewatch (unknown migrations: \(unknown.joined(separator: ", "))): "
                + "upgrade phasewatch, or point --storage.path elsewhere"
        case .olderDatabase(let path, let missing):
            "\(path) was written by an older phasewatch (migrations not yet run: \(missing.joined(separator: ", "))): "
                + "start the agent of this version on it once, or use the phasewatch that wrote it"
        case .missingDatabase(let path): "no probe database at \(path)"
        case .foreignDatabase(let path, let id, let tables):
            "\(path) is a SQLite database of another application (application_id \(id), tables: \(Self.list(tables))): "
                + "phasewatch will not add its tables to it; point --storage.path elsewhere"
        }
    }

    /// At most ten names: the point is to recognize the file, not to list its schema.
    private static func list(_ names: [String]) -> String {
        guard !names.isEmpty else { return "none" }
        let shown = names.prefix(10).joined(separator: ", ")
        return names.count > 10 ? "\(shown) and \(names.count - 10) more" : shown
    }
}
