import ArgumentParser
import Foundation
import Logging
import ParleyNode
import ParleyStore

/// `parley users consent grant|revoke|list`: a user's agreement to cross-app messaging (off until given);
/// `parley users keys issue`: users' keys ahead of their first message (bulk onboarding).
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage a tenant's users.", subcommands: [Consent.self, Keys.self])

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
            let (store, tenant, _) = try openWithConfig()
            return (store, tenant.name)
        }

        func openWithConfig() throws -> (ParleyStore, TenantConfig, NodeConfig) {
            let nodeConfig = try loadConfigOrExit(config)
            let chosen: TenantConfig
            if let tenant {
                guard let found = nodeConfig.tenants.first(where: { $0.name == tenant }) else {
                    throw CLIError("\(config): no tenant named \(tenant) (have: \(nodeConfig.tenants.map(\.name).joined(separator: ", ")))")
                }
                chosen = found
            } else {
                guard nodeConfig.tenants.count == 1 else { throw CLIError("\(config) has several tenants; pass --tenant NAME") }
                chosen = nodeConfig.tenants[0]
            }
            try FileManager.default.createDirectory(atPath: nodeConfig.dataDirectory, withIntermediateDirectories: true)
            let store = try ParleyStore(path: nodeConfig.dataDirectory + "/parley.sqlite", logger: Logger(label: "parley.cli"))
            return (store, chosen, nodeConfig)
        }
    }

    /// Users named on the command line and/or in `--file` (one native id per line; blank lines and `#` comments
    /// skipped), for bulk onboarding.
    struct UserList: ParsableArguments {
        @Option(name: .long, help: "A file with one native user id per line (for many users).")
        var file: String?
        @Argument(help: "Native user ids.") var users: [String] = []

        func all() throws -> [String] {
            var all = users
            if let file { all += try listFileLines(file, what: "user list").map(\.text) }
            guard !all.isEmpty else { throw CLIError("name at least one user, as arguments or with --file") }
            return all
        }

        /// "alice, bob" for a few users, "1000000 users" for many.
        static func summary(_ users: [String]) -> String {
            users.count <= 10 ? users.joined(separator: ", ") : "\(users.count) users"
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record that users agreed to cross-app messaging.")
        @OptionGroup var target: Target
        @OptionGroup var list: UserList

        func run() async throws {
            let users = try list.all()
            let (store, tenant) = try target.open()
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            // Transactions of 10,000 users: a million grants take seconds, not a million syncs.
            for start in stride(from: 0, to: users.count, by: 10_000) {
                try await store.grantConsent(tenant: tenant, users: Array(users[start..<min(start + 10_000, users.count)]), now: now)
            }
            try store.close()
            print("granted: \(UserList.summary(users))")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw users' consent; their messages stop crossing at once.")
        @OptionGroup var target: Target
        @OptionGroup var list: UserList

        func run() async throws {
            let users = try list.all()
            let (store, tenant) = try target.open()
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for user in users { _ = try await store.revokeConsent(tenant: tenant, user: user, now: now) }
            try store.close()
            print("revoked: \(UserList.summary(users))")
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

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keys", abstract: "Users' end-to-end keys (issued on a user's first message, or ahead of time here).",
            subcommands: [Issue.self])
    }

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue keys to users who have none yet, so peers can fetch their bundles before they first speak.",
            discussion: "Safe to re-run and to run beside a live node; users who already have keys keep them.")
        @OptionGroup var target: Target
        @OptionGroup var list: UserList

        func run() async throws {
            let users = try list.all()
            let (store, tenant, node) = try target.openWithConfig()
            defer { try? store.close() }
            let issuer = try UserKeyIssuer(signingKeyFile: node.signingKeyFile)
            let issued = try await issuer.issueMissing(store: store, tenant: tenant.name, uris: users.map(tenant.userURI))
            print("issued keys: \(issued) of \(UserList.summary(users)) (\(users.count - issued) already had keys)")
        }
    }
}

/// The meaningful lines of an onboarding file (user lists, contact lists): trimmed, without blank lines and `#`
/// comments, each with its 1-based line number for error messages.
func listFileLines(_ path: String, what: String) throws -> [(number: Int, text: String)] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read the \(what) \(path)") }
    return text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, line in
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty || trimmed.hasPrefix("#") ? nil : (index + 1, trimmed)
    }
}
