import CCurl
import Foundation

/// Whether a target URL can be probed, decided by libcurl's own URL parser (`curl_url`), so
/// `check-config` and `phasewatch probe` accept exactly what the prober can request: a port
/// over 65535, a space in the host or `a@b@host`, which a looser check would pass and every
/// probe would then fail.
public enum URLCheck {
    /// Why `url` cannot be probed, or nil when it can. `shown` is how the message names the URL
    /// (the command line passes it redacted).
    public static func problem(_ url: String, shownAs shown: String) -> String? {
        guard let scheme = scheme(of: url) else {
            return "\(shown) has no scheme: the url must start with http:// or https://"
        }
        guard scheme == "http" || scheme == "https" else {
            return "unsupported scheme \"\(scheme)\": the url must start with http:// or https://"
        }
        if let words = ccurl_url_problem(url) {
            return "\(shown) is not a URL libcurl accepts: \(String(cString: words).lowercasedFirst)"
        }
        // libcurl reads "http:///x" as host "x"; a URL that names no host is a mistake.
        if URLComponents(string: url)?.host?.isEmpty == true {
            return "\(shown) has no host"
        }
        return nil
    }

    /// The lower-cased scheme (RFC 3986 §3.1: a letter, then letters, digits, "+", "-", "."), or
    /// nil when the text does not start with one and a colon.
    private static func scheme(of url: String) -> String? {
        guard let colon = url.firstIndex(of: ":") else { return nil }
        let name = url[..<colon]
        guard let first = name.unicodeScalars.first, first.isASCII, CharacterSet.letters.contains(first),
            name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "+-.".unicodeScalars.contains($0)) })
        else { return nil }
        return name.lowercased()
    }
}

extension String {
    fileprivate var lowercasedFirst: String {
        guard let first else { return self }
        return first.lowercased() + dropFirst()
    }
}
