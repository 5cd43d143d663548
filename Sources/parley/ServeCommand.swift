import ArgumentParser

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "(not yet built)")

    func run() async throws {
        throw ValidationError("parley serve is not built yet")
    }
}
