import ParleyCore
import ParleyStore
import Synchronization

/// Every tenant's contacts: the few in the config (held in memory), then the bulk ones in the store
/// (`parley contacts import`) through bounded caches, so a node with millions of contacts holds only the
/// recently used ones. A contact in the config wins over a stored one for the same account.
final class ContactDirectory: Sendable {
    private struct Ref: Hashable {
        let tenant: String
        let id: String
    }

    private struct State {
        var byAccount: LRUCache<Ref, Contact>
        var byRemote: LRUCache<Ref, Contact>
    }

    private let store: ParleyStore
    private let state: Mutex<State>

    init(store: ParleyStore, cacheEntries: Int) {
        self.store = store
        self.state = Mutex(State(byAccount: LRUCache(capacity: cacheEntries), byRemote: LRUCache(capacity: cacheEntries)))
    }

    /// The contact a native account of `tenant` stands for, or `nil`.
    func contact(_ tenant: TenantRuntime, account: String) async throws -> Contact? {
        try await lookup(tenant.contactsByAccount[account], Ref(tenant: tenant.name, id: account), in: \.byAccount) {
            try await store.contact(tenant: tenant.name, account: account)
        }
    }

    /// The contact standing for remote user `remote` in `tenant`'s app, or `nil`.
    func contact(_ tenant: TenantRuntime, remote: String) async throws -> Contact? {
        try await lookup(tenant.contactsByRemote[remote], Ref(tenant: tenant.name, id: remote), in: \.byRemote) {
            try await store.contact(tenant: tenant.name, remote: remote)
        }
    }

    /// The config's contact, else the cached one, else the stored one (then cached both ways).
    private func lookup(_ configured: Contact?, _ ref: Ref, in cache: WritableKeyPath<State, LRUCache<Ref, Contact>>,
                        load: () async throws -> ContactRecord?) async throws -> Contact? {
        if let configured { return configured }
        if let cached = state.withLock({ $0[keyPath: cache].value(forKey: ref) }) { return cached }
        return try await load().map(remember)
    }

    private func remember(_ record: ContactRecord) -> Contact {
        let contact = Contact(account: record.account, remote: record.remote)
        state.withLock { s in
            s.byAccount.insert(contact, forKey: Ref(tenant: record.tenant, id: record.account))
            s.byRemote.insert(contact, forKey: Ref(tenant: record.tenant, id: record.remote))
        }
        return contact
    }
}
