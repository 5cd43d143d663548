import ArgumentParser

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "users", abstract: "(not yet built)")

    func run() async throws {
        throw ValidationError("parley users is not built yet")
    }
}
