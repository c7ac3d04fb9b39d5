/// `phasewatch run --web.config.file=FILE`: how the agent's own HTTP server is secured. The
/// format is Prometheus exporter-toolkit's (`tls_server_config`, `basic_auth_users`), so a file
/// written for node_exporter works here, plus `bearer_auth_tokens`, which exporter-toolkit has
/// not (docs/web-config.md). Loaded once at startup; nothing in it reloads.
///
/// The file holds no secret in the clear: passwords are bcrypt hashes and tokens SHA-256
/// digests. Even so, the types below never print those values, so a config that ends up in a
/// log line or an error message shows none of them.
public struct WebConfig: Sendable, Equatable {
    /// The file as the caller named it, for error messages.
    public var file: String
    /// TLS on the listener; nil serves plain HTTP.
    public var tls: TLSServerConfig?
    /// Users allowed in with HTTP basic authentication, in file order.
    public var basicAuthUsers: [BasicAuthUser] = []
    /// Tokens allowed in with `Authorization: Bearer`, in file order.
    public var bearerTokens: [BearerToken] = []
    /// Where values sit in the file, by key (`tls_server_config.cert_file`), so checks made
    /// after loading (the TLS library parsing a certificate) report errors located like the
    /// loader's own.
    public var places: [String: FilePlace] = [:]

    public init(file: String) {
        self.file = file
    }

    /// Whether requests must carry credentials (a client certificate alone is TLS's business).
    public var requiresAuthentication: Bool { !basicAuthUsers.isEmpty || !bearerTokens.isEmpty }

    /// A located error about `key`: at the value's place when it was recorded, else the file.
    public func error(_ key: String, _ message: String) -> ConfigError {
        let place = places[key]
        return ConfigError(file: file, line: place?.line ?? 0, column: place?.column ?? 0, key: key, message: message)
    }
}

/// A 1-based line and column in a file, as in `ConfigError`.
public struct FilePlace: Sendable, Equatable {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// `tls_server_config`. File paths are absolute (relative ones are resolved against the web
/// config file's directory, as exporter-toolkit does).
public struct TLSServerConfig: Sendable, Equatable {
    public var certFile: String
    public var keyFile: String
    public var clientAuth: ClientAuthType = .noClientCert
    public var clientCAFile: String?
    public var minVersion: TLSVersion = .tls12
    public var maxVersion: TLSVersion = .tls13

    public init(certFile: String, keyFile: String) {
        self.certFile = certFile
        self.keyFile = keyFile
    }
}

/// `client_auth_type`, named as Go's `crypto/tls` names them. Go's `RequestClientCert` and
/// `RequireAnyClientCert` are left out on purpose: they accept a certificate nobody vouches for,
/// which authenticates nobody (the loader says so when a file asks for them).
public enum ClientAuthType: String, Sendable, Equatable, CaseIterable {
    case noClientCert = "NoClientCert"
    /// A client may connect without a certificate; one it presents must verify.
    case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
    /// Mutual TLS: every client presents a certificate signed by `client_ca_file`.
    case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

    /// Whether clients are checked against `client_ca_file`.
    public var verifies: Bool { self != .noClientCert }
}

/// `min_version` / `max_version`. TLS 1.0 and 1.1 are refused (RFC 8996 deprecates them).
public enum TLSVersion: String, Sendable, Equatable, Comparable, CaseIterable {
    case tls12 = "TLS12"
    case tls13 = "TLS13"

    public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool {
        lhs == .tls12 && rhs == .tls13
    }
}

/// One `basic_auth_users` entry: a user name and the bcrypt hash of its password.
public struct BasicAuthUser: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    /// `$2y$`, `$2b$` or `$2a$`, a two-digit cost, then 53 characters of salt and hash.
    public let hash: String

    public init(name: String, hash: String) {
        self.name = name
        self.hash = hash
    }

    public var description: String { "\(name): <bcrypt hash>" }
}

/// One `bearer_auth_tokens` entry: a name for the client (it never leaves the agent) and the
/// SHA-256 digest of the token it presents.
public struct BearerToken: Sendable, Equatable, CustomStringConvertible {
    public let name: String
    /// 32 bytes.
    public let sha256: [UInt8]

    public init(name: String, sha256: [UInt8]) {
        self.name = name
        self.sha256 = sha256
    }

    public var description: String { "\(name): <sha256 digest>" }
}
