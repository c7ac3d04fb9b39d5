import Foundation

/// How a request uses a TLS `server_name` other than the URL's host with libcurl
/// (docs/config.md#tls): curl sends SNI and checks the certificate for the URL's host, so the
/// URL names `server_name` and a CONNECT_TO entry sends the connection to the real host; the
/// Host header stays the real one.
public struct ServerNameOverride: Sendable, Equatable {
    /// The URL with `server_name` as its host.
    public let url: String
    /// curl's CONNECT_TO entry `server_name:port:host:port`.
    public let connectTo: String
    /// The original `host[:port]`, for the Host header.
    public let originalAuthority: String

    /// Nil when `url` has no host to replace.
    public init?(url: String, serverName: String) {
        guard var parts = URLComponents(string: url), let host = parts.host else { return nil }
        let port = parts.port ?? (parts.scheme?.lowercased() == "https" ? 443 : 80)
        let bracketed = host.contains(Character(":")) && !host.hasPrefix("[") ? "[\(host)]" : host
        parts.host = serverName
        guard let rewritten = parts.string else { return nil }
        self.url = rewritten
        connectTo = "\(serverName):\(port):\(bracketed):\(port)"
        originalAuthority = parts.port.map { "\(bracketed):\($0)" } ?? bracketed
    }
}
