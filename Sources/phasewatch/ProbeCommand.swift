import ArgumentParser
import Config
import Foundation
import PhaseWatchCore
import Probing

/// `phasewatch probe URL` or `phasewatch probe --target=NAME`: one probe now, shown as a
/// waterfall or as one ProbeResult in JSON; `-v` adds what each attempt sent, received and judged.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Probe a URL, or a configured target, once and show where the time went.",
        discussion: """
            A configured target (--target) is probed exactly as the agent probes it: its headers, TLS \
            options, resolve pins, retries and expectations, from the file `run` would load.
            Exit status: 0 when the probe succeeded, 1 when it failed, 2 on bad usage.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "http:// or https:// URL to probe (or --target).")
    var url: String?

    @Option(name: .customLong("config.file"), help: "Configuration file --target is looked up in (default: phasewatch.yml).")
    var configFile: String?

    @Option(help: "Probe this configured target, as the agent would.")
    var target: String?

    @Flag(name: [.short, .long], help: "Also show each attempt: request and response headers (secrets redacted), redirect hops with their phases, TLS facts, every expectation's verdict.")
    var verbose = false

    @Option(help: "Output: text (a waterfall; default on a terminal) or json (one ProbeResult; with -v: {\"result\": ..., \"debug\": ...}).")
    var format: Format?

    @Option(help: "Limit for the whole probe, and for each phase (e.g. 500ms, 10s; default 10s).")
    var timeout: String?

    @Option(name: .customLong("http-version"), help: "1.1 or 2 (default: HTTP/2 over TLS when offered, else 1.1).")
    var httpVersion: String?

    @Option(help: "4 or 6: use only IPv4 or only IPv6 (default: prefer 4, fall back to 6).")
    var ip: String?

    @Flag(help: "Do not verify the server certificate.")
    var insecure = false

    @Flag(name: .customLong("tls-resume"), help: "Resume the TLS session of a first request on a new connection, and show that second probe (tls.resumed says whether the server agreed).")
    var tlsResume = false

    @Option(name: .customLong("ca-file"), help: "PEM file of CA certificates to trust instead of the system's.")
    var caFile: String?

    @Option(name: .customLong("cert-file"), help: "Client certificate (PEM) for mutual TLS.")
    var certFile: String?

    @Option(name: .customLong("key-file"), help: "Key of the client certificate (PEM).")
    var keyFile: String?

    @Option(name: .customLong("server-name"), help: "Name to send as SNI and verify, instead of the URL's host.")
    var serverName: String?

    @Option(help: "host:port:address — resolve host:port to address, like curl --resolve. Repeatable.")
    var resolve: [String] = []

    @Option(help: "Request header 'Name: value'. Repeatable.")
    var header: [String] = []

    @Option(help: "HTTP method (default GET).")
    var method: String?

    @Option(help: "fresh (a new connection, default), reuse (a request on a kept connection: one opens it, the second is shown) or both (a fresh request, then one on its connection: both shown; JSON: one ProbeResult per line).")
    var connection: String?

    @Option(name: .customLong("ip-policy"), help: "first (the address curl picks, default) or all (every address of the name at once, one result each; JSON: one ProbeResult per line per address, then the target's own).")
    var ipPolicy: String?

    @Option(help: "With --ip-policy=all: any (one good address is enough) or all (every address must answer well, default).")
    var success: String?

    @Option(help: "KEY=VALUE: any per-target key of the config file, VALUE written as in the file (e.g. proxy_url=socks5h://127.0.0.1:1080, timeouts.connect=1s, 'expect.status=[200, 3xx]'). Repeatable.")
    var set: [String] = []

    func validate() throws {
        switch (url, target) {
        case (nil, nil): throw ValidationError("give a URL to probe, or --target=NAME of a configured target")
        case (.some, .some): throw ValidationError("give a URL or --target, not both")
        case (nil, .some):
            let urlFlags: [(String, Bool)] = [
                ("--timeout", timeout != nil), ("--http-version", httpVersion != nil), ("--ip", ip != nil), ("--insecure", insecure),
                ("--ca-file", caFile != nil), ("--cert-file", certFile != nil), ("--key-file", keyFile != nil),
                ("--server-name", serverName != nil), ("--resolve", !resolve.isEmpty), ("--header", !header.isEmpty),
                ("--method", method != nil), ("--set", !set.isEmpty), ("--connection", connection != nil),
                ("--tls-resume", tlsResume), ("--ip-policy", ipPolicy != nil), ("--success", success != nil),
            ]
            // A configured target is probed as configured: a flag on top would make it another probe.
            if let flag = urlFlags.first(where: \.1) {
                throw ValidationError("\(flag.0) applies to a URL; --target uses the target's own settings from the config")
            }
        case (.some(let url), nil):
            if configFile != nil { throw ValidationError("--config.file goes with --target") }
            _ = try Self.target(url: url, options: self)
        }
    }

    func run() async throws {
        let target: Target
        if let name = self.target {
            do {
                target = try Self.configured(name, file: configFile ?? "phasewatch.yml")
            } catch {
                // Bad usage, but the usage line would hide the config's own errors.
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(2)
            }
        } else {
            target = try Self.target(url: url ?? "", options: self)
        }
        let useJSON = format.map { $0 == .json } ?? (isatty(STDOUT_FILENO) == 0)
        // With -v each result comes with its attempts; without, the JSON is exactly the
        // ProbeResults the agent would store, one per line (docs/cli.md#phasewatch-probe).
        let probed: [(result: ProbeResult, debug: ProbeDebug?)] = verbose
            ? await Self.run(target) { prober, kept in await prober.runWithDebug(target, keeping: kept) }.map { ($0.result, $0.debug) }
            : await Self.run(target) { prober, kept in await prober.run(target, keeping: kept) }.map { ($0, nil) }
        // An `ip_policy: all` run: each address's result, then the target's own, which decides.
        let addresses = probed.filter { $0.result.address != nil }
        let own = probed.filter { $0.result.address == nil }
        for (result, debug) in addresses + own {
            if useJSON {
                struct Verbose: Encodable {
                    let result: ProbeResult
                    let debug: ProbeDebug
                }
                let encoder = ProbeResult.makeEncoder(pretty: false)
                let data = try debug.map { try encoder.encode(Verbose(result: result, debug: $0)) } ?? encoder.encode(result)
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            } else if target.ipPolicy == .all && result.address == nil {
                let summary = Waterfall.runSummary(result, addresses: addresses.map(\.result), success: target.addressSuccess)
                FileHandle.standardOutput.write(Data(summary.utf8))
            } else {
                FileHandle.standardOutput.write(Data((Waterfall.render(result) + (debug.map { "\n" + Waterfall.render($0) } ?? "")).utf8))
            }
        }
        if own.contains(where: { !$0.result.success }) { throw ExitCode.failure }
    }

    /// One run of the target's connection mode. A run of `reuse` alone would find no connection
    /// to reuse, nor one of `tls.resume` a session to resume: a first run opens the connection or
    /// gets the session, and the second, the one shown, uses it.
    private static func run<Result>(
        _ target: Target, _ probe: (Prober, KeptConnection) async -> [Result]
    ) async -> [Result] {
        let prober = Prober()
        let kept = prober.keptConnection()
        if target.connection == .reuse || target.tls.resume { _ = await probe(prober, kept) }
        return await probe(prober, kept)
    }

    /// The target `name` of the config `file`, loaded as `run` loads it (defaults, validation,
    /// paths relative to the file). A bad file or an unknown name is bad usage (exit 2).
    static func configured(_ name: String, file: String) throws -> Target {
        let config = try ConfigLoader.load(path: file)
        guard let target = config.targets.first(where: { $0.name == name }) else {
            let names = config.targets.map(\.name)
            let known = names.isEmpty ? "it has no targets" : "its targets: " + names.joined(separator: ", ")
            throw UnknownTarget(description: "no target named \"\(name)\" in \(file); \(known)")
        }
        return target
    }

    struct UnknownTarget: Error, CustomStringConvertible {
        let description: String
    }

    /// The URL's target, read from the flags as a config file's target is read (each flag a
    /// config key, `CommandLineTarget`); errors name the flag.
    private static func target(url: String, options o: ProbeCommand) throws -> Target {
        typealias Setting = CommandLineTarget.Setting
        var settings: [Setting] = []
        func add(_ flag: String, _ path: String, _ value: String?) {
            if let value { settings.append(Setting(flag: flag, path: path.split(separator: ".").map(String.init), value: .text(value))) }
        }
        add("--timeout", "timeouts.total", o.timeout)
        add("--http-version", "http_version", o.httpVersion)
        // `--ip=4` is ip_protocol ip4; anything else is passed on to be refused with the key's words.
        add("--ip", "ip_protocol", o.ip.map { ["4", "6"].contains($0) ? "ip\($0)" : $0 })
        add("--method", "method", o.method)
        add("--ca-file", "tls.ca_file", o.caFile)
        add("--cert-file", "tls.cert_file", o.certFile)
        add("--key-file", "tls.key_file", o.keyFile)
        add("--server-name", "tls.server_name", o.serverName)
        add("--insecure", "tls.insecure_skip_verify", o.insecure ? "true" : nil)
        add("--connection", "connection", o.connection)
        add("--tls-resume", "tls.resume", o.tlsResume ? "true" : nil)
        add("--ip-policy", "ip_policy", o.ipPolicy)
        add("--success", "success", o.success)
        if !o.resolve.isEmpty { settings.append(Setting(flag: "--resolve", path: ["resolve"], value: .list(o.resolve))) }
        for line in o.header {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw ValidationError("--header \"\(line)\" is not of the form 'Name: value'")
            }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            settings.append(Setting(flag: "--header", path: ["headers", String(line[..<colon])], value: .text(value)))
        }
        for assignment in o.set {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ValidationError("--set \"\(URLRedaction.redactingURLs(in: assignment))\" is not of the form KEY=VALUE")
            }
            let key = String(assignment[..<equals])
            settings.append(Setting(
                flag: "--set \(key)", path: key.split(separator: ".", omittingEmptySubsequences: false).map(String.init),
                value: .yaml(String(assignment[assignment.index(after: equals)...]))))
        }
        do {
            return try CommandLineTarget.target(url: url, settings: settings, baseDirectory: FileManager.default.currentDirectoryPath)
        } catch {
            throw ValidationError(error.description)
        }
    }
}
