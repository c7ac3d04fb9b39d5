// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "phasewatch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "phasewatch", targets: ["phasewatch"]),
        .executable(name: "probe-cpu-bench", targets: ["ProbeCPUBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // libcurl + the OpenSSL callbacks curl hands us; typed wrappers for curl's variadic calls.
        .target(
            name: "CCurl",
            linkerSettings: [.linkedLibrary("curl"), .linkedLibrary("ssl"), .linkedLibrary("crypto")]
        ),
        // Config model, ProbeResult, durations, SLO math. No I/O.
        .target(name: "PhaseWatchCore", swiftSettings: strict),
        // One probe -> ProbeResult: curl multi loop, phases, TLS facts, failure reasons, assertions.
        .target(name: "Probing", dependencies: ["CCurl", "PhaseWatchCore"], swiftSettings: strict),
        .executableTarget(
            name: "phasewatch",
            dependencies: [
                "PhaseWatchCore", "Probing",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
            name: "ProbingTests",
            dependencies: ["Probing", "PhaseWatchCore"],
            swiftSettings: strict
        ),
    ]
)
