import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import PhaseWatchCore
import TestSupport
import Testing

/// Secrets never leak: header values (`Authorization`, `X-Api-Key`), a password in a URL and
/// the PEM of a TLS client key are used — the servers received them — and appear nowhere else:
/// not in the real binary's logs (debug level, JSON and logfmt), not in any HTTP response of the
/// agent, not in what `probe`, `check-config` and `rules` print, not in the errors of a rejected
/// reload. Fresh random secrets on every run, so no fixture string can match by accident.
@Suite(.serialized)
struct SecretsTests {
    /// Every secret of one run, with the forms it could appear in.
    struct Secrets {
        let token = "pwtoken" + Self.random()
        let apiKey = "pwapikey" + Self.random()
        let password: String
        let cliToken = "pwclitoken" + Self.random()
        let cliPassword: String
        let keyPEM: String

        init() throws {
            password = Self.base64Safe("pwpass")
            cliPassword = Self.base64Safe("pwclipass")
            keyPEM = try String(contentsOfFile: Certs.path("client1.key"), encoding: .utf8)
        }

        static func random() -> String {
            (0..<4).map { _ in String(format: "%08x", UInt32.random(in: .min ... .max)) }.joined()
        }

        /// A password whose Basic credentials `user:password` encode without "+" or "/", so
        /// each has one spelling (JSON writes "/" as "\/").
        static func base64Safe(_ prefix: String) -> String {
            while true {
                let candidate = prefix + random()
                if !basic(candidate).contains(where: { $0 == "+" || $0 == "/" }) { return candidate }
            }
        }

        static func basic(_ password: String) -> String { Data("user:\(password)".utf8).base64EncodedString() }

        /// What must appear nowhere: the values themselves, the Basic credentials curl makes of
        /// the URL passwords, and every base64 line of the private key (as written, and with
        /// "/" escaped the way JSON encoders write it).
        var forbidden: [(what: String, text: String)] {
            var list: [(String, String)] = [
                ("bearer token", token), ("API key", apiKey), ("URL password", password),
                ("Basic credentials", Self.basic(password)), ("CLI bearer token", cliToken),
                ("CLI URL password", cliPassword), ("CLI Basic credentials", Self.basic(cliPassword)),
            ]
            let keyLines = keyPEM.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("-----") && $0.count >= 16 }
            for (index, line) in keyLines.enumerated() {
                list.append(("private key line \(index + 1)", line))
                list.append(("private key line \(index + 1), JSON-escaped", line.replacingOccurrences(of: "/", with: "\\/")))
            }
            return list
        }

        /// The leaks in `text` (empty when there are none).
        func leaks(in text: String) -> [String] {
            forbidden.filter { text.contains($0.text) }.map(\.what)
        }
    }

    /// Everything the agent and the CLI said in one run, by where it came from.
    struct Outputs {
        var items: [(source: String, text: String)] = []
        mutating func add(_ source: String, _ text: String) { items.append((source, text)) }

        func expectNoLeaks(_ secrets: Secrets) {
            for (source, text) in items {
                let leaks = secrets.leaks(in: text)
                #expect(leaks.isEmpty, "\(source) shows \(leaks.joined(separator: ", ")):\n\(Self.excerpt(text, around: secrets))")
            }
        }

        static func excerpt(_ text: String, around secrets: Secrets) -> String {
            for (_, secret) in secrets.forbidden {
                if let range = text.range(of: secret) {
                    let start = text.index(range.lowerBound, offsetBy: -300, limitedBy: text.startIndex) ?? text.startIndex
                    let end = text.index(range.upperBound, offsetBy: 300, limitedBy: text.endIndex) ?? text.endIndex
                    return String(text[start..<end])
                }
            }
            return String(text.prefix(600))
        }
    }

    struct Recorded: Decodable {
        let method: String
        let path: String
        let headers: [String: String]
    }

    /// The config: one target succeeding, one failing with 500, one failing its `expect`, a
    /// password in the URL, a closed port, and mutual TLS with the client key; every target
    /// but the URL-password ones sends both secret headers.
    static func config(dir: URL, record: Int, closed: Int, secrets: Secrets, extra: String = "") -> String {
        let headers = "headers: {Authorization: \"Bearer \(secrets.token)\", X-Api-Key: \"\(secrets.apiKey)\"}"
        return """
            global: {interval: 1s, timeout: 900ms, location: secrets}
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            remote_write:
              - url: http://user:\(secrets.password)@127.0.0.1:\(record)/rw-userinfo
                send_interval: 1s
              - url: http://127.0.0.1:\(record)/rw-bearer
                send_interval: 1s
                bearer_token_file: \(dir.appendingPathComponent("rw-token").path)
                headers: {X-Api-Key: "\(secrets.apiKey)"}
            targets:
              - name: ok
                url: http://127.0.0.1:\(record)/ok
                \(headers)
                slo: {window: 1h, availability: 99, latency: {threshold: 500ms, objective: 90}}
              - name: fails
                url: http://127.0.0.1:\(record)/fails?status=500
                \(headers)
                slo: {availability: 99.9}
              - name: assert
                url: http://127.0.0.1:\(record)/assert
                \(headers)
                expect: {body_matches: "^nope$", headers: {X-Missing: "x"}}
              - name: userinfo
                url: http://user:\(secrets.password)@127.0.0.1:\(record)/userinfo
              - name: closed
                url: http://user:\(secrets.password)@127.0.0.1:\(closed)/
                \(headers)
              - name: mtls
                url: https://127.0.0.1:\(TestServer.shared.port("mtls"))/client-cert
                \(headers)
                tls: {ca_file: \(Certs.ca), cert_file: \(Certs.path("client1.pem")), key_file: \(Certs.path("client1.key"))}
                expect: {body_matches: "^client-one$"}
            \(extra)
            """
    }

    /// The same secrets in a config with mistakes in the places that quote what the file says:
    /// a URL with a password but no host, a URL-with-password where a target should be, secret
    /// headers given as text instead of a mapping, next to an unknown key.
    static func brokenConfig(record: Int, secrets: Secrets) -> String {
        """
        targets:
          - name: nohost
            url: "http://user:\(secrets.password)@/x"
            headers: {Authorization: "Bearer \(secrets.token)", X-Api-Key: "\(secrets.apiKey)"}
            intervall: 5s
          - "http://user:\(secrets.password)@127.0.0.1:\(record)/"
          - name: flat
            url: http://127.0.0.1:\(record)/
            headers: "Authorization: Bearer \(secrets.token)"
          - name: badurl
            url: "http://user:\(secrets.password)@[127.0.0.1:\(record)/x"
          - name: list
            url: http://127.0.0.1:\(record)/
            headers: {X-Api-Key: ["\(secrets.apiKey)"]}
        """
    }

    @Test(arguments: ["json", "logfmt"])
    func noSecretInLogsResponsesOrCommandOutput(logFormat: String) async throws {
        let secrets = try Secrets()
        let record = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { record.stop() }
        let recordPort = record.port("http")
        let dir = Scratch.dir.appendingPathComponent("secrets-\(logFormat)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let configPath = dir.appendingPathComponent("phasewatch.yml")
        try "\(secrets.token)\n".write(to: dir.appendingPathComponent("rw-token"), atomically: true, encoding: .utf8)
        let closed = TestServer.closedPort()
        let good = Self.config(dir: dir, record: recordPort, closed: closed, secrets: secrets)
        try good.write(to: configPath, atomically: true, encoding: .utf8)
        var outputs = Outputs()

        // The agent: the real binary, debug logs, stdout and stderr into one file.
        let port = TestServer.closedPort()
        let base = "http://127.0.0.1:\(port)"
        let log = dir.appendingPathComponent("agent.log")
        let agent = try ExternalCommand.start(
            ["run", "--config.file=\(configPath.path)", "--web.listen-address=127.0.0.1:\(port)",
             "--log.level=debug", "--log.format=\(logFormat)"],
            executable: PhaseWatchBinary.path, directory: dir, output: log)
        defer { agent.terminate() }
        try await Self.waitReady(base)
        try await Task.sleep(for: .seconds(3))

        // A reload into a broken file (rejected; the errors come back and go to the log), then
        // into a good one with one more target.
        try Self.brokenConfig(record: recordPort, secrets: secrets).write(to: configPath, atomically: true, encoding: .utf8)
        let rejected = try await ExternalCommand.request("\(base)/-/reload", method: "POST")
        #expect(rejected.status == 400)
        #expect(rejected.body.contains("config_invalid"))
        #expect(rejected.body.contains("intervall"), "the errors are there, just without the secrets: \(rejected.body)")
        outputs.add("POST /-/reload (broken config)", rejected.body)
        let extra = """
              - name: later
                url: http://user:\(secrets.password)@127.0.0.1:\(recordPort)/later
                headers: {Authorization: "Bearer \(secrets.token)"}
            """
        try Self.config(dir: dir, record: recordPort, closed: closed, secrets: secrets, extra: extra)
            .write(to: configPath, atomically: true, encoding: .utf8)
        let reloaded = try await ExternalCommand.request("\(base)/-/reload", method: "POST")
        #expect(reloaded.status == 200, "\(reloaded.body)")
        outputs.add("POST /-/reload (good config)", reloaded.body)
        try await Task.sleep(for: .seconds(2.5))

        // Every GET endpoint, every target.
        var paths = ["/metrics", "/", "/api/v1/targets", "/api/v1/slo", "/api/v1/openapi.json", "/-/healthy", "/-/ready"]
        for name in ["ok", "fails", "assert", "userinfo", "closed", "mtls", "later"] {
            paths += ["/api/v1/targets/\(name)", "/api/v1/targets/\(name)/results?limit=1000",
                      "/api/v1/targets/\(name)/latency?window=1h"]
        }
        var bodies: [String: String] = [:]
        for path in paths {
            let response = try await ExternalCommand.request(base + path)
            #expect(response.status == 200, "\(path): \(response.status)")
            bodies[path] = response.body
            outputs.add("GET \(path)", response.body)
        }

        // Stop the agent (SIGTERM): the log is complete once it exits.
        agent.terminate()
        let status = await agent.wait()
        #expect(status == 0, "the agent exited with \(status)")
        let logText = try String(contentsOf: log, encoding: .utf8)
        outputs.add("agent log (\(logFormat))", logText)

        // The CLI: probe (json and text, a success with a password and a bearer token, mutual TLS,
        // a failure), check-config on the broken file and rules on the good one.
        let cliURL = "http://user:\(secrets.cliPassword)@127.0.0.1:\(recordPort)/cli"
        let header = "--header=Authorization: Bearer \(secrets.cliToken)"
        let mtls = ["--ca-file=\(Certs.ca)", "--cert-file=\(Certs.path("client1.pem"))", "--key-file=\(Certs.path("client1.key"))"]
        let commands: [(name: String, arguments: [String], status: Int32)] = [
            ("probe json", ["probe", cliURL, header, "--format=json"], 0),
            ("probe text", ["probe", cliURL, header, "--format=text"], 0),
            ("probe mtls", ["probe", "https://127.0.0.1:\(TestServer.shared.port("mtls"))/client-cert", header, "--format=text"] + mtls, 0),
            ("probe closed port", ["probe", "http://user:\(secrets.cliPassword)@127.0.0.1:\(closed)/", header, "--format=json"], 1),
            ("probe 500", ["probe", cliURL + "?status=500", header, "--format=text"], 1),
            ("check-config broken", ["check-config", configPath.path], 1),
            ("rules", ["rules", "--config.file=\(configPath.path)"], 0),
        ]
        let broken = dir.appendingPathComponent("broken.yml")
        try Self.brokenConfig(record: recordPort, secrets: secrets).write(to: broken, atomically: true, encoding: .utf8)
        for command in commands {
            let arguments = command.name == "check-config broken" ? ["check-config", broken.path] : command.arguments
            let output = dir.appendingPathComponent("cli-\(UUID().uuidString).txt")
            let exit = try await ExternalCommand.run(
                arguments, executable: PhaseWatchBinary.path, directory: dir, output: output, timeout: .seconds(30))
            let text = try String(contentsOf: output, encoding: .utf8)
            #expect(exit == command.status, "\(command.name) exited \(exit): \(text)")
            outputs.add("phasewatch \(command.name)", text)
            if command.name == "check-config broken" {
                // Every mistake is reported, located; only the secrets are left out.
                for place in ["broken.yml:5:5", "broken.yml:6:5", "broken.yml:9:14", "broken.yml:11:10", "broken.yml:3:10"] {
                    #expect(text.contains(place), "\(place) missing in:\n\(text)")
                }
            }
        }

        // Nothing leaked anywhere...
        outputs.expectNoLeaks(secrets)

        // ... and yet every secret was used: the servers received them.
        let recorded = try JSONDecoder().decode(
            [Recorded].self, from: Data(try await ExternalCommand.httpBody("http://127.0.0.1:\(recordPort)/recorded").utf8))
        func received(_ path: String, _ header: String, _ value: String) -> Bool {
            recorded.contains { $0.path.hasPrefix(path) && $0.headers[header] == value }
        }
        for path in ["/ok", "/fails", "/assert"] {
            #expect(received(path, "authorization", "Bearer \(secrets.token)"), "\(path) without the bearer token")
            #expect(received(path, "x-api-key", secrets.apiKey), "\(path) without the API key")
        }
        #expect(received("/userinfo", "authorization", "Basic \(Secrets.basic(secrets.password))"))
        #expect(received("/later", "authorization", "Bearer \(secrets.token)"), "the reloaded config was probed")
        // Remote write: the URL's password as Basic credentials, the token file's content as a
        // bearer token, the header as written; the url label has no user info at all.
        #expect(received("/rw-userinfo", "authorization", "Basic \(Secrets.basic(secrets.password))"))
        #expect(received("/rw-bearer", "authorization", "Bearer \(secrets.token)"))
        #expect(received("/rw-bearer", "x-api-key", secrets.apiKey))
        #expect(received("/rw-bearer", "content-encoding", "snappy"))
        #expect((bodies["/metrics"] ?? "").contains("url=\"http://127.0.0.1:\(recordPort)/rw-userinfo\",result=\"sent\""))
        #expect(received("/cli", "authorization", "Bearer \(secrets.cliToken)"))
        // (With an Authorization header the URL password is not sent: curl sends one such
        // header. `probeSendsTheURLPasswordAndNeverPrintsIt` covers the URL password alone.)
        // Mutual TLS: the server saw client-one's certificate, which needs its key.
        let mtlsTarget = bodies["/api/v1/targets/mtls"] ?? ""
        #expect(mtlsTarget.contains("\"success\":true"), "mutual TLS probe did not succeed: \(mtlsTarget.prefix(800))")
        #expect(outputs.items.first { $0.source == "phasewatch probe mtls" }?.text.hasPrefix("OK") == true)
        // The masked forms are there, so the checks above looked at the right text.
        #expect((bodies["/api/v1/targets/userinfo"] ?? "").contains("***@127.0.0.1:\(recordPort)/userinfo"))
        #expect(logText.contains("config reload rejected"))
        #expect(logText.split(separator: "\n").count >= 5, "\(logText)")
    }

    /// curl sends one Authorization header: with `--header Authorization` the URL password is
    /// not sent, so it gets a probe without the header.
    @Test func probeSendsTheURLPasswordAndNeverPrintsIt() async throws {
        let secrets = try Secrets()
        let record = try ServerProcess(script: "recordserver.py", arguments: [])
        defer { record.stop() }
        let dir = Scratch.dir.appendingPathComponent("secrets-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = "http://user:\(secrets.cliPassword)@127.0.0.1:\(record.port("http"))/basic"
        var outputs = Outputs()
        for format in ["json", "text"] {
            let output = dir.appendingPathComponent("probe-\(format).txt")
            let exit = try await ExternalCommand.run(
                ["probe", url, "--format=\(format)"], executable: PhaseWatchBinary.path, directory: dir, output: output,
                timeout: .seconds(30))
            let text = try String(contentsOf: output, encoding: .utf8)
            #expect(exit == 0, "\(text)")
            #expect(text.contains("127.0.0.1:\(record.port("http"))/basic"), "\(text)")
            outputs.add("phasewatch probe --format=\(format)", text)
        }
        outputs.expectNoLeaks(secrets)
        let recorded = try JSONDecoder().decode(
            [Recorded].self, from: Data(try await ExternalCommand.httpBody("http://127.0.0.1:\(record.port("http"))/recorded").utf8))
        #expect(recorded.count == 2)
        #expect(recorded.allSatisfy { $0.headers["authorization"] == "Basic \(Secrets.basic(secrets.cliPassword))" })
    }

    static func waitReady(_ base: String) async throws {
        for _ in 0..<100 {
            if (try? await ExternalCommand.httpStatus("\(base)/-/ready")) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the agent never became ready")
    }
}
