import MetaGraph
import ParleyKit

/// Outbound event → Send API bodies for `POST /{page_id}/messages`.
///
/// Every message carries `message.metadata = "parley"` so its echo is recognisable. Receipts: `read` (and
/// `played`) is the real `mark_seen` sender action, plus `"payload":{"message_id":ID}` so a simulator can mark the
/// exact message. `delivered` and `failed` have no real API; Parley extends the same endpoint, which the app
/// simulators accept: `{"recipient":{"id":USER},"sender_action":"mark_delivered"|"mark_failed",
/// "payload":{"message_id":ID,"error":{"code":CODE,"message":MSG}}}` (`error` only for `mark_failed`).
/// Typing: `typing_on`, or `typing_off` when `metadata["typing"] == "off"`.
enum MessengerEncoder {
    static func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        guard let page = event.recipient, !page.isEmpty else {
            throw AdapterError(.missingField, "outbound Messenger event needs recipient = the Page id to send as")
        }
        guard !event.conversation.isEmpty else {
            throw AdapterError(.missingField, "outbound Messenger event needs conversation = the user's PSID")
        }
        if event.isGroup {
            throw AdapterError(.unsupportedEvent, "Messenger Page conversations are 1:1; it cannot send to a group")
        }
        let bodies: [JSONObject]
        switch event.kind {
        case .message:
            bodies = try messageBodies(event)
        case .reaction:
            let target = try target(event, "a reaction")
            if let emoji = event.emoji, !emoji.isEmpty {
                bodies = [action(event, "react", ["message_id": target, "reaction": emoji])]
            } else {
                bodies = [action(event, "unreact", ["message_id": target])]
            }
        case .receipt:
            bodies = [try receiptBody(event)]
        case .typing:
            bodies = [action(event, event.metadata["typing"] == "off" ? "typing_off" : "typing_on", nil)]
        default:
            throw AdapterError(.unsupportedEvent, "Messenger cannot send a \(event.kind.rawValue) event; the host applies a fallback")
        }
        var requests: [NativeRequest] = []
        for body in bodies { requests.append(NativeRequest(path: "/\(page)/messages", body: try JSON.body(body))) }
        return requests
    }

    static func target(_ event: BridgeEvent, _ what: String) throws(AdapterError) -> String {
        guard let target = event.target, !target.isEmpty else {
            throw AdapterError(.missingField, "\(what) needs target = the mid it refers to")
        }
        return target
    }

    static func action(_ event: BridgeEvent, _ name: String, _ payload: JSONObject?) -> JSONObject {
        var body: JSONObject = ["recipient": ["id": event.conversation], "sender_action": name]
        if let payload { body["payload"] = payload }
        return body
    }

    static func message(_ event: BridgeEvent, _ content: JSONObject) -> JSONObject {
        var content = content
        content["metadata"] = MessengerAdapter.bridgeTag
        return ["recipient": ["id": event.conversation], "messaging_type": "RESPONSE", "message": content]
    }

    static func text(_ event: BridgeEvent, _ text: String) throws(AdapterError) -> JSONObject {
        guard text.count <= MessengerAdapter.maxText else {
            throw AdapterError(.limitExceeded, "text of \(text.count) characters exceeds Messenger's \(MessengerAdapter.maxText)")
        }
        return message(event, ["text": text])
    }

    /// Text first, then each attachment; captions (Messenger has none) follow their attachment as text.
    static func messageBodies(_ event: BridgeEvent) throws(AdapterError) -> [JSONObject] {
        var bodies: [JSONObject] = []
        if let t = event.text, !t.isEmpty { bodies.append(try text(event, t)) }
        for a in event.attachments {
            switch a.kind {
            case "image", "video", "audio", "file", "document":
                guard let url = a.url, !url.isEmpty else {
                    throw AdapterError(.missingField, "Messenger sends media by URL; the \(a.kind) attachment has none")
                }
                bodies.append(message(event, ["attachment": [
                    "type": a.kind == "document" ? "file" : a.kind, "payload": ["url": url, "is_reusable": true] as JSONObject,
                ] as JSONObject]))
                if let caption = a.caption, !caption.isEmpty { bodies.append(try text(event, caption)) }
            case "location":
                guard let lat = a.latitude, let long = a.longitude else {
                    throw AdapterError(.missingField, "a location attachment needs latitude and longitude")
                }
                // The Send API cannot send a location: send it as text.
                bodies.append(try text(event, [a.caption, "📍 \(lat),\(long)"].compactMap { $0 }.joined(separator: "\n")))
            default:
                guard let url = a.url, !url.isEmpty else {
                    throw AdapterError(.limitExceeded, "Messenger cannot send a \(a.kind) attachment without a link")
                }
                bodies.append(try text(event, [a.caption, url].compactMap { $0 }.joined(separator: "\n")))
            }
        }
        guard !bodies.isEmpty else {
            throw AdapterError(.missingField, "an outbound Messenger message needs text or an attachment")
        }
        if let target = event.target, !target.isEmpty { bodies[0]["reply_to"] = ["mid": target] }
        return bodies
    }

    static func receiptBody(_ event: BridgeEvent) throws(AdapterError) -> JSONObject {
        switch event.status {
        case .read?, .played?:
            // mark_seen alone is the real API (it marks the whole thread); the payload pins the message.
            return action(event, "mark_seen", event.target.flatMap { $0.isEmpty ? nil : ["message_id": $0] })
        case .delivered?:
            return action(event, "mark_delivered", ["message_id": try target(event, "a delivered receipt")])
        case .failed?:
            let error: JSONObject = [
                "code": event.failure?.code ?? "parley.failed",
                "message": event.failure?.message ?? "delivery failed",
            ]
            return action(event, "mark_failed", ["message_id": try target(event, "a failed receipt"), "error": error])
        case .sent?, nil:
            throw AdapterError(.unsupportedEvent, "Messenger has no way to send a \(event.status?.rawValue ?? "status-less") receipt")
        }
    }
}
