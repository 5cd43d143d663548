import Foundation
import GRDB

/// The simulator's durable state: users, groups, messages, reactions, queued webhook updates and deliveries.
struct SimStore: Sendable {
    let pool: DatabasePool

    init(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            pool = try DatabasePool(path: (directory as NSString).appendingPathComponent("sim.sqlite"))
            try Self.migrator.migrate(pool)
        } catch {
            throw SimulatorError(code: "store", message: "cannot open the simulator store in \(directory): \(error)", httpStatus: 500)
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE users(id TEXT PRIMARY KEY, name TEXT NOT NULL, created_ms INTEGER NOT NULL);
                CREATE TABLE groups(id TEXT PRIMARY KEY, members TEXT NOT NULL);
                CREATE TABLE messages(
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    native_id TEXT NOT NULL UNIQUE,
                    account TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    direction TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    text TEXT, reply_to TEXT, media_url TEXT, caption TEXT, group_id TEXT,
                    status TEXT NOT NULL,
                    error_code INTEGER, error_message TEXT,
                    edits INTEGER NOT NULL DEFAULT 0,
                    deleted INTEGER NOT NULL DEFAULT 0,
                    created_ms INTEGER NOT NULL);
                CREATE INDEX messages_by_user ON messages(user_id, direction, seq);
                CREATE TABLE reactions(native_id TEXT NOT NULL, actor TEXT NOT NULL, emoji TEXT NOT NULL,
                    PRIMARY KEY(native_id, actor));
                CREATE TABLE events(
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    account TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    item BLOB NOT NULL,
                    contact BLOB,
                    created_ms INTEGER NOT NULL,
                    available_ms INTEGER NOT NULL,
                    delivery_id INTEGER);
                CREATE INDEX events_pending ON events(delivery_id, account, id);
                CREATE TABLE deliveries(
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    account TEXT NOT NULL,
                    body BLOB NOT NULL,
                    item_count INTEGER NOT NULL,
                    created_ms INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_ms INTEGER NOT NULL,
                    state TEXT NOT NULL,
                    last_status INTEGER, last_error TEXT,
                    delivered_ms INTEGER);
                CREATE INDEX deliveries_due ON deliveries(state, next_attempt_ms);
                """)
        }
        return m
    }

    // MARK: users and groups

    static func user(_ db: Database, _ id: String) throws -> SimUser? {
        try Row.fetchOne(db, sql: "SELECT id, name FROM users WHERE id = ?", arguments: [id]).map {
            SimUser(id: $0["id"], name: $0["name"])
        }
    }

    static func upsertUser(_ db: Database, _ user: SimUser, now: Int64) throws {
        try db.execute(sql: """
            INSERT INTO users(id, name, created_ms) VALUES (?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET name = excluded.name
            """, arguments: [user.id, user.name, now])
    }

    static func users(_ db: Database) throws -> [SimUser] {
        try Row.fetchAll(db, sql: "SELECT id, name FROM users ORDER BY created_ms, id").map { SimUser(id: $0["id"], name: $0["name"]) }
    }

    static func group(_ db: Database, _ id: String) throws -> [String]? {
        guard let members: String = try String.fetchOne(db, sql: "SELECT members FROM groups WHERE id = ?", arguments: [id]) else { return nil }
        return members.split(separator: "\n").map(String.init)
    }

    static func putGroup(_ db: Database, _ id: String, members: [String]) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO groups(id, members) VALUES (?, ?)", arguments: [id, members.joined(separator: "\n")])
    }

    // MARK: messages

    struct NewMessage {
        var nativeId: String
        var account: String
        var user: String
        var direction: String
        var kind: String
        var text: String? = nil
        var replyTo: String? = nil
        var mediaURL: String? = nil
        var caption: String? = nil
        var groupId: String? = nil
        var status: String
        var createdMs: Int64
    }

    static func insert(_ db: Database, _ m: NewMessage) throws {
        try db.execute(sql: """
            INSERT INTO messages(native_id, account, user_id, direction, kind, text, reply_to, media_url, caption, group_id, status, created_ms)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [m.nativeId, m.account, m.user, m.direction, m.kind, m.text, m.replyTo, m.mediaURL, m.caption, m.groupId, m.status, m.createdMs])
    }

    static func message(_ db: Database, _ nativeId: String) throws -> SimMessage? {
        try Row.fetchOne(db, sql: "SELECT * FROM messages WHERE native_id = ?", arguments: [nativeId]).map { try decode(db, $0) }
    }

    static func messages(_ db: Database, user: String, direction: String) throws -> [SimMessage] {
        try Row.fetchAll(db, sql: "SELECT * FROM messages WHERE user_id = ? AND direction = ? ORDER BY seq", arguments: [user, direction])
            .map { try decode(db, $0) }
    }

    /// Business messages to `user` from `account` not yet read, up to and including `upTo` (all when nil).
    static func unread(_ db: Database, user: String, account: String, upTo: String?) throws -> [SimMessage] {
        var limit = Int64.max
        if let upTo, let seq = try Int64.fetchOne(db, sql: "SELECT seq FROM messages WHERE native_id = ?", arguments: [upTo]) { limit = seq }
        return try Row.fetchAll(db, sql: """
            SELECT * FROM messages WHERE user_id = ? AND account = ? AND direction = 'toUser' AND status != 'read' AND seq <= ?
            ORDER BY seq
            """, arguments: [user, account, limit]).map { try decode(db, $0) }
    }

    static func setStatus(_ db: Database, _ nativeId: String, status: String, errorCode: Int? = nil, errorMessage: String? = nil) throws {
        try db.execute(sql: "UPDATE messages SET status = ?, error_code = ?, error_message = ? WHERE native_id = ?",
                       arguments: [status, errorCode, errorMessage, nativeId])
    }

    static func setEdited(_ db: Database, _ nativeId: String, text: String) throws -> Int {
        try db.execute(sql: "UPDATE messages SET text = ?, edits = edits + 1 WHERE native_id = ?", arguments: [text, nativeId])
        return try Int.fetchOne(db, sql: "SELECT edits FROM messages WHERE native_id = ?", arguments: [nativeId]) ?? 1
    }

    static func setDeleted(_ db: Database, _ nativeId: String) throws {
        try db.execute(sql: "UPDATE messages SET deleted = 1 WHERE native_id = ?", arguments: [nativeId])
    }

    static func setReaction(_ db: Database, _ nativeId: String, actor: String, emoji: String?) throws {
        if let emoji, !emoji.isEmpty {
            try db.execute(sql: "INSERT OR REPLACE INTO reactions(native_id, actor, emoji) VALUES (?, ?, ?)", arguments: [nativeId, actor, emoji])
        } else {
            try db.execute(sql: "DELETE FROM reactions WHERE native_id = ? AND actor = ?", arguments: [nativeId, actor])
        }
    }

    private static func decode(_ db: Database, _ row: Row) throws -> SimMessage {
        let id: String = row["native_id"]
        let reactions = try Row.fetchAll(db, sql: "SELECT actor, emoji FROM reactions WHERE native_id = ? ORDER BY actor", arguments: [id])
            .map { SimReaction(actor: $0["actor"], emoji: $0["emoji"]) }
        return SimMessage(
            nativeId: id, account: row["account"], user: row["user_id"], direction: row["direction"], kind: row["kind"],
            text: row["text"], replyTo: row["reply_to"], mediaURL: row["media_url"], caption: row["caption"], groupId: row["group_id"],
            status: row["status"], errorCode: row["error_code"], errorMessage: row["error_message"],
            edits: row["edits"], deleted: (row["deleted"] as Int) != 0, reactions: reactions, timestampMs: row["created_ms"])
    }

    // MARK: webhook queue

    /// One webhook update waiting to be batched.
    struct QueuedUpdate {
        var kind: String        // WhatsApp: "message" | "status"; Messenger/Instagram: "messaging"
        var item: JSONValue
        var contact: JSONValue?
        var availableMs: Int64
    }

    static func enqueue(_ db: Database, account: String, _ updates: [QueuedUpdate], now: Int64) throws {
        for u in updates {
            try db.execute(sql: """
                INSERT INTO events(account, kind, item, contact, created_ms, available_ms) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [account, u.kind, Data(u.item.serialized(escapeLikeMeta: false)),
                                 u.contact.map { Data($0.serialized(escapeLikeMeta: false)) }, now, u.availableMs])
        }
    }

    struct PendingEvent {
        var id: Int64
        var account: String
        var kind: String
        var item: JSONValue
        var contact: JSONValue?
        var availableMs: Int64
    }

    static func pendingEvents(_ db: Database, now: Int64) throws -> [PendingEvent] {
        try Row.fetchAll(db, sql: """
            SELECT id, account, kind, item, contact, available_ms FROM events
            WHERE delivery_id IS NULL AND available_ms <= ? ORDER BY id
            """, arguments: [now]).compactMap { row in
            let itemData: Data = row["item"]
            let contactData: Data? = row["contact"]
            guard let item = JSONValue.parse(Array(itemData)) else { return nil }
            return PendingEvent(id: row["id"], account: row["account"], kind: row["kind"], item: item,
                                contact: contactData.flatMap { JSONValue.parse(Array($0)) }, availableMs: row["available_ms"])
        }
    }

    static func createDelivery(_ db: Database, account: String, body: [UInt8], eventIds: [Int64], now: Int64) throws {
        try db.execute(sql: """
            INSERT INTO deliveries(account, body, item_count, created_ms, next_attempt_ms, state) VALUES (?, ?, ?, ?, ?, 'pending')
            """, arguments: [account, Data(body), eventIds.count, now, now])
        let id = db.lastInsertedRowID
        for e in eventIds { try db.execute(sql: "UPDATE events SET delivery_id = ? WHERE id = ?", arguments: [id, e]) }
    }

    struct DueDelivery {
        var id: Int64
        var body: [UInt8]
        var attempts: Int
    }

    /// Due deliveries, only the oldest pending one per account so each account's updates stay in order.
    static func dueDeliveries(_ db: Database, now: Int64, limit: Int) throws -> [DueDelivery] {
        try Row.fetchAll(db, sql: """
            SELECT id, body, attempts FROM deliveries d
            WHERE state = 'pending' AND next_attempt_ms <= ?
              AND id = (SELECT MIN(id) FROM deliveries WHERE state = 'pending' AND account = d.account)
            ORDER BY id LIMIT ?
            """, arguments: [now, limit]).map { row in
            let body: Data = row["body"]
            return DueDelivery(id: row["id"], body: Array(body), attempts: row["attempts"])
        }
    }

    /// The reorder fault: nothing until no pending delivery is younger than `quietMs`, then every due one, newest
    /// first, ignoring per-account order.
    static func dueDeliveriesNewestFirst(_ db: Database, now: Int64, quietMs: Int64, limit: Int) throws -> [DueDelivery] {
        try Row.fetchAll(db, sql: """
            SELECT id, body, attempts FROM deliveries
            WHERE state = 'pending' AND next_attempt_ms <= ?
              AND (SELECT MAX(created_ms) FROM deliveries WHERE state = 'pending') <= ?
            ORDER BY id DESC LIMIT ?
            """, arguments: [now, now - quietMs, limit]).map { row in
            let body: Data = row["body"]
            return DueDelivery(id: row["id"], body: Array(body), attempts: row["attempts"])
        }
    }

    static func recordAttempt(_ db: Database, id: Int64, status: Int?, error: String?, delivered: Bool, nextAttemptMs: Int64, now: Int64) throws {
        try db.execute(sql: """
            UPDATE deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?,
                state = ?, next_attempt_ms = ?, delivered_ms = ? WHERE id = ?
            """, arguments: [status, error, delivered ? "delivered" : "pending", nextAttemptMs, delivered ? now : nil, id])
    }

    static func deliveries(_ db: Database) throws -> [SimWebhookDelivery] {
        try Row.fetchAll(db, sql: "SELECT * FROM deliveries ORDER BY id").map { row in
            let body: Data = row["body"]
            return SimWebhookDelivery(
                id: row["id"], account: row["account"], body: String(decoding: body, as: UTF8.self), itemCount: row["item_count"],
                attempts: row["attempts"], state: row["state"], lastStatus: row["last_status"], lastError: row["last_error"],
                createdMs: row["created_ms"], deliveredMs: row["delivered_ms"])
        }
    }

    static func pendingCount(_ db: Database) throws -> Int {
        let events = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE delivery_id IS NULL") ?? 0
        let deliveries = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'") ?? 0
        return events + deliveries
    }
}
