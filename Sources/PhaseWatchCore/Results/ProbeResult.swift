import Foundation

/// The outcome of one probe, as docs/api.md ("ProbeResult") spells it in JSON.
public struct ProbeResult: Codable, Sendable, Equatable {
    public var target: String
    public var url: String
    public var startedAt: Date
    public var success: Bool
    public var failure: Failure?
    public var phases: Phases
    /// Seconds, the whole probe (curl's total time of the last attempt).
    public var duration: Double
    public var http: HTTPFacts?
    public var tls: TLSFacts?
    public var ip: IPFacts?
    public var attempts: Int
    public var connectionReused: Bool
    /// Which request of its run this is; nil for targets with `connection: fresh`, whose every
    /// result is fresh (docs/probing.md#connections).
    public var connection: ConnectionKind?
    /// Why the kept connection was gone, when a `reused` request had to open a new one and the
    /// probe can tell.
    public var connectionClosedReason: ConnectionClosedReason?
    /// Seconds the connection had been open when this request went out on it; only when
    /// `connectionReused`.
    public var connectionAge: Double?
    /// The address this result probed, for the per-address results of an `ip_policy: all`
    /// target (docs/probing.md#addresses); nil for a target's own result.
    public var address: String?
    public var traceId: String

    public init(
        target: String, url: String, startedAt: Date, success: Bool, failure: Failure? = nil,
        phases: Phases = .init(), duration: Double, http: HTTPFacts? = nil, tls: TLSFacts? = nil,
        ip: IPFacts? = nil, attempts: Int = 1, connectionReused: Bool = false, traceId: String
    ) {
        self.target = target
        self.url = url
        self.startedAt = startedAt
        self.success = success
        self.failure = failure
        self.phases = phases
        self.duration = duration
        self.http = http
        self.tls = tls
        self.ip = ip
        self.attempts = attempts
        self.connectionReused = connectionReused
        self.traceId = traceId
    }

    enum CodingKeys: String, CodingKey {
        case target, url, success, failure, phases, duration, http, tls, ip, attempts
        case startedAt = "started_at"
        case connectionReused = "connection_reused"
        case connection
        case connectionClosedReason = "connection_closed_reason"
        case connectionAge = "connection_age"
        case address
        case traceId = "trace_id"
    }
}

/// Why a probe failed: the phase it failed in and a stable reason code, plus words for people.
public struct Failure: Codable, Sendable, Equatable {
    public var phase: Phase
    public var reason: FailureReason
    public var message: String

    public init(phase: Phase, reason: FailureReason, message: String) {
        self.phase = phase
        self.reason = reason
        self.message = message
    }
}

/// Seconds spent in each phase, summed over redirects; nil when the phase was never reached.
public struct Phases: Codable, Sendable, Equatable {
    public var resolve: Double?
    public var connect: Double?
    public var tls: Double?
    public var processing: Double?
    public var transfer: Double?

    public init(
        resolve: Double? = nil, connect: Double? = nil, tls: Double? = nil, processing: Double? = nil,
        transfer: Double? = nil
    ) {
        self.resolve = resolve
        self.connect = connect
        self.tls = tls
        self.processing = processing
        self.transfer = transfer
    }

    public subscript(phase: Phase) -> Double? {
        get {
            switch phase {
            case .resolve: resolve
            case .connect: connect
            case .tls: tls
            case .processing: processing
            case .transfer: transfer
            case .assert: nil
            }
        }
        set {
            switch phase {
            case .resolve: resolve = newValue
            case .connect: connect = newValue
            case .tls: tls = newValue
            case .processing: processing = newValue
            case .transfer: transfer = newValue
            case .assert: break
            }
        }
    }
}

public struct HTTPFacts: Codable, Sendable, Equatable {
    public var status: Int
    /// "1.0", "1.1", "2" or "3".
    public var version: String
    public var redirects: Int
    /// The Content-Length the server announced; nil when it sent none.
    public var contentLength: Int?
    public var bodyBytes: Int

    public init(status: Int, version: String, redirects: Int, contentLength: Int?, bodyBytes: Int) {
        self.status = status
        self.version = version
        self.redirects = redirects
        self.contentLength = contentLength
        self.bodyBytes = bodyBytes
    }

    enum CodingKeys: String, CodingKey {
        case status, version, redirects
        case contentLength = "content_length"
        case bodyBytes = "body_bytes"
    }
}

public struct TLSFacts: Codable, Sendable, Equatable {
    /// "TLS 1.2", "TLS 1.3".
    public var version: String?
    public var cipher: String?
    public var alpn: String?
    public var certNotAfter: Date?
    /// Earliest expiry of any certificate in the verified chain.
    public var chainExpiry: Date?
    public var subject: String?
    public var issuer: String?
    public var sans: [String]
    /// Whether the handshake resumed an earlier session; only for targets with `tls.resume`
    /// whose request made a handshake (docs/probing.md#tls-resumption).
    public var resumed: Bool?

    public init(
        version: String? = nil, cipher: String? = nil, alpn: String? = nil, certNotAfter: Date? = nil,
        chainExpiry: Date? = nil, subject: String? = nil, issuer: String? = nil, sans: [String] = []
    ) {
        self.version = version
        self.cipher = cipher
        self.alpn = alpn
        self.certNotAfter = certNotAfter
        self.chainExpiry = chainExpiry
        self.subject = subject
        self.issuer = issuer
        self.sans = sans
    }

    enum CodingKeys: String, CodingKey {
        case version, cipher, alpn, subject, issuer, sans, resumed
        case certNotAfter = "cert_not_after"
        case chainExpiry = "chain_expiry"
    }
}

public struct IPFacts: Codable, Sendable, Equatable {
    public var address: String
    /// 4 or 6.
    public var family: Int

    public init(address: String, family: Int) {
        self.address = address
        self.family = family
    }
}
