import Foundation
import Testing
@testable import ParleyStore

@Suite struct OutboxTests {
    let tenant = "a.example"
    let peer = "b.example"

    @Test func claimHandsOutOnlyTheHeadOfEachConversationInOrder() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await queue(store, [(1, "A"), (2, "B"), (3, "A"), (4, "A"), (5, "B")])

        let first = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_000)
        #expect(first.items.numbers == [1, 2])
        #expect(first.items.allSatisfy { $0.attempt == 1 && !$0.previousClaimUnresolved && $0.sealed != nil })
        // Heads in flight hold back the rest of their conversations.
        #expect(try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_001).items.isEmpty)

        #expect(try await store.markOutboxSent(tenant: tenant, envelopeIds: [envelopeId(1)], now: 2_100) == 1)
        let second = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_200)
        #expect(second.items.numbers == [3])

        // A retry that is not due yet still blocks its conversation.
        #expect(try await store.scheduleOutboxRetry(
            tenant: tenant, leaseToken: first.leaseToken,
            retries: [RetrySchedule(envelopeId: envelopeId(2), nextAttemptAt: 10_000, error: "503 from peer")], now: 2_300) == 1)
        #expect(try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 9_999).items.isEmpty)
        let retried = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 10_000)
        #expect(retried.items.numbers == [2])
        #expect(retried.items.first?.attempt == 2)
        #expect(retried.items.first?.lastError == "503 from peer")
        #expect(retried.items.first?.previousClaimUnresolved == false)
    }

    @Test func aClaimMarksThePreviousTransactionSentAndTakesWhatFollowsInTheSameWrite() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await queue(store, [(1, "A"), (2, "B"), (3, "A"), (4, "B")])

        let first = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_000)
        #expect(first.items.numbers == [1, 2] && first.markedSent == 0)
        // The peer took 1 (2 is still out): the next claim settles 1 and, in the same transaction, hands out 3.
        let second = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_100,
                                                 markingSent: [envelopeId(1)])
        #expect(second.markedSent == 1)
        #expect(second.items.numbers == [3])
        let record = try await store.deliveryRecord(tenant: tenant, envelopeId: envelopeId(1))
        #expect(record?.status == .sent && record?.updatedAt == 2_100)
        #expect(try await store.deliveryRecord(tenant: tenant, envelopeId: envelopeId(2))?.status == .queued)
        // Marking again changes nothing (the row is finished); a malformed id fails the claim before it writes.
        #expect(try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_200,
                                            markingSent: [envelopeId(1)]).markedSent == 0)
        await #expect(throws: StoreError.self) {
            try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_300, markingSent: [Data()])
        }
        #expect(try await store.markOutboxSent(tenant: tenant, envelopeIds: [envelopeId(2), envelopeId(3)], now: 2_400) == 2)
        #expect(try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_500).items.numbers == [4])
    }

    @Test func limitAndRunsPerConversationAreRespected() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await queue(store, [(1, "A"), (2, "A"), (3, "A"), (4, "B"), (5, "B"), (6, "C")])

        let runs = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 4, maxPerConversation: 2,
                                               leaseMillis: 30_000, now: 2_000)
        #expect(runs.items.numbers == [1, 2, 4, 5])
        let rest = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, maxPerConversation: 2,
                                               leaseMillis: 30_000, now: 2_000)
        #expect(rest.items.numbers == [6])  // 3 waits behind 1 and 2, which are in flight
    }

    @Test func aCrashedClaimIsReleasedWhenItsLeaseRunsOut() async throws {
        let dir = try TempDir()
        var store = try ParleyStore(path: dir.path())
        try await queue(store, [(1, "A"), (2, "A")])
        let crashed = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 5_000, now: 2_000)
        #expect(crashed.items.numbers == [1])
        try store.close()  // the sender "crashes" without recording an outcome

        store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        #expect(try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 5_000, now: 6_999).items.isEmpty)
        let again = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 5_000, now: 7_000)
        #expect(again.items.numbers == [1])
        #expect(again.items.first?.attempt == 2)
        #expect(again.items.first?.previousClaimUnresolved == true)
        #expect(again.leaseToken != crashed.leaseToken)

        // The stale holder can no longer reschedule the row; the new holder can.
        let stale = RetrySchedule(envelopeId: envelopeId(1), nextAttemptAt: 0, error: "stale")
        #expect(try await store.scheduleOutboxRetry(tenant: tenant, leaseToken: crashed.leaseToken, retries: [stale], now: 7_001) == 0)
        #expect(try await store.scheduleOutboxRetry(tenant: tenant, leaseToken: again.leaseToken, retries: [stale], now: 7_001) == 1)
    }

    @Test func endingEarlierLeasesMakesACrashedClaimClaimableAtOnceAndOnlyForItsPeer() async throws {
        let dir = try TempDir()
        var store = try ParleyStore(path: dir.path())
        try await queue(store, [(1, "A")])
        _ = try await store.ingest(event("other", envelopes: [envelope(9, peer: "c.example", conversation: "Z")]))
        _ = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 60_000, now: 2_000)
        let otherClaim = try await store.claimOutbox(tenant: tenant, peer: "c.example", limit: 10, leaseMillis: 60_000, now: 2_000)
        #expect(otherClaim.items.count == 1)
        try store.close()

        store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        #expect(try await store.endLeases(tenant: tenant, outboxPeer: peer, now: 3_000) == 1)
        let again = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 60_000, now: 3_000)
        #expect(again.items.numbers == [1])
        #expect(again.items.first?.previousClaimUnresolved == true)
        // Another peer's sender keeps its lease.
        #expect(try await store.claimOutbox(tenant: tenant, peer: "c.example", limit: 10, leaseMillis: 60_000, now: 3_000).items.isEmpty)
    }

    @Test func expiredRowsAreDeadLetteredOnClaimAndUnblockTheirConversation() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        _ = try await store.ingest(event("e1", envelopes: [envelope(1, conversation: "A", expiresAt: 5_000)]))
        _ = try await store.ingest(event("e2", envelopes: [envelope(2, conversation: "A", expiresAt: 50_000)]))

        let claim = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 1_000, now: 5_000)
        #expect(claim.expired.map(\.envelopeId) == [envelopeId(1)])
        #expect(claim.items.numbers == [2])
        let record = try await store.deliveryRecord(tenant: tenant, envelopeId: envelopeId(1))
        #expect(record?.status == .failed)
        #expect(record?.reason == "expired")
        #expect(try await store.outboxEntry(tenant: tenant, envelopeId: envelopeId(1))?.state == "dead")
    }

    @Test func deadLetterRecordsTheReasonAndReleasesTheConversation() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await queue(store, [(1, "A"), (2, "A")])
        _ = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_000)

        let letter = DeadLetter(envelopeId: envelopeId(1), reason: "policy.no_consent", detail: "recipient has not opted in")
        #expect(try await store.deadLetterOutbox(tenant: tenant, [letter], now: 2_100) == 1)
        #expect(try await store.deadLetterOutbox(tenant: tenant, [letter], now: 2_100) == 0)  // already dead
        let entry = try await store.outboxEntry(tenant: tenant, envelopeId: envelopeId(1))
        #expect(entry?.state == "dead")
        #expect(entry?.deadReason == "policy.no_consent")
        #expect(entry?.item.lastError == "recipient has not opted in")
        #expect(try await store.deliveryRecord(tenant: tenant, envelopeId: envelopeId(1))?.reason == "policy.no_consent")

        let next = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 2_200)
        #expect(next.items.numbers == [2])
    }

    @Test func sentRowsAreNeverHandedOutAgainAndMarkSentIsIdempotent() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await queue(store, [(1, "A")])
        let claim = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 1_000, now: 2_000)
        #expect(try await store.markOutboxSent(tenant: tenant, envelopeIds: [envelopeId(1)], now: 2_100) == 1)
        #expect(try await store.markOutboxSent(tenant: tenant, envelopeIds: [envelopeId(1)], now: 2_100) == 0)
        // Even after the old lease would have run out.
        #expect(try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 1_000, now: 99_000).items.isEmpty)
        let retry = RetrySchedule(envelopeId: envelopeId(1), nextAttemptAt: 0, error: "late")
        #expect(try await store.scheduleOutboxRetry(tenant: tenant, leaseToken: claim.leaseToken, retries: [retry], now: 2_200) == 0)
        #expect(try await store.deliveryRecord(tenant: tenant, envelopeId: envelopeId(1))?.status == .sent)
        #expect(try await store.outboxDepth(tenant: tenant, peer: peer) == 0)
    }

    @Test func claimsAndDepthAreScopedByTenantAndPeer() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await queue(store, [(1, "A")], peer: "b.example", tenant: "a.example")
        try await queue(store, [(2, "A")], peer: "c.example", tenant: "a.example")
        try await queue(store, [(3, "A")], peer: "b.example", tenant: "x.example")

        let claim = try await store.claimOutbox(tenant: "a.example", peer: "b.example", limit: 10, leaseMillis: 1_000, now: 2_000)
        #expect(claim.items.numbers == [1])
        #expect(try await store.outboxDepth(tenant: "x.example", peer: "b.example") == 1)
        #expect(try await store.peersWithPendingOutbox(tenant: "a.example") == ["b.example", "c.example"])
        // Marking in the wrong tenant changes nothing.
        #expect(try await store.markOutboxSent(tenant: "x.example", envelopeIds: [envelopeId(1)], now: 2_100) == 0)
    }

    @Test func badClaimArgumentsAreRejected() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let error = await #expect(throws: StoreError.self) {
            try await store.claimOutbox(tenant: tenant, peer: peer, limit: 0, leaseMillis: 1_000, now: 0)
        }
        #expect(error?.code == .invalidArgument)
        let lease = await #expect(throws: StoreError.self) {
            try await store.claimOutbox(tenant: tenant, peer: peer, limit: 1, leaseMillis: 0, now: 0)
        }
        #expect(lease?.code == .invalidArgument)
        let overflow = await #expect(throws: StoreError.self) {
            try await store.claimInbox(tenant: tenant, limit: 1, leaseMillis: .max, now: 10)
        }
        #expect(overflow?.code == .invalidArgument)
    }
}

@Suite struct InboxReturnUntriedTests {
    @Test func untriedRowsGoBackDueAtOnceWithoutUsingAnAttempt() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let tenant = "b.example", origin = "a.example"
        let envelopes = (1...3).map { InboundEnvelope(envelopeId: envelopeId($0), conversation: "c1", sealed: sealed($0)) }
        _ = try await store.receive(tenant: tenant, origin: origin, transactionId: "t1", envelopes: envelopes, now: 1_000)
        let claim = try await store.claimInbox(tenant: tenant, limit: 10, maxPerConversation: 3, leaseMillis: 60_000, now: 2_000)
        #expect(claim.items.count == 3)
        // The head must be retried later; the two behind it were never tried.
        #expect(try await store.scheduleInboxRetry(tenant: tenant, leaseToken: claim.leaseToken, retries: [
            InboxRetry(key: claim.items[0].key, nextAttemptAt: 5_000, error: "http.503"),
        ], now: 2_100) == 1)
        #expect(try await store.returnUntried(tenant: tenant, leaseToken: claim.leaseToken, keys: claim.items[1...].map(\.key), now: 2_100) == 2)
        // Nothing is handed out before the head is due: order holds.
        #expect(try await store.claimInbox(tenant: tenant, limit: 10, maxPerConversation: 3, leaseMillis: 60_000, now: 4_999).items.isEmpty)
        let again = try await store.claimInbox(tenant: tenant, limit: 10, maxPerConversation: 3, leaseMillis: 60_000, now: 5_000)
        #expect(again.items.map(\.key) == claim.items.map(\.key))
        #expect(again.items.map(\.attempt) == [2, 1, 1])
        // A stale lease token changes nothing.
        #expect(try await store.returnUntried(tenant: tenant, leaseToken: claim.leaseToken, keys: [again.items[2].key], now: 5_001) == 0)
    }
}
