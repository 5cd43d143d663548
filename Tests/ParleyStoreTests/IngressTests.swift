import Foundation
import Testing
@testable import ParleyStore

@Suite struct IngressTests {
    @Test func ingestQueuesEnvelopesAndMappingsAndSkipsARetriedWebhook() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let mapping = IdMapping(app: "whatsapp", conversation: "15550001", nativeId: "wamid.1", canonicalId: canonicalId(1))
        let incoming = event("wamid.1", envelopes: [envelope(1, peer: "b.example"), envelope(2, peer: "c.example")],
                             mappings: [mapping])

        let first = try await store.ingest(incoming)
        #expect(!first.duplicate)
        #expect(first.insertedEnvelopes == [envelopeId(1), envelopeId(2)])
        #expect(first.insertedMappings == [mapping])

        let retried = try await store.ingest(incoming)
        #expect(retried.duplicate)
        #expect(retried.insertedEnvelopes.isEmpty && retried.insertedMappings.isEmpty)
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 1)
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "c.example") == 1)
        #expect(try await store.deliveryRecord(tenant: "a.example", envelopeId: envelopeId(1))?.status == .queued)
        #expect(try await store.canonicalId(tenant: "a.example", app: "whatsapp", conversation: "15550001",
                                            nativeId: "wamid.1") == canonicalId(1))
    }

    @Test func aMessageDeduplicatedByItsOwnMappingWritesNoNativeEventRowAndARedeliveryIsADuplicate() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let own = IdMapping(app: "whatsapp", conversation: "15550001", nativeId: "wamid.9", canonicalId: canonicalId(9))
        let reaction = IdMapping(app: "whatsapp", conversation: "15550001", nativeId: "reaction:wamid.1:1555", canonicalId: canonicalId(9))
        var message = event("message|wamid.9|1555", envelopes: [envelope(9)], mappings: [own, reaction])
        message.deduplication = .firstIdMapping

        let first = try await store.ingest(message)
        #expect(!first.duplicate)
        #expect(first.insertedEnvelopes == [envelopeId(9)])
        #expect(first.insertedMappings == [own, reaction])
        #expect(try await store.scalarTexts("SELECT count(*) FROM native_event") == ["0"])

        // The app redelivers the webhook (a new event key would not matter: the native id is the key).
        var redelivered = message
        redelivered.nativeEventKey = "message|wamid.9|other"
        redelivered.envelopes = [envelope(10)]
        let again = try await store.ingest([redelivered, message])
        #expect(again.map(\.duplicate) == [true, true])
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 1)

        // The same native id in another conversation is another message.
        var elsewhere = message
        elsewhere.idMappings = [IdMapping(app: "whatsapp", conversation: "15550002", nativeId: "wamid.9", canonicalId: canonicalId(11))]
        elsewhere.envelopes = [envelope(11)]
        #expect(try await !store.ingest(elsewhere).duplicate)
    }

    @Test func anEventDeduplicatedByAMappingItDoesNotCarryIsRefused() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        var none = event("k", envelopes: [envelope(1)])
        none.deduplication = .firstIdMapping
        let missing = await #expect(throws: StoreError.self) { try await store.ingest(none) }
        #expect(missing?.code == .invalidArgument)

        var otherApp = event("k", envelopes: [envelope(1)],
                             mappings: [IdMapping(app: "messenger", conversation: "c", nativeId: "m.1", canonicalId: canonicalId(1))])
        otherApp.deduplication = .firstIdMapping
        let mismatch = await #expect(throws: StoreError.self) { try await store.ingest(otherApp) }
        #expect(mismatch?.code == .invalidArgument)
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 0)
    }

    @Test func dedupIsPerTenantAndApp() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        _ = try await store.ingest(event("k", tenant: "a.example", envelopes: [envelope(1)]))
        let otherTenant = try await store.ingest(event("k", tenant: "x.example", envelopes: [envelope(1)]))
        #expect(!otherTenant.duplicate)
        var otherApp = event("k", tenant: "a.example", envelopes: [envelope(2)])
        otherApp.app = "messenger"
        #expect(try await !store.ingest(otherApp).duplicate)
    }

    @Test func batchIngestIsOneTransactionWithDedupInsideAndAcrossBatches() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let batch = (0..<100).map { event("evt-\($0 % 60)", envelopes: [envelope($0)]) }
        let results = try await store.ingest(batch)
        #expect(results.count == 100)
        #expect(results.filter(\.duplicate).count == 40)
        #expect(results.prefix(60).allSatisfy { !$0.duplicate })
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 60)

        let again = try await store.ingest((55..<65).map { event("evt-\($0)", envelopes: [envelope(1000 + $0)]) })
        #expect(again.map(\.duplicate) == Array(repeating: true, count: 5) + Array(repeating: false, count: 5))
    }

    @Test func anInvalidEventRejectsTheWholeBatchAndWritesNothing() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        var bad = envelope(2)
        bad.canonicalId = Data(repeating: 1, count: 31)
        let error = await #expect(throws: StoreError.self) {
            try await store.ingest([event("ok", envelopes: [envelope(1)]), event("bad", envelopes: [bad])])
        }
        #expect(error?.code == .invalidArgument)
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 0)
        // The good event was not recorded as seen either.
        #expect(try await !store.ingest(event("ok", envelopes: [envelope(1)])).duplicate)
    }

    @Test func emptyKeysAndBadIdsAreInvalidArguments() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        var noId = envelope(1)
        noId.envelopeId = Data()
        for bad in [event("", envelopes: []), event("k", tenant: "", envelopes: []), event("k", envelopes: [noId])] {
            let error = await #expect(throws: StoreError.self) { try await store.ingest(bad) }
            #expect(error?.code == .invalidArgument)
        }
    }

    @Test func committerGroupsConcurrentEventsAndAnswersEachCaller() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        let committer = IngressCommitter(store: store, maxBatch: 16)
        // 200 callers, 150 distinct keys: every caller gets an answer, and each key is stored exactly once.
        let results = try await withThrowingTaskGroup(of: IngressResult.self) { group in
            for n in 0..<200 {
                group.addTask { try await committer.ingest(event("evt-\(n % 150)", envelopes: [envelope(n)])) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 200)
        #expect(results.filter { !$0.duplicate }.count == 150)
        #expect(Set(results.filter { !$0.duplicate }.map(\.nativeEventKey)).count == 150)
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 150)

        var bad = envelope(9999)
        bad.sealed = Data()
        let error = await #expect(throws: StoreError.self) { try await committer.ingest(event("bad", envelopes: [bad])) }
        #expect(error?.code == .invalidArgument)
    }
}
