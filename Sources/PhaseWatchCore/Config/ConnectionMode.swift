/// How a target's probes use connections (docs/probing.md#connections).
public enum ConnectionMode: String, Sendable, Equatable, CaseIterable {
    /// Every probe on a new connection, closed after it: a first-time user.
    case fresh
    /// The target keeps one connection between its probes, as a client's pool would.
    case reuse
    /// Each run: a probe on a new connection, then a second request on that same connection.
    case both

    /// The kinds of result a run of this mode makes, in the order it makes them.
    public var kinds: [ConnectionKind] {
        switch self {
        case .fresh: [.fresh]
        case .reuse: [.reused]
        case .both: [.fresh, .reused]
        }
    }
}

extension Target {
    /// Whether the target's probes keep something between them: a connection, or a TLS session
    /// to resume (docs/probing.md#connections).
    public var keepsConnectionState: Bool {
        connection != .fresh || tls.resume
    }
}

/// Which request of a run a result is: one made on a new connection by design, or one meant to
/// go on a kept connection (`connection_reused` then says whether it could).
public enum ConnectionKind: String, Codable, Sendable, Equatable, CaseIterable {
    case fresh
    case reused
}

/// Why a probe meant for a kept connection had to open a new one, as far as the probe can tell
/// (docs/probing.md#connections). Absent when it cannot tell, or when there was none yet.
public enum ConnectionClosedReason: String, Codable, Sendable, Equatable, CaseIterable {
    /// The server closed the kept connection while it was idle: its keep-alive timeout, or an
    /// HTTP/2 GOAWAY (curl found the socket closed when it looked for a connection to reuse).
    case idleClosed = "idle_closed"
    /// The previous response asked to close it (`Connection: close`), and curl did.
    case connectionClose = "connection_close"
    /// The previous probe failed, and curl dropped its connection.
    case previousFailed = "previous_failed"
}
