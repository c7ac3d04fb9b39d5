import Foundation
import PhaseWatchCore
import Yams

/// A config as the agent keeps it: `config.targets` are those of `targets:` then those of every
/// target file in order, and `targetFiles` says where they came from, to read the files again.
public struct LoadedConfig: Sendable {
    public var config: AgentConfig
    public var targetFiles: TargetFiles

    /// A config without target files (one built in code).
    public init(config: AgentConfig) {
        self.init(config: config, targetFiles: TargetFiles(mainFile: "", baseDirectory: "", patterns: [], mainTargets: config.targets, mainPlaces: [:]))
    }

    init(config: AgentConfig, targetFiles: TargetFiles) {
        self.config = config
        self.targetFiles = targetFiles
    }
}

/// A place in a YAML file, for errors that point at one place and name another.
struct Place: Sendable {
    let file: String
    let line: Int
    let column: Int
    let key: String

    init(_ value: Located, file: String) {
        self.file = file
        line = value.line
        column = value.column
        key = value.path.description
    }

    /// Where a target's name is written (its mapping's start when it has none).
    init(nameOf item: Located, file: String) {
        if case .mapping(let mapping) = item.node, let name = mapping.first(where: { $0.key.string == "name" }) {
            self.init(Located(node: name.value, path: item.path.key("name")), file: file)
        } else {
            self.init(item, file: file)
        }
    }

    var shown: String { "\(file):\(line)" }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, column: column, key: key, message: message)
    }
}

struct TargetFilePattern: Sendable {
    let text: String
    let place: Place
}

/// `target_files:` (docs/config.md#target_files): the patterns, the targets of `targets:` that
/// the files' targets must not clash with, and per file matched the targets last accepted from
/// it — a file that turns bad keeps those running until it is fixed.
public struct TargetFiles: Sendable {
    let mainFile: String
    let baseDirectory: String
    let patterns: [TargetFilePattern]
    let mainTargets: [Target]
    let mainPlaces: [String: Place]
    /// Every file the patterns matched at the last read, in order.
    private var files: [MatchedFile] = []

    struct MatchedFile: Sendable {
        /// As matched: relative to the config's directory when the pattern is.
        let path: String
        /// When it was read; a file whose fingerprint stays is not read again.
        let fingerprint: FileFingerprint?
        /// The last version of the file that was accepted; nil when none ever was.
        let accepted: FileTargets?
        /// Whether its last read was accepted.
        let ok: Bool
    }

    struct FileTargets: Sendable {
        var targets: [Target] = []
        var places: [String: Place] = [:]
    }

    init(mainFile: String, baseDirectory: String, patterns: [TargetFilePattern], mainTargets: [Target], mainPlaces: [String: Place]) {
        self.mainFile = mainFile
        self.baseDirectory = baseDirectory
        self.patterns = patterns
        self.mainTargets = mainTargets
        self.mainPlaces = mainPlaces
    }

    /// The files matched at the last read, in order, and whether that read was accepted.
    public var status: [(file: String, ok: Bool)] { files.map { ($0.path, $0.ok) } }

    /// Carries over what `previous` (the config in force before a reload) accepted from each
    /// file, so a file that is bad now keeps its targets through the reload too.
    public mutating func keepLastGood(from previous: TargetFiles) {
        files = previous.files
    }

    /// Expands the patterns and reads the files (with `onlyChanged`, only when one is new,
    /// changed or gone since the last read — nil otherwise — and then those and the ones refused
    /// last time), decoding targets with `global`'s defaults.
    /// A file that cannot be read or decoded, or whose new version has a name that another file
    /// or `targets:` holds, is rejected and keeps its last accepted targets.
    public mutating func reread(global: GlobalConfig, onlyChanged: Bool) -> TargetFileUpdate? {
        var matched: [String] = []
        var seen = Set<String>()
        var failures: [ConfigError] = []
        for pattern in patterns {
            do {
                for path in try Glob.expand(pattern.text, in: baseDirectory) where seen.insert(path).inserted {
                    matched.append(path)
                }
            } catch {
                failures.append(pattern.place.error(error.message))
            }
        }
        if !failures.isEmpty {
            return TargetFileUpdate(targets: [], files: [], errors: failures, fatal: failures)
        }
        let fingerprints = matched.map { FileFingerprint(path: absolute($0)) }
        if onlyChanged, matched == files.map(\.path), fingerprints == files.map(\.fingerprint) {
            return nil
        }

        let previous = Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        let defaults = TargetDefaults(global)
        var candidates: [Candidate] = []
        for (path, fingerprint) in zip(matched, fingerprints) {
            let before = previous[path]
            // A refused file is read again too: the clash that refused it may be gone.
            if onlyChanged, let before, before.ok, let fingerprint, before.fingerprint == fingerprint {
                candidates.append(Candidate(path: path, fingerprint: fingerprint, old: before.accepted, wasOK: before.ok))
                continue
            }
            var candidate = Candidate(path: path, fingerprint: fingerprint, old: before?.accepted, wasOK: false, read: true)
            switch read(path, defaults: defaults) {
            case .success(let fresh): candidate.fresh = fresh
            case .failure(let errors): candidate.errors = errors.errors
            }
            candidates.append(candidate)
        }
        rejectClashes(&candidates)

        // Only after a `targets:` change (a reload): a name it now has that a bad file keeps.
        var fatal: [ConfigError] = []
        for candidate in candidates where !candidate.useFresh {
            for target in candidate.list?.targets ?? [] {
                guard let main = mainPlaces[target.name], let there = candidate.list?.places[target.name] else { continue }
                fatal.append(main.error(
                    "duplicate target name \"\(target.name)\": also at \(there.shown), kept from the last good version of that target file"))
            }
        }

        var targets = mainTargets
        var reports: [TargetFileUpdate.File] = []
        var next: [MatchedFile] = []
        for candidate in candidates {
            let list = candidate.list
            let ok = candidate.read ? candidate.useFresh : candidate.wasOK
            targets += list?.targets ?? []
            next.append(MatchedFile(path: candidate.path, fingerprint: candidate.fingerprint, accepted: list, ok: ok))
            reports.append(TargetFileUpdate.File(
                file: candidate.path, shown: shown(candidate.path), ok: ok, read: candidate.read, gone: false,
                errors: candidate.errors, old: candidate.old?.targets ?? [], new: list?.targets ?? []))
        }
        for gone in files where !seen.contains(gone.path) {
            reports.append(TargetFileUpdate.File(
                file: gone.path, shown: shown(gone.path), ok: gone.ok, read: false, gone: true,
                errors: [], old: gone.accepted?.targets ?? [], new: []))
        }
        files = next
        return TargetFileUpdate(targets: targets, files: reports, errors: fatal + candidates.flatMap(\.errors), fatal: fatal)
    }

    /// One matched file in a re-read: the targets it held, and its new version if read and good.
    private struct Candidate {
        let path: String
        let fingerprint: FileFingerprint?
        let old: FileTargets?
        let wasOK: Bool
        var read = false
        var fresh: FileTargets?
        var errors: [ConfigError] = []
        /// Turned off when the new version clashes with another file or `targets:`.
        var clashes = false

        var useFresh: Bool { fresh != nil && !clashes }
        var list: FileTargets? { useFresh ? fresh : old }
    }

    /// Each name belongs to `targets:` if it has it, else to the file that held it before and
    /// still does, else to the first file in order; a new version holding a name that belongs
    /// elsewhere is rejected with an error naming both places. Rejecting one brings back its
    /// old targets, which can clash in turn, so this repeats until nothing changes (at most once
    /// per file).
    private func rejectClashes(_ candidates: inout [Candidate]) {
        let main = -1
        var rejected = true
        while rejected {
            rejected = false
            var owner: [String: Int] = [:]
            for target in mainTargets { owner[target.name] = main }
            for incumbentsOnly in [true, false] {
                for (index, candidate) in candidates.enumerated() {
                    for target in candidate.list?.targets ?? [] where owner[target.name] == nil {
                        if !incumbentsOnly || candidate.old?.places[target.name] != nil { owner[target.name] = index }
                    }
                }
            }
            for index in candidates.indices where candidates[index].useFresh {
                guard let fresh = candidates[index].fresh else { continue }
                for target in fresh.targets {
                    guard let other = owner[target.name], other != index, let place = fresh.places[target.name] else { continue }
                    let there = other == main ? mainPlaces[target.name] : candidates[other].list?.places[target.name]
                    candidates[index].errors.append(place.error("duplicate target name \"\(target.name)\": also at \(there?.shown ?? "?")"))
                    candidates[index].clashes = true
                }
                if candidates[index].clashes { rejected = true }
            }
        }
    }

    private func read(_ path: String, defaults: TargetDefaults) -> Result<FileTargets, ConfigErrors> {
        let name = shown(path)
        do {
            let document = try YAMLDocument.read(path: absolute(path), kind: "target file", name: name)
            return .success(try YAMLDocument.decode(yaml: document.yaml, file: name) { reader, root in
                reader.targetFile(root, defaults: defaults, baseDirectory: document.baseDirectory)
            })
        } catch {
            return .failure(error)
        }
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : (baseDirectory as NSString).appendingPathComponent(path)
    }

    /// How errors and logs name a file: a path that opens from where the config file's name
    /// does (the config's directory as given, then the match).
    private func shown(_ path: String) -> String {
        let directory = (mainFile as NSString).deletingLastPathComponent
        return path.hasPrefix("/") || directory.isEmpty ? path : (directory as NSString).appendingPathComponent(path)
    }
}

/// What one read of the target files found.
public struct TargetFileUpdate: Sendable {
    /// `targets:` then every file's targets, in the patterns' order (each pattern's matches sorted).
    public let targets: [Target]
    /// Every file matched, in order, then those no longer matched.
    public let files: [File]
    /// Every problem found, each at its place.
    public let errors: [ConfigError]
    /// Problems that reject the whole read: a pattern whose directory cannot be read, or a
    /// target of `targets:` whose name a target file keeps from its last good version.
    public let fatal: [ConfigError]

    public struct File: Sendable {
        /// As matched, relative to the config's directory when the pattern is: the metric's label.
        public let file: String
        /// As errors and logs name it.
        public let shown: String
        /// Whether its last read was accepted.
        public let ok: Bool
        /// Read this time (new or changed), rather than kept as it was.
        public let read: Bool
        /// No longer matched: its targets are removed.
        public let gone: Bool
        public let errors: [ConfigError]
        public let added: Int
        public let changed: Int
        public let removed: Int

        init(file: String, shown: String, ok: Bool, read: Bool, gone: Bool, errors: [ConfigError], old: [Target], new: [Target]) {
            self.file = file
            self.shown = shown
            self.ok = ok
            self.read = read
            self.gone = gone
            self.errors = errors
            let before = Dictionary(old.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            let after = Set(new.map(\.name))
            added = after.subtracting(before.keys).count
            changed = new.filter { target in before[target.name].map { $0 != target } ?? false }.count
            removed = Set(before.keys).subtracting(after).count
        }
    }
}

extension TargetDefaults {
    /// A valid config's defaults are its `global` values.
    init(_ global: GlobalConfig) {
        self.init(
            interval: global.interval, timeout: global.timeout, intervalWhileFailing: global.intervalWhileFailing, state: global.state,
            redirects: global.redirects)
    }
}

extension YAMLReader {
    /// `target_files:` patterns; an invalid one is an error, one that matches nothing is not.
    mutating func targetFilePatterns(_ value: Located?) -> [TargetFilePattern] {
        var patterns: [TargetFilePattern] = []
        for item in list(value) ?? [] {
            guard let pattern = nonEmptyText(item) else { continue }
            if let problem = Glob.problem(pattern) {
                fail(item, problem)
            } else {
                patterns.append(TargetFilePattern(text: pattern, place: Place(item, file: file)))
            }
        }
        return patterns
    }

    /// A target file: a list of targets in the schema of `targets:`. An empty file is refused
    /// rather than read as no targets: it is what a generator caught mid-write leaves.
    mutating func targetFile(_ root: Located?, defaults: TargetDefaults, baseDirectory: String) -> TargetFiles.FileTargets {
        var result = TargetFiles.FileTargets()
        guard let root else {
            fail(.root, line: 1, column: 1, "the file is empty; a target file is a list of targets (write [] for none)")
            return result
        }
        guard case .sequence = root.node else {
            fail(root, "a target file is a list of targets, as under targets: in the config, got \(root.shown)")
            return result
        }
        var names = TargetNames()
        for (index, item) in (list(root) ?? []).enumerated() {
            let context = TargetContext(index: index, defaults: defaults, baseDirectory: baseDirectory)
            if let target = target(item, context: context, names: &names) {
                result.targets.append(target)
                result.places[target.name] = result.places[target.name] ?? Place(nameOf: item, file: file)
            }
        }
        return result
    }
}
