import Config
import Foundation
import PhaseWatchCore
import Testing

/// `phasewatch probe URL [flags]` builds its target with the decoder of the file's targets: the
/// same keys, defaults and checks, errors named by flag.
struct CommandLineTargetTests {
    typealias Setting = CommandLineTarget.Setting

    static func target(_ url: String, _ settings: [Setting]) throws(ConfigErrors) -> Target {
        try CommandLineTarget.target(url: url, settings: settings, baseDirectory: Fixtures.dir)
    }

    static func errors(_ settings: [Setting], url: String = "http://127.0.0.1/") -> [String] {
        do {
            _ = try target(url, settings)
            return []
        } catch {
            return error.errors.map { $0.description.replacingOccurrences(of: Fixtures.dir, with: "$DIR") }
        }
    }

    static func text(_ flag: String, _ path: String, _ value: String) -> Setting {
        Setting(flag: flag, path: path.split(separator: ".").map(String.init), value: .text(value))
    }

    static func yaml(_ key: String, _ value: String) -> Setting {
        Setting(flag: "--set \(key)", path: key.split(separator: ".").map(String.init), value: .yaml(value))
    }

    @Test func flagsAreConfigKeysWithTheFilesDefaults() throws {
        let t = try Self.target("https://api.example:8443/health", [
            Self.text("--timeout", "timeouts.total", "2s"), Self.text("--method", "method", "post"),
            Self.text("--http-version", "http_version", "1.1"), Self.text("--ca-file", "tls.ca_file", "ca.pem"),
            Setting(flag: "--header", path: ["headers", "X-Id"], value: .text("42")),
            Setting(flag: "--resolve", path: ["resolve"], value: .list(["api.example:8443:127.0.0.1"])),
            Self.yaml("proxy_url", "socks5h://u:p@127.0.0.1:1080"), Self.yaml("expect.status", "[200, 3xx]"),
            Self.yaml("timeouts.connect", "500ms"),
        ])
        #expect(t.name == "api.example")
        #expect(t.url == "https://api.example:8443/health")
        #expect(t.timeouts == Timeouts(connect: .milliseconds(500), tls: .seconds(2), firstByte: .seconds(2), total: .seconds(2)))
        #expect(t.method == "POST")
        #expect(t.httpVersion == .http1_1)
        #expect(t.tls.caFile == "\(Fixtures.dir)/ca.pem")
        #expect(t.headers == [Header(name: "X-Id", value: "42")])
        #expect(t.resolve == ["api.example:8443:127.0.0.1"])
        #expect(t.proxyURL == "socks5h://u:p@127.0.0.1:1080")
        #expect(t.expect.status == [.code(200), .class(3)])
        #expect(try Self.target("http://x.example/", []).timeouts == Timeouts(total: .seconds(10)))
    }

    /// Each used to be parsed by the probe command's own rules, or not checked at all.
    @Test(arguments: [
        (Self.text("--timeout", "timeouts.total", "0s"), "--timeout: must be greater than 0"),
        (Self.text("--timeout", "timeouts.total", "10"),
         #"--timeout: invalid duration "10": use a number with a unit, like 500ms, 15s, 5m, 1h or 30d"#),
        (Self.text("--http-version", "http_version", "3"), #"--http-version: unsupported http_version "3": use auto, "1.1" or "2""#),
        (Self.text("--method", "method", "GE T"), #"--method: invalid HTTP method "GE T": use a name like GET, HEAD or POST"#),
        (Setting(flag: "--header", path: ["headers", "Bad Name"], value: .text("x")),
         #"--header: invalid header name "Bad Name": use letters, digits and - (no spaces or colons)"#),
        (Setting(flag: "--header", path: ["headers", "X-A"], value: .text("a\r\nX-Injected: 1")),
         "--header: header value must not contain line breaks"),
        (Self.text("--cert-file", "tls.cert_file", "client.pem"), "--cert-file: cert_file needs key_file too"),
        (Self.text("--ca-file", "tls.ca_file", "missing.pem"), "--ca-file: file not found: $DIR/missing.pem"),
        (Setting(flag: "--resolve", path: ["resolve"], value: .list(["a:b"])),
         #"--resolve: "a:b" is not of the form host:port:address[,address…] (port 1-65535)"#),
        (Self.yaml("proxy_url", "ftp://u:hunter2@proxy:21"), #"--set proxy_url: unsupported proxy scheme "ftp": use http://, socks5:// or socks5h://"#),
        (Self.yaml("proxy_url", "http://u:hunter2@proxy"), #"--set proxy_url: "http://***@proxy" needs a port, like http://proxy.example:3128"#),
        (Self.yaml("intervall", "5s"), #"--set intervall: unknown key "intervall"; did you mean "interval"?"#),
        (Self.yaml("timeouts.conect", "1s"), #"--set timeouts.conect: unknown key "conect"; did you mean "connect"?"#),
        (Self.yaml("expect.status", "[6xx]"), #"--set expect.status: "6xx" is not a status code (100-599) or class (1xx-5xx)"#),
        (Self.yaml("timeouts.connect", "20s"), "--set timeouts.connect: 20s is longer than timeouts.total (10s, from global.timeout)"),
    ])
    func badFlagIsNamedWithTheFilesMessage(setting: Setting, error: String) {
        #expect(Self.errors([setting]) == [error])
    }

    @Test func urlErrorsNameTheURLWithoutItsPassword() {
        #expect(Self.errors([], url: "ftp://u:hunter2@x.example/")
            == [#"URL: unsupported scheme "ftp": the url must start with http:// or https://"#])
        #expect(Self.errors([], url: "http://u:hunter2@x.example:99999/")
            == [#"URL: "http://***@x.example:99999/" is not a URL libcurl accepts: port number was not a decimal number between 0 and 65535"#])
    }

    @Test func everyBadFlagIsReportedAtOnce() {
        let errors = Self.errors([
            Self.text("--timeout", "timeouts.total", "5sec"), Self.text("--http-version", "http_version", "3"),
            Self.yaml("proxy_url", "https://p:1"),
        ])
        #expect(errors.count == 3)
        #expect(errors.map { $0.prefix(while: { $0 != ":" }) } == ["--http-version", "--timeout", "--set proxy_url"])
    }

    @Test func aSetValueThatIsNotYAML() {
        #expect(Self.errors([Self.yaml("expect.status", "[200")]).first?.hasPrefix("--set expect.status: not a YAML value") == true)
    }

    /// `--resolve` is the file's `resolve`: several addresses per pin, checked the same way.
    @Test func resolveTakesSeveralAddresses() throws {
        let target = try Self.target("http://x.example/", [Setting(flag: "--resolve", path: ["resolve"], value: .list(["x.example:80:127.0.0.2,[::1]"]))])
        #expect(target.resolve == ["x.example:80:127.0.0.2,[::1]"])
        #expect(Self.errors([Setting(flag: "--resolve", path: ["resolve"], value: .list(["x.example:80:127.0.0.2,x"]))])
            == [#"--resolve: "x" in "x.example:80:127.0.0.2,x" is not an IP address: resolve pins a name to addresses, as curl's --resolve does"#])
    }

    @Test func proxyURLInTheFile() throws {
        let config = try Fixtures.parse("""
            targets:
              - {name: a, url: "http://x.example/", proxy_url: "http://u:p%40ss@proxy.example:3128"}
              - {name: b, url: "https://x.example/", proxy_url: "SOCKS5H://[::1]:1080"}
              - {name: c, url: "https://x.example/"}
            """)
        #expect(config.targets.map(\.proxyURL) == ["http://u:p%40ss@proxy.example:3128", "SOCKS5H://[::1]:1080", nil])
    }
}
