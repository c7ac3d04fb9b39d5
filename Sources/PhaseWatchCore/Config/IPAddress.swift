import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// IP literals as curl and the config write them.
public enum IPAddress {
    /// 4 or 6 for an IPv4 or IPv6 literal, nil for anything else.
    public static func family(_ text: String) -> Int? {
        canonical(text).map { $0.contains(":") ? 6 : 4 }
    }

    /// The address as inet_ntop writes it (`0:0::1` → `::1`), brackets removed; nil for
    /// anything but an IP literal. Per-address series and the API's `ip` use this form.
    public static func canonical(_ text: String) -> String? {
        let bare = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, bare, &v4) == 1, inet_ntop(AF_INET, &v4, &buffer, socklen_t(buffer.count)) != nil {
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        if inet_pton(AF_INET6, bare, &v6) == 1, inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil {
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }

    /// As curl's `--resolve` and CONNECT_TO take an address: IPv6 in brackets.
    public static func bracketed(_ address: String) -> String {
        address.contains(":") ? "[\(address)]" : address
    }
}

/// A `resolve` entry, `host:port:address[,address…]`, as curl's `--resolve` takes it.
public enum ResolvePin {
    /// The addresses of the entry `pin` when it pins `host:port` (the host in any case), as
    /// written; nil for an entry of another host or port.
    public static func addresses(_ pin: String, host: String, port: Int) -> [String]? {
        let prefix = "\(host):\(port):".lowercased()
        guard pin.lowercased().hasPrefix(prefix) else { return nil }
        return split(pin.dropFirst(prefix.count))
    }

    /// A pin's address list split at its commas, each trimmed.
    public static func split(_ list: Substring) -> [String] {
        list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    }
}

extension Target {
    /// This target probing `address` alone for `host:port` (one address of an `ip_policy: all`
    /// run): its other pins kept, the family the address's.
    public func pinned(_ host: String, _ port: Int, to address: String) -> Target {
        var target = self
        target.resolve = resolve.filter { ResolvePin.addresses($0, host: host, port: port) == nil }
            + ["\(host):\(port):\(IPAddress.bracketed(address))"]
        target.ipProtocol = IPAddress.family(address) == 6 ? .ip6 : .ip4
        target.ipPolicy = .first
        return target
    }
}
