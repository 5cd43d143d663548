import ParleyKit

/// The Send API that Messenger and Instagram share (`POST /{account_id}/messages`): outbound events to request
/// bodies, and those bodies back to the events they express.
///
/// Every message carries `message.metadata = bridgeTag` so its echo is recognisable. Receipts: `read` (and
/// `played`) is the real `mark_seen` sender action, plus `"payload":{"message_id":ID}` so a simulator can mark the
/// exact message. `delivered` and `failed` have no real API; Parley extends the same endpoint, which the app
/// simulators accept: `{"recipient":{"id":USER},"sender_action":"mark_delivered"|"mark_failed",
/// "payload":{"message_id":ID,"error":{"code":CODE,"message":MSG}}}` (`error` only for `mark_failed`).
/// Typing: `typing_on`, or `typing_off` when `metadata["typing"] == "off"`.
package struct MetaSendAPI: Sendable {
    /// "Messenger" or "Instagram", for error messages.
    package var app: String
    /// What the sending account is called in error messages ("the Page id").
    package var accountName: String
    /// What a user id is called in error messages ("PSID").
    package var userIdName: String
    package var bridgeTag: String
    package var maxText: Int
    /// Instagram counts its limit in UTF-8 bytes, Messenger in characters.
    package var textLimitUnit: TextLimitUnit
    /// Messenger wants `"messaging_type": "RESPONSE"` on replies inside the 24-hour window; Instagram omits it.
    package var messagingType: String?
    /// Messenger caches media sent by URL when asked; Instagram has no such flag.
    package var reusableMedia: Bool
    /// The `reaction` value the API takes for an emoji (Instagram takes names such as `love`).
    package var reactionValue: @Sendable (String) -> String

    package init(
        app: String, accountName: String, userIdName: String, bridgeTag: String, maxText: Int,
        textLimitUnit: TextLimitUnit, messagingType: String?, reusableMedia: Bool,
        reactionValue: @escaping @Sendable (String) -> String = { $0 }
    ) {
        self.app = app
        self.accountName = accountName
        self.userIdName = userIdName
        self.bridgeTag = bridgeTag
        self.maxText = maxText
        self.textLimitUnit = textLimitUnit
        self.messagingType = messagingType
        self.reusableMedia = reusableMedia
        self.reactionValue = reactionValue
    }

    // MARK: Encoding

    package func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        guard let account = event.recipient, !account.isEmpty else {
            throw AdapterError(.missingField, "outbound \(app) event needs recipient = \(accountName) to send as")
        }
        guard !event.conversation.isEmpty else {
            throw AdapterError(.missingField, "outbound \(app) event needs conversation = the user's \(userIdName)")
        }
        if event.isGroup {
            throw AdapterError(.unsupportedEvent, "\(app) conversations are 1:1; it cannot send to a group")
        }
        let bodies: [JSONObject]
        switch event.kind {
        case .message:
            bodies = try messageBodies(event)
        case .reaction:
            let target = try target(event, "a reaction")
            if let emoji = event.emoji, !emoji.isEmpty {
                bodies = [action(event, "react", ["message_id": .string(target), "reaction": .string(reactionValue(emoji))])]
            } else {
                bodies = [action(event, "unreact", ["message_id": .string(target)])]
            }
        case .receipt:
            bodies = [try receiptBody(event)]
        case .typing:
            bodies = [action(event, event.metadata["typing"] == "off" ? "typing_off" : "typing_on", nil)]
        default:
            throw AdapterError(.unsupportedEvent, "\(app) cannot send a \(event.kind.rawValue) event; the host applies a fallback")
        }
        var requests: [NativeRequest] = []
        for body in bodies { requests.append(NativeRequest(path: "/\(account)/messages", body: JSON.body(body))) }
        return requests
    }

    func target(_ event: BridgeEvent, _ what: String) throws(AdapterError) -> String {
        guard let target = event.target, !target.isEmpty else {
            throw AdapterError(.missingField, "\(what) needs target = the mid it refers to")
        }
        return target
    }

    func action(_ event: BridgeEvent, _ name: String, _ payload: JSONObject?) -> JSONObject {
        var body: JSONObject = ["recipient": ["id": .string(event.conversation)], "sender_action": .string(name)]
        if let payload { body["payload"] = .object(payload) }
        return body
    }

    func message(_ event: BridgeEvent, _ content: JSONObject) -> JSONObject {
        var content = content
        content["metadata"] = .string(bridgeTag)
        var body: JSONObject = ["recipient": ["id": .string(event.conversation)], "message": .object(content)]
        if let messagingType { body["messaging_type"] = .string(messagingType) }
        return body
    }

    func text(_ event: BridgeEvent, _ text: String) throws(AdapterError) -> JSONObject {
        // A text has no more characters than UTF-8 bytes, so counting characters (grapheme breaking, the costly
        // part for a long text) is only needed when the byte count is over the limit.
        let bytes = text.utf8.count
        let (length, unit) = textLimitUnit == .utf8Bytes || bytes <= maxText ? (bytes, "UTF-8 bytes") : (text.count, "characters")
        guard length <= maxText else {
            throw AdapterError(.limitExceeded, "text of \(length) \(unit) exceeds \(app)'s \(maxText)")
        }
        return message(event, ["text": .string(text)])
    }

    /// Text first, then each attachment; captions (the Send API has none) follow their attachment as text.
    func messageBodies(_ event: BridgeEvent) throws(AdapterError) -> [JSONObject] {
        var bodies: [JSONObject] = []
        if let t = event.text, !t.isEmpty { bodies.append(try text(event, t)) }
        for a in event.attachments {
            switch a.kind {
            case "image", "video", "audio", "file", "document":
                guard let url = a.url, !url.isEmpty else {
                    throw AdapterError(.missingField, "\(app) sends media by URL; the \(a.kind) attachment has none")
                }
                var payload: JSONObject = ["url": .string(url)]
                if reusableMedia { payload["is_reusable"] = true }
                bodies.append(message(event, ["attachment": [
                    "type": .string(a.kind == "document" ? "file" : a.kind), "payload": .object(payload),
                ]]))
                if let caption = a.caption, !caption.isEmpty { bodies.append(try text(event, caption)) }
            case "location":
                guard let lat = a.latitude, let long = a.longitude else {
                    throw AdapterError(.missingField, "a location attachment needs latitude and longitude")
                }
                // The Send API cannot send a location: send it as text.
                bodies.append(try text(event, [a.caption, "📍 \(lat),\(long)"].compactMap { $0 }.joined(separator: "\n")))
            default:
                guard let url = a.url, !url.isEmpty else {
                    throw AdapterError(.limitExceeded, "\(app) cannot send a \(a.kind) attachment without a link")
                }
                bodies.append(try text(event, [a.caption, url].compactMap { $0 }.joined(separator: "\n")))
            }
        }
        guard !bodies.isEmpty else {
            throw AdapterError(.missingField, "an outbound \(app) message needs text or an attachment")
        }
        if let target = event.target, !target.isEmpty { bodies[0]["reply_to"] = ["mid": .string(target)] }
        return bodies
    }

    func receiptBody(_ event: BridgeEvent) throws(AdapterError) -> JSONObject {
        switch event.status {
        case .read?, .played?:
            // mark_seen alone is the real API (it marks the whole thread); the payload pins the message.
            return action(event, "mark_seen", event.target.flatMap { $0.isEmpty ? nil : ["message_id": .string($0)] })
        case .delivered?:
            return action(event, "mark_delivered", ["message_id": .string(try target(event, "a delivered receipt"))])
        case .failed?:
            let error: JSONValue = [
                "code": .string(event.failure?.code ?? "parley.failed"),
                "message": .string(event.failure?.message ?? "delivery failed"),
            ]
            return action(event, "mark_failed", ["message_id": .string(try target(event, "a failed receipt")), "error": error])
        case .sent?, nil:
            throw AdapterError(.unsupportedEvent, "\(app) has no way to send a \(event.status?.rawValue ?? "status-less") receipt")
        }
    }

    /// The API's answer to one of the bodies ``encode(_:)`` built.
    package func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        let root = try GraphResponse.root(status: status, body: body)
        if let failure = GraphResponse.failure(status: status, root: root) { return failure }
        if let mid = root?.nonEmpty("message_id") { return .accepted(nativeId: mid) }
        // Sender actions (mark_seen, react, typing_on…) answer `{"recipient_id": …}` only.
        if root?.nonEmpty("recipient_id") != nil || root?.flag("success") == true { return .accepted(nativeId: nil) }
        throw AdapterError(.badResponse, "\(app) answered HTTP \(status) with neither message_id nor recipient_id")
    }

    // MARK: Decoding send bodies

    /// Whether a parsed body is a Send API request rather than a webhook: it names a `recipient` and carries a
    /// `message` or a `sender_action`, and has no `object` or `sender`.
    package static func isSendRequest(_ root: JSONObject) -> Bool {
        root["object"] == nil && root["sender"] == nil && root.obj("recipient") != nil
            && (root.obj("message") != nil || root.str("sender_action") != nil)
    }

    /// A Send API body → the outbound event it expresses (the inverse of ``encode(_:)`` for one body), marked
    /// ``BridgeEvent/outboundDirection`` so a node never bridges it. The sending account is in the request path,
    /// not the body, so `recipient` is `nil` and `sender` empty.
    package func decodeSendRequest(_ root: JSONObject) throws(AdapterError) -> BridgeEvent {
        guard let user = root.obj("recipient").flatMap({ $0.nonEmpty("id") ?? $0.nonEmpty("user_ref") }) else {
            throw AdapterError(.missingField, "\(app) send body has no recipient.id")
        }
        var event = BridgeEvent(kind: .message, nativeId: "", conversation: user, sender: "", timestamp: 0,
                                metadata: [BridgeEvent.directionKey: BridgeEvent.outboundDirection])
        if let action = root.str("sender_action") {
            let payload = root.obj("payload")
            switch action {
            case "react", "unreact":
                guard let target = payload?.nonEmpty("message_id") else {
                    throw AdapterError(.missingField, "\(app) \(action) body has no payload.message_id")
                }
                event.kind = .reaction
                event.target = target
                event.emoji = action == "react" ? payload?.nonEmpty("reaction") : nil
            case "mark_seen", "mark_delivered", "mark_failed":
                event.kind = .receipt
                event.target = payload?.nonEmpty("message_id")
                event.status = action == "mark_seen" ? .read : action == "mark_delivered" ? .delivered : .failed
                if let error = payload?.obj("error") {
                    event.failure = .init(code: error.str("code") ?? error.int64("code").map { String($0) } ?? "",
                                          message: error.str("message") ?? "")
                }
            case "typing_on", "typing_off":
                event.kind = .typing
                if action == "typing_off" { event.metadata["typing"] = "off" }
            default:
                throw AdapterError(.unsupportedEvent, "\(app) send body has sender_action \"\(action)\", which Parley does not use")
            }
            return event
        }
        guard let message = root.obj("message") else {
            throw AdapterError(.missingField, "\(app) send body has neither message nor sender_action")
        }
        event.text = message.nonEmpty("text")
        let attachments = (message.arr("attachments") ?? []) + (message["attachment"].map { [$0] } ?? [])
        for case .object(let attachment) in attachments {
            guard let type = attachment.nonEmpty("type") else {
                throw AdapterError(.missingField, "\(app) send body has an attachment without a type")
            }
            event.attachments.append(Attachment(kind: type, url: attachment.obj("payload")?.nonEmpty("url")))
        }
        guard event.text != nil || !event.attachments.isEmpty else {
            throw AdapterError(.missingField, "\(app) send body's message has neither text nor an attachment")
        }
        event.target = root.obj("reply_to")?.nonEmpty("mid")
        return event
    }
}
