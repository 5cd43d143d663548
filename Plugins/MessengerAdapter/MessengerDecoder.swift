import MetaGraph
import ParleyKit

/// `object: "page"` webhook → events. Iterates every entry's `messaging[]` then `standby[]` (Handover Protocol)
/// items. A bare `messaging[]` element (the form Meta's reference pages show) is accepted as a one-item webhook.
enum MessengerDecoder {
    static func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        let root = try JSON.object(payload, what: "Messenger webhook body")
        guard let object = root.str("object") else {
            if root.obj("sender") != nil {
                return try decodeItem(root, page: nil, entryTime: nil, standby: false, what: "messaging item")
            }
            // A Send API body (the other direction): `parley translate` reads those too.
            if MetaSendAPI.isSendRequest(root) { return [try MessengerAdapter.sendAPI.decodeSendRequest(root)] }
            throw AdapterError(.missingField, "Messenger webhook has no \"object\" field")
        }
        guard object == "page" else {
            throw AdapterError(.malformedPayload, "webhook object is \"\(object)\", expected \"page\"")
        }
        guard let entries = root.arr("entry") else {
            throw AdapterError(.missingField, "Messenger webhook has no \"entry\" array")
        }
        var events: [BridgeEvent] = []
        for (i, item) in entries.enumerated() {
            guard let entry = item.object else {
                throw AdapterError(.missingField, "entry[\(i)] is not an object")
            }
            // Entries with only `changes` (dashboard test, feed updates) carry no chat events.
            for (key, standby) in [("messaging", false), ("standby", true)] {
                for (j, element) in (entry.arr(key) ?? []).enumerated() {
                    guard let m = element.object else {
                        throw AdapterError(.missingField, "entry[\(i)].\(key)[\(j)] is not an object")
                    }
                    events += try decodeItem(m, page: entry.nonEmpty("id"), entryTime: entry.int64("time"),
                                             standby: standby, what: "entry[\(i)].\(key)[\(j)]")
                }
            }
        }
        return events
    }

    static func decodeItem(
        _ m: JSONObject, page: String?, entryTime: Int64?, standby: Bool, what: String
    ) throws(AdapterError) -> [BridgeEvent] {
        guard let from = m.obj("sender").flatMap({ $0.nonEmpty("id") ?? $0.nonEmpty("user_ref") }) else {
            throw AdapterError(.missingField, "\(what) has no sender.id")
        }
        let to = m.obj("recipient")?.nonEmpty("id") ?? page
        // Meta's delivery sample has no timestamp: fall back to the watermark, then the entry time.
        let watermarkTime = m.obj("delivery")?.int64("watermark") ?? m.obj("read")?.int64("watermark")
        let timestamp = m.int64("timestamp") ?? watermarkTime ?? entryTime ?? 0
        var base = BridgeEvent(kind: .message, nativeId: "", conversation: from, sender: from,
                               recipient: to, timestamp: timestamp)
        if standby { base.metadata["standby"] = "1" }

        if let message = m.obj("message") {
            return [try decodeMessage(message, base: base, page: page, to: to, what: what)]
        }
        if let edit = m.obj("message_edit") {
            guard let mid = edit.nonEmpty("mid") else { throw AdapterError(.missingField, "\(what) message_edit has no mid") }
            base.kind = .edit
            base.target = mid
            base.text = edit.str("text")
            base.nativeId = "\(mid):edit:\(edit.str("num_edit") ?? "0")"
            return [base]
        }
        if let reaction = m.obj("reaction") {
            guard let mid = reaction.nonEmpty("mid") else { throw AdapterError(.missingField, "\(what) reaction has no mid") }
            let action = reaction.nonEmpty("action") ?? "react"
            base.kind = .reaction
            base.target = mid
            base.nativeId = "\(mid):\(action):\(from):\(timestamp)"
            if action != "unreact" {
                base.emoji = reaction.nonEmpty("emoji") ?? reaction.nonEmpty("reaction").flatMap { emojiByName[$0] }
            }
            if let name = reaction.nonEmpty("reaction") { base.metadata["reaction"] = name }
            return [base]
        }
        if let delivery = m.obj("delivery") {
            let watermark = delivery.int64("watermark")
            let mids = (delivery.arr("mids") ?? []).compactMap { mid -> String? in
                // Mids are strings; anything else is skipped.
                if case .string(let s) = mid { s } else { nil }
            }
            if mids.isEmpty {
                guard let watermark else { throw AdapterError(.missingField, "\(what) delivery has neither mids nor watermark") }
                return [receipt(base, .delivered, target: nil, watermark: watermark)]
            }
            return mids.map { receipt(base, .delivered, target: $0, watermark: watermark) }
        }
        if let read = m.obj("read") {
            if let mid = read.nonEmpty("mid") { return [receipt(base, .read, target: mid, watermark: nil)] }
            guard let watermark = read.int64("watermark") else {
                throw AdapterError(.missingField, "\(what) read has neither mid nor watermark")
            }
            return [receipt(base, .read, target: nil, watermark: watermark)]
        }
        if let postback = m.obj("postback") {
            guard let title = postback.nonEmpty("title") ?? postback.nonEmpty("payload") else {
                throw AdapterError(.missingField, "\(what) postback has no title")
            }
            base.text = title
            base.nativeId = postback.nonEmpty("mid") ?? "postback:\(from):\(timestamp)"
            base.metadata["subtype"] = "postback"
            if let payload = postback.str("payload") { base.metadata["payload"] = payload }
            return [base]
        }
        // optin, referral, handover, policy enforcement, …: not chat content.
        base.kind = .unsupported
        let known: Set<String> = ["sender", "recipient", "timestamp"]
        base.metadata["unsupported_type"] = m.keys.filter { !known.contains($0) }.sorted().first ?? "unknown"
        return [base]
    }

    static func receipt(_ base: BridgeEvent, _ status: BridgeEvent.Status, target: String?, watermark: Int64?) -> BridgeEvent {
        var event = base
        event.kind = .receipt
        event.status = status
        event.target = target
        event.watermark = watermark
        event.nativeId = target.map { "\($0):\(status.rawValue)" } ?? "\(base.sender)@\(watermark ?? 0):\(status.rawValue)"
        return event
    }

    static func decodeMessage(
        _ message: JSONObject, base: BridgeEvent, page: String?, to: String?, what: String
    ) throws(AdapterError) -> BridgeEvent {
        guard let mid = message.nonEmpty("mid") else { throw AdapterError(.missingField, "\(what) message has no mid") }
        var event = base
        event.nativeId = mid
        if message.flag("is_deleted") {
            event.kind = .delete
            event.target = mid
            event.nativeId = "\(mid):deleted"
            return event
        }
        event.text = message.nonEmpty("text")
        if let reply = message.obj("reply_to"), let quoted = reply.nonEmpty("mid") {
            event.target = quoted
            event.metadata["subtype"] = "reply"
        }
        if let payload = message.obj("quick_reply")?.str("payload") { event.metadata["payload"] = payload }
        let attachments = (message.arr("attachments") ?? []).compactMap(\.object)
        // Until Aug 30 2026 a sticker arrives twice, as `sticker` and as an `image` with `sticker_id`: keep one.
        let hasSticker = attachments.contains { $0.str("type") == "sticker" }
        for a in attachments {
            let type = a.nonEmpty("type") ?? "unknown"
            let payload = a.obj("payload")
            if hasSticker && type == "image" && payload?["sticker_id"] != nil { continue }
            if type == "location", let coordinates = payload?.obj("coordinates"),
               let lat = coordinates.double("lat"), let long = coordinates.double("long") {
                event.attachments.append(Attachment(kind: "location", caption: a.nonEmpty("title"), latitude: lat, longitude: long))
            } else if let url = payload?.nonEmpty("url") {
                event.attachments.append(Attachment(kind: type, url: url, caption: a.nonEmpty("title")))
            } else if type == "fallback", let title = a.nonEmpty("title") {
                event.text = [event.text, title].compactMap { $0 }.joined(separator: "\n")
            }
        }
        if message.flag("is_echo") {
            event.kind = .echo
            // Real echoes go Page → user, but some samples are un-swapped: the thread is whichever side is not the Page.
            let userIsRecipient = page == nil || base.sender == page || to != page
            let user = userIsRecipient ? (to ?? base.sender) : base.sender
            let account = userIsRecipient ? base.sender : (to ?? base.sender)
            event.conversation = user
            event.sender = account
            event.recipient = account
            if let app = message.str("app_id") { event.metadata["app_id"] = app }
            if let tag = message.str("metadata") {
                event.metadata["metadata"] = tag
                if tag == MessengerAdapter.bridgeTag { event.metadata["parley"] = "1" }
            }
            return event
        }
        if event.text == nil && event.attachments.isEmpty {
            event.kind = .unsupported
            event.metadata["unsupported_type"] = message.flag("is_unsupported") ? "is_unsupported" : "empty_message"
        }
        return event
    }

    /// Messenger's reaction names → an emoji, for reactions that arrive without `emoji`.
    static let emojiByName: [String: String] = [
        "smile": "😆", "angry": "😠", "sad": "😢", "wow": "😮", "love": "❤️", "like": "👍", "dislike": "👎",
    ]
}
