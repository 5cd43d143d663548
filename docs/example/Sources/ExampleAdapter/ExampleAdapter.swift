// The example adapter of docs/ADAPTER_GUIDE.md: a complete adapter for "Toychat", a made-up JSON chat API.
//
// Toychat webhook (what the app POSTs to the node):
//
//     {"account": "bot-1",
//      "events": [
//        {"type": "message",  "id": "m1", "chat": "c42", "from": "+1 650-555-1234", "ts": "1749416383",
//         "text": "hi", "reply_to": "m0", "media": [{"kind": "image", "url": "https://…", "mime": "image/png"}],
//         "group": false},
//        {"type": "reaction", "id": "r1", "chat": "c42", "from": "u7", "ts": 1749416383123, "message": "m1", "emoji": "👍"},
//        {"type": "edit",     "id": "e1", "chat": "c42", "from": "u7", "ts": …, "message": "m1", "text": "hi again"},
//        {"type": "delete",   "id": "d1", "chat": "c42", "from": "u7", "ts": …, "message": "m1"},
//        {"type": "read",     "id": "s1", "chat": "c42", "from": "u7", "ts": …, "message": "m1"}]}
//
// `ts` is Unix seconds or milliseconds, as a number or a string; ids may arrive as numbers.
//
// Toychat send API (what the node calls), relative to the tenant's API base URL:
//
//     POST   /v1/chats/{chat}/messages          {"text": …, "reply_to": …, "media": [{"kind","url"}]}
//     POST   /v1/chats/{chat}/reactions         {"message": …, "emoji": …}   (empty emoji removes it)
//     PATCH  /v1/chats/{chat}/messages/{id}     {"text": …}
//     DELETE /v1/chats/{chat}/messages/{id}     {}
//     POST   /v1/chats/{chat}/read              {"message": …}
//
// Answers: 2xx {"id": "m9"} (id absent for actions); 4xx {"error": {"code": "…", "message": "…"}}; 429 and 5xx
// mean "try again later".

import ParleyKit

/// The Toychat adapter: a pure codec between Toychat's JSON and Parley's ``BridgeEvent``.
public struct ExampleAdapter: Adapter {
    public init() {}

    public let name = "example"

    public var capabilities: AdapterCapabilities {
        AdapterCapabilities(
            inboundKinds: [.message, .reaction, .edit, .delete, .receipt],
            outboundKinds: [.message, .reaction, .edit, .delete, .receipt],
            maxTextLength: 500, textLimitUnit: .characters,
            mediaKinds: ["image", "file"],
            groups: true, reactions: true, edits: true, deletes: true,
            receipts: [.read])
    }

    // MARK: Inbound

    public func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        let root = try JSONValue.parse(payload)
        guard let events = root["events"]?.array else {
            throw AdapterError(.missingField, "a Toychat webhook needs an \"events\" array")
        }
        let account = root["account"]?.nonEmptyString
        var out: [BridgeEvent] = []
        for (index, item) in events.enumerated() {
            out.append(try decodeEvent(item, index: index, account: account))
        }
        return out
    }

    private func decodeEvent(_ item: JSONValue, index: Int, account: String?) throws(AdapterError) -> BridgeEvent {
        func required(_ key: String) throws(AdapterError) -> String {
            guard let value = NativeIDs.trimmed(item[key]?.string) else {
                throw AdapterError(.missingField, "events[\(index)].\(key) is missing or not a string")
            }
            return value
        }
        let type = try required("type")
        guard let timestamp = Timestamps.unixMilliseconds(item["ts"]) else {
            throw AdapterError(.missingField, "events[\(index)].ts is missing or not a Unix time")
        }
        // Toychat users may be phone numbers written any way; "+1 650-555-1234" and "16505551234" are one user.
        guard let sender = NativeIDs.user(try required("from")) else {
            throw AdapterError(.missingField, "events[\(index)].from is empty")
        }
        var event = BridgeEvent(
            kind: .message, nativeId: try required("id"), conversation: try required("chat"), sender: sender,
            recipient: account, timestamp: timestamp, isGroup: item["group"]?.bool ?? false)

        switch type {
        case "message":
            event.text = item["text"]?.string
            event.target = NativeIDs.trimmed(item["reply_to"]?.string)
            event.attachments = (item["media"]?.array ?? []).compactMap { media in
                guard let kind = media["kind"]?.nonEmptyString else { return nil }
                return Attachment(kind: kind, url: media["url"]?.string, mimeType: media["mime"]?.string,
                                  caption: media["caption"]?.string)
            }
            if event.text == nil && event.attachments.isEmpty {
                throw AdapterError(.missingField, "events[\(index)] is a message with neither text nor media")
            }
        case "reaction":
            event.kind = .reaction
            event.target = try required("message")
            event.emoji = item["emoji"]?.string ?? ""
        case "edit":
            event.kind = .edit
            event.target = try required("message")
            event.text = try required("text")
        case "delete":
            event.kind = .delete
            event.target = try required("message")
        case "read":
            event.kind = .receipt
            event.status = .read
            event.target = try required("message")
        default:
            // Newer Toychat event types are passed on as `unsupported`, not dropped: the host decides.
            event.kind = .unsupported
            event.metadata["type"] = type
        }
        return event
    }

    // MARK: Outbound

    public func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        guard !event.conversation.isEmpty else {
            throw AdapterError(.missingField, "an outbound event needs its conversation (the Toychat chat id)")
        }
        let chat = "/v1/chats/\(event.conversation)"
        func target() throws(AdapterError) -> String {
            guard let t = NativeIDs.trimmed(event.target) else {
                throw AdapterError(.missingField, "a \(event.kind.rawValue) needs the target message id")
            }
            return t
        }
        switch event.kind {
        case .message:
            var body: [String: JSONValue] = [:]
            if let text = event.text, !text.isEmpty {
                guard text.count <= capabilities.maxTextLength else {
                    throw AdapterError(.limitExceeded, "Toychat text is limited to \(capabilities.maxTextLength) characters")
                }
                body["text"] = .string(text)
            }
            if let reply = NativeIDs.trimmed(event.target) { body["reply_to"] = .string(reply) }
            var media: [JSONValue] = []
            for a in event.attachments {
                guard capabilities.mediaKinds.contains(a.kind), let url = a.url else {
                    throw AdapterError(.limitExceeded, "Toychat sends only linked \(capabilities.mediaKinds.sorted()) media, not \(a.kind)")
                }
                media.append(["kind": .string(a.kind), "url": .string(url)])
            }
            if !media.isEmpty { body["media"] = .array(media) }
            guard !body.isEmpty else { throw AdapterError(.missingField, "a message needs text or media") }
            return [NativeRequest(path: "\(chat)/messages", body: JSONValue.object(body).serialized)]
        case .reaction:
            let body: JSONValue = ["message": .string(try target()), "emoji": .string(event.emoji ?? "")]
            return [NativeRequest(path: "\(chat)/reactions", body: body.serialized)]
        case .edit:
            guard let text = event.text, !text.isEmpty else { throw AdapterError(.missingField, "an edit needs its new text") }
            let body: JSONValue = ["text": .string(text)]
            return [NativeRequest(method: "PATCH", path: "\(chat)/messages/\(try target())", body: body.serialized)]
        case .delete:
            return [NativeRequest(method: "DELETE", path: "\(chat)/messages/\(try target())", body: Array("{}".utf8))]
        case .receipt where event.status == .read:
            let body: JSONValue = ["message": .string(try target())]
            return [NativeRequest(path: "\(chat)/read", body: body.serialized)]
        default:
            throw AdapterError(.unsupportedEvent, "Toychat cannot send a \(event.kind.rawValue) event")
        }
    }

    // MARK: Send responses

    public func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        let json = body.isEmpty ? nil : try? JSONValue.parse(body)
        switch status {
        case 200..<300:
            guard body.isEmpty || json != nil else {
                throw AdapterError(.badResponse, "Toychat answered \(status) with a body that is not JSON")
            }
            return .accepted(nativeId: json?["id"]?.nonEmptyString)
        case 429, 500..<600:
            return .retryable(failure(status, json))
        case 400..<500:
            return .rejected(failure(status, json))
        default:
            throw AdapterError(.badResponse, "Toychat answered with unexpected HTTP status \(status)")
        }
    }

    private func failure(_ status: Int, _ json: JSONValue?) -> BridgeEvent.Failure {
        BridgeEvent.Failure(code: json?["error"]?["code"]?.nonEmptyString ?? "http.\(status)",
                            message: json?["error"]?["message"]?.nonEmptyString ?? "Toychat answered HTTP \(status)")
    }
}

/// The one line that makes this library a Parley adapter: the C entry point the host looks up with dlsym.
@_cdecl("parley_adapter_v1")
public func parleyAdapterEntry(_ hostVersion: UInt32, _ table: UnsafeMutableRawPointer?) -> Int32 {
    parleyExport(ExampleAdapter(), hostVersion: hostVersion, into: table)
}
