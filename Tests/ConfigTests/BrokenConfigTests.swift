import Config
import Testing

/// One broken config and the exact text `check-config` prints for it.
struct Broken: Sendable, CustomTestStringConvertible {
    let what: String
    let yaml: String
    let error: String
    var testDescription: String { what }

    init(_ what: String, _ yaml: String, _ error: String) {
        self.what = what
        self.yaml = yaml
        self.error = error
    }

    /// A valid target (name on line 2, url on line 3) followed by `lines` (line 4 on), at target level.
    static func target(_ what: String, url: String = "https://x.example", _ lines: String, _ error: String) -> Broken {
        Broken(what, "targets:\n  - name: a\n    url: \(url)\n" + lines, error)
    }
}

struct BrokenConfigTests {
    static let rows: [Broken] = [
        // Unknown keys.
        Broken("unknown top-level key", "globl:\n  interval: 5s\n",
               #"pw.yml:1:1: globl: unknown key "globl"; did you mean "global"?"#),
        .target("unknown target key", "    intervall: 15s\n",
                #"pw.yml:4:5: targets[0].intervall: unknown key "intervall"; did you mean "interval"?"#),
        .target("unknown nested key", "    timeouts: {conect: 1s}\n",
                #"pw.yml:4:16: targets[0].timeouts.conect: unknown key "conect"; did you mean "connect"?"#),
        .target("unknown key, nothing close", "    colour: red\n",
                #"pw.yml:4:5: targets[0].colour: unknown key "colour""#),
        // Durations.
        .target("duration without unit", "    interval: 15\n",
                #"pw.yml:4:15: targets[0].interval: invalid duration "15": use a number with a unit, like 500ms, 15s, 5m, 1h or 30d"#),
        Broken("negative duration", "global:\n  interval: -5s\n",
               #"pw.yml:2:13: global.interval: invalid duration "-5s": use a number with a unit, like 500ms, 15s, 5m, 1h or 30d"#),
        Broken("zero timeout", "global:\n  timeout: 0s\n",
               "pw.yml:2:12: global.timeout: must be greater than 0"),
        .target("interval under 1s", "    interval: 500ms\n",
                "pw.yml:4:15: targets[0].interval: must be at least 1s, got 500ms"),
        Broken("list instead of duration", "global:\n  interval: [5s]\n",
               "pw.yml:2:13: global.interval: expected a duration like 15s, got a list"),
        // Names and URLs.
        Broken("duplicate target names", "targets:\n  - name: a\n    url: https://x.example\n  - name: a\n    url: https://y.example\n",
               #"pw.yml:4:11: targets[1].name: duplicate target name "a" (first used on line 2)"#),
        Broken("space in name", "targets:\n  - name: my api\n    url: https://x.example\n",
               #"pw.yml:2:11: targets[0].name: invalid name "my api": use only letters, digits, "_", "." and "-""#),
        Broken("missing url", "targets:\n  - name: a\n",
               #"pw.yml:2:5: targets[0]: missing required key "url""#),
        .target("ftp url", url: "ftp://x.example/file", "",
                #"pw.yml:3:10: targets[0].url: unsupported scheme "ftp": the url must start with http:// or https://"#),
        .target("url without scheme", url: "x.example/health", "",
                #"pw.yml:3:10: targets[0].url: "x.example/health" has no scheme: the url must start with http:// or https://"#),
        // proxy_url: only what libcurl takes without settings of its own, and never its password.
        .target("https proxy", "    proxy_url: https://proxy.example:3128\n",
                #"pw.yml:4:16: targets[0].proxy_url: unsupported proxy scheme "https": use http://, socks5:// or socks5h://"#),
        .target("socks4 proxy", "    proxy_url: socks4://u:hunter2@proxy.example:1080\n",
                #"pw.yml:4:16: targets[0].proxy_url: unsupported proxy scheme "socks4": use http://, socks5:// or socks5h://"#),
        .target("proxy without scheme", "    proxy_url: proxy.example:3128\n",
                #"pw.yml:4:16: targets[0].proxy_url: "proxy.example:3128" has no scheme: use http://, socks5:// or socks5h:// and host:port"#),
        .target("proxy without port, password redacted", "    proxy_url: http://u:hunter2@proxy.example\n",
                #"pw.yml:4:16: targets[0].proxy_url: "http://***@proxy.example" needs a port, like http://proxy.example:3128"#),
        .target("proxy with a path", "    proxy_url: socks5h://proxy.example:1080/x\n",
                #"pw.yml:4:16: targets[0].proxy_url: "socks5h://proxy.example:1080/x" must name only the proxy (scheme, host, port, and a user and password if any), without a path or query"#),
        .target("proxy libcurl refuses, password redacted", "    proxy_url: \"socks5://u:hunter2@proxy .example:1080\"\n",
                #"pw.yml:4:16: targets[0].proxy_url: "socks5://***@proxy .example:1080" is not a URL libcurl accepts: bad hostname"#),
        .target("empty proxy", "    proxy_url: \"\"\n",
                "pw.yml:4:16: targets[0].proxy_url: must not be empty"),
        // URLs libcurl refuses: each one used to pass and fail every probe as resolve/dns_error.
        .target("port over 65535", url: "http://x.example:99999/", "",
                #"pw.yml:3:10: targets[0].url: "http://x.example:99999/" is not a URL libcurl accepts: port number was not a decimal number between 0 and 65535"#),
        .target("space in the host", url: "\"http://x .example/\"", "",
                #"pw.yml:3:10: targets[0].url: "http://x .example/" is not a URL libcurl accepts: bad hostname"#),
        .target("two @ in the authority", url: "http://a@b@x.example/", "",
                #"pw.yml:3:10: targets[0].url: "http://***@x.example/" is not a URL libcurl accepts: bad hostname"#),
        .target("unknown redirects key", "    redirects: {allow_privat: true}\n",
                #"pw.yml:4:17: targets[0].redirects.allow_privat: unknown key "allow_privat"; did you mean "allow_private"?"#),
        .target("redirects not a bool", "    redirects: {allow_private: maybe}\n",
                #"pw.yml:4:32: targets[0].redirects.allow_private: expected true or false, got "maybe""#),
        .target("url without host", url: "https:///health", "",
                #"pw.yml:3:10: targets[0].url: "https:///health" has no host"#),
        Broken("location with a space", "global:\n  location: my place\n",
               #"pw.yml:2:13: global.location: invalid location "my place": use only letters, digits, "_", "." and "-""#),
        .target("bad method", "    method: GE T\n",
                #"pw.yml:4:13: targets[0].method: invalid HTTP method "GE T": use a name like GET, HEAD or POST"#),
        // Expectations.
        .target("bad regex", "    expect: {body_matches: \"(ok\"}\n",
                #"pw.yml:4:28: targets[0].expect.body_matches: invalid regular expression "(ok": expected ')'"#),
        .target("bad header regex", "    expect:\n      headers: {Content-Type: \"[a-\"}\n",
                #"pw.yml:5:31: targets[0].expect.headers.Content-Type: invalid regular expression "[a-": expected ']'"#),
        .target("status class 6xx", "    expect: {status: [200, 6xx]}\n",
                #"pw.yml:4:28: targets[0].expect.status[1]: "6xx" is not a status code (100-599) or class (1xx-5xx)"#),
        .target("expect.tls on an http url", url: "http://x.example", "    expect: {tls: true}\n",
                "pw.yml:4:19: targets[0].expect.tls: url is http://, the probe can never be TLS"),
        .target("negative cert_min_days", "    expect: {cert_min_days: -1}\n",
                "pw.yml:4:29: targets[0].expect.cert_min_days: must be 0 or more, got -1"),
        // TLS files.
        .target("missing ca file", "    tls: {ca_file: missing.pem}\n",
                "pw.yml:4:20: targets[0].tls.ca_file: file not found: $DIR/missing.pem"),
        .target("cert without key", "    tls: {cert_file: client.pem}\n",
                "pw.yml:4:22: targets[0].tls.cert_file: cert_file needs key_file too"),
        .target("key without cert", "    tls: {key_file: $DIR/client.key}\n",
                "pw.yml:4:21: targets[0].tls.key_file: key_file needs cert_file too"),
        // Timeouts.
        .target("total longer than the target's interval", "    interval: 15s\n    timeouts: {total: 20s}\n",
                "pw.yml:5:23: targets[0].timeouts.total: 20s is longer than the target's interval (15s)"),
        Broken("global timeout longer than the target's interval",
               "global:\n  timeout: 10s\ntargets:\n  - name: a\n    url: https://x.example\n    interval: 5s\n",
               "pw.yml:6:15: targets[0].interval: timeout 10s (from global.timeout) is longer than the interval 5s"),
        Broken("global timeout longer than global interval",
               "global: {interval: 5s, timeout: 10s}\ntargets:\n  - name: a\n    url: https://x.example\n",
               "pw.yml:3:5: targets[0]: timeout 10s (from global.timeout) is longer than the interval 5s (from global.interval)"),
        .target("total longer than the global interval", "    timeouts: {total: 45s}\n",
                "pw.yml:4:23: targets[0].timeouts.total: 45s is longer than the target's interval (30s, from global.interval)"),
        .target("no follow-up error after a bad interval", "    interval: 0s\n    timeouts: {total: 20s}\n",
                "pw.yml:4:15: targets[0].interval: must be at least 1s, got 0s"),
        .target("empty value for a duration", "    interval:\n",
                "pw.yml:4:14: targets[0].interval: expected a duration like 15s, got an empty value"),
        .target("first_byte longer than total", "    timeouts: {first_byte: 5s, total: 2s}\n",
                "pw.yml:4:28: targets[0].timeouts.first_byte: 5s is longer than timeouts.total (2s)"),
        .target("list where a mapping is expected", "    timeouts: [1s]\n",
                "pw.yml:4:15: targets[0].timeouts: expected a mapping, got a list"),
        // Other target settings.
        .target("11 retry attempts", "    retries: {attempts: 11}\n",
                "pw.yml:4:25: targets[0].retries.attempts: must be between 0 and 10, got 11"),
        .target("http_version 3", "    http_version: \"3\"\n",
                #"pw.yml:4:19: targets[0].http_version: unsupported http_version "3": use auto, "1.1" or "2""#),
        .target("ip_protocol typo", "    ip_protocol: ipv4\n",
                #"pw.yml:4:18: targets[0].ip_protocol: unsupported ip_protocol "ipv4": use auto, ip4 or ip6; did you mean "ip4"?"#),
        // Connections (docs/probing.md#connections).
        .target("connection typo", "    connection: reused\n",
                #"pw.yml:4:17: targets[0].connection: unsupported connection "reused": use fresh, reuse or both; did you mean "reuse"?"#),
        .target("slo.connection typo", "    connection: both\n    slo: {availability: 99, connection: warm}\n",
                #"pw.yml:5:41: targets[0].slo.connection: unsupported slo.connection "warm": use fresh or reused"#),
        .target("slo on reused requests of a fresh target", "    slo: {availability: 99, connection: reused}\n",
                #"pw.yml:4:41: targets[0].slo.connection: slo.connection reused judges requests this target never makes (connection: fresh); use fresh (docs/slo.md#connection)"#),
        .target("tls.resume on plain http", url: "http://x.example", "    tls: {resume: true}\n",
                #"pw.yml:4:19: targets[0].tls.resume: tls.resume needs an https URL: a plain http target has no TLS session to resume (docs/probing.md#tls-resumption)"#),
        .target("slo on fresh requests of a reuse target", "    connection: reuse\n    slo: {availability: 99, connection: fresh}\n",
                #"pw.yml:5:41: targets[0].slo.connection: slo.connection fresh judges requests this target never makes (connection: reuse); use reused (docs/slo.md#connection)"#),
        .target("non-boolean follow_redirects", "    follow_redirects: maybe\n",
                #"pw.yml:4:23: targets[0].follow_redirects: expected true or false, got "maybe""#),
        // SLOs.
        .target("min_coverage as a percentage", "    slo: {availability: 99, min_coverage: 90}\n",
                #"pw.yml:4:43: targets[0].slo.min_coverage: must be a ratio from 0 to 1 (0.9: 90 % of the SLO window observed), got "90""#),
        .target("availability 100", "    slo: {availability: 100}\n",
                "pw.yml:4:25: targets[0].slo.availability: must be a percentage between 0 and 100 (both excluded), got 100"),
        .target("latency without threshold", "    slo: {latency: {objective: 99}}\n",
                #"pw.yml:4:20: targets[0].slo.latency: missing required key "threshold""#),
        .target("slo with neither objective", "    slo: {window: 7d}\n",
                "pw.yml:4:10: targets[0].slo: an slo needs availability, latency or both"),
        // Storage.
        Broken("rollup_retention shorter than raw_retention", "storage:\n  raw_retention: 10d\n  rollup_retention: 5d\n",
               "pw.yml:3:21: storage.rollup_retention: 5d is shorter than raw_retention (10d)"),
        Broken("raw_retention under 1h", "storage: {raw_retention: 30m}\n",
               "pw.yml:1:26: storage.raw_retention: must be at least 1h, got 30m"),
        Broken("empty storage path", "storage: {path: \"\"}\n",
               "pw.yml:1:17: storage.path: must not be empty"),
        // Metrics.
        Broken("duration bucket without a unit", "metrics: {duration_buckets: [50ms, 1]}\n",
               #"pw.yml:1:36: metrics.duration_buckets[1]: invalid duration "1": use a number with a unit, like 500ms, 15s, 5m, 1h or 30d"#),
        Broken("no duration buckets", "metrics: {duration_buckets: []}\n",
               "pw.yml:1:29: metrics.duration_buckets: must list at least one bucket bound, e.g. [50ms, 250ms, 1s]"),
        Broken("unknown metrics key", "metrics: {phase_histogram: true}\n",
               #"pw.yml:1:11: metrics.phase_histogram: unknown key "phase_histogram"; did you mean "phase_histograms"?"#),
        // File shape.
        Broken("YAML syntax error", "global:\n  interval: 5s\n timeout: 1s\n",
               "pw.yml:3:2: YAML syntax error: did not find expected key (while parsing a block mapping at line 1, column 1)"),
        Broken("tab indentation", "global:\n\tinterval: 5s\n",
               "pw.yml:2:1: YAML syntax error: found character that cannot start any token (while scanning for the next token at line 2, column 1); YAML does not allow tabs for indentation, use spaces"),
        Broken("duplicate YAML key", "global:\n  interval: 5s\n  interval: 6s\n",
               #"pw.yml:3:3: duplicate key "interval" (first used on line 2)"#),
        Broken("duplicate YAML key in a target", "targets:\n  - name: a\n    url: https://x.example\n    # again\n\n    name: b\n",
               #"pw.yml:6:5: duplicate key "name" (first used on line 2)"#),
        Broken("duplicate YAML key, flow style", "global: {interval: 5s, interval: 6s}\n",
               #"pw.yml:1:10: duplicate key "interval": each key may appear only once in a mapping"#),
        Broken("empty file", "", "pw.yml:1:1: the file is empty; a config needs at least a targets list"),
        Broken("top level is a list", "- a\n- b\n",
               "pw.yml:1:1: the top level must be a mapping with global, storage, metrics and targets, got a list"),
        Broken("targets is a mapping", "targets: {name: a}\n",
               "pw.yml:1:10: targets: expected a list, got a mapping"),
        Broken("target is a string", "targets:\n  - https://x.example\n",
               #"pw.yml:2:5: targets[0]: expected a mapping, got "https://x.example""#),
        // remote_write: located like everything else, and never quoting a credential.
        Broken("remote_write without url", "remote_write:\n  - send_interval: 5s\n",
               #"pw.yml:2:5: remote_write[0]: missing required key "url""#),
        Broken("remote_write url with another scheme", "remote_write:\n  - url: ftp://u:hunter2@m.example/push\n",
               #"pw.yml:2:10: remote_write[0].url: unsupported scheme "ftp": the url must start with http:// or https://"#),
        Broken("remote_write header the sender sets", "remote_write:\n  - url: https://m.example/push\n    headers: {Content-Encoding: gzip}\n",
               #"pw.yml:3:14: remote_write[0].headers: header "Content-Encoding" is set by the remote-write sender itself"#),
        Broken("remote_write external label location", "remote_write:\n  - url: https://m.example/push\n    external_labels: {location: x, 1a: y}\n",
               #"pw.yml:3:23: remote_write[0].external_labels.location: "location" is on the series already (global.location)"#
               + "\n" + #"pw.yml:3:36: remote_write[0].external_labels.1a: invalid label name "1a": use letters, digits and _, not starting with a digit or __"#),
        Broken("remote_write two credentials",
               "remote_write:\n  - url: https://u:hunter2@m.example/push\n    headers: {Authorization: Bearer t}\n",
               "pw.yml:2:5: remote_write[0]: give one of basic_auth, bearer_token_file, an Authorization header or user info in the url, not an Authorization header and user info in the url"),
        Broken("remote_write small max_pending", "remote_write:\n  - url: https://m.example/push\n    max_pending: 10\n",
               "pw.yml:3:18: remote_write[0].max_pending: must be at least 1000 samples, got 10"),
        Broken("remote_write same url twice", "remote_write:\n  - url: https://m.example/push\n  - url: https://u:p@m.example/push\n",
               #"pw.yml:3:10: remote_write[1].url: "https://m.example/push" is already the url of the remote_write entry at line 2"#),
        Broken("remote_write tls on http", "remote_write:\n  - url: http://m.example/push\n    tls: {insecure_skip_verify: true}\n",
               "pw.yml:3:10: remote_write[0].tls: url is http://, tls settings would never be used"),
        Broken("remote_write interval under 1s", "remote_write:\n  - url: http://m.example/push\n    send_interval: 500ms\n",
               "pw.yml:3:20: remote_write[0].send_interval: must be at least 1s, got 500ms"),
        Broken("remote_write password file missing",
               "remote_write:\n  - url: http://m.example/push\n    basic_auth: {username: agent, password_file: /nonexistent/pw}\n",
               "pw.yml:3:50: remote_write[0].basic_auth.password_file: file not found: /nonexistent/pw"),
        // Target state thresholds.
        Broken("state ratio of 1", "global:\n  state: {degraded_error_ratio: 1}\n",
               "pw.yml:2:33: global.state.degraded_error_ratio: must be a ratio from 0 (included) to 1 (excluded), got 1"),
        .target("state count of 0", "    state: {down_after: 0}\n",
                "pw.yml:4:25: targets[0].state.down_after: must be a whole number from 1 to 1000, got 0"),
        .target("unknown state key", "    state: {recover_afer: 3}\n",
                #"pw.yml:4:13: targets[0].state.recover_afer: unknown key "recover_afer"; did you mean "recover_after"?"#),
    ]

    @Test(arguments: rows)
    func reportsExactError(_ row: Broken) {
        #expect(Fixtures.check(row.yaml) == row.error)
    }

    @Test func everyErrorIsReportedInFileOrder() {
        let yaml = """
            global:
              interval: 0s
              locaton: x
            storage: {raw_retention: 1d, rollup_retention: 2h}
            targets:
              - name: a
                url: ftp://x.example
                expect: {status: [700], tls: maybe}
              - url: https://y.example
                timeouts: {total: 1m, connect: 2m}
              - name: a
                url: https://z.example
            """
        #expect(Fixtures.check(yaml) == """
            pw.yml:2:13: global.interval: must be at least 1s, got 0s
            pw.yml:3:3: global.locaton: unknown key "locaton"; did you mean "location"?
            pw.yml:4:48: storage.rollup_retention: 2h is shorter than raw_retention (1d)
            pw.yml:7:10: targets[0].url: unsupported scheme "ftp": the url must start with http:// or https://
            pw.yml:8:23: targets[0].expect.status[0]: "700" is not a status code (100-599) or class (1xx-5xx)
            pw.yml:8:34: targets[0].expect.tls: expected true or false, got "maybe"
            pw.yml:9:5: targets[1]: missing required key "name"
            pw.yml:10:36: targets[1].timeouts.connect: 2m is longer than timeouts.total (1m)
            pw.yml:11:11: targets[2].name: duplicate target name "a" (first used on line 6)
            """)
    }
}
