import Foundation
import PhaseWatchCore

/// Checks a response that arrived against the target's `expect` block. The first failed check
/// is the failure (phase `assert`); checks run in the order of contract §2.
enum Assertions {
    static func check(_ o: TransferOutcome, _ expect: Expectations, duration: Double, now: Date) -> Failure? {
        if !expect.status.contains(where: { $0.matches(o.status) }) {
            let wanted = expect.status.map(\.description).joined(separator: ", ")
            return fail(.status, "status \(o.status), expected \(wanted)")
        }
        if let pattern = expect.bodyMatches, !matches(pattern, o.body) {
            return fail(.bodyMatches, "body does not match /\(pattern)/")
        }
        if let pattern = expect.bodyNotMatches, matches(pattern, o.body) {
            return fail(.bodyNotMatches, "body matches /\(pattern)/")
        }
        for wanted in expect.headers {
            let values = o.headers.filter { $0.name.caseInsensitiveCompare(wanted.name) == .orderedSame }.map(\.value)
            guard values.contains(where: { matches(wanted.value, Data($0.utf8)) }) else {
                let seen = values.isEmpty ? "absent" : "\"\(values[0])\""
                return fail(.header, "header \(wanted.name) \(seen), expected /\(wanted.value)/")
            }
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

    /// Patterns were validated when the config was loaded; one that still fails to compile matches nothing.
    private static func matches(_ pattern: String, _ data: Data) -> Bool {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
        let text = String(decoding: data, as: UTF8.self)
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
