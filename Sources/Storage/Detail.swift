import Foundation
import GRDB
import PhaseWatchCore

/// The parts of a ProbeResult that are long and rarely change between probes of a target (URL,
/// HTTP status and version, address, TLS facts, failure message, attempts): stored once in
/// `detail` and referenced from each probe row, which keeps probe rows near 64 bytes.
struct Detail: Hashable, Sendable {
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
    }

    /// Columns after `id`, in the order of `init(row:)` and `arguments`.
    static let columns = """
        url, http_status, http_version, http_redirects, attempts, connection_reused, ip_address, ip_family, \
        failure_message, tls, tls_version, tls_cipher, tls_alpn, cert_not_after_us, chain_expiry_us, \
        cert_subject, cert_issuer, cert_sans
        """

    /// Reads `columns` starting at `first`.
    init(row: Row, first i: Int) throws {
        url = row[i]
        httpStatus = row[i + 1]
        httpVersion = row[i + 2]
        httpRedirects = row[i + 3]
        attempts = row[i + 4]
        connectionReused = row[i + 5]
        ipAddress = row[i + 6]
        ipFamily = row[i + 7]
        failureMessage = row[i + 8]
        tls = row[i + 9]
        tlsVersion = row[i + 10]
        tlsCipher = row[i + 11]
        tlsAlpn = row[i + 12]
        certNotAfterUs = row[i + 13]
        chainExpiryUs = row[i + 14]
        certSubject = row[i + 15]
        certIssuer = row[i + 16]
        let sans: String? = row[i + 17]
        certSans = try sans.map(Self.decodeSANs) ?? []
    }

    var arguments: [(any DatabaseValueConvertible)?] {
        [
            url, httpStatus, httpVersion, httpRedirects, attempts, connectionReused, ipAddress, ipFamily,
            failureMessage, tls, tlsVersion, tlsCipher, tlsAlpn, certNotAfterUs, chainExpiryUs,
            certSubject, certIssuer, certSans.isEmpty ? nil : Self.encodeSANs(certSans),
        ]
    }

    /// Puts the stored facts into a result rebuilt from a probe row. HTTP facts need the row's
    /// body_bytes and content_length.
    func apply(to r: inout ProbeResult, bodyBytes: Int?, contentLength: Int?) {
        r.url = url
        r.attempts = attempts
        r.connectionReused = connectionReused
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

struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    private mutating func byte(_ b: UInt8) {
        value = (value ^ UInt64(b)) &* 0x0000_0100_0000_01b3
    }

    private mutating func int(_ v: Int64) {
        var u = UInt64(bitPattern: v)
        for _ in 0..<8 {
            byte(UInt8(truncatingIfNeeded: u))
            u >>= 8
        }
    }

    mutating func add(_ v: Int64?) {
        guard let v else { return byte(0) }
        byte(1)
        int(v)
    }

    mutating func add(_ s: String?) {
        guard let s else { return byte(0) }
        byte(1)
        int(Int64(s.utf8.count))
        for b in s.utf8 { byte(b) }
    }
}

// MARK: - The detail table

enum DetailTable {
    /// How stale `last_used_us` may get before an insert refreshes it. Retention keeps a detail
    /// row until its `last_used_us` is this much older than the raw-row cut-off.
    static let touchInterval: Int64 = 3_600_000_000

    /// Where a detail row was found: its id and the hash slot it sits in.
    struct Ref: Sendable, Equatable {
        var id: Int64
        var hash: Int64
    }

    /// The row holding `detail`, inserting it when new; `usedAt` is the newest probe (µs) about
    /// to reference it. `hint` is where an earlier transaction found it: checked with one
    /// primary-key read (the row may have been deleted by retention since, and SQLite may hand
    /// its id to a new row, hence the hash check), which spares the content comparison.
    static func ref(for detail: Detail, usedAt: Int64, hint: Ref?, db: Database) throws -> Ref {
        if let hint,
            let lastUsed = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT last_used_us FROM detail WHERE id = ? AND hash = ?"), arguments: [hint.id, hint.hash])
        {
            try touch(hint.id, lastUsed: lastUsed, usedAt: usedAt, db: db)
            return hint
        }
        var hash = detail.stableHash
        let select = try db.cachedStatement(sql: "SELECT id, last_used_us, \(Detail.columns) FROM detail WHERE hash = ?")
        // Linear probing past the (astronomically rare) FNV collision with different content.
        for _ in 0..<16 {
            guard let row = try Row.fetchOne(select, arguments: [hash]) else {
                let insert = try db.cachedStatement(
                    sql: "INSERT INTO detail (hash, last_used_us, \(Detail.columns)) VALUES (?, ?, \(placeholders(18)))")
                try insert.execute(arguments: StatementArguments([hash, usedAt] + detail.arguments))
                return Ref(id: db.lastInsertedRowID, hash: hash)
            }
            if try Detail(row: row, first: 2) == detail {
                let id: Int64 = row[0]
                try touch(id, lastUsed: row[1], usedAt: usedAt, db: db)
                return Ref(id: id, hash: hash)
            }
            hash &+= 1
        }
        throw StoreError.corrupt("too many detail hash collisions")
    }

    private static func touch(_ id: Int64, lastUsed: Int64, usedAt: Int64, db: Database) throws {
        guard usedAt > lastUsed + touchInterval else { return }
        try db.cachedStatement(sql: "UPDATE detail SET last_used_us = ? WHERE id = ?").execute(arguments: [usedAt, id])
    }

    /// The details with these ids.
    static func fetch(ids: some Collection<Int64>, db: Database) throws -> [Int64: Detail] {
        var out: [Int64: Detail] = [:]
        let select = try db.cachedStatement(sql: "SELECT id, \(Detail.columns) FROM detail WHERE id = ?")
        for id in Set(ids) {
            guard let row = try Row.fetchOne(select, arguments: [id]) else {
                throw StoreError.corrupt("probe row refers to missing detail \(id)")
            }
            out[id] = try Detail(row: row, first: 1)
        }
        return out
    }
}

func placeholders(_ n: Int) -> String {
    Array(repeating: "?", count: n).joined(separator: ", ")
}
