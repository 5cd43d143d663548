import Foundation
import Logging
import ParleyCrypto
@testable import ParleyNode
import ParleyStore
import Testing

@Suite("Key directory")
struct KeyDirectoryTests {
    struct Fixture {
        let directory: URL
        let store: ParleyStore
        let nodeKey = NodeSigningKey.generate()

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("parley-keys-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            store = try ParleyStore(path: directory.appendingPathComponent("node.sqlite").path)
        }

        func directory(cacheEntries: Int) -> KeyDirectory {
            KeyDirectory(store: store, nodeKey: nodeKey, http: PooledHTTPClient(), cacheEntries: cacheEntries, logger: Logger(label: "test"))
        }

        func close() {
            try? store.close()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    static func uri(_ k: Int) -> String { "mimi://whatsapp.example/u/\(15550000000 + k)" }

    @Test func usersEvictedFromTheCacheKeepTheirKeys() async throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let keys = fixture.directory(cacheEntries: 8)
        var ids: [KeyId] = []
        for k in 0..<40 { ids.append(try await keys.localKeys(tenant: "wa", uri: Self.uri(k)).secret.keyId) }
        #expect(Set(ids).count == 40)
        // User 0 left the cache long ago: the keys come back from the store, not freshly issued.
        for k in [0, 1, 39] {
            let again = try await keys.localKeys(tenant: "wa", uri: Self.uri(k))
            #expect(again.secret.keyId == ids[k])
            #expect(again.bundle.userURI == Self.uri(k))
            #expect(try await keys.localKeys(tenant: "wa", keyId: ids[k])?.bundle.userURI == Self.uri(k))
            #expect(try await keys.publishedBundle(tenant: "wa", uri: Self.uri(k))?.keyId == ids[k])
        }
        #expect(try await fixture.store.keys(tenant: "wa", kind: .userSecret).count == 40)
        #expect(try await keys.publishedBundle(tenant: "wa", uri: Self.uri(99)) == nil)
        #expect(try await keys.localKeys(tenant: "other", keyId: ids[0]) == nil)  // keys belong to their tenant
    }

    @Test func concurrentFirstMessagesOfOneUserIssueOneKeyPair() async throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let keys = fixture.directory(cacheEntries: 8)
        let ids = try await withThrowingTaskGroup(of: KeyId.self) { group in
            for _ in 0..<16 { group.addTask { try await keys.localKeys(tenant: "wa", uri: Self.uri(1)).secret.keyId } }
            return try await group.reduce(into: Set<KeyId>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        #expect(try await fixture.store.keys(tenant: "wa", kind: .userSecret).count == 1)
    }

    @Test func bulkIssuedKeysAreTheOnesTheNodeUsesAndReissuingSkipsThem() async throws {
        let fixture = try Fixture()
        defer { fixture.close() }
        let keyFile = fixture.directory.appendingPathComponent("node.key").path
        try fixture.nodeKey.write(toFile: keyFile)
        let issuer = try UserKeyIssuer(signingKeyFile: keyFile)
        let uris = (0..<2_500).map(Self.uri)
        #expect(try await issuer.issueMissing(store: fixture.store, tenant: "wa", uris: uris, batch: 1_000) == 2_500)
        #expect(try await issuer.issueMissing(store: fixture.store, tenant: "wa", uris: uris + [Self.uri(3_000)]) == 1)

        let keys = fixture.directory(cacheEntries: 8)
        let stored = try #require(try await fixture.store.newestKey(tenant: "wa", kind: .userSecret, owner: Self.uri(1_234)))
        let used = try await keys.localKeys(tenant: "wa", uri: Self.uri(1_234))
        #expect(used.secret.keyId.hex == stored.keyId)
        try used.bundle.verify(nodeKey: fixture.nodeKey.publicKey)

        #expect(throws: NodeError.self) { try UserKeyIssuer(signingKeyFile: fixture.directory.appendingPathComponent("missing.key").path) }
    }
}
