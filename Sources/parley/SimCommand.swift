import ArgumentParser

struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sim", abstract: "(not yet built)")

    func run() async throws {
        throw ValidationError("parley sim is not built yet")
    }
}
