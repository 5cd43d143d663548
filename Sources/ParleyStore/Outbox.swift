import Foundation
import GRDB

// Ingress (webhook → outbox) and the federation sender's side of the outbox.
//
// Row life cycle: pending → inflight (claimed under a lease) → sent | dead, or back to pending on retry.
// An inflight row whose lease has passed counts as claimable again: that is how a crash releases it.

extension ParleyStore {
    // MARK: Ingress

    /// Ingests one native event: dedups it, queues its envelopes and records its id map rows, in one transaction.
    ///
    /// When this returns, everything it reports inserted is durable, so the webhook can be acknowledged.
    /// A retried webhook (same tenant, app and `nativeEventKey`; with ``IngressEvent/Deduplication-swift.enum/firstIdMapping``
    /// the same native key in the first mapping) returns `duplicate == true` and inserts nothing.
    public func ingest(_ event: IngressEvent) async throws(StoreError) -> IngressResult {
        let results = try await ingest([event])
        guard let result = results.first else {
            throw StoreError(.internal, "ingest returned no result")
        }
        return result
    }

    /// Ingests many native events in ONE transaction (one sync): the group-commit form of the single-event `ingest`.
    ///
    /// Returns one result per event, in order; a key repeated within the batch is a duplicate from its second
    /// occurrence on. If any event is invalid the call throws ``StoreError/Code/invalidArgument`` before writing.
    public func ingest(_ events: [IngressEvent]) async throws(StoreError) -> [IngressResult] {
        for event in events { try Self.validate(event) }
        if events.isEmpty { return [] }
        return try await write("ingesting \(events.count) native event(s)") { db in
            try events.map { try Self.insert($0, db) }
        }
    }

    /// Checks an event as ``ingest(_:)-([IngressEvent])`` would, so one bad event can be refused alone.
    public static func validate(_ event: IngressEvent) throws(StoreError) {
        try Check.name(event.tenant, "tenant")
        try Check.name(event.app, "app")
        try Check.name(event.nativeEventKey, "native event key")
        for envelope in event.envelopes {
            try Check.envelopeId(envelope.envelopeId)
            try Check.name(envelope.peer, "peer")
            try Check.name(envelope.conversation, "conversation")
            if envelope.sealed.isEmpty { throw .invalid("sealed envelope bytes must not be empty") }
            if let id = envelope.canonicalId { try Check.canonicalId(id) }
            if envelope.expiresAt < envelope.createdAt {
                throw .invalid("envelope expires (\(envelope.expiresAt)) before it was created (\(envelope.createdAt))")
            }
        }
        for mapping in event.idMappings { try Check.mapping(mapping) }
        if event.deduplication == .firstIdMapping {
            guard let first = event.idMappings.first else {
                throw .invalid("an event deduplicated by its id mapping needs one (event \(event.nativeEventKey))")
            }
            if first.app != event.app { throw .invalid("the dedup mapping's app (\(first.app)) is not the event's (\(event.app))") }
        }
    }

    private static func insert(_ event: IngressEvent, _ db: Database) throws -> IngressResult {
        var mappings = event.idMappings[...]
        var inserted: [IdMapping] = []
        switch event.deduplication {
        case .nativeEventKey:
            try db.cachedStatement(sql: """
                INSERT INTO native_event (tenant, app, event_key, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING
                """).execute(arguments: [event.tenant, event.app, event.nativeEventKey, event.receivedAt])
        case .firstIdMapping:
            // Written first: the mapping is the dedup key (validate made sure there is one).
            inserted = try insertMappings(tenant: event.tenant, Array(mappings.prefix(1)), now: event.receivedAt, envelopes: event.envelopes, db)
            mappings = mappings.dropFirst()
        }
        guard db.changesCount > 0 else {
            return IngressResult(nativeEventKey: event.nativeEventKey, duplicate: true, insertedEnvelopes: [], insertedMappings: [])
        }
        var envelopes: [Data] = []
        let insertOutbox = try db.cachedStatement(sql: """
            INSERT INTO outbox (tenant, envelope_id, peer, conversation, canonical_id, state,
                                created_at, expires_at, next_attempt_at, updated_at)
            VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)
            ON CONFLICT (tenant, envelope_id) DO NOTHING
            """)
        for envelope in event.envelopes {
            try insertOutbox.execute(arguments: [
                event.tenant, envelope.envelopeId, envelope.peer, envelope.conversation, envelope.canonicalId,
                envelope.createdAt, envelope.expiresAt, envelope.nextAttemptAt, event.receivedAt,
            ])
            guard db.changesCount > 0 else { continue }
            try insertBody(of: .outbox, seq: db.lastInsertedRowID, sealed: envelope.sealed, db)
            envelopes.append(envelope.envelopeId)
        }
        inserted += try insertMappings(tenant: event.tenant, Array(mappings), now: event.receivedAt, envelopes: event.envelopes, db)
        return IngressResult(
            nativeEventKey: event.nativeEventKey, duplicate: false, insertedEnvelopes: envelopes, insertedMappings: inserted)
    }

    // MARK: Federation sender

    /// Claims up to `limit` due outbox rows for `peer`, in per-conversation order, under one lease.
    ///
    /// A row is handed out only when every earlier row of its (tenant, peer, conversation) is finished (sent or
    /// dead): a pending retry that is not yet due, or a row in flight under a live lease, holds back the rest of its
    /// conversation. With `maxPerConversation` > 1 a run of consecutive due rows of one conversation may be handed
    /// out together; send them in the given order in one transaction, and if one needs a retry, retry the rest of
    /// that run too, or order is lost.
    ///
    /// Claimed rows become `inflight` until `now + leaseMillis`. If the caller crashes, the lease runs out and the
    /// rows are handed out again (``OutboxItem/previousClaimUnresolved``). Each hand-out counts as an attempt
    /// (``OutboxItem/attempt``).
    ///
    /// A row whose `expiresAt` has passed is never handed out: the first claim for the peer in each second (of
    /// `now`) dead-letters such rows and returns them in ``OutboxClaim/expired``; until then an expired row holds
    /// back its conversation like a retry that is not due.
    ///
    /// A claim visits at most `max(limit, 256)` conversations (see ``ClaimWalk``); with more waiting, they take turns:
    /// each claim starts after the conversation the previous claim for this peer ended on, and reports
    /// ``OutboxClaim/stoppedEarly``. Its cost grows with the conversations it visits, not with the rows queued.
    ///
    /// `markingSent` rows are marked sent first, in the same transaction, as ``markOutboxSent(tenant:envelopeIds:now:)``
    /// would: a sender's marks for the transaction the peer just accepted ride on its next claim, one write instead of
    /// two on the path every message takes. Their conversations' next rows are claimable in this very claim.
    public func claimOutbox(
        tenant: String, peer: String, limit: Int, maxPerConversation: Int = 1, leaseMillis: Int64, now: Int64,
        markingSent sent: [Data] = []
    ) async throws(StoreError) -> OutboxClaim {
        try Check.name(tenant, "tenant")
        try Check.name(peer, "peer")
        for id in sent { try Check.envelopeId(id) }
        try Check.positive(limit, "limit")
        try Check.positive(maxPerConversation, "maxPerConversation")
        try Check.positive(Int(clamping: leaseMillis), "leaseMillis")
        let token = newLeaseToken()
        let leaseUntil = try Check.leaseEnd(now: now, leaseMillis: leaseMillis)
        let progress = self.progress
        let scanRows = claimScanRows
        return try await write("claiming outbox rows for \(peer)", synced: false) { db in
            let markedSent = try Self.markSent(tenant: tenant, envelopeIds: sent, now: now, db)
            let walk = ClaimWalk.outbox
            let expired = progress.expiryDue(walk.progressKey([tenant, peer]), now: now)
                ? try Self.expireOutbox(tenant: tenant, peer: peer, now: now, db) : []
            let claimed = try walk.claim(
                db, scope: [tenant, peer], progress: progress, limit: limit, perConversation: maxPerConversation, now: now,
                leaseUntil: leaseUntil, token: token, returning: Self.outboxItemColumns, scanRows: scanRows)
            let items = claimed.rows.map { Self.outboxItem($0, from: 1) }
            return OutboxClaim(leaseToken: token, leaseUntil: leaseUntil, items: items, stoppedEarly: claimed.stoppedEarly, expired: expired,
                               markedSent: markedSent)
        }
    }

    /// Dead-letters this peer's expired rows that nobody holds a live lease on.
    private static func expireOutbox(tenant: String, peer: String, now: Int64, _ db: Database) throws -> [OutboxItem] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT *, \(Schema.sealedColumn("outbox")) AS sealed FROM outbox
            WHERE tenant = ? AND peer = ? AND state IN ('pending', 'inflight') AND expires_at <= ?
              AND (state = 'pending' OR lease_until <= ?)
            ORDER BY seq
            """), arguments: [tenant, peer, now, now])
        var expired: [OutboxItem] = []
        for row in rows {
            let item = outboxItem(row)
            try db.execute(sql: """
                UPDATE outbox SET state = 'dead', dead_reason = ?, lease_until = NULL, lease_token = NULL, updated_at = ?
                WHERE seq = ?
                """, arguments: [DeadLetterReason.expired.rawValue, now, row["seq"] as Int64])
            expired.append(item)
        }
        return expired
    }

    /// Stores a queue row's sealed bytes (`table`: `outbox` or `inbox`) beside the row just inserted (schema v5).
    static func insertBody(of table: QueueTable, seq: Int64, sealed: Data, _ db: Database) throws {
        try db.cachedStatement(sql: table.insertBodySQL).execute(arguments: [seq, sealed])
    }

    /// The two queues whose rows keep their sealed bytes in a `_body` table.
    enum QueueTable {
        case outbox, inbox

        // Literals, so the hot path does not build the SQL per row. A seq can come back after retention deleted the
        // newest row (no AUTOINCREMENT); its bytes went with it, and the upsert keeps a stray one from failing the
        // insert.
        var insertBodySQL: String {
            switch self {
            case .outbox: "INSERT INTO outbox_body (seq, sealed) VALUES (?, ?) ON CONFLICT (seq) DO UPDATE SET sealed = excluded.sealed"
            case .inbox: "INSERT INTO inbox_body (seq, sealed) VALUES (?, ?) ON CONFLICT (seq) DO UPDATE SET sealed = excluded.sealed"
            }
        }
    }

    static func outboxItem(_ row: Row) -> OutboxItem {
        OutboxItem(
            tenant: row["tenant"], envelopeId: row["envelope_id"], peer: row["peer"], conversation: row["conversation"],
            sealed: row["sealed"], canonicalId: row["canonical_id"], createdAt: row["created_at"],
            expiresAt: row["expires_at"], attempt: row["attempts"], previousClaimUnresolved: row["lease_lapsed"],
            lastError: row["last_error"])
    }

    /// The columns ``outboxItem(_:from:)`` reads, in its order (positional reads skip the name lookups).
    static let outboxItemColumns = """
        tenant, envelope_id, peer, conversation, \(Schema.sealedColumn("outbox")), canonical_id, created_at, expires_at, attempts,
        lease_lapsed, last_error
        """

    static func outboxItem(_ row: Row, from i: Int) -> OutboxItem {
        OutboxItem(
            tenant: row[i], envelopeId: row[i + 1], peer: row[i + 2], conversation: row[i + 3], sealed: row[i + 4],
            canonicalId: row[i + 5], createdAt: row[i + 6], expiresAt: row[i + 7], attempt: row[i + 8],
            previousClaimUnresolved: row[i + 9], lastError: row[i + 10])
    }

    /// Marks rows sent (the peer answered accepted or duplicate), which makes their delivery state `sent`, in one
    /// transaction.
    ///
    /// Applies to any row not yet finished, whoever holds its lease: acceptance by the peer is a fact.
    /// Returns how many rows changed (already-finished rows are skipped).
    @discardableResult
    public func markOutboxSent(tenant: String, envelopeIds: [Data], now: Int64) async throws(StoreError) -> Int {
        try Check.name(tenant, "tenant")
        for id in envelopeIds { try Check.envelopeId(id) }
        if envelopeIds.isEmpty { return 0 }
        return try await write("marking \(envelopeIds.count) envelope(s) sent", synced: false) { db in
            try Self.markSent(tenant: tenant, envelopeIds: envelopeIds, now: now, db)
        }
    }

    private static func markSent(tenant: String, envelopeIds: [Data], now: Int64, _ db: Database) throws -> Int {
        var changed = 0
        // Whole chunks per statement. A padded chunk names its last id twice; the row changes once.
        try forEachChunk(of: envelopeIds) { ids, marks in
            try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'sent', lease_until = NULL, lease_token = NULL, lease_lapsed = 0, updated_at = ?
                WHERE tenant = ? AND envelope_id IN (\(marks)) AND state IN ('pending', 'inflight')
                """).execute(arguments: StatementArguments([now, tenant] as [any DatabaseValueConvertible]) + StatementArguments(ids))
            changed += db.changesCount
        }
        return changed
    }

    /// Puts claimed rows back as pending until `nextAttemptAt`, recording the error.
    ///
    /// Only rows still held under `leaseToken` change (a row whose lease ran out and was claimed again by someone
    /// else is theirs now). The attempt was already counted when the row was claimed. Returns how many rows changed.
    @discardableResult
    public func scheduleOutboxRetry(tenant: String, leaseToken: String, retries: [RetrySchedule], now: Int64) async throws(StoreError) -> Int {
        try Check.name(tenant, "tenant")
        try Check.name(leaseToken, "lease token")
        for retry in retries { try Check.envelopeId(retry.envelopeId) }
        if retries.isEmpty { return 0 }
        return try await write("scheduling \(retries.count) outbox retr(ies)", synced: false) { db in
            try Self.updateEach(db, """
                UPDATE outbox SET state = 'pending', next_attempt_at = ?, last_error = ?, lease_until = NULL,
                       lease_token = NULL, lease_lapsed = 0, updated_at = ?
                WHERE tenant = ? AND envelope_id = ? AND state = 'inflight' AND lease_token = ?
                """, retries) { [$0.nextAttemptAt, $0.error, now, tenant, $0.envelopeId, leaseToken] }
        }
    }

    /// Dead-letters rows (expired, or permanently rejected by the peer), which makes their delivery state `failed`
    /// with the reason, in one transaction. Applies to any unfinished row. Returns how many rows changed.
    @discardableResult
    public func deadLetterOutbox(tenant: String, _ letters: [DeadLetter], now: Int64) async throws(StoreError) -> Int {
        try Check.name(tenant, "tenant")
        for letter in letters {
            try Check.envelopeId(letter.envelopeId)
            try Check.name(letter.reason.rawValue, "dead-letter reason")
        }
        if letters.isEmpty { return 0 }
        return try await write("dead-lettering \(letters.count) envelope(s)") { db in
            let update = try db.cachedStatement(sql: """
                UPDATE outbox SET state = 'dead', dead_reason = ?, last_error = coalesce(?, last_error),
                       lease_until = NULL, lease_token = NULL, lease_lapsed = 0, updated_at = ?
                WHERE tenant = ? AND envelope_id = ? AND state IN ('pending', 'inflight')
                """)
            var changed = 0
            for letter in letters {
                try update.execute(arguments: [letter.reason.rawValue, letter.detail, now, tenant, letter.envelopeId])
                changed += db.changesCount
            }
            return changed
        }
    }

    /// Rows still to send to `peer` (pending or in flight): the queue depth.
    public func outboxDepth(tenant: String, peer: String) async throws(StoreError) -> Int {
        try await read("counting the outbox for \(peer)") { db in
            try Int.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) FROM outbox WHERE tenant = ? AND peer = ? AND state IN ('pending', 'inflight')
                """), arguments: [tenant, peer]) ?? 0
        }
    }

    /// Peers that have rows to send for `tenant` (for the sender loop to walk).
    public func peersWithPendingOutbox(tenant: String) async throws(StoreError) -> [String] {
        try await read("listing peers with pending rows") { db in
            try String.fetchAll(db.cachedStatement(sql: """
                SELECT DISTINCT peer FROM outbox WHERE tenant = ? AND state IN ('pending', 'inflight') ORDER BY peer
                """), arguments: [tenant])
        }
    }

    /// One outbox row with its state (`pending`, `inflight`, `sent`, `dead`) and dead-letter reason.
    public func outboxEntry(tenant: String, envelopeId: Data) async throws(StoreError) -> OutboxEntry? {
        try await read("reading an outbox row") { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT *, \(Schema.sealedColumn("outbox")) AS sealed FROM outbox WHERE tenant = ? AND envelope_id = ?
                """), arguments: [tenant, envelopeId])
                .map { row in OutboxEntry(item: Self.outboxItem(row), state: row["state"], deadReason: row["dead_reason"]) }
        }
    }
}

extension ParleyStore {
    /// Ends, as of `now`, the leases on a tenant's outbox rows for `peer`, or on its inbox rows when `peer` is nil.
    ///
    /// For a worker starting up: leases held by the scope's only worker in an earlier process (one that crashed)
    /// would otherwise hold that work back until they ran out. The rows stay `inflight`, so their next claim reports
    /// ``OutboxItem/previousClaimUnresolved``. Returns how many leases were ended.
    @discardableResult
    public func endLeases(tenant: String, outboxPeer peer: String?, now: Int64) async throws(StoreError) -> Int {
        try Check.name(tenant, "tenant")
        if let peer { try Check.name(peer, "peer") }
        return try await write("ending earlier leases", synced: false) { db in
            if let peer {
                try db.execute(sql: """
                    UPDATE outbox SET lease_until = ? WHERE tenant = ? AND peer = ? AND state = 'inflight' AND lease_until > ?
                    """, arguments: [now, tenant, peer, now])
            } else {
                try db.execute(sql: """
                    UPDATE inbox SET lease_until = ? WHERE tenant = ? AND state = 'inflight' AND lease_until > ?
                    """, arguments: [now, tenant, now])
            }
            return db.changesCount
        }
    }
}

extension ParleyStore {
    /// Calls `body` with `ids` in chunks and the `?, ?, …` list for an `IN (…)` of each chunk. Chunks have the sizes
    /// 1, 2, 4, …, 256, the last one padded by repeating its last id (harmless in `IN`), so a handful of cached
    /// statements serve any count.
    static func forEachChunk<ID: DatabaseValueConvertible>(of ids: [ID], _ body: ([ID], String) throws -> Void) rethrows {
        var start = 0
        while start < ids.count {
            let remaining = ids.count - start
            let size = remaining >= 256 ? 256 : 1 << (Int.bitWidth - (remaining - 1).leadingZeroBitCount)
            let taken = min(size, remaining)
            var chunk = Array(ids[start..<start + taken])
            while chunk.count < size { chunk.append(chunk[chunk.count - 1]) }
            try body(chunk, Self.placeholders[size] ?? String(repeating: "?, ", count: size - 1) + "?")
            start += taken
        }
    }

    private static let placeholders: [Int: String] = Dictionary(uniqueKeysWithValues: (0...8).map { power in
        let size = 1 << power
        return (size, String(repeating: "?, ", count: size - 1) + "?")
    })

    /// Runs one cached statement per item; returns how many rows changed in all.
    static func updateEach<Item>(_ db: Database, _ sql: String, _ items: [Item], _ arguments: (Item) -> StatementArguments) throws -> Int {
        let statement = try db.cachedStatement(sql: sql)
        var changed = 0
        for item in items {
            try statement.execute(arguments: arguments(item))
            changed += db.changesCount
        }
        return changed
    }
}

/// An outbox row with its state, for status and diagnostics.
public struct OutboxEntry: Sendable, Hashable {
    public var item: OutboxItem
    public var state: String
    public var deadReason: String?
}
