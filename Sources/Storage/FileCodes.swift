import PhaseWatchCore

/// The small integers that stand for phases and failure reasons in the database.
///
/// They are part of the file format: a code, once written, keeps its meaning forever. New
/// phases or reasons get the next free number; never renumber or reuse one. 0 is not used, so
/// that a stray 0 is recognisably wrong. `docs/storage.md` lists them for people using `sqlite3`.
/// (The frozen v1 migration in Schema.swift still calls this file Codes.swift.)
enum FileCodes {
    static func code(_ phase: Phase) -> Int {
        switch phase {
        case .resolve: 1
        case .connect: 2
        case .tls: 3
        case .processing: 4
        case .transfer: 5
        case .assert: 6
        }
    }

    static func phase(_ code: Int) throws(StoreError) -> Phase {
        switch code {
        case 1: .resolve
        case 2: .connect
        case 3: .tls
        case 4: .processing
        case 5: .transfer
        case 6: .assert
        default: throw StoreError.corrupt("unknown phase code \(code)")
        }
    }

    /// The reasons in the order they had when the table was made; additions go at the end.
    static let reasons: [FailureReason] = [
        .dnsNXDomain,  // 1
        .dnsError,  // 2
        .dnsTimeout,  // 3
        .connectRefused,  // 4
        .connectTimeout,  // 5
        .connectError,  // 6
        .tlsHandshakeError,  // 7
        .tlsTimeout,  // 8
        .certExpired,  // 9
        .certNotYetValid,  // 10
        .certUntrusted,  // 11
        .certHostnameMismatch,  // 12
        .firstByteTimeout,  // 13
        .transferTimeout,  // 14
        .totalTimeout,  // 15
        .connectionReset,  // 16
        .emptyReply,  // 17
        .httpProtocolError,  // 18
        .tooManyRedirects,  // 19
        .status,  // 20
        .bodyMatches,  // 21
        .bodyNotMatches,  // 22
        .header,  // 23
        .notTLS,  // 24
        .certExpiring,  // 25
        .tooSlow,  // 26
        .bodyTooLarge,  // 27
        .redirectRefused,  // 28
        .responseHeadersTooLarge,  // 29
        .clientCertificateRejected,  // 30
        .regexTimeout,  // 31
        .agentError,  // 32
    ]

    private static let reasonCodes: [FailureReason: Int] = Dictionary(
        uniqueKeysWithValues: reasons.enumerated().map { ($0.element, $0.offset + 1) })

    static func code(_ reason: FailureReason) -> Int {
        // Every case is in `reasons` (a test checks it), so this never falls back.
        reasonCodes[reason] ?? 0
    }

    static func reason(_ code: Int) throws(StoreError) -> FailureReason {
        guard code >= 1, code <= reasons.count else { throw StoreError.corrupt("unknown failure reason code \(code)") }
        return reasons[code - 1]
    }
}
