import Foundation
@testable import ParleyKit
import ParleyKitTesting
import ExampleAdapter

/// Paths the tests need: the example's fixtures (in the source tree) and the built products.
enum TestPaths {
    static let repositoryRoot: String = {
        // Tests/ParleyKitTests/Support.swift → the package root.
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var exampleFixtures: String { repositoryRoot + "/docs/example/Fixtures" }

    /// The build products directory: where the test executable lives, next to libExampleAdapter.so.
    static let productsDirectory: String = {
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent)
        }
        if let path = Bundle.main.executablePath { candidates.append((path as NSString).deletingLastPathComponent) }
        for arg in CommandLine.arguments where arg.hasSuffix(".xctest") { candidates.append((arg as NSString).deletingLastPathComponent) }
        for dir in candidates {
            // Bundles on some platforms nest the executable; walk up a few levels.
            var d = dir
            for _ in 0..<4 {
                if FileManager.default.fileExists(atPath: d + "/libExampleAdapter.so") { return d }
                d = (d as NSString).deletingLastPathComponent
            }
        }
        return candidates.first ?? "."
    }()

    static var exampleLibrary: String { productsDirectory + "/libExampleAdapter.so" }
    static var exampleChild: String { productsDirectory + "/example-child-adapter" }

    static func fixtures() throws -> [Fixture] {
        try Fixture.load(directory: exampleFixtures)
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: exampleFixtures + "/" + name)))
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "parley-kit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Conformance options small enough for a fast test run, still covering every kind of bad input.
let quickOptions = AdapterConformance.Options(randomInputs: 24, bitFlipsPerFixture: 8, truncationsPerFixture: 6)
