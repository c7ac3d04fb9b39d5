import Config
import Foundation
import PhaseWatchCore
import Testing

/// `target_files:` (docs/config.md#target_files): globs relative to the config, each file a list
/// of targets in the schema of `targets:`, errors located in the file, duplicates naming both
/// places, and a bad file keeping its last good targets when read again.
struct TargetFilesTests {
    /// A fresh directory with the given files (path relative to it → contents).
    func directory(_ files: [String: String]) throws -> String {
        let dir = "\(Fixtures.dir)/target-files-\(UUID().uuidString)"
        for (path, text) in files { try write(text, to: "\(dir)/\(path)") }
        return dir
    }

    func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static let url = "http://127.0.0.1:9/"

    @Test func globsExpandSortedRelativeToTheConfigInConfigOrder() throws {
        let dir = try directory([
            "conf/phasewatch.yml": """
                global: {interval: 45s}
                targets: [{name: main, url: "\(Self.url)"}]
                target_files: ["targets.d/*.yml", more/one.yml, "t?.yml", "[ab]x.yml", "none/*.yml", more/one.yml]
                """,
            "conf/targets.d/b.yml": "- {name: b1, url: \"\(Self.url)\"}\n- {name: b2, url: \"\(Self.url)\", interval: 15s}\n",
            "conf/targets.d/a.yml": "- {name: a1, url: \"\(Self.url)\"}\n",
            "conf/targets.d/.a.yml": "not yaml: [",
            "conf/targets.d/c.yaml": "- {name: c, url: \"\(Self.url)\"}\n",
            "conf/more/one.yml": "- {name: one, url: \"\(Self.url)\"}\n",
            "conf/t1.yml": "- {name: t1, url: \"\(Self.url)\"}\n",
            "conf/tt1.yml": "- {name: tt1, url: \"\(Self.url)\"}\n",
            "conf/bx.yml": "[]\n",
            "other/targets.d/z.yml": "- {name: z, url: \"\(Self.url)\"}\n",
        ])
        // Relative to the config's directory, not to the working directory.
        let loaded = try ConfigLoader.loadWithTargetFiles(path: "\(dir)/conf/phasewatch.yml")
        #expect(loaded.config.targets.map(\.name) == ["main", "a1", "b1", "b2", "one", "t1"])
        // Defaults from global, as for targets: of the config.
        #expect(loaded.config.targets.map(\.interval) == [.seconds(45), .seconds(45), .seconds(45), .seconds(15), .seconds(45), .seconds(45)])
        #expect(loaded.targetFiles.status.map(\.file) == ["targets.d/a.yml", "targets.d/b.yml", "more/one.yml", "t1.yml", "bx.yml"])
        #expect(loaded.targetFiles.status.allSatisfy { $0.ok })
    }

    @Test func absolutePatternsStayAbsolute() throws {
        let dir = try directory(["t/x.yml": "- {name: x, url: \"\(Self.url)\"}\n"])
        try write("target_files: [\"\(dir)/t/*.yml\"]\n", to: "\(dir)/conf/pw.yml")
        let loaded = try ConfigLoader.loadWithTargetFiles(path: "\(dir)/conf/pw.yml")
        #expect(loaded.config.targets.map(\.name) == ["x"])
        #expect(loaded.targetFiles.status.map(\.file) == ["\(dir)/t/x.yml"])
    }

    @Test func errorsInATargetFileAreLocatedInIt() throws {
        let dir = try directory([
            "phasewatch.yml": "targets: []\ntarget_files: [\"targets.d/*.yml\"]\n",
            "targets.d/a.yml": """
                - name: ok
                  url: \(Self.url)
                - name: bad
                  url: \(Self.url)
                  intervall: 5s
                - {name: ok, url: "ftp://x/"}
                """,
        ])
        let errors = try #require(Fixtures.loadError("\(dir)/phasewatch.yml"))
        let file = "\(dir)/targets.d/a.yml"
        #expect(errors.errors == [
            ConfigError(file: file, line: 5, column: 3, key: "[1].intervall", message: "unknown key \"intervall\"; did you mean \"interval\"?"),
            ConfigError(file: file, line: 6, column: 10, key: "[2].name", message: "duplicate target name \"ok\" (first used on line 1)"),
            ConfigError(file: file, line: 6, column: 19, key: "[2].url", message: try #require(errors.errors.last?.message)),
        ], "\(errors)")
        #expect(errors.errors.last?.message.contains("ftp") == true)
    }

    /// The file is named as the config was: a relative config path gives a relative file path.
    @Test func aRelativeConfigPathNamesTheFileRelatively() throws {
        let dir = try directory([
            "phasewatch.yml": "target_files: [\"t/*.yml\"]\n",
            "t/a.yml": "{name: a}\n",
        ])
        let up = FileManager.default.currentDirectoryPath.split(separator: "/").map { _ in ".." }
        let relative = (up + [String(dir.dropFirst())]).joined(separator: "/")
        let errors = try #require(Fixtures.loadError("\(relative)/phasewatch.yml"))
        #expect(errors.description == "\(relative)/t/a.yml:1:1: a target file is a list of targets, as under targets: in the config, got a mapping")
    }

    @Test func emptyAndUnreadableFilesAreErrors() throws {
        let dir = try directory([
            "phasewatch.yml": "target_files: [\"t/*\"]\n",
            "t/a.yml": "# nothing yet\n",
            "t/b.yml/inner": "",
        ])
        let errors = try #require(Fixtures.loadError("\(dir)/phasewatch.yml"))
        #expect(errors.errors.map(\.description) == [
            "\(dir)/t/a.yml:1:1: the file is empty; a target file is a list of targets (write [] for none)",
            "\(dir)/t/b.yml: is a directory, not a target file: \(dir)/t/b.yml",
        ])
    }

    @Test func duplicatesAcrossFilesNameBothPlaces() throws {
        let dir = try directory([
            "phasewatch.yml": """
                target_files: ["t/*.yml"]
                targets:
                  - {name: x, url: "\(Self.url)"}
                """,
            "t/a.yml": "- {name: y, url: \"\(Self.url)\"}\n",
            "t/b.yml": "- {name: z, url: \"\(Self.url)\"}\n- {name: x, url: \"\(Self.url)\"}\n- {name: y, url: \"\(Self.url)\"}\n",
        ])
        let errors = try #require(Fixtures.loadError("\(dir)/phasewatch.yml"))
        #expect(errors.errors.map(\.description) == [
            "\(dir)/t/b.yml:2:10: [1].name: duplicate target name \"x\": also at \(dir)/phasewatch.yml:3",
            "\(dir)/t/b.yml:3:10: [2].name: duplicate target name \"y\": also at \(dir)/t/a.yml:1",
        ])
    }

    @Test func aPatternThatMatchesNothingIsFineAnInvalidOneIsNot() throws {
        let dir = try directory(["phasewatch.yml": "target_files: [\"later/*.yml\"]\ntargets: [{name: a, url: \"\(Self.url)\"}]\n"])
        #expect(try ConfigLoader.load(path: "\(dir)/phasewatch.yml").targets.map(\.name) == ["a"])

        try write("target_files: [\"t/**/*.yml\", \"t/[ab.yml\", \"t/\", \"\", 3, {a: 1}]\n", to: "\(dir)/phasewatch.yml")
        let errors = try #require(Fixtures.loadError("\(dir)/phasewatch.yml"))
        #expect(errors.errors.map { "\($0.line):\($0.column) \($0.key)" } == [
            "1:16 target_files[0]", "1:30 target_files[1]", "1:43 target_files[2]", "1:49 target_files[3]", "1:56 target_files[5]",
        ], "\(errors)")
        #expect(errors.errors[0].message.contains("\"**\" is not supported"))
        #expect(errors.errors[1].message.contains("unclosed \"[\""))
        #expect(errors.errors[2].message.contains("names a directory"))
        #expect(errors.errors[3].message == "must not be empty")
    }

    /// Read again (as the agent does when a file changes): a bad file keeps its last good
    /// targets, other files' changes apply, a removed file takes its targets along, and a
    /// name a file newly claims from another is refused in the file that claims it.
    @Test func rereadKeepsTheLastGoodTargetsOfABadFile() throws {
        let dir = try directory([
            "phasewatch.yml": "target_files: [\"t/*.yml\"]\ntargets: [{name: main, url: \"\(Self.url)\"}]\n",
            "t/b.yml": "- {name: b1, url: \"\(Self.url)\"}\n",
            "t/c.yml": "- {name: c1, url: \"\(Self.url)\"}\n",
        ])
        var loaded = try ConfigLoader.loadWithTargetFiles(path: "\(dir)/phasewatch.yml")
        let global = loaded.config.global
        let unchanged = loaded.targetFiles.reread(global: global, onlyChanged: true)
        #expect(unchanged == nil, "nothing changed")

        try write("- {name: b1, url: \"\(Self.url)\", intervall: 5s}\n", to: "\(dir)/t/b.yml")
        try write("- {name: c1, url: \"\(Self.url)\"}\n- {name: c2, url: \"\(Self.url)\"}\n", to: "\(dir)/t/c.yml")
        var next = loaded.targetFiles.reread(global: global, onlyChanged: true)
        var update = try #require(next)
        #expect(update.targets.map(\.name) == ["main", "b1", "c1", "c2"])
        #expect(update.files.map { "\($0.file) ok=\($0.ok) +\($0.added) ~\($0.changed) -\($0.removed)" } == [
            "t/b.yml ok=false +0 ~0 -0", "t/c.yml ok=true +1 ~0 -0",
        ])
        #expect(update.files[0].errors.map(\.description) == [
            "\(dir)/t/b.yml:1:42: [0].intervall: unknown key \"intervall\"; did you mean \"interval\"?",
        ])
        #expect(update.fatal.isEmpty)

        // a.yml, first in order, claims c1, which c.yml holds: a.yml is refused, not c.yml.
        try write("- {name: a1, url: \"\(Self.url)\"}\n- {name: c1, url: \"\(Self.url)\"}\n", to: "\(dir)/t/a.yml")
        try write("- {name: c1, url: \"\(Self.url)/v2\"}\n", to: "\(dir)/t/c.yml")
        next = loaded.targetFiles.reread(global: global, onlyChanged: true)
        update = try #require(next)
        #expect(update.targets.map(\.name) == ["main", "b1", "c1"])
        #expect(update.targets.last?.url == "\(Self.url)/v2")
        #expect(update.files.map { "\($0.file) ok=\($0.ok) read=\($0.read)" } == [
            "t/a.yml ok=false read=true", "t/b.yml ok=false read=true", "t/c.yml ok=true read=true",
        ])
        #expect(update.files[0].errors.map(\.description) == [
            "\(dir)/t/a.yml:2:10: [1].name: duplicate target name \"c1\": also at \(dir)/t/c.yml:1",
        ])

        // b.yml fixed; c.yml removed, which frees c1 for a.yml (refused files are read again
        // whenever another file changes).
        try write("- {name: b1, url: \"\(Self.url)\", interval: 20s}\n", to: "\(dir)/t/b.yml")
        try FileManager.default.removeItem(atPath: "\(dir)/t/c.yml")
        next = loaded.targetFiles.reread(global: global, onlyChanged: true)
        update = try #require(next)
        #expect(update.targets.map(\.name) == ["main", "a1", "c1", "b1"])
        #expect(update.files.map { "\($0.file) ok=\($0.ok) gone=\($0.gone) +\($0.added) ~\($0.changed) -\($0.removed)" } == [
            "t/a.yml ok=true gone=false +2 ~0 -0", "t/b.yml ok=true gone=false +0 ~1 -0", "t/c.yml ok=true gone=true +0 ~0 -1",
        ])
        #expect(loaded.targetFiles.status.map(\.file) == ["t/a.yml", "t/b.yml"])
    }

    /// A reload carries the last good targets over; a name `targets:` now has that a bad file
    /// keeps is an error of the config (the reload is refused).
    @Test func reloadKeepsLastGoodAndRefusesAClashWithTargets() throws {
        let dir = try directory([
            "phasewatch.yml": "target_files: [\"t/*.yml\"]\n",
            "t/a.yml": "- {name: a1, url: \"\(Self.url)\"}\n",
        ])
        let before = try ConfigLoader.loadWithTargetFiles(path: "\(dir)/phasewatch.yml")
        try write("- {name: a1\n", to: "\(dir)/t/a.yml")

        var reloaded = try ConfigLoader.loadMain(path: "\(dir)/phasewatch.yml")
        reloaded.targetFiles.keepLastGood(from: before.targetFiles)
        var next = reloaded.targetFiles.reread(global: reloaded.config.global, onlyChanged: false)
        var update = try #require(next)
        #expect(update.targets.map(\.name) == ["a1"])
        #expect(update.fatal.isEmpty)
        #expect(update.files.map(\.ok) == [false])

        try write("target_files: [\"t/*.yml\"]\ntargets:\n  - {name: a1, url: \"\(Self.url)\"}\n", to: "\(dir)/phasewatch.yml")
        reloaded = try ConfigLoader.loadMain(path: "\(dir)/phasewatch.yml")
        reloaded.targetFiles.keepLastGood(from: before.targetFiles)
        next = reloaded.targetFiles.reread(global: reloaded.config.global, onlyChanged: false)
        update = try #require(next)
        #expect(update.fatal.map(\.description) == [
            "\(dir)/phasewatch.yml:3:12: targets[0].name: duplicate target name \"a1\": also at \(dir)/t/a.yml:1, kept from the last good version of that target file",
        ])
    }
}
