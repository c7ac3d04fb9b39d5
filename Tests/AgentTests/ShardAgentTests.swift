@testable import Agent
import Config
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// Sharding (docs/config.md#shard): agents reading the same config split its targets, each
/// probing, storing and showing only its own.
@Suite(.serialized)
struct ShardAgentTests {
    func scratch(_ name: String) throws -> URL {
        let dir = Scratch.dir.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A config of `names`, each on `url(name)`, with `global` added to the global section.
    func writeConfig(_ path: String, names: [String], global: String, db: String, url: (String) -> String) throws {
        var yaml = "global: {\(global)}\nstorage: {path: \(db)}\ntargets:\n"
        for name in names { yaml += "  - {name: \(name), url: \"\(url(name))\"}\n" }
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// The `target` label of every line of `family` in an exposition text.
    func targets(of family: String, in text: String) -> Set<String> {
        Set(text.split(separator: "\n").filter { $0.hasPrefix("\(family){") }.compactMap {
            $0.firstMatch(of: #/target="([^"]+)"/#).map { String($0.output.1) }
        })
    }

    func get(_ port: Int, _ path: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return String(decoding: data, as: UTF8.self)
    }

    /// The config in force, the scheduler, /metrics, the API and the page hold the owned targets
    /// only, and a reload applies the shard to the new list (and a new `global.shard`).
    @Test func runtimeKeepsOnlyItsShardAcrossReloads() async throws {
        let dir = try scratch("shard-runtime")
        let path = dir.appendingPathComponent("phasewatch.yml").path
        let db = dir.appendingPathComponent("pw.db").path
        let port = TestServer.closedPort()
        let first = (0..<30).map { "t\($0)" }
        try writeConfig(path, names: first, global: "interval: 60s, shard: \"2/3\"", db: db) { "http://127.0.0.1:\(port)/\($0)" }
        let runtime = AgentRuntime(
            config: try ConfigLoader.load(path: path), source: .file(path), store: try ProbeStore(path: db), logger: Logger(label: "test"))
        runtime.start()

        func expectInForce(_ names: [String], shard: Shard, _ round: String) async throws {
            let owned = names.filter { Shard.owner(of: $0, total: shard.total) == shard.index }
            #expect(!owned.isEmpty && owned.count < names.count, "\(round): the fixture must split")
            #expect(runtime.config.targets.map(\.name) == owned, "\(round)")
            #expect(runtime.shard == ShardCoverage(shard: shard, owned: owned.count, configured: names.count), "\(round)")
            #expect(runtime.scheduler.targetNames == owned.sorted(), "\(round)")
            let text = try await runtime.metrics.render()
            #expect(targets(of: "phasewatch_target_info", in: text) == Set(owned), "\(round)")
            let info = text.split(separator: "\n").filter { $0.hasPrefix("phasewatch_shard_info{") }
            #expect(info == [#"phasewatch_shard_info{location="local",index="\#(shard.index)",total="\#(shard.total)"} 1.0"#], "\(round): \(info)")

            let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: Logger(label: "test"))
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/v1/targets", method: .get) { response in
                    struct List: Decodable {
                        struct ShardField: Decodable, Equatable { let index, total, targets, configured_targets: Int }
                        struct Item: Decodable { let name: String }
                        let shard: ShardField
                        let targets: [Item]
                    }
                    let list = try JSONDecoder().decode(List.self, from: Data(String(buffer: response.body).utf8))
                    #expect(list.shard == .init(index: shard.index, total: shard.total, targets: owned.count, configured_targets: names.count))
                    #expect(list.targets.map(\.name) == owned, "\(round)")
                }
                let hidden = try #require(names.first { !owned.contains($0) })
                try await client.execute(uri: "/api/v1/targets/\(hidden)", method: .get) { #expect($0.status == .notFound, "\(round)") }
                try await client.execute(uri: "/", method: .get) { response in
                    let page = String(buffer: response.body)
                    #expect(page.contains("shard \(shard.index) of \(shard.total), \(owned.count) of \(names.count) targets"), "\(round)")
                    #expect(!page.contains("<h2>\(hidden)</h2>"), "\(round)")
                }
            }
        }

        try await expectInForce(first, shard: try Shard(index: 2, total: 3), "start")
        // More targets and another shard in the file: both apply at the reload.
        let second = (0..<40).map { "t\($0)" }
        try writeConfig(path, names: second, global: "interval: 60s, shard: 3/4", db: db) { "http://127.0.0.1:\(port)/\($0)" }
        #expect((try? runtime.reload().get()) != nil)
        try await expectInForce(second, shard: try Shard(index: 3, total: 4), "reload")
        await runtime.scheduler.stopAll(drainTimeout: .seconds(1))
    }

    /// Without sharding the agent is shard 1 of 1 and the page says nothing about shards.
    @Test func unshardedAgentIsOneOfOne() async throws {
        let dir = try scratch("shard-none")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let config = AgentConfig(targets: [Target(name: "api", url: "http://127.0.0.1:9/")])
        let runtime = AgentRuntime(config: config, source: .text("", name: "test"), store: store, logger: Logger(label: "test"))
        runtime.prepareWithoutProbing()
        #expect(runtime.shard == ShardCoverage(shard: .whole, owned: 1, configured: 1))
        let text = try await runtime.metrics.render()
        #expect(text.contains(#"phasewatch_shard_info{location="local",index="1",total="1"} 1.0\#n"#))
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: Logger(label: "test"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/targets", method: .get) { response in
                #expect(String(buffer: response.body).contains(#""shard":{"configured_targets":1,"index":1,"targets":1,"total":1}"#))
            }
            try await client.execute(uri: "/", method: .get) { #expect(!String(buffer: $0.body).contains("shard 1 of 1")) }
        }
    }

    /// Two `phasewatch run` processes on one config, shard 1/2 from `global.shard` and 2/2 from
    /// `--shard` (the flag wins over the file): together they probe every target, none twice,
    /// and each stores only its own.
    @Test func twoShardsProbeEveryTargetExactlyOnce() async throws {
        let dir = try scratch("shard-procs")
        let path = dir.appendingPathComponent("phasewatch.yml").path
        let names = (0..<12).map { "s\($0)" }
        try writeConfig(path, names: names, global: "interval: 1s, timeout: 900ms, shard: 1/2", db: "unused.db") {
            TestServer.http("/?name=\($0)")
        }
        let ports = [TestServer.closedPort(), TestServer.closedPort()]
        let dbs = [dir.appendingPathComponent("one.db").path, dir.appendingPathComponent("two.db").path]
        let agents = try [[], ["--shard=2/2"]].enumerated().map { i, extra in
            try LifecycleTests.AgentProcess(
                ["--config.file=\(path)", "--web.listen-address=127.0.0.1:\(ports[i])", "--storage.path=\(dbs[i])", "--log.level=error"]
                    + extra, in: dir)
        }
        for (agent, port) in zip(agents, ports) { #expect(await agent.waitReady(port: port), "agent never became ready") }
        try await Task.sleep(for: .milliseconds(2500))

        var probed: [Set<String>] = []
        for (i, port) in ports.enumerated() {
            let owned = Set(names.filter { Shard.owner(of: $0, total: 2) == i + 1 })
            let metrics = try await get(port, "/metrics")
            let seen = targets(of: "phasewatch_probes_total", in: metrics)
            #expect(seen == owned, "shard \(i + 1) exposes \(seen.sorted())")
            let succeeded = Set(metrics.split(separator: "\n").filter {
                $0.hasPrefix("phasewatch_probes_total{") && $0.contains(#"result="success""#) && !$0.hasSuffix(" 0")
            }.compactMap { $0.firstMatch(of: #/target="([^"]+)"/#).map { String($0.output.1) } })
            #expect(succeeded == owned, "shard \(i + 1) probed \(succeeded.sorted())")
            probed.append(succeeded)
            #expect(metrics.contains(#"phasewatch_shard_info{location="local",index="\#(i + 1)",total="2"} 1.0\#n"#))
            let list = try await get(port, "/api/v1/targets")
            #expect(list.contains(#""shard":{"configured_targets":12,"index":\#(i + 1),"targets":\#(owned.count),"total":2}"#), "\(list.prefix(300))")
        }
        #expect(probed[0].isDisjoint(with: probed[1]))
        #expect(probed[0].union(probed[1]) == Set(names))

        for agent in agents {
            agent.process.terminate()
            #expect(await agent.exit(within: .seconds(10))?.status == 0)
        }
        for (i, db) in dbs.enumerated() {
            let store = try ProbeStore(path: db)
            for name in names {
                let stored = try await store.results(target: name, since: nil, until: nil, limit: 1, cursor: nil).results
                #expect(stored.isEmpty == (Shard.owner(of: name, total: 2) != i + 1), "shard \(i + 1) stored \(name): \(stored.count)")
            }
        }
    }

    /// `check-config --shard` lists what the shard would own, after the usual OK line.
    @Test func checkConfigListsTheShardsTargets() throws {
        let dir = try scratch("shard-check")
        let path = dir.appendingPathComponent("phasewatch.yml").path
        let names = (0..<10).map { "c\($0)" }
        try writeConfig(path, names: names, global: "interval: 30s", db: "pw.db") { "http://127.0.0.1:1/\($0)" }
        func check(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: PhaseWatchBinary.path)
            process.arguments = ["check-config"] + arguments
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, stdout, stderr)
        }
        let owned = names.filter { Shard.owner(of: $0, total: 3) == 2 }
        let sharded = try check(["--shard=2/3", path])
        #expect(sharded.status == 0)
        #expect(sharded.out == "\(path): OK, 10 targets\nshard 2 of 3: \(owned.count) of 10 targets\n" + owned.map { "\($0)\n" }.joined())
        #expect(try check([path]).out == "\(path): OK, 10 targets\n")
        let bad = try check(["--shard=4/3", path])
        #expect(bad.status != 0 && bad.err.contains("--shard: the index must be 1…3, got 4"), "\(bad.err)")
    }
}
