import ArgumentParser

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "(not yet built)")

    func run() async throws {
        throw ValidationError("parley demo is not built yet")
    }
}
