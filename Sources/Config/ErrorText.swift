import Foundation

/// "did you mean" hints: most config mistakes are typos of a key or keyword one or two edits away.
enum Suggestion {
    /// The candidate within edit distance 2 of `word`, the nearest one (first listed on a tie).
    static func closest(to word: String, among candidates: [String]) -> String? {
        var best: (candidate: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate)
            if distance <= 2, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.candidate
    }

    /// Levenshtein distance (insert, delete, substitute), over Characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// Errors are printed one per line (`FILE:LINE:COLUMN: KEY: MESSAGE`), and keys and messages
/// quote what the file says, which may hold line breaks, control characters or a megabyte.
enum OneLine {
    /// Line breaks, tabs and other control characters written as escapes (`\n`, `\u{0}`);
    /// a text over `limit` characters cut in the middle, keeping its end, where messages put
    /// their hint.
    static func shown(_ text: String, limit: Int = 500) -> String {
        let needsEscape = text.unicodeScalars.contains(where: isControl)
        guard needsEscape || text.count > limit else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where isControl(scalar): escaped += "\\u{\(String(scalar.value, radix: 16))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        guard escaped.count > limit else { return escaped }
        let tail = limit / 5
        return "\(escaped.prefix(limit - tail - 3))…\(escaped.suffix(tail))"
    }

    /// At most `limit` characters, the cut marked with "…".
    static func truncated(_ text: String, to limit: Int) -> String {
        text.count > limit ? "\(text.prefix(limit - 1))…" : text
    }

    /// C0 and C1 controls and the Unicode line and paragraph separators.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }
}
