import ArgumentParser

/// The `parley` command line. Each subcommand lives in its own file.
@main
struct Parley: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parley",
        abstract: "Federation bridge between independently operated messaging apps.",
        subcommands: [
            ServeCommand.self, DemoCommand.self, TranslateCommand.self, ContentCommand.self,
            AdapterCommand.self, ConfigCommand.self, UsersCommand.self, ContactsCommand.self, KeysCommand.self, StatusCommand.self,
            SimCommand.self, BenchCommand.self,
        ]
    )
}
