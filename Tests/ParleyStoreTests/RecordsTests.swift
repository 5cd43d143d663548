import Foundation
import Testing
@testable import ParleyStore

@Suite struct RecordsTests {
    @Test func idMapLooksUpBothWaysAndKeepsTheFirstMapping() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let wa = IdMapping(app: "whatsapp", conversation: "1555", nativeId: "wamid.X", canonicalId: canonicalId(7))
        let ig = IdMapping(app: "instagram", conversation: "ig-1", nativeId: "aWdf", canonicalId: canonicalId(7))
        #expect(try await store.recordIdMappings(tenant: "a.example", [wa, ig], now: 10) == [wa, ig])
        var moved = wa
        moved.canonicalId = canonicalId(8)
        #expect(try await store.recordIdMappings(tenant: "a.example", [moved], now: 11).isEmpty)

        #expect(try await store.canonicalId(tenant: "a.example", app: "whatsapp", conversation: "1555", nativeId: "wamid.X") == canonicalId(7))
        #expect(try await store.canonicalId(tenant: "x.example", app: "whatsapp", conversation: "1555", nativeId: "wamid.X") == nil)
        #expect(Set(try await store.nativeIds(tenant: "a.example", canonicalId: canonicalId(7))) == [wa, ig])
        #expect(try await store.nativeIds(tenant: "a.example", canonicalId: canonicalId(7), app: "instagram") == [ig])

        let short = IdMapping(app: "whatsapp", conversation: "1555", nativeId: "n", canonicalId: Data(count: 16))
        let error = await #expect(throws: StoreError.self) { try await store.recordIdMappings(tenant: "a.example", [short], now: 1) }
        #expect(error?.code == .invalidArgument)
    }

    @Test func messagesDeliveredInATimeRangeAreFoundPerConversationOldestFirst() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let delivered = (1...6).map { n in
            IdMapping(app: "messenger", conversation: n % 2 == 0 ? "psid-a" : "psid-b", nativeId: "m_\(n)", canonicalId: canonicalId(n),
                      deliveredAt: 10_000 - Int64(n) * 1_000)
        }
        let cameFromTheApp = IdMapping(app: "messenger", conversation: "psid-a", nativeId: "m_own", canonicalId: canonicalId(9))
        _ = try await store.recordIdMappings(tenant: "a.example", delivered + [cameFromTheApp], now: 1)

        // psid-a has m_2 (8,000), m_4 (6,000), m_6 (4,000); a watermark at 7,000 covers m_6 and m_4, oldest first.
        let read = try await store.deliveredMessages(tenant: "a.example", app: "messenger", conversation: "psid-a",
                                                     deliveredFrom: 0, through: 7_000, limit: 100)
        #expect(read.map(\.nativeId) == ["m_6", "m_4"])
        #expect(read.first?.deliveredAt == 4_000)
        #expect(try await store.deliveredMessages(tenant: "a.example", app: "messenger", conversation: "psid-a",
                                                  deliveredFrom: 5_000, through: 9_000, limit: 1).map(\.nativeId) == ["m_4"])
        #expect(try await store.deliveredMessages(tenant: "a.example", app: "instagram", conversation: "psid-a",
                                                  deliveredFrom: 0, through: 20_000, limit: 100).isEmpty)
        // A message that came from the app was never delivered into it, so no watermark covers it.
        #expect(try await store.deliveredMessages(tenant: "a.example", app: "messenger", conversation: "psid-a",
                                                  deliveredFrom: 0, through: .max, limit: 100).map(\.nativeId) == ["m_6", "m_4", "m_2"])
        #expect(try await store.nativeIds(tenant: "a.example", canonicalId: canonicalId(9)).first?.deliveredAt == nil)
        await #expect(throws: StoreError.self) {
            try await store.deliveredMessages(tenant: "a.example", app: "messenger", conversation: "psid-a", deliveredFrom: 0, through: 1, limit: 0)
        }
    }

    @Test func deliveryStateOnlyMovesForward() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let messages = [1, 2].map { IdMapping(app: "whatsapp", conversation: "c1", nativeId: "wamid.\($0)", canonicalId: canonicalId($0)) }
        _ = try await store.ingest(event("e1", envelopes: [envelope(1, peer: "b.example"), envelope(2, peer: "c.example")], mappings: messages))
        let id = envelopeId(1)
        #expect(try await store.markOutboxSent(tenant: "a.example", envelopeIds: [id], now: 2_000) == 1)
        #expect(try await store.recordDeliveryStatus(tenant: "a.example", envelopeId: id, status: .read, now: 3_000))
        #expect(try await !store.recordDeliveryStatus(tenant: "a.example", envelopeId: id, status: .delivered, now: 3_100))
        #expect(try await !store.recordDeliveryStatus(tenant: "a.example", envelopeId: id, status: .failed, reason: "x", now: 3_200))
        let record = try await store.deliveryRecord(tenant: "a.example", envelopeId: id)
        #expect(record?.status == .read)
        #expect(record?.updatedAt == 3_000)
        #expect(try await !store.recordDeliveryStatus(tenant: "a.example", envelopeId: envelopeId(99), status: .read, now: 1))

        // Receipts name messages: update by (peer, canonical id).
        #expect(try await store.recordDeliveryStatus(tenant: "a.example", peer: "c.example", canonicalId: canonicalId(2),
                                                     status: .delivered, now: 4_000) == 1)
        #expect(try await store.recordDeliveryStatus(tenant: "a.example", peer: "c.example", canonicalId: canonicalId(1),
                                                     status: .delivered, now: 4_000) == 0)
        #expect(try await store.deliveryRecords(tenant: "a.example", canonicalId: canonicalId(2)).map(\.status) == [.delivered])
        // Found by message only through the message's id map row: an envelope queued without one is not.
        _ = try await store.ingest(event("e2", envelopes: [envelope(3, peer: "c.example")]))
        #expect(try await store.deliveryRecords(tenant: "a.example", canonicalId: canonicalId(3)).isEmpty)
        #expect(try await store.deliveryRecord(tenant: "a.example", envelopeId: envelopeId(3))?.status == .queued)
        // The outbox has no index by canonical id: the lookup goes through the id map's.
        let plan = try await store.queryPlan(ParleyStore.deliveryByMessageSQL.replacing("?", with: "NULL"))
        #expect(plan.joined(separator: " | ").contains("id_map_canonical"))
        #expect(try await store.scalarTexts("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' AND sql LIKE '%canonical_id%'").isEmpty)
    }

    @Test func aDeliveryRecordFollowsItsOutboxRowUntilAReceiptOutranksIt() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let tenant = "a.example"
        _ = try await store.ingest(event("e1", envelopes: [envelope(1), envelope(2), envelope(3), envelope(4, conversation: "c2")]))
        func record(_ n: Int) async throws -> DeliveryRecord? { try await store.deliveryRecord(tenant: tenant, envelopeId: envelopeId(n)) }

        #expect(try await record(1)?.status == .queued)
        _ = try await store.claimOutbox(tenant: tenant, peer: "b.example", limit: 10, leaseMillis: 1_000, now: 1_500)
        #expect(try await record(1)?.status == .queued, "in flight is still queued")

        // A receipt can overtake the "sent" mark; the mark then changes nothing the record shows.
        #expect(try await store.recordDeliveryStatus(tenant: tenant, envelopeId: envelopeId(1), status: .delivered, now: 1_600))
        try await store.markOutboxSent(tenant: tenant, envelopeIds: [envelopeId(1), envelopeId(4)], now: 1_700)
        #expect(try await record(1).map { [$0.status.rawValue, "\($0.updatedAt)"] } == ["delivered", "1600"])
        #expect(try await record(4).map { [$0.status.rawValue, "\($0.updatedAt)"] } == ["sent", "1700"])

        // Dead-lettered: failed with the reason; a later receipt cannot revive it.
        try await store.deadLetterOutbox(tenant: tenant, [DeadLetter(envelopeId: envelopeId(2), reason: "policy.too_large")], now: 1_800)
        #expect(try await record(2).map { [$0.status.rawValue, $0.reason ?? ""] } == ["failed", "policy.too_large"])
        #expect(try await !store.recordDeliveryStatus(tenant: tenant, envelopeId: envelopeId(2), status: .read, now: 1_900))

        // A peer's failure receipt on a sent row carries its own reason.
        #expect(try await store.recordDeliveryStatus(tenant: tenant, envelopeId: envelopeId(4), status: .failed, reason: "native.blocked", now: 2_000))
        #expect(try await record(4).map { [$0.status.rawValue, $0.reason ?? ""] } == ["failed", "native.blocked"])

        // A caller may record "sent" ahead of the row; dead-lettering then still fails it.
        #expect(try await store.recordDeliveryStatus(tenant: tenant, envelopeId: envelopeId(3), status: .sent, now: 2_100))
        #expect(try await record(3)?.status == .sent)
        try await store.deadLetterOutbox(tenant: tenant, [DeadLetter(envelopeId: envelopeId(3), reason: "expired")], now: 2_200)
        #expect(try await record(3).map { [$0.status.rawValue, $0.reason ?? ""] } == ["failed", "expired"])

        let stats = try await store.stats(tenant: tenant)
        #expect(stats.delivery == [.delivered: 1, .failed: 3])
    }

    @Test func keysAreStoredPerTenantKindOwnerAndId() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await store.putKey(StoredKey(tenant: "a.example", kind: .nodeSecret, keyId: "ed25519:1", material: Data([1, 2, 3]), createdAt: 10))
        try await store.putKey(StoredKey(tenant: "a.example", kind: .userSecret, owner: "alice", keyId: "k1", material: Data([4]), createdAt: 11))
        try await store.putKey(StoredKey(tenant: "a.example", kind: .userSecret, owner: "bob", keyId: "k1", material: Data([5]), createdAt: 12))
        try await store.putKey(StoredKey(tenant: "x.example", kind: .nodeSecret, keyId: "ed25519:1", material: Data([9]), createdAt: 13))
        // Replacing keeps createdAt and updates the material.
        try await store.putKey(StoredKey(tenant: "a.example", kind: .nodeSecret, keyId: "ed25519:1", material: Data([7]), createdAt: 99, updatedAt: 100))

        let node = try await store.key(tenant: "a.example", kind: .nodeSecret, keyId: "ed25519:1")
        #expect(node?.material == Data([7]))
        #expect(node?.createdAt == 10)
        #expect(node?.updatedAt == 100)
        #expect(try await store.key(tenant: "x.example", kind: .nodeSecret, keyId: "ed25519:1")?.material == Data([9]))
        #expect(try await store.keys(tenant: "a.example", kind: .userSecret).map(\.owner) == ["alice", "bob"])
        #expect(try await store.keys(tenant: "a.example", kind: .userSecret, owner: "bob").map(\.material) == [Data([5])])
        #expect(try await store.deleteKey(tenant: "a.example", kind: .userSecret, owner: "bob", keyId: "k1"))
        #expect(try await !store.deleteKey(tenant: "a.example", kind: .userSecret, owner: "bob", keyId: "k1"))
    }

    @Test func userKeysAreFoundByOwnerNewestFirstAndByIdAlone() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await store.putKeys([
            StoredKey(tenant: "a.example", kind: .userSecret, owner: "alice", keyId: "old", material: Data([1]), createdAt: 10),
            StoredKey(tenant: "a.example", kind: .userSecret, owner: "alice", keyId: "new", material: Data([2]), createdAt: 20),
            StoredKey(tenant: "a.example", kind: .userBundle, owner: "alice", keyId: "new", material: Data([3]), createdAt: 20),
            StoredKey(tenant: "x.example", kind: .userSecret, owner: "alice", keyId: "other", material: Data([4]), createdAt: 30),
        ])
        #expect(try await store.newestKey(tenant: "a.example", kind: .userSecret, owner: "alice")?.keyId == "new")
        #expect(try await store.newestKey(tenant: "a.example", kind: .userSecret, owner: "bob") == nil)
        #expect(try await store.key(tenant: "a.example", kind: .userSecret, withId: "old")?.material == Data([1]))
        #expect(try await store.key(tenant: "a.example", kind: .userBundle, withId: "new")?.owner == "alice")
        #expect(try await store.key(tenant: "a.example", kind: .userSecret, withId: "other") == nil)  // another tenant's
    }

    @Test func bulkKeyWriteIsAllOrNothing() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let error = await #expect(throws: StoreError.self) {
            try await store.putKeys([
                StoredKey(tenant: "a.example", kind: .userSecret, owner: "alice", keyId: "k1", material: Data([1]), createdAt: 1),
                StoredKey(tenant: "a.example", kind: .userSecret, owner: "bob", keyId: "k2", material: Data(), createdAt: 1),
            ])
        }
        #expect(error?.code == .invalidArgument)
        #expect(try await store.keys(tenant: "a.example", kind: .userSecret).isEmpty)
    }

    @Test func bulkConsentGrantRecordsEveryUserOnce() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await store.grantConsent(tenant: "a.example", user: "u0", now: 5)
        try await store.grantConsent(tenant: "a.example", users: (0..<1_000).map { "u\($0)" }, now: 10)
        let records = try await store.consents(tenant: "a.example", grantedOnly: true)
        #expect(records.count == 1_000)
        #expect(records.first { $0.user == "u0" }?.grantedAt == 5)  // the earlier grant keeps its time
        #expect(records.first { $0.user == "u999" }?.grantedAt == 10)
        await #expect(throws: StoreError.self) { try await store.grantConsent(tenant: "a.example", users: ["ok", ""], now: 20) }
        #expect(try await !store.hasConsent(tenant: "a.example", user: "ok"))
    }

    @Test func contactsAreFoundByAccountAndByRemoteUser() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let bob = "mimi://messenger.example/u/bob", carol = "mimi://messenger.example/u/carol"
        try await store.putContacts([ContactRecord(tenant: "wa", account: "100", remote: bob),
                                     ContactRecord(tenant: "wa", account: "200", remote: carol),
                                     ContactRecord(tenant: "ig", account: "100", remote: carol)], now: 1)
        #expect(try await store.contact(tenant: "wa", account: "100")?.remote == bob)
        #expect(try await store.contact(tenant: "wa", remote: carol)?.account == "200")
        #expect(try await store.contact(tenant: "ig", remote: carol)?.account == "100")
        #expect(try await store.contact(tenant: "wa", account: "300") == nil)
        #expect(try await store.contactCount(tenant: "wa") == 2)

        // Re-pointing an account is allowed; giving a remote user a second account is not, and writes nothing.
        let dave = "mimi://messenger.example/u/dave"
        try await store.putContacts([ContactRecord(tenant: "wa", account: "100", remote: dave)], now: 2)
        #expect(try await store.contact(tenant: "wa", account: "100")?.remote == dave)
        #expect(try await store.contact(tenant: "wa", remote: bob) == nil)
        let clash = await #expect(throws: StoreError.self) {
            try await store.putContacts([ContactRecord(tenant: "wa", account: "400", remote: bob),
                                         ContactRecord(tenant: "wa", account: "500", remote: carol)], now: 3)
        }
        #expect(clash?.code == .constraint)
        #expect(clash?.message.contains("200") == true)
        #expect(try await store.contact(tenant: "wa", account: "400") == nil)
    }

    @Test func peerBundleCacheServesOnlyFreshBundles() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await store.cachePeerBundle(PeerBundle(tenant: "a.example", peer: "b.example", user: "bob", bundle: Data([1]), fetchedAt: 100, expiresAt: 200))
        #expect(try await store.cachedPeerBundle(tenant: "a.example", peer: "b.example", user: "bob", now: 199)?.bundle == Data([1]))
        #expect(try await store.cachedPeerBundle(tenant: "a.example", peer: "b.example", user: "bob", now: 200) == nil)
        try await store.cachePeerBundle(PeerBundle(tenant: "a.example", peer: "b.example", user: "bob", bundle: Data([2]), fetchedAt: 300, expiresAt: 400))
        #expect(try await store.cachedPeerBundle(tenant: "a.example", peer: "b.example", user: "bob", now: 350)?.bundle == Data([2]))
        #expect(try await store.evictPeerBundles(tenant: "a.example", peer: "b.example") == 1)
        #expect(try await store.cachedPeerBundle(tenant: "a.example", peer: "b.example", user: "bob", now: 350) == nil)
    }

    @Test func consentIsOffUntilGrantedAndCanBeRevoked() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        #expect(try await !store.hasConsent(tenant: "a.example", user: "alice"))
        #expect(try await !store.revokeConsent(tenant: "a.example", user: "alice", now: 5))

        try await store.grantConsent(tenant: "a.example", user: "alice", now: 10)
        try await store.grantConsent(tenant: "a.example", user: "alice", now: 20)  // keeps the first grant time
        try await store.grantConsent(tenant: "a.example", user: "bob", now: 30)
        #expect(try await store.hasConsent(tenant: "a.example", user: "alice"))
        #expect(try await !store.hasConsent(tenant: "x.example", user: "alice"))
        #expect(try await store.consent(tenant: "a.example", user: "alice")?.grantedAt == 10)

        #expect(try await store.revokeConsent(tenant: "a.example", user: "alice", now: 40))
        #expect(try await !store.hasConsent(tenant: "a.example", user: "alice"))
        let alice = try await store.consent(tenant: "a.example", user: "alice")
        #expect(alice?.revokedAt == 40 && alice?.granted == false)
        #expect(try await store.consents(tenant: "a.example").map(\.user) == ["alice", "bob"])
        #expect(try await store.consents(tenant: "a.example", grantedOnly: true).map(\.user) == ["bob"])

        #expect(try await store.consentingUsers(tenant: "a.example", among: ["alice", "bob", "carol"]) == ["bob"])
        #expect(try await store.consentingUsers(tenant: "x.example", among: ["bob"]).isEmpty)
        #expect(try await store.consentingUsers(tenant: "a.example", among: [String]()).isEmpty)

        try await store.grantConsent(tenant: "a.example", user: "alice", now: 50)
        #expect(try await store.consent(tenant: "a.example", user: "alice")?.grantedAt == 50)
        #expect(try await store.consentingUsers(tenant: "a.example", among: Set(["alice", "bob", "carol"])) == ["alice", "bob"])
    }
}
