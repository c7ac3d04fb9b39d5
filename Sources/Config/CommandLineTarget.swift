import Foundation
import PhaseWatchCore
import Yams

/// The target of `phasewatch probe URL [flags]`, read by the decoder that reads a config file's
/// targets: each flag is a config key (`--timeout` is `timeouts.total`, `--set KEY=VALUE` any
/// key), so the command line accepts exactly what the file accepts, checked the same way, and a
/// new per-target key needs no flag of its own (docs/cli.md#phasewatch-probe).
public enum CommandLineTarget {
    /// One flag's contribution: a value at a key path of a target's mapping.
    public struct Setting: Sendable {
        /// How errors name the flag: `--timeout`, `--set proxy_url`.
        public let flag: String
        /// Keys from the target's mapping down: `["timeouts", "total"]`, `["headers", "X-Id"]`.
        public let path: [String]
        public let value: Value

        public enum Value: Sendable {
            /// Taken as written (a header value is never read as YAML).
            case text(String)
            /// YAML, as the value would be written in the file: `[200, 3xx]`, `{total: 2s}`.
            case yaml(String)
            case list([String])
        }

        public init(flag: String, path: [String], value: Value) {
            self.flag = flag
            self.path = path
            self.value = value
        }
    }

    /// The target for `url` with `settings` applied in order (a later value of a key wins).
    /// Relative paths are resolved against `baseDirectory`. Errors are one per problem, named by
    /// the flag that set the value (`--timeout: invalid duration "5sec": …`), URLs redacted.
    public static func target(url: String, settings: [Setting], baseDirectory: String) throws(ConfigErrors) -> Target {
        var root = Tree()
        root.set(["name"], scalar("probe"))
        root.set(["url"], scalar(url))
        var errors: [ConfigError] = []
        for setting in settings {
            do {
                root.set(setting.path, try node(setting.value))
            } catch {
                errors.append(ConfigError(file: setting.flag, line: 0, column: 0, key: "", message: "not a YAML value: \(error)"))
            }
        }
        guard errors.isEmpty else { throw ConfigErrors(errors: errors.map(shown)) }

        var reader = YAMLReader(file: "")
        var names = TargetNames()
        // A probe run once has no schedule: no interval for the timeout to fit in.
        let defaults = TargetDefaults(interval: YAMLReader.maxDuration, timeout: GlobalConfig().timeout)
        let context = TargetContext(index: 0, defaults: defaults, baseDirectory: baseDirectory)
        let item = Located(node: root.node, path: .root)
        let target = reader.target(item, context: context, names: &names, keys: TargetKey.all)
        guard reader.errors.isEmpty, var target else {
            throw ConfigErrors(errors: reader.errors.map { error in
                shown(ConfigError(file: flag(for: error.key, settings: settings), line: 0, column: 0, key: "", message: error.message))
            })
        }
        target.name = URLComponents(string: url)?.host.flatMap { $0.isEmpty ? nil : $0 } ?? "probe"
        return target
    }

    /// The flag whose key path holds `key` (the longest match), or `URL` for the url.
    private static func flag(for key: String, settings: [Setting]) -> String {
        func holds(_ path: String) -> Bool {
            key == path || key.hasPrefix(path + ".") || key.hasPrefix(path + "[")
        }
        if holds("url") { return "URL" }
        let match = settings.filter { holds($0.path.joined(separator: ".")) }.max { $0.path.count < $1.path.count }
        return match?.flag ?? "phasewatch probe"
    }

    private static func shown(_ error: ConfigError) -> ConfigError {
        ConfigError(file: error.file, line: 0, column: 0, key: "", message: YAMLDocument.shown(error.message))
    }

    private static func scalar(_ text: String) -> Node {
        .scalar(Node.Scalar(text))
    }

    private static func node(_ value: Setting.Value) throws -> Node {
        switch value {
        case .text(let text): return scalar(text)
        case .list(let items): return .sequence(Node.Sequence(items.map(scalar)))
        case .yaml(let text): return try Yams.compose(yaml: text) ?? .scalar(Node.Scalar("", .init(.null)))
        }
    }

    /// Nested mappings built key by key, in the order keys are first set.
    private struct Tree {
        var entries: [(key: String, value: Entry)] = []

        indirect enum Entry {
            case leaf(Node)
            case branch(Tree)
        }

        mutating func set(_ path: [String], _ node: Node) {
            guard let key = path.first else { return }
            let index = entries.firstIndex { $0.key == key }
            if path.count == 1 {
                if let index { entries[index].value = .leaf(node) } else { entries.append((key, .leaf(node))) }
                return
            }
            var branch = Tree()
            if let index, case .branch(let existing) = entries[index].value { branch = existing }
            branch.set(Array(path.dropFirst()), node)
            if let index { entries[index].value = .branch(branch) } else { entries.append((key, .branch(branch))) }
        }

        var node: Node {
            .mapping(Node.Mapping(entries.map { entry in
                switch entry.value {
                case .leaf(let node): (CommandLineTarget.scalar(entry.key), node)
                case .branch(let tree): (CommandLineTarget.scalar(entry.key), tree.node)
                }
            }))
        }
    }
}
