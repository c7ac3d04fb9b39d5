import Config
import Foundation
import PhaseWatchCore
import Testing

struct LoadTests {
    /// A fresh directory under the fixture directory, so relative paths can point up into it.
    func directory(_ name: String) throws -> String {
        let dir = "\(Fixtures.dir)/\(name)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func loadError(_ path: String) -> ConfigErrors? { Fixtures.loadError(path) }

    @Test func missingFileNamesThePath() throws {
        let path = "\(Fixtures.dir)/nope/phasewatch.yml"
        let errors = try #require(loadError(path))
        #expect(errors.errors == [ConfigError(file: path, line: 0, column: 0, key: "", message: "config file not found: \(path)")])
        #expect(errors.description == "\(path): config file not found: \(path)")
        #expect(errors.localizedDescription == errors.description)
    }

    @Test func missingRelativePathIsShownAsGivenAndAbsolute() throws {
        let errors = try #require(loadError("no/such/phasewatch.yml"))
        let absolute = FileManager.default.currentDirectoryPath + "/no/such/phasewatch.yml"
        #expect(errors.description == "no/such/phasewatch.yml: config file not found: \(absolute)")
    }

    @Test func directoryIsNotAConfigFile() throws {
        let dir = try directory("dir")
        let errors = try #require(loadError(dir))
        #expect(errors.description == "\(dir): is a directory, not a config file: \(dir)")
    }

    @Test func notUTF8() throws {
        let dir = try directory("latin1")
        let path = "\(dir)/pw.yml"
        try Data([0x74, 0x61, 0x72, 0x67, 0x65, 0x74, 0x73, 0x3A, 0x20, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: path))
        let errors = try #require(loadError(path))
        #expect(errors.description == "\(path): the config file is not UTF-8 text: \(path)")
    }

    /// Windows editors write a UTF-8 byte order mark first: the file loads, and an error in it
    /// is located as an editor shows it (line 3, column 5: the BOM takes no column).
    @Test func byteOrderMarkIsIgnored() throws {
        let dir = try directory("bom")
        let path = "\(dir)/pw.yml"
        let yaml = "targets:\n  - name: a\n    url: http://127.0.0.1:9/\n"
        try (Data([0xEF, 0xBB, 0xBF]) + Data(yaml.utf8)).write(to: URL(fileURLWithPath: path))
        #expect(try ConfigLoader.load(path: path).targets.map(\.name) == ["a"])
        try (Data([0xEF, 0xBB, 0xBF]) + Data((yaml + "    intervall: 5s\n").utf8)).write(to: URL(fileURLWithPath: path))
        let errors = try #require(loadError(path))
        #expect(errors.errors.map { "\($0.line):\($0.column)" } == ["4:5"], "\(errors)")
    }

    @Test func relativeTLSPathsResolveAgainstTheConfigFilesDirectory() throws {
        let dir = try directory("conf")
        let path = "\(dir)/phasewatch.yml"
        try """
            targets:
              - name: mtls
                url: https://internal.example/
                tls: {ca_file: ../ca.pem, cert_file: ./../client.pem, key_file: \(Fixtures.dir)/client.key}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: path)
        #expect(config.targets[0].tls == TLSOptions(
            caFile: "\(Fixtures.dir)/ca.pem", certFile: "\(Fixtures.dir)/client.pem", keyFile: "\(Fixtures.dir)/client.key"))
    }

    @Test func errorsFromAFileNameItAsGivenAndResolveAgainstItsDirectory() throws {
        let dir = try directory("bad")
        let path = "\(dir)/phasewatch.yml"
        try """
            targets:
              - name: mtls
                url: https://internal.example/
                tls: {ca_file: ca.pem}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let errors = try #require(loadError(path))
        #expect(errors.errors == [ConfigError(
            file: path, line: 4, column: 20, key: "targets[0].tls.ca_file", message: "file not found: \(dir)/ca.pem")])
    }

    @Test func validFileLoads() throws {
        let dir = try directory("ok")
        let path = "\(dir)/phasewatch.yml"
        try "global: {location: lab}\ntargets: [{name: a, url: \"http://127.0.0.1:9/\"}]\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: path)
        #expect(config.global.location == "lab")
        #expect(config.targets.map(\.name) == ["a"])
    }
}
