import CCurl
import Foundation
import PhaseWatchCore

/// Turns how a transfer ended into a failure phase and reason of docs/probing.md#failure-reasons.
/// Network failures only; a response that arrived is judged by `Assertions`.
enum FailureClassifier {
    // X509_V_ERR_* codes that have a reason of their own.
    private static let certNotYetValid: Int32 = 9
    private static let certHasExpired: Int32 = 10
    private static let hostnameMismatch: Int32 = 62
    // TLS alerts about a certificate (RFC 8446 §6.2), by description. The only certificate a
    // server judges is the client's. (OpenSSL 3.0 has no words for 116.)
    private static let certificateAlerts: [Int32: String] = [
        42: "bad certificate", 43: "unsupported certificate", 44: "certificate revoked", 45: "certificate expired",
        46: "certificate unknown", 48: "unknown CA", 116: "certificate required",
    ]

    static func failure(of o: TransferOutcome) -> Failure? {
        if let abort = o.abort { return failure(of: abort, o) }
        let code = CURLcode(UInt32(o.curlCode))
        let curlSays = o.curlMessage.isEmpty ? String(cString: curl_easy_strerror(code)) : o.curlMessage
        if code == CURLE_OK { return nil }
        if let alert = o.handshake.peerAlert, let words = certificateAlerts[alert] {
            // Under TLS 1.3 this alert comes after the client's side of the handshake, at the first
            // read, where curl sees only a receive error; the handshake is what failed.
            return Failure(phase: .tls, reason: .clientCertificateRejected, message: "server rejected the client certificate (TLS alert: \(words))")
        }
        if let refusal = o.redirectRefusal, code == CURLE_COULDNT_CONNECT {
            return Failure(phase: .processing, reason: .redirectRefused, message: "redirect not followed: \(refusal)")
        }
        if o.followedRedirect, code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT {
            // The URL came from the server's Location header: never quoted, it is the server's text.
            let why = code == CURLE_URL_MALFORMAT ? "is not a valid URL" : "is not an http:// or https:// URL"
            return Failure(phase: .processing, reason: .redirectRefused, message: "redirect not followed: its Location \(why)")
        }
        if o.inResponseHeaders, let failure = headersTooLarge(code, curlSays: curlSays) { return failure }
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST:
            return Failure(phase: .resolve, reason: .dnsNXDomain, message: curlSays)
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_URL_MALFORMAT:
            return Failure(phase: .resolve, reason: .dnsError, message: curlSays)
        case CURLE_COULDNT_CONNECT:
            let refused = o.osErrno == ECONNREFUSED
            return Failure(phase: .connect, reason: refused ? .connectRefused : .connectError, message: curlSays)
        case CURLE_OPERATION_TIMEDOUT:
            return Failure(phase: o.phaseAtEnd, reason: timeoutReason(in: o.phaseAtEnd), message: curlSays)
        case CURLE_PEER_FAILED_VERIFICATION:
            return certificateFailure(o, curlSays: curlSays)
        case CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CLIENTCERT:
            return Failure(phase: .tls, reason: .tlsHandshakeError, message: curlSays)
        case CURLE_GOT_NOTHING:
            return Failure(phase: .processing, reason: .emptyReply, message: curlSays)
        case CURLE_SEND_ERROR where o.phaseAtEnd <= .connect, CURLE_RECV_ERROR where o.phaseAtEnd <= .connect:
            // Before any TLS handshake or request: a proxy refused the tunnel ("CONNECT tunnel
            // failed, response 407"), which is reaching the target (docs/probing.md#proxies).
            return Failure(phase: .connect, reason: .connectError, message: curlSays)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE:
            // The server went away in the middle of the exchange.
            let phase = o.phaseAtEnd == .tls ? Phase.tls : (o.phaseAtEnd == .transfer ? .transfer : .processing)
            return Failure(phase: phase, reason: phase == .tls ? .tlsHandshakeError : .connectionReset, message: curlSays)
        case CURLE_TOO_MANY_REDIRECTS:
            return Failure(phase: .processing, reason: .tooManyRedirects, message: curlSays)
        default:
            return Failure(phase: o.phaseAtEnd, reason: fallbackReason(in: o.phaseAtEnd), message: curlSays)
        }
    }

    private static func failure(of abort: AbortReason, _ o: TransferOutcome) -> Failure {
        switch abort {
        case .phaseTimeout(let phase, let reason, let limit):
            let what = reason == .totalTimeout || reason == .transferTimeout ? "probe" : phase.rawValue
            return Failure(
                phase: phase, reason: reason,
                message: "\(what) timed out after \(PromDuration.format(limit)) (in phase \(phase.rawValue))")
        case .bodyTooLarge(let limit):
            return Failure(phase: .transfer, reason: .bodyTooLarge, message: "response body exceeds \(limit) bytes")
        case .cancelled:
            return Failure(phase: o.phaseAtEnd, reason: .totalTimeout, message: "probe cancelled before it finished")
        }
    }

    /// curl refuses a header line over CURL_MAX_HTTP_HEADER with CURLE_OUT_OF_MEMORY, and a header
    /// section over its total limit with a receive error naming it.
    private static func headersTooLarge(_ code: CURLcode, curlSays: String) -> Failure? {
        let message: String
        switch code {
        case CURLE_OUT_OF_MEMORY:
            message = "a response header line exceeds libcurl's limit of \(CURL_MAX_HTTP_HEADER / 1024) KiB"
        case CURLE_RECV_ERROR where curlSays.hasPrefix("Too large response headers"):
            message = curlSays
        default:
            return nil
        }
        return Failure(phase: .transfer, reason: .responseHeadersTooLarge, message: message)
    }

    private static func certificateFailure(_ o: TransferOutcome, curlSays: String) -> Failure {
        let h = o.handshake
        switch h.verifyError {
        case certHasExpired:
            let date = h.leafNotAfter.map { " " + Timestamp.day($0) } ?? ""
            return Failure(phase: .tls, reason: .certExpired, message: "certificate expired\(date)")
        case certNotYetValid:
            let date = h.leafNotBefore.map { " before " + Timestamp.day($0) } ?? " yet"
            return Failure(phase: .tls, reason: .certNotYetValid, message: "certificate not valid\(date)")
        case hostnameMismatch, 0:
            // With no chain error, curl's own host name check is what failed.
            let sans = h.sans.isEmpty ? "" : " (certificate names: \(h.sans.joined(separator: ", ")))"
            return Failure(phase: .tls, reason: .certHostnameMismatch, message: curlSays + sans)
        default:
            let words = String(cString: ccurl_verify_error_string(Int(h.verifyError)))
            return Failure(phase: .tls, reason: .certUntrusted, message: "certificate not trusted: \(words)")
        }
    }

    static func timeoutReason(in phase: Phase) -> FailureReason {
        switch phase {
        case .resolve: .dnsTimeout
        case .connect: .connectTimeout
        case .tls: .tlsTimeout
        case .processing: .firstByteTimeout
        case .transfer, .assert: .transferTimeout
        }
    }

    private static func fallbackReason(in phase: Phase) -> FailureReason {
        switch phase {
        case .resolve: .dnsError
        case .connect: .connectError
        case .tls: .tlsHandshakeError
        case .processing, .transfer, .assert: .httpProtocolError
        }
    }
}
