import Foundation
import GRDB

extension ParleyStore {
    // MARK: Key material

    /// Stores (or replaces) key material under (tenant, kind, owner, keyId). On replace `createdAt` is kept.
    public func putKey(_ key: StoredKey) async throws(StoreError) {
        try await putKeys([key])
    }

    /// Stores (or replaces) several keys in one transaction, all or none; the bulk form of ``putKey(_:)``.
    public func putKeys(_ keys: [StoredKey]) async throws(StoreError) {
        for key in keys {
            try Check.name(key.tenant, "tenant")
            try Check.name(key.kind.rawValue, "key kind")
            try Check.name(key.keyId, "key id")
            if key.material.isEmpty { throw .invalid("key material must not be empty") }
        }
        guard !keys.isEmpty else { return }
        try await write("storing \(keys.count) key(s)") { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO key_material (tenant, kind, owner, key_id, material, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (tenant, kind, owner, key_id) DO UPDATE SET material = excluded.material,
                    updated_at = excluded.updated_at
                """)
            for key in keys {
                try statement.execute(arguments: [key.tenant, key.kind.rawValue, key.owner, key.keyId, key.material, key.createdAt, key.updatedAt])
            }
        }
    }

    /// The newest key of a kind held for `owner` (latest `createdAt`, then highest key id), or `nil`.
    public func newestKey(tenant: String, kind: KeyKind, owner: String) async throws(StoreError) -> StoredKey? {
        try await lookup("reading the newest \(kind.rawValue) key") { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT * FROM key_material WHERE tenant = ? AND kind = ? AND owner = ?
                ORDER BY created_at DESC, key_id DESC LIMIT 1
                """), arguments: [tenant, kind.rawValue, owner]).map(Self.storedKey)
        }
    }

    /// The key of a kind with id `keyId`, whoever owns it, or `nil`.
    public func key(tenant: String, kind: KeyKind, withId keyId: String) async throws(StoreError) -> StoredKey? {
        try await lookup("reading a \(kind.rawValue) key by id") { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT * FROM key_material WHERE tenant = ? AND kind = ? AND key_id = ? LIMIT 1
                """), arguments: [tenant, kind.rawValue, keyId]).map(Self.storedKey)
        }
    }

    /// One stored key, or `nil`.
    public func key(tenant: String, kind: KeyKind, owner: String = "", keyId: String) async throws(StoreError) -> StoredKey? {
        try await lookup("reading a \(kind.rawValue) key") { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT * FROM key_material WHERE tenant = ? AND kind = ? AND owner = ? AND key_id = ?
                """), arguments: [tenant, kind.rawValue, owner, keyId]).map(Self.storedKey)
        }
    }

    /// The keys of a kind for one owner (or every owner when `owner` is `nil`), ordered by owner then key id.
    public func keys(tenant: String, kind: KeyKind, owner: String? = nil) async throws(StoreError) -> [StoredKey] {
        try await read("listing \(kind.rawValue) keys") { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM key_material WHERE tenant = ? AND kind = ? AND (? IS NULL OR owner = ?)
                ORDER BY owner, key_id
                """), arguments: [tenant, kind.rawValue, owner, owner]).map(Self.storedKey)
        }
    }

    /// Which of `owners` hold at least one key of a kind.
    public func owners(tenant: String, kind: KeyKind, among owners: [String]) async throws(StoreError) -> Set<String> {
        try await present("finding \(kind.rawValue) key owners", among: owners,
                          sql: "SELECT 1 FROM key_material WHERE tenant = ? AND kind = ? AND owner = ? LIMIT 1") { [tenant, kind.rawValue, $0] }
    }

    /// Deletes one key. Returns whether it existed.
    @discardableResult
    public func deleteKey(tenant: String, kind: KeyKind, owner: String = "", keyId: String) async throws(StoreError) -> Bool {
        try await write("deleting a \(kind.rawValue) key") { db in
            try db.execute(sql: """
                DELETE FROM key_material WHERE tenant = ? AND kind = ? AND owner = ? AND key_id = ?
                """, arguments: [tenant, kind.rawValue, owner, keyId])
            return db.changesCount > 0
        }
    }

    static func storedKey(_ row: Row) -> StoredKey {
        StoredKey(tenant: row["tenant"], kind: KeyKind(rawValue: row["kind"]), owner: row["owner"], keyId: row["key_id"],
                  material: row["material"], createdAt: row["created_at"], updatedAt: row["updated_at"])
    }

    // MARK: Peers' bundles

    /// Caches a peer user's key bundle (replacing an older one).
    public func cachePeerBundle(_ bundle: PeerBundle) async throws(StoreError) {
        try Check.name(bundle.tenant, "tenant")
        try Check.name(bundle.peer, "peer")
        try Check.name(bundle.user, "user")
        if bundle.bundle.isEmpty { throw .invalid("peer bundle must not be empty") }
        try await write("caching a peer bundle") { db in
            try db.execute(sql: """
                INSERT INTO peer_bundle (tenant, peer, user, bundle, fetched_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (tenant, peer, user) DO UPDATE SET bundle = excluded.bundle,
                    fetched_at = excluded.fetched_at, expires_at = excluded.expires_at
                """, arguments: [bundle.tenant, bundle.peer, bundle.user, bundle.bundle, bundle.fetchedAt, bundle.expiresAt])
        }
    }

    /// The cached bundle if it is still fresh at `now` (`expiresAt > now`), else `nil` (fetch it again).
    public func cachedPeerBundle(tenant: String, peer: String, user: String, now: Int64) async throws(StoreError) -> PeerBundle? {
        try await lookup("reading a cached peer bundle") { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT * FROM peer_bundle WHERE tenant = ? AND peer = ? AND user = ? AND expires_at > ?
                """), arguments: [tenant, peer, user, now]).map { row in
                PeerBundle(tenant: row["tenant"], peer: row["peer"], user: row["user"], bundle: row["bundle"],
                           fetchedAt: row["fetched_at"], expiresAt: row["expires_at"])
            }
        }
    }

    /// Drops a peer's cached bundles (e.g. after its signing key changed). Returns how many were dropped.
    @discardableResult
    public func evictPeerBundles(tenant: String, peer: String) async throws(StoreError) -> Int {
        try await write("evicting peer bundles") { db in
            try db.execute(sql: "DELETE FROM peer_bundle WHERE tenant = ? AND peer = ?", arguments: [tenant, peer])
            return db.changesCount
        }
    }

    // MARK: Consent

    /// Grants `user` consent to cross-app messaging from `now`. Granting twice keeps the first grant time.
    public func grantConsent(tenant: String, user: String, now: Int64) async throws(StoreError) {
        try await grantConsent(tenant: tenant, users: [user], now: now)
    }

    /// Grants consent to several users in one transaction (bulk onboarding), all or none.
    public func grantConsent(tenant: String, users: [String], now: Int64) async throws(StoreError) {
        try Check.name(tenant, "tenant")
        for user in users { try Check.name(user, "user") }
        guard !users.isEmpty else { return }
        try await write("granting consent to \(users.count) user(s)") { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO consent (tenant, user, granted, granted_at, revoked_at, updated_at) VALUES (?, ?, 1, ?, NULL, ?)
                ON CONFLICT (tenant, user) DO UPDATE SET
                    granted_at = CASE WHEN consent.granted = 1 THEN consent.granted_at ELSE excluded.granted_at END,
                    granted = 1, updated_at = excluded.updated_at
                """)
            for user in users { try statement.execute(arguments: [tenant, user, now, now]) }
        }
    }

    /// Revokes consent. Returns `false` when the user had not granted it (nothing to revoke).
    @discardableResult
    public func revokeConsent(tenant: String, user: String, now: Int64) async throws(StoreError) -> Bool {
        try Check.name(tenant, "tenant")
        try Check.name(user, "user")
        return try await write("revoking consent") { db in
            try db.execute(sql: """
                UPDATE consent SET granted = 0, revoked_at = ?, updated_at = ? WHERE tenant = ? AND user = ? AND granted = 1
                """, arguments: [now, now, tenant, user])
            return db.changesCount > 0
        }
    }

    /// Whether `user` has consented. Off unless granted.
    public func hasConsent(tenant: String, user: String) async throws(StoreError) -> Bool {
        try await consentingUsers(tenant: tenant, among: [user]).contains(user)
    }

    /// Which of `users` have granted consent (and not revoked it): one read for a whole webhook or transaction.
    public func consentingUsers(tenant: String, among users: some Collection<String> & Sendable) async throws(StoreError) -> Set<String> {
        guard !users.isEmpty else { return [] }
        return try await present("checking consent", among: users,
                                 sql: "SELECT 1 FROM consent WHERE tenant = ? AND user = ? AND granted") { [tenant, $0] }
    }

    /// One user's consent record, or `nil` if the user never granted.
    public func consent(tenant: String, user: String) async throws(StoreError) -> ConsentRecord? {
        try await read("reading consent") { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM consent WHERE tenant = ? AND user = ?"), arguments: [tenant, user])
                .map(Self.consentRecord)
        }
    }

    /// Consent records of a tenant ordered by user; only current grants when `grantedOnly`.
    public func consents(tenant: String, grantedOnly: Bool = false) async throws(StoreError) -> [ConsentRecord] {
        try await read("listing consent") { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT * FROM consent WHERE tenant = ? AND (? = 0 OR granted = 1) ORDER BY user
                """), arguments: [tenant, grantedOnly]).map(Self.consentRecord)
        }
    }

    static func consentRecord(_ row: Row) -> ConsentRecord {
        ConsentRecord(tenant: row["tenant"], user: row["user"], granted: row["granted"], grantedAt: row["granted_at"],
                      revokedAt: row["revoked_at"], updatedAt: row["updated_at"])
    }

    // MARK: Contacts

    /// Adds or replaces contacts in one transaction, all or none. An account already standing for another remote user
    /// is re-pointed; a remote user who already has another account in the tenant is refused (`store.constraint`).
    public func putContacts(_ contacts: [ContactRecord], now: Int64) async throws(StoreError) {
        for contact in contacts {
            try Check.name(contact.tenant, "tenant")
            try Check.name(contact.account, "contact account")
            try Check.name(contact.remote, "contact remote user")
        }
        guard !contacts.isEmpty else { return }
        try await write("storing \(contacts.count) contact(s)") { db in
            let clash = try db.cachedStatement(sql: "SELECT account FROM contact WHERE tenant = ? AND remote = ? AND account <> ?")
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO contact (tenant, account, remote, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (tenant, account) DO UPDATE SET remote = excluded.remote, updated_at = excluded.updated_at
                """)
            for contact in contacts {
                if let other = try String.fetchOne(clash, arguments: [contact.tenant, contact.remote, contact.account]) {
                    throw StoreError(.constraint, "\(contact.remote) already has account \(other) in \(contact.tenant); it cannot also be \(contact.account)")
                }
                try upsert.execute(arguments: [contact.tenant, contact.account, contact.remote, now])
            }
        }
    }

    /// The contact for a native account, or `nil`.
    public func contact(tenant: String, account: String) async throws(StoreError) -> ContactRecord? {
        try await lookup("reading a contact") { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT remote FROM contact WHERE tenant = ? AND account = ?"),
                                arguments: [tenant, account]).map { ContactRecord(tenant: tenant, account: account, remote: $0) }
        }
    }

    /// The contact standing for a remote user, or `nil`.
    public func contact(tenant: String, remote: String) async throws(StoreError) -> ContactRecord? {
        try await lookup("reading a contact") { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT account FROM contact WHERE tenant = ? AND remote = ?"),
                                arguments: [tenant, remote]).map { ContactRecord(tenant: tenant, account: $0, remote: remote) }
        }
    }

    /// How many contacts a tenant has in the store.
    public func contactCount(tenant: String) async throws(StoreError) -> Int {
        try await read("counting contacts") { db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM contact WHERE tenant = ?"), arguments: [tenant]) ?? 0
        }
    }
}
