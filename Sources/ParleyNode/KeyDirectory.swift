import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ParleyCrypto
import ParleyStore

/// Users' keys on this node, and the verified key bundles of remote users.
///
/// Local users get their keys on first use; secrets stay in this node's store (keys never leave their operator).
/// Remote bundles are fetched from the peer that serves the user's domain and must carry that peer's pinned
/// node signature.
actor KeyDirectory {
    struct LocalKeys: Sendable {
        let secret: UserSecretKeys
        let bundle: UserKeyBundle
    }

    private let store: ParleyStore
    private let nodeKey: NodeSigningKey
    private let http: HTTPClient
    private let logger: Logger
    private var local: [String: LocalKeys] = [:]
    private var localByKeyId: [KeyId: LocalKeys] = [:]
    private var creating: [String: Task<LocalKeys, any Error>] = [:]
    private var remote: [String: UserKeyBundle] = [:]
    private var loadedTenants: Set<String> = []

    init(store: ParleyStore, nodeKey: NodeSigningKey, http: HTTPClient, logger: Logger) {
        self.store = store
        self.nodeKey = nodeKey
        self.http = http
        self.logger = logger
    }

    /// The keys of local user `uri` of `tenant`, created on first use.
    func localKeys(tenant: String, uri: String) async throws -> LocalKeys {
        try await loadTenant(tenant)
        if let keys = local[uri] { return keys }
        if let task = creating[uri] { return try await task.value }
        let task = Task { [store, nodeKey] () async throws -> LocalKeys in
            let secret = UserSecretKeys.generate()
            let now = BridgeNode.nowMillis()
            let bundle = UserKeyBundle.issue(userURI: uri, keys: secret, createdAt: now, nodeKey: nodeKey)
            let bundleJSON = try JSONEncoder().encode(bundle)
            try await store.putKey(StoredKey(tenant: tenant, kind: .userSecret, owner: uri, keyId: secret.keyId.hex, material: Data(secret.serialized()), createdAt: now))
            try await store.putKey(StoredKey(tenant: tenant, kind: .userBundle, owner: uri, keyId: secret.keyId.hex, material: bundleJSON, createdAt: now))
            return LocalKeys(secret: secret, bundle: bundle)
        }
        creating[uri] = task
        defer { creating[uri] = nil }
        let keys = try await task.value
        local[uri] = keys
        localByKeyId[keys.secret.keyId] = keys
        return keys
    }

    /// A local user's keys by key id (the ids an envelope names), or `nil`.
    func localKeys(tenant: String, keyId: KeyId) async throws -> LocalKeys? {
        try await loadTenant(tenant)
        return localByKeyId[keyId]
    }

    /// The published bundle of a local user, if they have keys (never creates them: a peer asking must not
    /// make users appear).
    func publishedBundle(tenant: String, uri: String) async throws -> UserKeyBundle? {
        try await loadTenant(tenant)
        return local[uri]?.bundle
    }

    private func loadTenant(_ tenant: String) async throws {
        guard !loadedTenants.contains(tenant) else { return }
        let secrets = try await store.keys(tenant: tenant, kind: .userSecret)
        let bundles = try await store.keys(tenant: tenant, kind: .userBundle)
        var bundleByKey: [String: UserKeyBundle] = [:]
        for stored in bundles {
            bundleByKey[stored.keyId] = try JSONDecoder().decode(UserKeyBundle.self, from: stored.material)
        }
        for stored in secrets {
            guard let bundle = bundleByKey[stored.keyId] else { continue }
            let secret = try UserSecretKeys(serialized: Array(stored.material))
            let keys = LocalKeys(secret: secret, bundle: bundle)
            // The newest key of a user wins.
            if let existing = local[stored.owner], existing.bundle.createdAt > bundle.createdAt { continue }
            local[stored.owner] = keys
            localByKeyId[secret.keyId] = keys
        }
        loadedTenants.insert(tenant)
    }

    /// A remote user's bundle, verified against `peer`'s pinned key; from memory, the store, or the peer.
    func remoteBundle(tenant: String, uri: String, peer: PeerRuntime) async throws -> UserKeyBundle {
        if let bundle = remote[uri] { return bundle }
        let now = BridgeNode.nowMillis()
        if let cached = try await store.cachedPeerBundle(tenant: tenant, peer: peer.config.domain, user: uri, now: now),
           let bundle = try? JSONDecoder().decode(UserKeyBundle.self, from: cached.bundle),
           (try? bundle.verify(nodeKey: peer.publicKey)) != nil {
            remote[uri] = bundle
            return bundle
        }
        let encoded = uri.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? uri
        var request = HTTPClientRequest(url: "\(peer.config.url)/v1/keys/\(encoded)")
        request.method = .GET
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(10))
        } catch {
            throw Refusal("peer.unreachable", "cannot fetch the key bundle of \(uri) from \(peer.config.domain): \(error)", retryable: true)
        }
        let body = try await response.body.collect(upTo: 64 * 1024)
        guard response.status == .ok else {
            let retryable = response.status.code >= 500 || response.status.code == 429
            throw Refusal(retryable ? "peer.unavailable" : "routing.unknown_recipient", "\(peer.config.domain) answered \(response.status.code) for the key bundle of \(uri)", retryable: retryable)
        }
        let bundle: UserKeyBundle
        do {
            bundle = try JSONDecoder().decode(UserKeyBundle.self, from: Data(body.readableBytesView))
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
        remote[uri] = bundle
        return bundle
    }

    /// Whether we already hold a verified bundle (memory or store), without fetching.
    func knownRemoteBundle(uri: String) -> UserKeyBundle? { remote[uri] }
}
