// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

// The commit built from, for `phasewatch_build_info{revision}` and `--version`.
let revision = Context.gitInformation.map { String($0.currentCommit.prefix(12)) + ($0.hasUncommittedChanges ? "-dirty" : "") }
    ?? "unknown"

let package = Package(
    name: "phasewatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "phasewatch", targets: ["phasewatch"]),
        .executable(name: "probe-cpu-bench", targets: ["ProbeCPUBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // Already under Hummingbird; named for its IOError (the errno of a failed bind).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // libcurl + the OpenSSL callbacks curl hands us; typed wrappers for curl's variadic calls.
        .target(
            name: "CCurl",
            linkerSettings: [.linkedLibrary("curl"), .linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        // The system's zlib (libcurl links it too): gzip for responses that ask for it.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The system's snappy: remote-write request bodies are snappy blocks.
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        // Build facts that only the manifest knows (the git revision), as C strings.
        .target(name: "CBuildInfo", cSettings: [.define("PHASEWATCH_REVISION", to: "\"\(revision)\"")]),
        // Config model, ProbeResult, durations, SLO math; no file or network I/O (Runtime/ only
        // sets process settings: thread priority, the allocator, the descriptor limit).
        .target(name: "PhaseWatchCore", swiftSettings: strict),
        // The Prometheus client data model (metrics.proto) as generated Swift, for the protobuf
        // exposition format; the .proto sits in proto/, regenerate with `make proto`.
        .target(
            name: "PrometheusModel",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["proto"],
            swiftSettings: strict
        ),
        // One probe -> ProbeResult: curl multi loop, phases, TLS facts, failure reasons, assertions.
        .target(
            name: "Probing", dependencies: ["CCurl", "CBuildInfo", "PhaseWatchCore"], swiftSettings: strict,
            // The toolchain's ICU, for regex time limits (PatternMatch.swift).
            linkerSettings: [.linkedLibrary("_FoundationICU")]),
        // YAML config file → AgentConfig, with every error located (file:line:column, key).
        .target(
            name: "Config",
            // CCurl for libcurl's URL parser only (URLCheck): a target URL is valid when curl takes it.
            dependencies: ["PhaseWatchCore", "CCurl", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // SQLite history: raw probe rows, per-minute and per-hour rollups, retention, window queries.
        .target(
            name: "Storage",
            dependencies: ["PhaseWatchCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // `phasewatch rules`: Prometheus recording and alerting rules for a config's SLOs.
        .target(
            name: "Rules",
            dependencies: ["PhaseWatchCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Pushing series to Prometheus remote-write receivers: the pending queue, the sender
        // thread with its libcurl client, snappy-compressed protobuf requests.
        .target(
            name: "RemoteWrite",
            dependencies: [
                "CCurl", "CSnappy", "PhaseWatchCore", "PrometheusModel",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The running agent: scheduler, metrics, result writer, HTTP server, reload, lifecycle.
        .target(
            name: "Agent",
            dependencies: [
                "PhaseWatchCore", "Probing", "Storage", "Config", "PrometheusModel", "CZlib", "RemoteWrite",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "phasewatch",
            dependencies: [
                "PhaseWatchCore", "Probing", "Config", "Storage", "Agent", "Rules",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "ProbeCPUBench",
            dependencies: ["Probing", "PhaseWatchCore"],
            path: "bench/ProbeCPU",
            swiftSettings: strict
        ),
        .testTarget(name: "PhaseWatchCoreTests", dependencies: ["PhaseWatchCore"], swiftSettings: strict),
        .testTarget(
            name: "PrometheusModelTests", dependencies: ["PrometheusModel", "PhaseWatchCore", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "RulesTests",
            dependencies: ["Rules", "Config", "PhaseWatchCore", "TestSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "RemoteWriteTests", dependencies: ["RemoteWrite", "PrometheusModel", "PhaseWatchCore", "TestSupport"],
            swiftSettings: strict),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "PhaseWatchCore", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "PhaseWatchCore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Agent", "Storage", "Config", "PhaseWatchCore", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Local servers and certificates the test suites share (Tests/Support/*.py behind them).
        .target(name: "TestSupport", dependencies: ["PhaseWatchCore"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "ProbingTests",
            dependencies: ["Probing", "PhaseWatchCore", "Storage", "TestSupport"],
            swiftSettings: strict
        ),
    ]
)
