import Foundation
import GRDB
import Logging

/// The simulated back-end: users, conversations, the native send API's semantics and the webhook updates
/// that user actions produce. Everything durable lives in the store, so this type holds no mutable state.
final class SimEngine: Sendable {
    let config: SimulatorConfig
    let store: SimStore
    let logger: Logger

    init(config: SimulatorConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        self.store = try SimStore(directory: config.dataDirectory)
    }

    var app: SimulatorApp { config.app }

    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await store.pool.write(body)
        } catch let e as SimulatorError {
            throw e
        } catch let e as GraphError {
            throw e
        } catch {
            throw SimulatorError(code: "store", message: "simulator store failed: \(error)", httpStatus: 500)
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await store.pool.read(body)
        } catch {
            throw SimulatorError(code: "store", message: "simulator store failed: \(error)", httpStatus: 500)
        }
    }

    // MARK: - webhook item shapes

    /// WhatsApp shows the business's display number in `context.from`; the sim uses the account id itself.
    private func displayNumber(_ account: String) -> String { account }

    private func waTimestamp(_ ms: Int64) -> JSONValue { .string(String(ms / 1000)) }

    private func waContact(_ user: SimUser) -> JSONValue {
        obj(("profile", obj(("name", .string(user.name)))), ("wa_id", .string(user.id)))
    }

    private func waMessage(user: String, id: String, ms: Int64, type: String, payload: JSONValue?, context: String? = nil,
                           account: String, group: String? = nil, extra: [(String, JSONValue)] = []) -> JSONValue {
        var members: [(String, JSONValue)] = []
        if let context { members.append(("context", obj(("from", .string(displayNumber(account))), ("id", .string(context))))) }
        members.append(("from", .string(user)))
        if let group { members.append(("group_id", .string(group))) }
        members.append(("id", .string(id)))
        members.append(("timestamp", waTimestamp(ms)))
        members += extra
        members.append(("type", .string(type)))
        if let payload { members.append((type, payload)) }
        return .object(members)
    }

    private func waStatus(id: String, status: String, ms: Int64, recipient: String, group: String? = nil,
                          errors: JSONValue? = nil) -> JSONValue {
        obj(("id", .string(id)),
            ("status", .string(status)),
            ("timestamp", waTimestamp(ms)),
            ("recipient_id", .string(group ?? recipient)),
            ("recipient_type", group == nil ? nil : "group"),
            ("recipient_participant_id", group == nil ? nil : .string(recipient)),
            ("pricing", status == "sent" ? obj(("billable", true), ("pricing_model", "PMP"), ("category", "service")) : nil),
            ("errors", errors))
    }

    /// One Messenger/Instagram `messaging[]` item from a user to the account.
    private func messaging(user: String, account: String, ms: Int64, _ key: String, _ value: JSONValue) -> JSONValue {
        obj(("sender", obj(("id", .string(user)))), ("recipient", obj(("id", .string(account)))), ("timestamp", .int(ms)), (key, value))
    }

    private func update(_ item: JSONValue, kind: String? = nil, contact: JSONValue? = nil, at ms: Int64) -> SimStore.QueuedUpdate {
        SimStore.QueuedUpdate(kind: kind ?? (app == .whatsapp ? "message" : "messaging"), item: item, contact: contact, availableMs: ms)
    }

    /// Builds the native webhook body for a batch of one account's updates.
    func webhookBody(account: String, events: [SimStore.PendingEvent], now: Int64) -> [UInt8] {
        let body: JSONValue
        switch app {
        case .whatsapp:
            var changes: [JSONValue] = []
            let messages = events.filter { $0.kind == "message" }
            let statuses = events.filter { $0.kind == "status" }
            let metadata = obj(("display_phone_number", .string(displayNumber(account))), ("phone_number_id", .string(account)))
            if !messages.isEmpty {
                var contacts: [JSONValue] = []
                for c in messages.compactMap(\.contact) where !contacts.contains(c) { contacts.append(c) }
                changes.append(obj(("value", obj(("messaging_product", "whatsapp"), ("metadata", metadata),
                                                 ("contacts", .array(contacts)), ("messages", .array(messages.map(\.item))))),
                                   ("field", "messages")))
            }
            if !statuses.isEmpty {
                changes.append(obj(("value", obj(("messaging_product", "whatsapp"), ("metadata", metadata),
                                                 ("statuses", .array(statuses.map(\.item))))),
                                   ("field", "messages")))
            }
            body = obj(("object", .string(app.webhookObject)),
                       ("entry", .array([obj(("id", .string(config.whatsappBusinessAccountId)), ("changes", .array(changes)))])))
        case .messenger, .instagram:
            body = obj(("object", .string(app.webhookObject)),
                       ("entry", .array([obj(("id", .string(account)), ("time", .int(now)), ("messaging", .array(events.map(\.item))))])))
        }
        return body.serialized(escapeLikeMeta: config.escapeLikeMeta)
    }

    // MARK: - scripting: users

    func createUser(_ user: SimUser) async throws {
        guard !user.id.isEmpty, user.id.count <= 256 else {
            throw SimulatorError(code: "bad_request", message: "a user id must be 1–256 characters")
        }
        let now = Self.nowMs()
        try await write { db in try SimStore.upsertUser(db, user, now: now) }
    }

    func users() async throws -> [SimUser] { try await read { db in try SimStore.users(db) } }

    func createGroup(id: String, members: [String]) async throws {
        guard app == .whatsapp else { throw SimulatorError(code: "unsupported", message: "only WhatsApp has groups") }
        guard !id.isEmpty, (1...8).contains(members.count) else {
            throw SimulatorError(code: "bad_request", message: "a WhatsApp group needs an id and 1–8 participants")
        }
        try await write { db in
            for m in members where try SimStore.user(db, m) == nil {
                throw SimulatorError(code: "unknown_user", message: "no user \(m); create it first with POST /sim/users", httpStatus: 404)
            }
            try SimStore.putGroup(db, id, members: members)
        }
    }

    private static func requireUser(_ db: Database, _ id: String) throws -> SimUser {
        guard let u = try SimStore.user(db, id) else {
            throw SimulatorError(code: "unknown_user", message: "no user \(id); create it first with POST /sim/users", httpStatus: 404)
        }
        return u
    }

    func mailbox(user: String) async throws -> SimMailbox {
        try await read { db in
            _ = try Self.requireUser(db, user)
            var inbox = try SimStore.messages(db, user: user, direction: "toUser")
            let groups = try String.fetchAll(db, sql: "SELECT id FROM groups WHERE ('\n' || members || '\n') LIKE ?", arguments: ["%\n\(user)\n%"])
            for g in groups { inbox += try SimStore.messages(db, user: g, direction: "toUser") }
            inbox.sort { $0.timestampMs < $1.timestampMs }
            return SimMailbox(inbox: inbox, sent: try SimStore.messages(db, user: user, direction: "toBusiness"))
        }
    }

    func deliveries() async throws -> [SimWebhookDelivery] { try await read { db in try SimStore.deliveries(db) } }

    // MARK: - scripting: user actions (each produces the native webhook update)

    /// The user sends text or media to `account`.
    func userSend(user: String, account: String, text: String?, replyTo: String?, mediaURL: String?, mediaKind: String?,
                  caption: String?, group: String?) async throws -> SimActionResult {
        guard !account.isEmpty else { throw SimulatorError(code: "bad_request", message: "`to` (the business account id) is required") }
        if let mediaURL, !MediaTypes.isHTTPURL(mediaURL) {
            throw SimulatorError(code: "bad_request", message: "media url must be http(s): \(mediaURL)")
        }
        guard (text?.isEmpty == false) || mediaURL != nil else {
            throw SimulatorError(code: "bad_request", message: "send needs `text` or `url`")
        }
        if group != nil, app != .whatsapp { throw SimulatorError(code: "unsupported", message: "only WhatsApp has groups") }
        let app = self.app
        let kind = mediaURL == nil ? "text" : (mediaKind ?? "image")
        let allowed = app == .whatsapp ? ["image", "video", "audio", "document", "sticker"] : ["image", "video", "audio", "file"]
        if mediaURL != nil, !allowed.contains(kind) {
            throw SimulatorError(code: "bad_request", message: "media kind must be one of \(allowed.joined(separator: ", "))")
        }
        let id = NativeIDs.mid(for: app)
        let now = Self.nowMs()
        return try await write { db in
            let u = try Self.requireUser(db, user)
            if let group {
                guard let members = try SimStore.group(db, group), members.contains(user) else {
                    throw SimulatorError(code: "unknown_group", message: "\(user) is not in a group \(group)", httpStatus: 404)
                }
            }
            try SimStore.insert(db, .init(nativeId: id, account: account, user: user, direction: "toBusiness", kind: kind,
                                          text: mediaURL == nil ? text : nil, replyTo: replyTo, mediaURL: mediaURL,
                                          caption: mediaURL == nil ? nil : (caption ?? text), groupId: group,
                                          status: "sent", createdMs: now))
            var updates: [SimStore.QueuedUpdate] = []
            switch app {
            case .whatsapp:
                let payload: JSONValue
                if let mediaURL {
                    payload = obj(("caption", str(caption ?? text)),
                                  ("filename", kind == "document" ? str(mediaURL.split(separator: "/").last.map(String.init)) : nil),
                                  ("mime_type", .string(MediaTypes.mime(forURL: mediaURL, kind: kind))),
                                  ("sha256", .string(Data(SimSHA256.hash(Array(mediaURL.utf8))).base64EncodedString())),
                                  ("id", .string(NativeIDs.mediaId())),
                                  ("url", .string(mediaURL)))
                } else {
                    payload = obj(("body", str(text)))
                }
                updates.append(self.update(self.waMessage(user: user, id: id, ms: now, type: kind, payload: payload, context: replyTo,
                                                          account: account, group: group),
                                           contact: self.waContact(u), at: now))
            case .messenger, .instagram:
                var message: [(String, JSONValue)] = [("mid", .string(id))]
                if let mediaURL {
                    message.append(("attachments", .array([obj(("type", .string(kind)), ("payload", obj(("url", .string(mediaURL)))))])))
                } else if let text {
                    message.append(("text", .string(text)))
                }
                if let replyTo {
                    let selfReply: JSONValue? = app == .messenger ? .bool(try self.isOwn(db, replyTo, user: user)) : nil
                    message.append(("reply_to", obj(("mid", .string(replyTo)), ("is_self_reply", selfReply))))
                }
                updates.append(self.update(self.messaging(user: user, account: account, ms: now, "message", .object(message)), at: now))
            }
            try SimStore.enqueue(db, account: account, updates, now: now)
            return SimActionResult(nativeId: id, queuedUpdates: updates.count)
        }
    }

    private func isOwn(_ db: Database, _ nativeId: String, user: String) throws -> Bool {
        try SimStore.message(db, nativeId).map { $0.direction == "toBusiness" && $0.user == user } ?? false
    }

    /// The user reacts to (emoji non-nil) or removes their reaction from (emoji nil) a message.
    func userReact(user: String, account: String, target: String, emoji: String?) async throws -> SimActionResult {
        let app = self.app
        let now = Self.nowMs()
        return try await write { db in
            let u = try Self.requireUser(db, user)
            guard try SimStore.message(db, target) != nil else {
                throw SimulatorError(code: "unknown_message", message: "no message \(target) in this simulator", httpStatus: 404)
            }
            try SimStore.setReaction(db, target, actor: user, emoji: emoji)
            let item: JSONValue
            var nativeId: String?
            switch app {
            case .whatsapp:
                let id = NativeIDs.wamid()
                nativeId = id
                // Removal omits `emoji` (Meta's documented shape).
                item = self.waMessage(user: user, id: id, ms: now, type: "reaction",
                                      payload: obj(("message_id", .string(target)), ("emoji", str(emoji))), account: account)
                try SimStore.enqueue(db, account: account, [self.update(item, contact: self.waContact(u), at: now)], now: now)
                return SimActionResult(nativeId: nativeId, queuedUpdates: 1)
            case .messenger:
                item = self.messaging(user: user, account: account, ms: now, "reaction", obj(
                    ("mid", .string(target)), ("action", .string(emoji == nil ? "unreact" : "react")),
                    ("emoji", str(emoji)), ("reaction", emoji.map { .string(ReactionNames.name(for: $0, app: app)) })))
            case .instagram:
                item = self.messaging(user: user, account: account, ms: now, "reaction", obj(
                    ("mid", .string(target)), ("action", .string(emoji == nil ? "unreact" : "react")),
                    ("reaction", emoji.map { .string(ReactionNames.name(for: $0, app: app)) }), ("emoji", str(emoji))))
            }
            try SimStore.enqueue(db, account: account, [self.update(item, at: now)], now: now)
            return SimActionResult(nativeId: nil, queuedUpdates: 1)
        }
    }

    private static func requireOwn(_ db: Database, _ target: String, user: String) throws -> SimMessage {
        guard let m = try SimStore.message(db, target), m.direction == "toBusiness", m.user == user else {
            throw SimulatorError(code: "unknown_message", message: "\(user) sent no message \(target)", httpStatus: 404)
        }
        return m
    }

    /// The user edits their own message. WhatsApp delivers `unsupported`/`edit` without the new text; Messenger
    /// `message_edit`; Instagram sends nothing (no edit webhook exists).
    func userEdit(user: String, target: String, text: String) async throws -> SimActionResult {
        let app = self.app
        let now = Self.nowMs()
        return try await write { db in
            let u = try Self.requireUser(db, user)
            let m = try Self.requireOwn(db, target, user: user)
            let edits = try SimStore.setEdited(db, target, text: text)
            switch app {
            case .whatsapp:
                let id = NativeIDs.wamid()
                let errors: JSONValue = .array([obj(("code", 131051), ("title", "Message type unknown"), ("message", "Message type unknown"),
                                                    ("error_data", obj(("details", "Message type is currently not supported."))))])
                let item = self.waMessage(user: user, id: id, ms: now, type: "unsupported", payload: obj(("type", "edit")),
                                          account: m.account, extra: [("errors", errors)])
                try SimStore.enqueue(db, account: m.account, [self.update(item, contact: self.waContact(u), at: now)], now: now)
                return SimActionResult(nativeId: id, queuedUpdates: 1)
            case .messenger:
                let item = self.messaging(user: user, account: m.account, ms: now, "message_edit",
                                          obj(("mid", .string(target)), ("text", .string(text)), ("num_edit", .int(Int64(edits)))))
                try SimStore.enqueue(db, account: m.account, [self.update(item, at: now)], now: now)
                return SimActionResult(nativeId: nil, queuedUpdates: 1)
            case .instagram:
                return SimActionResult(nativeId: nil, queuedUpdates: 0)
            }
        }
    }

    /// The user deletes (unsends) their own message: WhatsApp `revoke`, Messenger/Instagram `is_deleted`.
    func userDelete(user: String, target: String) async throws -> SimActionResult {
        let app = self.app
        let now = Self.nowMs()
        return try await write { db in
            let u = try Self.requireUser(db, user)
            let m = try Self.requireOwn(db, target, user: user)
            try SimStore.setDeleted(db, target)
            switch app {
            case .whatsapp:
                let id = NativeIDs.wamid()
                let item = self.waMessage(user: user, id: id, ms: now, type: "revoke", payload: obj(("original_message_id", .string(target))),
                                          account: m.account)
                try SimStore.enqueue(db, account: m.account, [self.update(item, contact: self.waContact(u), at: now)], now: now)
                return SimActionResult(nativeId: id, queuedUpdates: 1)
            case .messenger, .instagram:
                let item = self.messaging(user: user, account: m.account, ms: now, "message", obj(("mid", .string(target)), ("is_deleted", true)))
                try SimStore.enqueue(db, account: m.account, [self.update(item, at: now)], now: now)
                return SimActionResult(nativeId: nil, queuedUpdates: 1)
            }
        }
    }

    /// The user reads what `account` sent them (up to `upTo`, or everything): WhatsApp `read` statuses per
    /// message, a Messenger `read.watermark`, Instagram `read.mid` per message.
    func userRead(user: String, account: String, upTo: String?) async throws -> SimActionResult {
        let app = self.app
        let now = Self.nowMs()
        return try await write { db in
            _ = try Self.requireUser(db, user)
            let unread = try SimStore.unread(db, user: user, account: account, upTo: upTo)
            guard !unread.isEmpty else { return SimActionResult(nativeId: nil, queuedUpdates: 0) }
            for m in unread { try SimStore.setStatus(db, m.nativeId, status: "read") }
            var updates: [SimStore.QueuedUpdate] = []
            switch app {
            case .whatsapp:
                updates = unread.map { self.update(self.waStatus(id: $0.nativeId, status: "read", ms: now, recipient: user), kind: "status", at: now) }
            case .messenger:
                let watermark = unread.map(\.timestampMs).max() ?? now
                updates = [self.update(self.messaging(user: user, account: account, ms: now, "read", obj(("watermark", .int(watermark)))), at: now)]
            case .instagram:
                updates = unread.map { self.update(self.messaging(user: user, account: account, ms: now, "read", obj(("mid", .string($0.nativeId)))), at: now) }
            }
            try SimStore.enqueue(db, account: account, updates, now: now)
            return SimActionResult(nativeId: nil, queuedUpdates: updates.count)
        }
    }
}
