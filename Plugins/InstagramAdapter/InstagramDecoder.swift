import MetaGraph
import ParleyKit

/// `object: "instagram"` webhook → events. Iterates every entry's `messaging[]` then `standby[]` (Handover Protocol)
/// items. A bare `messaging[]` element (the form Meta's reference pages show) is accepted as a one-item webhook.
enum InstagramDecoder {
    static func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        let root = try JSON.object(payload, what: "Instagram webhook body")
        guard let object = root.str("object") else {
            if root.obj("sender") != nil {
                return try decodeItem(root, account: nil, entryTime: nil, standby: false, what: "messaging item")
            }
            // A Send API body (the other direction): `parley translate` reads those too.
            if MetaSendAPI.isSendRequest(root) { return [try InstagramAdapter.sendAPI.decodeSendRequest(root)] }
            throw AdapterError(.missingField, "Instagram webhook has no \"object\" field")
        }
        guard object == "instagram" else {
            throw AdapterError(.malformedPayload, "webhook object is \"\(object)\", expected \"instagram\"")
        }
        guard let entries = root.arr("entry") else {
            throw AdapterError(.missingField, "Instagram webhook has no \"entry\" array")
        }
        var events: [BridgeEvent] = []
        for (i, item) in entries.enumerated() {
            guard let entry = item.object else {
                throw AdapterError(.missingField, "entry[\(i)] is not an object")
            }
            // Entries with only `changes` (comments, mentions, dashboard tests) carry no chat events.
            for (key, standby) in [("messaging", false), ("standby", true)] {
                for (j, element) in (entry.arr(key) ?? []).enumerated() {
                    guard let m = element.object else {
                        throw AdapterError(.missingField, "entry[\(i)].\(key)[\(j)] is not an object")
                    }
                    events += try decodeItem(m, account: entry.nonEmpty("id"), entryTime: entry.int64("time"),
                                             standby: standby, what: "entry[\(i)].\(key)[\(j)]")
                }
            }
        }
        return events
    }

    static func decodeItem(
        _ m: JSONObject, account: String?, entryTime: Int64?, standby: Bool, what: String
    ) throws(AdapterError) -> [BridgeEvent] {
        guard let from = m.obj("sender").flatMap({ $0.nonEmpty("id") ?? $0.nonEmpty("user_ref") }) else {
            throw AdapterError(.missingField, "\(what) has no sender.id")
        }
        let to = m.obj("recipient")?.nonEmpty("id") ?? account
        let timestamp = m.int64("timestamp") ?? entryTime ?? 0
        var base = BridgeEvent(kind: .message, nativeId: "", conversation: from, sender: from,
                               recipient: to, timestamp: timestamp)
        if standby { base.metadata["standby"] = "1" }

        if let message = m.obj("message") {
            return [try decodeMessage(message, base: base, account: account, to: to, what: what)]
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
        if let read = m.obj("read") {
            // messaging_seen: one message, no watermark.
            guard let mid = read.nonEmpty("mid") else { throw AdapterError(.missingField, "\(what) read has no mid") }
            return [receipt(base, .read, target: mid, watermark: nil)]
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
        // referral, optin, handover, …: not chat content.
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
        _ message: JSONObject, base: BridgeEvent, account: String?, to: String?, what: String
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
        if let reply = message.obj("reply_to") {
            if let quoted = reply.nonEmpty("mid") {
                event.target = quoted
                event.metadata["subtype"] = "reply"
            } else if let story = reply.obj("story") {
                // A story reply: the text is the reply, the story (no mid) is context.
                event.metadata["subtype"] = "story_reply"
                if let url = story.nonEmpty("url") { event.metadata["story_url"] = url }
                if let id = story.str("id") { event.metadata["story_id"] = id }
            }
        }
        if let payload = message.obj("quick_reply")?.str("payload") { event.metadata["payload"] = payload }
        for item in message.arr("attachments") ?? [] {
            guard let a = item.object else { continue }
            let type = a.nonEmpty("type") ?? "unknown"
            let payload = a.obj("payload")
            if type == "like_heart" {
                // The heart sticker has no payload; as text it can cross to any app.
                event.text = [event.text, "❤️"].compactMap { $0 }.joined(separator: "\n")
                event.metadata["subtype"] = "like_heart"
            } else if let url = payload?.nonEmpty("url") {
                event.attachments.append(Attachment(kind: type, url: url, caption: a.nonEmpty("title")))
                if type == "story_mention" {
                    event.metadata["subtype"] = "story_mention"
                    if let id = payload?.str("id") { event.metadata["story_id"] = id }
                }
            } else {
                // unsupported_type, ephemeral (view-once) and the like carry nothing that can be bridged.
                event.metadata["unsupported_attachment"] = type
            }
        }
        if message.flag("is_echo") {
            event.kind = .echo
            // Echoes go account → user, but some samples are un-swapped: the thread is whichever side is not the account.
            let userIsRecipient = account == nil || base.sender == account || to != account
            let user = userIsRecipient ? (to ?? base.sender) : base.sender
            let business = userIsRecipient ? base.sender : (to ?? base.sender)
            event.conversation = user
            event.sender = business
            event.recipient = business
            if let app = message.str("app_id") { event.metadata["app_id"] = app }
            if let tag = message.str("metadata") {
                event.metadata["metadata"] = tag
                if tag == InstagramAdapter.bridgeTag { event.metadata["parley"] = "1" }
            }
            return event
        }
        if event.text == nil && event.attachments.isEmpty {
            event.kind = .unsupported
            event.metadata["unsupported_type"] = event.metadata["unsupported_attachment"]
                ?? (message.flag("is_unsupported") ? "is_unsupported" : "empty_message")
        }
        return event
    }

    /// Instagram's reaction names → an emoji, for reactions that arrive without `emoji`.
    static let emojiByName: [String: String] = [
        "love": "❤️", "like": "👍", "laugh": "😂", "wow": "😮", "sad": "😢", "angry": "😠",
    ]
}
