import ArgumentParser
import ParleyCrypto

/// `parley keys generate --out FILE`: a node signing key; prints the public key peers pin.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Node signing keys.", subcommands: [Generate.self, Show.self])

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a node signing key file (Ed25519 seed, mode 0600) and print its public key.")
        @Option(name: .long, help: "Where to write the key.") var out: String
        @Flag(name: .long, help: "Replace an existing file.") var force = false

        func run() async throws {
            let key = NodeSigningKey.generate()
            do {
                try key.write(toFile: out, overwrite: force)
            } catch {
                throw CLIError("\(out): \(error)")
            }
            print(key.publicKey.base64)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the public key (base64) of a key file, for peers to pin.")
        @Argument(help: "The key file.") var file: String

        func run() async throws {
            do {
                print(try NodeSigningKey(contentsOfFile: file).publicKey.base64)
            } catch {
                throw CLIError("\(file): \(error)")
            }
        }
    }
}
