import Foundation

/// One problem in a config file, located so an editor (or a human) can jump straight to it.
///
/// `description` is `FILE:LINE:COLUMN: KEY: MESSAGE`, the shape compilers use, so terminals and
/// editors turn it into a link. Two parts are left out when they carry nothing: `KEY: ` when the
/// problem is not about one key (a YAML syntax error), and `:LINE:COLUMN` when it is not about a
/// place in the file (line 0: the file could not be read at all).
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file as the caller named it (the path given to `load(path:)`, or `parse`'s `file`).
    public let file: String
    /// 1-based; 0 when the error is about the file as a whole.
    public let line: Int
    /// 1-based, counted in Unicode scalars (as libyaml does); 0 with line 0.
    public let column: Int
    /// Dotted path with list indexes, e.g. `targets[0].expect.status[1]`; empty for syntax errors.
    public let key: String
    public let message: String

    public init(file: String, line: Int, column: Int, key: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = line > 0 ? "\(file):\(line):\(column)" : file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

/// Every problem found in one config file, in file order. Loading never stops at the first
/// error: fixing a config one error per run is slow, so the whole file is always checked.
public struct ConfigErrors: Error, Equatable, Sendable, CustomStringConvertible {
    public let errors: [ConfigError]

    public init(errors: [ConfigError]) {
        self.errors = errors
    }

    /// One error per line, ready to print.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }
}

/// So `error.localizedDescription` (used by some loggers and CLI helpers) shows the located
/// errors too instead of Foundation's generic "The operation could not be completed".
extension ConfigError: LocalizedError {
    public var errorDescription: String? { description }
}

extension ConfigErrors: LocalizedError {
    public var errorDescription: String? { description }
}
