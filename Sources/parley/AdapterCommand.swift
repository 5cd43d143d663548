import ArgumentParser
import Foundation
import ParleyKit
import ParleyKitTesting

/// `parley adapter check LIB_OR_COMMAND`: runs the conformance suite against a built adapter.
struct AdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "adapter", abstract: "Work with adapters.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the adapter conformance suite and print a report; exits non-zero on failure.",
            discussion: """
                LIB_OR_COMMAND is a path ending in .so (loaded in process), a built-in adapter name \
                (whatsapp, messenger, instagram, example), or a command line that starts a child-process adapter.
                """)

        @Argument(help: "Adapter library (.so), built-in name, or child-process command line.")
        var libraryOrCommand: String

        @Option(help: "Directory of native fixtures with an expected.json mapping each file to its event kinds (default for a bundled adapter: Fixtures/native/<name> in the repository).")
        var fixtures: String?

        func run() async throws {
            let outcome = AdapterCheck.run(spec: libraryOrCommand, fixturesDirectory: fixtures ?? Self.bundledFixtures(for: libraryOrCommand))
            if outcome.passed {
                print(outcome.text)
            } else {
                FileHandle.standardError.write(Data((outcome.text + "\n").utf8))
                throw ExitCode.failure
            }
        }

        /// The repository's fixtures for a bundled adapter name, looked up from the working directory and from the
        /// sources this binary was built from.
        static func bundledFixtures(for spec: String) -> String? {
            guard ["whatsapp", "messenger", "instagram"].contains(spec) else { return nil }
            let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
            return [FileManager.default.currentDirectoryPath, repository]
                .map { "\($0)/Fixtures/native/\(spec)" }
                .first { FileManager.default.fileExists(atPath: $0 + "/expected.json") }
        }
    }
}
