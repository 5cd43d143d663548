import Foundation
import ParleyCore
import ParleyKit
import ParleyCrypto
import ParleyStore

/// One operator served by the node, with its loaded adapter and policy.
final class TenantRuntime: Sendable {
    let config: TenantConfig
    let adapter: any Adapter
    let capabilities: AdapterCapabilities
    let policy: PolicyEngine
    let contactsByAccount: [String: Contact]
    let contactsByRemote: [String: Contact]

    var name: String { config.name }
    var domain: String { config.domain }
    var app: String { adapter.name }

    init(config: TenantConfig, adapter: any Adapter) {
        self.config = config
        self.adapter = adapter
        self.capabilities = adapter.capabilities
        self.policy = PolicyEngine(policy: config.policy)
        var byAccount: [String: Contact] = [:], byRemote: [String: Contact] = [:]
        for contact in config.contacts {
            byAccount[contact.account] = contact
            byRemote[contact.remote] = contact
        }
        self.contactsByAccount = byAccount
        self.contactsByRemote = byRemote
    }

    /// `mimi://<domain>/u/<native user id>`.
    func userURI(_ nativeUser: String) -> String { config.userURI(nativeUser) }

    /// The native user id of one of this tenant's users, or `nil` if the URI is not ours.
    func nativeUser(_ uri: String) -> String? {
        guard let address = MIMIAddress(uri), address.domain == domain, address.kind == .user else { return nil }
        return address.id
    }
}

/// A 1:1 conversation between a local user and a remote contact, as the node keys it everywhere
/// (ordering, id maps): `<native user>|<contact account>`.
struct ConversationKey: Sendable, Hashable {
    var localUser: String
    var account: String

    var rawValue: String { "\(localUser)|\(account)" }

    init(localUser: String, account: String) {
        self.localUser = localUser
        self.account = account
    }

    init?(rawValue: String) {
        guard let bar = rawValue.lastIndex(of: "|") else { return nil }
        localUser = String(rawValue[..<bar])
        account = String(rawValue[rawValue.index(after: bar)...])
    }

    /// The MIMI room both ends compute for a 1:1 conversation: the same bytes on both sides, so the message ids agree.
    static func roomURI(_ a: String, _ b: String) -> String {
        let (first, second) = a < b ? (a, b) : (b, a)
        let digest = Hashing.sha256(Array("\(first)\n\(second)".utf8))
        let domain = MIMIAddress(first)?.domain ?? "parley"
        return "mimi://\(domain)/r/dm-\(Hex.encode(Array(digest.prefix(12))))"
    }
}

extension IdMapping {
    /// Whether the native id is a real message id in the app (the node also keeps bookkeeping rows in the map:
    /// `reaction:` keys for reaction removal).
    var namesNativeMessage: Bool { !nativeId.hasPrefix("reaction:") }
}
