import Config
import Foundation
import Testing

/// `--web.config.file`: the parser and its validation. The files TLS keys point at are fakes
/// with the right PEM markers: this module checks markers only; the agent's tests
/// (Tests/AgentTests/WebConfigTests.swift) parse real certificates.
enum WebFixtures {
    static let hash = "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"
    static let digest = String(repeating: "ab", count: 32)

    static let dir: String = {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("phasewatch-webconfig-tests-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: "\(dir)/tls", withIntermediateDirectories: true)
        func pem(_ label: String, _ extra: String = "") -> String {
            "-----BEGIN \(label)-----\n\(extra)AAAA\n-----END \(label)-----\n"
        }
        let files = [
            "tls/server.pem": pem("CERTIFICATE"),
            "tls/server.key": pem("PRIVATE KEY"),
            "tls/rsa.key": pem("RSA PRIVATE KEY"),
            "tls/ca.pem": pem("CERTIFICATE"),
            "tls/encrypted.key": pem("ENCRYPTED PRIVATE KEY"),
            "tls/legacy-encrypted.key": pem("RSA PRIVATE KEY", "Proc-Type: 4,ENCRYPTED\n"),
            "tls/notes.txt": "not a certificate\n",
        ]
        for (name, text) in files {
            _ = FileManager.default.createFile(atPath: "\(dir)/\(name)", contents: Data(text.utf8))
        }
        return dir
    }()

    /// The errors `yaml` produces (one per line), or "OK"; `$DIR` stands for the fixture directory.
    static func check(_ yaml: String) -> String {
        do {
            _ = try parse(yaml)
            return "OK"
        } catch {
            return error.description.replacingOccurrences(of: dir, with: "$DIR")
        }
    }

    static func parse(_ yaml: String) throws(ConfigErrors) -> WebConfig {
        try WebConfigLoader.parse(yaml: yaml, file: "web.yml", baseDirectory: dir)
    }

    /// A valid `tls_server_config` head (lines 1–3) followed by `lines` (line 4 on).
    static func tls(_ lines: String) -> String {
        "tls_server_config:\n  cert_file: tls/server.pem\n  key_file: tls/server.key\n" + lines
    }
}


struct WebConfigParseTests {
    @Test func fullFileParsesWithPathsResolvedAgainstItsDirectory() throws {
        let config = try WebFixtures.parse("""
            tls_server_config:
              cert_file: tls/server.pem
              key_file: tls/server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: \(WebFixtures.dir)/tls/ca.pem
              min_version: TLS13
            basic_auth_users:
              alice: \(WebFixtures.hash)
              bob: "$2b$04$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            bearer_auth_tokens:
              prometheus: sha256:\(WebFixtures.digest.uppercased())
            """)
        let tls = try #require(config.tls)
        #expect(tls.certFile == "\(WebFixtures.dir)/tls/server.pem")
        #expect(tls.keyFile == "\(WebFixtures.dir)/tls/server.key")
        #expect(tls.clientAuth == .requireAndVerifyClientCert)
        #expect(tls.clientCAFile == "\(WebFixtures.dir)/tls/ca.pem")
        #expect(tls.minVersion == .tls13)
        #expect(tls.maxVersion == .tls13)
        #expect(config.basicAuthUsers.map(\.name) == ["alice", "bob"])
        #expect(config.basicAuthUsers[0].hash == WebFixtures.hash)
        #expect(config.bearerTokens == [BearerToken(name: "prometheus", sha256: [UInt8](repeating: 0xab, count: 32))])
        #expect(config.requiresAuthentication)
        // Where the TLS files were named, for errors found when the agent parses them.
        #expect(config.error("tls_server_config.key_file", "bad").description == "web.yml:3:13: tls_server_config.key_file: bad")
    }

    @Test func defaultsAndSingleSections() throws {
        let tlsOnly = try WebFixtures.parse(WebFixtures.tls(""))
        #expect(tlsOnly.tls?.clientAuth == .noClientCert)
        #expect(tlsOnly.tls?.clientCAFile == nil)
        #expect(tlsOnly.tls?.minVersion == .tls12)
        #expect(tlsOnly.tls?.maxVersion == .tls13)
        #expect(!tlsOnly.requiresAuthentication)

        let basicOnly = try WebFixtures.parse("basic_auth_users: {alice: \"\(WebFixtures.hash)\"}\n")
        #expect(basicOnly.tls == nil)
        #expect(basicOnly.bearerTokens.isEmpty)
        #expect(basicOnly.requiresAuthentication)

        // Optional client certificates, a key in the older RSA PEM form.
        let optional = try WebFixtures.parse(WebFixtures.tls("""
              client_auth_type: VerifyClientCertIfGiven
              client_ca_file: tls/ca.pem
            """).replacingOccurrences(of: "tls/server.key", with: "tls/rsa.key"))
        #expect(optional.tls?.clientAuth == .verifyClientCertIfGiven)
    }

    /// A config printed by mistake (a log line, an error) must not show hashes or digests.
    @Test func descriptionsHideHashesAndDigests() throws {
        let config = try WebFixtures.parse("""
            basic_auth_users: {alice: "\(WebFixtures.hash)"}
            bearer_auth_tokens: {prometheus: "sha256:\(WebFixtures.digest)"}
            """)
        for text in [String(describing: config), String(reflecting: config), "\(config.basicAuthUsers)", "\(config.bearerTokens)"] {
            #expect(!text.contains("mDwo"))
            #expect(!text.contains("abab"))
        }
        #expect("\(config.basicAuthUsers[0])" == "alice: <bcrypt hash>")
        #expect("\(config.bearerTokens[0])" == "prometheus: <sha256 digest>")
    }

    // One broken web config and the exact errors it gets (`Broken`, as for the agent's config).
    static let rows: [Broken] = [
        // The file as a whole.
        Broken("empty file", "# nothing\n",
                  "web.yml:1:1: the file is empty; a web config needs tls_server_config, basic_auth_users or bearer_auth_tokens"),
        Broken("empty mapping", "{}\n",
                  "web.yml:1:1: configures nothing; a web config needs tls_server_config, basic_auth_users or bearer_auth_tokens"),
        Broken("list at the top", "- tls_server_config\n",
                  "web.yml:1:1: the top level must be a mapping with tls_server_config, basic_auth_users or bearer_auth_tokens, got a list"),
        Broken("tab indentation", "basic_auth_users:\n\talice: x\n",
                  "web.yml:2:1: YAML syntax error: found character that cannot start any token (while scanning for the next token at line 2, column 1); YAML does not allow tabs for indentation, use spaces"),
        Broken("unknown key with a suggestion", "basic_auth_user:\n  alice: \(WebFixtures.hash)\n",
                  #"web.yml:1:1: basic_auth_user: unknown key "basic_auth_user"; did you mean "basic_auth_users"?"#),
        Broken("exporter-toolkit key phasewatch lacks", "http_server_config: {http2: false}\nbasic_auth_users: {alice: \"\(WebFixtures.hash)\"}\n",
                  "web.yml:1:1: http_server_config: not supported by phasewatch (an exporter-toolkit key): HTTP/2 and extra response headers cannot be configured"),
        Broken("rate_limit", "rate_limit: {burst: 2}\nbasic_auth_users: {alice: \"\(WebFixtures.hash)\"}\n",
                  "web.yml:1:1: rate_limit: not supported by phasewatch (an exporter-toolkit key)"),
        // tls_server_config.
        Broken("empty tls section", "tls_server_config:\n",
                  "web.yml:1:19: tls_server_config: is empty: TLS needs cert_file and key_file (remove the key to serve plain HTTP)"),
        Broken("unknown tls key", WebFixtures.tls("  min_verison: TLS13\n"),
                  #"web.yml:4:3: tls_server_config.min_verison: unknown key "min_verison"; did you mean "min_version"?"#),
        Broken("missing key_file", "tls_server_config:\n  cert_file: tls/server.pem\n",
                  #"web.yml:2:3: tls_server_config: missing required key "key_file""#),
        Broken("certificate file not found", "tls_server_config:\n  cert_file: tls/nope.pem\n  key_file: tls/server.key\n",
                  "web.yml:2:14: tls_server_config.cert_file: file not found: $DIR/tls/nope.pem"),
        Broken("directory as key file", "tls_server_config:\n  cert_file: tls/server.pem\n  key_file: tls\n",
                  "web.yml:3:13: tls_server_config.key_file: is a directory, not a file: $DIR/tls"),
        Broken("certificate file without a certificate", "tls_server_config:\n  cert_file: tls/notes.txt\n  key_file: tls/server.key\n",
                  "web.yml:2:14: tls_server_config.cert_file: no PEM certificate (-----BEGIN CERTIFICATE-----) in $DIR/tls/notes.txt"),
        Broken("certificate given as the key", "tls_server_config:\n  cert_file: tls/server.pem\n  key_file: tls/server.pem\n",
                  "web.yml:3:13: tls_server_config.key_file: no PEM private key (-----BEGIN PRIVATE KEY-----) in $DIR/tls/server.pem"),
        Broken("encrypted key", "tls_server_config:\n  cert_file: tls/server.pem\n  key_file: tls/encrypted.key\n",
                  "web.yml:3:13: tls_server_config.key_file: encrypted private keys are not supported (the agent cannot ask for a passphrase): $DIR/tls/encrypted.key"),
        Broken("legacy encrypted key", "tls_server_config:\n  cert_file: tls/server.pem\n  key_file: tls/legacy-encrypted.key\n",
                  "web.yml:3:13: tls_server_config.key_file: encrypted private keys are not supported (the agent cannot ask for a passphrase): $DIR/tls/legacy-encrypted.key"),
        Broken("inline certificate", "tls_server_config:\n  cert: \"-----BEGIN CERTIFICATE-----\"\n  key_file: tls/server.key\n",
                  """
                  web.yml:2:3: tls_server_config.cert: an inline certificate is not supported: put the PEM in a file and name it with cert_file
                  web.yml:2:3: tls_server_config: missing required key "cert_file"
                  """),
        Broken("cipher suites", WebFixtures.tls("  cipher_suites: [TLS_AES_128_GCM_SHA256]\n"),
                  "web.yml:4:3: tls_server_config.cipher_suites: not supported by phasewatch: the TLS library's default suites are used"),
        Broken("client_auth_type in the wrong case", WebFixtures.tls("  client_auth_type: requireandverifyclientcert\n  client_ca_file: tls/ca.pem\n"),
                  #"web.yml:4:21: tls_server_config.client_auth_type: unknown client_auth_type "requireandverifyclientcert": use NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert; did you mean "RequireAndVerifyClientCert"?"#),
        Broken("client_auth_type that authenticates nobody", WebFixtures.tls("  client_auth_type: RequireAnyClientCert\n  client_ca_file: tls/ca.pem\n"),
                  "web.yml:4:21: tls_server_config.client_auth_type: RequireAnyClientCert is not supported: it accepts a client certificate nobody vouches for, which authenticates nobody; use RequireAndVerifyClientCert (or VerifyClientCertIfGiven) with client_ca_file"),
        Broken("mutual TLS without a CA", WebFixtures.tls("  client_auth_type: RequireAndVerifyClientCert\n"),
                  "web.yml:4:21: tls_server_config.client_auth_type: RequireAndVerifyClientCert needs client_ca_file: the CA certificates client certificates are checked against"),
        Broken("a CA but no client_auth_type", WebFixtures.tls("  client_ca_file: tls/ca.pem\n"),
                  "web.yml:4:19: tls_server_config.client_ca_file: client_auth_type is NoClientCert (the default), so no client is asked for a certificate; set client_auth_type: RequireAndVerifyClientCert"),
        Broken("a CA with NoClientCert", WebFixtures.tls("  client_auth_type: NoClientCert\n  client_ca_file: tls/ca.pem\n"),
                  "web.yml:5:19: tls_server_config.client_ca_file: client_auth_type is NoClientCert, so no client is asked for a certificate; set client_auth_type: RequireAndVerifyClientCert"),
        Broken("TLS 1.1", WebFixtures.tls("  min_version: TLS11\n"),
                  "web.yml:4:16: tls_server_config.min_version: TLS11 is not supported (RFC 8996 deprecates TLS 1.0 and 1.1): use TLS12 or TLS13"),
        Broken("version written as a number", WebFixtures.tls("  max_version: 1.3\n"),
                  #"web.yml:4:16: tls_server_config.max_version: unknown TLS version "1.3": use TLS12 or TLS13"#),
        Broken("max below min", WebFixtures.tls("  min_version: TLS13\n  max_version: TLS12\n"),
                  "web.yml:5:16: tls_server_config.max_version: TLS12 is lower than min_version (TLS13)"),
        // basic_auth_users.
        Broken("no users", "basic_auth_users: {}\n",
                  "web.yml:1:19: basic_auth_users: lists no users; remove basic_auth_users to turn basic authentication off"),
        Broken("users as a list", "basic_auth_users: [alice]\n",
                  "web.yml:1:19: basic_auth_users: expected a mapping, got a list"),
        Broken("a password instead of its hash", "basic_auth_users:\n  alice: hunter2\n",
                  #"web.yml:2:10: basic_auth_users.alice: not a bcrypt hash (the value is not shown, in case it is a password): expected $2y$, $2b$ or $2a$, a cost from 04 to 31, "$" and 53 characters; make one with: htpasswd -nBC 10 "" | tr -d ':\n'"#),
        Broken("a hash cut short", "basic_auth_users:\n  alice: \(WebFixtures.hash.dropLast())\n",
                  #"web.yml:2:10: basic_auth_users.alice: not a bcrypt hash (the value is not shown, in case it is a password): expected $2y$, $2b$ or $2a$, a cost from 04 to 31, "$" and 53 characters; make one with: htpasswd -nBC 10 "" | tr -d ':\n'"#),
        Broken("the buggy $2x$ variant", "basic_auth_users:\n  alice: \(WebFixtures.hash.replacingOccurrences(of: "$2y$", with: "$2x$"))\n",
                  #"web.yml:2:10: basic_auth_users.alice: not a bcrypt hash (the value is not shown, in case it is a password): expected $2y$, $2b$ or $2a$, a cost from 04 to 31, "$" and 53 characters; make one with: htpasswd -nBC 10 "" | tr -d ':\n'"#),
        Broken("cost too low", "basic_auth_users:\n  alice: \(WebFixtures.hash.replacingOccurrences(of: "$10$", with: "$03$"))\n",
                  #"web.yml:2:10: basic_auth_users.alice: bcrypt cost 3 is out of range: use 04 to 31 (10 is usual); make one with: htpasswd -nBC 10 "" | tr -d ':\n'"#),
        Broken("a user name with a colon", "basic_auth_users:\n  \"al:ice\": \(WebFixtures.hash)\n",
                  #"web.yml:2:3: basic_auth_users: invalid user name "al:ice": it must be non-empty, without ":" or line breaks"#),
        Broken("a user name with a line break", "basic_auth_users:\n  \"al\\nice\": \(WebFixtures.hash)\n",
                  #"web.yml:2:3: basic_auth_users: invalid user name "al\nice": it must be non-empty, without ":" or line breaks"#),
        Broken("an empty hash", "basic_auth_users:\n  alice:\n",
                  "web.yml:2:9: basic_auth_users.alice: expected a bcrypt hash, got an empty value"),
        Broken("the same user twice", "basic_auth_users:\n  alice: \(WebFixtures.hash)\n  alice: \(WebFixtures.hash)\n",
                  #"web.yml:3:3: duplicate key "alice" (first used on line 2)"#),
        // bearer_auth_tokens.
        Broken("no tokens", "bearer_auth_tokens:\n",
                  "web.yml:1:20: bearer_auth_tokens: lists no tokens; remove bearer_auth_tokens to turn bearer authentication off"),
        Broken("the token itself", "bearer_auth_tokens:\n  prometheus: \(WebFixtures.digest)\n",
                  #"web.yml:2:15: bearer_auth_tokens.prometheus: expected sha256: followed by the token's SHA-256 in 64 hex digits (the value is not shown, in case it is the token itself); make it with: echo "sha256:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)""#),
        Broken("a short digest", "bearer_auth_tokens:\n  prometheus: sha256:abcd\n",
                  #"web.yml:2:15: bearer_auth_tokens.prometheus: expected sha256: followed by the token's SHA-256 in 64 hex digits (the value is not shown, in case it is the token itself); make it with: echo "sha256:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)""#),
        Broken("the digest of an empty token",
                  "bearer_auth_tokens:\n  prometheus: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
                  #"web.yml:2:15: bearer_auth_tokens.prometheus: is the SHA-256 of an empty token (was $TOKEN set?); make it with: echo "sha256:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)""#),
        Broken("one token for two clients",
                  "bearer_auth_tokens:\n  a: sha256:\(WebFixtures.digest)\n  b: sha256:\(WebFixtures.digest.uppercased())\n",
                  #"web.yml:3:6: bearer_auth_tokens.b: the same token as "a": give each client its own token"#),
        Broken("a token name with a space", "bearer_auth_tokens:\n  my client: sha256:\(WebFixtures.digest)\n",
                  #"web.yml:2:3: bearer_auth_tokens: invalid token name "my client": use only letters, digits, "_", "." and "-""#),
        // Every problem of a file at once, in file order.
        Broken("several problems", "tls_server_config:\n  cert_file: tls/nope.pem\nbasic_auth_users:\n  alice: x\n",
                  """
                  web.yml:2:3: tls_server_config: missing required key "key_file"
                  web.yml:2:14: tls_server_config.cert_file: file not found: $DIR/tls/nope.pem
                  web.yml:4:10: basic_auth_users.alice: not a bcrypt hash (the value is not shown, in case it is a password): expected $2y$, $2b$ or $2a$, a cost from 04 to 31, "$" and 53 characters; make one with: htpasswd -nBC 10 "" | tr -d ':\\n'
                  """),
    ]

    @Test(arguments: rows) func brokenFileGetsItsExactErrors(_ row: Broken) {
        #expect(WebFixtures.check(row.yaml) == row.error)
    }

    /// Values that may be secrets are never echoed, whatever is wrong with them.
    @Test func errorsNeverQuoteAPasswordOrAToken() {
        let text = WebFixtures.check("basic_auth_users: {alice: hunter2-secret}\nbearer_auth_tokens: {p: tok-secret}\n")
        #expect(text.contains("not a bcrypt hash"))
        #expect(!text.contains("hunter2-secret"))
        #expect(!text.contains("tok-secret"))
    }

    /// examples/web-config.yml, with its /etc paths pointed at the fixtures.
    @Test func exampleFileIsValid() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let example = try String(contentsOf: repo.appendingPathComponent("examples/web-config.yml"), encoding: .utf8)
            .replacingOccurrences(of: "/etc/phasewatch/tls/clients-ca.pem", with: "tls/ca.pem")
            .replacingOccurrences(of: "/etc/phasewatch/tls/", with: "tls/")
        let config = try WebFixtures.parse(example)
        #expect(config.tls?.clientAuth == .requireAndVerifyClientCert)
        #expect(config.basicAuthUsers.map(\.name) == ["prometheus"])
        #expect(config.bearerTokens.map(\.name) == ["deploy-bot"])
    }

    @Test func byteOrderMarkIsIgnored() throws {
        let path = "\(WebFixtures.dir)/bom-\(UUID().uuidString).yml"
        let yaml = "basic_auth_users:\n  prometheus: \(WebFixtures.hash)\n"
        try (Data([0xEF, 0xBB, 0xBF]) + Data(yaml.utf8)).write(to: URL(fileURLWithPath: path))
        #expect(try WebConfigLoader.load(path: path).basicAuthUsers.map(\.name) == ["prometheus"])
    }

    @Test func loadReportsFilesItCannotRead() throws {
        let missing = "\(WebFixtures.dir)/missing.yml"
        #expect(throws: ConfigErrors.self) { try WebConfigLoader.load(path: missing) }
        do {
            _ = try WebConfigLoader.load(path: missing)
        } catch {
            #expect(error.description == "\(missing): web config file not found: \(missing)")
        }
        do {
            _ = try WebConfigLoader.load(path: "\(WebFixtures.dir)/tls")
        } catch {
            #expect(error.description == "\(WebFixtures.dir)/tls: is a directory, not a web config file: \(WebFixtures.dir)/tls")
        }
        // A file loaded by path resolves relative TLS paths against its own directory.
        let path = "\(WebFixtures.dir)/web.yml"
        try WebFixtures.tls("").write(toFile: path, atomically: true, encoding: .utf8)
        let config = try WebConfigLoader.load(path: path)
        #expect(config.file == path)
        #expect(config.tls?.certFile == "\(WebFixtures.dir)/tls/server.pem")
    }

    /// The web config is read by the same YAMLDocument as the config: a mapping key that aliases
    /// blow up (the "billion laughs") is refused before Yams hashes it, at the key's place.
    @Test func aliasBombAsAKeyIsRefusedLikeInTheConfig() {
        let bomb = (["a0: &a0 [" + Array(repeating: "x", count: 10).joined(separator: ", ") + "]"]
            + (1...9).map { "a\($0): &a\($0) [" + Array(repeating: "*a\($0 - 1)", count: 10).joined(separator: ", ") + "]" }
            + ["basic_auth_users: {? *a9 : x}"]).joined(separator: "\n") + "\n"
        let started = ContinuousClock.now
        #expect(WebFixtures.check(bomb)
            == "web.yml:11:22: a mapping key that aliases expand to more than 1000 values; keys must be plain names")
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    /// An ordinary alias is YAML, and the values it stands for are checked as if written out.
    @Test func aliasesAreReadLikeInTheConfig() throws {
        let config = try WebFixtures.parse("""
            basic_auth_users:
              prometheus: &hash \(WebFixtures.hash)
              grafana: *hash
            """)
        #expect(config.basicAuthUsers.map(\.name) == ["prometheus", "grafana"])
        #expect(WebFixtures.check("basic_auth_users:\n  a: &h not-a-hash\n  b: *h\n").split(separator: "\n").count == 2)
    }

    /// Errors quote no URL password, as in the config (YAMLDocument.reported).
    @Test func errorsRedactURLPasswords() {
        let errors = WebFixtures.check("basic_auth_users:\n  \"http://u:hunter2@x/\": \(WebFixtures.hash)\nhttp://me:hunter2@x/: 1\n")
        #expect(errors.contains("unknown key"), "\(errors)")
        #expect(!errors.contains("hunter2"), "\(errors)")
    }
}
