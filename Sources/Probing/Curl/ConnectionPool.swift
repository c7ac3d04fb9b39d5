import CCurl
import Foundation
import PhaseWatchCore

/// A target's kept connection (docs/probing.md#connections): what the scheduler holds between
/// the target's probes, and releases by dropping it (a removed or changed target).
///
/// Only a token: the connection itself lives in a `ConnectionPool` on the curl loop's thread,
/// where every curl call is made. Released, the pool closes its connections once the transfer
/// using it (if any) has ended.
public final class KeptConnection: Sendable {
    let id: UInt64
    private let loop: CurlMultiLoop

    init(loop: CurlMultiLoop) {
        self.loop = loop
        id = loop.newPoolID()
    }

    deinit {
        loop.releasePool(id)
    }
}

/// How one transfer uses its target's pool.
struct PoolUse: Sendable, Equatable {
    let id: UInt64
    /// Open a new connection even when the pool has one (the cold request of `both`).
    var fresh: Bool
    /// Leave the connection open in the pool when the transfer ends.
    var keep: Bool
}

/// One target's connections, on the loop thread only: a curl share handle with its own
/// connection cache and TLS session cache, so the target's connection is never handed to
/// another target on the same host and the multi handle's cache (closed after every fresh
/// probe) never holds it.
///
/// No lock callbacks: curl needs them only when a share is used from several threads, and this
/// one is used from the loop thread alone, by one transfer at a time (a target never runs two
/// probes at once; `both` makes its two requests one after the other).
final class ConnectionPool {
    let share: UnsafeMutableRawPointer
    /// The TLS capture of the pool's connections: OpenSSL keeps calling back into it for as long
    /// as a connection lives (alerts, post-handshake messages, the close), beyond the transfer
    /// that opened it, so it lives as long as the pool.
    let capture: TLSCapture
    let ledger = SocketLedger()

    init?() {
        guard let share = curl_share_init() else { return nil }
        ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_CONNECT.rawValue))
        // The target's TLS sessions (`tls.resume`): used only by transfers that enable curl's
        // session cache, so a target without it never offers one.
        ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
        // The target's `resolve` pins stay in its own DNS cache, not the loop's (Transfer.setConnection).
        ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
        self.share = share
        capture = TLSCapture()
    }

    deinit {
        // Closes the connections; the close callbacks reach `ledger`, still alive here. Every
        // transfer that used the share has been cleaned up (each holds the pool).
        curl_share_cleanup(share)
    }
}

/// The `ccurl_tls_capture` OpenSSL fills, owned by a transfer (fresh probes) or by its target's
/// pool (kept connections).
final class TLSCapture {
    let pointer: UnsafeMutablePointer<ccurl_tls_capture>

    init() {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: ccurl_tls_capture())
    }

    deinit {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}

/// The sockets of a pool's connections, from curl's open- and close-socket callbacks: which
/// connection a transfer found, how old it is, and why it was gone when it was.
final class SocketLedger {
    /// Open sockets and when each was opened.
    private var open: [curl_socket_t: ContinuousClock.Instant] = [:]
    /// The sockets open when the transfer in progress began: the kept connection.
    private var keptAtStart: [curl_socket_t: ContinuousClock.Instant] = [:]
    /// Whether a kept socket was closed during the transfer in progress.
    private var keptClosed = false
    /// Why the last transfer left no connection open, when it can be told.
    private var lastEnd: ConnectionClosedReason?

    func begin() {
        keptAtStart = open
        keptClosed = false
    }

    func opened(_ socket: curl_socket_t, at instant: ContinuousClock.Instant) {
        open[socket] = instant
    }

    func closed(_ socket: curl_socket_t) {
        guard open.removeValue(forKey: socket) != nil else { return }
        if keptAtStart[socket] != nil { keptClosed = true }
    }

    /// What the transfer that just ended says about its connection, and what it leaves for the
    /// next: `reused` when it sent its request on a kept connection, `closeAsked` when its
    /// response said `Connection: close`.
    func end(reused: Bool, failed: Bool, closeAsked: Bool, requestSentAt: ContinuousClock.Instant?) -> PoolFacts {
        var facts = PoolFacts()
        if reused, let opened = keptAtStart.values.min() {
            facts.age = max(.zero, (requestSentAt ?? .now) - opened)
        } else if !reused {
            facts.closedReason = keptAtStart.isEmpty ? lastEnd : (keptClosed ? .idleClosed : nil)
        }
        if open.isEmpty {
            lastEnd = closeAsked ? .connectionClose : (failed ? .previousFailed : nil)
        } else {
            lastEnd = nil
        }
        keptAtStart = [:]
        return facts
    }
}

/// A pooled transfer's connection facts (`TransferOutcome.pool`).
struct PoolFacts: Sendable, Equatable {
    /// How long the reused connection had been open when the request went out.
    var age: Duration?
    /// Why the kept connection was gone, when the transfer had to open one.
    var closedReason: ConnectionClosedReason?
}
