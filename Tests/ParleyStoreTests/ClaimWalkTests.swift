import Foundation
import ParleyCore
import Testing
@testable import ParleyStore

/// The claims walk one conversation at a time and conversations take turns (``ClaimWalk``).
@Suite struct ClaimWalkTests {
    let tenant = "a.example"
    let peer = "b.example"

    /// Options that make every claim walk (no single read of a short queue), so the walk is what these tests see.
    static let walkOnly: ParleyStore.Options = {
        var options = ParleyStore.Options()
        options.claimScanRows = 0
        return options
    }()

    @Test func aClaimVisitsABoundedNumberOfConversationsAndTheNextGoesOnFromThere() async throws {
        let dir = try TempDir()
        var store = try ParleyStore(path: dir.path(), options: Self.walkOnly)
        let blocked = 300
        _ = try await store.ingest((0..<blocked).map { n in
            event("evt-\(n)", envelopes: [envelope(n, conversation: String(format: "c%03d", n))])
        })
        let held = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 1_000, leaseMillis: 60_000, now: 2_000)
        #expect(held.items.count == blocked && !held.stoppedEarly)
        _ = try await store.ingest(event("evt-last", envelopes: [envelope(1_000, conversation: "zzz")]))
        // A new process starts its walks at the first conversation.
        try store.close()
        store = try ParleyStore(path: dir.path(), options: Self.walkOnly)
        defer { try? store.close() }

        let first = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 60_000, now: 3_000)
        #expect(first.items.isEmpty)
        #expect(first.stoppedEarly)  // 256 heads in flight visited; the due row lies beyond them
        let second = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 60_000, now: 3_001)
        #expect(second.items.numbers == [1_000])
    }

    @Test func anEmptyEarlyStopIsReportedOnceInARowSoACallerNeverSpins() async throws {
        let dir = try TempDir()
        var store = try ParleyStore(path: dir.path(), options: Self.walkOnly)
        _ = try await store.ingest((0..<600).map { n in
            event("evt-\(n)", envelopes: [envelope(n, conversation: String(format: "c%03d", n))])
        })
        #expect(try await store.claimOutbox(tenant: tenant, peer: peer, limit: 1_000, leaseMillis: 60_000, now: 2_000).items.count == 600)
        try store.close()
        store = try ParleyStore(path: dir.path(), options: Self.walkOnly)
        defer { try? store.close() }

        // Every head is in flight: nothing is due anywhere.
        var stops: [OutboxClaim] = []
        for _ in 0..<4 {
            stops.append(try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 60_000, now: 3_000))
        }
        #expect(stops.allSatisfy { $0.items.isEmpty })
        #expect(stops.map(\.stoppedEarly) == [true, false, false, false])
        // Once the leases run out, rows are found again and the early stop is reported again.
        let due = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 60_000, now: 70_000)
        #expect(due.items.count == 10 && due.stoppedEarly)
    }

    @Test func inboxConversationsTakeTurnsPerOriginAndConversation() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path(), options: Self.walkOnly)
        defer { try? store.close() }
        let tenant = "b.example"
        let fromA = (1...3).map { InboundEnvelope(envelopeId: envelopeId($0), conversation: "c1", sealed: sealed($0)) }
        let fromX = [InboundEnvelope(envelopeId: envelopeId(4), conversation: "c1", sealed: sealed(4))]
        _ = try await store.receive(tenant: tenant, origin: "a.example", transactionId: "t1", envelopes: fromA, now: 1_000)
        _ = try await store.receive(tenant: tenant, origin: "x.example", transactionId: "t2", envelopes: fromX, now: 1_000)

        let first = try await store.claimInbox(tenant: tenant, limit: 2, maxPerConversation: 2, leaseMillis: 60_000, now: 2_000)
        #expect(first.items.numbers == [1, 2])
        let second = try await store.claimInbox(tenant: tenant, limit: 2, maxPerConversation: 2, leaseMillis: 60_000, now: 2_000)
        #expect(second.items.numbers == [4])  // same conversation name, other origin: its own queue
        #expect(try await store.markDelivered(tenant: tenant, first.items.map { InboxDelivery(key: $0.key, nativeId: nil) }, now: 2_100) == 2)
        let third = try await store.claimInbox(tenant: tenant, limit: 2, maxPerConversation: 2, leaseMillis: 60_000, now: 2_200)
        #expect(third.items.numbers == [3])
    }

    @Test func expiredRowsAreLookedForOncePerSecondAndNeverHandedOutMeanwhile() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path(), options: Self.walkOnly)
        defer { try? store.close() }
        _ = try await store.ingest(event("e1", envelopes: [envelope(1, conversation: "A", expiresAt: 4_500)]))
        _ = try await store.ingest(event("e2", envelopes: [envelope(2, conversation: "A")]))
        _ = try await store.ingest(event("e3", envelopes: [envelope(3, conversation: "B")]))

        // Nothing has expired yet; row 1 is claimed and handed back for a retry due after its expiry.
        let claim = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 4_000)
        #expect(claim.items.numbers == [1, 3])
        #expect(try await store.scheduleOutboxRetry(tenant: tenant, leaseToken: claim.leaseToken, retries: [
            RetrySchedule(envelopeId: envelopeId(1), nextAttemptAt: 4_600, error: "503"),
        ], now: 4_100) == 1)

        // Due again but expired, within a second of the last look: not handed out, and it holds back row 2.
        let meanwhile = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 4_700)
        #expect(meanwhile.items.isEmpty && meanwhile.expired.isEmpty)
        let next = try await store.claimOutbox(tenant: tenant, peer: peer, limit: 10, leaseMillis: 30_000, now: 5_000)
        #expect(next.expired.map(\.envelopeId) == [envelopeId(1)])
        #expect(next.items.numbers == [2])
    }

    /// Random queues, claims with random limits, by either path: each claim hands out, of every conversation's due
    /// prefix (at most `maxPerConversation` rows that are due with nothing undue before them), the oldest `limit` rows.
    @Test(arguments: [1, 2, 3], [0, 1, ClaimWalk.defaultScanRows])
    func randomClaimsKeepConversationOrderAndMissNothingDue(seed: UInt64, scanRows: Int) async throws {
        var random = SplitMix64(seed: seed)
        let dir = try TempDir()
        var options = ParleyStore.Options()
        options.claimScanRows = scanRows  // 0: always walk; 1: read, find too many, walk; default: read whole
        let store = try ParleyStore(path: dir.path(), options: options)
        defer { try? store.close() }
        var live: [(number: Int, conversation: String)] = []
        var inFlight: [Int: Int64] = [:]  // number → lease end
        var next = 1
        var now: Int64 = 2_000
        for _ in 0..<40 {
            let added = (0..<Int(random.next() % 6)).map { _ in
                defer { next += 1 }
                return (number: next, conversation: "c\(random.next() % 5)")
            }
            try await queue(store, added.map { ($0.number, $0.conversation) })
            live += added

            let limit = Int(random.next() % 7) + 1
            let perConversation = Int(random.next() % 3) + 1
            let lease = Int64(random.next() % 3) * 500 + 100
            let claim = try await store.claimOutbox(tenant: tenant, peer: peer, limit: limit, maxPerConversation: perConversation,
                                                    leaseMillis: lease, now: now)
            let claimed = Set(claim.items.numbers)
            // Per conversation, the due prefix of its live rows, at most perConversation long; of all of those, the
            // claim hands out the oldest `limit`.
            var duePrefixes: [Int] = []
            for conversation in Set(live.map(\.conversation)) {
                let rows = live.filter { $0.conversation == conversation }.map(\.number)
                duePrefixes += rows.prefix { number in inFlight[number].map { $0 <= now } ?? true }.prefix(perConversation)
            }
            #expect(claim.items.numbers == Array(duePrefixes.sorted().prefix(limit)))
            for number in claimed { inFlight[number] = now + lease }

            // Finish some of what is in flight.
            let finished = inFlight.keys.filter { _ in random.next() % 2 == 0 }
            if !finished.isEmpty {
                _ = try await store.markOutboxSent(tenant: tenant, envelopeIds: finished.map { envelopeId($0) }, now: now)
                live.removeAll { finished.contains($0.number) }
                for number in finished { inFlight[number] = nil }
            }
            now += Int64(random.next() % 400)
        }
    }
}
