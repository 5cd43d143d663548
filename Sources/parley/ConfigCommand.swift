import ArgumentParser
import ParleyNode

/// `parley config check FILE`.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Work with node config files.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check", abstract: "Validate a config file without starting anything; exits non-zero with the file, key and problem.")

        @Argument(help: "The TOML config file.")
        var file: String

        func run() async throws {
            let config = try loadConfigOrExit(file)
            print("\(file): ok — node \(config.domain) on \(config.listen), \(config.tenants.count) tenant(s): \(config.tenants.map { "\($0.name) (\($0.domain))" }.joined(separator: ", ")); \(config.peers.count) peer(s): \(config.peers.map(\.domain).joined(separator: ", "))")
        }
    }
}
