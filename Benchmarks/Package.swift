// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks for Parley's hot paths (ordo-one/benchmark). A separate package so the benchmark
// dependency (and its malloc interposer) never reaches the product or CI. Run from this directory:
//   swift package --allow-writing-to-package-directory benchmark --format markdown --no-progress
// Leave PARLEY_TARGETS unset: the parent package must expose all its products here.
// Only the MallocInterposer trait is enabled: the default RuntimeInterposer trait (ARC counters on Linux with
// Swift 6.3) needs swift-runtime-interposer, which is not available here, and no benchmark uses ARC metrics.

let benchmark = Target.Dependency.product(name: "Benchmark", package: "benchmark")
let benchmarkPlugin = Target.PluginUsage.plugin(name: "BenchmarkPlugin", package: "benchmark")
let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

@MainActor func benchmarkTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: [benchmark] + dependencies,
        path: "Benchmarks/\(name)",
        swiftSettings: swiftSettings,
        plugins: [benchmarkPlugin]
    )
}

let package = Package(
    name: "ParleyBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Parley", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        benchmarkTarget("MIMIBenchmarks", [.product(name: "ParleyCore", package: "Parley")]),
        benchmarkTarget("CryptoBenchmarks", [.product(name: "ParleyCrypto", package: "Parley")]),
        benchmarkTarget("StoreBenchmarks", [
            .product(name: "ParleyStore", package: "Parley"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        benchmarkTarget("HTTPBenchmarks", [
            .product(name: "ParleyNode", package: "Parley"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        benchmarkTarget("AdapterBenchmarks", [
            .product(name: "ParleyKit", package: "Parley"),
            .product(name: "WhatsAppAdapter", package: "Parley"),
            .product(name: "MessengerAdapter", package: "Parley"),
            .product(name: "InstagramAdapter", package: "Parley"),
        ]),
    ]
)
