import ArgumentParser
import Foundation
import ParleyNode
import ParleyStore

/// `parley contacts import|show`: contacts (the native account standing for a remote user) in bulk, in the store.
struct ContactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts", abstract: "Contacts held in the node's store (the config's [[tenants.contacts]] are for a few).",
        subcommands: [Import.self, Show.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or re-point contacts from a file of lines \"ACCOUNT REMOTE_URI\" (space, tab or comma separated).",
            discussion: "Blank lines and # comments are skipped. The whole file is checked before anything is written; safe to re-run. A running node sees new contacts at once; re-pointed ones after a restart.")
        @OptionGroup var target: UsersCommand.Target
        @Option(name: .long, help: "The contact file.") var file: String

        func run() async throws {
            let lines = try listFileLines(file, what: "contact file")
            let (store, tenant, node) = try target.openWithConfig()
            defer { try? store.close() }
            var contacts: [ContactRecord] = []
            for (number, line) in lines {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
                guard fields.count == 2 else {
                    throw CLIError("\(file):\(number): expected \"ACCOUNT REMOTE_URI\", found \(fields.count) field(s)")
                }
                guard let remote = MIMIAddress(fields[1]), remote.kind == .user else {
                    throw CLIError("\(file):\(number): \(fields[1]) is not a user URI (mimi://DOMAIN/u/ID)")
                }
                guard !node.tenants.contains(where: { $0.domain == remote.domain }) else {
                    throw CLIError("\(file):\(number): \(fields[1]) is a user of this node, not of a peer")
                }
                contacts.append(ContactRecord(tenant: tenant.name, account: fields[0], remote: fields[1]))
            }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            do {
                try await store.putContacts(contacts, now: now)
            } catch {
                throw CLIError("\(file): nothing imported: \(error)")
            }
            print("imported \(contacts.count) contact(s) into tenant \(tenant.name); it now has \(try await store.contactCount(tenant: tenant.name)) in the store")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the stored contact of native accounts or remote user URIs.")
        @OptionGroup var target: UsersCommand.Target
        @Argument(help: "Native account ids or remote user URIs.") var keys: [String]

        func run() async throws {
            let (store, tenant, _) = try target.openWithConfig()
            defer { try? store.close() }
            var missing = 0
            for key in keys {
                let found = key.hasPrefix("mimi://")
                    ? try await store.contact(tenant: tenant.name, remote: key)
                    : try await store.contact(tenant: tenant.name, account: key)
                if let found { print("\(found.account)\t\(found.remote)") } else { print("\(key)\t(no stored contact)"); missing += 1 }
            }
            if missing > 0 { throw ExitCode(1) }
        }
    }
}
