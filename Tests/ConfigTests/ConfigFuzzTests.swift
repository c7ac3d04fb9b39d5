import Config
import Foundation
import PhaseWatchCore
import TestSupport
import Testing

/// The config loader against thousands of broken documents: random text, and valid configs
/// mutated line by line and character by character. Whatever it is given it must return,
/// promptly, either a config or errors that each say where (line and column inside the
/// document) and what. Seeded: `PHASEWATCH_FUZZ_SEED=N swift test --filter ConfigFuzz`
/// replays a run; `PHASEWATCH_FUZZ_DOCUMENTS=N` runs more documents.
@Suite(.serialized)
struct ConfigFuzzTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["PHASEWATCH_FUZZ_SEED"].flatMap { UInt64($0) }
        ?? 0x7068_6173_6577_6174
    static let documents = ProcessInfo.processInfo.environment["PHASEWATCH_FUZZ_DOCUMENTS"].flatMap { Int($0) } ?? 4000

    @Test func everyDocumentLoadsOrFailsWithLocatedErrors() throws {
        var rng = SplitMix64(seed: Self.seed)
        var fuzzer = ConfigFuzzer(seeds: Self.seedDocuments())
        var stats = FuzzStats()
        let clock = ContinuousClock()
        let start = clock.now
        for index in 0..<Self.documents {
            let (kind, yaml) = fuzzer.document(index: index, using: &rng)
            let problem = stats.check(yaml, kind: kind)
            if let problem {
                Issue.record("""
                    seed \(Self.seed), document \(index) (\(kind)): \(problem)
                    --- document (Swift literal) ---
                    \(yaml.debugDescription)
                    """)
                if stats.problems >= 5 { break }
            }
        }
        // Raw bytes through `load(path:)`, invalid UTF-8 included.
        let dir = Scratch.dir.appendingPathComponent("config-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for index in 0..<200 {
            let bytes = fuzzer.bytesDocument(using: &rng)
            let path = dir.appendingPathComponent("pw-\(index).yml").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            if let problem = stats.checkFile(path, bytes: bytes) {
                Issue.record("seed \(Self.seed), file document \(index): \(problem)\n--- bytes ---\n\(bytes)")
            }
        }
        let elapsed = clock.now - start
        print("""
            ConfigFuzz: seed \(Self.seed) (PHASEWATCH_FUZZ_SEED), \(stats.total) documents in \(elapsed): \
            \(stats.accepted) accepted, \(stats.rejected) rejected (\(stats.errors) located errors, \
            \(stats.syntaxErrors) of them YAML syntax errors, \(stats.fileErrors) whole-file errors), slowest \
            \(stats.slowest) (\(stats.slowestKind))
            ConfigFuzz by kind: \(stats.byKind.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.accepted)/\($0.value.total)" }.joined(separator: ", ")) (accepted/total)
            """)
        // The mutations must exercise both outcomes, or the fuzzer is not testing much.
        #expect(stats.accepted >= Self.documents / 50, "only \(stats.accepted) documents loaded")
        #expect(stats.rejected >= Self.documents / 2, "only \(stats.rejected) documents were rejected")
        #expect(stats.syntaxErrors > 100 && stats.errors - stats.syntaxErrors > 100)
    }

    /// Documents that once crashed the loader, hung it, or gave an error without a position.
    @Test(arguments: Self.regressions)
    func regression(_ row: FuzzRegression) {
        var stats = FuzzStats()
        let problem = stats.check(row.yaml, kind: row.what)
        #expect(problem == nil, "\(problem ?? "")")
        #expect(stats.rejected == 1, "a broken document was accepted")
    }

    static let regressions: [FuzzRegression] = [
        // PromDuration.parse adds the units in Int64 milliseconds; two huge ones overflowed
        // (a trap: the process died) instead of being rejected.
        FuzzRegression("units adding up past Int64", "global:\n  interval: 292000000y292000000w\n"),
        FuzzRegression("overflowing duration in a flow mapping", "targets: [{name: a, url: 'http://127.0.0.1/', timeouts: {total: 106751991167d1h}}]\n"),
        FuzzRegression("overflowing duration in the storage", "storage: {raw_retention: 9000000000000000s9000000000000ms}\n"),
        // Accepted, then the agent crashed at start: its scheduler counts nanoseconds in 64 bits.
        FuzzRegression("an interval of 250 million years", "global: {interval: 250000000y}\n"),
        FuzzRegression("a retention of 300 years", "storage: {raw_retention: 300y, rollup_retention: 300y}\n"),
        // Errors quoted URLs as written, password included.
        FuzzRegression("password of an invalid URL", "targets: [{name: a, url: 'http://user:hunter2@/x'}]\n"),
        // Yams hashes mapping keys to find duplicates; a key made of nested aliases hashed its
        // whole expansion (10⁹ nodes here): minutes of CPU, a hang on reload.
        FuzzRegression("billion laughs as a mapping key", (["a0: &a0 [" + Array(repeating: "x", count: 10).joined(separator: ", ") + "]"]
            + (1...9).map { "a\($0): &a\($0) [" + Array(repeating: "*a\($0 - 1)", count: 10).joined(separator: ", ") + "]" }
            + ["global: {? *a9 : 1}"]).joined(separator: "\n") + "\n"),
        // Values were quoted as written: a line break in one split the error over two lines.
        FuzzRegression("line break in a quoted name", "targets:\n  - name: \"a\\nb\"\n    url: http://127.0.0.1/\n"),
        FuzzRegression("line break in an unknown key", "\"glo\\nbal\": {}\n"),
        FuzzRegression("line breaks in a top-level scalar", "\"a\\n\\u2028b\\rc\"\n"),
        FuzzRegression("NUL in a duration", "global: {interval: \"5\\0s\"}\n"),
        // libyaml reports the end of the input on the line after the last one.
        FuzzRegression("unclosed flow mapping at the end", "targets: [{name: a"),
        FuzzRegression("unclosed flow mapping, final line break", "global:\n  state: {down_after: 3\n"),
        FuzzRegression("simple key cut at the end", "targets:\n  - name: a\n    url: http://127.0.0.1/\n    headers\n"),
        // A megabyte in a message: cut to a readable length, its hint kept.
        FuzzRegression("huge invalid name", "targets:\n  - name: '\(String(repeating: "x y", count: 300_000))'\n    url: http://127.0.0.1/\n"),
    ]

    /// The valid configs the mutations start from.
    static func seedDocuments() -> [String] {
        let example = (try? String(contentsOf: Repo.root.appendingPathComponent("examples/phasewatch.yml"), encoding: .utf8)) ?? ""
        let seeds = [
            example, ValidConfigTests.contractExample,
            """
            global: {interval: 10s, timeout: 5s, location: test, state: {recent_probes: 10, down_after: 2}}
            storage: {path: data/pw.db, raw_retention: 2d, rollup_retention: 30d}
            targets:
              - {name: a, url: "http://127.0.0.1:8080/?x=1", expect: {status: [200, 3xx]}}
              - name: b
                url: https://user:pw@localhost:8443/health
                method: post
                headers: {X-Api-Key: abc, X-Retries: 3, X-Debug: no}
                body: |
                  {"q": 1}
                http_version: 1.1
                ip_protocol: ip4
                retries: {attempts: 2, backoff: 100ms}
                tls: {ca_file: ca.pem, cert_file: client.pem, key_file: client.key, insecure_skip_verify: yes}
                slo: {window: 7d, latency: {threshold: 250ms, objective: 95}}
                state: {degraded_error_ratio: 0.25, recover_after: 3}
            """,
            """
            defaults: &defaults
            targets:
              - &first
                name: one
                url: 'http://127.0.0.1:9/'
                interval: 1m
                timeouts: &t {connect: 1s, total: 5s}
              - name: two
                url: "http://[::1]:9/x"
                timeouts: *t
                expect:
                  body_matches: '^ok$'
                  body_not_matches: "(?i)error"
                  headers:
                    Content-Type: "^application/json"
                  cert_min_days: 0
                  max_duration: 1s500ms
            """,
        ]
        return seeds.filter { !$0.isEmpty }
    }
}

struct FuzzRegression: Sendable, CustomTestStringConvertible {
    let what: String
    let yaml: String
    var testDescription: String { what }

    init(_ what: String, _ yaml: String) {
        self.what = what
        self.yaml = yaml
    }
}

/// Counts outcomes and checks each one: a config, or errors with a place and a message.
struct FuzzStats {
    struct Kind { var total = 0; var accepted = 0 }
    var total = 0
    var accepted = 0
    var rejected = 0
    var errors = 0
    var syntaxErrors = 0
    var fileErrors = 0
    var problems = 0
    var byKind: [String: Kind] = [:]
    var slowest: Duration = .zero
    var slowestKind = ""

    /// Parses one document; nil when all is well, else what is wrong.
    mutating func check(_ yaml: String, kind: String) -> String? {
        total += 1
        byKind[kind, default: Kind()].total += 1
        let clock = ContinuousClock()
        let start = clock.now
        let outcome: Result<AgentConfig, ConfigErrors>
        do {
            outcome = .success(try ConfigLoader.parse(yaml: yaml, file: "fuzz.yml", baseDirectory: Fixtures.dir))
        } catch {
            outcome = .failure(error)
        }
        let elapsed = clock.now - start
        if elapsed > slowest {
            slowest = elapsed
            slowestKind = kind
        }
        // A hang cannot be caught in-process; a document this slow is the start of one.
        if elapsed > .seconds(1) {
            return fail("took \(elapsed)")
        }
        switch outcome {
        case .success(let config):
            if let problem = Self.problem(config) { return fail("accepted, but \(problem)") }
            accepted += 1
            byKind[kind, default: Kind()].accepted += 1
            return nil
        case .failure(let failure):
            rejected += 1
            if let problem = Self.problem(failure, yaml: yaml) { return fail(problem) }
            errors += failure.errors.count
            syntaxErrors += failure.errors.filter(\.key.isEmpty).count
            return nil
        }
    }

    /// A file of raw bytes: not UTF-8 is one error about the whole file (line 0, as documented
    /// for files that cannot be read); anything else must be what `parse` gives for its text.
    mutating func checkFile(_ path: String, bytes: [UInt8]) -> String? {
        let loaded: Result<AgentConfig, ConfigErrors>
        do {
            loaded = .success(try ConfigLoader.load(path: path))
        } catch {
            loaded = .failure(error)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            total += 1
            rejected += 1
            fileErrors += 1
            guard case .failure(let failure) = loaded, failure.errors.count == 1, let error = failure.errors.first,
                error.file == path, error.line == 0, error.column == 0, error.message.contains("UTF-8")
            else { return fail("invalid UTF-8 not reported as one whole-file error: \(loaded)") }
            return nil
        }
        if let problem = check(text, kind: "bytes-file") { return problem }
        switch loaded {
        case .success: return nil
        case .failure(let failure):
            return failure.errors.allSatisfy({ $0.file == path }) ? nil : fail("errors do not name \(path): \(failure)")
        }
    }

    private mutating func fail(_ problem: String) -> String {
        problems += 1
        return problem
    }

    /// Every error: the file as given, a line and column inside the document (1-based, columns
    /// in Unicode scalars, lines split as libyaml does), a one-line message; errors in file order.
    static func problem(_ failure: ConfigErrors, yaml: String) -> String? {
        guard !failure.errors.isEmpty else { return "ConfigErrors without any error" }
        let lines = libyamlLines(yaml)
        for error in failure.errors {
            let shown = "\"\(error.description)\""
            guard error.file == "fuzz.yml" else { return "wrong file in \(shown)" }
            guard error.line >= 1, error.column >= 1 else { return "no position: \(shown)" }
            guard error.line <= lines.count else { return "line \(error.line) of \(lines.count): \(shown)" }
            let width = lines[error.line - 1]
            guard error.column <= width + 1 else { return "column \(error.column) on a line of \(width): \(shown)" }
            let message = error.message.trimmingCharacters(in: .whitespaces)
            guard !message.isEmpty else { return "empty message: \(shown)" }
            guard !error.description.contains(where: \.isNewline) else { return "more than one line: \(shown)" }
            guard error.description.count <= 1200 else { return "\(error.description.count) characters: \(shown.prefix(300))…" }
            guard URLRedaction.redactingURLs(in: error.description) == error.description else {
                return "a URL password in the error: \(shown)"
            }
            guard error.description.hasPrefix("fuzz.yml:\(error.line):\(error.column): ") else {
                return "description does not start with the place: \(shown)"
            }
        }
        let places = failure.errors.map { [$0.line, $0.column] }
        guard places == places.sorted(by: { $0.lexicographicallyPrecedes($1) }) else {
            return "errors not in file order: \(failure)"
        }
        return nil
    }

    /// What docs/config.md promises about a config that loads.
    static func problem(_ config: AgentConfig) -> String? {
        let nameCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
        func isName(_ text: String) -> Bool { !text.isEmpty && text.unicodeScalars.allSatisfy(nameCharacters.contains) }
        guard isName(config.global.location) else { return "location \(config.global.location.debugDescription)" }
        guard config.global.interval >= .seconds(1), config.global.timeout > .zero else { return "global \(config.global)" }
        // No duration the agent cannot compute with (nanoseconds in 64 bits: 292 years).
        let longest: Duration = .seconds(100 * 365 * 86_400)
        var durations = [config.global.interval, config.global.timeout, config.storage.rawRetention, config.storage.rollupRetention]
        for target in config.targets {
            durations += [target.interval, target.timeouts.total, target.timeouts.connect, target.timeouts.tls,
                          target.timeouts.firstByte, target.retries.backoff]
            durations += [target.expect.maxDuration, target.slo?.window, target.slo?.latency?.threshold].compactMap { $0 }
        }
        guard durations.allSatisfy({ $0 <= longest }) else { return "a duration over 100y: \(durations.max()!)" }
        guard !config.storage.path.isEmpty, config.storage.rawRetention >= .seconds(3600),
            config.storage.rollupRetention >= config.storage.rawRetention
        else { return "storage \(config.storage)" }
        guard Set(config.targets.map(\.name)).count == config.targets.count else { return "duplicate target names" }
        for target in config.targets {
            let t = target.timeouts
            guard isName(target.name) else { return "target name \(target.name.debugDescription)" }
            guard let url = URLComponents(string: target.url), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
                !(url.host ?? "").isEmpty
            else { return "url \(target.url.debugDescription)" }
            guard target.interval >= .seconds(1), t.total > .zero, t.total <= target.interval,
                [t.connect, t.tls, t.firstByte].allSatisfy({ $0 > .zero && $0 <= t.total })
            else { return "\(target.name): interval \(target.interval), timeouts \(t)" }
            guard (0...10).contains(target.retries.attempts) else { return "\(target.name): retries \(target.retries)" }
            guard !target.method.isEmpty, target.method == target.method.uppercased() else { return "method \(target.method)" }
            guard target.headers.allSatisfy({ !$0.value.contains(where: \.isNewline) && !$0.name.isEmpty }) else {
                return "\(target.name): a header with a line break"
            }
            guard !target.expect.status.isEmpty else { return "\(target.name): no expected status" }
            if let slo = target.slo {
                guard slo.availability != nil || slo.latency != nil, slo.window >= .seconds(3600) else { return "slo \(slo)" }
                for ratio in [slo.availability, slo.latency?.objective].compactMap({ $0 }) where !(ratio > 0 && ratio < 1) {
                    return "\(target.name): objective \(ratio)"
                }
            }
            let state = target.state
            guard (1...1000).contains(state.recentProbes), (1...1000).contains(state.downAfter),
                (1...1000).contains(state.recoverAfter), state.degradedErrorRatio >= 0, state.degradedErrorRatio < 1
            else { return "\(target.name): state \(state)" }
        }
        return nil
    }

    /// Width in Unicode scalars of each line, with libyaml's line breaks (CR, LF, CR LF, NEL,
    /// LS, PS).
    static func libyamlLines(_ text: String) -> [Int] {
        var widths = [0]
        var previousCR = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n" where previousCR:
                break
            case "\r", "\n", "\u{85}", "\u{2028}", "\u{2029}":
                widths.append(0)
            default:
                widths[widths.count - 1] += 1
            }
            previousCR = scalar == "\r"
        }
        // A final line break ends the last line; no line follows it.
        if widths.count > 1, widths[widths.count - 1] == 0 { widths.removeLast() }
        return widths
    }
}

/// Makes broken documents: random text, and mutations of valid configs.
struct ConfigFuzzer {
    let seeds: [[String]]

    init(seeds: [String]) {
        self.seeds = seeds.map { $0.components(separatedBy: "\n") }
    }

    static let tokens: [String] = [
        "{", "}", "[", "]", ":", ": ", "- ", "-", ",", "? ", "&a ", "*a", "&anchor ", "*alias", "*undefined", "&a [*a]",
        "\t", "\0", "'", "\"", "#", "!!str ", "!!int ", "!!binary ", "!!map ", "!!seq ", "!custom ", "!<tag:x> ", "|", ">",
        "|-", ">+", "%", "@", "`", "---", "...", "\r", "\r\n", "\u{FEFF}", "\u{85}", "\u{2028}", "\u{1}", "\u{7F}", "\u{FFFD}",
        "é", "日本", "🙂", "\\", "\\u", "\\x", "%YAML 1.2\n---\n", "<<: *a", "<<: ", "~", "null", "true", "no", "0x", "0o7",
        " ", "  ", "    ", "\n", "\n\n", "=", "$", "targets:", "global:", "storage:", "name: x", "url: http://127.0.0.1/",
    ]

    static let values: [String] = [
        "99999999999999999999999999", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "1e309", "-1e309", ".inf", "-.inf", ".nan", "-0", "0x7FFFFFFFFFFFFFFF", "0o777", "0b101", "1_000", "+12",
        "999999999999999999d", "106751991167d", "292000000y292000000w", "9223372036854775807ms", "1y2w3d4h5m6s7ms",
        "0", "-1s", "1.5s", "1h1h", "1s1h", "5", "30", "0s", "1000000000ms", "", "~", "null", "\"\"", "''", "[]", "{}",
        "[[]]", "{a: }", "!!binary AAAA", "!!timestamp 2001-12-14", "!!float x", "!!int 0x", "*undefined", "&v x", "? x",
        "yes", "maybe", "\"\\u0000\"", "\"a\\nb\"", "'a\nb'", "\"\\x00\"", "|\n  a\n  b", ">-\n  a", "http://", "https://[::1",
        "http://u:p@127.0.0.1:99999/", "http://user:hunter2@/x", "https://a:b@[::1/", "ftp://x", "x.example", "(ok", "[a-", "(?<n>)\\k<m>", "((((((((((a))))))))))", "\\",
        "a{1000000}", "[[:alpha:]]", "2xx", "6xx", "600", "99", "-1", "1.0", "100", "99.9999999999999999", "0.00001",
        "GET", "G E T", "ip5", "\"1.1\"", "2", "3",
    ]

    /// Which kind of document index `index` is and its text.
    mutating func document(index: Int, using rng: inout SplitMix64) -> (String, String) {
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: return ("random-bytes", String(decoding: Self.randomBytes(using: &rng), as: UTF8.self))
        case 1: return ("random-tokens", Self.randomTokens(using: &rng))
        case 2: return ("deep-nesting", Self.deepNesting(using: &rng))
        case 3: return ("aliases", aliasDocument(using: &rng))
        case 4: return ("long-string", longString(using: &rng))
        default:
            let count = [1, 1, 1, 2, 2, 3, 5].randomElement(using: &rng)!
            var lines = seeds.randomElement(using: &rng)!
            var names: [String] = []
            for _ in 0..<count {
                names.append(Self.mutate(&lines, using: &rng))
            }
            return ("mutated:" + (count == 1 ? names[0] : "\(count)"), lines.joined(separator: "\n"))
        }
    }

    /// Bytes for a file: sometimes valid UTF-8 text, often not.
    mutating func bytesDocument(using rng: inout SplitMix64) -> [UInt8] {
        var bytes = Array(seeds.randomElement(using: &rng)!.joined(separator: "\n").utf8)
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return Self.randomBytes(using: &rng)
        case 1:
            // One invalid byte somewhere in a valid config.
            let at = Int.random(in: 0...bytes.count, using: &rng)
            bytes.insert([0xFF, 0xC0, 0x80, 0xE9, 0xED].randomElement(using: &rng)!, at: at)
            return bytes
        case 2:
            // Cut in the middle of a multi-byte character.
            bytes.insert(contentsOf: Array("é🙂".utf8).prefix(Int.random(in: 1...5, using: &rng)), at: bytes.count / 2)
            return bytes
        default:
            return Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
        }
    }

    static func randomBytes(using rng: inout SplitMix64) -> [UInt8] {
        let count = Int.random(in: 0...300, using: &rng)
        // Mostly printable ASCII and line breaks so the scanner gets past the first bytes.
        return (0..<count).map { _ in
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: UInt8.random(in: 0...255, using: &rng)
            case 1: 10
            case 2: 32
            default: UInt8.random(in: 32...126, using: &rng)
            }
        }
    }

    static func randomTokens(using rng: inout SplitMix64) -> String {
        let count = Int.random(in: 1...60, using: &rng)
        return (0..<count).map { _ in
            Bool.random(using: &rng) ? tokens.randomElement(using: &rng)! : values.randomElement(using: &rng)!
        }.joined(separator: Bool.random(using: &rng) ? "" : " ")
    }

    static func deepNesting(using rng: inout SplitMix64) -> String {
        let depth = [10, 100, 1000, 5000].randomElement(using: &rng)!
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return "targets: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n"
        case 1: return "global: " + String(repeating: "{a: ", count: depth) + "1" + String(repeating: "}", count: depth) + "\n"
        case 2:
            // Block style: each level indented one more.
            return (0..<min(depth, 500)).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n") + " 1\n"
        case 3: return String(repeating: "- ", count: min(depth, 1000)) + "x\n"
        default:
            // Unbalanced: opened and never closed.
            return "targets:\n  - name: " + String(repeating: "[{", count: depth) + "\n"
        }
    }

    func aliasDocument(using rng: inout SplitMix64) -> String {
        // A "billion laughs": each level refers to the previous one ten times.
        var lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        let levels = Int.random(in: 2...9, using: &rng)
        for level in 1...levels {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: lines.append("targets: *a\(levels)")
        case 1: lines.append("targets: [{name: x, url: 'http://127.0.0.1/', expect: {status: *a\(levels)}}]")
        case 2: lines.append("global: {? *a\(levels) : 1}")  // a huge mapping key
        default: lines.append("targets:\n  - name: *a0\n    url: *a\(levels)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func longString(using rng: inout SplitMix64) -> String {
        let length = [1000, 1000, 10_000, 10_000, 100_000].randomElement(using: &rng)!
        let filler = String(repeating: ["a", "é", "(", " ", "1"].randomElement(using: &rng)!, count: length)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: return "targets:\n  - name: \(filler)\n    url: http://127.0.0.1/\n"
        case 1: return "targets:\n  - name: a\n    url: \"http://127.0.0.1/\(filler)\"\n    expect: {body_matches: \"\(filler)\"}\n"
        case 2: return "global:\n  location: '\(filler)'\n"
        case 3: return "\(filler.prefix(2000)): 1\n"
        default: return "targets:\n  - name: a\n    url: http://127.0.0.1/\n    headers: {X-Long: \"\(filler)\"}\n"
        }
    }

    /// One random change to a document's lines; returns its name.
    static func mutate(_ lines: inout [String], using rng: inout SplitMix64) -> String {
        if lines.isEmpty { lines = [""] }
        let i = Int.random(in: 0..<lines.count, using: &rng)
        let j = Int.random(in: 0..<lines.count, using: &rng)
        switch Int.random(in: 0..<13, using: &rng) {
        case 0:
            lines.remove(at: i)
            return "delete-line"
        case 1:
            lines.insert(lines[i], at: i)  // a duplicate key, or a duplicate list item
            return "duplicate-line"
        case 2:
            lines.swapAt(i, j)
            return "swap-lines"
        case 3:
            let line = lines.remove(at: i)
            lines.insert(line, at: min(j, lines.count))
            return "move-line"
        case 4:
            let line = lines[i]
            let indent = line.prefix(while: { $0 == " " }).count
            let body = line.dropFirst(indent)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: lines[i] = String(repeating: " ", count: indent + Int.random(in: 1...4, using: &rng)) + body
            case 1: lines[i] = String(repeating: " ", count: max(0, indent - Int.random(in: 1...4, using: &rng))) + body
            case 2: lines[i] = "\t" + body
            default: lines[i] = String(repeating: " ", count: indent) + "\t" + body
            }
            return "indentation"
        case 5, 6:
            lines[i] = insert(tokens.randomElement(using: &rng)!, into: lines[i], using: &rng)
            return "insert-token"
        case 7, 8:
            // Replace the value after `key:` with something odd.
            let line = lines[i]
            guard let colon = line.firstIndex(of: ":") else {
                lines[i] = line + ": " + values.randomElement(using: &rng)!
                return "append-value"
            }
            lines[i] = String(line[...colon]) + " " + values.randomElement(using: &rng)!
            return "replace-value"
        case 9:
            // The same key again with another value, at the same indentation.
            let line = lines[i]
            guard let colon = line.firstIndex(of: ":") else { return "none" }
            lines.insert(String(line[...colon]) + " " + values.randomElement(using: &rng)!, at: i + 1)
            return "duplicate-key"
        case 10:
            let text = lines.joined(separator: "\n")
            let cut = text.unicodeScalars.prefix(Int.random(in: 0...text.unicodeScalars.count, using: &rng))
            lines = String(String.UnicodeScalarView(cut)).components(separatedBy: "\n")
            return "truncate"
        case 11:
            // An anchor on one value and an alias to it in another.
            lines[i] = insert("&x ", into: lines[i], using: &rng)
            lines[j] = insert("*x ", into: lines[j], using: &rng)
            return "anchor-alias"
        default:
            let scalars = (0..<Int.random(in: 1...8, using: &rng)).map { _ in
                Unicode.Scalar(UInt8.random(in: 0...127, using: &rng))
            }
            lines[i] = insert(String(String.UnicodeScalarView(scalars)), into: lines[i], using: &rng)
            return "insert-ascii"
        }
    }

    static func insert(_ token: String, into line: String, using rng: inout SplitMix64) -> String {
        var scalars = Array(line.unicodeScalars)
        scalars.insert(contentsOf: token.unicodeScalars, at: Int.random(in: 0...scalars.count, using: &rng))
        return String(String.UnicodeScalarView(scalars))
    }
}
