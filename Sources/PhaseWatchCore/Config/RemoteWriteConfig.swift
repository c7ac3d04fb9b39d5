/// One `remote_write` entry (docs/config.md#remote_write): where the agent pushes its series,
/// how it authenticates, and how much it holds while the receiver is away.
public struct RemoteWriteConfig: Sendable, Equatable {
    /// The receiver's endpoint, e.g. `https://mimir.example/api/v1/push`. May carry user info
    /// (sent as basic auth, never shown).
    public var url: String
    /// Extra request headers (e.g. `X-Scope-OrgID`), sent in file order.
    public var headers: [Header]
    public var basicAuth: BasicAuth?
    /// A file whose content (trimmed) is sent as `Authorization: Bearer …`; read at each request,
    /// so a rotated token is used without a reload.
    public var bearerTokenFile: String?
    public var tls: TLSOptions
    /// How often the series are collected and sent.
    public var sendInterval: Duration
    /// One request's time limit.
    public var timeout: Duration
    /// Labels added to every series that does not have them already, sorted by name.
    public var externalLabels: [Label]
    /// Samples held while the receiver is unreachable; beyond it the oldest are dropped.
    public var maxPending: Int
    /// Push the per-target histograms as native histograms (as the protobuf exposition shows
    /// them), which receivers without native-histogram support reject.
    public var sendNativeHistograms: Bool

    /// 10 minutes of a thousand targets at ~50 series each, sent every 15 s.
    public static let defaultMaxPending = 2_000_000

    public init(
        url: String, headers: [Header] = [], basicAuth: BasicAuth? = nil, bearerTokenFile: String? = nil, tls: TLSOptions = .init(),
        sendInterval: Duration = .seconds(15), timeout: Duration = .seconds(10), externalLabels: [Label] = [],
        maxPending: Int = Self.defaultMaxPending, sendNativeHistograms: Bool = false
    ) {
        self.url = url
        self.headers = headers
        self.basicAuth = basicAuth
        self.bearerTokenFile = bearerTokenFile
        self.tls = tls
        self.sendInterval = sendInterval
        self.timeout = timeout
        self.externalLabels = externalLabels
        self.maxPending = maxPending
        self.sendNativeHistograms = sendNativeHistograms
    }

    public struct BasicAuth: Sendable, Equatable {
        public var username: String
        /// Read at each request, like the bearer token file.
        public var passwordFile: String

        public init(username: String, passwordFile: String) {
            self.username = username
            self.passwordFile = passwordFile
        }
    }

    public struct Label: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The URL as metrics, logs and the API show it: without user info, which may hold a
    /// password (`url` label of `phasewatch_remote_write_*`).
    public var shownURL: String { URLRedaction.withoutUserInfo(url) }
}
