import CCurl
import Foundation
import PhaseWatchCore

/// What `phasewatch probe -v` and `POST /api/v1/targets/{name}/probe` show beside the result:
/// each attempt with its hops (request and response headers, secrets redacted), TLS facts and
/// every expectation's verdict. Collected only for a probe that asks (`Prober.probeWithDebug`).
public struct ProbeDebug: Sendable, Encodable {
    public var attempts: [Attempt]

    public struct Attempt: Sendable, Encodable {
        public var attempt: Int
        public var traceparent: String
        public var success: Bool
        public var failure: Failure?
        /// Seconds, curl's total for this attempt (the result's `duration` for the last one).
        public var duration: Double
        public var hops: [Hop]
        public var tls: TLS?
        /// Every `expect` check, in order; empty when no response arrived.
        public var expectations: [ExpectationVerdict]
        /// Why the expectations were not checked (the attempt failed before a response).
        public var expectationsSkipped: String?

        enum CodingKeys: String, CodingKey {
            case attempt, traceparent, success, failure, duration, hops, tls, expectations
            case expectationsSkipped = "expectations_skipped"
        }
    }

    /// One request and its response: the target's URL, then each redirect followed.
    public struct Hop: Sendable, Encodable {
        /// User info masked.
        public var url: String
        public var ip: String?
        /// The request line as curl sent it ("GET /path HTTP/1.1"); absent when none went out.
        public var request: String?
        public var requestHeaders: [TraceHeader]
        public var status: Int?
        /// The status line as received ("HTTP/1.1 302 Found").
        public var statusLine: String?
        /// The `Location` of a redirect, user info masked.
        public var location: String?
        public var responseHeaders: [TraceHeader]
        /// Seconds from the attempt's start to this hop's start.
        public var start: Double
        /// This hop's phases on phasewatch's own clock (see `TransferTrace`); a complete status
        /// line stands for the first byte. They come close to, not exactly to, curl's.
        public var phases: Phases

        enum CodingKeys: String, CodingKey {
            case url, ip, request, status, location, start, phases
            case requestHeaders = "request_headers"
            case statusLine = "status_line"
            case responseHeaders = "response_headers"
        }
    }

    /// The last handshake of the attempt and how it was set up.
    public struct TLS: Sendable, Encodable {
        /// The name sent as SNI and verified (`server_name`, else the URL's host).
        public var serverName: String
        /// `ca_file`, or "system".
        public var caFile: String
        public var clientCertificate: String?
        public var insecureSkipVerify: Bool
        public var handshakeCompleted: Bool
        /// "ok", or OpenSSL's words for the first failed check.
        public var verify: String
        public var version: String?
        public var cipher: String?
        public var alpn: String?
        public var subject: String?
        public var issuer: String?
        public var sans: [String]
        public var certNotBefore: Date?
        public var certNotAfter: Date?
        public var chainExpiry: Date?

        enum CodingKeys: String, CodingKey {
            case verify, version, cipher, alpn, subject, issuer, sans
            case serverName = "server_name"
            case caFile = "ca_file"
            case clientCertificate = "client_certificate"
            case insecureSkipVerify = "insecure_skip_verify"
            case handshakeCompleted = "handshake_completed"
            case certNotBefore = "cert_not_before"
            case certNotAfter = "cert_not_after"
            case chainExpiry = "chain_expiry"
        }
    }
}

/// Header values that must not be shown: credentials sent and session cookies received.
public enum HeaderRedaction {
    public static let mask = "<redacted>"

    /// Whether a header of this name carries a secret: `Authorization`, `Proxy-Authorization`,
    /// `Cookie`, `Set-Cookie`, and any name that says token, secret, password, key, session,
    /// signature or credential (`X-Api-Key`, `X-Auth-Token`). A guess by name: over-redacting
    /// costs a debugging session a value, under-redacting leaks it.
    public static func isSecret(_ name: String) -> Bool {
        let name = name.lowercased()
        if name.hasSuffix("authorization") || name.hasSuffix("cookie") { return true }
        let words = ["token", "secret", "password", "passwd", "apikey", "api-key", "api_key", "session", "signature", "credential"]
        if words.contains(where: name.contains) { return true }
        return name == "key" || name.hasSuffix("-key") || name.hasSuffix("_key")
    }

    public static func redacted(_ header: TraceHeader) -> TraceHeader {
        isSecret(header.name) ? TraceHeader(name: header.name, value: mask) : header
    }
}

/// One attempt's outcome and result → what the debug view shows of it.
enum DebugBuilder {
    static func attempt(
        _ number: Int, target: Target, outcome o: TransferOutcome, result: ProbeResult, traceparent: String, now: Date
    ) -> ProbeDebug.Attempt {
        let failedBeforeResponse = result.failure.map { $0.phase != .assert } ?? false
        let expectations = failedBeforeResponse ? [] : Assertions.verdicts(o, target.expect, duration: result.duration, now: now)
        // The config treats every header value as a secret (docs/config.md), so the values it
        // sets are masked whatever their names.
        let configured = Set(target.headers.map { $0.name.lowercased() })
        return ProbeDebug.Attempt(
            attempt: number, traceparent: traceparent, success: result.success, failure: result.failure, duration: result.duration,
            hops: (o.trace?.hops ?? []).enumerated().map { hop($1, first: $0 == 0, target: target, configured: configured) },
            tls: tls(o, target: target),
            expectations: expectations,
            expectationsSkipped: failedBeforeResponse ? "no response: the attempt failed in \(result.failure!.phase.rawValue)" : nil)
    }

    private static func hop(_ h: TransferTrace.Hop, first: Bool, target: Target, configured: Set<String>) -> ProbeDebug.Hop {
        // The first hop is the target's URL (curl's may name server_name, which CONNECT_TO routes).
        let url = first ? target.url : h.url
        let location = h.responseHeaders.last { $0.name.caseInsensitiveCompare("location") == .orderedSame }?.value
        return ProbeDebug.Hop(
            url: URLRedaction.redacted(url), ip: h.ip.isEmpty ? nil : h.ip,
            request: h.requestLine.isEmpty ? nil : h.requestLine,
            requestHeaders: h.requestHeaders.map {
                configured.contains($0.name.lowercased()) ? TraceHeader(name: $0.name, value: HeaderRedaction.mask) : HeaderRedaction.redacted($0)
            },
            status: h.status > 0 ? h.status : nil, statusLine: h.statusLine.isEmpty ? nil : h.statusLine,
            location: location.map(URLRedaction.redacted),
            responseHeaders: h.responseHeaders.map(HeaderRedaction.redacted),
            start: (h.start.seconds * 1e6).rounded() / 1e6, phases: phases(h, https: url.lowercased().hasPrefix("https:")))
    }

    /// Each phase from the event that starts it to the next one reached; the last phase
    /// reached runs to the hop's end.
    static func phases(_ h: TransferTrace.Hop, https: Bool) -> Phases {
        let end = h.end ?? h.start
        let marks: [(Phase, Duration?)] = [
            (.resolve, h.start), (.connect, h.socketOpened), (.tls, https ? h.tlsStarted : nil),
            (.processing, h.requestSent), (.transfer, h.firstByte),
        ]
        let reached = marks.compactMap { phase, at in at.map { (phase, $0) } }
        var p = Phases()
        for (i, (phase, at)) in reached.enumerated() {
            let next = i + 1 < reached.count ? reached[i + 1].1 : end
            p[phase] = (max(.zero, next - at).seconds * 1e6).rounded() / 1e6  // microseconds, as curl's
        }
        if !https, h.requestSent != nil { p.tls = 0 }
        return p
    }

    private static func tls(_ o: TransferOutcome, target: Target) -> ProbeDebug.TLS? {
        let h = o.handshake
        guard o.usedTLS, h.started else { return nil }
        let host = URLComponents(string: target.url)?.host ?? ""
        let verify = h.verifyError == 0 ? "ok" : ccurl_verify_error_string(Int(h.verifyError)).map { String(cString: $0) } ?? "error \(h.verifyError)"
        return ProbeDebug.TLS(
            serverName: target.tls.serverName ?? host, caFile: target.tls.caFile ?? "system", clientCertificate: target.tls.certFile,
            insecureSkipVerify: target.tls.insecureSkipVerify, handshakeCompleted: h.completed, verify: verify,
            version: h.version.isEmpty ? nil : ResultBuilder.tlsVersion(h.version), cipher: h.cipher.isEmpty ? nil : h.cipher,
            alpn: h.alpn.isEmpty ? nil : h.alpn, subject: h.subject.isEmpty ? nil : h.subject, issuer: h.issuer.isEmpty ? nil : h.issuer,
            sans: h.sans, certNotBefore: h.leafNotBefore, certNotAfter: h.leafNotAfter, chainExpiry: h.chainNotAfter)
    }
}
