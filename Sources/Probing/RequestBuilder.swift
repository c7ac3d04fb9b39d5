import Foundation
import PhaseWatchCore

/// Target → what curl is asked to do for one attempt.
enum RequestBuilder {
    static func request(for target: Target, traceparent: String) -> TransferRequest {
        var headers = target.headers.map { "\($0.name): \($0.value)" }
        headers.append("traceparent: \(traceparent)")
        var url = target.url
        var connectTo: [String] = []
        if let serverName = target.tls.serverName, let rewrite = ServerNameOverride(url: url, serverName: serverName) {
            url = rewrite.url
            connectTo = [rewrite.connectTo]
            if !target.headers.contains(where: { $0.name.caseInsensitiveCompare("host") == .orderedSame }) {
                headers.append("Host: \(rewrite.originalAuthority)")
            }
        }
        return TransferRequest(
            target: target, url: url, headers: headers, connectTo: connectTo, ipResolve: ipResolve(target.ipProtocol))
    }

    static func ipResolve(_ p: IPProtocol) -> TransferRequest.IPResolve {
        switch p {
        case .auto: .any
        case .ip4: .v4
        case .ip6: .v6
        }
    }

    /// Whether the URL's host is an IP address, which needs no family preference.
    /// (Byte-level work: this runs for every probe, and URL parsing costs more than the check.)
    static func hostIsLiteral(_ url: String) -> Bool {
        var utf8 = Substring(url).utf8[...]
        // Skip "scheme://".
        guard let colon = utf8.firstIndex(of: UInt8(ascii: ":")) else { return false }
        utf8 = utf8[colon...].dropFirst()
        guard utf8.starts(with: "//".utf8) else { return false }
        var authority = utf8.dropFirst(2).prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) { authority = authority[authority.index(after: at)...] }
        if authority.first == UInt8(ascii: "[") { return true }  // IPv6 literal
        let host = authority.prefix { $0 != UInt8(ascii: ":") }
        return !host.isEmpty && host.allSatisfy { $0 == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
