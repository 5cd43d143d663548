import Foundation

/// Turns what a person types (`whatsapp`, `./libFoo.so`, `my-adapter --flag`) into a running adapter; shared by
/// the `parley` command line and the node's config loading.
public enum AdapterLocator {
    /// Adapter names shipped with Parley and the library each one lives in, next to the `parley` executable.
    public static let builtInLibraries: [String: String] = [
        "whatsapp": "libWhatsAppAdapter.so",
        "messenger": "libMessengerAdapter.so",
        "instagram": "libInstagramAdapter.so",
        "example": "libExampleAdapter.so",
    ]

    /// The directory of the running executable (`/proc/self/exe`), where built-in adapter libraries live.
    public static var executableDirectory: String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments.first ?? "."
        return (path as NSString).deletingLastPathComponent
    }

    /// The library path for a built-in name or a path given directly.
    /// - Throws: ``AdapterLoadError/Code/unknownAdapter`` for a name that is neither built in nor a path.
    public static func libraryPath(for nameOrPath: String, directory: String? = nil) throws(AdapterLoadError) -> String {
        if nameOrPath.contains("/") || isLibraryPath(nameOrPath) { return nameOrPath }
        guard let file = builtInLibraries[nameOrPath.lowercased()] else {
            throw AdapterLoadError(.unknownAdapter,
                                   "unknown adapter \"\(nameOrPath)\": use one of \(builtInLibraries.keys.sorted().joined(separator: ", ")) or a path to an adapter library")
        }
        return ((directory ?? executableDirectory) as NSString).appendingPathComponent(file)
    }

    /// Loads a built-in adapter by name, or the library at a path.
    public static func load(nameOrPath: String, directory: String? = nil) throws(AdapterLoadError) -> LoadedAdapter {
        try AdapterLoader.load(path: try libraryPath(for: nameOrPath, directory: directory))
    }

    /// `parley adapter check`'s rule: a path ending in `.so` is loaded in process, a built-in name is loaded
    /// from its library, anything else is a command line started as a child-process adapter.
    public static func open(libraryOrCommand spec: String, callTimeout: Duration = .seconds(10)) throws(AdapterLoadError) -> any Adapter {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        if isLibraryPath(trimmed) || builtInLibraries[trimmed.lowercased()] != nil {
            return try load(nameOrPath: trimmed)
        }
        let words = splitCommandLine(trimmed)
        guard !words.isEmpty else { throw AdapterLoadError(.launchFailed, "the adapter command is empty") }
        return try ChildProcessAdapter(command: words, callTimeout: callTimeout)
    }

    /// A path to a shared library: its file name ends in `.so` or carries a versioned `.so.N` suffix.
    public static func isLibraryPath(_ spec: String) -> Bool {
        guard !spec.contains(" ") else { return false }
        let file = (spec as NSString).lastPathComponent
        return file.hasSuffix(".so") || file.contains(".so.")
    }

    /// Splits a command line on unquoted whitespace; single and double quotes group, backslash escapes.
    public static func splitCommandLine(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character? = nil
        var escaped = false
        for c in line {
            if escaped { current.append(c); escaped = false; inWord = true; continue }
            if c == "\\" && quote != "'" { escaped = true; continue }
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
                continue
            }
            if c == "'" || c == "\"" { quote = c; inWord = true; continue }
            if c.isWhitespace {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            current.append(c)
            inWord = true
        }
        if inWord { words.append(current) }
        return words
    }
}
