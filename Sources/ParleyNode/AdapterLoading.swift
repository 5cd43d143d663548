import ParleyKit

/// Turns a config's adapter source into an adapter: bundled names and library paths are `dlopen`ed, commands run
/// as child processes speaking the framed protocol.
public enum NodeAdapters {
    /// `directory`: where bundled adapters (`lib<Name>Adapter.so`) live; defaults to the executable's directory.
    public static func load(_ source: AdapterSource, directory: String? = nil) throws -> any Adapter {
        switch source {
        case .named(let name): try AdapterLocator.load(nameOrPath: name, directory: directory)
        case .library(let path): try AdapterLoader.load(path: path)
        case .command(let command): try ChildProcessAdapter(command: command)
        }
    }
}
