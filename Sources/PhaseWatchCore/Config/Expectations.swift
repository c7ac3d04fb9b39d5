/// What a successful probe must show (docs/config.md `expect`). Regexes are kept as source text;
/// the config loader validates them and the prober compiles them.
public struct Expectations: Sendable, Equatable {
    public var status: [StatusMatcher]
    public var bodyMatches: String?
    public var bodyNotMatches: String?
    /// Response header name (case-insensitive) → regex its value must match.
    public var headers: [Header]
    public var tls: Bool
    public var certMinDays: Int?
    public var maxDuration: Duration?

    public init(
        status: [StatusMatcher] = [.class(2)], bodyMatches: String? = nil, bodyNotMatches: String? = nil,
        headers: [Header] = [], tls: Bool = false, certMinDays: Int? = nil, maxDuration: Duration? = nil
    ) {
        self.status = status
        self.bodyMatches = bodyMatches
        self.bodyNotMatches = bodyNotMatches
        self.headers = headers
        self.tls = tls
        self.certMinDays = certMinDays
        self.maxDuration = maxDuration
    }

    /// Whether the prober has to keep the response body.
    public var needsBody: Bool { bodyMatches != nil || bodyNotMatches != nil }

    /// Whether checking a response runs regexes (body or header patterns).
    public var hasPatterns: Bool { needsBody || !headers.isEmpty }
}

/// One accepted status: an exact code (`200`) or a class (`2xx`).
public enum StatusMatcher: Sendable, Equatable, CustomStringConvertible {
    case code(Int)
    case `class`(Int)

    public init?(_ text: String) {
        if text.count == 3, text.hasSuffix("xx"), let digit = Int(text.prefix(1)), (1...5).contains(digit) {
            self = .class(digit)
        } else if let code = Int(text), (100...599).contains(code) {
            self = .code(code)
        } else {
            return nil
        }
    }

    public func matches(_ status: Int) -> Bool {
        switch self {
        case .code(let code): status == code
        case .class(let digit): status / 100 == digit
        }
    }

    public var description: String {
        switch self {
        case .code(let code): "\(code)"
        case .class(let digit): "\(digit)xx"
        }
    }
}
