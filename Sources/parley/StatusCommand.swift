import ArgumentParser

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "(not yet built)")

    func run() async throws {
        throw ValidationError("parley status is not built yet")
    }
}
