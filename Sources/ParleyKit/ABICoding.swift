import Foundation

/// The byte encoding of everything that crosses the adapter boundary (the C table and the child-process frames):
/// the JSON Codable form of the shared types, with sorted keys so equal values give equal bytes.
enum ABICoding {
    static func encode<T: Encodable>(_ value: T) throws(AdapterError) -> [UInt8] {
        // Every message crosses with its requests: Foundation's coders spend most of the boundary's time there.
        if let requests = value as? [NativeRequest] { return encodeRequests(requests) }
        if let events = value as? [BridgeEvent] { return encodeEvents(events) }
        if let event = value as? BridgeEvent {
            var out: [UInt8] = []
            out.reserveCapacity(eventCapacity(event))
            appendEvent(event, to: &out)
            return out
        }
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
        // Anything the fast reading does not take goes through Codable, for its exact error.
        if T.self == [BridgeEvent].self, let events = readEvents(bytes) as? T { return events }
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
        if let event = readEvent(bytes) { return event }
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

// MARK: - Events, by hand

extension ABICoding {
    /// `[event,…]` in the form of ``appendEvent(_:to:)``.
    static func encodeEvents(_ events: [BridgeEvent]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(events.reduce(2) { $0 + eventCapacity($1) })
        out.append(UInt8(ascii: "["))
        for (index, event) in events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendEvent(event, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    static func eventCapacity(_ e: BridgeEvent) -> Int {
        256 + e.conversation.utf8.count + e.sender.utf8.count + e.nativeId.utf8.count + (e.text?.utf8.count ?? 0)
    }

    /// BridgeEvent's Codable form (see `BridgeEvent.encode(to:)`) with sorted keys, written straight into bytes:
    /// every message crosses the boundary as one of these, and building a JSONValue tree first cost more than the
    /// adapter's own work.
    static func appendEvent(_ e: BridgeEvent, to out: inout [UInt8]) {
        var separator = UInt8(ascii: "{")
        func key(_ name: StaticString) {
            out.append(separator)
            separator = UInt8(ascii: ",")
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: #"":"#.utf8)
        }
        func string(_ name: StaticString, _ value: String?) {
            guard let value else { return }
            key(name)
            JSONValue.appendString(value, to: &out)
        }
        func number(_ name: StaticString, _ value: Int64?) {
            guard let value else { return }
            key(name)
            out.append(contentsOf: String(value).utf8)
        }
        // Keys in sorted order.
        if !e.attachments.isEmpty {
            key("attachments")
            out.append(contentsOf: JSONValue.array(e.attachments.map(attachmentJSON)).serialized)
        }
        string("conversation", e.conversation)
        string("emoji", e.emoji)
        if let failure = e.failure {
            key("failure")
            out.append(contentsOf: #"{"code":"#.utf8)
            JSONValue.appendString(failure.code, to: &out)
            out.append(contentsOf: #","message":"#.utf8)
            JSONValue.appendString(failure.message, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        if e.isGroup {
            key("isGroup")
            out.append(contentsOf: "true".utf8)
        }
        string("kind", e.kind.rawValue)
        if !e.metadata.isEmpty {
            key("metadata")
            out.append(contentsOf: JSONValue.object(e.metadata.mapValues(JSONValue.string)).serialized)
        }
        string("nativeId", e.nativeId)
        string("recipient", e.recipient)
        string("sender", e.sender)
        string("status", e.status?.rawValue)
        string("target", e.target)
        string("text", e.text)
        number("timestamp", e.timestamp)
        number("watermark", e.watermark)
        out.append(UInt8(ascii: "}"))
    }

    /// The events of a JSON array in the Codable form, or `nil` when the bytes are anything else (the caller
    /// then decodes with Codable, which explains what is wrong).
    static func readEvents(_ bytes: [UInt8]) -> [BridgeEvent]? {
        var parser = JSONParser(bytes: bytes)
        var events: [BridgeEvent] = []
        var exact = true
        do {
            parser.skipByteOrderMark()
            try parser.parseSequence(open: UInt8(ascii: "["), close: UInt8(ascii: "]"), what: "array") { p throws(AdapterError) in
                if let event = try readEvent(&p) { events.append(event) } else { exact = false }
            }
            try parser.expectEnd()
        } catch {
            return nil
        }
        return exact ? events : nil
    }

    /// One event in the Codable form, or `nil` (see ``readEvents(_:)``).
    static func readEvent(_ bytes: [UInt8]) -> BridgeEvent? {
        var parser = JSONParser(bytes: bytes)
        parser.skipByteOrderMark()
        guard let event = try? readEvent(&parser), (try? parser.expectEnd()) != nil else { return nil }
        return event
    }

    /// Reads the members straight into the event's fields; an unknown member is skipped, as Codable skips it.
    private static func readEvent(_ p: inout JSONParser) throws(AdapterError) -> BridgeEvent? {
        var kind: BridgeEvent.Kind?, conversation: String?, sender: String?, timestamp: Int64?
        var nativeId: String?, recipient: String?, text: String?, target: String?, emoji: String?, status: BridgeEvent.Status?
        var watermark: Int64?, attachments: [Attachment] = [], isGroup = false, failure: BridgeEvent.Failure?
        var metadata: [String: String] = [:]
        var exact = true
        func optionalString(_ p: inout JSONParser) throws(AdapterError) -> String? {
            switch try p.parseValue() {
            case .string(let s): return s
            case .null: return nil
            default: exact = false; return nil
            }
        }
        func optionalInteger(_ p: inout JSONParser) throws(AdapterError) -> Int64? {
            switch try p.parseValue() {
            case .number(let n): if let i = Int64(n) { return i }
            case .null: return nil
            default: break
            }
            exact = false
            return nil
        }
        try p.parseMembers { p, name throws(AdapterError) in
            switch name {
            case "kind":
                kind = try optionalString(&p).flatMap(BridgeEvent.Kind.init(rawValue:))
            case "conversation": conversation = try optionalString(&p)
            case "sender": sender = try optionalString(&p)
            case "timestamp": timestamp = try optionalInteger(&p)
            case "nativeId": nativeId = try optionalString(&p)
            case "recipient": recipient = try optionalString(&p)
            case "text": text = try optionalString(&p)
            case "target": target = try optionalString(&p)
            case "emoji": emoji = try optionalString(&p)
            case "status":
                let raw = try optionalString(&p)
                status = raw.flatMap(BridgeEvent.Status.init(rawValue:))
                if raw != nil, status == nil { exact = false }
            case "watermark": watermark = try optionalInteger(&p)
            case "attachments":
                switch try p.parseValue() {
                case .null: attachments = []
                case .array(let items):
                    let read = items.compactMap(attachment(from:))
                    if read.count == items.count { attachments = read } else { exact = false }
                default: exact = false
                }
            case "isGroup":
                switch try p.parseValue() {
                case .null: isGroup = false
                case .bool(let b): isGroup = b
                default: exact = false
                }
            case "failure":
                switch try p.parseValue() {
                case .null: failure = nil
                case .object(let f):
                    if case .string(let code)? = f["code"], case .string(let message)? = f["message"] {
                        failure = .init(code: code, message: message)
                    } else {
                        exact = false
                    }
                default: exact = false
                }
            case "metadata":
                switch try p.parseValue() {
                case .null: metadata = [:]
                case .object(let m):
                    for (key, value) in m {
                        if case .string(let s) = value { metadata[key] = s } else { exact = false }
                    }
                default: exact = false
                }
            default: _ = try p.parseValue()
            }
        }
        guard exact, let kind, let conversation, let sender, let timestamp else { return nil }
        var event = BridgeEvent(kind: kind, nativeId: nativeId ?? "", conversation: conversation, sender: sender,
                                recipient: recipient, timestamp: timestamp, text: text, target: target, emoji: emoji)
        event.status = status
        event.watermark = watermark
        event.attachments = attachments
        event.isGroup = isGroup
        event.failure = failure
        event.metadata = metadata
        return event
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
            appendByteValues(request.body, to: &out)
            out.append(contentsOf: #"],"contentType":"#.utf8)
            JSONValue.appendString(request.contentType, to: &out)
            out.append(contentsOf: #","method":"#.utf8)
            JSONValue.appendString(request.method, to: &out)
            out.append(contentsOf: #","path":"#.utf8)
            JSONValue.appendString(request.path, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// `1,22,255`, written through a pointer: a 1 KiB body is 4,000 appends otherwise.
    static func appendByteValues(_ values: [UInt8], to out: inout [UInt8]) {
        guard !values.isEmpty else { return }
        let text = [UInt8](unsafeUninitializedCapacity: values.count * 4) { text, count in
            var w = 0
            for byte in values {
                if byte >= 100 { text[w] = 48 + byte / 100; w += 1 }
                if byte >= 10 { text[w] = 48 + byte / 10 % 10; w += 1 }
                text[w] = 48 + byte % 10
                text[w + 1] = UInt8(ascii: ",")
                w += 2
            }
            count = w - 1
        }
        out.append(contentsOf: text)
    }

    /// The first four bytes of a binary request list (ABI version 2). JSON never starts with a zero byte, so a
    /// reader tells the two forms apart by the first byte alone.
    static let requestListMagic: [UInt8] = [0x00, UInt8(ascii: "P"), UInt8(ascii: "R"), UInt8(ascii: "Q")]

    /// The requests of `encode` in ABI version 2: the magic, a u32 big-endian count, then per request its method,
    /// path, content type and body, each a u32 big-endian length and that many bytes (the strings UTF-8). Bodies
    /// cross as they are: as JSON byte arrays they took ~4 characters per byte to write and to read back.
    static func encodeRequestList(_ requests: [NativeRequest]) -> [UInt8] {
        var out = requestListMagic
        out.reserveCapacity(requests.reduce(8) { $0 + 16 + $1.method.utf8.count + $1.path.utf8.count + $1.contentType.utf8.count + $1.body.count })
        out.appendBigEndian(UInt32(truncatingIfNeeded: requests.count))
        for request in requests {
            for field in [Array(request.method.utf8), Array(request.path.utf8), Array(request.contentType.utf8)] {
                out.appendBigEndian(UInt32(truncatingIfNeeded: field.count))
                out.append(contentsOf: field)
            }
            out.appendBigEndian(UInt32(truncatingIfNeeded: request.body.count))
            out.append(contentsOf: request.body)
        }
        return out
    }

    /// The requests in the form the negotiated ABI version gives them.
    static func encodeRequests(_ requests: [NativeRequest], abiVersion: UInt32) -> [UInt8] {
        abiVersion >= 2 ? encodeRequestList(requests) : encodeRequests(requests)
    }

    /// Reads what ``encodeRequestList(_:)`` wrote; every length is checked against what is left.
    static func decodeRequestList(_ bytes: [UInt8], what: String) throws(AdapterError) -> [NativeRequest] {
        func invalid(_ why: String) -> AdapterError {
            AdapterError(.internalFailure, "the adapter boundary carried an invalid \(what): \(why)")
        }
        guard bytes.starts(with: requestListMagic) else { throw invalid("not a binary request list") }
        var cursor = requestListMagic.count
        func length() throws(AdapterError) -> Int {
            guard bytes.count - cursor >= 4 else { throw invalid("truncated at byte \(cursor)") }
            defer { cursor += 4 }
            return Int(UInt32(bigEndian: bytes, at: cursor))
        }
        func field(_ name: String) throws(AdapterError) -> ArraySlice<UInt8> {
            let count = try length()
            guard bytes.count - cursor >= count else { throw invalid("the \(name) at byte \(cursor) runs past the end") }
            defer { cursor += count }
            return bytes[cursor..<cursor + count]
        }
        func text(_ name: String) throws(AdapterError) -> String {
            guard let value = String(validating: try field(name), as: UTF8.self) else { throw invalid("the \(name) is not UTF-8") }
            return value
        }
        let count = try length()
        // Each request takes at least 16 bytes: a count beyond that is a lie, not a reason to reserve memory.
        guard count <= (bytes.count - cursor) / 16 else { throw invalid("\(count) requests announced in \(bytes.count) bytes") }
        var requests: [NativeRequest] = []
        requests.reserveCapacity(count)
        for _ in 0..<count {
            let method = try text("method"), path = try text("path"), contentType = try text("content type")
            requests.append(NativeRequest(method: method, path: path, contentType: contentType, body: Array(try field("body"))))
        }
        guard cursor == bytes.count else { throw invalid("\(bytes.count - cursor) bytes after the last request") }
        return requests
    }

    /// Reads what ``encodeRequests(_:)`` (or any JSON encoder of the Codable form) or ``encodeRequestList(_:)`` wrote.
    static func decodeRequests(_ bytes: [UInt8], what: String) throws(AdapterError) -> [NativeRequest] {
        if bytes.first == 0 { return try decodeRequestList(bytes, what: what) }
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
