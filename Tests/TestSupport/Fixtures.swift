import Foundation
import PhaseWatchCore
import Synchronization
import Testing

/// Paths of the repository, found from this file's location (Tests/TestSupport/Fixtures.swift).
public enum Repo {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    public static let support = root.appendingPathComponent("Tests/Support")
}

/// A scratch directory for one test process.
public enum Scratch {
    public static let dir: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("phasewatch-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()
}

/// Test certificates made fresh for this run by Tests/Support/mkcerts.py, so none ever expires.
public enum Certs {
    public static let dir: URL = {
        let dir = Scratch.dir.appendingPathComponent("certs")
        let status = Subprocess.run(["python3", Repo.support.appendingPathComponent("mkcerts.py").path, dir.path])
        precondition(status == 0, "mkcerts.py failed (is the python3 'cryptography' package installed?)")
        return dir
    }()

    public static func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    public static var ca: String { path("ca.pem") }
}

public enum Subprocess {
    /// Runs a command to its end; returns its exit status.
    @discardableResult
    public static func run(_ arguments: [String], stdout: FileHandle? = nil, stderr: FileHandle? = nil) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let stdout { process.standardOutput = stdout }
        if let stderr { process.standardError = stderr }
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// A helper server process that prints `{"name": port, ...}` on its first line and lives until
/// stopped (or until this process ends and its stdin closes).
// Process is only started in init and terminated afterwards; no state is shared unguarded.
public final class ServerProcess: @unchecked Sendable {
    public let ports: [String: Int]
    private let process: Process
    private let stdin: Pipe

    public init(script: String, arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Repo.support.appendingPathComponent(script).path] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let ports = try JSONSerialization.jsonObject(with: line) as? [String: Int] else {
            throw ServerError.noPorts(script, String(decoding: line, as: UTF8.self))
        }
        self.process = process
        self.stdin = stdin
        self.ports = ports
    }

    public func port(_ name: String) -> Int {
        guard let port = ports[name] else { fatalError("no listener \(name) in \(ports)") }
        return port
    }

    public func stop() {
        // The servers also exit at stdin EOF: a SIGTERM alone can stay pending when the process
        // was spawned from a thread that blocks signals (the child inherits the mask).
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    public enum ServerError: Error { case noPorts(String, String) }
}

/// The fault-injecting server every probing test shares; started once per test process.
public enum TestServer {
    public static let shared: ServerProcess = {
        func tls(_ name: String, cert: String, key: String? = nil, extra: String = "") -> [String] {
            ["--listen", "\(name)=https,cert=\(Certs.path(cert + ".pem")),key=\(Certs.path((key ?? cert) + ".key"))\(extra)"]
        }
        var args = ["--listen", "http=http", "--listen", "blackhole=blackhole", "--listen", "backlog=backlog"]
        args += tls("https", cert: "server")
        args += tls("tlsdelay", cert: "server", extra: ",tls_delay=0.05")
        args += tls("expired", cert: "expired")
        args += tls("notyet", cert: "notyet")
        args += tls("wronghost", cert: "wronghost")
        args += tls("selfsigned", cert: "selfsigned")
        args += tls("expiring", cert: "expiring")
        args += tls("chain", cert: "chain", key: "chainleaf")
        args += tls("mtls", cert: "server", extra: ",client_ca=\(Certs.path("client-ca.pem"))")
        args += tls("mtlsrequired", cert: "server", extra: ",client_ca=\(Certs.path("client-ca.pem")),client_cert=required")
        do {
            return try ServerProcess(script: "testserver.py", arguments: args)
        } catch {
            fatalError("could not start Tests/Support/testserver.py: \(error)")
        }
    }()

    public static func http(_ pathAndQuery: String = "/") -> String {
        "http://127.0.0.1:\(shared.port("http"))\(pathAndQuery)"
    }

    /// `https://localhost:PORT...` on the named TLS listener, with localhost pinned to 127.0.0.1.
    public static func https(_ listener: String = "https", _ pathAndQuery: String = "/") -> String {
        "https://localhost:\(shared.port(listener))\(pathAndQuery)"
    }

    public static func pinLocalhost(_ listener: String) -> [String] {
        ["localhost:\(shared.port(listener)):127.0.0.1"]
    }

    /// A target for an HTTPS listener that trusts the test CA.
    public static func httpsTarget(_ listener: String = "https", _ pathAndQuery: String = "/", name: String = "t") -> Target {
        var target = Target(name: name, url: https(listener, pathAndQuery), resolve: pinLocalhost(listener))
        target.tls.caFile = Certs.ca
        return target
    }

    /// A port nothing listens on (bound, then released).
    public static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { ptr in
                _ = bind(fd, ptr, len)
                _ = getsockname(fd, ptr, &len)
            }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// nginx with HTTP/2 over TLS, for ALPN; started on first use.
public enum H2Server {
    public static let shared: ServerProcess = {
        do {
            return try ServerProcess(
                script: "h2server.py", arguments: ["--cert", Certs.path("server.pem"), "--key", Certs.path("server.key")])
        } catch {
            fatalError("could not start Tests/Support/h2server.py (is nginx installed?): \(error)")
        }
    }()
}

/// The built `phasewatch` binary next to the test bundle (or $PHASEWATCH_BIN).
public enum PhaseWatchBinary {
    public static let path: String = {
        if let path = ProcessInfo.processInfo.environment["PHASEWATCH_BIN"] { return path }
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundleDir.appendingPathComponent("phasewatch").path
    }()
}

/// Runs `promtool check metrics` on exposition text; returns promtool's complaints ("" when clean).
/// Both skip the test when promtool is not installed.
public enum Promtool {
    /// `promtool ARGS...` (e.g. `check rules F`), with its combined output.
    public static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try requireTool(.promtool)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["promtool"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    public static func checkMetrics(_ text: String) throws -> (status: Int32, output: String) {
        try requireTool(.promtool)
        return try pipe(text, to: ["promtool", "check", "metrics"])
    }

    /// OpenMetrics text through prometheus_client's strict parser (Support/check_openmetrics.py):
    /// status 0 when valid; the output lists the exemplars it read.
    public static func checkOpenMetrics(_ text: String) throws -> (status: Int32, output: String) {
        try requireTool(.prometheusClient)
        return try pipe(text, to: ["python3", Repo.support.appendingPathComponent("check_openmetrics.py").path])
    }

    private static func pipe(_ text: String, to arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
