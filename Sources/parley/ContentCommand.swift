import ArgumentParser
import Foundation
import ParleyCore

/// `parley content decode FILE.cbor` and `parley content encode`: a thin shell over ParleyCore's
/// MIMI content JSON form (`MIMIContent.json(fromCBOR:)` and `MIMIContent(json:)`).
struct ContentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "content",
        abstract: "Convert MIMI content between its CBOR bytes and a lossless JSON form.",
        subcommands: [Decode.self, Encode.self]
    )

    func run() async throws {
        throw CleanExit.helpRequest(self)
    }

    struct Decode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print MIMI content as JSON (pretty, sorted keys) with its computed messageId (hex).",
            discussion: """
                The message id is derived from the file's bytes exactly as received, the sender and room URIs \
                (the senderUri/roomUri extensions unless overridden) and the salt; it is null when a URI is unknown.
                """
        )

        @Argument(help: "A file holding MIMI content CBOR.")
        var file: String

        @Option(name: .customLong("sender"), help: "Sender URI for the message id (default: the senderUri extension).")
        var senderUri: String?

        @Option(name: .customLong("room"), help: "Room URI for the message id (default: the roomUri extension).")
        var roomUri: String?

        func run() async throws {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw ContentCommandError(message: "cannot read \(file): \(error.localizedDescription)")
            }
            do {
                print(try MIMIContent.json(fromCBOR: [UInt8](data), senderUri: senderUri, roomUri: roomUri))
            } catch {
                throw ContentCommandError(message: "\(file) is not valid MIMI content: \(error)")
            }
        }
    }

    struct Encode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the JSON form on stdin and write the identical MIMI content CBOR bytes to stdout."
        )

        func run() async throws {
            let input = FileHandle.standardInput.readDataToEndOfFile()
            let content: MIMIContent
            do {
                content = try MIMIContent(json: [UInt8](input))
            } catch {
                throw ContentCommandError(message: "stdin is not valid MIMI content JSON: \(error)")
            }
            FileHandle.standardOutput.write(Data(content.encoded()))
        }
    }
}

/// A failure ArgumentParser prints as `Error: …` on stderr before exiting with `ExitCode.failure`.
struct ContentCommandError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
