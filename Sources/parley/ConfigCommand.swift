import ArgumentParser

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "(not yet built)")

    func run() async throws {
        throw ValidationError("parley config is not built yet")
    }
}
