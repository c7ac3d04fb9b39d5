import Foundation
import GRDB
import PhaseWatchCore

/// The facts of a probe that are long and rarely change between probes of a target (URL, HTTP
/// status and version, address, TLS facts, failure message, attempts): stored once as a row of
/// table `detail` (`DetailRecord`) and referenced from each probe row, which keeps probe rows
/// near 64 bytes. Equal facts share one row, so this type is the key that finds it.
struct ProbeFacts: Hashable, Sendable, FetchableRecord, EncodableRecord {
    /// The columns of table `detail` that hold the facts (the others are `DetailRecord`'s).
    enum Columns: String, ColumnExpression, CaseIterable {
        case url
        case httpStatus = "http_status"
        case httpVersion = "http_version"
        case httpRedirects = "http_redirects"
        case attempts
        case connectionReused = "connection_reused"
        case ipAddress = "ip_address"
        case ipFamily = "ip_family"
        case failureMessage = "failure_message"
        case tls
        case tlsVersion = "tls_version"
        case tlsCipher = "tls_cipher"
        case tlsAlpn = "tls_alpn"
        case certNotAfterUs = "cert_not_after_us"
        case chainExpiryUs = "chain_expiry_us"
        case certSubject = "cert_subject"
        case certIssuer = "cert_issuer"
        case certSans = "cert_sans"
        case connection
        case connectionClosedReason = "connection_closed_reason"
        case tlsResumed = "tls_resumed"
    }

    var url: String
    var httpStatus: Int?
    var httpVersion: String?
    var httpRedirects: Int?
    var attempts: Int
    var connectionReused: Bool
    var ipAddress: String?
    var ipFamily: Int?
    var failureMessage: String?
    var tls: Bool
    var tlsVersion: String?
    var tlsCipher: String?
    var tlsAlpn: String?
    var certNotAfterUs: Int64?
    var chainExpiryUs: Int64?
    var certSubject: String?
    var certIssuer: String?
    var certSans: [String]
    var connection: ConnectionKind?
    var connectionClosedReason: ConnectionClosedReason?
    var tlsResumed: Bool?

    init(_ r: ProbeResult) {
        url = r.url
        httpStatus = r.http?.status
        httpVersion = r.http?.version
        httpRedirects = r.http?.redirects
        attempts = r.attempts
        connectionReused = r.connectionReused
        ipAddress = r.ip?.address
        ipFamily = r.ip?.family
        failureMessage = r.failure?.message
        tls = r.tls != nil
        tlsVersion = r.tls?.version
        tlsCipher = r.tls?.cipher
        tlsAlpn = r.tls?.alpn
        certNotAfterUs = r.tls?.certNotAfter.map(Microseconds.date)
        chainExpiryUs = r.tls?.chainExpiry.map(Microseconds.date)
        certSubject = r.tls?.subject
        certIssuer = r.tls?.issuer
        certSans = r.tls?.sans ?? []
        connection = r.connection
        connectionClosedReason = r.connectionClosedReason
        tlsResumed = r.tls?.resumed
    }

    init(row: Row) throws {
        url = row[Columns.url]
        httpStatus = row[Columns.httpStatus]
        httpVersion = row[Columns.httpVersion]
        httpRedirects = row[Columns.httpRedirects]
        attempts = row[Columns.attempts]
        connectionReused = row[Columns.connectionReused]
        ipAddress = row[Columns.ipAddress]
        ipFamily = row[Columns.ipFamily]
        failureMessage = row[Columns.failureMessage]
        tls = row[Columns.tls]
        tlsVersion = row[Columns.tlsVersion]
        tlsCipher = row[Columns.tlsCipher]
        tlsAlpn = row[Columns.tlsAlpn]
        certNotAfterUs = row[Columns.certNotAfterUs]
        chainExpiryUs = row[Columns.chainExpiryUs]
        certSubject = row[Columns.certSubject]
        certIssuer = row[Columns.certIssuer]
        let sans: String? = row[Columns.certSans]
        certSans = try sans.map(Self.decodeSANs) ?? []
        let connection: String? = row[Columns.connection]
        self.connection = try connection.map { try Self.decode($0, ConnectionKind.self, column: .connection) }
        let reason: String? = row[Columns.connectionClosedReason]
        connectionClosedReason = try reason.map { try Self.decode($0, ConnectionClosedReason.self, column: .connectionClosedReason) }
        tlsResumed = row[Columns.tlsResumed]
    }

    private static func decode<T: RawRepresentable>(_ text: String, _: T.Type, column: Columns) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: text) else { throw StoreError.corrupt("unknown \(column.rawValue) \"\(text)\"") }
        return value
    }

    func encode(to container: inout PersistenceContainer) {
        container[Columns.url] = url
        container[Columns.httpStatus] = httpStatus
        container[Columns.httpVersion] = httpVersion
        container[Columns.httpRedirects] = httpRedirects
        container[Columns.attempts] = attempts
        container[Columns.connectionReused] = connectionReused
        container[Columns.ipAddress] = ipAddress
        container[Columns.ipFamily] = ipFamily
        container[Columns.failureMessage] = failureMessage
        container[Columns.tls] = tls
        container[Columns.tlsVersion] = tlsVersion
        container[Columns.tlsCipher] = tlsCipher
        container[Columns.tlsAlpn] = tlsAlpn
        container[Columns.certNotAfterUs] = certNotAfterUs
        container[Columns.chainExpiryUs] = chainExpiryUs
        container[Columns.certSubject] = certSubject
        container[Columns.certIssuer] = certIssuer
        container[Columns.certSans] = certSans.isEmpty ? nil : Self.encodeSANs(certSans)
        container[Columns.connection] = connection?.rawValue
        container[Columns.connectionClosedReason] = connectionClosedReason?.rawValue
        container[Columns.tlsResumed] = tlsResumed
    }

    /// Puts the stored facts into a result rebuilt from a probe row. HTTP facts need the row's
    /// body_bytes and content_length.
    func apply(to r: inout ProbeResult, bodyBytes: Int?, contentLength: Int?) {
        r.url = url
        r.attempts = attempts
        r.connectionReused = connectionReused
        r.connection = connection
        r.connectionClosedReason = connectionClosedReason
        if let httpStatus, let httpVersion {
            r.http = HTTPFacts(
                status: httpStatus, version: httpVersion, redirects: httpRedirects ?? 0,
                contentLength: contentLength, bodyBytes: bodyBytes ?? 0)
        }
        if let ipAddress, let ipFamily { r.ip = IPFacts(address: ipAddress, family: ipFamily) }
        if tls {
            r.tls = TLSFacts(
                version: tlsVersion, cipher: tlsCipher, alpn: tlsAlpn,
                certNotAfter: certNotAfterUs.map(Microseconds.toDate), chainExpiry: chainExpiryUs.map(Microseconds.toDate),
                subject: certSubject, issuer: certIssuer, sans: certSans)
            r.tls?.resumed = tlsResumed
        }
    }

    // MARK: Stable hash

    /// FNV-1a 64 over a length-prefixed encoding of every field. Stable across processes and
    /// versions (Swift's `Hasher` is seeded per process, so it cannot key a file).
    var stableHash: Int64 {
        var h = FNV1a()
        h.add(url)
        h.add(httpStatus.map(Int64.init))
        h.add(httpVersion)
        h.add(httpRedirects.map(Int64.init))
        h.add(Int64(attempts))
        h.add(connectionReused ? 1 : 0)
        h.add(ipAddress)
        h.add(ipFamily.map(Int64.init))
        h.add(failureMessage)
        h.add(tls ? 1 : 0)
        h.add(tlsVersion)
        h.add(tlsCipher)
        h.add(tlsAlpn)
        h.add(certNotAfterUs)
        h.add(chainExpiryUs)
        h.add(certSubject)
        h.add(certIssuer)
        h.add(Int64(certSans.count))
        for san in certSans { h.add(san) }
        // Only when set, behind a marker: facts stored before these fields hash as they did.
        if connection != nil || connectionClosedReason != nil {
            h.add(byte: 2)
            h.add(connection?.rawValue)
            h.add(connectionClosedReason?.rawValue)
        }
        if let tlsResumed {
            h.add(byte: 3)
            h.add(byte: tlsResumed ? 1 : 0)
        }
        return Int64(bitPattern: h.value)
    }

    private static func encodeSANs(_ sans: [String]) -> String {
        // JSON, so `json_each(cert_sans)` works in the sqlite3 shell.
        let data = (try? JSONEncoder().encode(sans)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    private static func decodeSANs(_ text: String) throws -> [String] {
        do {
            return try JSONDecoder().decode([String].self, from: Data(text.utf8))
        } catch {
            throw StoreError.corrupt("cert_sans is not a JSON array of strings")
        }
    }
}

extension FNV1a {
    mutating func add(_ v: Int64?) {
        guard let v else { return add(byte: 0) }
        add(byte: 1)
        add(littleEndian: UInt64(bitPattern: v))
    }

    mutating func add(_ s: String?) {
        guard let s else { return add(byte: 0) }
        add(byte: 1)
        add(littleEndian: UInt64(s.utf8.count))
        add(bytes: s.utf8)
    }
}
