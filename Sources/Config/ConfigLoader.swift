import Foundation
import PhaseWatchCore
import Yams

/// Reads the YAML config file (docs/config.md) into an `AgentConfig`, applying defaults and
/// validating everything; every problem is reported with file, line, column and key.
public enum ConfigLoader {
    /// Reads and validates a config file and its target files (docs/config.md#target_files).
    /// Relative file paths inside it (tls ca_file/cert_file/key_file, target_files) are resolved
    /// against the config file's directory.
    public static func load(path: String) throws(ConfigErrors) -> AgentConfig {
        try loadWithTargetFiles(path: path).config
    }

    /// Same, from text; `file` is the name used in error messages, `baseDirectory` resolves relative paths.
    public static func parse(yaml: String, file: String, baseDirectory: String) throws(ConfigErrors) -> AgentConfig {
        try readingTargetFiles(parseMain(yaml: yaml, file: file, baseDirectory: baseDirectory)).config
    }

    /// The config with its target files, and what was read from each, for the agent to re-read
    /// them later. Any error, in the config or a target file, is thrown: a start has no earlier
    /// version of a file to fall back to.
    public static func loadWithTargetFiles(path: String) throws(ConfigErrors) -> LoadedConfig {
        try readingTargetFiles(loadMain(path: path))
    }

    /// The config file alone: `config.targets` are its own, its target files are not read yet.
    public static func loadMain(path: String) throws(ConfigErrors) -> LoadedConfig {
        let document = try YAMLDocument.read(path: path, kind: "config file")
        return try parseMain(yaml: document.yaml, file: path, baseDirectory: document.baseDirectory)
    }

    public static func parseMain(yaml: String, file: String, baseDirectory: String) throws(ConfigErrors) -> LoadedConfig {
        try YAMLDocument.decode(yaml: yaml, file: file) { reader, root in
            guard let root else {
                // Also a file of only comments: almost certainly the wrong file, so not "all defaults".
                reader.fail(.root, line: 1, column: 1, "the file is empty; a config needs at least a targets list")
                return LoadedConfig(config: AgentConfig())
            }
            return reader.config(root, baseDirectory: baseDirectory)
        }
    }

    /// `main` (from `loadMain` or `parseMain`) with its target files read; throws any error in them.
    public static func readingTargetFiles(_ main: LoadedConfig) throws(ConfigErrors) -> LoadedConfig {
        var loaded = main
        if let update = loaded.targetFiles.reread(global: loaded.config.global, onlyChanged: false) {
            guard update.errors.isEmpty else { throw ConfigErrors(errors: update.errors) }
            loaded.config.targets = update.targets
        }
        return loaded
    }
}

/// What a target falls back to for the keys it leaves out, from the sections before `targets`;
/// nil when the file's value was invalid, so targets do not repeat an error already reported.
struct TargetDefaults {
    var interval: Duration?
    var timeout: Duration?
    /// `global.interval_while_failing`; nil when absent or invalid.
    var intervalWhileFailing: Duration?
    var state = StateConfig()
    var redirects = RedirectPolicy()
}

extension YAMLReader {
    mutating func config(_ root: Located, baseDirectory: String) -> LoadedConfig {
        guard case .mapping = root.node else {
            fail(root, "the top level must be a mapping with global, storage, metrics and targets, got \(root.shown)")
            return LoadedConfig(config: AgentConfig())
        }
        guard let top = fields(root, known: ["global", "storage", "metrics", "targets", "target_files", "remote_write"]) else {
            return LoadedConfig(config: AgentConfig())
        }
        var config = AgentConfig()
        var defaults = TargetDefaults(interval: config.global.interval, timeout: config.global.timeout)
        if let global = fields(top["global"], known: ["interval", "interval_while_failing", "timeout", "location", "state", "redirects", "shard"]) {
            config.global = self.global(global, defaults: &defaults)
        }
        if let storage = fields(top["storage"], known: ["path", "raw_retention", "rollup_retention"]) {
            config.storage = self.storage(storage)
        }
        if let metrics = fields(top["metrics"], known: MetricsKeys.all) {
            config.metrics = self.metrics(metrics)
        }
        config.remoteWrite = remoteWrites(top["remote_write"], baseDirectory: baseDirectory)
        var names = TargetNames()
        var places: [String: Place] = [:]
        for (index, item) in (list(top["targets"]) ?? []).enumerated() {
            let context = TargetContext(index: index, defaults: defaults, baseDirectory: baseDirectory)
            if let target = target(item, context: context, names: &names) {
                config.targets.append(target)
                places[target.name] = places[target.name] ?? Place(nameOf: item, file: file)
            }
        }
        let files = TargetFiles(
            mainFile: file, baseDirectory: baseDirectory, patterns: targetFilePatterns(top["target_files"]),
            mainTargets: config.targets, mainPlaces: places)
        return LoadedConfig(config: config, targetFiles: files)
    }

    private enum MetricsKeys {
        static let all = ["duration_buckets", "phase_histograms", "latency_quantiles", "slo_windows", "budget_detail"]
        /// More would defeat the point of a lean default; `phase_histograms` covers fine detail.
        static let maxBuckets = 30
    }

    private mutating func metrics(_ fields: Fields) -> MetricsConfig {
        var metrics = MetricsConfig()
        if let value = fields["duration_buckets"], let items = list(value) {
            let bounds = items.compactMap { positiveDuration($0)?.seconds }
            if items.isEmpty {
                fail(value, "must list at least one bucket bound, e.g. [50ms, 250ms, 1s]")
            } else if items.count > MetricsKeys.maxBuckets {
                fail(value, "at most \(MetricsKeys.maxBuckets) bucket bounds, got \(items.count)")
            } else if bounds.count == items.count {
                metrics.durationBuckets = Array(Set(bounds)).sorted()
            }
        }
        if let on = bool(fields["phase_histograms"]) { metrics.phaseHistograms = on }
        if let on = bool(fields["latency_quantiles"]) { metrics.latencyQuantiles = on }
        if let on = bool(fields["slo_windows"]) { metrics.sloWindows = on }
        if let on = bool(fields["budget_detail"]) { metrics.budgetDetail = on }
        return metrics
    }

    private mutating func global(_ fields: Fields, defaults: inout TargetDefaults) -> GlobalConfig {
        var global = GlobalConfig()
        if let value = fields["interval"] {
            // A target's own interval must be ≥ 1s, so the default it inherits must be as well.
            defaults.interval = duration(value, atLeast: .seconds(1))
            global.interval = defaults.interval ?? global.interval
        }
        if let value = fields["interval_while_failing"] {
            // Checked against each target's interval and timeout where the target inherits it.
            defaults.intervalWhileFailing = positiveDuration(value)
            global.intervalWhileFailing = defaults.intervalWhileFailing
        }
        if let value = fields["timeout"] {
            defaults.timeout = positiveDuration(value)
            global.timeout = defaults.timeout ?? global.timeout
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
        defaults.state = global.state
        if let redirects = self.fields(fields["redirects"], known: TargetKeys.redirects) {
            global.redirects = self.redirects(redirects, defaults: global.redirects)
        }
        defaults.redirects = global.redirects
        if let value = fields["shard"], let text = text(value, expected: "a shard like \"2/4\"") {
            do {
                global.shard = try Shard(parsing: text)
            } catch {
                fail(value, error.description)
            }
        }
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
