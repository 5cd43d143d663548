import MetaGraph
import ParleyKit

/// `whatsapp_business_account` webhook → events, in the order the webhook lists them
/// (per change: messages, then statuses; echoes for `smb_message_echoes`).
enum WhatsAppDecoder {
    static func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        let root = try JSON.object(payload, what: "WhatsApp webhook body")
        guard let object = root.str("object") else {
            // A Cloud API send body (the other direction): `parley translate` reads those too.
            if root.str("messaging_product") == "whatsapp" { return [try decodeSendRequest(root)] }
            throw AdapterError(.missingField, "WhatsApp webhook has no \"object\" field")
        }
        guard object == "whatsapp_business_account" else {
            throw AdapterError(.malformedPayload, "webhook object is \"\(object)\", expected \"whatsapp_business_account\"")
        }
        guard let entries = root.arr("entry") else {
            throw AdapterError(.missingField, "WhatsApp webhook has no \"entry\" array")
        }
        var events: [BridgeEvent] = []
        for (i, item) in entries.enumerated() {
            guard let entry = item.object, let changes = entry.arr("changes") else {
                throw AdapterError(.missingField, "entry[\(i)] is not an object with a \"changes\" array")
            }
            for (j, item) in changes.enumerated() {
                guard let change = item.object, let value = change.obj("value") else {
                    throw AdapterError(.missingField, "entry[\(i)].changes[\(j)] has no \"value\" object")
                }
                let field = change.str("field") ?? "messages"
                switch field {
                case "messages":
                    try decodeMessages(value, into: &events)
                case "smb_message_echoes":
                    try decodeEchoes(value, into: &events)
                default:
                    // Account, template and other business-management updates: not conversation events.
                    events.append(BridgeEvent(
                        kind: .unsupported, nativeId: "", conversation: "", sender: entry.str("id") ?? "",
                        recipient: value.obj("metadata")?.str("phone_number_id"), timestamp: 0,
                        metadata: ["field": field]))
                }
            }
        }
        return events
    }

    /// A `POST /{phone_number_id}/messages` body → the outbound event it expresses (the inverse of the encoder
    /// for one body), marked ``BridgeEvent/outboundDirection`` so a node never bridges it. The sending account is
    /// in the request path, not the body, so `recipient` is `nil` and `sender` empty.
    static func decodeSendRequest(_ body: JSONObject) throws(AdapterError) -> BridgeEvent {
        var event = BridgeEvent(kind: .message, nativeId: "", conversation: body.nonEmpty("to") ?? body.nonEmpty("recipient") ?? "",
                                sender: "", timestamp: 0, metadata: [BridgeEvent.directionKey: BridgeEvent.outboundDirection])
        if let status = body.nonEmpty("status") {
            // Mark-read (and Parley's delivered/failed extension) name only the message.
            guard let parsed = BridgeEvent.Status(rawValue: status), parsed != .sent else {
                throw AdapterError(.unsupportedEvent, "WhatsApp send body has status \"\(status)\", which cannot be sent")
            }
            guard let target = body.nonEmpty("message_id") else {
                throw AdapterError(.missingField, "WhatsApp status body has no message_id")
            }
            event.kind = .receipt
            event.status = parsed
            event.target = target
            if let error = body.arr("errors")?.first?.object {
                event.failure = .init(code: error.str("title") ?? error.int64("code").map { String($0) } ?? "",
                                      message: error.str("message") ?? "")
            }
            return event
        }
        guard !event.conversation.isEmpty else {
            throw AdapterError(.missingField, "WhatsApp send body has neither \"to\" nor \"recipient\"")
        }
        guard let type = body.nonEmpty("type") else {
            throw AdapterError(.missingField, "WhatsApp send body has no \"type\"")
        }
        event.isGroup = body.str("recipient_type") == "group"
        try fillContent(&event, body, type: type, what: "send body")
        if let quoted = body.obj("context")?.nonEmpty("message_id") { event.target = quoted }
        return event
    }

    // MARK: messages and statuses

    static func phoneNumberId(_ value: JSONObject) throws(AdapterError) -> String {
        guard let id = value.obj("metadata")?.nonEmpty("phone_number_id") else {
            throw AdapterError(.missingField, "WhatsApp change value has no metadata.phone_number_id")
        }
        return id
    }

    static func decodeMessages(_ value: JSONObject, into events: inout [BridgeEvent]) throws(AdapterError) {
        let messages = value.arr("messages") ?? []
        let statuses = value.arr("statuses") ?? []
        if messages.isEmpty && statuses.isEmpty { return }
        let business = try phoneNumberId(value)
        let contacts = (value.arr("contacts") ?? []).compactMap(\.object)
        for (i, item) in messages.enumerated() {
            guard let message = item.object else {
                throw AdapterError(.missingField, "messages[\(i)] is not an object")
            }
            events.append(try decodeMessage(message, business: business, contacts: contacts, index: i))
        }
        for (i, item) in statuses.enumerated() {
            guard let status = item.object else {
                throw AdapterError(.missingField, "statuses[\(i)] is not an object")
            }
            events.append(try decodeStatus(status, business: business, index: i))
        }
    }

    static func decodeEchoes(_ value: JSONObject, into events: inout [BridgeEvent]) throws(AdapterError) {
        let echoes = value.arr("message_echoes") ?? []
        if echoes.isEmpty { return }
        let business = try phoneNumberId(value)
        for (i, item) in echoes.enumerated() {
            guard let echo = item.object else {
                throw AdapterError(.missingField, "message_echoes[\(i)] is not an object")
            }
            // Echoes of what the business typed in the WhatsApp Business app: from = business, to = user.
            var event = try decodeMessage(echo, business: business, contacts: [], index: i)
            guard let user = echo.nonEmpty("to_user_id") ?? echo.nonEmpty("to") else {
                throw AdapterError(.missingField, "message_echoes[\(i)] has no \"to\"")
            }
            if !event.isGroup { event.conversation = user }
            event.metadata["echo_of"] = event.kind.rawValue
            event.kind = .echo
            events.append(event)
        }
    }

    /// Unix seconds as a string (or number) → Unix milliseconds.
    static func timestamp(_ object: JSONObject, _ what: String) throws(AdapterError) -> Int64 {
        guard let seconds = object.int64("timestamp") else {
            throw AdapterError(.missingField, "\(what) has no numeric \"timestamp\"")
        }
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { throw AdapterError(.malformedPayload, "\(what) timestamp \(seconds) is out of range") }
        return ms
    }

    static func decodeMessage(
        _ m: JSONObject, business: String, contacts: [JSONObject], index i: Int
    ) throws(AdapterError) -> BridgeEvent {
        let what = "messages[\(i)]"
        guard let id = m.nonEmpty("id") else { throw AdapterError(.missingField, "\(what) has no \"id\"") }
        let phone = m.nonEmpty("from")
        // BSUID first: the phone may be withheld (usernames, 2026); a lone contact's user_id is the last resort.
        let soleContactId = contacts.count == 1 ? contacts[0].nonEmpty("user_id") : nil
        guard let sender = m.nonEmpty("from_user_id") ?? phone ?? soleContactId else {
            throw AdapterError(.missingField, "\(what) has neither \"from_user_id\" nor \"from\"")
        }
        let type = m.nonEmpty("type") ?? "unknown"
        var event = BridgeEvent(kind: .message, nativeId: id, conversation: sender, sender: sender,
                                recipient: business, timestamp: try timestamp(m, what))
        if let phone, phone != sender { event.metadata["phone"] = phone }
        if let group = m.nonEmpty("group_id") {
            event.conversation = group
            event.isGroup = true
        }
        if let name = contacts.first(where: { $0.str("wa_id") == phone || $0.str("user_id") == sender })?
            .obj("profile")?.nonEmpty("name") {
            event.metadata["name"] = name
        }
        if let context = m.obj("context") {
            if let quoted = context.nonEmpty("id") {
                event.target = quoted
                event.metadata["subtype"] = "reply"
            }
            if context.flag("forwarded") || context.flag("frequently_forwarded") { event.metadata["forwarded"] = "1" }
        }
        try fillContent(&event, m, type: type, what: what)
        return event
    }

    /// Sets kind, text, attachments and target from the type-specific object of a message.
    static func fillContent(_ event: inout BridgeEvent, _ m: JSONObject, type: String, what: String) throws(AdapterError) {
        func part(_ key: String) throws(AdapterError) -> JSONObject {
            guard let object = m.obj(key) else { throw AdapterError(.missingField, "\(what) of type \(type) has no \"\(key)\" object") }
            return object
        }
        switch type {
        case "text":
            guard let body = try part("text").str("body") else {
                throw AdapterError(.missingField, "\(what) has no text.body")
            }
            event.text = body
        case "image", "video", "audio", "document", "sticker":
            let media = try part(type)
            event.attachments = [Attachment(
                kind: type == "document" ? "file" : type, url: media.nonEmpty("url"), mediaId: media.nonEmpty("id"),
                mimeType: media.nonEmpty("mime_type"), caption: media.nonEmpty("caption"),
                filename: media.nonEmpty("filename"), sha256: media.nonEmpty("sha256").map(hexFromBase64))]
            if media.flag("voice") { event.metadata["voice"] = "1" }
        case "location":
            let location = try part("location")
            guard let lat = location.double("latitude"), let long = location.double("longitude") else {
                throw AdapterError(.missingField, "\(what) location has no latitude/longitude")
            }
            let label = [location.nonEmpty("name"), location.nonEmpty("address")].compactMap { $0 }
            event.attachments = [Attachment(kind: "location", url: location.nonEmpty("url"),
                                            caption: label.isEmpty ? nil : label.joined(separator: ", "),
                                            latitude: lat, longitude: long)]
        case "reaction":
            let reaction = try part("reaction")
            // "messsage_id" (three s) is a typo in old Meta samples that some providers still send.
            guard let target = reaction.nonEmpty("message_id") ?? reaction.nonEmpty("messsage_id") else {
                throw AdapterError(.missingField, "\(what) reaction has no message_id")
            }
            event.kind = .reaction
            event.target = target
            event.metadata["subtype"] = nil
            // Removal: emoji omitted or "" → nil either way.
            event.emoji = reaction.nonEmpty("emoji")
        case "interactive":
            let interactive = try part("interactive")
            let kind = interactive.str("type") ?? ""
            if let reply = interactive.obj(kind), let title = reply.nonEmpty("title") ?? reply.nonEmpty("body") {
                event.text = title
                event.metadata["payload"] = reply.str("id") ?? reply.str("response_json")
                event.metadata["interactive"] = kind
            } else {
                unsupported(&event, type: "interactive.\(kind)")
            }
        case "button":
            let button = try part("button")
            guard let text = button.nonEmpty("text") ?? button.nonEmpty("payload") else {
                throw AdapterError(.missingField, "\(what) button has no text")
            }
            event.text = text
            event.metadata["payload"] = button.str("payload")
        case "edit":
            // Coexistence numbers only: edit.original_message_id + edit.message (the new content).
            let edit = try part("edit")
            guard let original = edit.nonEmpty("original_message_id") else {
                throw AdapterError(.missingField, "\(what) edit has no original_message_id")
            }
            var inner = BridgeEvent(kind: .message, nativeId: "", conversation: "", sender: "", timestamp: 0)
            if let message = edit.obj("message"), let innerType = message.nonEmpty("type") {
                try fillContent(&inner, message, type: innerType, what: "\(what).edit.message")
            }
            event.kind = .edit
            event.target = original
            event.metadata["subtype"] = nil
            event.text = inner.text ?? inner.attachments.first?.caption
        case "revoke":
            guard let original = try part("revoke").nonEmpty("original_message_id") else {
                throw AdapterError(.missingField, "\(what) revoke has no original_message_id")
            }
            event.kind = .delete
            event.target = original
            event.metadata["subtype"] = nil
        case "unsupported":
            unsupported(&event, type: m.obj("unsupported")?.nonEmpty("type") ?? "unknown")
        default:
            unsupported(&event, type: type)
        }
        if event.kind == .unsupported || type == "unsupported", let error = m.arr("errors")?.first?.object {
            event.failure = failure(error)
        }
    }

    static func unsupported(_ event: inout BridgeEvent, type: String) {
        event.kind = .unsupported
        event.metadata["unsupported_type"] = type
    }

    static func failure(_ error: JSONObject) -> BridgeEvent.Failure {
        let message = error.obj("error_data")?.nonEmpty("details") ?? error.nonEmpty("message")
            ?? error.nonEmpty("title") ?? "WhatsApp reported an error"
        return BridgeEvent.Failure(code: error.str("code") ?? "whatsapp.unknown", message: message)
    }

    static func decodeStatus(_ s: JSONObject, business: String, index i: Int) throws(AdapterError) -> BridgeEvent {
        let what = "statuses[\(i)]"
        guard let wamid = s.nonEmpty("id") else { throw AdapterError(.missingField, "\(what) has no \"id\"") }
        guard let name = s.nonEmpty("status") else { throw AdapterError(.missingField, "\(what) has no \"status\"") }
        let isGroup = s.str("recipient_type") == "group"
        let user = s.nonEmpty("recipient_user_id") ?? s.nonEmpty("recipient_id")
        guard let conversation = isGroup ? (s.nonEmpty("recipient_id") ?? user) : user else {
            throw AdapterError(.missingField, "\(what) has neither \"recipient_user_id\" nor \"recipient_id\"")
        }
        let sender = isGroup
            ? (s.nonEmpty("recipient_participant_user_id") ?? s.nonEmpty("recipient_participant_id") ?? conversation)
            : conversation
        var event = BridgeEvent(kind: .receipt, nativeId: "\(wamid):\(name)", conversation: conversation,
                                sender: sender, recipient: business, timestamp: try timestamp(s, what),
                                target: wamid, isGroup: isGroup)
        if let status = BridgeEvent.Status(rawValue: name) {
            event.status = status
        } else {
            event.kind = .unsupported  // e.g. "deleted", "warning"
            event.metadata["unsupported_type"] = "status.\(name)"
        }
        if let error = s.arr("errors")?.first?.object { event.failure = failure(error) }
        if let tag = s.nonEmpty("biz_opaque_callback_data") {
            event.metadata["biz_opaque_callback_data"] = tag
            if tag == WhatsAppAdapter.bridgeTag { event.metadata["parley"] = "1" }
        }
        return event
    }

    /// WhatsApp gives `sha256` in base64; ``Attachment/sha256`` is hex. Values that are not base64 pass through.
    static func hexFromBase64(_ value: String) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        var padding = false
        for c in value.utf8 {
            let sextet: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): sextet = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): sextet = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): sextet = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"), UInt8(ascii: "-"): sextet = 62
            case UInt8(ascii: "/"), UInt8(ascii: "_"): sextet = 63
            case UInt8(ascii: "="): padding = true; continue
            default: return value
            }
            if padding { return value }
            buffer = buffer << 6 | UInt32(sextet)
            bits += 6
            if bits >= 8 {
                bits -= 8
                let byte = UInt8((buffer >> UInt32(bits)) & 0xff)
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0f)])
            }
        }
        return out.isEmpty ? value : String(decoding: out, as: UTF8.self)
    }
}
