import Foundation
import _FoundationICU

/// `expect` regexes on ICU's engine — the one NSRegularExpression wraps, so the syntax the
/// config check accepts is the syntax matched — called directly for what Foundation does not
/// expose: a time limit. A pattern that backtracks without end (`(.*a){15}b` on 31 bytes) is
/// stopped and reported instead of holding a thread (docs/probing.md, "Assertions").
enum PatternMatch {
    enum Verdict: Equatable { case match, noMatch, timeout, invalid }

    /// ICU counts the limit in units of its match loop's steps (10 000 each; docs/probing.md
    /// gives the time this is here).
    static let timeLimit: Int32 = 200

    static func find(_ pattern: String, in text: String, timeLimit: Int32 = timeLimit) -> Verdict {
        var status = U_ZERO_ERROR
        let patternUnits = Array(pattern.utf16)
        guard let regex = swift_uregex_open(patternUnits, Int32(patternUnits.count), 0, nil, &status), status.rawValue <= 0 else {
            return .invalid
        }
        defer { swift_uregex_close(regex) }
        let textUnits = Array(text.utf16)
        return textUnits.withUnsafeBufferPointer { buffer in
            // ICU keeps a pointer to the text: it must outlive the find, hence inside this closure.
            swift_uregex_setText(regex, buffer.baseAddress, Int32(buffer.count), &status)
            swift_uregex_setTimeLimit(regex, timeLimit, &status)
            guard status.rawValue <= 0 else { return .invalid }
            let found = swift_uregex_find(regex, 0, &status) != 0
            if status == U_REGEX_TIME_OUT { return .timeout }
            guard status.rawValue <= 0 else { return .invalid }
            return found ? .match : .noMatch
        }
    }
}
