import Foundation

/// The byte encoding of everything that crosses the adapter boundary (the C table and the child-process frames):
/// the JSON Codable form of the shared types, with sorted keys so equal values give equal bytes.
enum ABICoding {
    static func encode<T: Encodable>(_ value: T) throws(AdapterError) -> [UInt8] {
        // Every message crosses with its requests: Foundation's coders spend most of the boundary's time there.
        if let requests = value as? [NativeRequest] { return encodeRequests(requests) }
        if let events = value as? [BridgeEvent] { return JSONValue.array(events.map(eventJSON)).serialized }
        if let event = value as? BridgeEvent { return eventJSON(event).serialized }
        if let outcome = value as? SendOutcome { return outcomeJSON(outcome).serialized }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw AdapterError(.internalFailure, "could not encode \(T.self) for the adapter boundary: \(error)")
        }
    }

    /// Decodes bytes that the other side of the boundary produced; a failure is the other side's fault.
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws(AdapterError) -> T {
        if T.self == [NativeRequest].self, let requests = try decodeRequests(bytes, what: what) as? T { return requests }
        if T.self == [BridgeEvent].self, case .array(let items)? = try? JSONValue.parse(bytes) {
            let events = items.compactMap(event(from:))
            // Anything the fast reading does not take goes through Codable, for its exact error.
            if events.count == items.count, let events = events as? T { return events }
        }
        if T.self == SendOutcome.self, let parsed = try? JSONValue.parse(bytes), let outcome = outcome(from: parsed) as? T {
            return outcome
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw AdapterError(.internalFailure, "the adapter boundary carried an invalid \(what): \(error)")
        }
    }

    /// Decodes an event the host sent to the adapter; a failure is bad input to the adapter.
    static func decodeEvent(_ bytes: [UInt8]) throws(AdapterError) -> BridgeEvent {
        if let parsed = try? JSONValue.parse(bytes), let event = event(from: parsed) { return event }
        do {
            return try JSONDecoder().decode(BridgeEvent.self, from: Data(bytes))
        } catch {
            throw AdapterError(.malformedPayload, "the event is not a valid BridgeEvent JSON object: \(error)")
        }
    }

    /// The AdapterError of an error buffer, or a generic one if the buffer itself is unreadable.
    static func decodeError(_ bytes: [UInt8]) -> AdapterError {
        (try? JSONDecoder().decode(AdapterError.self, from: Data(bytes)))
            ?? AdapterError(.internalFailure, "the adapter reported an error that could not be read: "
                + String(decoding: bytes.prefix(200), as: UTF8.self))
    }
}

// MARK: - Events, through JSONValue

extension ABICoding {
    /// BridgeEvent's Codable form (see `BridgeEvent.encode(to:)`), without Foundation's coders.
    static func eventJSON(_ e: BridgeEvent) -> JSONValue {
        var o: [String: JSONValue] = [
            "kind": .string(e.kind.rawValue), "nativeId": .string(e.nativeId), "conversation": .string(e.conversation),
            "sender": .string(e.sender), "timestamp": .number(String(e.timestamp)),
        ]
        o["recipient"] = e.recipient.map(JSONValue.string)
        o["text"] = e.text.map(JSONValue.string)
        o["target"] = e.target.map(JSONValue.string)
        o["emoji"] = e.emoji.map(JSONValue.string)
        o["status"] = e.status.map { .string($0.rawValue) }
        o["watermark"] = e.watermark.map { .number(String($0)) }
        if !e.attachments.isEmpty { o["attachments"] = .array(e.attachments.map(attachmentJSON)) }
        if e.isGroup { o["isGroup"] = .bool(true) }
        o["failure"] = e.failure.map { .object(["code": .string($0.code), "message": .string($0.message)]) }
        if !e.metadata.isEmpty { o["metadata"] = .object(e.metadata.mapValues(JSONValue.string)) }
        return .object(o)
    }

    static func attachmentJSON(_ a: Attachment) -> JSONValue {
        var o: [String: JSONValue] = ["kind": .string(a.kind)]
        o["url"] = a.url.map(JSONValue.string)
        o["mediaId"] = a.mediaId.map(JSONValue.string)
        o["mimeType"] = a.mimeType.map(JSONValue.string)
        o["caption"] = a.caption.map(JSONValue.string)
        o["filename"] = a.filename.map(JSONValue.string)
        o["sha256"] = a.sha256.map(JSONValue.string)
        o["latitude"] = a.latitude.map { .number("\($0)") }
        o["longitude"] = a.longitude.map { .number("\($0)") }
        return .object(o)
    }

    /// The event a JSON object describes, or `nil` when it is not exactly the Codable form (the caller then
    /// decodes with Codable, which explains what is wrong).
    static func event(from value: JSONValue) -> BridgeEvent? {
        guard case .object(let o) = value, case .string(let kindText)? = o["kind"],
              let kind = BridgeEvent.Kind(rawValue: kindText), case .string(let conversation)? = o["conversation"],
              case .string(let sender)? = o["sender"], case .number(let ts)? = o["timestamp"], let timestamp = Int64(ts)
        else { return nil }
        func string(_ key: String) -> String?? {
            switch o[key] {
            case nil, .null?: return .some(nil)
            case .string(let s)?: return .some(s)
            default: return nil
            }
        }
        guard let nativeId = string("nativeId"), let recipient = string("recipient"), let text = string("text"),
              let target = string("target"), let emoji = string("emoji"), let statusText = string("status") else { return nil }
        var event = BridgeEvent(kind: kind, nativeId: nativeId ?? "", conversation: conversation, sender: sender,
                                recipient: recipient, timestamp: timestamp, text: text, target: target, emoji: emoji)
        if let statusText {
            guard let status = BridgeEvent.Status(rawValue: statusText) else { return nil }
            event.status = status
        }
        switch o["watermark"] {
        case nil, .null?: break
        case .number(let w)?: guard let watermark = Int64(w) else { return nil }; event.watermark = watermark
        default: return nil
        }
        switch o["attachments"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard let attachment = attachment(from: item) else { return nil }
                event.attachments.append(attachment)
            }
        default: return nil
        }
        switch o["isGroup"] {
        case nil, .null?: break
        case .bool(let b)?: event.isGroup = b
        default: return nil
        }
        switch o["failure"] {
        case nil, .null?: break
        case .object(let f)?:
            guard case .string(let code)? = f["code"], case .string(let message)? = f["message"] else { return nil }
            event.failure = .init(code: code, message: message)
        default: return nil
        }
        switch o["metadata"] {
        case nil, .null?: break
        case .object(let m)?:
            for (key, value) in m {
                guard case .string(let s) = value else { return nil }
                event.metadata[key] = s
            }
        default: return nil
        }
        return event
    }

    static func attachment(from value: JSONValue) -> Attachment? {
        guard case .object(let o) = value, case .string(let kind)? = o["kind"] else { return nil }
        var fields: [String: String] = [:]
        for key in ["url", "mediaId", "mimeType", "caption", "filename", "sha256"] {
            switch o[key] {
            case nil, .null?: break
            case .string(let s)?: fields[key] = s
            default: return nil
            }
        }
        var coordinates: [String: Double] = [:]
        for key in ["latitude", "longitude"] {
            switch o[key] {
            case nil, .null?: break
            case .number(let n)?: guard let d = Double(n) else { return nil }; coordinates[key] = d
            default: return nil
            }
        }
        return Attachment(kind: kind, url: fields["url"], mediaId: fields["mediaId"], mimeType: fields["mimeType"],
                          caption: fields["caption"], filename: fields["filename"], sha256: fields["sha256"],
                          latitude: coordinates["latitude"], longitude: coordinates["longitude"])
    }
}

// MARK: - Send outcomes, through JSONValue

extension ABICoding {
    /// SendOutcome's synthesized Codable form: `{"accepted":{"nativeId":…}}`, `{"rejected":{"_0":{"code","message"}}}`.
    static func outcomeJSON(_ outcome: SendOutcome) -> JSONValue {
        func failure(_ f: BridgeEvent.Failure) -> JSONValue {
            .object(["_0": .object(["code": .string(f.code), "message": .string(f.message)])])
        }
        switch outcome {
        case .accepted(let nativeId): return .object(["accepted": .object(nativeId.map { ["nativeId": .string($0)] } ?? [:])])
        case .rejected(let f): return .object(["rejected": failure(f)])
        case .retryable(let f): return .object(["retryable": failure(f)])
        }
    }

    /// The outcome a JSON value describes, or `nil` when it is not exactly the Codable form.
    static func outcome(from value: JSONValue) -> SendOutcome? {
        guard case .object(let o) = value, o.count == 1, let (key, body) = o.first, case .object(let fields) = body else { return nil }
        if key == "accepted" {
            switch fields["nativeId"] {
            case nil, .null?: return .accepted(nativeId: nil)
            case .string(let id)?: return .accepted(nativeId: id)
            default: return nil
            }
        }
        guard case .object(let f)? = fields["_0"], case .string(let code)? = f["code"], case .string(let message)? = f["message"] else {
            return nil
        }
        switch key {
        case "rejected": return .rejected(.init(code: code, message: message))
        case "retryable": return .retryable(.init(code: code, message: message))
        default: return nil
        }
    }
}

// MARK: - Requests, by hand

extension ABICoding {
    /// The same JSON as the Codable form with sorted keys: `[{"body":[…],"contentType":…,"method":…,"path":…}]`.
    static func encodeRequests(_ requests: [NativeRequest]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(requests.reduce(2) { $0 + $1.body.count * 4 + $1.path.utf8.count + 64 })
        out.append(UInt8(ascii: "["))
        for (index, request) in requests.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"body":["#.utf8)
            for (i, byte) in request.body.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if byte >= 100 { out.append(48 + byte / 100) }
                if byte >= 10 { out.append(48 + byte / 10 % 10) }
                out.append(48 + byte % 10)
            }
            out.append(contentsOf: #"],"contentType":"#.utf8)
            JSONValue.writeString(request.contentType, into: &out)
            out.append(contentsOf: #","method":"#.utf8)
            JSONValue.writeString(request.method, into: &out)
            out.append(contentsOf: #","path":"#.utf8)
            JSONValue.writeString(request.path, into: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// Reads what ``encodeRequests(_:)`` (or any JSON encoder of the Codable form) wrote.
    static func decodeRequests(_ bytes: [UInt8], what: String) throws(AdapterError) -> [NativeRequest] {
        func invalid(_ why: String) -> AdapterError {
            AdapterError(.internalFailure, "the adapter boundary carried an invalid \(what): \(why)")
        }
        let objects: [(members: [String: JSONValue], bytes: [UInt8]?)]
        do { objects = try JSONValue.parseObjects(bytes, byteArrayKey: "body") } catch { throw invalid(error.message) }
        var requests: [NativeRequest] = []
        requests.reserveCapacity(objects.count)
        for (index, object) in objects.enumerated() {
            guard case .string(let method)? = object.members["method"], case .string(let path)? = object.members["path"],
                  case .string(let contentType)? = object.members["contentType"], let body = object.bytes else {
                throw invalid("request \(index) needs string method, path and contentType and a byte array body")
            }
            requests.append(NativeRequest(method: method, path: path, contentType: contentType, body: body))
        }
        return requests
    }
}

/// What the child-process handshake carries and ``AdapterLoader`` checks: who the adapter is.
struct AdapterHello: Codable, Sendable, Hashable {
    var abiVersion: UInt32
    var name: String
    var capabilities: AdapterCapabilities
}
