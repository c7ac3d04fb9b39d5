import Foundation
import PhaseWatchCore

/// One attempt of a target: the `Target` as configured, which `Transfer` hands to curl option by
/// option (so a new per-target option is read where it is set), and the few things decided per
/// attempt. Sendable: it crosses from the caller's task to the loop thread.
struct TransferRequest: Sendable {
    var target: Target
    /// The URL curl requests: the target's, or the one naming `tls.server_name` (`RequestBuilder`).
    var url: String
    /// "Name: value" lines: the target's headers, `traceparent`, and `Host` when the URL was rewritten.
    var headers: [String]
    /// curl CONNECT_TO entries ("host:port:connect-host:connect-port").
    var connectTo: [String] = []
    var ipResolve: IPResolve
    /// Collect a `TransferTrace` (request and response headers, per-hop events): only for
    /// probes someone is watching, never for the agent's scheduled ones.
    var trace = false
    /// The target's kept connection and how this request uses it; nil for a fresh probe.
    var pool: PoolUse?

    enum IPResolve: Sendable { case any, v4, v6 }
}

/// Timestamps from curl, microseconds, summed over redirects as curl keeps them.
struct CurlTimings: Sendable, Equatable {
    var namelookup: Int64 = 0
    var connect: Int64 = 0
    var appconnect: Int64 = 0
    var pretransfer: Int64 = 0
    var starttransfer: Int64 = 0
    var total: Int64 = 0
}

/// What a TLS handshake showed, copied out of the C capture.
struct HandshakeFacts: Sendable, Equatable {
    var started = false
    var completed = false
    var version = ""
    var cipher = ""
    var alpn = ""
    var leafNotBefore: Date?
    var leafNotAfter: Date?
    var chainNotAfter: Date?
    var subject = ""
    var issuer = ""
    var sans: [String] = []
    /// OpenSSL's X509_V_ERR_* of the first failed check, 0 when none.
    var verifyError: Int32 = 0
    /// The description of the first fatal alert the server sent, if any.
    var peerAlert: Int32?
    /// Whether the handshake resumed an earlier TLS session.
    var resumed = false
}

/// How far one attempt got and what came back. Built on the loop thread when the transfer ends.
struct TransferOutcome: Sendable {
    /// CURLcode; 0 is success.
    var curlCode: Int32
    var curlMessage: String
    /// Set when phasewatch itself stopped the transfer (a phase timeout, the body limit).
    var abort: AbortReason?
    /// The phase in progress when the transfer ended (for failures: the failing phase).
    var phaseAtEnd: Phase
    /// Whether the transfer ended while a response's header section was being read.
    var inResponseHeaders: Bool
    /// Whether curl had followed a redirect: a refused URL is then the server's Location.
    var followedRedirect: Bool
    /// Why the redirect policy refused an address of a later hop, if it did.
    var redirectRefusal: String?
    var usedTLS: Bool
    var timings: CurlTimings
    var status: Int
    var httpVersion: Int
    var redirects: Int
    var contentLength: Int?
    var bodyBytes: Int
    var body: Data
    /// Headers of the final response, in order, names as sent.
    var headers: [(name: String, value: String)]
    var primaryIP: String
    var osErrno: Int32
    var newConnections: Int
    /// Whether the request went out (curl's pre-request callback ran).
    var requestSent = false
    var handshake: HandshakeFacts
    /// What a pooled transfer found of its target's kept connection.
    var pool: PoolFacts? = nil
    /// Only when the request asked for it.
    var trace: TransferTrace? = nil
}

enum AbortReason: Sendable, Equatable {
    case phaseTimeout(Phase, FailureReason, limit: Duration)
    case bodyTooLarge(limit: Int)
    case cancelled
}
