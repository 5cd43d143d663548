// swift-tools-version:6.1
import Foundation
import PackageDescription

// Dependencies point one way: Core ← Crypto ← Store ← Node; Kit depends on Core only.
// `PARLEY_TARGETS=ParleyCore,ParleyKit swift test` narrows the package to those modules, their
// dependencies and their tests, so one part can be built and tested while another is being rewritten.

let packageDependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    // Already in the graph through AsyncHTTPClient and Hummingbird; named because the node's own HTTP client uses them.
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
]

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

struct Module {
    var target: Target
    var localDependencies: [String]
}

func module(
    _ name: String, path: String? = nil, kind: String = "regular",
    local: [String] = [], external: [Target.Dependency] = [], resources: [Resource]? = nil,
    linkerSettings: [LinkerSetting]? = nil
) -> Module {
    let deps = local.map { Target.Dependency.target(name: $0) } + external
    let target: Target
    switch kind {
    case "test":
        target = .testTarget(name: name, dependencies: deps, path: path, resources: resources, swiftSettings: swiftSettings, linkerSettings: linkerSettings)
    case "executable":
        target = .executableTarget(name: name, dependencies: deps, path: path, resources: resources, swiftSettings: swiftSettings, linkerSettings: linkerSettings)
    default:
        target = .target(name: name, dependencies: deps, path: path, resources: resources, swiftSettings: swiftSettings, linkerSettings: linkerSettings)
    }
    return Module(target: target, localDependencies: local)
}

let log = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
let grdbSQLite = Target.Dependency.product(name: "GRDBSQLite", package: "GRDB.swift")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let hummingbirdTesting = Target.Dependency.product(name: "HummingbirdTesting", package: "hummingbird")
let httpClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
let toml = Target.Dependency.product(name: "TOMLKit", package: "TOMLKit")
let hdr = Target.Dependency.product(name: "Histogram", package: "hdrhistogram-swift")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let allowSharedEntryPoint: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "--allow-multiple-definition"], .when(platforms: [.linux]))]

let modules: [Module] = [
    Module(target: .systemLibrary(name: "CSodium", pkgConfig: "libsodium",
                                  providers: [.apt(["libsodium-dev"])]), localDependencies: []),
    Module(target: .target(name: "CParleySHA256"), localDependencies: []),
    module("ParleyCore", local: ["CParleySHA256"]),
    module("ParleyCrypto", local: ["CSodium", "ParleyCore"]),
    module("ParleyStore", local: ["ParleyCore"], external: [grdb, grdbSQLite, log]),
    Module(target: .target(name: "CParleyABI"), localDependencies: []),
    module("ParleyKit", local: ["ParleyCore", "CParleyABI"]),
    module("ParleyKitTesting", local: ["ParleyKit", "ParleyCore"]),
    // The Meta adapters' shared JSON accessors (over ParleyKit's JSONValue), Send API and Graph API error reading (linked into each .so).
    module("MetaGraph", path: "Plugins/MetaGraph", local: ["ParleyKit"]),
    module("WhatsAppAdapter", path: "Plugins/WhatsAppAdapter", local: ["ParleyKit", "MetaGraph"]),
    module("MessengerAdapter", path: "Plugins/MessengerAdapter", local: ["ParleyKit", "MetaGraph"]),
    module("InstagramAdapter", path: "Plugins/InstagramAdapter", local: ["ParleyKit", "MetaGraph"]),
    // The documented example adapter of docs/ADAPTER_GUIDE.md, built and checked by ParleyKitTests.
    module("ExampleAdapter", path: "docs/example/Sources/ExampleAdapter", local: ["ParleyKit"]),
    module("example-child-adapter", path: "docs/example/Sources/example-child-adapter", kind: "executable", local: ["ExampleAdapter"]),
    module("ParleyNode", local: ["ParleyCore", "ParleyCrypto", "ParleyStore", "ParleyKit"],
           external: [log, metrics, prometheus, lifecycle, hummingbird, nioCore, nioPosix, nioHTTP1, nioSSL, toml, hdr]),
    module("ParleySim", local: ["ParleyCore"], external: [grdb, log, lifecycle, hummingbird, httpClient]),
    // Runs a federation of real processes (simulators + nodes) on loopback: `parley demo`, `parley bench`, the end-to-end suite.
    module("ParleyHarness", local: ["ParleyCore", "ParleyCrypto", "ParleyNode", "ParleySim"], external: [log, httpClient, hummingbird, lifecycle, hdr, grdb, nioCore, nioPosix, nioHTTP1]),
    module("parley", kind: "executable",
           local: ["ParleyCore", "ParleyCrypto", "ParleyStore", "ParleyKit", "ParleyKitTesting", "ParleyNode", "ParleySim", "ParleyHarness"],
           external: [argumentParser, log, metrics, prometheus, lifecycle, hdr]),

    module("ParleyCoreTests", kind: "test", local: ["ParleyCore"]),
    module("ParleyCryptoTests", kind: "test", local: ["ParleyCrypto"]),
    module("ParleyStoreTests", kind: "test", local: ["ParleyStore", "ParleyCore"]),
    module("ParleyKitTests", kind: "test", local: ["ParleyCore", "ParleyKit", "ParleyKitTesting", "ExampleAdapter"], linkerSettings: allowSharedEntryPoint),
    // Every adapter exports the same `parley_adapter_v1` entry point (it is the ABI); a test binary that links
    // several adapters statically keeps the first and calls the others through their Swift types.
    module("AdapterTests", kind: "test", local: ["ParleyKit", "ParleyKitTesting", "WhatsAppAdapter", "MessengerAdapter", "InstagramAdapter"],
           linkerSettings: allowSharedEntryPoint),
    module("ParleySimTests", kind: "test", local: ["ParleySim"], external: [hummingbirdTesting]),
    module("ParleyNodeTests", kind: "test", local: ["ParleyNode", "ParleyCore", "ParleyCrypto", "ParleyStore"], external: [hummingbirdTesting, nioCore, nioPosix, nioHTTP1, nioSSL]),
    module("EndToEndTests", kind: "test", local: ["ParleyHarness", "ParleyKit"]),
]

let dynamicAdapters = ["WhatsAppAdapter", "MessengerAdapter", "InstagramAdapter", "ExampleAdapter"]

// Narrowing for development (see the comment at the top); CI builds everything.
let selected: Set<String> = {
    guard let list = ProcessInfo.processInfo.environment["PARLEY_TARGETS"], !list.isEmpty else {
        return Set(modules.map(\.target.name))
    }
    let byName = Dictionary(uniqueKeysWithValues: modules.map { ($0.target.name, $0) })
    var wanted = Set(list.split(separator: ",").map(String.init))
    // A narrowed module brings its test target along.
    for name in wanted { if byName[name + "Tests"] != nil { wanted.insert(name + "Tests") } }
    var closure = Set<String>()
    var stack = Array(wanted)
    while let name = stack.popLast() {
        guard closure.insert(name).inserted, let m = byName[name] else { continue }
        stack.append(contentsOf: m.localDependencies)
    }
    return closure
}()

let included = modules.filter { selected.contains($0.target.name) }

var products: [Product] = []
for name in ["parley", "example-child-adapter"] where selected.contains(name) {
    products.append(.executable(name: name, targets: [name]))
}
for name in ["ParleyCore", "ParleyCrypto", "ParleyStore", "ParleyKit", "ParleyKitTesting", "ParleyNode", "ParleySim"] where selected.contains(name) {
    products.append(.library(name: name, targets: [name]))
}
for name in dynamicAdapters where selected.contains(name) {
    products.append(.library(name: name, type: .dynamic, targets: [name]))
}

let package = Package(
    name: "Parley",
    platforms: [.macOS(.v15)],
    products: products,
    dependencies: packageDependencies,
    targets: included.map(\.target)
)
