@testable import Agent
import Config
import Foundation
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Logging
import NIOCore
import Storage
import Synchronization
import TestSupport
import Testing

/// `--web.config.file`: the real server on an ephemeral 127.0.0.1 port, driven by the real curl
/// binary, with the certificates of Tests/Support/mkcerts.py (server.pem from `ca.pem`;
/// client1.pem and client2.pem from `client-ca.pem`).
@Suite(.serialized)
struct WebConfigTests {
    static let logger = Logger(label: "test")
    static let password = "correct horse"

    /// A bcrypt hash made here, at a low cost: the tests check the logic, not bcrypt's strength.
    static let aliceHash = Bcrypt.hash(password, cost: 4)

    /// Writes `yaml` as a web config, loads it as `phasewatch run` does, and runs `test` against
    /// an agent serving with it (no probing) on an ephemeral port.
    static func withAgent(web yaml: String, _ test: @Sendable (_ port: Int) async throws -> Void) async throws {
        let dir = Scratch.dir.appendingPathComponent("web-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let webPath = dir.appendingPathComponent("web.yml").path
        try yaml.write(toFile: webPath, atomically: true, encoding: .utf8)
        let security = try WebSecurity(WebConfigLoader.load(path: webPath))
        let configPath = dir.appendingPathComponent("phasewatch.yml").path
        try """
            storage: {path: \(dir.appendingPathComponent("pw.db").path)}
            targets: [{name: t, url: "http://127.0.0.1:9/"}]
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: configPath)
        let runtime = AgentRuntime(
            config: config, source: .file(configPath), store: try ProbeStore(path: config.storage.path), logger: logger)
        runtime.prepareWithoutProbing()
        let app = buildApplication(runtime: runtime, host: "127.0.0.1", port: 0, services: [], logger: logger, security: security)
        try await app.test(.live) { client in try await test(try #require(client.port)) }
    }

    static func tls(_ extra: String = "") -> String {
        """
        tls_server_config:
          cert_file: \(Certs.path("server.pem"))
          key_file: \(Certs.path("server.key"))
        \(extra)
        """
    }

    /// `https://localhost:PORT` pinned to 127.0.0.1 and trusting the test CA.
    static func https(_ port: Int, _ path: String) -> [String] {
        ["--cacert", Certs.ca, "--resolve", "localhost:\(port):127.0.0.1", "https://localhost:\(port)\(path)"]
    }

    fileprivate static func unauthorized(_ response: Curl.Response, challenges: [String], message: String) throws {
        #expect(response.status == 401)
        #expect(response.header("WWW-Authenticate") == challenges)
        #expect(response.header("Content-Type") == ["application/json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
        let error = try #require(json["error"] as? [String: Any])
        #expect(error["code"] as? String == "unauthorized")
        #expect(error["message"] as? String == message)
    }

    // MARK: TLS

    @Test func servesTLSWithTheTestCAAndRefusesPlainHTTP() async throws {
        try await Self.withAgent(web: Self.tls()) { port in
            let ok = try await Curl.request(Self.https(port, "/-/healthy"))
            #expect(ok.status == 200)
            #expect(ok.body == "Healthy.\n")
            // The certificate is the one configured: without the test CA, curl refuses it.
            let untrusted = try await Curl.request(["--resolve", "localhost:\(port):127.0.0.1", "https://localhost:\(port)/-/healthy"])
            #expect(untrusted.exit == 60, "curl exit \(untrusted.exit)")
            // Plain HTTP on the TLS port gets no HTTP answer at all.
            let plain = try await Curl.request(["http://127.0.0.1:\(port)/-/healthy"])
            #expect(plain.exit != 0)
            #expect(plain.status == 0)
        }
    }

    @Test func minVersionTLS13RefusesTLS12Clients() async throws {
        try await Self.withAgent(web: Self.tls("  min_version: TLS13")) { port in
            let old = try await Curl.request(["--tls-max", "1.2"] + Self.https(port, "/-/healthy"))
            #expect(old.exit == 35, "curl exit \(old.exit)")  // handshake failed
            let new = try await Curl.request(["--tlsv1.3"] + Self.https(port, "/-/healthy"))
            #expect(new.status == 200)
        }
    }

    @Test func requireAndVerifyClientCertAcceptsOnlyCertificatesOfTheClientCA() async throws {
        let web = Self.tls("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: \(Certs.path("client-ca.pem"))")
        try await Self.withAgent(web: web) { port in
            let trusted = try await Curl.request(
                ["--cert", Certs.path("client1.pem"), "--key", Certs.path("client1.key")] + Self.https(port, "/metrics"))
            #expect(trusted.status == 200)
            let none = try await Curl.request(Self.https(port, "/metrics"))
            #expect(none.exit != 0 && none.status == 0, "no certificate: curl exit \(none.exit), status \(none.status)")
            // Signed by the server CA, not the client CA.
            let foreign = try await Curl.request(
                ["--cert", Certs.path("server.pem"), "--key", Certs.path("server.key")] + Self.https(port, "/metrics"))
            #expect(foreign.exit != 0 && foreign.status == 0, "foreign certificate: curl exit \(foreign.exit), status \(foreign.status)")
        }
    }

    @Test func verifyClientCertIfGivenLetsClientsWithoutOneIn() async throws {
        let web = Self.tls("  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: \(Certs.path("client-ca.pem"))")
        try await Self.withAgent(web: web) { port in
            #expect(try await Curl.request(Self.https(port, "/-/ready")).status == 200)
            let trusted = try await Curl.request(
                ["--cert", Certs.path("client2.pem"), "--key", Certs.path("client2.key")] + Self.https(port, "/-/ready"))
            #expect(trusted.status == 200)
            let foreign = try await Curl.request(
                ["--cert", Certs.path("server.pem"), "--key", Certs.path("server.key")] + Self.https(port, "/-/ready"))
            #expect(foreign.exit != 0 && foreign.status == 0, "foreign certificate: curl exit \(foreign.exit)")
        }
    }

    /// Files the loader cannot judge (it checks PEM markers only) fail when the agent parses
    /// them, before it listens, located like the loader's errors.
    @Test func certificatesTheTLSLibraryRefusesStopStartup() throws {
        let dir = Scratch.dir.appendingPathComponent("web-bad-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
            .write(toFile: "\(dir)/garbage.pem", atomically: true, encoding: .utf8)
        func errors(cert: String, key: String) throws -> String {
            let yaml = "tls_server_config:\n  cert_file: \(cert)\n  key_file: \(key)\n"
            do {
                _ = try WebSecurity(WebConfigLoader.parse(yaml: yaml, file: "web.yml", baseDirectory: dir))
                return "OK"
            } catch {
                return error.description
            }
        }
        let server = Certs.path("server.pem")
        let otherKey = Certs.path("client1.key")
        #expect(try errors(cert: server, key: otherKey) == """
            web.yml:3:13: tls_server_config.key_file: the TLS library refused the key and certificate pair \
            (does \(otherKey) belong to \(server)?): failedToLoadPrivateKey
            """)
        let garbage = try errors(cert: "garbage.pem", key: Certs.path("server.key"))
        #expect(garbage.hasPrefix("web.yml:2:14: tls_server_config.cert_file: cannot load the certificate in \(dir)/garbage.pem: "), "\(garbage)")
        #expect(try errors(cert: server, key: Certs.path("server.key")) == "OK")
    }

    // MARK: Basic authentication

    @Test func basicAuthGuardsEveryEndpoint() async throws {
        // bob's hash in the $2y$ form htpasswd writes.
        let bobHash = "$2y$" + Bcrypt.hash("bob's password", cost: 4).dropFirst(4)
        let web = Self.tls("basic_auth_users:\n  alice: \(Self.aliceHash)\n  bob: \(bobHash)")
        try await Self.withAgent(web: web) { port in
            let challenge = [#"Basic realm="phasewatch""#]
            let endpoints = [
                ("GET", "/metrics"), ("GET", "/api/v1/targets"), ("GET", "/api/v1/openapi.json"), ("GET", "/"),
                ("POST", "/-/reload"), ("GET", "/-/healthy"), ("GET", "/-/ready"), ("GET", "/no/such/path"),
            ]
            for (method, path) in endpoints {
                let anonymous = try await Curl.request(["-X", method] + Self.https(port, path))
                try Self.unauthorized(anonymous, challenges: challenge, message: "authentication required: HTTP basic authentication")
            }
            for path in ["/metrics", "/api/v1/targets", "/", "/-/healthy"] {
                let alice = try await Curl.request(["-u", "alice:\(Self.password)"] + Self.https(port, path))
                #expect(alice.status == 200, "\(path)")
                #expect(!alice.body.contains(Self.password) && !alice.body.contains(Self.aliceHash))
            }
            #expect(try await Curl.request(["-u", "alice:\(Self.password)"] + Self.https(port, "/no/such/path")).status == 404)
            #expect(try await Curl.request(["-u", "bob:bob's password"] + Self.https(port, "/-/healthy")).status == 200)
            // The scheme is case-insensitive (RFC 9110).
            let lower = "basic " + Data("alice:\(Self.password)".utf8).base64EncodedString()
            #expect(try await Curl.request(["-H", "Authorization: \(lower)"] + Self.https(port, "/-/healthy")).status == 200)

            let rejected = "the credentials were not accepted"
            for credentials in ["alice:wrong", "alice:\(Self.password)x", "alice:", "mallory:\(Self.password)", "bob:\(Self.password)"] {
                let response = try await Curl.request(["-u", credentials] + Self.https(port, "/metrics"))
                try Self.unauthorized(response, challenges: challenge, message: rejected)
                #expect(!response.body.contains(credentials))
            }
            // bcrypt reads C strings: a NUL must not cut the password short.
            let nul = Data("alice:\(Self.password)\0anything".utf8).base64EncodedString()
            try Self.unauthorized(
                try await Curl.request(["-H", "Authorization: Basic \(nul)"] + Self.https(port, "/metrics")),
                challenges: challenge, message: rejected)
            try Self.unauthorized(
                try await Curl.request(["-H", "Authorization: Basic not-base64!"] + Self.https(port, "/metrics")),
                challenges: challenge, message: rejected)
            // Bearer is not configured here: a token counts as no credentials.
            try Self.unauthorized(
                try await Curl.request(["-H", "Authorization: Bearer \(Self.password)"] + Self.https(port, "/metrics")),
                challenges: challenge, message: "authentication required: HTTP basic authentication")
        }
    }

    // MARK: Bearer tokens

    @Test func bearerTokensBesideBasicAuth() async throws {
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        // The digest made the way docs/web-config.md says.
        let digest = try Shell.output(["sh", "-c", #"printf %s "$1" | sha256sum | cut -d' ' -f1"#, "sh", token])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let web = Self.tls("basic_auth_users:\n  alice: \(Self.aliceHash)\nbearer_auth_tokens:\n  prometheus: sha256:\(digest)")
        try await Self.withAgent(web: web) { port in
            let challenges = [#"Basic realm="phasewatch""#, #"Bearer realm="phasewatch""#]
            #expect(try await Curl.request(["-H", "Authorization: Bearer \(token)"] + Self.https(port, "/metrics")).status == 200)
            #expect(try await Curl.request(["-u", "alice:\(Self.password)"] + Self.https(port, "/metrics")).status == 200)
            for wrong in [String(token.dropLast()), token + "0", token.uppercased(), digest, ""] {
                let response = try await Curl.request(["-H", "Authorization: Bearer \(wrong)"] + Self.https(port, "/metrics"))
                #expect(response.status == 401)
                #expect(response.header("WWW-Authenticate") == challenges)
            }
            try Self.unauthorized(
                try await Curl.request(Self.https(port, "/api/v1/targets")), challenges: challenges,
                message: "authentication required: HTTP basic authentication or a bearer token")
        }
    }

    // MARK: The cache of verified passwords

    /// bcrypt is paid once for a client that keeps its password, never remembered for a wrong one.
    @Test func repeatedAuthenticatedRequestsPayBcryptOnce() async throws {
        let password = "scrape-password"
        let hash = Bcrypt.hash(password, cost: 8)
        // One bcrypt check, measured here (the fastest of three: a lower bound for the server too).
        let bcrypt = (0..<3).map { _ in
            let start = ContinuousClock.now
            _ = Bcrypt.verify(password, hash: hash)
            return ContinuousClock.now - start
        }.min()!
        try await Self.withAgent(web: "basic_auth_users:\n  prometheus: \(hash)\n") { port in
            let url = "http://127.0.0.1:\(port)/-/healthy"
            // 50 requests on one connection (one curl process), as a scraper would send them.
            func timed(_ credentials: String, _ count: Int) async throws -> (Duration, [String]) {
                let start = ContinuousClock.now
                let output = try await Curl.run(["-s", "-u", credentials, "-w", "%{http_code}\\n"]
                    + Array(repeating: ["-o", "/dev/null", url], count: count).flatMap { $0 })
                let codes = output.split(separator: "\n").map(String.init)
                return (ContinuousClock.now - start, codes)
            }
            let (good, goodCodes) = try await timed("prometheus:\(password)", 50)
            #expect(goodCodes == Array(repeating: "200", count: 50))
            #expect(good < bcrypt * 50 / 5, "50 requests took \(good); one bcrypt takes \(bcrypt)")

            // Failures are not cached: each one costs a full bcrypt, however often it is repeated.
            let (bad, badCodes) = try await timed("prometheus:wrong", 5)
            #expect(badCodes == Array(repeating: "401", count: 5))
            #expect(bad >= bcrypt * 5 * 8 / 10, "5 rejections took \(bad); one bcrypt takes \(bcrypt)")
            // An unknown user costs a bcrypt too (no finding user names by timing).
            let (unknown, _) = try await timed("nobody:\(password)", 5)
            #expect(unknown >= bcrypt * 5 * 8 / 10, "5 unknown users took \(unknown); one bcrypt takes \(bcrypt)")
        }
    }

    @Test func verifiedCacheIsBoundedAndKeysNeverCollideAcrossTheColon() {
        let cache = VerifiedCache(capacity: 2)
        let a = cache.key(user: "ab", password: "c")
        let b = cache.key(user: "a", password: "bc")
        #expect(a != b)
        #expect(a == cache.key(user: "ab", password: "c"))
        // Keys are salted per process: the same pair gets another key in another cache.
        #expect(a != VerifiedCache(capacity: 2).key(user: "ab", password: "c"))
        let c = cache.key(user: "x", password: "y")
        cache.insert(a)
        cache.insert(b)
        cache.insert(c)
        #expect(cache.count == 2)
        #expect(!cache.contains(a))  // the oldest went
        #expect(cache.contains(b) && cache.contains(c))
    }

    // MARK: Authentication under attack

    /// The queue's bounds and turns, without a server: a bcrypt at cost 11 keeps each check
    /// pending long enough for the admissions around it to be certain.
    @Test func bcryptQueueBoundsEachClientAndTakesClientsInTurn() async throws {
        let hash = Bcrypt.hash("right", cost: 11)
        let queue = BcryptQueue(limits: .init(perClient: 3, total: 5))
        let cache = VerifiedCache(capacity: 8)
        let (a, b, c) = (ClientID(value: "a"), ClientID(value: "b"), ClientID(value: "c"))
        final class Finished: Sendable { let names = Mutex<[String]>([]) }
        let finished = Finished()
        func submit(_ name: String, _ password: String, _ client: ClientID) -> Task<BcryptQueue.Outcome, Never> {
            Task { [queue, cache] in
                let outcome = await queue.verify(password, hash: hash, key: cache.key(user: "u", password: password), client: client)
                finished.names.withLock { $0.append(name) }
                return outcome
            }
        }
        func waitFor(pending: Int) async throws {
            for _ in 0..<500 where queue.pendingCount != pending { try await Task.sleep(for: .milliseconds(2)) }
            try #require(queue.pendingCount == pending)
        }
        // a1 runs, a2 and a3 wait; then b1 arrives: it goes before a3, not after it.
        let a1 = submit("a1", "wrong-1", a)
        try await waitFor(pending: 1)
        let a2 = submit("a2", "right", a)
        try await waitFor(pending: 2)
        let a3 = submit("a3", "wrong-3", a)
        try await waitFor(pending: 3)
        // A fourth from a is refused at once, without a check.
        let start = ContinuousClock.now
        #expect(await queue.verify("wrong-4", hash: hash, key: cache.key(user: "u", password: "wrong-4"), client: a) == .busy)
        #expect(ContinuousClock.now - start < .milliseconds(50))
        // The same question as a pending one waits for its answer: no new check, no refusal.
        let a1Again = submit("a1-again", "wrong-1", a)
        let b1 = submit("b1", "wrong-b", b)
        try await waitFor(pending: 4)
        let c1 = submit("c1", "wrong-c", c)
        try await waitFor(pending: 5)
        // Five pending in all: a new client is refused too.
        #expect(await queue.verify("x", hash: hash, key: cache.key(user: "u", password: "x"), client: ClientID(value: "d")) == .busy)

        #expect(await a1.value == .mismatched)
        #expect(await a1Again.value == .mismatched)
        #expect(await a2.value == .matched)
        #expect(await a3.value == .mismatched)
        #expect(await b1.value == .mismatched)
        #expect(await c1.value == .mismatched)
        #expect(queue.pendingCount == 0)
        let order = finished.names.withLock { $0 }.filter { $0 != "a1-again" }
        #expect(order == ["a1", "a2", "b1", "c1", "a3"], "a first-in-first-out queue would finish a3 before b1")
        // Bounds are released: a can be checked again.
        #expect(await queue.verify("right", hash: hash, key: cache.key(user: "u", password: "right2"), client: a) == .matched)
    }

    @Test func clientsAreIPv4AddressesAndIPv6Slash64s() throws {
        #expect(ClientID(try SocketAddress(ipAddress: "192.0.2.7", port: 1)).value == "192.0.2.7")
        #expect(ClientID(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)).value == "192.0.2.7")
        let v6 = ClientID(try SocketAddress(ipAddress: "2001:db8:0:12:aaaa::1", port: 1))
        #expect(v6.value == "2001:db8:0:12::/64")
        #expect(v6 == ClientID(try SocketAddress(ipAddress: "2001:db8:0:12:bbbb:cccc:dddd:eeee", port: 2)))
        #expect(v6 != ClientID(try SocketAddress(ipAddress: "2001:db8:0:13:aaaa::1", port: 1)))
        #expect(ClientID(try SocketAddress(unixDomainSocketPath: "/tmp/x")) == .unknown)
        #expect(ClientID(nil) == .unknown)
    }

    /// The hostile test of issue 20: one client keeps 100 wrong passwords in flight. Its excess
    /// gets 429s at once; a first login from another address (127.0.0.2) waits for a couple of
    /// checks, not for the flood; a login verified before never waits; afterwards, a first
    /// login from the flooding address works again.
    @Test(.requires(.curl)) func aFloodOfWrongPasswordsGets429sAndDelaysNoRealLogin() async throws {
        let cost: UInt8 = 10
        let (alice, bob, carol) = ("alice-password", "bob-password", "carol-password")
        let web = "basic_auth_users:\n  alice: \(Bcrypt.hash(alice, cost: cost))\n  bob: \(Bcrypt.hash(bob, cost: cost))\n"
            + "  carol: \(Bcrypt.hash(carol, cost: cost))\n"
        let probe = Bcrypt.hash("x", cost: cost)
        let bcrypt = (0..<3).map { _ in
            let start = ContinuousClock.now
            _ = Bcrypt.verify("x", hash: probe)
            return ContinuousClock.now - start
        }.min()!
        let flood = 100
        try await Self.withAgent(web: web) { port in
            let url = "http://127.0.0.1:\(port)/-/healthy"
            /// One request from `source`: its status and curl's time for it.
            func login(_ credentials: String, from source: String) async throws -> (status: String, seconds: Double) {
                let out = try await Shell.run(
                    ["curl", "-s", "-o", "/dev/null", "--max-time", "60", "--interface", source, "-u", credentials,
                     "-w", "%{http_code} %{time_total}", url]).output.split(separator: " ")
                return (String(out.first ?? ""), Double(out.last ?? "") ?? .infinity)
            }
            #expect(try await login("alice:\(alice)", from: "127.0.0.1").status == "200")

            // `flood` transfers in flight from 127.0.0.1, each with its own wrong password, and
            // 100 rounds' worth behind them, so the flood outlasts the logins below.
            let dir = Scratch.dir.appendingPathComponent("flood-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try (0..<flood * 100).map { i in
                """
                url = "\(url)"
                interface = "127.0.0.1"
                user = "alice:wrong-\(i)"
                output = "/dev/null"
                silent
                max-time = 60
                write-out = "%{stderr}%{http_code} %header{retry-after} %{content_type}\\n"

                """
            }.joined(separator: "next\n").write(toFile: "\(dir)/flood.cfg", atomically: true, encoding: .utf8)
            _ = FileManager.default.createFile(atPath: "\(dir)/flood.out", contents: nil)
            let output = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/flood.out"))
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            curl.arguments = ["curl", "-s", "--no-progress-meter", "--parallel", "--parallel-immediate", "--parallel-max", "\(flood)", "-K", "\(dir)/flood.cfg"]
            curl.standardOutput = FileHandle.nullDevice
            curl.standardError = output
            try curl.run()
            defer { if curl.isRunning { kill(curl.processIdentifier, SIGKILL) } }
            /// The flood's answers so far, complete lines only (a killed curl may leave half a line).
            func codes() throws -> [Substring] {
                let text = try String(contentsOfFile: "\(dir)/flood.out", encoding: .utf8)
                return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().filter { !$0.isEmpty }
            }
            // Under way: the bounds are reached and the excess is being refused.
            for _ in 0..<500 where try !codes().contains(where: { $0.hasPrefix("429") }) {
                try await Task.sleep(for: .milliseconds(10))
            }

            async let first = login("bob:\(bob)", from: "127.0.0.2")
            async let cached = login("alice:\(alice)", from: "127.0.0.1")
            let (bobLogin, aliceLogin) = try await (first, cached)
            let floodStillRunning = curl.isRunning
            // SIGKILL: curl started by Foundation's Process here lets SIGTERM pass unheeded.
            kill(curl.processIdentifier, SIGKILL)
            await Shell.waitForExit(curl)
            try output.close()

            let serial = bcrypt * flood
            print("auth flood: \(flood) in flight; first login from another address \(bobLogin.seconds) s, cached login "
                + "\(aliceLogin.seconds) s; one bcrypt \(bcrypt), the flood's checks one after another \(serial)")
            #expect(floodStillRunning, "the flood ended before the logins: they were not measured under it")
            #expect(bobLogin.status == "200")
            #expect(bobLogin.seconds < 1.5, "a first login took \(bobLogin.seconds) s under the flood")
            #expect(.seconds(bobLogin.seconds) < serial / 5, "a first login took \(bobLogin.seconds) s; the flood's checks take \(serial)")
            #expect(aliceLogin.status == "200")
            #expect(aliceLogin.seconds < 1, "a cached login took \(aliceLogin.seconds) s under the flood")

            let lines = try codes()
            let refused = lines.filter { $0.hasPrefix("429") }
            let checked = lines.filter { $0.hasPrefix("401") }
            #expect(refused.count > flood, "\(refused.count) refusals")
            #expect(!checked.isEmpty, "no wrong password was checked")
            #expect(refused.count + checked.count == lines.count, "statuses other than 401 and 429: \(Set(lines.filter { !$0.hasPrefix("429") && !$0.hasPrefix("401") }))")
            #expect(refused.allSatisfy { $0 == "429 1 application/json" }, "\(Set(refused))")

            // The flooding address is not locked out once it stops: a first login through bcrypt,
            // after the one second of Retry-After if the killed flood's last checks still hold
            // its bound.
            var carolLogin = try await login("carol:\(carol)", from: "127.0.0.1")
            if carolLogin.status == "429" {
                try await Task.sleep(for: .seconds(1))
                carolLogin = try await login("carol:\(carol)", from: "127.0.0.1")
            }
            #expect(carolLogin.status == "200")
            #expect(try await login("alice:wrong", from: "127.0.0.1").status == "401")
        }
    }

    // MARK: phasewatch run

    /// The real binary: a bad web config stops it with status 1 and located errors before
    /// it listens; a good one serves, and no secret reaches its logs.
    @Test func runChecksTheWebConfigFirstAndLogsNoSecret() async throws {
        let dir = Scratch.dir.appendingPathComponent("web-run-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let port = TestServer.closedPort()
        try """
            storage: {path: \(dir)/pw.db}
            targets: [{name: t, url: "http://127.0.0.1:9/", interval: 1h}]
            """.write(toFile: "\(dir)/phasewatch.yml", atomically: true, encoding: .utf8)
        let args = ["run", "--config.file=\(dir)/phasewatch.yml", "--web.listen-address=127.0.0.1:\(port)", "--log.level=debug"]

        try "tls_server_config:\n  cert_file: \(Certs.path("server.pem"))\n  key_file: \(Certs.path("client1.key"))\n"
            .write(toFile: "\(dir)/bad.yml", atomically: true, encoding: .utf8)
        let bad = try await Shell.run([PhaseWatchBinary.path] + args + ["--web.config.file=\(dir)/bad.yml"])
        #expect(bad.status == 1)
        #expect(bad.output == """
            \(dir)/bad.yml:3:13: tls_server_config.key_file: the TLS library refused the key and certificate pair \
            (does \(Certs.path("client1.key")) belong to \(Certs.path("server.pem"))?): failedToLoadPrivateKey

            """)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/pw.db"), "the database was opened before the web config was checked")

        let token = "run-test-token-\(UUID().uuidString)"
        let digest = try Shell.output(["sh", "-c", #"printf %s "$1" | sha256sum | cut -d' ' -f1"#, "sh", token])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try Self.tls("basic_auth_users:\n  alice: \(Self.aliceHash)\nbearer_auth_tokens:\n  prometheus: sha256:\(digest)")
            .write(toFile: "\(dir)/web.yml", atomically: true, encoding: .utf8)
        let log = "\(dir)/agent.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: PhaseWatchBinary.path)
        agent.arguments = args + ["--web.config.file=\(dir)/web.yml"]
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        agent.standardOutput = logHandle
        agent.standardError = logHandle
        try agent.run()
        defer { if agent.isRunning { agent.terminate() } }
        var ready = false
        for _ in 0..<100 where !ready {
            ready = try await Curl.request(["-u", "alice:\(Self.password)"] + Self.https(port, "/-/ready")).status == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ready, "the agent never answered over TLS")
        #expect(try await Curl.request(["-u", "alice:wrong-\(Self.password)"] + Self.https(port, "/metrics")).status == 401)
        #expect(try await Curl.request(["-H", "Authorization: Bearer \(token)"] + Self.https(port, "/metrics")).status == 200)
        #expect(try await Curl.request(["-H", "Authorization: Bearer \(token)x"] + Self.https(port, "/metrics")).status == 401)
        agent.terminate()
        await Shell.waitForExit(agent)
        try logHandle.close()
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("scheme=https"), "\(text)")
        for secret in [Self.password, Self.aliceHash, token, digest] {
            #expect(!text.contains(secret), "the log shows a secret")
        }
    }
}

/// The Debian curl binary, run without blocking a thread of Swift's cooperative pool.
private enum Curl {
    struct Response {
        /// curl's exit status: 0, or why the transfer failed (35 handshake, 60 untrusted certificate...).
        let exit: Int32
        /// 0 when no HTTP response arrived.
        let status: Int
        let headers: [(name: String, value: String)]
        let body: String

        func header(_ name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }
    }

    /// One request; `arguments` end with the URL.
    static func request(_ arguments: [String]) async throws -> Response {
        try requireTool(.curl)
        let base = Scratch.dir.appendingPathComponent("curl-\(UUID().uuidString)").path
        let result = try await Shell.run(
            ["curl", "-s", "--max-time", "10", "-D", "\(base).headers", "-o", "\(base).body", "-w", "%{http_code}"] + arguments)
        defer {
            try? FileManager.default.removeItem(atPath: "\(base).headers")
            try? FileManager.default.removeItem(atPath: "\(base).body")
        }
        let head = (try? String(contentsOfFile: "\(base).headers", encoding: .utf8)) ?? ""
        let headers = head.split(separator: "\r\n").dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(
            exit: result.status, status: Int(result.output) ?? 0, headers: headers,
            body: (try? String(contentsOfFile: "\(base).body", encoding: .utf8)) ?? "")
    }

    /// curl with `arguments` as given; its standard output.
    static func run(_ arguments: [String]) async throws -> String {
        try requireTool(.curl)
        return try await Shell.run(["curl", "--max-time", "30"] + arguments).output
    }
}

private enum Shell {
    /// Runs a command to its end, awaiting it without blocking a thread; stdout and stderr
    /// together (through a file: no pipe to fill up).
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let path = Scratch.dir.appendingPathComponent("out-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        try handle.close()
        return (process.terminationStatus, try String(contentsOfFile: path, encoding: .utf8))
    }

    /// A quick command's standard output (blocking: for test setup only).
    static func output(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static func waitForExit(_ process: Process) async {
        for _ in 0..<100 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
