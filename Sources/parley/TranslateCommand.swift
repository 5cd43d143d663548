import ArgumentParser

struct TranslateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "translate", abstract: "(not yet built)")

    func run() async throws {
        throw ValidationError("parley translate is not built yet")
    }
}
