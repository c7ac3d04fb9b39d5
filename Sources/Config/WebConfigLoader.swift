import Foundation
import Yams

/// Reads a web config file (docs/web-config.md) into a `WebConfig`. Like `ConfigLoader`, it
/// checks the whole file and reports every problem with file, line, column and key; unknown
/// keys are errors. Values that may be secrets (a password pasted where its hash belongs, a
/// token where its digest belongs) are never quoted in an error.
public enum WebConfigLoader {
    public static func load(path: String) throws(ConfigErrors) -> WebConfig {
        let document = try YAMLDocument.read(path: path, kind: "web config file")
        return try parse(yaml: document.yaml, file: path, baseDirectory: document.baseDirectory)
    }

    /// Same, from text; `file` names it in errors, `baseDirectory` resolves relative paths.
    public static func parse(yaml: String, file: String, baseDirectory: String) throws(ConfigErrors) -> WebConfig {
        try YAMLDocument.decode(yaml: yaml, file: file) { reader, root in
            var config = WebConfig(file: file)
            if let root {
                reader.webConfig(root, into: &config, baseDirectory: baseDirectory)
            } else {
                // Also a file of only comments: most likely the wrong file, and serving without the
                // protection the operator asked for would be the worst way to find out.
                reader.fail(.root, line: 1, column: 1, "the file is empty; \(WebConfigKeys.needsOne)")
            }
            return config
        }
    }
}

enum WebConfigKeys {
    static let top = ["tls_server_config", "basic_auth_users", "bearer_auth_tokens"]
    static let tls = ["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version"]
    static let needsOne = "a web config needs tls_server_config, basic_auth_users or bearer_auth_tokens"

    /// exporter-toolkit keys phasewatch does not implement, and what to do instead. Named
    /// specifically so a file copied from another exporter fails with a reason, not "unknown key".
    static let unsupportedTop = [
        "http_server_config": "not supported by phasewatch (an exporter-toolkit key): HTTP/2 and extra response headers cannot be configured",
        "rate_limit": "not supported by phasewatch (an exporter-toolkit key)",
    ]
    static let unsupportedTLS = [
        "cert": "an inline certificate is not supported: put the PEM in a file and name it with cert_file",
        "key": "an inline private key is not supported: put the PEM in a file and name it with key_file",
        "client_ca": "inline CA certificates are not supported: put the PEM in a file and name it with client_ca_file",
        "client_allowed_sans": "not supported by phasewatch: every certificate signed by client_ca_file is accepted",
        "cipher_suites": "not supported by phasewatch: the TLS library's default suites are used",
        "prefer_server_cipher_suites": "not supported by phasewatch: the TLS library's default suites are used",
        "curve_preferences": "not supported by phasewatch: the TLS library's default curves are used",
    ]
}

extension YAMLReader {
    mutating func webConfig(_ root: Located, into config: inout WebConfig, baseDirectory: String) {
        guard case .mapping = root.node else {
            fail(root, "the top level must be a mapping with tls_server_config, basic_auth_users or bearer_auth_tokens, got \(root.shown)")
            return
        }
        guard let top = fields(root, supported: WebConfigKeys.top, unsupported: WebConfigKeys.unsupportedTop) else { return }
        if let value = top["tls_server_config"] {
            if value.isNull {
                fail(value, "is empty: TLS needs cert_file and key_file (remove the key to serve plain HTTP)")
            } else if let tls = fields(value, supported: WebConfigKeys.tls, unsupported: WebConfigKeys.unsupportedTLS) {
                config.tls = tlsServer(tls, baseDirectory: baseDirectory, places: &config.places)
            }
        }
        if let value = top["basic_auth_users"] {
            config.basicAuthUsers = basicAuthUsers(value)
        }
        if let value = top["bearer_auth_tokens"] {
            config.bearerTokens = bearerTokens(value)
        }
        if errors.isEmpty, top["tls_server_config"] == nil, top["basic_auth_users"] == nil, top["bearer_auth_tokens"] == nil {
            fail(root, "configures nothing; \(WebConfigKeys.needsOne)")
        }
    }

    /// `fields(_:known:)` that names exporter-toolkit's keys phasewatch leaves out, at the key.
    private mutating func fields(_ value: Located, supported: [String], unsupported: [String: String]) -> Fields? {
        if case .mapping(let mapping) = value.node {
            for keyNode in mapping.keys {
                if case .scalar(let scalar) = keyNode, let reason = unsupported[scalar.string] {
                    fail(Located(node: keyNode, path: value.path.key(scalar.string)), reason)
                }
            }
        }
        return fields(value, known: supported + unsupported.keys.sorted())
    }

    // MARK: TLS

    private mutating func tlsServer(_ fields: Fields, baseDirectory: String, places: inout [String: FilePlace]) -> TLSServerConfig? {
        func file(_ key: String, _ kind: PEMKind) -> String? {
            guard let value = fields[key], let path = nonEmptyText(value) else { return nil }
            places[value.path.description] = FilePlace(line: value.line, column: value.column)
            let absolute = FileCheck.resolve(path, against: baseDirectory)
            if let problem = FileCheck.problem(absolute) ?? kind.problem(absolute) {
                fail(value, problem)
                return nil
            }
            return absolute
        }
        _ = require(fields, "cert_file")
        _ = require(fields, "key_file")
        let cert = file("cert_file", .certificate)
        let key = file("key_file", .privateKey)
        var clientAuth: ClientAuthType?
        if let value = fields["client_auth_type"], let text = text(value) {
            clientAuth = clientAuthType(text, at: value)
        }
        let clientCA = file("client_ca_file", .certificate)
        let minVersion = fields["min_version"].flatMap { tlsVersion($0) }
        let maxVersion = fields["max_version"].flatMap { tlsVersion($0) }

        // Mutual TLS half-configured is the dangerous kind of mistake: the operator believes
        // clients are checked while anyone can connect. Both halves or neither.
        if let clientAuth, clientAuth.verifies, fields["client_ca_file"] == nil, let value = fields["client_auth_type"] {
            fail(value, "\(clientAuth.rawValue) needs client_ca_file: the CA certificates client certificates are checked against")
        }
        // An invalid client_auth_type was reported already; only a valid or absent one is compared.
        let typeValid = fields["client_auth_type"] == nil || clientAuth != nil
        if let value = fields["client_ca_file"], typeValid, (clientAuth ?? .noClientCert) == .noClientCert {
            let given = fields["client_auth_type"] == nil ? " (the default)" : ""
            fail(value, "client_auth_type is NoClientCert\(given), so no client is asked for a certificate; set client_auth_type: RequireAndVerifyClientCert")
        }
        if let minVersion, let maxVersion, maxVersion < minVersion, let value = fields["max_version"] {
            fail(value, "\(maxVersion.rawValue) is lower than min_version (\(minVersion.rawValue))")
        }
        guard let cert, let key else { return nil }
        var tls = TLSServerConfig(certFile: cert, keyFile: key)
        tls.clientAuth = clientAuth ?? .noClientCert
        tls.clientCAFile = clientCA
        tls.minVersion = minVersion ?? tls.minVersion
        tls.maxVersion = maxVersion ?? tls.maxVersion
        return tls
    }

    private mutating func clientAuthType(_ text: String, at value: Located) -> ClientAuthType? {
        if let type = ClientAuthType(rawValue: text) { return type }
        let accepted = ClientAuthType.allCases.map(\.rawValue)
        let message: String
        switch text {
        case "RequestClientCert", "RequireAnyClientCert":
            message = "\(text) is not supported: it accepts a client certificate nobody vouches for, "
                + "which authenticates nobody; use RequireAndVerifyClientCert (or VerifyClientCertIfGiven) with client_ca_file"
        default:
            var unknown = "unknown client_auth_type \"\(text)\": use \(accepted.joined(separator: ", "))"
            if let close = accepted.first(where: { $0.lowercased() == text.lowercased() }) {
                unknown += "; did you mean \"\(close)\"?"
            }
            message = unknown
        }
        fail(value, message)
        return nil
    }

    private mutating func tlsVersion(_ value: Located) -> TLSVersion? {
        guard let text = text(value) else { return nil }
        if let version = TLSVersion(rawValue: text) { return version }
        if text == "TLS10" || text == "TLS11" {
            fail(value, "\(text) is not supported (RFC 8996 deprecates TLS 1.0 and 1.1): use TLS12 or TLS13")
        } else {
            fail(value, "unknown TLS version \"\(text)\": use TLS12 or TLS13")
        }
        return nil
    }

    // MARK: Credentials

    private mutating func basicAuthUsers(_ value: Located) -> [BasicAuthUser] {
        guard let entries = entries(value) else { return [] }
        if entries.isEmpty {
            fail(value, "lists no users; remove basic_auth_users to turn basic authentication off")
        }
        var users: [BasicAuthUser] = []
        for entry in entries {
            // RFC 7617: the user-id ends at the first colon, so a name with one can never log in.
            if entry.key.isEmpty || entry.key.contains(":") || entry.key.contains(where: \.isNewline) {
                // Reported at the section, with the name escaped: a line break in it must not
                // split the one-line error.
                fail(Located(node: entry.keyAt.node, path: value.path),
                     "invalid user name \(String(reflecting: entry.key)): it must be non-empty, without \":\" or line breaks")
                continue
            }
            guard let hash = text(entry.value, expected: "a bcrypt hash") else { continue }
            if let problem = BcryptHash.problem(hash) {
                fail(entry.value, problem)
                continue
            }
            users.append(BasicAuthUser(name: entry.key, hash: hash))
        }
        return users
    }

    private mutating func bearerTokens(_ value: Located) -> [BearerToken] {
        guard let entries = entries(value) else { return [] }
        if entries.isEmpty {
            fail(value, "lists no tokens; remove bearer_auth_tokens to turn bearer authentication off")
        }
        var tokens: [BearerToken] = []
        var names: [[UInt8]: String] = [:]
        for entry in entries {
            guard Syntax.isName(entry.key) else {
                fail(Located(node: entry.keyAt.node, path: value.path),
                     "invalid token name \(String(reflecting: entry.key)): \(Syntax.nameRule)")
                continue
            }
            guard let text = text(entry.value, expected: "sha256: and the token's SHA-256 digest") else { continue }
            switch TokenDigest.parse(text) {
            case .failure(let problem):
                fail(entry.value, problem.message)
            case .success(let digest):
                if let other = names[digest] {
                    fail(entry.value, "the same token as \"\(other)\": give each client its own token")
                    continue
                }
                names[digest] = entry.key
                tokens.append(BearerToken(name: entry.key, sha256: digest))
            }
        }
        return tokens
    }
}

/// The PEM a TLS file must hold. Only the markers are checked here (no TLS library in this
/// module): the agent parses the files for real before it listens, with errors located the
/// same way. Nothing from the file is ever quoted: a key file's content is a secret.
enum PEMKind {
    case certificate
    case privateKey

    func problem(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return "cannot read the file: \(path)" }
        let text = String(decoding: data, as: UTF8.self)
        switch self {
        case .certificate:
            guard text.contains("-----BEGIN CERTIFICATE-----") else {
                return "no PEM certificate (-----BEGIN CERTIFICATE-----) in \(path)"
            }
        case .privateKey:
            if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || text.contains("Proc-Type: 4,ENCRYPTED") {
                return "encrypted private keys are not supported (the agent cannot ask for a passphrase): \(path)"
            }
            guard text.range(of: #"-----BEGIN (RSA |EC )?PRIVATE KEY-----"#, options: .regularExpression) != nil else {
                return "no PEM private key (-----BEGIN PRIVATE KEY-----) in \(path)"
            }
        }
        return nil
    }
}

/// The shape of a bcrypt hash as Go's `x/crypto/bcrypt` (exporter-toolkit) and htpasswd write it.
enum BcryptHash {
    static let howTo = #"make one with: htpasswd -nBC 10 "" | tr -d ':\n'"#

    /// Why `text` is not a usable bcrypt hash, or nil. The value is never quoted: a
    /// password pasted by mistake must not end up in a terminal or a log.
    static func problem(_ text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".unicodeScalars)
        let notHash = "not a bcrypt hash (the value is not shown, in case it is a password): "
            + "expected $2y$, $2b$ or $2a$, a cost from 04 to 31, \"$\" and 53 characters; \(howTo)"
        guard scalars.count == 60, text.hasPrefix("$2"), ["a", "b", "y"].contains(scalars[2]), scalars[3] == "$",
            scalars[6] == "$", let cost = Int(String(String.UnicodeScalarView(scalars[4...5]))),
            scalars[4...5].allSatisfy({ ("0"..."9").contains($0) }), scalars[7...].allSatisfy(alphabet.contains)
        else { return notHash }
        guard (4...31).contains(cost) else {
            return "bcrypt cost \(cost) is out of range: use 04 to 31 (10 is usual); \(howTo)"
        }
        return nil
    }
}

/// `sha256:` followed by 64 hex digits.
enum TokenDigest {
    struct Problem: Error {
        let message: String
    }

    static let howTo = #"make it with: echo "sha256:$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)""#
    /// The SHA-256 of nothing: what `printf %s "$TOKEN" | sha256sum` prints when $TOKEN is unset.
    static let emptyDigest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func parse(_ text: String) -> Result<[UInt8], Problem> {
        let hex = Array(text.dropFirst("sha256:".count).lowercased().utf8)
        guard text.hasPrefix("sha256:"), hex.count == 64, hex.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            return .failure(Problem(message: "expected sha256: followed by the token's SHA-256 in 64 hex digits "
                + "(the value is not shown, in case it is the token itself); \(howTo)"))
        }
        if String(decoding: hex, as: UTF8.self) == emptyDigest {
            return .failure(Problem(message: "is the SHA-256 of an empty token (was $TOKEN set?); \(howTo)"))
        }
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : c - 87 }
        return .success(stride(from: 0, to: 64, by: 2).map { nibble(hex[$0]) << 4 | nibble(hex[$0 + 1]) })
    }
}
