import Foundation
import PhaseWatchCore
import Yams

/// The one way phasewatch reads a YAML file, for the config (`ConfigLoader`) and the web config
/// (`WebConfigLoader`) alike: the file checked and read as UTF-8, aliases that would expand into
/// huge keys refused before Yams builds the tree, syntax errors located, and every error
/// reported on one line with its place in the file and no URL password in it.
struct YAMLDocument {
    /// The file's text and the directory relative paths inside it are resolved against.
    let yaml: String
    let baseDirectory: String

    /// Reads `path`; `kind` names the file in the errors ("config file", "web config file"),
    /// `name` is the file as the errors call it (`path` when nil).
    static func read(path: String, kind: String, name: String? = nil) throws(ConfigErrors) -> YAMLDocument {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL
        func unreadable(_ message: String) -> ConfigErrors {
            ConfigErrors(errors: [ConfigError(file: name ?? path, line: 0, column: 0, key: "", message: message)])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute.path, isDirectory: &isDirectory) else {
            throw unreadable("\(kind) not found: \(absolute.path)")
        }
        guard !isDirectory.boolValue else {
            throw unreadable("is a directory, not a \(kind): \(absolute.path)")
        }
        guard let data = FileManager.default.contents(atPath: absolute.path) else {
            throw unreadable("cannot read the \(kind) (permission denied?): \(absolute.path)")
        }
        guard let yaml = text(data) else {
            throw unreadable("the \(kind) is not UTF-8 text: \(absolute.path)")
        }
        return YAMLDocument(yaml: yaml, baseDirectory: absolute.deletingLastPathComponent().path)
    }

    /// A file's bytes as text: UTF-8, with the byte order mark some Windows editors put first
    /// removed (YAML would read it as content before the document); nil when not UTF-8.
    static func text(_ data: Data) -> String? {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let body = data.starts(with: bom) ? data.dropFirst(bom.count) : data[...]
        return String(validating: body, as: UTF8.self)
    }

    /// Decodes `yaml` with `decode`, which reads the root node (nil for an empty document, or one
    /// of only comments) and records every problem in the reader; throws them all, in file order.
    static func decode<Value>(
        yaml: String, file: String, _ decode: (inout YAMLReader, Located?) -> Value
    ) throws(ConfigErrors) -> Value {
        if let key = AliasExpansion.oversizedKey(in: yaml) {
            throw reported([ConfigError(
                file: file, line: key.line, column: key.column, key: "",
                message: "a mapping key that aliases expand to more than \(AliasExpansion.maxKeyNodes) values; keys must be plain names"
            )], in: yaml)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw reported([syntaxError(error, file: file)], in: yaml)
        }
        var reader = YAMLReader(file: file)
        let value = decode(&reader, root.map { Located(node: $0, path: .root) })
        guard reader.errors.isEmpty else { throw reported(reader.sortedErrors, in: yaml) }
        return value
    }

    /// The errors as they are reported: every position inside the text (libyaml puts the end
    /// of the input on the line after the last, see `YAMLLines.clamp`; moving a position there
    /// keeps the order); every error on one line of reasonable length, whatever the values and
    /// keys quoted in it contain; and no password of a URL quoted in it (errors go to terminals,
    /// logs and `POST /-/reload` responses).
    static func reported(_ errors: [ConfigError], in yaml: String) -> ConfigErrors {
        let lines = YAMLLines.split(yaml)
        return ConfigErrors(errors: errors.map { error in
            let (line, column) = YAMLLines.clamp(line: error.line, column: error.column, lines: lines)
            return ConfigError(file: error.file, line: line, column: column, key: shown(error.key), message: shown(error.message))
        })
    }

    /// A key or message as an error shows it: one line, URL passwords masked.
    static func shown(_ text: String) -> String { OneLine.shown(URLRedaction.redactingURLs(in: text)) }
}
