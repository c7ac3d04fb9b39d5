/// The phases of a probe, in order, plus `assert` for a response that arrived but failed `expect`.
public enum Phase: String, Codable, Sendable, CaseIterable, Comparable {
    case resolve, connect, tls, processing, transfer, assert

    /// The phases a request goes through (everything but `assert`).
    public static let network: [Phase] = [.resolve, .connect, .tls, .processing, .transfer]

    /// Position in the order above.
    public var rank: Int {
        switch self {
        case .resolve: 0
        case .connect: 1
        case .tls: 2
        case .processing: 3
        case .transfer: 4
        case .assert: 5
        }
    }

    public static func < (lhs: Phase, rhs: Phase) -> Bool {
        lhs.rank < rhs.rank
    }

    /// What the phase is, in words for people (waterfalls, the status page).
    public var humanName: String {
        switch self {
        case .resolve: "DNS lookup"
        case .connect: "TCP connect"
        case .tls: "TLS handshake"
        case .processing: "server processing (waiting for the first byte)"
        case .transfer: "content transfer"
        case .assert: "the response checks (expect)"
        }
    }
}

/// Stable failure codes (docs/probing.md, "Failure reasons"). New codes may be added; existing ones never change meaning.
public enum FailureReason: String, Codable, Sendable, CaseIterable {
    case dnsNXDomain = "dns_nxdomain"
    case dnsError = "dns_error"
    case dnsTimeout = "dns_timeout"
    case connectRefused = "connect_refused"
    case connectTimeout = "connect_timeout"
    case connectError = "connect_error"
    case tlsHandshakeError = "tls_handshake_error"
    case tlsTimeout = "tls_timeout"
    case certExpired = "cert_expired"
    case certNotYetValid = "cert_not_yet_valid"
    case certUntrusted = "cert_untrusted"
    case certHostnameMismatch = "cert_hostname_mismatch"
    case firstByteTimeout = "first_byte_timeout"
    case transferTimeout = "transfer_timeout"
    case totalTimeout = "total_timeout"
    case connectionReset = "connection_reset"
    case emptyReply = "empty_reply"
    case httpProtocolError = "http_protocol_error"
    case tooManyRedirects = "too_many_redirects"
    case status
    case bodyMatches = "body_matches"
    case bodyNotMatches = "body_not_matches"
    case header
    case notTLS = "not_tls"
    case certExpiring = "cert_expiring"
    case tooSlow = "too_slow"
    case bodyTooLarge = "body_too_large"
    case redirectRefused = "redirect_refused"
    case responseHeadersTooLarge = "response_headers_too_large"
    case clientCertificateRejected = "client_certificate_rejected"
    case regexTimeout = "regex_timeout"
    /// The agent itself could not run the probe (out of file descriptors or buffers): excluded
    /// from SLOs and target state, counted in `phasewatch_probe_agent_errors_total`.
    case agentError = "agent_error"

    /// Whether another attempt may succeed: network trouble and timeouts, not a wrong answer.
    /// (5xx and 429 statuses are retryable too; that depends on the status: `Prober.isRetryable`.)
    public var isRetryable: Bool {
        switch self {
        case .dnsTimeout, .dnsError, .connectRefused, .connectTimeout, .connectError, .tlsTimeout,
            .firstByteTimeout, .transferTimeout, .totalTimeout, .connectionReset, .emptyReply:
            true
        default:
            false
        }
    }
}
