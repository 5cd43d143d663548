import ParleyKit

/// The outcome of ``AdapterConformance/run(_:fixtures:options:)``: one entry per check.
public struct ConformanceReport: Sendable, Hashable, CustomStringConvertible {
    public struct Check: Sendable, Hashable {
        /// A stable name: `fixtures.decode`, `fixtures.encode`, `capabilities.inbound`, `capabilities.outbound`,
        /// `robustness`, `determinism`, `ids.stable`.
        public var name: String
        /// What was checked, for the report.
        public var summary: String
        /// One line per problem; empty when the check passed.
        public var failures: [String]
        /// Remarks that are not failures (a check skipped for lack of fixtures, counts).
        public var notes: [String]

        public var passed: Bool { failures.isEmpty }
    }

    public var adapterName: String
    public var checks: [Check]

    public var passed: Bool { checks.allSatisfy(\.passed) }

    /// Every failure as `check: problem`.
    public var failures: [String] { checks.flatMap { c in c.failures.map { "\(c.name): \($0)" } } }

    /// The printable report `parley adapter check` shows.
    public var description: String {
        let passedCount = checks.filter(\.passed).count
        var lines = ["Conformance of adapter \"\(adapterName)\": \(passed ? "PASS" : "FAIL") (\(passedCount)/\(checks.count) checks passed)"]
        for check in checks {
            lines.append("  \(check.passed ? "ok  " : "FAIL") \(check.name) — \(check.summary)")
            for note in check.notes { lines.append("         note: \(note)") }
            for failure in check.failures.prefix(20) { lines.append("         - \(failure)") }
            if check.failures.count > 20 { lines.append("         … and \(check.failures.count - 20) more") }
        }
        return lines.joined(separator: "\n")
    }
}
