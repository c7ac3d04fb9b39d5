import Config
import Foundation
import PhaseWatchCore
import Testing

struct ValidConfigTests {
    /// Contract §2's example, verbatim.
    static let contractExample = """
        global:
          interval: 30s          # default probe interval
          timeout: 10s           # default total timeout
          location: local        # label on every series, for multi-agent setups
        storage:
          path: data/phasewatch.db
          raw_retention: 8d      # per-probe rows
          rollup_retention: 400d # aggregated rows used by long SLO windows
        targets:
          - name: api-health     # unique, [a-zA-Z0-9_.-]+ ; the `target` label
            url: https://api.example.com/health
            interval: 15s
            method: GET
            headers: {Authorization: "Bearer s3cr3t"}     # values are secrets: redacted everywhere
            body: ""
            http_version: auto          # auto | "1.1" | "2"
            ip_protocol: auto           # auto (prefer 4, fall back to 6) | ip4 | ip6
            follow_redirects: true      # max 10
            timeouts: {connect: 1s, tls: 2s, first_byte: 5s, total: 10s}
            retries: {attempts: 1, backoff: 200ms}   # extra attempts on retryable failures, exp. backoff + jitter
            expect:
              status: [2xx]             # codes or classes
              body_matches: "ok"        # regex
              body_not_matches: "error"
              headers: {Content-Type: "^text/"}
              tls: true                 # fail if not TLS
              cert_min_days: 14
              max_duration: 2s          # slower probes fail
            tls: {ca_file: ca.pem, cert_file: client.pem, key_file: client.key, server_name: api.example.com, insecure_skip_verify: false}
            slo:
              window: 30d
              availability: 99.9        # percent of probes that succeed
              latency: {threshold: 300ms, objective: 99}   # percent of probes that succeed AND total <= threshold
        """

    @Test func contractExampleLoadsExactly() throws {
        let config = try Fixtures.parse(Self.contractExample)
        let dir = Fixtures.dir
        let expected = AgentConfig(
            global: GlobalConfig(interval: .seconds(30), timeout: .seconds(10), location: "local"),
            storage: StorageConfig(
                path: "data/phasewatch.db", rawRetention: .seconds(8 * 86_400), rollupRetention: .seconds(400 * 86_400)),
            targets: [
                Target(
                    name: "api-health", url: "https://api.example.com/health", interval: .seconds(15), method: "GET",
                    headers: [Header(name: "Authorization", value: "Bearer s3cr3t")], body: "",
                    httpVersion: .auto, ipProtocol: .auto, followRedirects: true,
                    timeouts: Timeouts(connect: .seconds(1), tls: .seconds(2), firstByte: .seconds(5), total: .seconds(10)),
                    retries: RetryPolicy(attempts: 1, backoff: .milliseconds(200)),
                    expect: Expectations(
                        status: [.class(2)], bodyMatches: "ok", bodyNotMatches: "error",
                        headers: [Header(name: "Content-Type", value: "^text/")], tls: true, certMinDays: 14,
                        maxDuration: .seconds(2)),
                    tls: TLSOptions(
                        caFile: "\(dir)/ca.pem", certFile: "\(dir)/client.pem", keyFile: "\(dir)/client.key",
                        serverName: "api.example.com", insecureSkipVerify: false),
                    slo: SLOConfig(
                        window: .seconds(30 * 86_400), availability: 0.999,
                        latency: LatencySLO(threshold: .milliseconds(300), objective: 0.99))
                )
            ]
        )
        #expect(config.global == expected.global)
        #expect(config.storage == expected.storage)
        try #require(config.targets.count == 1)
        let target = config.targets[0]
        let want = expected.targets[0]
        #expect(target.name == want.name)
        #expect(target.url == want.url)
        #expect(target.interval == want.interval)
        #expect(target.method == want.method)
        #expect(target.headers == want.headers)
        #expect(target.body == want.body)
        #expect(target.httpVersion == want.httpVersion)
        #expect(target.ipProtocol == want.ipProtocol)
        #expect(target.followRedirects == want.followRedirects)
        #expect(target.timeouts == want.timeouts)
        #expect(target.retries == want.retries)
        #expect(target.expect == want.expect)
        #expect(target.tls == want.tls)
        #expect(target.slo == want.slo)
        #expect(target.resolve == want.resolve)
        #expect(target.bodyLimit == want.bodyLimit)
        #expect(config == expected)
    }

    @Test func minimalTargetGetsEveryDefault() throws {
        let config = try Fixtures.parse("""
            targets:
              - name: home
                url: https://example.com/
            """)
        #expect(config.global == GlobalConfig(interval: .seconds(30), timeout: .seconds(10), location: "local"))
        #expect(config.storage == StorageConfig(
            path: "data/phasewatch.db", rawRetention: .seconds(8 * 86_400), rollupRetention: .seconds(400 * 86_400)))
        try #require(config.targets.count == 1)
        let target = config.targets[0]
        #expect(target.name == "home")
        #expect(target.url == "https://example.com/")
        #expect(target.interval == .seconds(30))
        #expect(target.method == "GET")
        #expect(target.headers == [])
        #expect(target.body == "")
        #expect(target.httpVersion == .auto)
        #expect(target.ipProtocol == .auto)
        #expect(target.followRedirects == true)
        #expect(target.timeouts == Timeouts(connect: .seconds(10), tls: .seconds(10), firstByte: .seconds(10), total: .seconds(10)))
        #expect(target.retries == RetryPolicy(attempts: 0, backoff: .milliseconds(200)))
        #expect(target.expect == Expectations(status: [.class(2)], bodyMatches: nil, bodyNotMatches: nil, headers: [],
                                              tls: false, certMinDays: nil, maxDuration: nil))
        #expect(target.tls == TLSOptions())
        #expect(target.slo == nil)
    }

    @Test func remoteWriteEntriesWithDefaultsAndEveryKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rw-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "pw\n".write(to: dir.appendingPathComponent("password"), atomically: true, encoding: .utf8)
        let config = try ConfigLoader.parse(yaml: """
            remote_write:
              - url: https://mimir.example/api/v1/push
              - url: https://thanos.example/api/v1/receive
                headers: {X-Scope-OrgID: team-a}
                basic_auth: {username: agent, password_file: password}
                tls: {server_name: receive.internal, insecure_skip_verify: true}
                send_interval: 30s
                timeout: 5s
                external_labels: {zone: b, region: eu}
                max_pending: 50000
                send_native_histograms: true
            targets: []
            """, file: "pw.yml", baseDirectory: dir.path)
        try #require(config.remoteWrite.count == 2)
        #expect(config.remoteWrite[0] == RemoteWriteConfig(url: "https://mimir.example/api/v1/push"))
        #expect(config.remoteWrite[0].sendInterval == .seconds(15) && config.remoteWrite[0].timeout == .seconds(10))
        #expect(config.remoteWrite[0].maxPending == 2_000_000 && !config.remoteWrite[0].sendNativeHistograms)
        let full = config.remoteWrite[1]
        #expect(full.headers == [Header(name: "X-Scope-OrgID", value: "team-a")])
        #expect(full.basicAuth == .init(username: "agent", passwordFile: dir.appendingPathComponent("password").path))
        #expect(full.tls.serverName == "receive.internal" && full.tls.insecureSkipVerify)
        #expect(full.sendInterval == .seconds(30) && full.timeout == .seconds(5) && full.maxPending == 50000)
        // Sorted by name, as the protocol wants labels.
        #expect(full.externalLabels.map(\.name) == ["region", "zone"])
        #expect(full.sendNativeHistograms)
        #expect(RemoteWriteConfig(url: "https://u:p@m.example:9/push").shownURL == "https://m.example:9/push")
    }

    @Test func defaultsFollowGlobalAndTotal() throws {
        let config = try Fixtures.parse("""
            global: {interval: 1m, timeout: 4s, location: eu-west-1.a_b}
            targets:
              - {name: a, url: "http://a.example", timeouts: {connect: 1s}}
              - {name: b, url: "http://b.example", timeouts: {total: 3s, tls: 2s}}
              - {name: c, url: "http://c.example", slo: {latency: {threshold: 250ms, objective: 99.95}}}
            """)
        #expect(config.global.location == "eu-west-1.a_b")
        let (a, b, c) = (config.targets[0], config.targets[1], config.targets[2])
        #expect(a.interval == .seconds(60))
        #expect(a.timeouts == Timeouts(connect: .seconds(1), tls: .seconds(4), firstByte: .seconds(4), total: .seconds(4)))
        #expect(b.timeouts == Timeouts(connect: .seconds(3), tls: .seconds(2), firstByte: .seconds(3), total: .seconds(3)))
        #expect(c.slo == SLOConfig(window: .seconds(30 * 86_400), availability: nil,
                                   latency: LatencySLO(threshold: .milliseconds(250), objective: 0.9995)))
    }

    @Test func redirectPolicyComesFromGlobalUnlessTheTargetSetsItsOwn() throws {
        let strict = try Fixtures.parse("targets:\n  - {name: a, url: \"http://a.example\"}\n")
        #expect(strict.targets[0].redirects == RedirectPolicy(allowPrivate: false))
        let config = try Fixtures.parse("""
            global: {redirects: {allow_private: true}}
            targets:
              - {name: a, url: "http://a.example"}
              - {name: b, url: "http://b.example", redirects: {allow_private: false}}
              - {name: c, url: "http://c.example", redirects: {}}
            """)
        #expect(config.global.redirects.allowPrivate)
        #expect(config.targets.map(\.redirects.allowPrivate) == [true, false, true])
    }

    @Test func scalarsAreReadTheWayUsersWriteThem() throws {
        let config = try Fixtures.parse("""
            global:
            storage:
            targets:
              - name: 42
                url: HTTPS://Example.com:8443/x?y=1
                method: post
                headers: {X-Retries: 3, X-Ratio: 1.5, X-Flag: true, Accept: "*/*"}
                body: '{"a": 1}'
                http_version: 1.1
                ip_protocol: ip6
                follow_redirects: no
                expect:
                  status: [200, "2XX", 301]
                  headers: {}
                  cert_min_days: 0
              - name: b
                url: http://b.example
                http_version: 2
              - name: c
                url: http://c.example
                http_version: "2"
                slo:
            """)
        let target = config.targets[0]
        #expect(target.name == "42")
        #expect(target.url == "HTTPS://Example.com:8443/x?y=1")
        #expect(target.method == "POST")
        #expect(target.headers == [
            Header(name: "X-Retries", value: "3"), Header(name: "X-Ratio", value: "1.5"),
            Header(name: "X-Flag", value: "true"), Header(name: "Accept", value: "*/*"),
        ])
        #expect(target.body == #"{"a": 1}"#)
        #expect(target.httpVersion == .http1_1)
        #expect(target.ipProtocol == .ip6)
        #expect(target.followRedirects == false)
        #expect(target.expect.status == [.code(200), .class(2), .code(301)])
        #expect(target.expect.certMinDays == 0)
        #expect(config.targets[1].httpVersion == .http2)
        #expect(config.targets[2].httpVersion == .http2)
        #expect(config.targets[2].slo == nil)
    }

    /// `metrics:` turns on what the lean default leaves out; bucket bounds are durations,
    /// sorted and deduplicated.
    @Test func metricsSectionTurnsFamiliesOn() throws {
        #expect(try Fixtures.parse("targets: []").metrics == MetricsConfig(
            durationBuckets: [0.01, 0.05, 0.25, 1, 5], phaseHistograms: false, latencyQuantiles: false, sloWindows: false, budgetDetail: false))
        let config = try Fixtures.parse("""
            metrics:
              duration_buckets: [1s, 100ms, 2500ms, 100ms]
              phase_histograms: true
              latency_quantiles: yes
              slo_windows: true
              budget_detail: on
            """)
        #expect(config.metrics == MetricsConfig(
            durationBuckets: [0.1, 1, 2.5], phaseHistograms: true, latencyQuantiles: true, sloWindows: true, budgetDetail: true))
    }

    @Test func emptyTargetListIsValid() throws {
        #expect(try Fixtures.parse("targets: []").targets.isEmpty)
        #expect(try Fixtures.parse("global: {location: lab}").targets.isEmpty)
        #expect(try Fixtures.parse("# only the sections\nglobal:\nstorage:\ntargets:\n").targets.isEmpty)
    }

    @Test func percentagesBecomeExactRatios() throws {
        let config = try Fixtures.parse("""
            targets:
              - {name: a, url: "https://a.example", slo: {availability: 99.9, latency: {threshold: 1s, objective: 95}}}
              - {name: b, url: "https://b.example", slo: {availability: 99.99}}
              - {name: c, url: "https://c.example", slo: {availability: 0.5}}
            """)
        #expect(config.targets[0].slo?.availability == 0.999)
        #expect(config.targets[0].slo?.latency?.objective == 0.95)
        #expect(config.targets[1].slo?.availability == 0.9999)
        #expect(config.targets[2].slo?.availability == 0.005)
    }

    @Test func stateThresholdsComeFromGlobalAndTargetsOverrideKeyByKey() throws {
        let config = try Fixtures.parse("""
            global:
              state: {recent_probes: 30, degraded_error_ratio: 0.05}
            targets:
              - {name: a, url: "https://a.example"}
              - {name: b, url: "https://b.example", state: {down_after: 5, degraded_error_ratio: 0.2}}
            """)
        #expect(config.global.state == StateConfig(recentProbes: 30, degradedErrorRatio: 0.05, downAfter: 3, recoverAfter: 2))
        #expect(config.targets[0].state == config.global.state)
        #expect(config.targets[1].state == StateConfig(recentProbes: 30, degradedErrorRatio: 0.2, downAfter: 5, recoverAfter: 2))
        #expect(try Fixtures.parse("targets: [{name: a, url: \"https://a.example\"}]").targets[0].state == StateConfig())
    }
}
