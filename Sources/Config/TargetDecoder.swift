import Foundation
import PhaseWatchCore

/// What a target needs from outside its own mapping.
struct TargetContext {
    let index: Int
    let defaults: TargetDefaults
    /// Relative TLS file paths are resolved against this (the config file's directory).
    let baseDirectory: String
}

/// Names seen so far, with the line each was first used on, for the duplicate error.
struct TargetNames {
    private var lines: [String: Int] = [:]

    /// The line of the earlier target with this name, or nil (and the name is recorded).
    mutating func firstLine(of name: String, line: Int) -> Int? {
        if let first = lines[name] { return first }
        lines[name] = line
        return nil
    }
}

/// A target while its keys are read: what later keys compare against (the interval for the
/// timeouts, a valid url for `expect.tls`), besides the target itself.
struct TargetDraft {
    var target = Target(name: "", url: "")
    let context: TargetContext
    /// The target's mapping: errors about the target as a whole point at its start.
    let fields: Fields
    var names: TargetNames
    /// The interval in force (own or inherited), nil when the value given was invalid.
    var interval: Duration?
    var ownInterval: Located?
    /// `timeouts.total` in force (own or inherited), nil when the value given was invalid.
    var total: Duration?
    var ownTotal: Located?
    /// The url when it is valid.
    var url: String?
}

/// One key of a target's mapping and how it is read. Keys are read in this order, each with its
/// value or nil when the file leaves it out (so inherited defaults are applied in one place).
struct TargetKey: Sendable {
    let name: String
    let read: @Sendable (inout YAMLReader, Located?, inout TargetDraft) -> Void

    /// Every per-target key of docs/config.md#targets. Adding one: a field in `Target`, an entry
    /// here, and the curl option in `Transfer`.
    static let all: [TargetKey] = [
        TargetKey(name: "name") { $0.name($1, &$2) },
        TargetKey(name: "url") { $0.url($1, &$2) },
        TargetKey(name: "interval") { $0.interval($1, &$2) },
        TargetKey(name: "method") { $0.method($1, &$2) },
        TargetKey(name: "headers") { $2.target.headers = $0.requestHeaders($1) },
        TargetKey(name: "body") { reader, value, draft in
            if let body = reader.text(value) { draft.target.body = body }
        },
        TargetKey(name: "http_version") { $0.httpVersion($1, &$2) },
        TargetKey(name: "ip_protocol") { $0.ipProtocol($1, &$2) },
        TargetKey(name: "follow_redirects") { reader, value, draft in
            if let follow = reader.bool(value) { draft.target.followRedirects = follow }
        },
        TargetKey(name: "redirects") { reader, value, draft in
            let defaults = draft.context.defaults.redirects
            draft.target.redirects = reader.fields(value, known: TargetKeys.redirects).map { reader.redirects($0, defaults: defaults) } ?? defaults
        },
        TargetKey(name: "timeouts") { $0.timeouts($1, &$2) },
        TargetKey(name: "interval_while_failing") { $0.intervalWhileFailing($1, &$2) },
        TargetKey(name: "retries") { reader, value, draft in
            if let retries = reader.fields(value, known: TargetKeys.retries) { draft.target.retries = reader.retries(retries) }
        },
        TargetKey(name: "expect") { reader, value, draft in
            if let expect = reader.fields(value, known: ExpectKeys.expect) {
                draft.target.expect = reader.expectations(expect, url: draft.url)
            }
        },
        TargetKey(name: "tls") { reader, value, draft in
            if let tls = reader.fields(value, known: TLSKeys.target) {
                draft.target.tls = reader.tlsOptions(tls, baseDirectory: draft.context.baseDirectory, url: draft.url)
            }
        },
        TargetKey(name: "proxy_url") { reader, value, draft in
            if let value, let proxy = reader.proxyURL(value) { draft.target.proxyURL = proxy }
        },
        TargetKey(name: "connection") { reader, value, draft in
            if let mode = reader.choice(value, key: "connection", ConnectionMode.self) { draft.target.connection = mode }
        },
        TargetKey(name: "resolve") { reader, value, draft in draft.target.resolve = reader.resolvePins(value) },
        TargetKey(name: "ip_policy") { $0.ipPolicy($1, &$2) },
        TargetKey(name: "success") { reader, value, draft in
            guard let value, let success = reader.choice(value, key: "success", AddressSuccess.self) else { return }
            draft.target.addressSuccess = success
            if draft.target.ipPolicy != .all {
                reader.fail(value, "success says whether any or every address must answer: it needs ip_policy: all (docs/probing.md#addresses)")
            }
        },
        TargetKey(name: "slo") { reader, value, draft in
            if let value, !value.isNull, let slo = reader.fields(value, known: SLOKeys.slo) { draft.target.slo = reader.slo(slo, mode: draft.target.connection) }
        },
        TargetKey(name: "state") { reader, value, draft in
            let defaults = draft.context.defaults.state
            draft.target.state = reader.fields(value, known: StateKeys.state).map { reader.state($0, defaults: defaults) } ?? defaults
        },
    ]
}

enum TargetKeys {
    static let target = TargetKey.all.map(\.name)
    static let redirects = ["allow_private"]
    static let timeouts = ["connect", "tls", "first_byte", "total"]
    static let retries = ["attempts", "backoff"]
}

extension YAMLReader {
    /// One `targets[i]` entry. Returns a target even when some of its values were wrong (with
    /// defaults in their place) so that the checks that compare values still run; the loader
    /// throws at the end whenever any error was recorded.
    mutating func target(
        _ item: Located, context: TargetContext, names: inout TargetNames, keys: [TargetKey] = TargetKey.all
    ) -> Target? {
        guard !item.isNull else {
            fail(item, "expected a mapping with at least name and url, got \(item.shown)")
            return nil
        }
        guard let fields = fields(item, known: keys.map(\.name)) else { return nil }
        var draft = TargetDraft(context: context, fields: fields, names: names)
        for key in keys {
            key.read(&self, fields[key.name], &draft)
        }
        names = draft.names
        return draft.target
    }

    fileprivate mutating func name(_ value: Located?, _ draft: inout TargetDraft) {
        guard let value = require(draft.fields, "name"), let name = text(value) else { return }
        if !Syntax.isName(name) {
            fail(value, "invalid name \"\(name)\": \(Syntax.nameRule)")
        } else if let first = draft.names.firstLine(of: name, line: value.line) {
            fail(value, "duplicate target name \"\(name)\" (first used on line \(first))")
        }
        draft.target.name = name
    }

    fileprivate mutating func url(_ value: Located?, _ draft: inout TargetDraft) {
        guard let value = require(draft.fields, "url"), let url = text(value) else { return }
        if let problem = Syntax.urlProblem(url) {
            fail(value, problem)
        } else {
            draft.url = url
            draft.target.url = url
        }
    }

    fileprivate mutating func interval(_ value: Located?, _ draft: inout TargetDraft) {
        draft.ownInterval = value
        draft.interval = value.map { duration($0, atLeast: .seconds(1)) } ?? draft.context.defaults.interval
        if let interval = draft.interval { draft.target.interval = interval }
    }

    /// A value from a closed set: `parse` gives it, or nil and `problem` says why.
    fileprivate mutating func keyword<Value>(
        _ value: Located?, _ parse: (String) -> Value?, problem: (String) -> String
    ) -> Value? {
        guard let value, let text = text(value) else { return nil }
        if let parsed = parse(text) { return parsed }
        fail(value, problem(text))
        return nil
    }

    fileprivate mutating func method(_ value: Located?, _ draft: inout TargetDraft) {
        let method = keyword(value, { Syntax.isToken($0) ? $0.uppercased() : nil }) {
            "invalid HTTP method \"\($0)\": use a name like GET, HEAD or POST"
        }
        if let method { draft.target.method = method }
    }

    fileprivate mutating func httpVersion(_ value: Located?, _ draft: inout TargetDraft) {
        // Plain 1.1 and 2 arrive as YAML numbers; their text is what the user wrote.
        let version = keyword(value, HTTPVersion.init(rawValue:)) { "unsupported http_version \"\($0)\": use auto, \"1.1\" or \"2\"" }
        if let version { draft.target.httpVersion = version }
    }

    fileprivate mutating func ipProtocol(_ value: Located?, _ draft: inout TargetDraft) {
        if let parsed = choice(value, key: "ip_protocol", IPProtocol.self) { draft.target.ipProtocol = parsed }
    }

    /// One of the words of `T` ("unsupported connection \"x\": use fresh, reuse or both"), with
    /// the closest as a suggestion.
    mutating func choice<T: RawRepresentable & CaseIterable>(_ value: Located?, key: String, _: T.Type) -> T? where T.RawValue == String {
        keyword(value, T.init(rawValue:)) { text in
            let words = T.allCases.map(\.rawValue)
            var message = "unsupported \(key) \"\(text)\": use \(words.dropLast().joined(separator: ", ")) or \(words.last ?? "")"
            if let close = Suggestion.closest(to: text, among: words) {
                message += "; did you mean \"\(close)\"?"
            }
            return message
        }
    }

    /// Request headers in file order. Values may be any scalar (`X-Retries: 3`), kept as text.
    /// Values are secrets: no error quotes one, not even `headers: "Authorization: Bearer …"`.
    mutating func requestHeaders(_ value: Located?) -> [Header] {
        var headers: [Header] = []
        if let value, case .scalar = value.node, !value.isNull {
            fail(value, "expected a mapping like {Authorization: ...}, got text (not shown: header values are secret)")
            return headers
        }
        for entry in entries(value) ?? [] {
            guard Syntax.isToken(entry.key) else {
                fail(entry.keyAt, "invalid header name \"\(entry.key)\": use letters, digits and - (no spaces or colons)")
                continue
            }
            guard let text = text(entry.value) else { continue }
            // A line break would let the value end the header and start a new one.
            if text.contains(where: \.isNewline) {
                fail(entry.value, "header value must not contain line breaks")
                continue
            }
            headers.append(Header(name: entry.key, value: text))
        }
        return headers
    }

    /// The layered timeouts: total defaults to global.timeout, the others to total; every one
    /// must fit inside total, and total inside the interval (otherwise probes of one target
    /// would overlap and the schedule could never keep up).
    fileprivate mutating func timeouts(_ value: Located?, _ draft: inout TargetDraft) {
        let section = self.fields(value, known: TargetKeys.timeouts)
        let ownTotal = section?["total"]
        let total = ownTotal.map { positiveDuration($0) } ?? draft.context.defaults.timeout
        var result = Timeouts(total: total ?? GlobalConfig().timeout)

        let totalText = total.map { value in
            ownTotal == nil ? "\(PromDuration.format(value)), from global.timeout" : PromDuration.format(value)
        }
        func phase(_ key: String) -> Duration? {
            guard let value = section?[key], let phase = positiveDuration(value) else { return nil }
            if let total, let totalText, phase > total {
                fail(value, "\(PromDuration.format(phase)) is longer than timeouts.total (\(totalText))")
                return nil
            }
            return phase
        }
        result.connect = phase("connect") ?? result.total
        result.tls = phase("tls") ?? result.total
        result.firstByte = phase("first_byte") ?? result.total
        draft.target.timeouts = result
        draft.total = total
        draft.ownTotal = ownTotal

        guard let total, let interval = draft.interval, total > interval else { return }
        let intervalText = PromDuration.format(interval)
        let from = draft.ownInterval == nil ? ", from global.interval" : ""
        fail(at: [
            (ownTotal, "\(PromDuration.format(total)) is longer than the target's interval (\(intervalText)\(from))"),
            (draft.ownInterval, "timeout \(PromDuration.format(total)) (from global.timeout) is longer than the interval \(intervalText)"),
        ], or: draft.fields, "timeout \(PromDuration.format(total)) (from global.timeout) is longer than the interval \(intervalText) (from global.interval)")
    }

    /// A conflict between settings of a target, reported at the first of `places` the target
    /// set itself, with its message; at the target (`fields`) when it inherited them all.
    private mutating func fail(at places: [(Located?, String)], or fields: Fields, _ message: String) {
        if let (place, text) = places.first(where: { $0.0 != nil }), let place {
            fail(place, text)
        } else {
            fail(fields, message)
        }
    }

    /// `interval_while_failing`, own or from `global`: it stands in for the interval, so it may
    /// not be longer than the interval and, like it, must leave room for the timeout (`timeouts`).
    /// Errors point at what the target set, as the timeout's do.
    fileprivate mutating func intervalWhileFailing(_ value: Located?, _ draft: inout TargetDraft) {
        guard let fast = value.map({ positiveDuration($0) }) ?? draft.context.defaults.intervalWhileFailing else { return }
        draft.target.intervalWhileFailing = fast
        let fastText = PromDuration.format(fast)
        let inherited = "interval_while_failing \(fastText) (from global.interval_while_failing)"
        if let interval = draft.interval, fast > interval {
            let intervalText = PromDuration.format(interval)
            let from = draft.ownInterval == nil ? ", from global.interval" : ""
            fail(at: [
                (value, "\(fastText) is longer than the target's interval (\(intervalText)\(from))"),
                (draft.ownInterval, "\(inherited) is longer than the interval \(intervalText)"),
            ], or: draft.fields, "\(inherited) is longer than the interval \(intervalText) (from global.interval)")
            return
        }
        // A timeout longer than the interval was reported by `timeouts` already.
        guard let total = draft.total, total > fast, draft.interval.map({ total <= $0 }) ?? false else { return }
        let totalText = PromDuration.format(total)
        let from = draft.ownTotal == nil ? ", from global.timeout" : ""
        fail(at: [
            (value, "\(fastText) is shorter than the target's timeout (\(totalText)\(from)); set timeouts.total to at most \(fastText)"),
            (draft.ownTotal, "\(totalText) is longer than \(inherited)"),
        ], or: draft.fields, "timeout \(totalText) (from global.timeout) is longer than \(inherited)")
    }

    /// `redirects: {allow_private: …}`, over the policy from `global`.
    mutating func redirects(_ fields: Fields, defaults: RedirectPolicy) -> RedirectPolicy {
        var policy = defaults
        if let allow = bool(fields["allow_private"]) { policy.allowPrivate = allow }
        return policy
    }

    fileprivate mutating func retries(_ fields: Fields) -> RetryPolicy {
        var policy = RetryPolicy()
        if let value = fields["attempts"], let attempts = int(value) {
            if (0...10).contains(attempts) {
                policy.attempts = attempts
            } else {
                fail(value, "must be between 0 and 10, got \(attempts)")
            }
        }
        if let backoff = duration(fields["backoff"]) {
            policy.backoff = backoff
        }
        return policy
    }

    /// `host:port:address[,address…]` entries, as curl's `--resolve` takes them: IP addresses
    /// only (IPv6 with or without brackets), each host:port once.
    fileprivate mutating func resolvePins(_ value: Located?) -> [String] {
        var pins: [String] = []
        var seen: [String: Int] = [:]
        for item in list(value) ?? [] {
            guard let pin = text(item, expected: "host:port:address") else { continue }
            let parts = pin.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, !parts[2].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
                fail(item, "\"\(pin)\" is not of the form host:port:address[,address…] (port 1-65535)")
                continue
            }
            if let bad = ResolvePin.split(parts[2]).first(where: { IPAddress.canonical($0) == nil }) {
                fail(item, "\"\(bad)\" in \"\(pin)\" is not an IP address: resolve pins a name to addresses, as curl's --resolve does")
                continue
            }
            let key = "\(parts[0].lowercased()):\(port)"
            if let first = seen[key] {
                fail(item, "\(key) is pinned twice (first on line \(first)): give its addresses in one entry, separated by commas")
                continue
            }
            seen[key] = item.line
            pins.append(pin)
        }
        return pins
    }

    /// `ip_policy`: `all` makes a new connection to each address of the URL's host each run, so
    /// it cannot go through a proxy (which resolves the name) or keep connections.
    fileprivate mutating func ipPolicy(_ value: Located?, _ draft: inout TargetDraft) {
        guard let value, let policy = choice(value, key: "ip_policy", IPPolicy.self) else { return }
        draft.target.ipPolicy = policy
        guard policy == .all else { return }
        if draft.target.proxyURL != nil {
            fail(value, "ip_policy: all probes each address of the URL's host, but through proxy_url the proxy resolves it: use one or the other")
        } else if draft.target.connection != .fresh {
            fail(value, "ip_policy: all opens a new connection to each address every run: it does not combine with connection: \(draft.target.connection.rawValue) (docs/probing.md#addresses)")
        } else if draft.target.tls.resume {
            fail(value, "ip_policy: all opens a new connection to each address every run: it does not combine with tls.resume (docs/probing.md#addresses)")
        }
    }
}

extension YAMLReader {
    static let proxySchemes = ["http", "socks5", "socks5h"]

    /// `proxy_url`: a proxy libcurl can use without settings of its own (docs/config.md#targets).
    /// Quoted only redacted: it may carry a password.
    fileprivate mutating func proxyURL(_ value: Located) -> String? {
        guard let url = nonEmptyText(value) else { return nil }
        let shown = "\"\(URLRedaction.redacted(url))\""
        guard let separator = url.range(of: "://") else {
            fail(value, "\(shown) has no scheme: use http://, socks5:// or socks5h:// and host:port")
            return nil
        }
        let scheme = url[..<separator.lowerBound].lowercased()
        guard Self.proxySchemes.contains(scheme) else {
            fail(value, "unsupported proxy scheme \"\(scheme)\": use http://, socks5:// or socks5h://")
            return nil
        }
        // libcurl's URL parser knows no socks schemes; the authority's grammar is the same.
        let asHTTP = "http" + url[separator.lowerBound...]
        if let problem = URLCheck.problem(asHTTP, shownAs: shown) {
            fail(value, problem)
            return nil
        }
        guard let parts = URLComponents(string: asHTTP), parts.port != nil else {
            fail(value, "\(shown) needs a port, like \(scheme)://proxy.example:\(scheme == "http" ? 3128 : 1080)")
            return nil
        }
        guard parts.path.isEmpty || parts.path == "/", parts.query == nil, parts.fragment == nil else {
            fail(value, "\(shown) must name only the proxy (scheme, host, port, and a user and password if any), without a path or query")
            return nil
        }
        return url
    }
}
