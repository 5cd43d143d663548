import ArgumentParser

struct AdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "adapter", abstract: "(not yet built)")

    func run() async throws {
        throw ValidationError("parley adapter is not built yet")
    }
}
