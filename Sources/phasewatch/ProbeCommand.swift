import ArgumentParser
import Config
import Foundation
import PhaseWatchCore
import Probing

/// `phasewatch probe URL`: one probe now, shown as a waterfall or as one ProbeResult in JSON.
struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Probe a URL once and show where the time went.",
        discussion: "Exit status: 0 when the probe succeeded, 1 when it failed, 2 on bad usage."
    )

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "http:// or https:// URL to probe.")
    var url: String

    @Option(help: "Output: text (a waterfall; default on a terminal) or json (one ProbeResult).")
    var format: Format?

    @Option(help: "Limit for the whole probe, and for each phase (e.g. 500ms, 10s).")
    var timeout: String = "10s"

    @Option(name: .customLong("http-version"), help: "1.1 or 2 (default: HTTP/2 over TLS when offered, else 1.1).")
    var httpVersion: String?

    @Option(help: "4 or 6: use only IPv4 or only IPv6 (default: prefer 4, fall back to 6).")
    var ip: String?

    @Flag(help: "Do not verify the server certificate.")
    var insecure = false

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

    @Option(help: "HTTP method.")
    var method: String = "GET"

    func validate() throws {
        _ = try target()
    }

    func run() async throws {
        let target = try target()
        let result = await Prober().probe(target)
        let useJSON = format.map { $0 == .json } ?? (isatty(STDOUT_FILENO) == 0)
        if useJSON {
            let data = try ProbeResult.makeEncoder(pretty: false).encode(result)
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(Waterfall.render(result).utf8))
        }
        if !result.success { throw ExitCode.failure }
    }

    private func target() throws -> Target {
        if let problem = URLCheck.problem(url, shownAs: "URL \"\(URLRedaction.redacted(url))\"") {
            throw ValidationError(problem)
        }
        let limit: Duration
        do {
            limit = try PromDuration.parse(timeout)
        } catch {
            throw ValidationError("--timeout: \(error)")
        }
        guard limit > .zero else { throw ValidationError("--timeout must be more than 0") }
        let host = URLComponents(string: url)?.host.flatMap { $0.isEmpty ? nil : $0 }
        var target = Target(name: host ?? "probe", url: url, method: method.uppercased(), timeouts: Timeouts(total: limit))
        switch httpVersion {
        case nil: break
        case "1.1": target.httpVersion = .http1_1
        case "2": target.httpVersion = .http2
        case let other?: throw ValidationError("--http-version must be 1.1 or 2, not \"\(other)\"")
        }
        switch ip {
        case nil: break
        case "4": target.ipProtocol = .ip4
        case "6": target.ipProtocol = .ip6
        case let other?: throw ValidationError("--ip must be 4 or 6, not \"\(other)\"")
        }
        for line in header {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw ValidationError("--header \"\(line)\" is not of the form 'Name: value'")
            }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            target.headers.append(Header(name: String(line[..<colon]), value: value))
        }
        for entry in resolve where entry.split(separator: ":", maxSplits: 2).count < 3 {
            throw ValidationError("--resolve \"\(entry)\" is not of the form host:port:address")
        }
        target.resolve = resolve
        target.tls = TLSOptions(caFile: caFile, certFile: certFile, keyFile: keyFile, serverName: serverName, insecureSkipVerify: insecure)
        for (flag, path) in [("--ca-file", caFile), ("--cert-file", certFile), ("--key-file", keyFile)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw ValidationError("\(flag): cannot read \(path)")
            }
        }
        return target
    }
}
