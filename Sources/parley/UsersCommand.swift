import ArgumentParser
import Foundation
import Logging
import ParleyNode
import ParleyStore

/// `parley users consent grant|revoke|list`: a user's agreement to cross-app messaging (off until given).
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage a tenant's users.", subcommands: [Consent.self])

    struct Consent: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "consent", abstract: "Cross-app messaging consent (off until granted).",
            subcommands: [Grant.self, Revoke.self, List.self])
    }

    struct Target: ParsableArguments {
        @Option(name: .long, help: "The node's config file (locates the store).")
        var config: String
        @Option(name: .long, help: "The tenant name (default: the only tenant).")
        var tenant: String?

        func open() throws -> (ParleyStore, String) {
            let nodeConfig = try loadConfigOrExit(config)
            let name: String
            if let tenant {
                guard nodeConfig.tenants.contains(where: { $0.name == tenant }) else {
                    throw CLIError("\(config): no tenant named \(tenant) (have: \(nodeConfig.tenants.map(\.name).joined(separator: ", ")))")
                }
                name = tenant
            } else {
                guard nodeConfig.tenants.count == 1 else { throw CLIError("\(config) has several tenants; pass --tenant NAME") }
                name = nodeConfig.tenants[0].name
            }
            try FileManager.default.createDirectory(atPath: nodeConfig.dataDirectory, withIntermediateDirectories: true)
            let store = try ParleyStore(path: nodeConfig.dataDirectory + "/parley.sqlite", logger: Logger(label: "parley.cli"))
            return (store, name)
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record that users agreed to cross-app messaging.")
        @OptionGroup var target: Target
        @Argument(help: "Native user ids.") var users: [String]

        func run() async throws {
            let (store, tenant) = try target.open()
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for user in users { try await store.grantConsent(tenant: tenant, user: user, now: now) }
            try store.close()
            print("granted: \(users.joined(separator: ", "))")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw users' consent; their messages stop crossing at once.")
        @OptionGroup var target: Target
        @Argument(help: "Native user ids.") var users: [String]

        func run() async throws {
            let (store, tenant) = try target.open()
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for user in users { _ = try await store.revokeConsent(tenant: tenant, user: user, now: now) }
            try store.close()
            print("revoked: \(users.joined(separator: ", "))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with their consent state.")
        @OptionGroup var target: Target

        func run() async throws {
            let (store, tenant) = try target.open()
            let records = try await store.consents(tenant: tenant, grantedOnly: false)
            try store.close()
            for record in records {
                print("\(record.user)\t\(record.granted ? "granted" : "revoked")\t\(record.updatedAt)")
            }
        }
    }
}
