/// URLs as phasewatch shows them: a password in the URL (`https://user:secret@host/`) is a
/// secret, like header values, so whatever shows a URL — probe results, the API, logs, config
/// errors, the CLI — masks its user info: `https://***@host/`.
public enum URLRedaction {
    /// `url` with everything before the `@` of its authority replaced by `***`; unchanged
    /// without user info. Works on text that is not a valid URL too.
    public static func redacted(_ url: String) -> String {
        guard let (start, at) = userInfo(of: url) else { return url }
        return String(url[..<start]) + "***" + String(url[at...])
    }

    /// `url` with its user info removed (`https://host/`), for where even `***` is noise: a
    /// label value that names an endpoint.
    public static func withoutUserInfo(_ url: String) -> String {
        guard let (start, at) = userInfo(of: url) else { return url }
        return String(url[..<start]) + String(url[url.index(after: at)...])
    }

    /// Where the user info of `url`'s authority starts, and its closing `@`; nil without one.
    private static func userInfo(of url: String) -> (start: String.Index, at: String.Index)? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return nil }
        return (schemeEnd.upperBound, at)
    }

    /// Every URL in a free text (an error message quoting what a file says) with its user info
    /// masked. A URL's authority ends at `/`, `?`, `#`, white space or a quote.
    public static func redactingURLs(in text: String) -> String {
        guard text.contains("://"), text.contains("@") else { return text }
        var out = ""
        var rest = Substring(text)
        while let schemeEnd = rest.range(of: "://") {
            out += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { "/?#\"' \t\n\r".contains($0) } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                out += "***"
                rest = rest[at...]
            }
        }
        return out + rest
    }
}
