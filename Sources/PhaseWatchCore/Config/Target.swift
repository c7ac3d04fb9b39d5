/// One configured probe target: what to request and what a good answer looks like.
/// Defaults are those of docs/config.md; the config loader fills them from `global`.
public struct Target: Sendable, Equatable {
    public var name: String
    public var url: String
    public var interval: Duration
    /// The interval while the target is failing (`TargetState.isFailing`,
    /// docs/probing.md#interval_while_failing); nil: `interval` whatever happens.
    public var intervalWhileFailing: Duration?
    public var method: String
    /// Request headers in config order. Values are secrets: never logged or shown.
    public var headers: [Header]
    public var body: String
    public var httpVersion: HTTPVersion
    public var ipProtocol: IPProtocol
    public var followRedirects: Bool
    /// Where redirects may lead (docs/probing.md, "Redirects").
    public var redirects = RedirectPolicy()
    public var timeouts: Timeouts
    public var retries: RetryPolicy
    public var expect: Expectations
    public var tls: TLSOptions
    /// `host:port:address[,address…]` overrides of name resolution, as curl's `--resolve`.
    public var resolve: [String]
    /// Bytes of response body read before the probe fails with `body_too_large`.
    public var bodyLimit: Int
    /// `http://`, `socks5://` or `socks5h://` proxy the probe goes through (docs/probing.md#proxies).
    /// May hold a user and password: a secret, shown only through `URLRedaction`.
    public var proxyURL: String?
    /// New connection per probe, a kept one, or both per run (docs/probing.md#connections).
    public var connection: ConnectionMode = .fresh
    /// One address per run, or every address of the name (docs/probing.md#addresses).
    public var ipPolicy: IPPolicy = .first
    /// With `ipPolicy` `.all`: whether a run needs every address or any address good.
    public var addressSuccess: AddressSuccess = .all
    public var slo: SLOConfig?
    /// Thresholds of the target's up/degraded/down state (global.state with this target's overrides).
    public var state: StateConfig

    public init(
        name: String, url: String, interval: Duration = .seconds(30), method: String = "GET",
        headers: [Header] = [], body: String = "", httpVersion: HTTPVersion = .auto,
        ipProtocol: IPProtocol = .auto, followRedirects: Bool = true, timeouts: Timeouts = .init(),
        retries: RetryPolicy = .init(), expect: Expectations = .init(), tls: TLSOptions = .init(),
        resolve: [String] = [], bodyLimit: Int = 1 << 20, slo: SLOConfig? = nil,
        state: StateConfig = .init()
    ) {
        self.name = name
        self.url = url
        self.interval = interval
        self.method = method
        self.headers = headers
        self.body = body
        self.httpVersion = httpVersion
        self.ipProtocol = ipProtocol
        self.followRedirects = followRedirects
        self.timeouts = timeouts
        self.retries = retries
        self.expect = expect
        self.tls = tls
        self.resolve = resolve
        self.bodyLimit = bodyLimit
        self.slo = slo
        self.state = state
    }

    /// Redirects followed at most, when `followRedirects` is on.
    public static let maxRedirects = 10

    /// How often the target runs: `intervalWhileFailing` while it is failing
    /// (`TargetState.isFailing`), else `interval`.
    public func interval(failing: Bool) -> Duration {
        failing ? intervalWhileFailing ?? interval : interval
    }
}

/// Which addresses a followed redirect may connect to. Checked on each hop's resolved address,
/// before the socket is opened: a redirect to a cloud metadata address must never reach it.
public struct RedirectPolicy: Sendable, Equatable {
    /// Follow redirects to any address, as blackbox_exporter does (`redirects.allow_private`).
    public var allowPrivate: Bool
    /// Addresses (as written by inet_ntop) refused after a redirect whatever the policy. Not a
    /// config key: tests refuse a loopback alias with it, so a failing test sends nothing anywhere.
    public var refusedAddresses: [String]

    public init(allowPrivate: Bool = false, refusedAddresses: [String] = []) {
        self.allowPrivate = allowPrivate
        self.refusedAddresses = refusedAddresses
    }
}

public struct Header: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public enum HTTPVersion: String, Sendable, Equatable, CaseIterable {
    case auto
    case http1_1 = "1.1"
    case http2 = "2"
}

public enum IPProtocol: String, Sendable, Equatable, CaseIterable {
    /// Prefer IPv4, fall back to IPv6 when the name has no IPv4 address.
    case auto
    case ip4
    case ip6
}

/// Layered limits. `connect` bounds DNS + TCP connect, `tls` the handshake, `firstByte` the wait
/// from request sent to first response byte, `total` the whole probe (one attempt).
public struct Timeouts: Sendable, Equatable {
    public var connect: Duration
    public var tls: Duration
    public var firstByte: Duration
    public var total: Duration

    public init(total: Duration = .seconds(10)) {
        self.init(connect: total, tls: total, firstByte: total, total: total)
    }

    public init(connect: Duration, tls: Duration, firstByte: Duration, total: Duration) {
        self.connect = connect
        self.tls = tls
        self.firstByte = firstByte
        self.total = total
    }
}

public struct RetryPolicy: Sendable, Equatable {
    /// Extra attempts after the first, on retryable failures only.
    public var attempts: Int
    /// Base of the exponential backoff; each wait is uniformly random in [0, backoff × 2^(n-1)].
    public var backoff: Duration

    public init(attempts: Int = 0, backoff: Duration = .milliseconds(200)) {
        self.attempts = attempts
        self.backoff = backoff
    }
}

public struct TLSOptions: Sendable, Equatable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    /// Name sent as SNI and checked against the certificate, instead of the URL's host.
    public var serverName: String?
    public var insecureSkipVerify: Bool
    /// Resume the previous TLS session on a new connection (docs/probing.md#tls-resumption).
    public var resume = false

    public init(
        caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil,
        serverName: String? = nil, insecureSkipVerify: Bool = false
    ) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.insecureSkipVerify = insecureSkipVerify
    }
}
