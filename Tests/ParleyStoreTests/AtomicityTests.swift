import Foundation
import Testing
@testable import ParleyStore

/// Multi-row writes are one transaction: a failure in the middle (injected with a TEMP trigger on the writer
/// connection, which is where every write runs) leaves nothing of the call behind.
@Suite struct AtomicityTests {
    @Test func aFailingEventRollsBackTheWholeIngestBatch() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await store.unsafeExecute("""
            CREATE TEMP TRIGGER inject_failure BEFORE INSERT ON outbox WHEN NEW.conversation = 'boom'
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END
            """)
        let batch = [event("ok", envelopes: [envelope(1)]), event("bad", envelopes: [envelope(2, conversation: "boom")])]
        let error = await #expect(throws: StoreError.self) { try await store.ingest(batch) }
        #expect(error?.code == .constraint)
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 0)
        #expect(try await store.deliveryRecord(tenant: "a.example", envelopeId: envelopeId(1)) == nil)
        #expect(try await !store.ingest(event("ok", envelopes: [envelope(1)])).duplicate)
    }

    @Test func aFailingEnvelopeRollsBackTheTransactionRecord() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await store.unsafeExecute("""
            CREATE TEMP TRIGGER inject_failure BEFORE INSERT ON inbox WHEN NEW.conversation = 'boom'
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END
            """)
        let envelopes = [InboundEnvelope(envelopeId: envelopeId(1), conversation: "A", sealed: sealed(1)),
                         InboundEnvelope(envelopeId: envelopeId(2), conversation: "boom", sealed: sealed(2))]
        await #expect(throws: StoreError.self) {
            try await store.receive(tenant: "b.example", origin: "a.example", transactionId: "t1", envelopes: envelopes, now: 1)
        }
        #expect(try await !store.hasReceivedTransaction(tenant: "b.example", origin: "a.example", transactionId: "t1"))
        #expect(try await store.inboxDepth(tenant: "b.example") == 0)
    }

    @Test func aFailingIdMapWriteLeavesTheRowUndelivered() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        _ = try await store.receive(tenant: "b.example", origin: "a.example", transactionId: "t1",
                                    envelopes: [InboundEnvelope(envelopeId: envelopeId(1), conversation: "A", sealed: sealed(1))], now: 1)
        try await store.unsafeExecute("""
            CREATE TEMP TRIGGER inject_failure BEFORE INSERT ON id_map
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END
            """)
        let key = InboxKey(origin: "a.example", envelopeId: envelopeId(1))
        let mapping = IdMapping(app: "messenger", conversation: "p", nativeId: "m_1", canonicalId: canonicalId(1))
        await #expect(throws: StoreError.self) {
            try await store.markDelivered(tenant: "b.example", key: key, nativeId: "m_1", mapping: mapping, now: 2)
        }
        #expect(try await store.inboxEntry(tenant: "b.example", key: key)?.state == "pending")
        #expect(try await store.claimInbox(tenant: "b.example", limit: 5, leaseMillis: 10, now: 3).items.count == 1)
    }

    @Test func committerReportsAFailedBatchToEveryCallerInIt() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await store.unsafeExecute("""
            CREATE TEMP TRIGGER inject_failure BEFORE INSERT ON outbox WHEN NEW.conversation = 'boom'
            BEGIN SELECT RAISE(ABORT, 'injected failure'); END
            """)
        let committer = IngressCommitter(store: store, maxBatch: 8)
        let codes = await withTaskGroup(of: StoreError.Code?.self) { group in
            for n in 0..<20 {
                group.addTask {
                    do {
                        _ = try await committer.ingest(event("evt-\(n)", envelopes: [envelope(n, conversation: "boom")]))
                        return nil
                    } catch let error as StoreError {
                        return error.code
                    } catch {
                        return .internal
                    }
                }
            }
            return await group.reduce(into: [StoreError.Code?]()) { $0.append($1) }
        }
        #expect(codes == Array(repeating: StoreError.Code.constraint, count: 20))
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 0)
    }

    @Test func concurrentClaimsNeverHandOutTheSameRow() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        try await queue(store, (0..<40).map { ($0, "conv-\($0 % 20)") })
        let claimed = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await store.claimOutbox(tenant: "a.example", peer: "b.example", limit: 3, leaseMillis: 60_000, now: 2_000).items.numbers
                }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(claimed.count == Set(claimed).count)
        #expect(Set(claimed) == Set(0..<20))  // only the 20 conversation heads, each once
    }
}
