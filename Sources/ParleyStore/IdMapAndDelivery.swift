import Foundation
import GRDB

extension ParleyStore {
    // MARK: Id map

    /// Records native id ⇄ canonical id pairs in one transaction. A pair whose native key is already mapped is kept
    /// as first recorded (ids never move). Returns the pairs actually inserted.
    @discardableResult
    public func recordIdMappings(tenant: String, _ mappings: [IdMapping], now: Int64) async throws(StoreError) -> [IdMapping] {
        try Check.name(tenant, "tenant")
        for mapping in mappings { try Check.mapping(mapping) }
        if mappings.isEmpty { return [] }
        return try await write("recording \(mappings.count) id mapping(s)") { db in
            try Self.insertMappings(tenant: tenant, mappings, now: now, db)
        }
    }

    /// `envelopes`: the envelopes queued in the same transaction; a mapping names the first of them that carries its
    /// canonical id, so delivery records can be found by message (see `Schema.v4`).
    static func insertMappings(
        tenant: String, _ mappings: [IdMapping], now: Int64, envelopes: [OutboundEnvelope] = [], _ db: Database
    ) throws -> [IdMapping] {
        if mappings.isEmpty { return [] }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO id_map (tenant, app, conversation, native_id, canonical_id, created_at, envelope_id, delivered_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO NOTHING
            """)
        var inserted: [IdMapping] = []
        for mapping in mappings {
            let envelope = envelopes.first { $0.canonicalId == mapping.canonicalId }?.envelopeId
            try insert.execute(arguments: [
                tenant, mapping.app, mapping.conversation, mapping.nativeId, mapping.canonicalId, now, envelope, mapping.deliveredAt,
            ])
            if db.changesCount > 0 { inserted.append(mapping) }
        }
        return inserted
    }

    /// The canonical id of a native message, or `nil` when unknown.
    public func canonicalId(tenant: String, app: String, conversation: String, nativeId: String) async throws(StoreError) -> Data? {
        try await lookup("looking up a canonical id") { db in
            try Data.fetchOne(db.cachedStatement(sql: """
                SELECT canonical_id FROM id_map WHERE tenant = ? AND app = ? AND conversation = ? AND native_id = ?
                """), arguments: [tenant, app, conversation, nativeId])
        }
    }

    /// The native ids a canonical message has in this tenant's apps (optionally one app), oldest first.
    public func nativeIds(tenant: String, canonicalId: Data, app: String? = nil) async throws(StoreError) -> [IdMapping] {
        try Check.canonicalId(canonicalId)
        return try await lookup("looking up native ids") { db in
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT \(Self.idMappingColumns) FROM id_map
                WHERE tenant = ? AND canonical_id = ? AND (? IS NULL OR app = ?)
                ORDER BY created_at, app, conversation, native_id
                """), arguments: [tenant, canonicalId, app, app])
            return rows.map(Self.idMapping)
        }
    }

    /// The messages this node delivered into `app` in one conversation whose ``IdMapping/deliveredAt`` falls in
    /// `from...through`, oldest delivery first, at most `limit`: what a watermark receipt ("read up to time T") covers.
    public func deliveredMessages(
        tenant: String, app: String, conversation: String, deliveredFrom from: Int64, through: Int64, limit: Int
    ) async throws(StoreError) -> [IdMapping] {
        try Check.name(tenant, "tenant")
        try Check.positive(limit, "limit")
        return try await read("looking up messages delivered in a time range") { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                SELECT \(Self.idMappingColumns) FROM id_map INDEXED BY id_map_delivered
                WHERE tenant = ? AND app = ? AND conversation = ? AND delivered_at >= ? AND delivered_at <= ?
                ORDER BY delivered_at LIMIT ?
                """), arguments: [tenant, app, conversation, from, through, limit]).map(Self.idMapping)
        }
    }

    static let idMappingColumns = "app, conversation, native_id, canonical_id, delivered_at"

    static func idMapping(_ row: Row) -> IdMapping {
        IdMapping(app: row[0], conversation: row[1], nativeId: row[2], canonicalId: row[3], deliveredAt: row[4])
    }

    // MARK: Delivery state
    //
    // Since schema v4 a delivery record is its outbox row: `queued`, `sent` and `failed` (dead-lettered) follow from
    // the row's state, and what only a receipt tells is kept in its `receipt_*` columns (see `Schema.v4`).

    /// Advances the delivery state of one outbound envelope (a receipt came back, or a failure was reported).
    ///
    /// Only forward moves apply (see ``DeliveryStatus``). Returns `true` when the record changed; `false` when the
    /// envelope is unknown or the move would go backwards.
    @discardableResult
    public func recordDeliveryStatus(
        tenant: String, envelopeId: Data, status: DeliveryStatus, reason: String? = nil, now: Int64
    ) async throws(StoreError) -> Bool {
        try Check.name(tenant, "tenant")
        try Check.envelopeId(envelopeId)
        return try await write("recording delivery status \(status.rawValue)") { db in
            guard let row = try Self.deliveryRow(tenant: tenant, envelopeId: envelopeId, db) else { return false }
            return try Self.advanceDelivery(row, to: status, reason: reason, now: now, db)
        }
    }

    /// Advances the delivery state of the envelopes that carried `canonicalId` to `peer` (receipts name messages,
    /// not envelopes): the envelopes ingested together with the message's id map row. Returns how many records
    /// changed.
    @discardableResult
    public func recordDeliveryStatus(
        tenant: String, peer: String, canonicalId: Data, status: DeliveryStatus, reason: String? = nil, now: Int64
    ) async throws(StoreError) -> Int {
        try Check.name(tenant, "tenant")
        try Check.name(peer, "peer")
        try Check.canonicalId(canonicalId)
        return try await write("recording delivery status \(status.rawValue)") { db in
            let rows = try Self.deliveryRows(tenant: tenant, canonicalId: canonicalId, db).filter { $0[2] == peer }
            var changed = 0
            for row in rows where try Self.advanceDelivery(row, to: status, reason: reason, now: now, db) {
                changed += 1
            }
            return changed
        }
    }

    /// Moves the record read by ``deliverySelect`` to `status` if that is a forward move.
    private static func advanceDelivery(_ row: Row, to status: DeliveryStatus, reason: String?, now: Int64, _ db: Database) throws -> Bool {
        // An unknown stored value (a newer schema's state) is left alone.
        guard let current = deliveryRecord(row), current.status.canAdvance(to: status) else { return false }
        try db.cachedStatement(sql: """
            UPDATE outbox SET receipt_status = ?, receipt_reason = ?, receipt_at = ?, updated_at = ? WHERE tenant = ? AND envelope_id = ?
            """).execute(arguments: [status.rawValue, reason, now, now, current.tenant, current.envelopeId])
        return true
    }

    /// The delivery record of one outbound envelope.
    public func deliveryRecord(tenant: String, envelopeId: Data) async throws(StoreError) -> DeliveryRecord? {
        try await read("reading a delivery record") { db in
            try Self.deliveryRow(tenant: tenant, envelopeId: envelopeId, db).flatMap(Self.deliveryRecord)
        }
    }

    /// The outbox row (as ``deliverySelect`` reads it) of one envelope.
    private static func deliveryRow(tenant: String, envelopeId: Data, _ db: Database) throws -> Row? {
        try Row.fetchOne(db.cachedStatement(sql: "\(deliverySelect) WHERE tenant = ? AND envelope_id = ?"), arguments: [tenant, envelopeId])
    }

    /// The delivery records of the envelopes that carried `canonicalId` (one per destination peer), found through the
    /// message's id map rows: an envelope ingested without one (a reaction, an edit) is found by its envelope id only.
    public func deliveryRecords(tenant: String, canonicalId: Data) async throws(StoreError) -> [DeliveryRecord] {
        try Check.canonicalId(canonicalId)
        return try await read("reading delivery records") { db in
            try Self.deliveryRows(tenant: tenant, canonicalId: canonicalId, db).compactMap(Self.deliveryRecord)
        }
    }

    /// The outbox rows (as ``deliverySelect`` reads them) of the envelopes that carried `canonicalId`, by peer: the ones
    /// the message's id map rows name.
    private static func deliveryRows(tenant: String, canonicalId: Data, _ db: Database) throws -> [Row] {
        try Row.fetchAll(db.cachedStatement(sql: deliveryByMessageSQL), arguments: [tenant, tenant, canonicalId, canonicalId])
    }

    /// Arguments: tenant, tenant, canonical id, canonical id. Without statistics SQLite prefers walking the tenant's
    /// whole id map by primary key to the canonical-id index plus a primary-key lookup per hit; it must take the index.
    static let deliveryByMessageSQL = """
        \(deliverySelect) WHERE tenant = ? AND envelope_id IN (
            SELECT envelope_id FROM id_map INDEXED BY id_map_canonical
            WHERE tenant = ? AND canonical_id = ? AND envelope_id IS NOT NULL)
          AND canonical_id = ?
        ORDER BY peer
        """

    /// The outbox columns a delivery record is made of, in the order ``deliveryRecord(_:)`` reads them.
    static let deliverySelect = """
        SELECT tenant, envelope_id, peer, canonical_id, state, dead_reason, updated_at, receipt_status, receipt_reason, receipt_at
        FROM outbox
        """

    /// A receipt's `delivered`, `read` or `failed` outranks the row's own state; otherwise a dead row is `failed` with
    /// its dead-letter reason, a sent row (or one a caller recorded as sent) `sent`, and a live row `queued`.
    /// `Schema.deliveryStatusSQL` is the same rule in SQL.
    static func deliveryRecord(_ row: Row) -> DeliveryRecord? {
        let state: String = row[4]
        let receiptRaw: String? = row[7]
        let receipt = receiptRaw.flatMap(DeliveryStatus.init(rawValue:))
        if receiptRaw != nil, receipt == nil { return nil }
        let updatedAt: Int64 = row[6]
        let receiptAt: Int64 = row[9] ?? updatedAt
        let status: DeliveryStatus
        var reason: String?
        var changedAt = updatedAt
        switch (receipt, state) {
        case (.delivered?, _), (.read?, _), (.failed?, _):
            status = receipt ?? .failed
            reason = row[8]
            changedAt = receiptAt
        case (_, "dead"):
            status = .failed
            reason = row[5]
        case (_, "sent"):
            status = .sent
        case (.sent?, _):
            status = .sent
            changedAt = receiptAt
        default:
            status = .queued
        }
        return DeliveryRecord(
            tenant: row[0], envelopeId: row[1], peer: row[2], canonicalId: row[3], status: status, reason: reason,
            updatedAt: changedAt)
    }
}
