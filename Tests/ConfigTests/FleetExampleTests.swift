import Config
import Foundation
import PhaseWatchCore
import TestSupport
import Testing

/// examples/fleet (docs/scaling.md's three deployments) loads as written: every agent config
/// with its target files, its remote_write and its shard. The credentials and CA it names under
/// /etc/phasewatch are made in a scratch copy, which is all that differs from the example.
struct FleetExampleTests {
    static func copy() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-example-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Repo.root.appendingPathComponent("examples/fleet"), to: dir)
        let etc = dir.appendingPathComponent("etc")
        try FileManager.default.createDirectory(at: etc, withIntermediateDirectories: true)
        for name in ["remote-write-password", "metrics-ca.pem", "mimir-token", "mimir-password"] {
            try "secret\n".write(to: etc.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let configs = try FileManager.default.subpathsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yml") && $0.contains("phasewatch") }
        for config in configs {
            let url = dir.appendingPathComponent(config)
            let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "/etc/phasewatch/", with: etc.path + "/")
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return dir
    }

    @Test(arguments: ["scraped/phasewatch-eu.yml", "scraped/phasewatch-us.yml", "push/phasewatch-berlin.yml", "shards/phasewatch.yml"])
    func loads(_ config: String) throws {
        let dir = try Self.copy()
        let loaded = try ConfigLoader.load(path: dir.appendingPathComponent(config).path)
        #expect(!loaded.targets.isEmpty, "\(config) probes nothing")
        if config.hasPrefix("push/") {
            #expect(!loaded.remoteWrite.isEmpty && loaded.remoteWrite[0].basicAuth != nil)
        }
    }

    /// The shards of deployment 3 together probe every target of the location exactly once.
    @Test func shardsCoverTheLocationOnce() throws {
        let dir = try Self.copy()
        let config = try ConfigLoader.load(path: dir.appendingPathComponent("shards/phasewatch.yml").path)
        let total = 4
        var owners: [String: Int] = [:]
        for index in 1...total {
            let shard = try #require(try? Shard(index: index, total: total))
            for target in config.owned(by: shard).config.targets { owners[target.name, default: 0] += 1 }
        }
        #expect(owners.count == config.targets.count && owners.values.allSatisfy { $0 == 1 })
    }
}
