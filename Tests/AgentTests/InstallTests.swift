import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TestSupport
import Testing

/// What README's Install section promises: a binary that runs without the Swift toolchain, a
/// Dockerfile whose build has every directory SwiftPM needs, and a hardened systemd unit.
@Suite(.serialized)
struct InstallTests {
    /// Runs a shell command; its status and combined output.
    static func shell(_ script: String, in directory: URL = Repo.root) -> (status: Int32, output: String) {
        Command.run(["bash", "-c", script], in: directory)
    }

    /// In a mount namespace with an empty /opt/swift: the toolchain's libraries are not there.
    static func withoutToolchain(_ command: String) -> (status: Int32, output: String) {
        shell("unshare --mount sh -c 'mount -t tmpfs tmpfs /opt/swift && exec \(command)'")
    }

    /// The binary `make test` links with --static-swift-stdlib before it runs the tests.
    static let staticBuild = Tool(".build-static/debug/phasewatch", hint: "`make test` builds it first") {
        let path = Repo.root.appendingPathComponent(".build-static/debug/phasewatch").path
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    @Test(.requires(staticBuild), .requires(.mountNamespace)) func staticBinaryRunsWithTheToolchainHidden() async throws {
        let staticBinary = try requireTool(Self.staticBuild)
        // The hiding works: the ordinary build cannot even start.
        let dynamic = Self.withoutToolchain("\(PhaseWatchBinary.path) --version")
        #expect(dynamic.status != 0 && dynamic.output.contains("libswift"), "\(dynamic)")

        let version = Self.withoutToolchain("\(staticBinary) --version")
        #expect(version.status == 0, "\(version)")
        let check = Self.withoutToolchain("\(staticBinary) check-config examples/quickstart.yml")
        #expect(check.status == 0 && check.output.contains("OK, 3 targets"), "\(check)")

        // And the agent itself: serves, probes, stores, stops on SIGTERM.
        let dir = Scratch.dir.appendingPathComponent("static-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = TestServer.closedPort()
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        agent.arguments = [
            "--mount", "sh", "-c",
            "mount -t tmpfs tmpfs /opt/swift && exec \(staticBinary) run --web.listen-address=127.0.0.1:\(port) --storage.path=\(dir.path)/pw.db",
        ]
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle.nullDevice
        try agent.run()
        defer { if agent.isRunning { kill(agent.processIdentifier, SIGKILL) } }
        var metrics = ""
        for _ in 0..<100 {
            if let (data, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                metrics = String(decoding: data, as: UTF8.self)
                if metrics.contains("probe_success{target=\"agent-health\"") { break }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(metrics.contains("probe_success{target=\"agent-health\",location=\"local\"} 1"), "\(metrics.prefix(2000))")
        kill(agent.processIdentifier, SIGTERM)
        agent.waitUntilExit()
        #expect(agent.terminationStatus == 0)
    }

    /// `make install`'s copying (`install-files`), staged in a DESTDIR: every file where the
    /// unit and README say, with its mode; a config already there is kept.
    @Test(.requires(.make)) func makeInstallPutsEveryFileInPlace() throws {
        let stage = Scratch.dir.appendingPathComponent("install-\(UUID().uuidString)")
        let make = "make -s install-files BIN=\(PhaseWatchBinary.path) DESTDIR=\(stage.path) PREFIX=/usr"
        let first = Self.shell(make)
        #expect(first.status == 0, "\(first.output)")
        func mode(_ path: String) -> Int? {
            (try? FileManager.default.attributesOfItem(atPath: stage.path + path)[.posixPermissions]) as? Int
        }
        #expect(mode("/usr/bin/phasewatch") == 0o755)
        #expect(mode("/etc/systemd/system/phasewatch.service") == 0o644)
        #expect(mode("/etc/phasewatch") == 0o750)
        #expect(mode("/etc/phasewatch/phasewatch.yml") == 0o640)
        let unit = try String(contentsOfFile: stage.path + "/etc/systemd/system/phasewatch.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/phasewatch run"), "the unit runs the installed binary")
        let config = stage.path + "/etc/phasewatch/phasewatch.yml"
        try "# mine\n".write(toFile: config, atomically: true, encoding: .utf8)
        #expect(Self.shell(make).status == 0)
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "# mine\n", "make install overwrote an existing config")
        let version = Self.shell("\(stage.path)/usr/bin/phasewatch --version")
        #expect(version.status == 0 && version.output.hasPrefix("0.1.0"), "\(version)")
        #expect(Self.shell("make -s install-files DESTDIR=\(stage.path)").status != 0, "install-files without BIN must refuse")
    }

    /// Every directory Package.swift names is copied by the Dockerfile and not left out by
    /// .dockerignore: SwiftPM refuses to build a package with a target directory missing.
    @Test func dockerfileCopiesEveryTargetDirectory() throws {
        let manifest = try String(contentsOf: Repo.root.appendingPathComponent("Package.swift"), encoding: .utf8)
        var directories: [String] = []
        let target = try Regex(#"\.(target|testTarget|executableTarget|systemLibrary)\(\s*name:\s*"([^"]+)"([^)]*?path:\s*"([^"]+)")?"#)
        for match in manifest.matches(of: target) {
            let kind = String(match.output[1].substring ?? "")
            let name = String(match.output[2].substring ?? "")
            if let path = match.output[4].substring {
                directories.append(String(path))
            } else {
                directories.append((kind == "testTarget" ? "Tests/" : "Sources/") + name)
            }
        }
        #expect(directories.count >= 10, "\(directories)")
        let dockerfile = try String(contentsOf: Repo.root.appendingPathComponent("examples/Dockerfile"), encoding: .utf8)
        let copied = dockerfile.split(separator: "\n").filter { $0.hasPrefix("COPY ") && !$0.contains("--from") }
            .compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) }
        #expect(copied.contains("Package.swift"))
        let ignored = try String(contentsOf: Repo.root.appendingPathComponent(".dockerignore"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
        for directory in directories {
            #expect(FileManager.default.fileExists(atPath: Repo.root.appendingPathComponent(directory).path), "\(directory)")
            #expect(copied.contains { directory == $0 || directory.hasPrefix($0 + "/") }, "the Dockerfile does not copy \(directory)")
            #expect(!ignored.contains { directory.hasPrefix($0) }, ".dockerignore leaves out \(directory)")
        }
        #expect(ignored.contains(".build"), ".build/ must stay out of the build context")
    }

    /// The HEALTHCHECK's own command, pointed at a live agent and at a closed port.
    @Test func dockerHealthcheckAsksTheAgent() async throws {
        let dockerfile = try String(contentsOf: Repo.root.appendingPathComponent("examples/Dockerfile"), encoding: .utf8)
        let json = try #require(dockerfile.split(separator: "\n").first { $0.contains("CMD [\"bash\"") })
            .trimmingCharacters(in: .whitespaces).dropFirst(4)
        let command = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String])
        #expect(command.first == "bash" && command.count == 3)
        let dir = Scratch.dir.appendingPathComponent("health-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let port = TestServer.closedPort()
        let agent = try LifecycleTests.AgentProcess(["--web.listen-address=127.0.0.1:\(port)", "--storage.path=\(dir.path)/pw.db"], in: dir)
        #expect(await agent.waitReady(port: port))
        func health(_ port: Int) -> Int32 {
            Self.shell(command[2].replacingOccurrences(of: "9470", with: "\(port)")).status
        }
        #expect(health(port) == 0)
        #expect(health(TestServer.closedPort()) != 0)
        kill(agent.pid, SIGTERM)
        _ = await agent.exit(within: .seconds(10))
    }

    /// `systemd-analyze security` rates the shipped unit 3.0 or better ("OK").
    @Test(.requires(.systemdAnalyze)) func systemdUnitIsHardened() throws {
        let unit = Repo.root.appendingPathComponent("examples/systemd/phasewatch.service").path
        let result = Self.shell("systemd-analyze security --offline=true \(unit)")
        let line = try #require(result.output.split(separator: "\n").first { $0.contains("Overall exposure level") }, "\(result.output)")
        let score = Double(line.split(separator: ":").last?.split(separator: " ").first ?? "") ?? 99
        #expect(score <= 3.0, "\(line)")
        #expect(line.contains("OK"), "\(line)")
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains("LimitNOFILE="))
        #expect(text.contains("SupplementaryGroups=phasewatch"))
    }
}
