import ArgumentParser

struct ContentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "content", abstract: "(not yet built)")

    func run() async throws {
        throw ValidationError("parley content is not built yet")
    }
}
