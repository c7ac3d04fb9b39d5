import Foundation
import PhaseWatchCore
@testable import Probing
import TestSupport
import Testing

/// Where redirects may lead (docs/probing.md, "Redirects"). Only 127.0.0.0/8 is ever connected
/// to: a refused address is refused before its socket is opened.
struct RedirectPolicyTests {
    let prober = Prober()

    /// A target on the test server that answers 302 to `location`.
    private func redirecting(to location: String) -> Target {
        let query = "status=302&location=" + location.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        var target = Target(name: "t", url: TestServer.http("/?" + query))
        target.retries = RetryPolicy(attempts: 2, backoff: .milliseconds(1))
        return target
    }

    private var port: Int { TestServer.shared.port("http") }

    @Test func aRefusedAddressIsNeverConnectedTo() async {
        // Nothing listens on 127.0.0.2: had the socket been opened, this would be connect_refused.
        var target = redirecting(to: "http://127.0.0.2:\(port)/")
        target.redirects.refusedAddresses = ["127.0.0.2"]
        let r = await prober.probe(target)
        #expect(r.failure?.phase == .processing && r.failure?.reason == .redirectRefused, "\(String(describing: r.failure))")
        #expect(r.failure?.message.contains("127.0.0.2") == true)
        #expect(r.attempts == 1)
        #expect(r.http?.status == 302)
        #expect(r.ip?.address == "127.0.0.1")
    }

    @Test func theCloudMetadataAddressIsRefusedByDefault() async throws {
        // Guard first: the same refusal path must hold on loopback, or the metadata probe below
        // could send a packet to 169.254.169.254.
        #expect(AddressKind.of([169, 254, 169, 254]) == .linkLocal)
        var alias = redirecting(to: "http://127.0.0.2:\(port)/")
        alias.redirects.refusedAddresses = ["127.0.0.2"]
        try #require(await prober.probe(alias).failure?.reason == .redirectRefused)

        let r = await prober.probe(redirecting(to: "http://169.254.169.254/latest/meta-data/"))
        #expect(r.failure?.phase == .processing && r.failure?.reason == .redirectRefused, "\(String(describing: r.failure))")
        #expect(r.failure?.message.contains("169.254.169.254, a link-local or cloud metadata address") == true,
                "\(String(describing: r.failure))")
        #expect(r.failure?.message.contains("meta-data") == false)
        #expect(r.attempts == 1)
    }

    @Test func loopbackToLoopbackIsFollowed() async {
        // A target on loopback may be redirected within loopback (and a public one within public).
        let r = await prober.probe(redirecting(to: "http://127.0.0.1:\(port)/?status=200"))
        #expect(r.success, "\(String(describing: r.failure))")
        #expect(r.http?.redirects == 1)
    }

    @Test func addressKinds() {
        let cases: [([UInt8], AddressKind)] = [
            ([93, 184, 216, 34], .public), ([8, 8, 8, 8], .public),
            ([10, 1, 2, 3], .private), ([172, 16, 0, 1], .private), ([172, 32, 0, 1], .public),
            ([192, 168, 1, 1], .private), ([100, 64, 0, 1], .private), ([100, 128, 0, 1], .public),
            ([127, 0, 0, 1], .loopback), ([127, 9, 9, 9], .loopback), ([0, 0, 0, 0], .loopback),
            ([169, 254, 169, 254], .linkLocal), ([169, 254, 1, 1], .linkLocal), ([100, 100, 100, 200], .linkLocal),
            (Array(repeating: 0, count: 15) + [1], .loopback),
            ([0xFE, 0x80] + Array(repeating: 0, count: 13) + [1], .linkLocal),
            ([0xFD, 0, 0x0E, 0xC2] + Array(repeating: 0, count: 10) + [0x02, 0x54], .linkLocal),
            ([0xFD, 0x12] + Array(repeating: 0, count: 14), .private),
            ([0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 12), .public),
            (Array(repeating: 0, count: 10) + [0xFF, 0xFF, 169, 254, 169, 254], .linkLocal),
            (Array(repeating: 0, count: 10) + [0xFF, 0xFF, 127, 0, 0, 1], .loopback),
        ]
        for (bytes, kind) in cases {
            #expect(AddressKind.of(bytes) == kind, "\(bytes)")
        }
    }

    @Test func thePolicy() {
        let strict = RedirectPolicy()
        #expect(RedirectGuard.refusal(address: "10.0.0.1", kind: .private, origin: .public, policy: strict) != nil)
        #expect(RedirectGuard.refusal(address: "10.0.0.1", kind: .private, origin: .private, policy: strict) == nil)
        #expect(RedirectGuard.refusal(address: "127.0.0.1", kind: .loopback, origin: .private, policy: strict) != nil)
        #expect(RedirectGuard.refusal(address: "1.2.3.4", kind: .public, origin: .loopback, policy: strict) == nil)
        #expect(RedirectGuard.refusal(address: "169.254.169.254", kind: .linkLocal, origin: .loopback, policy: strict) != nil)
        let open = RedirectPolicy(allowPrivate: true)
        #expect(RedirectGuard.refusal(address: "169.254.169.254", kind: .linkLocal, origin: .public, policy: open) == nil)
        let denied = RedirectPolicy(allowPrivate: true, refusedAddresses: ["127.0.0.2"])
        #expect(RedirectGuard.refusal(address: "127.0.0.2", kind: .loopback, origin: .loopback, policy: denied) != nil)
    }
}
