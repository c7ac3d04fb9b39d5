import PhaseWatchCore

/// How internal an address is, in the order a redirect may not climb (docs/probing.md,
/// "Redirects"): a probe that starts at a public address may not be sent by a redirect to a
/// private network, the agent's own host, or a cloud metadata service.
enum AddressKind: Int, Comparable, Sendable {
    case `public`, `private`, loopback, linkLocal

    static func < (a: AddressKind, b: AddressKind) -> Bool { a.rawValue < b.rawValue }

    var words: String {
        switch self {
        case .public: "a public address"
        case .private: "a private-network address"
        case .loopback: "a loopback address"
        case .linkLocal: "a link-local or cloud metadata address"
        }
    }

    /// The kind of an IPv4 (4 bytes) or IPv6 (16 bytes) address.
    static func of(_ b: [UInt8]) -> AddressKind {
        if b.count == 4 { return ipv4(b[0], b[1], b[2], b[3]) }
        guard b.count == 16 else { return .public }
        if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xFF, b[11] == 0xFF {
            return ipv4(b[12], b[13], b[14], b[15])  // IPv4-mapped: the IPv4 address decides
        }
        if b[0..<15].allSatisfy({ $0 == 0 }), b[15] <= 1 { return .loopback }  // :: and ::1
        if b[0] == 0xFE, b[1] & 0xC0 == 0x80 { return .linkLocal }  // fe80::/10
        // fd00:ec2::254, AWS's IPv6 instance metadata service.
        if b == [0xFD, 0, 0x0E, 0xC2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54] { return .linkLocal }
        if b[0] & 0xFE == 0xFC { return .private }  // fc00::/7
        return .public
    }

    private static func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> AddressKind {
        switch (a, b) {
        case (0, _), (127, _): return .loopback  // 0.0.0.0/8 reaches this host on Linux
        case (169, 254): return .linkLocal  // 169.254.169.254: AWS, GCP, Azure, …
        case (100, 100) where c == 100 && d == 200: return .linkLocal  // Alibaba Cloud's metadata
        case (10, _), (172, 16...31), (192, 168), (100, 64...127): return .private
        default: return .public
        }
    }
}

enum RedirectGuard {
    /// Why a redirect hop may not connect to `address`, or nil when it may.
    static func refusal(address: String, kind: AddressKind, origin: AddressKind, policy: RedirectPolicy) -> String? {
        if policy.refusedAddresses.contains(address) {
            return "it leads to \(address), an address refused for this target"
        }
        guard !policy.allowPrivate, kind > origin else { return nil }
        return "it leads to \(address), \(kind.words), and the target itself is at \(origin.words) (redirects.allow_private)"
    }
}
