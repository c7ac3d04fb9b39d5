import Foundation
import PhaseWatchCore

/// One attempt's outcome → the ProbeResult of docs/api.md#proberesult.
enum ResultBuilder {
    /// `kind` is which request of its run this is, nil for `connection: fresh` targets.
    static func result(
        target: Target, outcome o: TransferOutcome, trace: TraceContext, startedAt: Date, kind: ConnectionKind? = nil
    ) -> ProbeResult {
        let duration = Double(max(0, o.timings.total)) / 1e6
        let networkFailure = agentFault(o) ?? FailureClassifier.failure(of: o)
        let failure = networkFailure ?? Assertions.check(o, target.expect, duration: duration, now: Date())
        var phases = PhaseBreakdown.phases(o.timings, usedTLS: o.usedTLS, failedIn: networkFailure?.phase)
        // A pooled request that went out without a new connection was sent on the kept one.
        let reused = o.pool != nil ? o.requestSent && o.newConnections == 0 : o.curlCode == 0 && o.newConnections == 0
        if reused, o.pool != nil {
            // No lookup, connection or handshake happened: absent, not 0 (docs/probing.md#connections).
            phases.resolve = nil
            phases.connect = nil
            phases.tls = nil
        }
        var result = ProbeResult(
            target: target.name, url: URLRedaction.redacted(target.url), startedAt: startedAt, success: failure == nil, failure: failure,
            phases: phases, duration: duration, http: http(o), tls: tls(o), ip: ip(o), attempts: 1,
            connectionReused: reused, traceId: trace.traceID)
        // Only where a session could be offered: a pooled request (not probe-now's fresh one).
        if target.tls.resume, o.pool != nil, !reused, o.handshake.completed { result.tls?.resumed = o.handshake.resumed }
        result.connection = kind
        if let pool = o.pool, kind == .reused {
            result.connectionAge = pool.age.map { Double($0.microseconds) / 1e6 }
            result.connectionClosedReason = reused ? nil : pool.closedReason
        }
        return result
    }

    /// A transfer that failed because this process ran out of descriptors or buffers: the
    /// agent's fault, whatever curl called it (docs/probing.md, "Agent errors").
    static func agentFault(_ o: TransferOutcome) -> Failure? {
        guard o.curlCode != 0 else { return nil }
        let name: String
        switch o.osErrno {
        case EMFILE: name = "EMFILE"
        case ENFILE: name = "ENFILE"
        case ENOBUFS: name = "ENOBUFS"
        case ENOMEM: name = "ENOMEM"
        default: return nil
        }
        return Failure(
            phase: o.phaseAtEnd, reason: .agentError,
            message: "the agent could not open a socket: \(String(cString: strerror(o.osErrno))) (\(name)); not the target's fault")
    }

    private static func http(_ o: TransferOutcome) -> HTTPFacts? {
        guard o.status > 0 else { return nil }
        return HTTPFacts(
            status: o.status, version: httpVersion(o.httpVersion), redirects: o.redirects,
            contentLength: o.contentLength, bodyBytes: o.bodyBytes)
    }

    /// CURLINFO_HTTP_VERSION is a CURL_HTTP_VERSION_* code, not a number.
    static func httpVersion(_ code: Int) -> String {
        switch code {
        case 1: "1.0"
        case 2: "1.1"
        case 3: "2"
        case 30: "3"
        default: "unknown"
        }
    }

    private static func tls(_ o: TransferOutcome) -> TLSFacts? {
        let h = o.handshake
        guard o.usedTLS, h.started else { return nil }
        return TLSFacts(
            version: h.version.isEmpty ? nil : tlsVersion(h.version), cipher: h.cipher.isEmpty ? nil : h.cipher,
            alpn: h.alpn.isEmpty ? nil : h.alpn, certNotAfter: h.leafNotAfter, chainExpiry: h.chainNotAfter,
            subject: h.subject.isEmpty ? nil : h.subject, issuer: h.issuer.isEmpty ? nil : h.issuer, sans: h.sans)
    }

    /// OpenSSL's "TLSv1.3" → "TLS 1.3"; "TLSv1" → "TLS 1.0".
    static func tlsVersion(_ openssl: String) -> String {
        guard openssl.hasPrefix("TLSv") else { return openssl }
        let number = openssl.dropFirst(4)
        return "TLS " + (number.contains(Character(".")) ? number : number + ".0")
    }

    private static func ip(_ o: TransferOutcome) -> IPFacts? {
        guard !o.primaryIP.isEmpty else { return nil }
        return IPFacts(address: o.primaryIP, family: o.primaryIP.utf8.contains(UInt8(ascii: ":")) ? 6 : 4)
    }
}
