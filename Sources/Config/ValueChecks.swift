import Foundation

/// Checks on the text of single values.
enum Syntax {
    /// Target names and the location become Prometheus label values and URL path segments
    /// (`/api/v1/targets/{name}`), so they are kept to characters that need no escaping.
    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_" || scalar == "." || scalar == "-")
        }
    }

    static let nameRule = "use only letters, digits, \"_\", \".\" and \"-\""

    /// RFC 9110 `token`: what methods and header names are made of.
    static func isToken(_ text: String) -> Bool {
        let punctuation = Set("!#$%&'*+-.^_`|~".unicodeScalars)
        return !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || punctuation.contains(scalar))
        }
    }

    /// A percentage from the file (99.9) as the ratio the SLO math uses (0.999). Rounded to 12
    /// decimals because 99.9 / 100 is 0.9990000000000001 in binary floating point, and the ratio
    /// is shown to users (`"objective":0.999`, `phasewatch_slo_objective_ratio`).
    static func ratio(percent: Double) -> Double {
        (percent * 1e10).rounded() / 1e12
    }

    /// Why an http(s) URL is unusable, or nil when it is fine.
    static func urlProblem(_ text: String) -> String? {
        URLCheck.problem(text, shownAs: "\"\(text)\"")
    }

    static func isPlainHTTP(_ url: String) -> Bool {
        URLComponents(string: url)?.scheme?.lowercased() == "http"
    }
}

/// Regexes are checked with the engine the prober uses (NSRegularExpression, ICU syntax).
enum RegexCheck {
    /// Why `pattern` does not compile, or nil when it does. Foundation on Linux reports only
    /// "The value is invalid", so the reason comes from Swift's own regex parser, which
    /// understands the same syntax and says what is wrong ("expected ')'").
    static func problem(_ pattern: String) -> String? {
        if (try? NSRegularExpression(pattern: pattern)) != nil { return nil }
        let reason: String
        do {
            _ = try Regex(pattern)
            reason = "not supported by the regex engine"
        } catch {
            reason = String(describing: error)
        }
        return "invalid regular expression \"\(pattern)\": \(reason)"
    }
}

/// TLS files are checked when the config loads, so a typo fails `check-config` instead of
/// every probe of the target.
enum FileCheck {
    /// `path` made absolute against `base` (the config file's directory) and normalised.
    static func resolve(_ path: String, against base: String) -> String {
        let baseURL = URL(fileURLWithPath: base, isDirectory: true)
        return URL(fileURLWithPath: path, relativeTo: baseURL).standardizedFileURL.path
    }

    /// Why the file at `absolute` cannot be used, or nil when it can be read.
    static func problem(_ absolute: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDirectory) else {
            return "file not found: \(absolute)"
        }
        if isDirectory.boolValue { return "is a directory, not a file: \(absolute)" }
        guard FileManager.default.isReadableFile(atPath: absolute) else {
            return "file not readable: \(absolute)"
        }
        return nil
    }
}

extension YAMLReader {
    /// A file named in the config (TLS files, credentials): made absolute against the config
    /// file's directory and checked now, so a typo fails `check-config` rather than every use.
    mutating func readableFile(_ value: Located, baseDirectory: String) -> String? {
        guard let path = nonEmptyText(value) else { return nil }
        let absolute = FileCheck.resolve(path, against: baseDirectory)
        if let problem = FileCheck.problem(absolute) { fail(value, problem) }
        return absolute
    }
}
