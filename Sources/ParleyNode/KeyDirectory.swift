import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ParleyCore
import ParleyCrypto
import ParleyStore

/// Users' keys on this node, and the verified key bundles of remote users.
///
/// Local users get their keys on first use; secrets stay in this node's store (keys never leave their operator).
/// Keys are read from the store one user at a time and kept in bounded caches (`limits.key_cache_entries`), so
/// memory and the cost of a lookup do not grow with the number of users the node knows.
/// Remote bundles are fetched from the peer that serves the user's domain and must carry that peer's pinned
/// node signature.
actor KeyDirectory {
    struct LocalKeys: Sendable {
        let secret: UserSecretKeys
        let bundle: UserKeyBundle
    }

    private struct UserRef: Hashable {
        let tenant: String
        let uri: String
    }

    private struct KeyRef: Hashable {
        let tenant: String
        let keyId: KeyId
    }

    private let store: ParleyStore
    private let issuer: UserKeyIssuer
    private let http: PooledHTTPClient
    private let logger: Logger
    /// The newest keys of recently active local users.
    private var local: LRUCache<UserRef, LocalKeys>
    /// Local keys by the id envelopes name (older keys of a user too, while envelopes sealed to them arrive).
    private var localByKeyId: LRUCache<KeyRef, LocalKeys>
    private var creating: [UserRef: Task<LocalKeys, any Error>] = [:]
    private var remote: LRUCache<String, UserKeyBundle>

    init(store: ParleyStore, nodeKey: NodeSigningKey, http: PooledHTTPClient, cacheEntries: Int, logger: Logger) {
        self.store = store
        self.issuer = UserKeyIssuer(nodeKey: nodeKey)
        self.http = http
        self.logger = logger
        self.local = LRUCache(capacity: cacheEntries)
        self.localByKeyId = LRUCache(capacity: cacheEntries)
        self.remote = LRUCache(capacity: cacheEntries)
    }

    /// The keys of local user `uri` of `tenant`, created on first use.
    func localKeys(tenant: String, uri: String) async throws -> LocalKeys {
        let ref = UserRef(tenant: tenant, uri: uri)
        if let keys = local.value(forKey: ref) { return keys }
        // One load-or-create per user at a time, so two first messages cannot issue two key pairs.
        if let task = creating[ref] { return try await task.value }
        let task = Task { [store, issuer] () async throws -> LocalKeys in
            if let stored = try await Self.newestStoredKeys(store: store, tenant: tenant, uri: uri) { return stored }
            let issued = try issuer.issue(tenant: tenant, uri: uri, now: BridgeNode.nowMillis())
            try await store.putKeys(issued.rows)
            return issued.keys
        }
        creating[ref] = task
        defer { creating[ref] = nil }
        let keys = try await task.value
        local.insert(keys, forKey: ref)
        localByKeyId.insert(keys, forKey: KeyRef(tenant: tenant, keyId: keys.secret.keyId))
        return keys
    }

    /// A local user's keys by key id (the ids an envelope names), or `nil`.
    func localKeys(tenant: String, keyId: KeyId) async throws -> LocalKeys? {
        let ref = KeyRef(tenant: tenant, keyId: keyId)
        if let keys = localByKeyId.value(forKey: ref) { return keys }
        guard let secret = try await store.key(tenant: tenant, kind: .userSecret, withId: keyId.hex),
              let keys = try await Self.storedKeys(store: store, secret: secret) else { return nil }
        localByKeyId.insert(keys, forKey: ref)
        return keys
    }

    /// The published bundle of a local user, if they have keys (never creates them).
    func publishedBundle(tenant: String, uri: String) async throws -> UserKeyBundle? {
        if let keys = local.value(forKey: UserRef(tenant: tenant, uri: uri)) { return keys.bundle }
        return try await Self.newestStoredKeys(store: store, tenant: tenant, uri: uri)?.bundle
    }

    private static func newestStoredKeys(store: ParleyStore, tenant: String, uri: String) async throws -> LocalKeys? {
        guard let secret = try await store.newestKey(tenant: tenant, kind: .userSecret, owner: uri) else { return nil }
        return try await storedKeys(store: store, secret: secret)
    }

    /// A stored secret with its bundle; `nil` when the bundle is missing (a half-written pair is never used).
    private static func storedKeys(store: ParleyStore, secret: StoredKey) async throws -> LocalKeys? {
        guard let bundle = try await store.key(tenant: secret.tenant, kind: .userBundle, owner: secret.owner, keyId: secret.keyId) else {
            return nil
        }
        return LocalKeys(secret: try UserSecretKeys(serialized: Array(secret.material)),
                         bundle: try JSONDecoder().decode(UserKeyBundle.self, from: bundle.material))
    }

    /// A remote user's bundle, verified against `peer`'s pinned key; from memory, the store, or the peer.
    func remoteBundle(tenant: String, uri: String, peer: PeerRuntime) async throws -> UserKeyBundle {
        if let bundle = remote.value(forKey: uri) { return bundle }
        let now = BridgeNode.nowMillis()
        if let cached = try await store.cachedPeerBundle(tenant: tenant, peer: peer.config.domain, user: uri, now: now),
           let bundle = try? JSONDecoder().decode(UserKeyBundle.self, from: cached.bundle),
           (try? bundle.verify(nodeKey: peer.publicKey)) != nil {
            remote.insert(bundle, forKey: uri)
            return bundle
        }
        let encoded = uri.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? uri
        let response: HTTPClientAnswer
        do {
            response = try await http.execute(.GET, url: "\(peer.config.url)/v1/keys/\(encoded)", timeout: .seconds(10), maxBodyBytes: 64 * 1024)
        } catch {
            throw Refusal("peer.unreachable", "cannot fetch the key bundle of \(uri) from \(peer.config.domain): \(error)", retryable: true)
        }
        guard response.status == 200 else {
            let retryable = response.status >= 500 || response.status == 429
            throw Refusal(retryable ? "peer.unavailable" : "routing.unknown_recipient", "\(peer.config.domain) answered \(response.status) for the key bundle of \(uri)", retryable: retryable)
        }
        let bundle: UserKeyBundle
        do {
            bundle = try JSONDecoder().decode(UserKeyBundle.self, from: Data(response.body))
        } catch {
            throw Refusal("peer.bad_bundle", "\(peer.config.domain) sent an unreadable key bundle for \(uri)")
        }
        guard bundle.userURI == uri else { throw Refusal("peer.bad_bundle", "\(peer.config.domain) sent a bundle for \(bundle.userURI) when asked for \(uri)") }
        do {
            try bundle.verify(nodeKey: peer.publicKey)
        } catch {
            throw Refusal("envelope.bad_signature", "the key bundle of \(uri) is not signed by the pinned key of \(peer.config.domain)")
        }
        let json = try JSONEncoder().encode(bundle)
        try await store.cachePeerBundle(PeerBundle(tenant: tenant, peer: peer.config.domain, user: uri, bundle: json, fetchedAt: now, expiresAt: now + 86_400_000))
        remote.insert(bundle, forKey: uri)
        return bundle
    }

    /// Whether we already hold a verified bundle (memory or store), without fetching.
    func knownRemoteBundle(uri: String) -> UserKeyBundle? { remote.peek(uri) }
}

/// Issues local users' keys: a fresh key pair and its bundle signed by the node key, as the two store rows that
/// hold them. The node issues keys on a user's first message; `parley users keys issue` does it ahead of time in bulk.
public struct UserKeyIssuer: Sendable {
    let nodeKey: NodeSigningKey

    init(nodeKey: NodeSigningKey) {
        self.nodeKey = nodeKey
    }

    /// An issuer signing with the node key in `signingKeyFile` (the node's `node.signing_key_file`).
    public init(signingKeyFile: String) throws {
        guard FileManager.default.fileExists(atPath: signingKeyFile) else {
            throw NodeError("node.no_signing_key", "\(signingKeyFile) does not exist: start the node once (or run `parley keys generate`) before issuing users' keys")
        }
        self.nodeKey = try NodeSigningKey(contentsOfFile: signingKeyFile)
    }

    func issue(tenant: String, uri: String, now: Int64) throws -> (keys: KeyDirectory.LocalKeys, rows: [StoredKey]) {
        let secret = UserSecretKeys.generate()
        let bundle = UserKeyBundle.issue(userURI: uri, keys: secret, createdAt: now, nodeKey: nodeKey)
        let rows = [
            StoredKey(tenant: tenant, kind: .userSecret, owner: uri, keyId: secret.keyId.hex, material: Data(secret.serialized()), createdAt: now),
            StoredKey(tenant: tenant, kind: .userBundle, owner: uri, keyId: secret.keyId.hex, material: try JSONEncoder().encode(bundle), createdAt: now),
        ]
        return (KeyDirectory.LocalKeys(secret: secret, bundle: bundle), rows)
    }

    /// Issues keys to every user in `uris` who has none yet, in transactions of `batch` users, signing on all cores.
    /// Safe to re-run and to run beside a live node. Returns how many users got keys.
    public func issueMissing(store: ParleyStore, tenant: String, uris: [String], batch: Int = 2_000) async throws -> Int {
        let now = BridgeNode.nowMillis()
        var issued = 0
        for start in stride(from: 0, to: uris.count, by: max(1, batch)) {
            let named = uris[start..<min(start + max(1, batch), uris.count)].filter { !$0.isEmpty }
            let have = try await store.owners(tenant: tenant, kind: .userSecret, among: named)
            let todo = Array(Set(named).subtracting(have)).sorted()
            let rows = try await withThrowingTaskGroup(of: [StoredKey].self) { group in
                let lanes = max(1, ProcessInfo.processInfo.activeProcessorCount)
                for lane in 0..<lanes {
                    group.addTask {
                        var rows: [StoredKey] = []
                        for index in stride(from: lane, to: todo.count, by: lanes) {
                            rows += try issue(tenant: tenant, uri: todo[index], now: now).rows
                        }
                        return rows
                    }
                }
                return try await group.reduce(into: [StoredKey]()) { $0 += $1 }
            }
            try await store.putKeys(rows)
            issued += todo.count
        }
        return issued
    }
}
