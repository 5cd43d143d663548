import Foundation
import Testing
@testable import ParleyStore

@Suite struct RetentionAndStatsTests {
    @Test func purgeRemovesOnlyOldFinishedRowsAndCiphertext() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let tenant = "a.example"
        try await queue(store, [(1, "A"), (2, "B"), (3, "C"), (4, "D")])
        try await queue(store, [(5, "A")], tenant: "x.example")
        _ = try await store.claimOutbox(tenant: tenant, peer: "b.example", limit: 10, leaseMillis: 100_000, now: 2_000)
        try await store.markOutboxSent(tenant: tenant, envelopeIds: [envelopeId(1)], now: 2_000)      // old, sent
        try await store.deadLetterOutbox(tenant: tenant, [DeadLetter(envelopeId: envelopeId(2), reason: "rejected")], now: 6_000)  // recent, dead
        try await store.markOutboxSent(tenant: tenant, envelopeIds: [envelopeId(5)], now: 2_000)      // other tenant
        // 3 and 4 stay in flight.

        _ = try await store.receive(tenant: tenant, origin: "b.example", transactionId: "t1",
                                    envelopes: [InboundEnvelope(envelopeId: envelopeId(10), conversation: "A", sealed: sealed(10)),
                                                InboundEnvelope(envelopeId: envelopeId(11), conversation: "B", sealed: sealed(11))], now: 1_000)
        _ = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 100_000, now: 1_000)
        try await store.markDelivered(tenant: tenant, key: InboxKey(origin: "b.example", envelopeId: envelopeId(10)), nativeId: "n10", now: 2_000)

        let counts = try await store.purge(tenant: tenant, rowsBefore: 3_000, ciphertextBefore: 7_000)
        #expect(counts.outboxRowsDeleted == 1)        // envelope 1
        #expect(counts.inboxRowsDeleted == 1)         // envelope 10
        #expect(counts.ciphertextsCleared == 1)       // envelope 2 kept without its bytes
        #expect(counts.nativeEventsDeleted == 4)
        #expect(counts.transactionsDeleted == 1)
        #expect(counts.deliveryRecordsDeleted == 1)   // envelope 1's `sent`

        #expect(try await store.outboxEntry(tenant: tenant, envelopeId: envelopeId(1)) == nil)
        let dead = try await store.outboxEntry(tenant: tenant, envelopeId: envelopeId(2))
        #expect(dead?.state == "dead" && dead?.item.sealed == nil)
        #expect(try await store.outboxEntry(tenant: tenant, envelopeId: envelopeId(3))?.item.sealed == sealed(3))
        #expect(try await store.outboxEntry(tenant: "x.example", envelopeId: envelopeId(5)) != nil)
        #expect(try await store.inboxDepth(tenant: tenant) == 1)
        // The bytes live beside the rows (schema v5): none is left behind by a deleted or cleared row.
        #expect(try await store.scalarTexts("SELECT count(*) FROM outbox_body WHERE seq NOT IN (SELECT seq FROM outbox)") == ["0"])
        #expect(try await store.scalarTexts("SELECT count(*) FROM outbox_body") == ["3"])   // 3, 4 and 5
        #expect(try await store.scalarTexts("SELECT count(*) FROM inbox_body WHERE seq NOT IN (SELECT seq FROM inbox)") == ["0"])
        #expect(try await store.scalarTexts("SELECT count(*) FROM inbox_body") == ["1"])    // 11

        let again = try await store.purge(tenant: tenant, rowsBefore: 3_000, ciphertextBefore: 7_000)
        #expect(again == PurgeCounts())
    }

    @Test func statsCountRowsPerPeerAndState() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let tenant = "a.example"
        try await queue(store, [(1, "A"), (2, "B"), (3, "A")], peer: "b.example")
        try await queue(store, [(4, "A")], peer: "c.example")
        _ = try await store.claimOutbox(tenant: tenant, peer: "b.example", limit: 10, leaseMillis: 1_000, now: 2_000)
        try await store.markOutboxSent(tenant: tenant, envelopeIds: [envelopeId(2)], now: 2_100)
        _ = try await store.receive(tenant: tenant, origin: "c.example", transactionId: "t",
                                    envelopes: [InboundEnvelope(envelopeId: envelopeId(9), conversation: "A", sealed: sealed(9))], now: 500)
        try await store.grantConsent(tenant: tenant, user: "alice", now: 1)

        let stats = try await store.stats(tenant: tenant)
        let outbox = Dictionary(uniqueKeysWithValues: stats.outbox.map { ("\($0.peer)/\($0.state)", $0.count) })
        #expect(outbox == ["b.example/inflight": 1, "b.example/pending": 1, "b.example/sent": 1, "c.example/pending": 1])
        #expect(stats.inbox.map { "\($0.peer)/\($0.state)/\($0.count)/\($0.oldest ?? -1)" } == ["c.example/pending/1/500"])
        #expect(stats.delivery == [.queued: 3, .sent: 1])
        #expect(stats.consentsGranted == 1)
        #expect(try await store.stats().map(\.tenant) == [tenant])
        #expect(try await store.tenants() == [tenant])
    }
}
