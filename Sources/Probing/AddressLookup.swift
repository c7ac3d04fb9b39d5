import Foundation
import PhaseWatchCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The lookup of an `ip_policy: all` target (docs/probing.md#addresses): every address of the
/// URL's host, from the target's `resolve` pins when one names its host and port (as curl would
/// use them), else from the system resolver; narrowed by `ip_protocol`. Its time is the resolve
/// phase every address's result shares.
struct AddressLookup: Sendable {
    let host: String
    let port: Int
    /// In the order the pins or the resolver gave them, without repeats.
    let addresses: [String]
    let seconds: Double

    /// Why a lookup found nothing to probe: a result's failure.
    struct Failed: Error {
        let failure: Failure
        let seconds: Double
    }

    static func lookup(_ target: Target) async -> Result<AddressLookup, Failed> {
        let clock = ContinuousClock()
        let start = clock.now
        guard let parts = URLComponents(string: target.url), let rawHost = parts.host, !rawHost.isEmpty else {
            return .failure(Failed(failure: Failure(phase: .resolve, reason: .dnsError, message: "the URL has no host"), seconds: 0))
        }
        let host = rawHost.hasPrefix("[") ? String(rawHost.dropFirst().dropLast()) : rawHost
        let port = parts.port ?? (parts.scheme?.lowercased() == "https" ? 443 : 80)
        var found: Result<[String], Failed>
        if let literal = IPAddress.canonical(host) {
            found = .success([literal])
        } else if let pinned = target.resolve.lazy.compactMap({ ResolvePin.addresses($0, host: host, port: port) }).first {
            found = .success(pinned.map { IPAddress.canonical($0) ?? $0 })
        } else {
            found = await system(host, family: target.ipProtocol, timeout: target.timeouts.connect)
        }
        let seconds = (clock.now - start).seconds
        return found.flatMap { all in
            let wanted = all.filter { address in
                switch target.ipProtocol {
                case .auto: true
                case .ip4: IPAddress.family(address) == 4
                case .ip6: IPAddress.family(address) == 6
                }
            }
            guard !wanted.isEmpty else {
                let family = target.ipProtocol == .ip6 ? "IPv6" : "IPv4"
                return .failure(Failed(
                    failure: Failure(phase: .resolve, reason: .dnsNXDomain, message: "\(host) has no \(family) address"), seconds: seconds))
            }
            var seen = Set<String>()
            return .success(AddressLookup(host: host, port: port, addresses: wanted.filter { seen.insert($0).inserted }, seconds: seconds))
        }
        .mapError { Failed(failure: $0.failure, seconds: seconds) }
    }

    /// getaddrinfo on a thread of its own, abandoned (and its answer dropped) after `timeout`:
    /// the call cannot be cancelled.
    private static func system(_ host: String, family: IPProtocol, timeout: Duration) async -> Result<[String], Failed> {
        await withCheckedContinuation { continuation in
            let once = Once(continuation)
            DispatchQueue.global(qos: .userInitiated).async { once.finish(resolveNow(host, family: family)) }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout.seconds) {
                once.finish(.failure(Failed(
                    failure: Failure(phase: .resolve, reason: .dnsTimeout, message: "no answer for \(host) within \(PromDuration.format(timeout))"),
                    seconds: timeout.seconds)))
            }
        }
    }

    private static func resolveNow(_ host: String, family: IPProtocol) -> Result<[String], Failed> {
        var hints = addrinfo()
        hints.ai_family = switch family {
        case .auto: AF_UNSPEC
        case .ip4: AF_INET
        case .ip6: AF_INET6
        }
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        defer { if let list { freeaddrinfo(list) } }
        guard status == 0 else {
            let reason: FailureReason = status == EAI_NONAME ? .dnsNXDomain : .dnsError
            let words = String(cString: gai_strerror(status))
            return .failure(Failed(failure: Failure(phase: .resolve, reason: reason, message: "\(host): \(words)"), seconds: 0))
        }
        var addresses: [String] = []
        var entry = list
        while let info = entry?.pointee {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if let address = info.ai_addr,
               getnameinfo(address, info.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                let written = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                addresses.append(IPAddress.canonical(written) ?? written)
            }
            entry = info.ai_next
        }
        return .success(addresses)
    }
}

/// A continuation resumed by whichever answer comes first.
private final class Once: Sendable {
    private let continuation: Mutex<CheckedContinuation<Result<[String], AddressLookup.Failed>, Never>?>

    init(_ continuation: CheckedContinuation<Result<[String], AddressLookup.Failed>, Never>) {
        self.continuation = Mutex(continuation)
    }

    func finish(_ result: Result<[String], AddressLookup.Failed>) {
        continuation.withLock { $0.take() }?.resume(returning: result)
    }
}
