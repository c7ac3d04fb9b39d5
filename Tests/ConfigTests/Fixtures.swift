import Config
import Foundation
import PhaseWatchCore

/// A directory with the files TLS settings point at; made once per test run.
enum Fixtures {
    static let dir: String = {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("phasewatch-config-tests-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["ca.pem", "client.pem", "client.key"] {
            _ = FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data("test \(name)\n".utf8))
        }
        return dir
    }()

    /// The errors loading the file at `path` gives, or nil when it loads.
    static func loadError(_ path: String) -> ConfigErrors? {
        do {
            _ = try ConfigLoader.load(path: path)
            return nil
        } catch {
            return error
        }
    }

    /// The errors `yaml` produces (one per line), or "OK" when it loads. `$DIR` stands for the
    /// fixture directory, which is also the base directory for relative paths.
    static func check(_ yaml: String) -> String {
        do {
            _ = try ConfigLoader.parse(yaml: yaml.replacingOccurrences(of: "$DIR", with: dir), file: "pw.yml", baseDirectory: dir)
            return "OK"
        } catch {
            return error.description.replacingOccurrences(of: dir, with: "$DIR")
        }
    }

    static func parse(_ yaml: String) throws -> AgentConfig {
        try ConfigLoader.parse(yaml: yaml, file: "pw.yml", baseDirectory: dir)
    }
}
