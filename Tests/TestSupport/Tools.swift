import Foundation
import Synchronization
import Testing

/// Something outside the package that some tests need: a program, Python modules, a kernel
/// permission. A test that needs a missing one is skipped with a message naming it, never
/// failed; CI installs them all and fails on any skip (README.md#tests).
public struct Tool: Sendable {
    /// What the skip message names: `chromium`, `python3 module schemathesis`, `mount -t tmpfs`.
    public let name: String
    /// How to get it.
    public let hint: String
    private let find: @Sendable () -> String?

    /// `find` returns where the tool is (a path, or the command that worked), nil when missing.
    public init(_ name: String, hint: String, find: @escaping @Sendable () -> String?) {
        self.name = name
        self.hint = hint
        self.find = find
    }

    private static let found = Mutex<[String: String?]>([:])

    /// Where the tool is, or nil when it is missing; looked up once per test process.
    public var path: String? {
        if let known = Self.found.withLock({ $0[name] }) { return known }
        let path = find()
        Self.found.withLock { $0[name] = path }
        return path
    }

    public var isAvailable: Bool { path != nil }

    /// The skip message.
    public var missing: String { "needs \(name), not available here (\(hint))" }
}

extension Tool {
    /// A program on PATH, or in /usr/sbin or /sbin (nginx is there, and not on a user's PATH).
    public static func program(_ name: String, apt package: String) -> Tool {
        Tool(name, hint: "apt-get install \(package); `make deps` installs it") {
            let path = ProcessInfo.processInfo.environment["PATH", default: "/usr/bin:/bin"].split(separator: ":")
            return (path.map(String.init) + ["/usr/sbin", "/sbin"]).map { "\($0)/\(name)" }
                .first { FileManager.default.isExecutableFile(atPath: $0) }
        }
    }

    /// Python modules the python3 on PATH can import.
    public static func pythonModules(_ modules: [String], pip packages: String) -> Tool {
        let list = modules.joined(separator: ", ")
        return Tool("python3 module\(modules.count > 1 ? "s" : "") \(list)", hint: "python3 -m pip install \(packages); `make deps` installs it") {
            works(["python3", "-c", "import \(list)"]) ? "python3" : nil
        }
    }

    /// Runs a command to its end, quietly; whether it exited 0.
    static func works(_ arguments: [String]) -> Bool {
        Subprocess.run(arguments, stdout: .nullDevice, stderr: .nullDevice) == 0
    }

    public static let chromium = program("chromium", apt: "chromium")
    public static let prometheus = program("prometheus", apt: "prometheus")
    public static let promtool = program("promtool", apt: "prometheus")
    public static let nginx = program("nginx", apt: "nginx-light")
    public static let sqlite3 = program("sqlite3", apt: "sqlite3")
    public static let curl = program("curl", apt: "curl")
    public static let make = program("make", apt: "make")
    public static let systemdAnalyze = program("systemd-analyze", apt: "systemd")
    public static let tinyproxy = program("tinyproxy", apt: "tinyproxy")
    public static let python3 = program("python3", apt: "python3")
    public static let protoc = program("protoc", apt: "protobuf-compiler")
    public static let schemathesis = pythonModules(["schemathesis"], pip: "schemathesis")
    /// Its OpenMetrics parser is strict: it rejects what the specification does.
    public static let prometheusClient = pythonModules(["prometheus_client"], pip: "prometheus-client")
    public static let openAPIValidators = pythonModules(
        ["jsonschema", "openapi_spec_validator"], pip: "jsonschema openapi-spec-validator")

    /// Mounting a tmpfs: real full and read-only file systems.
    public static let tmpfs = Tool("mount -t tmpfs", hint: "needs root or CAP_SYS_ADMIN") {
        let dir = Scratch.dir.appendingPathComponent("tmpfs-check-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard works(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]) else { return nil }
        _ = works(["umount", dir])
        return "mount"
    }

    /// A process without network (`unshare -n`): name lookups fail for sure.
    public static let networkNamespace = Tool("unshare -n", hint: "util-linux's unshare, and root or unprivileged user namespaces") {
        works(["unshare", "-n", "true"]) ? "unshare" : nil
    }

    /// A process with its own mounts (`unshare --mount`): the toolchain hidden under a tmpfs.
    public static let mountNamespace = Tool("unshare --mount", hint: "util-linux's unshare, and root") {
        works(["unshare", "--mount", "true"]) ? "unshare" : nil
    }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test or suite only where `tool` is available; elsewhere it is reported as
    /// skipped, with the tool's name.
    public static func requires(_ tool: Tool, sourceLocation: SourceLocation = #_sourceLocation) -> Self {
        .enabled(if: tool.isAvailable, Comment(rawValue: tool.missing), sourceLocation: sourceLocation)
    }

    /// An opt-in test (a benchmark): runs only when the environment variable `name` is set and
    /// `enabled` accepts its value. Its skip says "opt-in", which CI's skip check lets pass.
    public static func optIn(
        _ name: String, when enabled: @escaping @Sendable (String) -> Bool = { $0 == "1" },
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Self {
        .enabled(
            if: ProcessInfo.processInfo.environment[name].map(enabled) ?? false, Comment(rawValue: "opt-in: set \(name) to run it"),
            sourceLocation: sourceLocation)
    }
}

/// For a need that shows only inside a test (a shared helper that runs a tool): ends the running
/// test as skipped, naming the tool, when it is missing. Returns where the tool is.
@discardableResult
public func requireTool(_ tool: Tool, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    guard let path = tool.path else { try Test.cancel(Comment(rawValue: tool.missing), sourceLocation: sourceLocation) }
    return path
}
