import Foundation
import Testing
@testable import ParleyStore

@Suite struct InboxTests {
    let tenant = "b.example"

    func inbound(_ n: Int, conversation: String = "c1") -> InboundEnvelope {
        InboundEnvelope(envelopeId: envelopeId(n), conversation: conversation, sealed: sealed(n))
    }

    @Test func receivingIsIdempotentPerTransactionAndPerEnvelope() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }

        let first = try await store.receive(tenant: tenant, origin: "a.example", transactionId: "t1",
                                            envelopes: [inbound(1), inbound(2)], now: 1_000)
        #expect(first.transactionWasNew)
        #expect(first.outcomes.map(\.acceptance) == [.accepted, .accepted])

        let replay = try await store.receive(tenant: tenant, origin: "a.example", transactionId: "t1",
                                             envelopes: [inbound(1), inbound(2)], now: 1_100)
        #expect(!replay.transactionWasNew)
        #expect(replay.outcomes.map(\.acceptance) == [.duplicate, .duplicate])

        let overlap = try await store.receive(tenant: tenant, origin: "a.example", transactionId: "t2",
                                              envelopes: [inbound(2), inbound(3), inbound(3)], now: 1_200)
        #expect(overlap.transactionWasNew)
        #expect(overlap.outcomes.map(\.acceptance) == [.duplicate, .accepted, .duplicate])
        #expect(overlap.outcomes.map(\.envelopeId) == [envelopeId(2), envelopeId(3), envelopeId(3)])

        // Another origin cannot shadow a.example's envelope ids, and its txn ids are its own.
        let other = try await store.receive(tenant: tenant, origin: "c.example", transactionId: "t1",
                                            envelopes: [inbound(1)], now: 1_300)
        #expect(other.transactionWasNew)
        #expect(other.outcomes.map(\.acceptance) == [.accepted])
        #expect(try await store.hasReceivedTransaction(tenant: tenant, origin: "a.example", transactionId: "t2"))
        #expect(try await !store.hasReceivedTransaction(tenant: tenant, origin: "a.example", transactionId: "t3"))
        #expect(try await store.inboxDepth(tenant: tenant) == 4)
        #expect(try await store.inboxDepth(tenant: tenant, origin: "a.example") == 3)
    }

    @Test func egressDeliversInConversationOrderAndWritesTheIdMapWithIt() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        _ = try await store.receive(tenant: tenant, origin: "a.example", transactionId: "t1",
                                    envelopes: [inbound(1, conversation: "A"), inbound(2, conversation: "B"),
                                                inbound(3, conversation: "A")], now: 1_000)

        let claim = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 30_000, now: 1_000)
        #expect(claim.items.numbers == [1, 2])
        #expect(claim.items.first?.sealed == sealed(1))

        let mapping = IdMapping(app: "messenger", conversation: "psid-9", nativeId: "m_1", canonicalId: canonicalId(1))
        let key = InboxKey(origin: "a.example", envelopeId: envelopeId(1))
        #expect(try await store.markDelivered(tenant: tenant, key: key, nativeId: "m_1", mapping: mapping, now: 1_100))
        #expect(try await !store.markDelivered(tenant: tenant, key: key, nativeId: "m_1-again", now: 1_101))
        #expect(try await store.canonicalId(tenant: tenant, app: "messenger", conversation: "psid-9", nativeId: "m_1") == canonicalId(1))
        let entry = try await store.inboxEntry(tenant: tenant, key: key)
        #expect(entry?.state == "delivered")
        #expect(entry?.nativeId == "m_1")
        // Held in any state, per origin and tenant: what a retried transaction is checked against.
        let unknown = InboxKey(origin: "a.example", envelopeId: envelopeId(9))
        let otherOrigin = InboxKey(origin: "c.example", envelopeId: envelopeId(2))
        let key2 = InboxKey(origin: "a.example", envelopeId: envelopeId(2))
        #expect(try await store.existingInboxKeys(tenant: tenant, among: [key, key2, unknown, otherOrigin]) == [key, key2])
        #expect(try await store.existingInboxKeys(tenant: "other.example", among: [key]).isEmpty)

        // Row 3 follows 1 now; the delivered row is never handed out again, not even after its lease time.
        let next = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 30_000, now: 99_000)
        #expect(next.items.numbers.sorted() == [2, 3])
        #expect(next.items.first { $0.key.envelopeId == envelopeId(2) }?.previousClaimUnresolved == true)
    }

    @Test func aClaimRecordsThePreviousPassDeliveriesFirstAndHandsOutTheRowsBehindThem() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        _ = try await store.receive(tenant: tenant, origin: "a.example", transactionId: "t1",
                                    envelopes: [inbound(1, conversation: "A"), inbound(2, conversation: "B"),
                                                inbound(3, conversation: "A"), inbound(4, conversation: "B")], now: 1_000)
        let first = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 30_000, now: 1_000)
        #expect(first.items.numbers == [1, 2])
        #expect(first.markedDelivered.isEmpty)

        // Row 1 was accepted by the app, row 2 not yet: the next claim records 1 and hands out 3, its successor,
        // while B waits behind 2, still in flight.
        let key1 = InboxKey(origin: "a.example", envelopeId: envelopeId(1))
        let mapping = IdMapping(app: "messenger", conversation: "psid-9", nativeId: "m_1", canonicalId: canonicalId(1))
        let second = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 30_000, now: 1_100,
                                                markingDelivered: [InboxDelivery(key: key1, nativeId: "m_1", mapping: mapping)])
        #expect(second.markedDelivered == [true])
        #expect(second.items.numbers == [3])
        let entry = try await store.inboxEntry(tenant: tenant, key: key1)
        #expect(entry?.state == "delivered")
        #expect(entry?.nativeId == "m_1")
        #expect(try await store.canonicalId(tenant: tenant, app: "messenger", conversation: "psid-9", nativeId: "m_1") == canonicalId(1))

        // Recording a finished row again changes nothing and says so; a malformed delivery fails the claim before
        // it writes anything, so row 2's record in the same call is not written either.
        let key2 = InboxKey(origin: "a.example", envelopeId: envelopeId(2))
        let again = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 30_000, now: 1_200,
                                               markingDelivered: [InboxDelivery(key: key1, nativeId: "m_1-again")])
        #expect(again.markedDelivered == [false])
        #expect(again.items.isEmpty)
        #expect(try await store.inboxEntry(tenant: tenant, key: key1)?.nativeId == "m_1")
        await #expect(throws: StoreError.self) {
            try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 30_000, now: 1_300,
                                       markingDelivered: [InboxDelivery(key: key2, nativeId: "m_2"),
                                                          InboxDelivery(key: InboxKey(origin: "a.example", envelopeId: Data()), nativeId: "m_x")])
        }
        #expect(try await store.inboxEntry(tenant: tenant, key: key2)?.state == "inflight")
        #expect(throws: StoreError.self) { try ParleyStore.validate(InboxDelivery(key: key2, nativeId: "")) }
    }

    @Test func aBatchOfDeliveriesTellsForEachWhetherItChangedTheRowAndWritesEachMappingOnce() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        // 150 rows: the records go out in chunks of 64, 64, 16 and 8 (the last padded), past every chunk size.
        _ = try await store.receive(tenant: tenant, origin: "a.example", transactionId: "t1",
                                    envelopes: (1...150).map { inbound($0, conversation: "c\($0 % 7)") }, now: 1_000)
        let key = { (n: Int) in InboxKey(origin: "a.example", envelopeId: envelopeId(n)) }
        func mappings(_ n: Int) -> [IdMapping] {
            // A message the app took as two native messages (e.g. text and an attachment sent apart).
            [IdMapping(app: "messenger", conversation: "psid-\(n % 7)", nativeId: "m_\(n)", canonicalId: canonicalId(n), deliveredAt: 1_100),
             IdMapping(app: "messenger", conversation: "psid-\(n % 7)", nativeId: "m_\(n)-2", canonicalId: canonicalId(n), deliveredAt: 1_100)]
        }
        _ = try await store.markDelivered(tenant: tenant, key: key(5), nativeId: "m_5-earlier", now: 1_050)
        var deliveries = (1...140).map { InboxDelivery(key: key($0), nativeId: "m_\($0)", mappings: mappings($0)) }
        deliveries.insert(InboxDelivery(key: key(7), nativeId: "m_7-twice", mappings: mappings(7)), at: 20)   // named twice
        deliveries.append(InboxDelivery(key: InboxKey(origin: "z.example", envelopeId: envelopeId(1)), nativeId: "m_z"))  // no such row
        let changed = try await store.markDeliveredEach(tenant: tenant, deliveries, now: 1_100)
        let expected = deliveries.enumerated().map { index, delivery in
            delivery.key.origin == "a.example" && delivery.key != key(5) && !(delivery.key == key(7) && index == 20)
        }
        #expect(changed == expected)
        #expect(try await store.inboxEntry(tenant: tenant, key: key(7))?.nativeId == "m_7", "the first record of a row wins")
        #expect(try await store.inboxEntry(tenant: tenant, key: key(5))?.nativeId == "m_5-earlier", "a finished row stays as it was")
        #expect(try await store.inboxEntry(tenant: tenant, key: key(140))?.state == "delivered")
        #expect(try await store.inboxEntry(tenant: tenant, key: key(141))?.state == "pending")
        // Each changed row's two mappings, once; none for the rows that did not change.
        #expect(try await store.scalarTexts("SELECT count(*) FROM id_map") == ["\(2 * 139)"])
        #expect(try await store.canonicalId(tenant: tenant, app: "messenger", conversation: "psid-3", nativeId: "m_3") == canonicalId(3))
        #expect(try await store.canonicalId(tenant: tenant, app: "messenger", conversation: "psid-5", nativeId: "m_5") == nil)
        #expect(try await store.nativeIds(tenant: tenant, canonicalId: canonicalId(140)).map(\.nativeId).sorted() == ["m_140", "m_140-2"])
    }

    @Test func aRowClaimedBeforeACrashComesBackWithItsAttemptCount() async throws {
        let dir = try TempDir()
        var store = try ParleyStore(path: dir.path())
        _ = try await store.receive(tenant: tenant, origin: "a.example", transactionId: "t1", envelopes: [inbound(1)], now: 1_000)
        let first = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 10_000, now: 1_000)
        #expect(first.items.first?.attempt == 1)
        try store.close()  // crash after (maybe) calling the app, before markDelivered

        store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        #expect(try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 10_000, now: 10_999).items.isEmpty)
        let again = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 10_000, now: 11_000)
        #expect(again.items.numbers == [1])
        #expect(again.items.first?.attempt == 2)
        #expect(again.items.first?.previousClaimUnresolved == true)
    }

    @Test func retryWaitsAndFailureIsTerminalWithItsReason() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        _ = try await store.receive(tenant: tenant, origin: "a.example", transactionId: "t1",
                                    envelopes: [inbound(1), inbound(2)], now: 1_000)
        let claim = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 10_000, now: 1_000)
        let key1 = InboxKey(origin: "a.example", envelopeId: envelopeId(1))
        #expect(try await store.scheduleInboxRetry(tenant: tenant, leaseToken: claim.leaseToken,
                                                   retries: [InboxRetry(key: key1, nextAttemptAt: 5_000, error: "429")], now: 1_100) == 1)
        #expect(try await store.scheduleInboxRetry(tenant: tenant, leaseToken: "not-the-token",
                                                   retries: [InboxRetry(key: key1, nextAttemptAt: 0, error: "x")], now: 1_100) == 0)
        #expect(try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 10_000, now: 4_999).items.isEmpty)
        let retried = try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 10_000, now: 5_000)
        #expect(retried.items.first?.attempt == 2)
        #expect(retried.items.first?.lastError == "429")

        #expect(try await store.markInboxFailed(tenant: tenant, failures: [InboxFailure(key: key1, reason: "app.rejected", detail: "131051")], now: 5_100) == 1)
        let entry = try await store.inboxEntry(tenant: tenant, key: key1)
        #expect(entry?.state == "failed")
        #expect(entry?.failReason == "app.rejected")
        #expect(try await store.claimInbox(tenant: tenant, limit: 10, leaseMillis: 10_000, now: 5_200).items.numbers == [2])
        #expect(try await store.inboxDepth(tenant: tenant) == 1)

        // A delivery the app answers without an id (a receipt, typing) still completes the row.
        let key2 = InboxKey(origin: "a.example", envelopeId: envelopeId(2))
        #expect(try await store.markDelivered(tenant: tenant, key: key2, nativeId: nil, now: 5_300))
        #expect(try await store.inboxEntry(tenant: tenant, key: key2)?.state == "delivered")
        #expect(try await store.inboxDepth(tenant: tenant) == 0)
    }
}
