import Foundation
import PhaseWatchCore

/// Checks a response that arrived against the target's `expect` block. The first failed check
/// is the failure (phase `assert`); checks run in the order of contract §2. Patterns were
/// validated when the config was loaded; one that still fails to compile matches nothing.
enum Assertions {
    static func check(_ o: TransferOutcome, _ expect: Expectations, duration: Double, now: Date) -> Failure? {
        if !expect.status.contains(where: { $0.matches(o.status) }) {
            let wanted = expect.status.map(\.description).joined(separator: ", ")
            return fail(.status, "status \(o.status), expected \(wanted)")
        }
        if let pattern = expect.bodyMatches {
            switch PatternMatch.find(pattern, in: String(decoding: o.body, as: UTF8.self)) {
            case .match: break
            case .timeout: return timedOut(pattern, "the body")
            case .noMatch, .invalid: return fail(.bodyMatches, "body does not match /\(pattern)/")
            }
        }
        if let pattern = expect.bodyNotMatches {
            switch PatternMatch.find(pattern, in: String(decoding: o.body, as: UTF8.self)) {
            case .noMatch, .invalid: break
            case .timeout: return timedOut(pattern, "the body")
            case .match: return fail(.bodyNotMatches, "body matches /\(pattern)/")
            }
        }
        for wanted in expect.headers {
            let values = o.headers.filter { $0.name.caseInsensitiveCompare(wanted.name) == .orderedSame }.map(\.value)
            let verdicts = values.lazy.map { PatternMatch.find(wanted.value, in: $0) }
            if verdicts.contains(.match) { continue }
            if verdicts.contains(.timeout) { return timedOut(wanted.value, "header \(wanted.name)") }
            // The value is the server's text: named, never quoted (it lands in the API, the page and the database).
            let seen = values.isEmpty ? "absent" : "present, no value matches"
            return fail(.header, "header \(wanted.name) \(seen), expected /\(wanted.value)/")
        }
        if expect.tls, !o.handshake.completed {
            return fail(.notTLS, "response not over TLS")
        }
        if let days = expect.certMinDays, let notAfter = o.handshake.leafNotAfter {
            let left = notAfter.timeIntervalSince(now) / 86_400
            if left < Double(days) {
                let message = "certificate expires \(Timestamp.day(notAfter)), in \(Int(left.rounded(.down))) days (minimum \(days))"
                return fail(.certExpiring, message)
            }
        }
        if let max = expect.maxDuration, duration > max.seconds {
            return fail(.tooSlow, String(format: "took %.3fs, limit %@", duration, PromDuration.format(max)))
        }
        return nil
    }

    private static func fail(_ reason: FailureReason, _ message: String) -> Failure {
        Failure(phase: .assert, reason: reason, message: message)
    }

    private static func timedOut(_ pattern: String, _ subject: String) -> Failure {
        fail(.regexTimeout, "/\(pattern)/ on \(subject) exceeded the regex time limit")
    }
}
