import CCurl
import Foundation
import PhaseWatchCore

/// One attempt on one curl easy handle. Lives on the loop thread only: curl calls back into it
/// from `curl_multi_perform`, and the loop reads it when the transfer ends.
///
/// Besides curl's own timestamps (summed over redirects, read at the end), it follows the phase
/// in progress from events curl and OpenSSL report as they happen, so the loop can enforce the
/// per-phase timeouts curl does not have and name the phase a transfer was stopped in.
final class Transfer {
    let handle: UnsafeMutableRawPointer
    let request: TransferRequest
    let continuation: CheckedContinuation<TransferOutcome, Never>
    let id: UInt64
    let start: ContinuousClock.Instant

    private(set) var phase: Phase = .resolve
    private var phaseSince: ContinuousClock.Instant
    private var hopStart: ContinuousClock.Instant
    private(set) var abort: AbortReason?
    /// When the last TLS handshake started and ended: curl leaves its connect and appconnect
    /// times at 0 when a handshake fails, though the TCP connection was made.
    private var tlsStartedAt: ContinuousClock.Instant?
    /// curl's starttransfer sum when this hop's request went out (or its interim response ended):
    /// curl adds to it when the first response byte arrives, which can be long before the status
    /// line is complete (a server trickling its headers).
    private var startTransferMark: Int64 = 0

    private var body = Data()
    /// Whether the body is kept for the `expect` block's patterns, or only counted.
    private let keepBody: Bool
    private var bodyBytes = 0
    private var headers: [(name: String, value: String)] = []
    private var responseStatus = 0
    private var responseHasLocation = false
    /// Whether the header section of the response in progress has ended (the empty line).
    private var headersEnded = false
    /// Redirects this transfer followed so far.
    private var hops = 0
    /// The most internal kind of address the first hop connected to, and why a later hop's
    /// address was refused (the redirect policy).
    private var originKind = AddressKind.public
    private var redirectRefusal: String?
    /// errno of a socket() that failed in `openSocket`; 0 when none did.
    private var socketErrno: Int32 = 0
    /// When this hop's first socket was opened: curl's name lookup had just ended, so this ties
    /// our clock to curl's (`outcome`).
    private var socketOpenedAt: ContinuousClock.Instant?
    /// What `phasewatch probe -v` and the probe-now endpoint show; nil for ordinary probes.
    private var trace: TransferTrace?

    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// The target's kept connections, for transfers of `connection: reuse | both`.
    private let pool: ConnectionPool?
    /// The DNS cache of a transfer with `resolve` pins (`setConnection`), cleaned up after the handle.
    private var dnsShare: UnsafeMutableRawPointer?
    private let tlsCapture: TLSCapture
    private var capture: UnsafeMutablePointer<ccurl_tls_capture> { tlsCapture.pointer }
    /// This transfer's reference to the parsed CA bundle, given back when it ends.
    private let caStore: UnsafeMutableRawPointer?
    /// When the request went out: a reused connection's age is taken then.
    private var requestSentAt: ContinuousClock.Instant?
    private var lists: [UnsafeMutablePointer<curl_slist>] = []

    init?(
        request: TransferRequest, id: UInt64, pool: ConnectionPool? = nil, continuation: CheckedContinuation<TransferOutcome, Never>
    ) {
        guard let handle = curl_easy_init() else { return nil }
        // The CA store first: parsing a bundle (the system's, on a process's first probe) is the
        // agent's work and must not count as the target's time, nor sit between our clock's
        // start and curl's (it made a failed handshake's connect longer than the whole probe).
        let caStore = Self.caStore(for: request.target.tls)
        self.handle = handle
        self.request = request
        keepBody = request.target.expect.needsBody
        self.id = id
        self.continuation = continuation
        start = .now
        phaseSince = start
        hopStart = start
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        self.pool = pool
        tlsCapture = pool?.capture ?? TLSCapture()
        self.caStore = caStore
        pool?.ledger.begin()
        if request.trace { trace = TransferTrace(hops: [TransferTrace.Hop(start: .zero)]) }
        configure(caStore: caStore)
    }

    /// The parsed CA bundle this request verifies against, or nil (insecure, or a file that
    /// cannot be read: curl then tries it itself and says why).
    private static func caStore(for tls: TLSOptions) -> UnsafeMutableRawPointer? {
        guard !tls.insecureSkipVerify, let bundle = tls.caFile ?? systemCABundle else { return nil }
        return ccurl_ca_store(bundle, caStoreMaxAge)
    }

    /// Seconds a parsed CA bundle is used before it is read again (a changed file is seen
    /// within this time).
    static let caStoreMaxAge = 60
    /// libcurl's default bundle, for targets without `ca_file` (looked up once).
    private static let systemCABundle = ccurl_default_ca_bundle().map { String(cString: $0) }

    deinit {
        curl_easy_cleanup(handle)
        if let dnsShare { curl_share_cleanup(dnsShare) }
        if let caStore { ccurl_ca_store_release(caStore) }
        for list in lists { curl_slist_free_all(list) }
        errorBuffer.deallocate()
        // A pool's capture outlives this transfer: OpenSSL's later calls must not reach it.
        if capture.pointee.owner == Unmanaged.passUnretained(self).toOpaque() {
            capture.pointee.owner = nil
            capture.pointee.ca_store = nil
        }
    }

    // MARK: setup

    /// Every curl option of this attempt, by concern: what to request, how to verify TLS, and
    /// the callbacks that follow the transfer's phases.
    private func configure(caStore: UnsafeMutableRawPointer?) {
        setConnection()
        setProxy()
        setRequest()
        setTLS(caStore: caStore)
        setCallbacks()
    }

    /// A first-time user's connection: new connection, new DNS lookup, no TLS session
    /// resumption; http and https only, here and after redirects; curl's timeouts as a backstop.
    private func setConnection() {
        let target = request.target
        set(CURLOPT_NOSIGNAL, 1)
        if let pool, let use = request.pool {
            // The target's own cache (docs/probing.md#connections): its connection, and no other.
            ccurl_setopt_pointer(handle, CURLOPT_SHARE, pool.share)
            set(CURLOPT_FRESH_CONNECT, use.fresh ? 1 : 0)
            set(CURLOPT_FORBID_REUSE, use.keep ? 0 : 1)
            // `tls.resume`: a new connection offers the session its target's last one got.
            set(CURLOPT_SSL_SESSIONID_CACHE, target.tls.resume ? 1 : 0)
            // The server decides how long a kept connection lives, not curl's idle limit (118 s),
            // which would close it between the probes of a target with a longer interval.
            set(CURLOPT_MAXAGE_CONN, Int(Int32.max))
        } else {
            set(CURLOPT_FRESH_CONNECT, 1)
            set(CURLOPT_FORBID_REUSE, 1)
        }
        set(CURLOPT_DNS_CACHE_TIMEOUT, 0)
        if pool == nil { set(CURLOPT_SSL_SESSIONID_CACHE, 0) }
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        switch request.ipResolve {
        case .any: set(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_WHATEVER))
        case .v4: set(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V4))
        case .v6: set(CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V6))
        }
        if !target.resolve.isEmpty && pool == nil {
            // curl keeps pins in the DNS cache of the handle's multi, where every other probe
            // would find them: a cache of this transfer's own holds them (docs/probing.md#addresses).
            if let share = curl_share_init() {
                ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_DNS.rawValue))
                ccurl_setopt_pointer(handle, CURLOPT_SHARE, share)
                dnsShare = share
            }
        }
        setList(CURLOPT_RESOLVE, target.resolve)
        setList(CURLOPT_CONNECT_TO, request.connectTo)

        // Our own deadlines fire first and name the phase; curl's are the backstop.
        let slack: Int64 = 250
        let t = target.timeouts
        set(CURLOPT_TIMEOUT_MS, Int(t.total.milliseconds + slack))
        set(CURLOPT_CONNECTTIMEOUT_MS, Int(t.connect.milliseconds + t.tls.milliseconds + slack))
    }

    /// `proxy_url` (docs/probing.md#proxies). Without one, no proxy at all: curl would otherwise
    /// take one from the environment (`http_proxy`, `all_proxy`), which a probe must not do
    /// silently. With one, https goes through a CONNECT tunnel (curl's default for https) and
    /// http as absolute-form requests, which proxies allow where they refuse CONNECT to port 80.
    private func setProxy() {
        set(CURLOPT_PROXY, request.target.proxyURL ?? "")
        guard request.target.proxyURL != nil else { return }
        // Every name through the proxy, whatever `no_proxy` says.
        set(CURLOPT_NOPROXY, "")
        // The proxy's answer to CONNECT is not the target's response: it must not reach the
        // header callback, which would take its status line for the first byte.
        set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
    }

    /// What is sent: URL, method, body, headers, HTTP version, redirects.
    private func setRequest() {
        let target = request.target
        set(CURLOPT_URL, request.url)
        set(CURLOPT_USERAGENT, "phasewatch/\(PhaseWatchVersion.current)")
        set(CURLOPT_FOLLOWLOCATION, target.followRedirects ? 1 : 0)
        set(CURLOPT_MAXREDIRS, Target.maxRedirects)
        set(CURLOPT_HTTP_VERSION, Self.curlHTTPVersion(target.httpVersion, url: request.url))
        let method = target.method.uppercased()
        if method == "HEAD" {
            set(CURLOPT_NOBODY, 1)
        } else if method != "GET" {
            set(CURLOPT_CUSTOMREQUEST, method)
        }
        if !target.body.isEmpty {
            set(CURLOPT_POSTFIELDSIZE, target.body.utf8.count)
            set(CURLOPT_COPYPOSTFIELDS, target.body)
            if method == "GET" { set(CURLOPT_CUSTOMREQUEST, "GET") }
        }
        setList(CURLOPT_HTTPHEADER, request.headers)
    }

    /// How the server is verified and what the client presents.
    private func setTLS(caStore: UnsafeMutableRawPointer?) {
        let tls = request.target.tls
        // Debian's libcurl has a default CA directory (/etc/ssl/certs) beside its default bundle
        // (ca-certificates.crt, the same certificates); loading it cost most of an HTTPS probe's
        // CPU (bench/vs_blackbox). Verification uses a bundle alone, parsed once (below).
        ccurl_setopt_pointer(handle, CURLOPT_CAPATH, nil)
        // The CA bundle (the target's `ca_file` or the system's) parsed once per minute and
        // shared by every connection (`ccurl_ca_store`). libcurl's own cache keeps one bundle per
        // multi handle, so targets with their own CA next to targets on the system bundle made
        // it parse the system bundle again at every probe, on the loop thread (bench/soak's mix
        // showed it as scheduling lag).
        if let store = caStore {
            capture.pointee.ca_store = store
            ccurl_setopt_pointer(handle, CURLOPT_CAINFO, nil)
            // libcurl sets up its store after our SSL_CTX callback has put this one in place;
            // its cache would keep this store as "the store without a CA file" and hand it to
            // the next target (RequestFeatureTests: a system-bundle target verified against
            // another target's CA). Without its cache it only sets its flags on this store.
            set(CURLOPT_CA_CACHE_TIMEOUT, 0)
        } else if let ca = tls.caFile {
            set(CURLOPT_CAINFO, ca)  // unreadable: curl tries it and says why the probe failed
        }
        if let cert = tls.certFile { set(CURLOPT_SSLCERT, cert) }
        if let key = tls.keyFile { set(CURLOPT_SSLKEY, key) }
        if tls.insecureSkipVerify {
            set(CURLOPT_SSL_VERIFYPEER, 0)
            set(CURLOPT_SSL_VERIFYHOST, 0)
        }
    }

    /// curl and OpenSSL call back into this object (`Unmanaged`, no capture) as the transfer
    /// moves: socket opened, handshake started, request about to go, header lines, body bytes.
    private func setCallbacks() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        capture.pointee.owner = me
        capture.pointee.on_event = { owner, event in
            // nil between the transfers of a kept connection.
            guard let owner else { return }
            Unmanaged<Transfer>.fromOpaque(owner).takeUnretainedValue().tlsEvent(event)
        }
        ccurl_tls_capture_install(handle, capture)

        ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, me)
        ccurl_setopt_write_callback(handle) { data, size, count, userdata in
            Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().receiveBody(data!, size * count)
        }
        ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, me)
        ccurl_setopt_header_callback(handle) { data, size, count, userdata in
            Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().receiveHeader(data!, size * count)
        }
        ccurl_setopt_pointer(handle, CURLOPT_SOCKOPTDATA, me)
        ccurl_setopt_sockopt_callback(handle) { userdata, _, _ in
            Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().advance(to: .connect)
            return Int32(CURL_SOCKOPT_OK)
        }
        ccurl_setopt_pointer(handle, CURLOPT_OPENSOCKETDATA, me)
        ccurl_setopt_opensocket_callback(handle) { userdata, _, address in
            Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().openSocket(address!)
        }
        if let pool {
            // Kept on the connection curl makes, so its close reaches the pool's ledger whichever
            // transfer (or the pool's own cleanup) closes it.
            ccurl_setopt_pointer(handle, CURLOPT_CLOSESOCKETDATA, Unmanaged.passUnretained(pool.ledger).toOpaque())
            ccurl_setopt_closesocket_callback(handle) { ledger, socket in
                Unmanaged<SocketLedger>.fromOpaque(ledger!).takeUnretainedValue().closed(socket)
                return close(socket)
            }
        }
        ccurl_setopt_pointer(handle, CURLOPT_PREREQDATA, me)
        ccurl_setopt_prereq_callback(handle) { userdata, _, _, _, _ in
            Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().requestGoesOut()
            return Int32(CURL_PREREQFUNC_OK)
        }
        if request.trace {
            // The request headers as curl sends them (Host, Accept, ours), hop by hop. curl calls
            // its debug function only in verbose mode; with one set, it prints nothing itself.
            // CCurl has no typed wrapper for it: the function pointer goes through setopt's
            // pointer form, which has the same representation on the platforms we build for.
            let debug: curl_debug_callback = { _, type, data, size, userdata in
                if type == CURLINFO_HEADER_OUT, let data {
                    let bytes = UnsafeRawBufferPointer(start: data, count: size)
                    Unmanaged<Transfer>.fromOpaque(userdata!).takeUnretainedValue().requestHeadersSent(bytes)
                }
                return 0
            }
            ccurl_setopt_pointer(handle, CURLOPT_DEBUGDATA, me)
            ccurl_setopt_pointer(handle, CURLOPT_DEBUGFUNCTION, unsafeBitCast(debug, to: UnsafeMutableRawPointer.self))
            set(CURLOPT_VERBOSE, 1)
        }
    }

    private func set(_ option: CURLoption, _ value: Int) {
        ccurl_setopt_long(handle, option, value)
    }

    private func set(_ option: CURLoption, _ value: String) {
        ccurl_setopt_string(handle, option, value)
    }

    private func setList(_ option: CURLoption, _ values: [String]) {
        guard !values.isEmpty else { return }
        var list: UnsafeMutablePointer<curl_slist>?
        for value in values { list = curl_slist_append(list, value) }
        if let list {
            lists.append(list)
            ccurl_setopt_slist(handle, option, list)
        }
    }

    static func curlHTTPVersion(_ version: HTTPVersion, url: String) -> Int {
        let isHTTPS = url.lowercased().hasPrefix("https:")
        switch version {
        case .auto: return Int(CURL_HTTP_VERSION_2TLS)
        case .http1_1: return Int(CURL_HTTP_VERSION_1_1)
        // Over TLS, ALPN picks h2; in clear text a user asking for HTTP/2 means h2c with prior knowledge.
        case .http2: return isHTTPS ? Int(CURL_HTTP_VERSION_2_0) : Int(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
        }
    }

    // MARK: events (loop thread, inside curl_multi_perform)

    /// Moves forward to `next`; events for a phase already passed change nothing.
    private func advance(to next: Phase) {
        guard phase < next else { return }
        phase = next
        phaseSince = .now
    }

    /// curl is about to open a socket to `address`: after a redirect, only if the policy lets it,
    /// so a refused address never sees a packet.
    private func openSocket(_ address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        var bytes = [UInt8](repeating: 0, count: 16)
        var text = [CChar](repeating: 0, count: 64)
        let family = ccurl_sockaddr_ip(address, &bytes, &text, text.count)
        if family != 0 {
            let kind = AddressKind.of(Array(bytes.prefix(family == 4 ? 4 : 16)))
            if hops == 0 {
                originKind = max(originKind, kind)
            } else if let why = RedirectGuard.refusal(
                address: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), kind: kind,
                origin: originKind, policy: request.target.redirects)
            {
                redirectRefusal = why
                return CURL_SOCKET_BAD
            }
        }
        if socketOpenedAt == nil {
            socketOpenedAt = .now
            if trace != nil { trace!.hops[trace!.hops.count - 1].socketOpened = socketOpenedAt! - start }
        }
        let socket = ccurl_open_socket(address)
        if socket != CURL_SOCKET_BAD { pool?.ledger.opened(socket, at: .now) }
        // curl reports a failed socket() as a failed connect without its errno: keep it, so
        // running out of descriptors is told apart from the target refusing (ResultBuilder).
        if socket == CURL_SOCKET_BAD { socketErrno = errno }
        return socket
    }

    /// The handshake is done and the request is about to be sent: the server's time starts.
    private func requestGoesOut() {
        startTransferMark = offT(CURLINFO_STARTTRANSFER_TIME_T)
        advance(to: .processing)
        if requestSentAt == nil { requestSentAt = .now }
        if trace != nil {
            let i = trace!.hops.count - 1
            trace!.hops[i].requestSent = ContinuousClock.now - start
            trace!.hops[i].url = string(CURLINFO_EFFECTIVE_URL)
            trace!.hops[i].ip = string(CURLINFO_PRIMARY_IP)
        }
    }

    /// curl's debug function, CURLINFO_HEADER_OUT: the request line and headers of this hop.
    private func requestHeadersSent(_ bytes: UnsafeRawBufferPointer) {
        guard trace != nil else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" })
        guard !lines.isEmpty else { return }
        let i = trace!.hops.count - 1
        trace!.hops[i].requestLine = String(lines.removeFirst())
        trace!.hops[i].requestHeaders = lines.map { line in
            guard let colon = line.firstIndex(of: ":") else { return TraceHeader(name: String(line), value: "") }
            return TraceHeader(
                name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    /// Whether curl has received the first byte of this hop's response. Our header callback sees
    /// only whole lines; curl's starttransfer moves with the first byte read.
    private var firstByteArrived: Bool {
        offT(CURLINFO_STARTTRANSFER_TIME_T) > startTransferMark
    }

    private func tlsEvent(_ event: Int32) {
        if event == Int32(CCURL_TLS_HANDSHAKE_START) {
            tlsStartedAt = .now
            advance(to: .tls)
            if trace != nil { trace!.hops[trace!.hops.count - 1].tlsStarted = tlsStartedAt! - start }
        }
    }

    private func receiveHeader(_ data: UnsafeMutablePointer<CChar>, _ length: Int) -> Int {
        let line = UnsafeRawBufferPointer(start: data, count: length)
        if line.starts(with: "HTTP/".utf8) {
            // A status line: the first byte of a response has arrived.
            headers.removeAll(keepingCapacity: true)
            responseHasLocation = false
            headersEnded = false
            responseStatus = Self.statusCode(line)
            advance(to: .transfer)
            if trace != nil {
                let i = trace!.hops.count - 1
                if trace!.hops[i].firstByte == nil { trace!.hops[i].firstByte = ContinuousClock.now - start }
                trace!.hops[i].statusLine = String(decoding: Self.trimmed(line[...]), as: UTF8.self)
                trace!.hops[i].status = responseStatus
                trace!.hops[i].responseHeaders = []
            }
        } else if length <= 2 {  // the empty line that ends the headers
            headersEnded = true
            if (100..<200).contains(responseStatus) {
                phase = .processing  // an interim response; the real one is still to come
                startTransferMark = offT(CURLINFO_STARTTRANSFER_TIME_T)
            } else if request.target.followRedirects, (300..<400).contains(responseStatus), responseStatus != 304,
                responseHasLocation
            {
                // curl follows this one: the next hop starts over with a fresh lookup and connection.
                phase = .resolve
                phaseSince = .now
                hopStart = phaseSince
                hops += 1
                socketOpenedAt = nil
                if trace != nil {
                    trace!.hops[trace!.hops.count - 1].end = hopStart - start
                    trace!.hops.append(TransferTrace.Hop(start: hopStart - start))
                }
            }
        } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let name = String(decoding: line[..<colon], as: UTF8.self)
            let value = String(decoding: Self.trimmed(line[(colon + 1)...]), as: UTF8.self)
            if name.utf8.count == 8, name.lowercased() == "location" { responseHasLocation = true }
            headers.append((name, value))
            if trace != nil { trace!.hops[trace!.hops.count - 1].responseHeaders.append(TraceHeader(name: name, value: value)) }
        }
        return length
    }

    /// The number after the first space of a status line ("HTTP/1.1 200 OK", "HTTP/2 200").
    private static func statusCode(_ line: UnsafeRawBufferPointer) -> Int {
        guard let space = line.firstIndex(of: UInt8(ascii: " ")) else { return 0 }
        var code = 0
        for byte in line[(space + 1)...] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { break }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return code
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> Slice<UnsafeRawBufferPointer> {
        let isSpace = { (b: UInt8) in b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }) else { return bytes[bytes.endIndex...] }
        let last = bytes.lastIndex(where: { !isSpace($0) })!
        return bytes[first...last]
    }

    private func receiveBody(_ data: UnsafeMutablePointer<CChar>, _ length: Int) -> Int {
        bodyBytes += length
        if bodyBytes > request.target.bodyLimit {
            abort = .bodyTooLarge(limit: request.target.bodyLimit)
            return 0  // curl stops with CURLE_WRITE_ERROR
        }
        if keepBody { body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length) }
        return length
    }

    // MARK: deadlines (loop thread, between curl_multi_perform calls)

    /// The limit of the phase in progress: when it runs out and the failure it means.
    private func phaseLimit() -> (deadline: ContinuousClock.Instant, timeout: AbortReason)? {
        let t = request.target.timeouts
        switch phase {
        case .resolve: return (hopStart + t.connect, .phaseTimeout(.resolve, .dnsTimeout, limit: t.connect))
        case .connect: return (hopStart + t.connect, .phaseTimeout(.connect, .connectTimeout, limit: t.connect))
        case .tls: return (phaseSince + t.tls, .phaseTimeout(.tls, .tlsTimeout, limit: t.tls))
        case .processing: return (phaseSince + t.firstByte, .phaseTimeout(.processing, .firstByteTimeout, limit: t.firstByte))
        case .transfer, .assert: return nil
        }
    }

    /// When the limit of the phase in progress (or the total) runs out.
    func deadline() -> ContinuousClock.Instant {
        let total = start + request.target.timeouts.total
        guard let limit = phaseLimit() else { return total }
        return min(total, limit.deadline)
    }

    /// Marks the transfer as timed out if a limit has run out at `now`; true when it has.
    ///
    /// When both the phase's limit and the total have run out by the time the loop looks, the one
    /// that ran out first names the failure (the phase's on a tie), whatever the loop's wake-up
    /// delay: a phase limit left unset equals the total but starts later, so it never wins.
    func expire(at now: ContinuousClock.Instant) -> Bool {
        // A response whose first byte came but whose status line is still incomplete (headers
        // trickled byte by byte) has met its first-byte limit: it is in transfer, as curl's
        // timestamps say.
        if phase == .processing, firstByteArrived { advance(to: .transfer) }
        let t = request.target.timeouts
        let total = start + t.total
        if let limit = phaseLimit(), limit.deadline <= total, now >= limit.deadline {
            abort = limit.timeout
            return true
        }
        guard now >= total else { return false }
        abort = .phaseTimeout(phase, phase == .transfer ? .transferTimeout : .totalTimeout, limit: t.total)
        return true
    }

    func cancel() {
        abort = .cancelled
    }

    // MARK: result

    /// Reads what curl and the handshake left behind. `code` is the CURLcode the transfer ended
    /// with, or nil when phasewatch removed it from the multi handle itself.
    func outcome(code: CURLcode?) -> TransferOutcome {
        var timings = CurlTimings(
            namelookup: offT(CURLINFO_NAMELOOKUP_TIME_T), connect: offT(CURLINFO_CONNECT_TIME_T),
            appconnect: offT(CURLINFO_APPCONNECT_TIME_T), pretransfer: offT(CURLINFO_PRETRANSFER_TIME_T),
            starttransfer: offT(CURLINFO_STARTTRANSFER_TIME_T), total: offT(CURLINFO_TOTAL_TIME_T))
        if code == nil {
            // curl's total is only updated while it runs the transfer; ours is exact.
            timings.total = (ContinuousClock.now - start).microseconds
        }
        if timings.connect == 0, let tlsStartedAt, long(CURLINFO_REDIRECT_COUNT) == 0 {
            // On curl's clock: its lookup ended as the socket was opened. (Our `start` is not
            // curl's: other transfers admitted in the same pass run before curl starts this one.)
            if let socketOpenedAt {
                timings.connect = timings.namelookup + max(.zero, tlsStartedAt - socketOpenedAt).microseconds
            } else {
                timings.connect = (tlsStartedAt - start).microseconds
            }
        }
        if request.target.proxyURL != nil, long(CURLINFO_REDIRECT_COUNT) == 0 {
            // curl's connect ends with the TCP connection to the proxy; reaching the target takes
            // the proxy's handshake too (SOCKS, CONNECT), which curl puts in appconnect or in no
            // phase. It ends where the TLS handshake starts or the request goes out
            // (docs/probing.md#proxies).
            if let tlsStartedAt, let socketOpenedAt {
                timings.connect = max(timings.connect, timings.namelookup + max(.zero, tlsStartedAt - socketOpenedAt).microseconds)
            } else if tlsStartedAt == nil, timings.pretransfer > 0 {
                timings.connect = max(timings.connect, timings.pretransfer)
            }
        }
        if trace != nil {
            let i = trace!.hops.count - 1
            trace!.hops[i].end = ContinuousClock.now - start
            if trace!.hops[i].url.isEmpty { trace!.hops[i].url = string(CURLINFO_EFFECTIVE_URL) }
            if trace!.hops[i].ip.isEmpty { trace!.hops[i].ip = string(CURLINFO_PRIMARY_IP) }
        }
        let c = capture.pointee
        var handshake = HandshakeFacts()
        handshake.started = c.handshake_started != 0
        handshake.completed = c.handshake_done != 0
        handshake.version = Self.string(c.version)
        handshake.cipher = Self.string(c.cipher)
        handshake.alpn = Self.string(c.alpn)
        if c.have_leaf != 0 {
            handshake.leafNotBefore = Date(timeIntervalSince1970: TimeInterval(c.leaf_not_before))
            handshake.leafNotAfter = Date(timeIntervalSince1970: TimeInterval(c.leaf_not_after))
            handshake.chainNotAfter = Date(timeIntervalSince1970: TimeInterval(c.chain_not_after))
            handshake.subject = Self.string(c.subject)
            handshake.issuer = Self.string(c.issuer)
            handshake.sans = Self.string(c.sans).split(separator: "\n").map(String.init)
        }
        handshake.verifyError = c.verify_error
        if c.peer_alert_received != 0 { handshake.peerAlert = c.peer_alert }
        handshake.resumed = c.session_reused != 0
        let contentLength = offT(CURLINFO_CONTENT_LENGTH_DOWNLOAD_T)
        let newConnections = long(CURLINFO_NUM_CONNECTS)
        let poolFacts = pool?.ledger.end(
            reused: newConnections == 0 && requestSentAt != nil, failed: code != CURLE_OK,
            closeAsked: headers.contains { $0.name.lowercased() == "connection" && $0.value.lowercased().contains("close") },
            requestSentAt: requestSentAt)
        return TransferOutcome(
            curlCode: Int32(code?.rawValue ?? CURLE_ABORTED_BY_CALLBACK.rawValue),
            curlMessage: String(cString: errorBuffer),
            abort: abort,
            phaseAtEnd: phase,
            // The first byte of a response came and its header section never ended.
            inResponseHeaders: !headersEnded && (responseStatus > 0 || firstByteArrived),
            followedRedirect: hops > 0,
            redirectRefusal: redirectRefusal,
            usedTLS: handshake.started || request.url.lowercased().hasPrefix("https:"),
            timings: timings,
            status: long(CURLINFO_RESPONSE_CODE),
            httpVersion: long(CURLINFO_HTTP_VERSION),
            redirects: long(CURLINFO_REDIRECT_COUNT),
            contentLength: contentLength >= 0 ? Int(contentLength) : nil,
            bodyBytes: bodyBytes,
            body: body,
            headers: headers,
            primaryIP: string(CURLINFO_PRIMARY_IP),
            osErrno: socketErrno != 0 ? socketErrno : Int32(long(CURLINFO_OS_ERRNO)),
            newConnections: newConnections,
            requestSent: requestSentAt != nil,
            handshake: handshake,
            pool: poolFacts,
            trace: trace)
    }

    private func offT(_ info: CURLINFO) -> Int64 {
        var value: curl_off_t = 0
        ccurl_getinfo_off_t(handle, info, &value)
        return Int64(value)
    }

    private func long(_ info: CURLINFO) -> Int {
        var value = 0
        ccurl_getinfo_long(handle, info, &value)
        return value
    }

    private func string(_ info: CURLINFO) -> String {
        var value: UnsafeMutablePointer<CChar>?
        ccurl_getinfo_string(handle, info, &value)
        return value.map { String(cString: $0) } ?? ""
    }

    /// A C `char[N]` field, imported as a tuple, as a String.
    private static func string<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}
