import Foundation
import GRDB

extension ParleyStore {
    // MARK: Retention

    /// Applies retention for one tenant, in one transaction, and returns what it removed.
    ///
    /// - Finished rows (outbox `sent`/`dead`, inbox `delivered`/`failed`) last changed before `rowsBefore` are
    ///   deleted (with the delivery records they carry), and so are native-event dedup keys, received transaction ids and
    ///   expired peer bundles older than it. Rows still pending or in flight are never touched.
    /// - Finished rows kept but last changed before `ciphertextBefore` lose their sealed bytes.
    ///
    /// Deleting an inbox row ends deduplication of that envelope id, and deleting a native-event key ends dedup of
    /// that webhook: pick `rowsBefore` older than the longest envelope lifetime the node accepts and the longest
    /// time an app retries a webhook. The id map is kept (replies can quote old messages).
    public func purge(tenant: String, rowsBefore: Int64, ciphertextBefore: Int64) async throws(StoreError) -> PurgeCounts {
        try Check.name(tenant, "tenant")
        return try await write("applying retention") { db in
            var counts = PurgeCounts()
            func run(_ sql: String, _ arguments: StatementArguments) throws -> Int {
                try db.execute(sql: sql, arguments: arguments)
                return db.changesCount
            }
            // A row's sealed bytes live beside it (schema v5). Kept rows past `ciphertextBefore` lose them (counted);
            // rows about to be deleted lose them uncounted. Both through the `*_finished` indexes.
            for (queue, finished) in [("outbox", "'sent', 'dead'"), ("inbox", "'delivered', 'failed'")] {
                let rows = "SELECT seq FROM \(queue) WHERE tenant = ? AND state IN (\(finished)) AND updated_at < ?"
                counts.ciphertextsCleared += try run(
                    "DELETE FROM \(queue)_body WHERE seq IN (\(rows) AND updated_at >= ?)", [tenant, ciphertextBefore, rowsBefore])
                _ = try run("DELETE FROM \(queue)_body WHERE seq IN (\(rows))", [tenant, rowsBefore])
            }
            counts.outboxRowsDeleted = try run("""
                DELETE FROM outbox WHERE tenant = ? AND state IN ('sent', 'dead') AND updated_at < ?
                """, [tenant, rowsBefore])
            // A delivery record is its outbox row (schema v4): it goes when the row goes.
            counts.deliveryRecordsDeleted = counts.outboxRowsDeleted
            counts.inboxRowsDeleted = try run("""
                DELETE FROM inbox WHERE tenant = ? AND state IN ('delivered', 'failed') AND updated_at < ?
                """, [tenant, rowsBefore])
            counts.nativeEventsDeleted = try run("""
                DELETE FROM native_event WHERE tenant = ? AND received_at < ?
                """, [tenant, rowsBefore])
            counts.transactionsDeleted = try run("""
                DELETE FROM received_txn WHERE tenant = ? AND received_at < ?
                """, [tenant, rowsBefore])
            counts.peerBundlesDeleted = try run("""
                DELETE FROM peer_bundle WHERE tenant = ? AND expires_at < ?
                """, [tenant, rowsBefore])
            return counts
        }
    }

    // MARK: Stats

    /// Counts per state per peer for one tenant, read from one consistent snapshot.
    public func stats(tenant: String) async throws(StoreError) -> StoreStats {
        try await read("reading stats") { db in try Self.stats(tenant: tenant, db) }
    }

    /// ``stats(tenant:)`` for every tenant in the store, from one snapshot.
    public func stats() async throws(StoreError) -> [StoreStats] {
        try await read("reading stats") { db in
            let tenants = try String.fetchAll(db, sql: """
                SELECT tenant FROM outbox UNION SELECT tenant FROM inbox UNION SELECT tenant FROM key_material
                UNION SELECT tenant FROM consent ORDER BY 1
                """)
            return try tenants.map { try Self.stats(tenant: $0, db) }
        }
    }

    private static func stats(tenant: String, _ db: Database) throws -> StoreStats {
        func queue(_ sql: String) throws -> [QueueCount] {
            try Row.fetchAll(db, sql: sql, arguments: [tenant]).map { row in
                QueueCount(peer: row[0], state: row[1], count: row[2], oldest: row[3])
            }
        }
        let outbox = try queue("""
            SELECT peer, state, count(*), min(created_at) FROM outbox WHERE tenant = ? GROUP BY peer, state ORDER BY peer, state
            """)
        let inbox = try queue("""
            SELECT origin, state, count(*), min(received_at) FROM inbox WHERE tenant = ? GROUP BY origin, state ORDER BY origin, state
            """)
        var delivery: [DeliveryStatus: Int] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT \(Schema.deliveryStatusSQL), count(*) FROM outbox WHERE tenant = ? GROUP BY 1
            """, arguments: [tenant]) {
            if let status = DeliveryStatus(rawValue: row[0]) { delivery[status] = row[1] }
        }
        let consents = try Int.fetchOne(db, sql: "SELECT count(*) FROM consent WHERE tenant = ? AND granted = 1",
                                        arguments: [tenant]) ?? 0
        return StoreStats(tenant: tenant, outbox: outbox, inbox: inbox, delivery: delivery, consentsGranted: consents)
    }
}
