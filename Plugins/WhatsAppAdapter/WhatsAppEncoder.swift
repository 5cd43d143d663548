import MetaGraph
import ParleyKit

/// Outbound event → `POST /{phone_number_id}/messages` bodies.
///
/// Receipts: `read` (and `played`, which implies it) is the real mark-read body. `delivered` and `failed` have
/// no real Cloud API call; Parley extends the same endpoint, which the app simulators accept:
/// `{"messaging_product":"whatsapp","status":"delivered"|"failed","message_id":ID,
///   "errors":[{"code":<int or string>,"title":CODE,"message":MSG}]}` (`errors` only for `failed`).
enum WhatsAppEncoder {
    static func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        guard let account = event.recipient, !account.isEmpty else {
            throw AdapterError(.missingField, "outbound WhatsApp event needs recipient = the phone_number_id to send as")
        }
        // A receipt names only the message; everything else needs someone to send to.
        guard !event.conversation.isEmpty || event.kind == .receipt else {
            throw AdapterError(.missingField, "outbound WhatsApp event needs conversation = the user or group id")
        }
        let path = "/\(account)/messages"
        let bodies: [JSONObject]
        switch event.kind {
        case .message:
            bodies = try messageBodies(event)
        case .reaction:
            guard let target = event.target, !target.isEmpty else {
                throw AdapterError(.missingField, "a WhatsApp reaction needs target = the wamid reacted to")
            }
            // An empty emoji removes the reaction.
            bodies = [envelope(event, type: "reaction", ["message_id": .string(target), "emoji": .string(event.emoji ?? "")])]
        case .receipt:
            bodies = [try receiptBody(event)]
        default:
            throw AdapterError(.unsupportedEvent, "WhatsApp cannot send a \(event.kind.rawValue) event; the host applies a fallback")
        }
        var requests: [NativeRequest] = []
        for body in bodies { requests.append(NativeRequest(path: path, body: JSON.body(body))) }
        return requests
    }

    /// BSUIDs look like `US.13491208655302741918`; they are addressed through the top-level `recipient` field.
    static func isBSUID(_ id: String) -> Bool {
        let u = Array(id.utf8)
        return u.count > 3 && (65...90).contains(u[0]) && (65...90).contains(u[1]) && u[2] == UInt8(ascii: ".")
    }

    /// The fields every message send shares, plus `type` and its object.
    static func envelope(_ event: BridgeEvent, type: String, _ content: JSONObject) -> JSONObject {
        var body: JSONObject = [
            "messaging_product": "whatsapp",
            "recipient_type": event.isGroup ? "group" : "individual",
            "type": .string(type),
            type: .object(content),
            // Tags the send so its statuses (and the host) recognise a bridge-originated message.
            "biz_opaque_callback_data": .string(WhatsAppAdapter.bridgeTag),
        ]
        if !event.isGroup && isBSUID(event.conversation) {
            body["recipient"] = .string(event.conversation)
        } else {
            body["to"] = .string(event.conversation)
        }
        return body
    }

    static func textContent(_ text: String) throws(AdapterError) -> JSONObject {
        let length = text.count
        guard length <= WhatsAppAdapter.maxText else {
            throw AdapterError(.limitExceeded, "text of \(length) characters exceeds WhatsApp's \(WhatsAppAdapter.maxText)")
        }
        var content: JSONObject = ["body": .string(text)]
        // Ask for a link preview only when there is a link; otherwise leave the default (false).
        if text.contains("https://") || text.contains("http://") { content["preview_url"] = true }
        return content
    }

    static func messageBodies(_ event: BridgeEvent) throws(AdapterError) -> [JSONObject] {
        var text = event.text.flatMap { $0.isEmpty ? nil : $0 }
        var bodies: [JSONObject] = []
        var captionUsed = false
        var media: [JSONObject] = []
        for attachment in event.attachments {
            let captionable = ["image", "video", "file", "document"].contains(attachment.kind)
            var caption = attachment.caption
            // Fold the message text into the first captionable attachment that has no caption of its own.
            if caption == nil, captionable, !captionUsed, let t = text, t.count <= WhatsAppAdapter.maxCaption {
                caption = t
                text = nil
                captionUsed = true
            }
            media += try attachmentBodies(event, attachment, caption: caption)
        }
        if let text { bodies.append(envelope(event, type: "text", try textContent(text))) }
        bodies += media
        guard !bodies.isEmpty else {
            throw AdapterError(.missingField, "an outbound WhatsApp message needs text or an attachment")
        }
        if let target = event.target, !target.isEmpty {
            bodies[0]["context"] = ["message_id": .string(target)]
        }
        return bodies
    }

    static func attachmentBodies(_ event: BridgeEvent, _ a: Attachment, caption: String?) throws(AdapterError) -> [JSONObject] {
        let type: String
        switch a.kind {
        case "image", "video", "audio", "sticker": type = a.kind
        case "file", "document": type = "document"
        case "location":
            guard let latitude = a.latitude, let longitude = a.longitude else {
                throw AdapterError(.missingField, "a location attachment needs latitude and longitude")
            }
            var location: JSONObject = try ["latitude": .finite(latitude), "longitude": .finite(longitude)]
            if let name = a.caption { location["name"] = .string(name) }
            return [envelope(event, type: "location", location)]
        default:
            // Shares, story mentions and the like: WhatsApp has no such media, so send the link as text.
            guard let url = a.url else {
                throw AdapterError(.limitExceeded, "WhatsApp cannot send a \(a.kind) attachment without a link")
            }
            let line = [a.caption, url].compactMap { $0 }.joined(separator: "\n")
            return [envelope(event, type: "text", try textContent(line))]
        }
        var content: JSONObject
        if let url = a.url, !url.isEmpty {
            content = ["link": .string(url)]
        } else if let id = a.mediaId, !id.isEmpty {
            content = ["id": .string(id)]
        } else {
            throw AdapterError(.missingField, "a WhatsApp \(type) needs a url or a media id")
        }
        if type == "document", let filename = a.filename { content["filename"] = .string(filename) }
        guard let caption else { return [envelope(event, type: type, content)] }
        if type == "audio" || type == "sticker" {
            // These media cannot carry a caption: it follows as its own text message.
            return [envelope(event, type: type, content), envelope(event, type: "text", try textContent(caption))]
        }
        guard caption.count <= WhatsAppAdapter.maxCaption else {
            throw AdapterError(.limitExceeded, "caption of \(caption.count) characters exceeds WhatsApp's \(WhatsAppAdapter.maxCaption)")
        }
        content["caption"] = .string(caption)
        return [envelope(event, type: type, content)]
    }

    static func receiptBody(_ event: BridgeEvent) throws(AdapterError) -> JSONObject {
        guard let target = event.target, !target.isEmpty else {
            throw AdapterError(.missingField, "a WhatsApp receipt needs target = the wamid it is about")
        }
        var body: JSONObject = ["messaging_product": "whatsapp", "message_id": .string(target)]
        switch event.status {
        case .read?, .played?:
            body["status"] = "read"
        case .delivered?:
            body["status"] = "delivered"  // Parley extension, see the type comment.
        case .failed?:
            body["status"] = "failed"  // Parley extension, see the type comment.
            let code = event.failure?.code ?? "parley.failed"
            body["errors"] = [[
                "code": Int(code).map { JSONValue($0) } ?? .string(code),
                "title": .string(code),
                "message": .string(event.failure?.message ?? "delivery failed"),
            ]]
        case .sent?, nil:
            throw AdapterError(.unsupportedEvent, "WhatsApp has no way to send a \(event.status?.rawValue ?? "status-less") receipt")
        }
        return body
    }
}
