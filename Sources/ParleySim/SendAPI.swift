import Foundation
import GRDB

/// The native send API: `POST /{account}/messages` with the real validation and error shapes.
extension SimEngine {
    /// Checks `Authorization: Bearer` (or the Graph `access_token` query parameter).
    func authorize(header: String?, queryToken: String?) throws(GraphError) {
        var token = queryToken
        if let header {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw GraphError.invalidToken() }
            token = String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        guard let token, !token.isEmpty else { throw GraphError.missingToken() }
        guard token == config.accessToken else { throw GraphError.invalidToken() }
    }

    /// Handles one send request for `account`; returns the JSON answer or throws the Graph error.
    func send(account: String, body: [UInt8]) async throws -> JSONValue {
        guard let json = JSONValue.parse(body), case .object = json else {
            throw app == .whatsapp ? GraphError.whatsappParam("(#100) Invalid parameter", details: "The request body is not valid JSON.")
                                   : GraphError.param("(#100) The request body must be a JSON object")
        }
        switch app {
        case .whatsapp: return try await whatsappSend(account: account, json)
        case .messenger, .instagram: return try await pageSend(account: account, json)
        }
    }

    private func textTooLong(_ text: String) -> Bool {
        app == .instagram ? text.utf8.count > app.textLimit : text.count > app.textLimit
    }

    // MARK: WhatsApp

    private func whatsappSend(account: String, _ json: JSONValue) async throws -> JSONValue {
        guard json["messaging_product"]?.string == "whatsapp" else {
            throw GraphError.whatsappParam("(#100) The parameter messaging_product is required.")
        }
        if let status = json["status"]?.string { return try await whatsappStatus(account: account, status: status, json) }
        guard let to = json["to"]?.string, !to.isEmpty else { throw GraphError.whatsappParam("(#100) The parameter to is required.") }
        let isGroup = json["recipient_type"]?.string == "group"
        let recipient = isGroup ? to : String(to.drop(while: { $0 == "+" })).filter { $0 != " " && $0 != "-" }
        let type = json["type"]?.string ?? "text"
        let replyTo = json["context"]?["message_id"]?.string
        var kind = type
        var text: String?
        var mediaURL: String?
        var caption: String?
        var reaction: (target: String, emoji: String?)?
        switch type {
        case "text":
            guard let b = json["text"]?["body"]?.string, !b.isEmpty else {
                throw GraphError.whatsappParam("(#100) The parameter text['body'] is required.")
            }
            guard !textTooLong(b) else {
                throw GraphError.whatsappParam("(#100) Invalid parameter", details: "Param text['body'] must be at most 4096 characters long.")
            }
            text = b
        case "reaction":
            guard let target = json["reaction"]?["message_id"]?.string, !target.isEmpty else {
                throw GraphError.whatsappParam("(#100) The parameter reaction['message_id'] is required.")
            }
            let e = json["reaction"]?["emoji"]?.string
            reaction = (target, (e?.isEmpty ?? true) ? nil : e)
        case "image", "video", "audio", "document", "sticker":
            guard let media = json[type], case .object = media else {
                throw GraphError.whatsappParam("(#100) The parameter \(type) is required.")
            }
            if let link = media["link"]?.string {
                guard MediaTypes.isHTTPURL(link) else {
                    throw GraphError.whatsappParam("(#100) Invalid parameter", details: "Param \(type)['link'] must be a valid http(s) URL.")
                }
                mediaURL = link
            } else if let id = media["id"]?.string, !id.isEmpty {
                mediaURL = "media:" + id
            } else {
                throw GraphError.whatsappParam("(#100) Invalid parameter", details: "Param \(type) must have either 'id' or 'link'.")
            }
            caption = media["caption"]?.string
            if let c = caption, c.count > 1024 {
                throw GraphError.whatsappParam("(#100) Invalid parameter", details: "Param \(type)['caption'] must be at most 1024 characters long.")
            }
        default:
            throw GraphError.whatsappParam("(#100) Invalid parameter",
                                           details: "Param type must be one of {text, reaction, image, video, audio, document, sticker} (simulated).")
        }
        if kind == "sticker" { kind = "image" }
        let now = Self.nowMs()
        let id = NativeIDs.wamid()
        let delay = RetrySchedule.milliseconds(config.deliveryReceiptDelay)
        let (k, t, m, c, r) = (kind, text, mediaURL, caption, reaction)
        try await storeWrite { db in
            let members: [String]
            if isGroup {
                guard let g = try SimStore.group(db, recipient) else { throw Self.undeliverable() }
                members = g
            } else {
                guard try SimStore.user(db, recipient) != nil else { throw Self.undeliverable() }
                members = [recipient]
            }
            var updates: [SimStore.QueuedUpdate] = []
            if let r {
                guard try SimStore.message(db, r.target) != nil else {
                    throw GraphError.whatsappParam("(#131009) Parameter value is not valid", details: "Reaction target message not found.")
                }
                try SimStore.setReaction(db, r.target, actor: "business", emoji: r.emoji)
                // A reaction only ever gets a `sent` status.
                updates = members.map { self.statusUpdate(id: id, status: "sent", ms: now, user: $0, group: isGroup ? recipient : nil, at: now) }
            } else {
                try SimStore.insert(db, .init(nativeId: id, account: account, user: recipient, direction: "toUser", kind: k, text: t,
                                              replyTo: replyTo, mediaURL: m, caption: c, groupId: isGroup ? recipient : nil,
                                              status: "delivered", createdMs: now))
                for u in members {
                    updates.append(self.statusUpdate(id: id, status: "sent", ms: now, user: u, group: isGroup ? recipient : nil, at: now))
                    updates.append(self.statusUpdate(id: id, status: "delivered", ms: now + delay, user: u, group: isGroup ? recipient : nil, at: now + delay))
                }
            }
            try SimStore.enqueue(db, account: account, updates, now: now)
        }
        return obj(("messaging_product", "whatsapp"),
                   ("contacts", .array([obj(("input", .string(to)), ("wa_id", .string(recipient)))])),
                   ("messages", .array([obj(("id", .string(id)))])))
    }

    private func statusUpdate(id: String, status: String, ms: Int64, user: String, group: String?, at: Int64) -> SimStore.QueuedUpdate {
        SimStore.QueuedUpdate(kind: "status", item: waStatusItem(id: id, status: status, ms: ms, recipient: user, group: group),
                              contact: nil, availableMs: at)
    }

    private func waStatusItem(id: String, status: String, ms: Int64, recipient: String, group: String?) -> JSONValue {
        obj(("id", .string(id)), ("status", .string(status)), ("timestamp", .string(String(ms / 1000))),
            ("recipient_id", .string(group ?? recipient)),
            ("recipient_type", group == nil ? nil : "group"),
            ("recipient_participant_id", group == nil ? nil : .string(recipient)),
            ("pricing", status == "sent" ? obj(("billable", true), ("pricing_model", "PMP"), ("category", "service")) : nil))
    }

    private static func undeliverable() -> GraphError {
        GraphError(message: "(#131026) Message Undeliverable.", code: 131026,
                   errorData: obj(("messaging_product", "whatsapp"), ("details", "Message Undeliverable.")))
    }

    /// Mark-read, plus the Parley extension: `delivered` / `read` / `failed` of a user's own message.
    private func whatsappStatus(account: String, status: String, _ json: JSONValue) async throws -> JSONValue {
        guard ["read", "delivered", "failed"].contains(status) else {
            throw GraphError.whatsappParam("(#100) Invalid parameter", details: "Param status must be one of {read, delivered, failed}.")
        }
        guard let messageId = json["message_id"]?.string, !messageId.isEmpty else {
            throw GraphError.whatsappParam("(#100) The parameter message_id is required.")
        }
        let firstError = json["errors"]?.array?.first
        let code = firstError?["code"]?.int.map { Int($0) }
        let message = Self.reasonText(code: firstError?["code"]?.string ?? firstError?["title"]?.string, message: firstError?["message"]?.string)
        try await recordOwnStatus(account: account, messageId: messageId, status: status, code: code, message: message,
                                  notFound: GraphError.whatsappParam("(#100) Invalid parameter", details: "Message \(messageId) not found."))
        return obj(("success", true))
    }

    /// What the app shows for a failed message: the bridge's reason code (a string, not a Graph number) and text.
    static func reasonText(code: String?, message: String?) -> String? {
        switch (code, message) {
        case let (code?, message?) where Int(code) == nil: "\(code): \(message)"
        case let (_, message?): message
        case let (code?, nil): code
        default: nil
        }
    }

    /// Status of a user's own message as the business reports it; never moves backwards except to `failed`.
    private func recordOwnStatus(account: String, messageId: String, status: String, code: Int?, message: String?,
                                 notFound: GraphError) async throws {
        try await storeWrite { db in
            guard let m = try SimStore.message(db, messageId), m.direction == "toBusiness", m.account == account else { throw notFound }
            let rank = ["sent": 0, "delivered": 1, "read": 2]
            if status == "failed" {
                try SimStore.setStatus(db, messageId, status: "failed", errorCode: code, errorMessage: message)
            } else if m.status == "failed" || (rank[status] ?? 0) > (rank[m.status] ?? 0) {
                try SimStore.setStatus(db, messageId, status: status)
            }
        }
    }

    private func storeWrite(_ body: @escaping @Sendable (Database) throws -> Void) async throws {
        do {
            try await store.pool.write(body)
        } catch let e as GraphError {
            throw e
        } catch {
            logger.error("simulator store failed", metadata: ["error": "\(error)"])
            throw GraphError.serverError()
        }
    }

    // MARK: Messenger / Instagram

    private func noMatchingUser() -> GraphError {
        app == .messenger ? GraphError.param("(#100) No matching user found", subcode: 2018001)
                          : GraphError.param("(#100) No matching user found", subcode: 2534014)
    }

    private func pageSend(account: String, _ json: JSONValue) async throws -> JSONValue {
        guard let recipient = json["recipient"]?["id"]?.string, !recipient.isEmpty else {
            throw GraphError.param("(#100) The parameter recipient is required")
        }
        let now = Self.nowMs()
        if let action = json["sender_action"]?.string {
            return try await pageAction(account: account, recipient: recipient, action: action, json, now: now)
        }
        guard let message = json["message"], case .object = message else {
            throw GraphError.param("(#100) The parameter message is required")
        }
        var kind = "text"
        var text: String?
        var mediaURL: String?
        if let t = message["text"]?.string {
            guard !t.isEmpty else { throw GraphError.param("(#100) param message must be non-empty.") }
            guard !textTooLong(t) else {
                throw GraphError.param("(#100) Length of param message[text] must be less than or equal to \(app.textLimit)")
            }
            text = t
        } else if let attachment = message["attachment"] ?? message["attachments"]?.array?.first {
            guard let type = attachment["type"]?.string, ["image", "video", "audio", "file"].contains(type) else {
                throw GraphError.param("(#100) param message[attachment][type] must be one of {image, video, audio, file}")
            }
            kind = type
            if let url = attachment["payload"]?["url"]?.string {
                guard MediaTypes.isHTTPURL(url) else {
                    throw GraphError.param("(#100) Failed to fetch the file from the url", subcode: 2018008)
                }
                mediaURL = url
            } else if let aid = attachment["payload"]?["attachment_id"]?.string ?? attachment["payload"]?["attachment_id"]?.int.map(String.init) {
                mediaURL = "attachment:" + aid
            } else {
                throw GraphError.param("(#100) param message[attachment][payload] must have a url or attachment_id")
            }
        } else {
            throw GraphError.param("(#100) param message must be non-empty.")
        }
        let replyTo = json["reply_to"]?["mid"]?.string
        let mid = NativeIDs.mid(for: app)
        let app = self.app
        let delay = RetrySchedule.milliseconds(config.deliveryReceiptDelay)
        let (k, t, m) = (kind, text, mediaURL)
        let noUser = noMatchingUser()
        try await storeWrite { db in
            guard try SimStore.user(db, recipient) != nil else { throw noUser }
            try SimStore.insert(db, .init(nativeId: mid, account: account, user: recipient, direction: "toUser", kind: k, text: t,
                                          replyTo: replyTo, mediaURL: m, status: app == .messenger ? "delivered" : "sent", createdMs: now))
            if app == .messenger {
                let at = now + delay
                let item = obj(("sender", obj(("id", .string(recipient)))), ("recipient", obj(("id", .string(account)))),
                               ("timestamp", .int(at)), ("delivery", obj(("mids", .array([.string(mid)])), ("watermark", .int(now)))))
                try SimStore.enqueue(db, account: account, [.init(kind: "messaging", item: item, contact: nil, availableMs: at)], now: now)
            }
        }
        return obj(("recipient_id", .string(recipient)), ("message_id", .string(mid)))
    }

    private func pageAction(account: String, recipient: String, action: String, _ json: JSONValue, now: Int64) async throws -> JSONValue {
        let payload = json["payload"]
        let messageId = payload?["message_id"]?.string
        let noUser = noMatchingUser()
        let answer = obj(("recipient_id", .string(recipient)))
        switch action {
        case "typing_on", "typing_off":
            try await storeWrite { db in guard try SimStore.user(db, recipient) != nil else { throw noUser } }
            return answer
        case "mark_seen" where messageId == nil:
            // Plain mark_seen: everything the user sent to this account counts as read.
            try await storeWrite { db in
                guard try SimStore.user(db, recipient) != nil else { throw noUser }
                try db.execute(sql: """
                    UPDATE messages SET status = 'read' WHERE user_id = ? AND account = ? AND direction = 'toBusiness' AND status != 'failed'
                    """, arguments: [recipient, account])
            }
            return answer
        case "mark_seen", "mark_delivered", "mark_failed":
            guard let messageId else { throw GraphError.param("(#100) The parameter payload[message_id] is required") }
            let status = ["mark_seen": "read", "mark_delivered": "delivered", "mark_failed": "failed"][action] ?? "read"
            let error = payload?["error"]
            try await recordOwnStatus(account: account, messageId: messageId, status: status,
                                      code: error?["code"]?.int.map { Int($0) },
                                      message: Self.reasonText(code: error?["code"]?.string, message: error?["message"]?.string),
                                      notFound: GraphError.param("(#100) Invalid message id \(messageId)"))
            return answer
        case "react", "unreact":
            guard let messageId else { throw GraphError.param("(#100) The parameter payload[message_id] is required") }
            var emoji: String?
            if action == "react" {
                guard let r = payload?["reaction"]?.string, !r.isEmpty else {
                    throw GraphError.param("(#100) The parameter payload[reaction] is required")
                }
                emoji = ReactionNames.emoji(forName: r)
            }
            let e = emoji
            try await storeWrite { db in
                guard try SimStore.user(db, recipient) != nil else { throw noUser }
                guard try SimStore.message(db, messageId) != nil else { throw GraphError.param("(#100) Invalid message id \(messageId)") }
                try SimStore.setReaction(db, messageId, actor: "business", emoji: e)
            }
            return answer
        default:
            throw GraphError.param("(#100) Param sender_action must be one of {typing_on, typing_off, mark_seen, react, unreact}")
        }
    }
}
