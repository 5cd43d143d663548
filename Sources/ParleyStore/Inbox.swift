import Foundation
import GRDB

// Federation receiver (PUT /v1/send/{txnId} → inbox) and egress (inbox → the app's native send API).
//
// Row life cycle: pending → inflight (claimed under a lease) → delivered | failed, or back to pending on retry.

/// One successful delivery to the app, for ``ParleyStore/markDelivered(tenant:_:now:)``.
public struct InboxDelivery: Sendable, Hashable {
    public var key: InboxKey
    /// The id the app's send API returned; `nil` when it returns none (e.g. for a read receipt or typing).
    public var nativeId: String?
    /// Id map rows to write in the same transaction (native id ⇄ canonical id, with the delivery time), when known.
    public var mappings: [IdMapping]

    public init(key: InboxKey, nativeId: String?, mappings: [IdMapping] = []) {
        self.key = key
        self.nativeId = nativeId
        self.mappings = mappings
    }

    public init(key: InboxKey, nativeId: String?, mapping: IdMapping?) {
        self.init(key: key, nativeId: nativeId, mappings: mapping.map { [$0] } ?? [])
    }
}

extension ParleyStore {
    // MARK: Federation receiver

    /// Records a received federation transaction and stores its envelopes, in one transaction.
    ///
    /// Idempotent per (tenant, origin, transactionId) and per (tenant, origin, envelope id): a retried PUT reports
    /// `transactionWasNew == false` and every envelope it already delivered as ``InboundAcceptance/duplicate``.
    /// Envelopes the node rejected (signature, policy) must not be passed here. When this returns the accepted
    /// envelopes are durable and the PUT can be answered.
    public func receive(
        tenant: String, origin: String, transactionId: String, envelopes: [InboundEnvelope], now: Int64
    ) async throws(StoreError) -> ReceiveResult {
        try Check.name(tenant, "tenant")
        try Check.name(origin, "origin")
        try Check.name(transactionId, "transaction id")
        for envelope in envelopes {
            try Check.envelopeId(envelope.envelopeId)
            try Check.name(envelope.conversation, "conversation")
            if envelope.sealed.isEmpty { throw .invalid("sealed envelope bytes must not be empty") }
        }
        return try await write("receiving transaction \(transactionId) from \(origin)") { db in
            try db.cachedStatement(sql: """
                INSERT INTO received_txn (tenant, origin, txn_id, received_at, envelope_count) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """).execute(arguments: [tenant, origin, transactionId, now, envelopes.count])
            let transactionWasNew = db.changesCount > 0
            let insert = try db.cachedStatement(sql: """
                INSERT INTO inbox (tenant, origin, envelope_id, conversation, state, received_at,
                                   next_attempt_at, updated_at)
                VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)
                ON CONFLICT (tenant, origin, envelope_id) DO NOTHING
                """)
            var outcomes: [ReceiveResult.Outcome] = []
            outcomes.reserveCapacity(envelopes.count)
            for envelope in envelopes {
                try insert.execute(arguments: [tenant, origin, envelope.envelopeId, envelope.conversation, now, now, now])
                let accepted = db.changesCount > 0
                if accepted { try Self.insertBody(of: .inbox, seq: db.lastInsertedRowID, sealed: envelope.sealed, db) }
                outcomes.append(.init(envelopeId: envelope.envelopeId, acceptance: accepted ? .accepted : .duplicate))
            }
            return ReceiveResult(transactionWasNew: transactionWasNew, outcomes: outcomes)
        }
    }

    /// Whether (tenant, origin, transactionId) was received before.
    public func hasReceivedTransaction(tenant: String, origin: String, transactionId: String) async throws(StoreError) -> Bool {
        try await read("looking up a received transaction") { db in
            try Bool.fetchOne(db.cachedStatement(sql: """
                SELECT EXISTS (SELECT 1 FROM received_txn WHERE tenant = ? AND origin = ? AND txn_id = ?)
                """), arguments: [tenant, origin, transactionId]) ?? false
        }
    }

    // MARK: Egress

    /// Claims up to `limit` due inbox rows of `tenant` for delivery to the app, in per-conversation order, under one
    /// lease.
    ///
    /// Ordering is per (origin, conversation): a row is handed out only when every earlier row of its conversation is
    /// delivered or failed. `maxPerConversation` works as in ``claimOutbox(tenant:peer:limit:maxPerConversation:leaseMillis:now:)``.
    /// Delivered rows are never handed out again; see ``InboxItem`` for rows whose previous claim lapsed.
    /// Conversations take turns as in the outbox claim, so its cost grows with the conversations visited, not with
    /// the rows queued.
    ///
    /// `markingDelivered` rows are marked delivered first, in the same transaction, as
    /// ``markDeliveredEach(tenant:_:now:)`` would (``InboxClaim/markedDelivered`` tells which changed): an egress
    /// worker's records of what the app accepted in one pass ride on its next claim, one synced commit instead of a
    /// claim plus the records' own. Their conversations' next rows are claimable in this very claim. One invalid
    /// delivery fails the whole call; check each with ``validate(_:)-(InboxDelivery)`` first.
    public func claimInbox(
        tenant: String, limit: Int, maxPerConversation: Int = 1, leaseMillis: Int64, now: Int64,
        markingDelivered delivered: [InboxDelivery] = []
    ) async throws(StoreError) -> InboxClaim {
        try Check.name(tenant, "tenant")
        for delivery in delivered { try Self.validate(delivery) }
        try Check.positive(limit, "limit")
        try Check.positive(maxPerConversation, "maxPerConversation")
        try Check.positive(Int(clamping: leaseMillis), "leaseMillis")
        let token = newLeaseToken()
        let leaseUntil = try Check.leaseEnd(now: now, leaseMillis: leaseMillis)
        let progress = self.progress
        let scanRows = claimScanRows
        // Marks carry id map rows, which are new facts (not just progress), so a claim with marks is synced.
        return try await write("claiming inbox rows", synced: !delivered.isEmpty) { db in
            let marked = try Self.markDelivered(tenant: tenant, delivered, now: now, db)
            let claimed = try ClaimWalk.inbox.claim(
                db, scope: [tenant], progress: progress, limit: limit, perConversation: maxPerConversation, now: now,
                leaseUntil: leaseUntil, token: token, returning: Self.inboxItemColumns, scanRows: scanRows)
            let items = claimed.rows.map { Self.inboxItem($0, from: 1) }
            return InboxClaim(leaseToken: token, leaseUntil: leaseUntil, items: items, stoppedEarly: claimed.stoppedEarly,
                              markedDelivered: marked)
        }
    }

    /// The columns ``inboxItem(_:from:)`` reads, in its order.
    static let inboxItemColumns = """
        tenant, origin, envelope_id, conversation, \(Schema.sealedColumn("inbox")), received_at, attempts, lease_lapsed, last_error
        """

    static func inboxItem(_ row: Row, from i: Int) -> InboxItem {
        InboxItem(
            tenant: row[i], key: InboxKey(origin: row[i + 1], envelopeId: row[i + 2]), conversation: row[i + 3],
            sealed: row[i + 4], receivedAt: row[i + 5], attempt: row[i + 6], previousClaimUnresolved: row[i + 7],
            lastError: row[i + 8])
    }

    static func inboxItem(_ row: Row) -> InboxItem {
        InboxItem(
            tenant: row["tenant"], key: InboxKey(origin: row["origin"], envelopeId: row["envelope_id"]),
            conversation: row["conversation"], sealed: row["sealed"], receivedAt: row["received_at"],
            attempt: row["attempts"], previousClaimUnresolved: row["lease_lapsed"], lastError: row["last_error"])
    }

    /// Marks one inbox row delivered with the app's native id, and writes its id map row, in one transaction.
    ///
    /// Returns `false` when the row was already delivered or failed (nothing changes then, so a repeated call is
    /// harmless). Applies whoever holds the lease: the app accepted the message, that is a fact.
    @discardableResult
    public func markDelivered(tenant: String, key: InboxKey, nativeId: String?, mapping: IdMapping? = nil, now: Int64) async throws(StoreError) -> Bool {
        try await markDelivered(tenant: tenant, [InboxDelivery(key: key, nativeId: nativeId, mapping: mapping)], now: now) == 1
    }

    /// Marks many inbox rows delivered (and their id map rows) in one transaction. Returns how many rows changed.
    @discardableResult
    public func markDelivered(tenant: String, _ deliveries: [InboxDelivery], now: Int64) async throws(StoreError) -> Int {
        try await markDeliveredEach(tenant: tenant, deliveries, now: now).count { $0 }
    }

    /// Checks a delivery as ``markDeliveredEach(tenant:_:now:)`` would, so one bad row can be refused alone before it
    /// joins a batch.
    public static func validate(_ delivery: InboxDelivery) throws(StoreError) {
        try Check.name(delivery.key.origin, "origin")
        try Check.envelopeId(delivery.key.envelopeId)
        if let nativeId = delivery.nativeId { try Check.name(nativeId, "native id") }
        for mapping in delivery.mappings { try Check.mapping(mapping) }
    }

    /// Like ``markDelivered(tenant:_:now:)``, telling for each row whether it changed (`false`: it was already
    /// delivered or failed).
    public func markDeliveredEach(tenant: String, _ deliveries: [InboxDelivery], now: Int64) async throws(StoreError) -> [Bool] {
        try Check.name(tenant, "tenant")
        for delivery in deliveries { try Self.validate(delivery) }
        if deliveries.isEmpty { return [] }
        return try await write("marking \(deliveries.count) inbox row(s) delivered") { db in
            try Self.markDelivered(tenant: tenant, deliveries, now: now, db)
        }
    }

    private static func markDelivered(tenant: String, _ deliveries: [InboxDelivery], now: Int64, _ db: Database) throws -> [Bool] {
        if deliveries.isEmpty { return [] }
        let update = try db.cachedStatement(sql: """
            UPDATE inbox SET state = 'delivered', native_id = ?, lease_until = NULL, lease_token = NULL,
                   lease_lapsed = 0, updated_at = ?
            WHERE tenant = ? AND origin = ? AND envelope_id = ? AND state IN ('pending', 'inflight')
            """)
        var changed: [Bool] = []
        changed.reserveCapacity(deliveries.count)
        for delivery in deliveries {
            try update.execute(arguments: [delivery.nativeId, now, tenant, delivery.key.origin, delivery.key.envelopeId])
            changed.append(db.changesCount > 0)
            if db.changesCount > 0, !delivery.mappings.isEmpty {
                _ = try Self.insertMappings(tenant: tenant, delivery.mappings, now: now, db)
            }
        }
        return changed
    }

    /// Puts claimed inbox rows back as pending until their `nextAttemptAt`, recording the error. Only rows still
    /// held under `leaseToken` change. Returns how many rows changed.
    @discardableResult
    public func scheduleInboxRetry(tenant: String, leaseToken: String, retries: [InboxRetry], now: Int64) async throws(StoreError) -> Int {
        try Check.name(tenant, "tenant")
        try Check.name(leaseToken, "lease token")
        for retry in retries { try Check.envelopeId(retry.key.envelopeId) }
        if retries.isEmpty { return 0 }
        return try await write("scheduling \(retries.count) inbox retr(ies)", synced: false) { db in
            try Self.updateEach(db, """
                UPDATE inbox SET state = 'pending', next_attempt_at = ?, last_error = ?, lease_until = NULL,
                       lease_token = NULL, lease_lapsed = 0, updated_at = ?
                WHERE tenant = ? AND origin = ? AND envelope_id = ? AND state = 'inflight' AND lease_token = ?
                """, retries) { [$0.nextAttemptAt, $0.error, now, tenant, $0.key.origin, $0.key.envelopeId, leaseToken] }
        }
    }

    /// Hands claimed rows that were never tried back, due at once and without counting the claim as an attempt:
    /// the rows queued behind one that must be retried, so they neither wait out the lease nor use up retries they
    /// never had. Only rows still held under `leaseToken` change. Returns how many rows changed.
    @discardableResult
    public func returnUntried(tenant: String, leaseToken: String, keys: [InboxKey], now: Int64) async throws(StoreError) -> Int {
        try Check.name(tenant, "tenant")
        try Check.name(leaseToken, "lease token")
        for key in keys { try Check.envelopeId(key.envelopeId) }
        if keys.isEmpty { return 0 }
        return try await write("returning \(keys.count) untried inbox row(s)", synced: false) { db in
            try Self.updateEach(db, """
                UPDATE inbox SET state = 'pending', next_attempt_at = ?, attempts = max(0, attempts - 1), lease_until = NULL,
                       lease_token = NULL, lease_lapsed = 0, updated_at = ?
                WHERE tenant = ? AND origin = ? AND envelope_id = ? AND state = 'inflight' AND lease_token = ?
                """, keys) { [now, now, tenant, $0.origin, $0.envelopeId, leaseToken] }
        }
    }

    /// Marks inbox rows failed with a reason code (the app refused them, or they cannot be opened). Applies to any
    /// unfinished row. Returns how many rows changed.
    @discardableResult
    public func markInboxFailed(tenant: String, failures: [InboxFailure], now: Int64) async throws(StoreError) -> Int {
        try Check.name(tenant, "tenant")
        for failure in failures {
            try Check.envelopeId(failure.key.envelopeId)
            try Check.name(failure.reason, "failure reason")
        }
        if failures.isEmpty { return 0 }
        return try await write("marking \(failures.count) inbox row(s) failed") { db in
            let update = try db.cachedStatement(sql: """
                UPDATE inbox SET state = 'failed', fail_reason = ?, last_error = coalesce(?, last_error),
                       lease_until = NULL, lease_token = NULL, lease_lapsed = 0, updated_at = ?
                WHERE tenant = ? AND origin = ? AND envelope_id = ? AND state IN ('pending', 'inflight')
                """)
            var changed = 0
            for failure in failures {
                try update.execute(arguments: [
                    failure.reason, failure.detail, now, tenant, failure.key.origin, failure.key.envelopeId,
                ])
                changed += db.changesCount
            }
            return changed
        }
    }

    /// Inbox rows still to deliver (pending or in flight), for one origin or all.
    public func inboxDepth(tenant: String, origin: String? = nil) async throws(StoreError) -> Int {
        try await read("counting the inbox") { db in
            if let origin {
                return try Int.fetchOne(db.cachedStatement(sql: """
                    SELECT count(*) FROM inbox WHERE tenant = ? AND origin = ? AND state IN ('pending', 'inflight')
                    """), arguments: [tenant, origin]) ?? 0
            }
            return try Int.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) FROM inbox WHERE tenant = ? AND state IN ('pending', 'inflight')
                """), arguments: [tenant]) ?? 0
        }
    }

    /// Which of `keys` the tenant's inbox already holds (in any state): one read for a whole transaction.
    public func existingInboxKeys(tenant: String, among keys: [InboxKey]) async throws(StoreError) -> Set<InboxKey> {
        guard !keys.isEmpty else { return [] }
        return try await present("checking inbox rows", among: keys,
                                 sql: "SELECT 1 FROM inbox WHERE tenant = ? AND origin = ? AND envelope_id = ?") { [tenant, $0.origin, $0.envelopeId] }
    }

    /// One inbox row with its state (`pending`, `inflight`, `delivered`, `failed`), native id and failure reason.
    public func inboxEntry(tenant: String, key: InboxKey) async throws(StoreError) -> InboxEntry? {
        try await read("reading an inbox row") { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT *, \(Schema.sealedColumn("inbox")) AS sealed FROM inbox WHERE tenant = ? AND origin = ? AND envelope_id = ?
                """),
                             arguments: [tenant, key.origin, key.envelopeId])
                .map { row in
                    InboxEntry(item: Self.inboxItem(row), state: row["state"], nativeId: row["native_id"],
                               failReason: row["fail_reason"])
                }
        }
    }
}

/// An inbox row with its state, for status and diagnostics.
public struct InboxEntry: Sendable, Hashable {
    public var item: InboxItem
    public var state: String
    public var nativeId: String?
    public var failReason: String?
}
