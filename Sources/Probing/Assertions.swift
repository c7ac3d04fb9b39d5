import Foundation
import PhaseWatchCore

/// Checks a response that arrived against the target's `expect` block. The first failed check
/// is the failure (phase `assert`); checks run in the order of docs/config.md, `expect`. Patterns were
/// validated when the config was loaded; one that still fails to compile matches nothing.
enum Assertions {
    /// The first failed check, as the stored result has it; the checks after it are not run.
    static func check(_ o: TransferOutcome, _ expect: Expectations, duration: Double, now: Date) -> Failure? {
        var first: Failure?
        evaluate(o, expect, duration: duration, now: now, detailed: false) { verdict in
            first = verdict.failure
            return first == nil
        }
        return first
    }

    /// Every check's verdict with what was compared, for `probe -v` and the probe-now endpoint.
    /// The first failed one is the failure `check` returns.
    static func verdicts(_ o: TransferOutcome, _ expect: Expectations, duration: Double, now: Date) -> [ExpectationVerdict] {
        var all: [ExpectationVerdict] = []
        evaluate(o, expect, duration: duration, now: now, detailed: true) { verdict in
            all.append(verdict)
            return true
        }
        return all
    }

    /// Runs the checks in order, handing each verdict to `visit` until it returns false.
    /// `expected`/`actual` are only written when `detailed`: the agent's probes never read them.
    private static func evaluate(
        _ o: TransferOutcome, _ expect: Expectations, duration: Double, now: Date, detailed: Bool,
        _ visit: (ExpectationVerdict) -> Bool
    ) {
        func verdict(_ check: String, _ expected: @autoclosure () -> String, _ actual: @autoclosure () -> String, _ failure: Failure?)
            -> ExpectationVerdict
        {
            ExpectationVerdict(check: check, expected: detailed ? expected() : "", actual: detailed ? actual() : "", failure: failure)
        }

        // Text only for a failure or `detailed`: this runs for every probe.
        func wanted() -> String { expect.status.map(\.description).joined(separator: ", ") }
        let statusOK = expect.status.contains(where: { $0.matches(o.status) })
        guard visit(verdict("status", wanted(), "\(o.status)", statusOK ? nil : fail(.status, "status \(o.status), expected \(wanted())")))
        else { return }

        var bodyText: String?
        func body() -> String {
            if let bodyText { return bodyText }
            let text = String(decoding: o.body, as: UTF8.self)
            bodyText = text
            return text
        }
        if let pattern = expect.bodyMatches {
            let found = PatternMatch.find(pattern, in: body())
            let failure: Failure? =
                switch found {
                case .match: nil
                case .timeout: timedOut(pattern, "the body")
                case .noMatch, .invalid: fail(.bodyMatches, "body does not match /\(pattern)/")
                }
            guard visit(verdict("body_matches", "/\(pattern)/", words(found, bytes: o.bodyBytes), failure)) else { return }
        }
        if let pattern = expect.bodyNotMatches {
            let found = PatternMatch.find(pattern, in: body())
            let failure: Failure? =
                switch found {
                case .noMatch, .invalid: nil
                case .timeout: timedOut(pattern, "the body")
                case .match: fail(.bodyNotMatches, "body matches /\(pattern)/")
                }
            guard visit(verdict("body_not_matches", "no /\(pattern)/", words(found, bytes: o.bodyBytes), failure)) else { return }
        }
        for header in expect.headers {
            let values = o.headers.filter { $0.name.caseInsensitiveCompare(header.name) == .orderedSame }.map(\.value)
            // Each value's regex runs once: a match ends the search, a timeout is kept.
            var found = PatternMatch.Verdict.noMatch
            for value in values {
                let verdict = PatternMatch.find(header.value, in: value)
                if verdict == .match {
                    found = .match
                    break
                }
                if verdict == .timeout { found = .timeout }
            }
            let failure: Failure?
            let seen: String
            if found == .match {
                failure = nil
                seen = "present, a value matches"
            } else if found == .timeout {
                failure = timedOut(header.value, "header \(header.name)")
                seen = "regex time limit reached"
            } else {
                // The value is the server's text: named, never quoted (it lands in the API, the page and the database).
                seen = values.isEmpty ? "absent" : "present, no value matches"
                failure = fail(.header, "header \(header.name) \(seen), expected /\(header.value)/")
            }
            guard visit(verdict("header", "\(header.name): /\(header.value)/", seen, failure)) else { return }
        }
        if expect.tls {
            let failure = o.handshake.completed ? nil : fail(.notTLS, "response not over TLS")
            guard visit(verdict("tls", "over TLS", o.handshake.completed ? "over TLS" : "not over TLS", failure)) else { return }
        }
        if let days = expect.certMinDays {
            var failure: Failure?
            var left: Double?
            if let notAfter = o.handshake.leafNotAfter {
                left = notAfter.timeIntervalSince(now) / 86_400
                if left! < Double(days) {
                    let message = "certificate expires \(Timestamp.day(notAfter)), in \(Int(left!.rounded(.down))) days (minimum \(days))"
                    failure = fail(.certExpiring, message)
                }
            }
            let actual = { left.map { "\(Int($0.rounded(.down))) days left" } ?? "no certificate seen" }
            guard visit(verdict("cert_min_days", "at least \(days) days left", actual(), failure)) else { return }
        }
        if let max = expect.maxDuration {
            let failure = duration > max.seconds ? fail(.tooSlow, String(format: "took %.3fs, limit %@", duration, PromDuration.format(max))) : nil
            _ = visit(verdict("max_duration", "at most \(PromDuration.format(max))", String(format: "%.3fs", duration), failure))
        }
    }

    private static func words(_ verdict: PatternMatch.Verdict, bytes: Int) -> String {
        switch verdict {
        case .match: "matches (\(bytes) body bytes)"
        case .noMatch: "no match (\(bytes) body bytes)"
        case .timeout: "regex time limit reached"
        case .invalid: "pattern does not compile"
        }
    }

    private static func fail(_ reason: FailureReason, _ message: String) -> Failure {
        Failure(phase: .assert, reason: reason, message: message)
    }

    private static func timedOut(_ pattern: String, _ subject: String) -> Failure {
        fail(.regexTimeout, "/\(pattern)/ on \(subject) exceeded the regex time limit")
    }
}

/// One `expect` check as `probe -v` shows it: what was expected, what the response showed, and
/// the failure it would be (its reason and message are those of the stored result).
public struct ExpectationVerdict: Sendable, Equatable, Encodable {
    /// `status`, `body_matches`, `body_not_matches`, `header`, `tls`, `cert_min_days`, `max_duration`.
    public var check: String
    public var expected: String
    public var actual: String
    public var failure: Failure?
    public var pass: Bool { failure == nil }

    enum CodingKeys: String, CodingKey { case check, expected, actual, pass, reason, message }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(check, forKey: .check)
        try c.encode(expected, forKey: .expected)
        try c.encode(actual, forKey: .actual)
        try c.encode(pass, forKey: .pass)
        try c.encodeIfPresent(failure?.reason, forKey: .reason)
        try c.encodeIfPresent(failure?.message, forKey: .message)
    }
}
