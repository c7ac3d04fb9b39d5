import Foundation
import PhaseWatchCore
import Yams

/// Reads the YAML config file (docs/config.md) into an `AgentConfig`, applying defaults and
/// validating everything; every problem is reported with file, line, column and key.
public enum ConfigLoader {
    /// Reads and validates a config file. Relative file paths inside it (tls ca_file/cert_file/key_file)
    /// are resolved against the config file's directory.
    public static func load(path: String) throws(ConfigErrors) -> AgentConfig {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL
        func unreadable(_ message: String) -> ConfigErrors {
            ConfigErrors(errors: [ConfigError(file: path, line: 0, column: 0, key: "", message: message)])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute.path, isDirectory: &isDirectory) else {
            throw unreadable("config file not found: \(absolute.path)")
        }
        guard !isDirectory.boolValue else {
            throw unreadable("is a directory, not a config file: \(absolute.path)")
        }
        guard let data = FileManager.default.contents(atPath: absolute.path) else {
            throw unreadable("cannot read the config file (permission denied?): \(absolute.path)")
        }
        guard let yaml = yamlText(data) else {
            throw unreadable("the config file is not UTF-8 text: \(absolute.path)")
        }
        return try parse(yaml: yaml, file: path, baseDirectory: absolute.deletingLastPathComponent().path)
    }

    /// Same, from text; `file` is the name used in error messages, `baseDirectory` resolves relative paths.
    public static func parse(yaml: String, file: String, baseDirectory: String) throws(ConfigErrors) -> AgentConfig {
        if let key = AliasExpansion.oversizedKey(in: yaml) {
            throw located([ConfigError(
                file: file, line: key.line, column: key.column, key: "",
                message: "a mapping key that aliases expand to more than \(AliasExpansion.maxKeyNodes) values; keys must be plain names"
            )], in: yaml)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw located([syntaxError(error, file: file)], in: yaml)
        }
        var reader = YAMLReader(file: file)
        guard let root else {
            // Also a file of only comments: almost certainly the wrong file, so not "all defaults".
            reader.fail(.root, line: 1, column: 1, "the file is empty; a config needs at least a targets list")
            throw located(reader.errors, in: yaml)
        }
        let config = reader.config(Located(node: root, path: .root), baseDirectory: baseDirectory)
        guard reader.errors.isEmpty else { throw located(reader.sortedErrors, in: yaml) }
        return config
    }

    /// The errors as they are reported: every position inside the text (libyaml puts the end
    /// of the input on the line after the last, see `YAMLLines.clamp`; moving a position there
    /// keeps the order); every error on one line of reasonable length, whatever the values and
    /// keys quoted in it contain; and no password of a URL quoted in it (errors go to terminals,
    /// logs and `POST /-/reload` responses).
    private static func located(_ errors: [ConfigError], in yaml: String) -> ConfigErrors {
        let lines = YAMLLines.split(yaml)
        func shown(_ text: String) -> String { OneLine.shown(URLRedaction.redactingURLs(in: text)) }
        return ConfigErrors(errors: errors.map { error in
            let (line, column) = YAMLLines.clamp(line: error.line, column: error.column, lines: lines)
            return ConfigError(file: error.file, line: line, column: column, key: shown(error.key), message: shown(error.message))
        })
    }
}

/// The sections before `targets`: values a target falls back to, kept as optionals that are nil
/// when the file's value was invalid, so targets do not repeat an error already reported.
struct Inherited {
    var interval: Duration?
    var timeout: Duration?
    var state = StateConfig()
    var redirects = RedirectPolicy()
}

extension YAMLReader {
    mutating func config(_ root: Located, baseDirectory: String) -> AgentConfig {
        guard case .mapping = root.node else {
            fail(root, "the top level must be a mapping with global, storage, metrics and targets, got \(root.shown)")
            return AgentConfig()
        }
        guard let top = fields(root, known: ["global", "storage", "metrics", "targets"]) else { return AgentConfig() }
        var config = AgentConfig()
        var inherited = Inherited(interval: config.global.interval, timeout: config.global.timeout)
        if let global = fields(top["global"], known: ["interval", "timeout", "location", "state", "redirects"]) {
            config.global = self.global(global, inherited: &inherited)
        }
        if let storage = fields(top["storage"], known: ["path", "raw_retention", "rollup_retention"]) {
            config.storage = self.storage(storage)
        }
        if let metrics = fields(top["metrics"], known: ["phase_histograms", "latency_quantiles"]) {
            if let on = bool(metrics["phase_histograms"]) { config.metrics.phaseHistograms = on }
            if let on = bool(metrics["latency_quantiles"]) { config.metrics.latencyQuantiles = on }
        }
        var names = TargetNames()
        for (index, item) in (list(top["targets"]) ?? []).enumerated() {
            let context = TargetContext(index: index, inherited: inherited, baseDirectory: baseDirectory)
            if let target = target(item, context: context, names: &names) {
                config.targets.append(target)
            }
        }
        return config
    }

    private mutating func global(_ fields: Fields, inherited: inout Inherited) -> GlobalConfig {
        var global = GlobalConfig()
        if let value = fields["interval"] {
            // A target's own interval must be ≥ 1s, so the default it inherits must be as well.
            inherited.interval = duration(value, atLeast: .seconds(1))
            global.interval = inherited.interval ?? global.interval
        }
        if let value = fields["timeout"] {
            inherited.timeout = positiveDuration(value)
            global.timeout = inherited.timeout ?? global.timeout
        }
        if let value = fields["location"], let location = text(value) {
            if Syntax.isName(location) {
                global.location = location
            } else {
                fail(value, "invalid location \"\(location)\": \(Syntax.nameRule)")
            }
        }
        if let state = self.fields(fields["state"], known: StateKeys.state) {
            global.state = self.state(state, defaults: global.state)
        }
        inherited.state = global.state
        if let redirects = self.fields(fields["redirects"], known: TargetKeys.redirects) {
            global.redirects = self.redirects(redirects, defaults: global.redirects)
        }
        inherited.redirects = global.redirects
        return global
    }

    private mutating func storage(_ fields: Fields) -> StorageConfig {
        var storage = StorageConfig()
        if let path = nonEmptyText(fields["path"]) {
            storage.path = path
        }
        var raw: Duration? = storage.rawRetention
        if let value = fields["raw_retention"] {
            raw = duration(value, atLeast: .seconds(3600))
            storage.rawRetention = raw ?? storage.rawRetention
        }
        if let value = fields["rollup_retention"], let rollup = duration(value) {
            // Rollups are made from raw rows and answer the windows raw rows no longer cover.
            if let raw, rollup < raw {
                let from = fields["raw_retention"] == nil ? ", the default" : ""
                fail(value, "\(PromDuration.format(rollup)) is shorter than raw_retention (\(PromDuration.format(raw))\(from))")
            } else {
                storage.rollupRetention = rollup
            }
        }
        return storage
    }
}
