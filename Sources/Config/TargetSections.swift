import PhaseWatchCore

enum ExpectKeys {
    static let expect = [
        "status", "body_matches", "body_not_matches", "headers", "tls", "cert_min_days", "max_duration",
    ]
}

enum TLSKeys {
    static let tls = ["ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"]
    /// A target's: `resume` belongs to probes (remote_write has no sessions to measure).
    static let target = tls + ["resume"]
}

enum StateKeys {
    static let state = ["recent_probes", "degraded_error_ratio", "down_after", "recover_after"]
}

enum SLOKeys {
    static let slo = ["window", "availability", "latency", "weighting", "connection", "min_coverage", "availability_basis"]
    static let latency = ["threshold", "objective"]
}

extension YAMLReader {
    /// `expect`: what a successful probe must show. `url` is the target's URL when it is valid.
    mutating func expectations(_ fields: Fields, url: String?) -> Expectations {
        var expect = Expectations()
        if let items = list(fields["status"]) {
            if items.isEmpty, let value = fields["status"] {
                fail(value, "must list at least one status code or class, like [2xx]")
            }
            var matchers: [StatusMatcher] = []
            for item in items {
                guard let text = text(item, expected: "a status code or class") else { continue }
                if let matcher = StatusMatcher(text.lowercased()) {
                    matchers.append(matcher)
                } else {
                    fail(item, "\"\(text)\" is not a status code (100-599) or class (1xx-5xx)")
                }
            }
            if !matchers.isEmpty { expect.status = matchers }
        }
        expect.bodyMatches = regex(fields["body_matches"])
        expect.bodyNotMatches = regex(fields["body_not_matches"])
        for entry in entries(fields["headers"]) ?? [] {
            if let pattern = regex(entry.value) {
                expect.headers.append(Header(name: entry.key, value: pattern))
            }
        }
        if let value = fields["tls"], let tls = bool(value) {
            if tls, let url, Syntax.isPlainHTTP(url) {
                fail(value, "url is http://, the probe can never be TLS")
            }
            expect.tls = tls
        }
        if let value = fields["cert_min_days"], let days = int(value) {
            if days >= 0 {
                expect.certMinDays = days
            } else {
                fail(value, "must be 0 or more, got \(days)")
            }
        }
        expect.maxDuration = positiveDuration(fields["max_duration"])
        return expect
    }

    /// A regex (ICU syntax, as the prober compiles it), kept as text.
    private mutating func regex(_ value: Located?) -> String? {
        guard let value, let pattern = text(value, expected: "a regular expression") else { return nil }
        if let problem = RegexCheck.problem(pattern) {
            fail(value, problem)
            return nil
        }
        return pattern
    }

    /// `tls`: client-side TLS settings. File paths are stored absolute.
    /// `tls`; `url` is the target's URL when it is valid (`resume` needs https).
    mutating func tlsOptions(_ fields: Fields, baseDirectory: String, url: String? = nil) -> TLSOptions {
        var options = TLSOptions()
        func file(_ key: String) -> String? {
            fields[key].flatMap { readableFile($0, baseDirectory: baseDirectory) }
        }
        options.caFile = file("ca_file")
        options.certFile = file("cert_file")
        options.keyFile = file("key_file")
        // A client certificate is useless without its private key, and the other way round.
        switch (fields["cert_file"], fields["key_file"]) {
        case (let cert?, nil): fail(cert, "cert_file needs key_file too")
        case (nil, let key?): fail(key, "key_file needs cert_file too")
        default: break
        }
        options.serverName = nonEmptyText(fields["server_name"])
        if let skip = bool(fields["insecure_skip_verify"]) {
            options.insecureSkipVerify = skip
        }
        if let value = fields["resume"], let resume = bool(value) {
            if resume, let url, Syntax.isPlainHTTP(url) {
                fail(value, "tls.resume needs an https URL: a plain http target has no TLS session to resume (docs/probing.md#tls-resumption)")
            } else {
                options.resume = resume
            }
        }
        return options
    }

    /// `slo`: at least one of availability and latency; percentages become ratios. `mode` is the
    /// target's `connection`, which decides what `slo.connection` may judge.
    mutating func slo(_ fields: Fields, mode: ConnectionMode = .fresh) -> SLOConfig {
        var slo = SLOConfig()
        if let value = fields["connection"], let kind = choice(value, key: "slo.connection", ConnectionKind.self) {
            if mode.kinds.contains(kind) {
                slo.connection = kind
            } else {
                fail(value, "slo.connection \(kind.rawValue) judges requests this target never makes (connection: \(mode.rawValue)); use \(mode.kinds.map(\.rawValue).joined(separator: " or ")) (docs/slo.md#connection)")
            }
        }
        if let window = duration(fields["window"], atLeast: .seconds(3600)) {
            slo.window = window
        }
        if let value = fields["availability"], let percent = percent(value) {
            slo.availability = Syntax.ratio(percent: percent)
        }
        if let value = fields["latency"], let latency = self.fields(value, known: SLOKeys.latency) {
            let threshold = require(latency, "threshold").flatMap { positiveDuration($0) }
            let objective = require(latency, "objective").flatMap { percent($0) }
            if let threshold, let objective {
                slo.latency = LatencySLO(threshold: threshold, objective: Syntax.ratio(percent: objective))
            }
        }
        if let value = fields["weighting"], let text = text(value) {
            if let weighting = SLOWeighting(rawValue: text) {
                slo.weighting = weighting
            } else {
                var message = "unsupported weighting \"\(text)\": use probes or time"
                if let close = Suggestion.closest(to: text, among: SLOWeighting.allCases.map(\.rawValue)) {
                    message += "; did you mean \"\(close)\"?"
                }
                fail(value, message)
            }
        }
        if let value = fields["min_coverage"], let ratio = number(value) {
            if ratio >= 0, ratio <= 1 {
                slo.minCoverage = ratio
            } else {
                fail(value, "must be a ratio from 0 to 1 (0.9: 90 % of the SLO window observed), got \(value.shown)")
            }
        }
        if let value = fields["availability_basis"], let basis = choice(value, key: "availability_basis", AvailabilityBasis.self) {
            if fields["availability"] != nil {
                slo.availabilityBasis = basis
            } else {
                fail(value, "availability_basis picks the basis of the availability SLO, and this slo has no availability objective (docs/slo.md#first-attempt-and-final)")
            }
        }
        if fields["availability"] == nil, fields["latency"] == nil {
            fail(fields, "an slo needs availability, latency or both")
        }
        return slo
    }

    /// `state`: the thresholds of up/degraded/down; keys not given keep `defaults`.
    mutating func state(_ fields: Fields, defaults: StateConfig) -> StateConfig {
        var state = defaults
        func count(_ key: String, _ range: ClosedRange<Int>) -> Int? {
            guard let value = fields[key], let n = int(value) else { return nil }
            guard range.contains(n) else {
                fail(value, "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(n)")
                return nil
            }
            return n
        }
        if let n = count("recent_probes", 1...1000) { state.recentProbes = n }
        if let n = count("down_after", 1...1000) { state.downAfter = n }
        if let n = count("recover_after", 1...1000) { state.recoverAfter = n }
        if let value = fields["degraded_error_ratio"], let ratio = number(value) {
            if ratio >= 0, ratio < 1 {
                state.degradedErrorRatio = ratio
            } else {
                fail(value, "must be a ratio from 0 (included) to 1 (excluded), got \(value.shown.trimmingQuotes)")
            }
        }
        return state
    }

    /// A percentage strictly between 0 and 100: 100 % leaves no error budget to compute with.
    private mutating func percent(_ value: Located) -> Double? {
        guard let number = number(value) else { return nil }
        guard number > 0, number < 100 else {
            fail(value, "must be a percentage between 0 and 100 (both excluded), got \(value.shown.trimmingQuotes)")
            return nil
        }
        return number
    }
}

extension String {
    fileprivate var trimmingQuotes: String {
        hasPrefix("\"") && hasSuffix("\"") && count >= 2 ? String(dropFirst().dropLast()) : self
    }
}
