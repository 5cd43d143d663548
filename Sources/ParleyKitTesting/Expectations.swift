import ParleyKit
import Testing

extension AdapterConformance {
    /// Runs the suite inside a Swift Testing test and records one `#expect` per check, so a failing check
    /// shows its problems in the test output:
    /// ```swift
    /// @Test func conforms() { AdapterConformance.expectConformance(MyAdapter(), fixtures: fixtures) }
    /// ```
    @discardableResult
    public static func expectConformance(
        _ adapter: some Adapter, fixtures: [Fixture], options: Options = .init(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ConformanceReport {
        let report = run(adapter, fixtures: fixtures, options: options)
        for check in report.checks {
            #expect(check.passed, "\(check.name): \(check.failures.joined(separator: "; "))", sourceLocation: sourceLocation)
        }
        return report
    }
}
