import Foundation
import ParleyKit

/// The logic of `parley adapter check`, kept here so the command line stays thin.
public enum AdapterCheck {
    /// The outcome: the printable report (or the reason no report could be made) and whether it passed.
    public struct Outcome: Sendable {
        public var text: String
        public var passed: Bool
    }

    /// Opens `spec` (a `.so` path or built-in name → dlopen; otherwise a command line → child process),
    /// loads the fixtures of `fixturesDirectory` when given, and runs the conformance suite.
    public static func run(spec: String, fixturesDirectory: String?, options: AdapterConformance.Options = .init()) -> Outcome {
        let fixtures: [Fixture]
        if let dir = fixturesDirectory {
            do {
                fixtures = try Fixture.load(directory: dir)
            } catch {
                return Outcome(text: "error: \(error)", passed: false)
            }
        } else {
            fixtures = []
        }
        let adapter: any Adapter
        do {
            adapter = try AdapterLocator.open(libraryOrCommand: spec)
        } catch {
            return Outcome(text: "error: \(error)", passed: false)
        }
        let report = AdapterConformance.run(adapter, fixtures: fixtures, options: options)
        var text = report.description
        if fixtures.isEmpty {
            text += "\n(no --fixtures given: fixture checks were skipped; pass a directory with an expected.json)"
        }
        return Outcome(text: text, passed: report.passed)
    }
}
