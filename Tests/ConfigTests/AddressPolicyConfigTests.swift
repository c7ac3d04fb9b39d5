import Config
import PhaseWatchCore
import Testing

/// `ip_policy`, `success` and `resolve` (docs/config.md#targets, docs/probing.md#addresses):
/// read per target, with located errors for values and combinations that cannot work.
struct AddressPolicyConfigTests {
    static let rows: [Broken] = [
        .target("ip_policy typo", "    ip_policy: every\n",
                #"pw.yml:4:16: targets[0].ip_policy: unsupported ip_policy "every": use first or all"#),
        .target("success typo", "    ip_policy: all\n    success: ony\n",
                #"pw.yml:5:14: targets[0].success: unsupported success "ony": use any or all; did you mean "any"?"#),
        .target("success without ip_policy all", "    success: any\n",
                "pw.yml:4:14: targets[0].success: success says whether any or every address must answer: it needs ip_policy: all (docs/probing.md#addresses)"),
        .target("ip_policy all through a proxy", "    proxy_url: http://127.0.0.1:3128\n    ip_policy: all\n",
                "pw.yml:5:16: targets[0].ip_policy: ip_policy: all probes each address of the URL's host, but through proxy_url the proxy resolves it: use one or the other"),
        .target("ip_policy all on a kept connection", "    connection: reuse\n    ip_policy: all\n",
                "pw.yml:5:16: targets[0].ip_policy: ip_policy: all opens a new connection to each address every run: it does not combine with connection: reuse (docs/probing.md#addresses)"),
        .target("ip_policy all resuming TLS", "    tls: {resume: true}\n    ip_policy: all\n",
                "pw.yml:5:16: targets[0].ip_policy: ip_policy: all opens a new connection to each address every run: it does not combine with tls.resume (docs/probing.md#addresses)"),
        .target("resolve to a name", "    resolve: [\"x.example:443:backend.internal\"]\n",
                #"pw.yml:4:15: targets[0].resolve[0]: "backend.internal" in "x.example:443:backend.internal" is not an IP address: resolve pins a name to addresses, as curl's --resolve does"#),
        .target("resolve without a port", "    resolve: [\"x.example:127.0.0.2\"]\n",
                #"pw.yml:4:15: targets[0].resolve[0]: "x.example:127.0.0.2" is not of the form host:port:address[,address…] (port 1-65535)"#),
        .target("resolve one name twice", "    resolve:\n      - x.example:443:127.0.0.2\n      - X.example:443:127.0.0.3\n",
                "pw.yml:6:9: targets[0].resolve[1]: x.example:443 is pinned twice (first on line 5): give its addresses in one entry, separated by commas"),
    ]

    @Test(arguments: rows)
    func reportsExactError(_ row: Broken) {
        #expect(Fixtures.check(row.yaml) == row.error)
    }

    @Test func everyAddressAndSeveralPins() throws {
        let config = try Fixtures.parse("""
            targets:
              - name: lb
                url: https://lb.example/health
                ip_policy: all
                success: any
                resolve: ["lb.example:443:10.0.0.1,10.0.0.2,[2001:db8::1]", "cdn.example:443:10.0.0.9"]
              - {name: plain, url: "https://a.example"}
            """)
        #expect(config.targets[0].ipPolicy == .all)
        #expect(config.targets[0].addressSuccess == .any)
        #expect(config.targets[0].resolve == ["lb.example:443:10.0.0.1,10.0.0.2,[2001:db8::1]", "cdn.example:443:10.0.0.9"])
        // Defaults: today's behaviour.
        #expect(config.targets[1].ipPolicy == .first)
        #expect(config.targets[1].addressSuccess == .all)
        #expect(config.targets[1].resolve.isEmpty)
    }

    @Test func theDecidingAddressGivesTheTargetsResult() {
        func result(_ address: String, _ success: Bool, _ duration: Double) -> ProbeResult {
            var r = ProbeResult(target: "t", url: "http://x/", startedAt: .init(timeIntervalSince1970: 0), success: success,
                                duration: duration, traceId: address)
            r.address = address
            return r
        }
        let mixed = [result("a", true, 0.3), result("b", false, 0.1), result("c", true, 0.2), result("d", false, 0.05)]
        #expect(AddressSuccess.all.deciding(mixed).address == "b")  // the first failure
        #expect(AddressSuccess.any.deciding(mixed).address == "c")  // the fastest success
        let good = [result("a", true, 0.1), result("b", true, 0.3)]
        #expect(AddressSuccess.all.deciding(good).address == "b")  // the slowest success
        let bad = [result("a", false, 0.1), result("b", false, 0.3)]
        #expect(AddressSuccess.any.deciding(bad).address == "a")  // the first failure
    }
}
