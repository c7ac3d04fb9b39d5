import Config
import Hummingbird
import HummingbirdCore
import HummingbirdTLS

/// What `--web.config.file` turns on, ready for `buildApplication`: the TLS configuration
/// checked (certificates and key parsed, the pair accepted by the TLS library) and the
/// credentials indexed. Made before anything listens, so every problem stops startup.
public struct WebSecurity: Sendable {
    /// HTTP/1.1 within the connection limits, over TLS when the web config says so.
    let server: HTTPServerBuilder
    let authenticator: Authenticator?
    /// `http` or `https`, for log lines and the built-in example.
    public let scheme: String
    /// Whether requests need credentials.
    public var requiresAuthentication: Bool { authenticator != nil }
    /// What is on, without a secret or a user name: `tls=on client_auth=... basic_auth_users=2`.
    public let summary: String

    /// Plain HTTP, no authentication: the agent without `--web.config.file`.
    public static let none = plain(.default)

    /// Plain HTTP, no authentication, within `limits`.
    public static func plain(_ limits: ConnectionLimits) -> WebSecurity {
        WebSecurity(server: .agentHTTP1(limits), authenticator: nil, scheme: "http", summary: "tls=off auth=off")
    }

    private init(server: HTTPServerBuilder, authenticator: Authenticator?, scheme: String, summary: String) {
        self.server = server
        self.authenticator = authenticator
        self.scheme = scheme
        self.summary = summary
    }

    public init(_ config: WebConfig, limits: ConnectionLimits = .default) throws(ConfigErrors) {
        var parts: [String] = []
        if let tls = config.tls {
            let configuration = try TLSSetup.configuration(tls, in: config)
            do {
                server = try .tls(.agentHTTP1(limits), tlsConfiguration: configuration)
            } catch {
                throw ConfigErrors(errors: [config.error("tls_server_config", "cannot set up TLS: \(error)")])
            }
            scheme = "https"
            parts += ["tls=on", "min_version=\(tls.minVersion.rawValue)", "client_auth=\(tls.clientAuth.rawValue)"]
        } else {
            server = .agentHTTP1(limits)
            scheme = "http"
            parts.append("tls=off")
        }
        if config.requiresAuthentication {
            authenticator = Authenticator(users: config.basicAuthUsers, tokens: config.bearerTokens)
            parts += ["basic_auth_users=\(config.basicAuthUsers.count)", "bearer_auth_tokens=\(config.bearerTokens.count)"]
        } else {
            authenticator = nil
            parts.append("auth=off")
        }
        summary = parts.joined(separator: " ")
    }
}
