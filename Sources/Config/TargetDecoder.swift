import PhaseWatchCore

/// What a target needs from outside its own mapping.
struct TargetContext {
    let index: Int
    let inherited: Inherited
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

enum TargetKeys {
    static let target = [
        "name", "url", "interval", "method", "headers", "body", "http_version", "ip_protocol",
        "follow_redirects", "redirects", "timeouts", "retries", "expect", "tls", "slo", "state",
    ]
    static let redirects = ["allow_private"]
    static let timeouts = ["connect", "tls", "first_byte", "total"]
    static let retries = ["attempts", "backoff"]
}

extension YAMLReader {
    /// One `targets[i]` entry. Returns a target even when some of its values were wrong (with
    /// defaults in their place) so that the checks that compare values still run; the loader
    /// throws at the end whenever any error was recorded.
    mutating func target(_ item: Located, context: TargetContext, names: inout TargetNames) -> Target? {
        guard !item.isNull else {
            fail(item, "expected a mapping with at least name and url, got \(item.shown)")
            return nil
        }
        guard let fields = fields(item, known: TargetKeys.target) else { return nil }
        var target = Target(name: "", url: "")

        if let value = require(fields, "name"), let name = text(value) {
            if !Syntax.isName(name) {
                fail(value, "invalid name \"\(name)\": \(Syntax.nameRule)")
            } else if let first = names.firstLine(of: name, line: value.line) {
                fail(value, "duplicate target name \"\(name)\" (first used on line \(first))")
            }
            target.name = name
        }
        var url: String?
        if let value = require(fields, "url"), let text = text(value) {
            if let problem = Syntax.urlProblem(text) {
                fail(value, problem)
            } else {
                url = text
                target.url = text
            }
        }

        let ownInterval = fields["interval"]
        let interval = ownInterval.map { duration($0, atLeast: .seconds(1)) } ?? context.inherited.interval
        if let interval { target.interval = interval }

        if let value = fields["method"], let method = text(value) {
            if Syntax.isToken(method) {
                target.method = method.uppercased()
            } else {
                fail(value, "invalid HTTP method \"\(method)\": use a name like GET, HEAD or POST")
            }
        }
        target.headers = requestHeaders(fields["headers"])
        if let value = fields["body"], let body = text(value) {
            target.body = body
        }
        if let value = fields["http_version"], let version = text(value) {
            // Plain 1.1 and 2 arrive as YAML numbers; their text is what the user wrote.
            if let parsed = HTTPVersion(rawValue: version) {
                target.httpVersion = parsed
            } else {
                fail(value, "unsupported http_version \"\(version)\": use auto, \"1.1\" or \"2\"")
            }
        }
        if let value = fields["ip_protocol"], let text = text(value) {
            if let parsed = IPProtocol(rawValue: text) {
                target.ipProtocol = parsed
            } else {
                var message = "unsupported ip_protocol \"\(text)\": use auto, ip4 or ip6"
                if let close = Suggestion.closest(to: text, among: IPProtocol.allCases.map(\.rawValue)) {
                    message += "; did you mean \"\(close)\"?"
                }
                fail(value, message)
            }
        }
        if let follow = bool(fields["follow_redirects"]) {
            target.followRedirects = follow
        }
        target.redirects = context.inherited.redirects
        if let redirects = self.fields(fields["redirects"], known: TargetKeys.redirects) {
            target.redirects = self.redirects(redirects, defaults: context.inherited.redirects)
        }

        target.timeouts = timeouts(fields, interval: interval, ownInterval: ownInterval, context: context)
        if let retries = self.fields(fields["retries"], known: TargetKeys.retries) {
            target.retries = self.retries(retries)
        }
        if let expect = self.fields(fields["expect"], known: ExpectKeys.expect) {
            target.expect = self.expectations(expect, url: url)
        }
        if let tls = self.fields(fields["tls"], known: TLSKeys.tls) {
            target.tls = tlsOptions(tls, baseDirectory: context.baseDirectory)
        }
        if let value = fields["slo"], !value.isNull, let slo = self.fields(value, known: SLOKeys.slo) {
            target.slo = self.slo(slo)
        }
        target.state = context.inherited.state
        if let state = self.fields(fields["state"], known: StateKeys.state) {
            target.state = self.state(state, defaults: context.inherited.state)
        }
        return target
    }

    /// Request headers in file order. Values may be any scalar (`X-Retries: 3`), kept as text.
    /// Values are secrets: no error quotes one, not even `headers: "Authorization: Bearer …"`.
    private mutating func requestHeaders(_ value: Located?) -> [Header] {
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
    private mutating func timeouts(
        _ target: Fields, interval: Duration?, ownInterval: Located?, context: TargetContext
    ) -> Timeouts {
        let section = self.fields(target["timeouts"], known: TargetKeys.timeouts)
        let ownTotal = section?["total"]
        let total = ownTotal.map { positiveDuration($0) } ?? context.inherited.timeout
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

        if let total, let interval, total > interval {
            let totalText = PromDuration.format(total)
            let intervalText = PromDuration.format(interval)
            if let ownTotal {
                let from = ownInterval == nil ? ", from global.interval" : ""
                fail(ownTotal, "\(totalText) is longer than the target's interval (\(intervalText)\(from))")
            } else if let ownInterval {
                fail(ownInterval, "timeout \(totalText) (from global.timeout) is longer than the interval \(intervalText)")
            } else {
                fail(target, "timeout \(totalText) (from global.timeout) is longer than the interval \(intervalText) (from global.interval)")
            }
        }
        return result
    }

    /// `redirects: {allow_private: …}`, over the policy from `global`.
    mutating func redirects(_ fields: Fields, defaults: RedirectPolicy) -> RedirectPolicy {
        var policy = defaults
        if let allow = bool(fields["allow_private"]) { policy.allowPrivate = allow }
        return policy
    }

    private mutating func retries(_ fields: Fields) -> RetryPolicy {
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
}
