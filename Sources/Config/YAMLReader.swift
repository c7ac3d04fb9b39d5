import Foundation
import PhaseWatchCore
import Yams

/// Where a value sits in the config, as users write it: `targets[0].expect.status[1]`.
struct ConfigPath: CustomStringConvertible {
    let description: String

    static let root = ConfigPath(description: "")

    func key(_ name: String) -> ConfigPath {
        ConfigPath(description: description.isEmpty ? name : "\(description).\(name)")
    }

    func index(_ index: Int) -> ConfigPath {
        ConfigPath(description: "\(description)[\(index)]")
    }
}

/// A node of the YAML tree together with its config path, so every error can name both.
struct Located {
    let node: Node
    let path: ConfigPath

    var line: Int { node.mark?.line ?? 1 }
    var column: Int { node.mark?.column ?? 1 }

    /// `key:` with nothing after it (or `~`, `null`).
    var isNull: Bool {
        if case .scalar = node { return node.null != nil }
        return false
    }

    /// How the value looks in an error message: scalars are quoted as written, so the user
    /// recognises their own text; containers are named by kind.
    var shown: String {
        switch node {
        case .scalar(let scalar): isNull ? "an empty value" : "\"\(OneLine.truncated(scalar.string, to: 100))\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }
}

/// The entries of one YAML mapping whose keys were already checked against the known set.
struct Fields {
    let path: ConfigPath
    /// Where the mapping starts: missing-key errors point here.
    let line: Int
    let column: Int
    private let values: [String: Located]

    init(path: ConfigPath, line: Int, column: Int, values: [String: Located]) {
        self.path = path
        self.line = line
        self.column = column
        self.values = values
    }

    subscript(key: String) -> Located? { values[key] }
}

/// A typed reader over `Yams.Node` that records an error (with its mark) for every value of
/// the wrong type or shape and keeps going, so one pass finds every problem in the file.
/// Readers return nil after reporting; callers then fall back to defaults without piling
/// follow-up errors onto a value that is already wrong.
struct YAMLReader {
    let file: String
    private(set) var errors: [ConfigError] = []

    init(file: String) {
        self.file = file
    }

    // MARK: Errors

    mutating func fail(_ value: Located, _ message: String) {
        fail(value.path, line: value.line, column: value.column, message)
    }

    mutating func fail(_ fields: Fields, _ message: String) {
        fail(fields.path, line: fields.line, column: fields.column, message)
    }

    mutating func fail(_ path: ConfigPath, line: Int, column: Int, _ message: String) {
        errors.append(ConfigError(file: file, line: line, column: column, key: path.description, message: message))
    }

    /// Errors in file order. Cross-field checks run after the fields they compare, so the raw
    /// list is not ordered; the index breaks ties to keep errors at one place in report order.
    var sortedErrors: [ConfigError] {
        errors.enumerated()
            .sorted { ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset) }
            .map(\.element)
    }

    // MARK: Containers

    /// Opens a mapping and reports every key not in `known` (with a suggestion when one is
    /// close). A missing or empty (`key:`) section reads as an empty mapping.
    mutating func fields(_ value: Located?, known: [String]) -> Fields? {
        guard let value else { return nil }
        if value.isNull {
            return Fields(path: value.path, line: value.line, column: value.column, values: [:])
        }
        guard case .mapping(let mapping) = value.node else {
            fail(value, "expected a mapping, got \(value.shown)")
            return nil
        }
        var values: [String: Located] = [:]
        for (keyNode, valueNode) in mapping {
            let keyAt = Located(node: keyNode, path: value.path)
            guard case .scalar(let scalar) = keyNode else {
                fail(keyAt, "keys must be plain names, got \(keyAt.shown)")
                continue
            }
            let key = scalar.string
            guard known.contains(key) else {
                let unknown = Located(node: keyNode, path: value.path.key(key))
                var message = "unknown key \"\(key)\""
                if let close = Suggestion.closest(to: key, among: known) {
                    message += "; did you mean \"\(close)\"?"
                }
                fail(unknown, message)
                continue
            }
            values[key] = Located(node: valueNode, path: value.path.key(key))
        }
        return Fields(path: value.path, line: value.line, column: value.column, values: values)
    }

    /// The entries of a free-form mapping (headers), in file order, keys as written.
    mutating func entries(_ value: Located?) -> [(key: String, keyAt: Located, value: Located)]? {
        guard let value else { return nil }
        if value.isNull { return [] }
        guard case .mapping(let mapping) = value.node else {
            fail(value, "expected a mapping, got \(value.shown)")
            return nil
        }
        var result: [(key: String, keyAt: Located, value: Located)] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                let keyAt = Located(node: keyNode, path: value.path)
                fail(keyAt, "keys must be plain names, got \(keyAt.shown)")
                continue
            }
            let path = value.path.key(scalar.string)
            result.append((scalar.string, Located(node: keyNode, path: path), Located(node: valueNode, path: path)))
        }
        return result
    }

    /// The items of a list; a missing or empty (`key:`) list reads as empty.
    mutating func list(_ value: Located?) -> [Located]? {
        guard let value else { return nil }
        if value.isNull { return [] }
        guard case .sequence(let sequence) = value.node else {
            fail(value, "expected a list, got \(value.shown)")
            return nil
        }
        return sequence.enumerated().map { Located(node: $0.element, path: value.path.index($0.offset)) }
    }

    /// A required key: reports `missing required key` at the start of the mapping.
    mutating func require(_ fields: Fields, _ key: String) -> Located? {
        if let value = fields[key] { return value }
        fail(fields, "missing required key \"\(key)\"")
        return nil
    }

    // MARK: Scalars

    /// The scalar's text exactly as written. Any scalar is accepted: `body: 123` or a header
    /// value `42` are meant as text, and YAML would otherwise make users quote numbers.
    mutating func text(_ value: Located?, expected: String = "a string") -> String? {
        guard let value else { return nil }
        guard case .scalar(let scalar) = value.node, !value.isNull else {
            fail(value, "expected \(expected), got \(value.shown)")
            return nil
        }
        return scalar.string
    }

    mutating func nonEmptyText(_ value: Located?) -> String? {
        guard let value, let text = text(value) else { return nil }
        guard !text.isEmpty else {
            fail(value, "must not be empty")
            return nil
        }
        return text
    }

    /// true/false (YAML 1.1 yes/no/on/off too, as Yams resolves them). Quoted "true" is taken
    /// as well: the intent is clear and rejecting it would only annoy.
    mutating func bool(_ value: Located?) -> Bool? {
        guard let value else { return nil }
        let expected = "true or false"
        guard let text = text(value, expected: expected) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(value, "expected \(expected), got \(value.shown)")
            return nil
        }
    }

    mutating func int(_ value: Located?) -> Int? {
        guard let value else { return nil }
        let expected = "a whole number"
        guard let text = text(value, expected: expected) else { return nil }
        guard let number = value.node.int ?? Int(text) else {
            fail(value, "expected \(expected), got \(value.shown)")
            return nil
        }
        return number
    }

    mutating func number(_ value: Located?) -> Double? {
        guard let value else { return nil }
        let expected = "a number like 99.9"
        guard let text = text(value, expected: expected) else { return nil }
        guard let number = value.node.float ?? Double(text), number.isFinite else {
            fail(value, "expected \(expected), got \(value.shown)")
            return nil
        }
        return number
    }

    /// A Prometheus duration (`500ms`, `15s`, `1h30m`). A bare number is rejected by the
    /// parser on purpose: `timeout: 10` could mean seconds or milliseconds.
    mutating func duration(_ value: Located?) -> Duration? {
        guard let value else { return nil }
        guard let text = text(value, expected: "a duration like 15s") else { return nil }
        let duration: Duration
        do {
            duration = try PromDuration.parse(text)
        } catch {
            fail(value, error.description)
            return nil
        }
        guard duration <= Self.maxDuration else {
            fail(value, "must be at most \(Self.maxDurationText), got \(text)")
            return nil
        }
        return duration
    }

    /// The longest duration a config may set, whatever the key. The agent computes with
    /// nanoseconds in 64 bits (the scheduler's grid, deadlines), which end after 292 years: an
    /// interval of `250000000y` passed the checks and crashed the agent at start.
    static let maxDuration: Duration = .seconds(100 * 365 * 86_400)
    static let maxDurationText = "100y"

    /// A duration that must be > 0.
    mutating func positiveDuration(_ value: Located?) -> Duration? {
        guard let value, let duration = duration(value) else { return nil }
        guard duration > .zero else {
            fail(value, "must be greater than 0")
            return nil
        }
        return duration
    }

    /// A duration that must be at least `minimum`.
    mutating func duration(_ value: Located?, atLeast minimum: Duration) -> Duration? {
        guard let value, let duration = duration(value) else { return nil }
        guard duration >= minimum else {
            fail(value, "must be at least \(PromDuration.format(minimum)), got \(PromDuration.format(duration))")
            return nil
        }
        return duration
    }
}
