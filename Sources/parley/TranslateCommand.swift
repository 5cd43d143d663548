import ArgumentParser
import Foundation
import ParleyKit

/// `parley translate --adapter NAME --from-native FILE | --to-native FILE`.
struct TranslateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Decode a native payload to event lines, or encode event lines to native requests.")

    @Option(help: "Adapter name (whatsapp, messenger, instagram, example) or path to an adapter library.")
    var adapter: String

    @Option(help: "A native webhook body; prints one JSON event per line.")
    var fromNative: String?

    @Option(help: "A file of JSON event lines; prints one native request (method, path, body) per line.")
    var toNative: String?

    func validate() throws {
        guard (fromNative == nil) != (toNative == nil) else {
            throw ValidationError("give exactly one of --from-native FILE or --to-native FILE")
        }
    }

    func run() async throws {
        do {
            let loaded = try AdapterLocator.load(nameOrPath: adapter)
            let file = fromNative ?? toNative ?? ""
            guard let data = FileManager.default.contents(atPath: file) else {
                throw failure("cannot read \(file)")
            }
            let lines = fromNative != nil
                ? try Translate.eventLines(loaded, payload: Array(data))
                : try Translate.requestLines(loaded, eventLines: String(decoding: data, as: UTF8.self))
            for line in lines { print(line) }
        } catch let error as AdapterLoadError {
            throw failure("\(error)")
        } catch let error as AdapterError {
            throw failure("\(error)")
        }
    }

    /// Reports on stderr and gives the exit code to throw.
    private func failure(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("parley translate: \(message)\n".utf8))
        return ExitCode.failure
    }
}
