import Foundation

// The JSON form of MIMI content, used by `parley content decode|encode` and for debugging.
//
// Lossless: every field is kept, byte strings are lowercase hex, unknown dispositions are numbers,
// and extension values other than senderUri/roomUri use a typed CBOR-in-JSON form:
//   integer → JSON integer (below -2^63: {"nint": n}, meaning -1-n) · text → string · bytes → {"bytes": hex}
//   array → JSON array · map → {"map": [[key, value], …]} · tag → {"tag": n, "value": v}
//   true/false/null → themselves · undefined → {"undefined": true} · other simple → {"simple": n}
//   float → {"float": number} or {"float": "NaN" | "Infinity" | "-Infinity"}

/// A JSON value (internal: the public API speaks in bytes and strings).
enum JSONValue: Codable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int64.self) { self = .int(i); return }
        if let u = try? c.decode(UInt64.self) { self = .uint(u); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .uint(let u): try c.encode(u)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension MIMIContent {
    /// The JSON form of received bytes (pretty-printed, sorted keys), with `messageId` derived from exactly
    /// those bytes, or `null` when the sender or room URI is unknown.
    /// - Parameters:
    ///   - senderUri: overrides the `senderUri` extension for the id.
    ///   - roomUri: overrides the `roomUri` extension for the id.
    public static func json(
        fromCBOR bytes: [UInt8], senderUri: String? = nil, roomUri: String? = nil
    ) throws(MIMIError) -> String {
        let content = try MIMIContent(decoding: bytes)
        var id: MessageId? = nil
        if let sender = senderUri ?? content.extensions.senderUri, let room = roomUri ?? content.extensions.roomUri {
            id = try MessageId.derive(content: bytes, senderUri: sender, roomUri: room, salt: content.salt)
        }
        return content.jsonString(messageId: id)
    }

    /// This content as pretty-printed JSON with sorted keys. `messageId` is written as given (`null` if nil);
    /// it is informational and ignored when the JSON is read back.
    public func jsonString(messageId: MessageId?) -> String {
        var object = jsonObject()
        object["messageId"] = messageId.map { .string($0.hex) } ?? .null
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail: it holds no non-finite doubles (those are written as strings).
        guard let data = try? encoder.encode(JSONValue.object(object)) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads the JSON form back. The result re-encodes to the CBOR it was printed from; it is checked with
    /// ``validate()``, so anything a receiver would refuse is refused here too.
    public init(json: [UInt8]) throws(MIMIError) {
        guard json.contains(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
            throw .invalidJSON("the input is empty")
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(json))
        } catch {
            throw .invalidJSON("not valid JSON (\(error.localizedDescription))")
        }
        var o = try JSONReader(value, path: "$")
        salt = try o.hex("salt")
        guard salt.count == MIMIContent.saltLength else { throw .invalidSaltLength(salt.count) }
        replaces = try o.messageId("replaces")
        if let t = try o.optional("topicId") { topicId = try JSONReader.hex(t, path: "$.topicId") } else { topicId = [] }
        if let e = try o.optional("expires") {
            var eo = try JSONReader(e, path: "$.expires")
            let relative = try eo.bool("relative")
            let time = try eo.uint("time", max: UInt64(UInt32.max))
            try eo.finish()
            expires = Expiration(relative: relative, time: UInt32(time))
        } else {
            expires = nil
        }
        inReplyTo = try o.messageId("inReplyTo")
        if let ext = try o.optional("extensions") {
            extensions = try JSONReader.extensions(ext)
        } else {
            extensions = MIMIExtensions()
        }
        body = try JSONReader.part(try o.required("body"), path: "$.body")
        _ = try o.optional("messageId")
        try o.finish()
        try validate()
    }

    func jsonObject() -> [String: JSONValue] {
        var ext: [String: JSONValue] = [:]
        if let s = extensions.senderUri { ext["senderUri"] = .string(s) }
        if let r = extensions.roomUri { ext["roomUri"] = .string(r) }
        if !extensions.other.isEmpty {
            ext["other"] = .array(extensions.other.map { .array([$0.key.json, $0.value.json]) })
        }
        return [
            "salt": .string(Hex.encode(salt)),
            "replaces": replaces.map { .string($0.hex) } ?? .null,
            "topicId": .string(Hex.encode(topicId)),
            "expires": expires.map { .object(["relative": .bool($0.relative), "time": .uint(UInt64($0.time))]) } ?? .null,
            "inReplyTo": inReplyTo.map { .string($0.hex) } ?? .null,
            "extensions": .object(ext),
            "body": body.json,
        ]
    }
}

extension NestedPart {
    var json: JSONValue {
        var o: [String: JSONValue] = [
            "disposition": disposition.name.map { .string($0) } ?? .uint(UInt64(disposition.rawValue)),
            "language": .string(language),
        ]
        switch content {
        case .null:
            o["cardinality"] = .string("null")
        case .single(let s):
            o["cardinality"] = .string("single")
            o["contentType"] = .string(s.contentType)
            o["content"] = .string(Hex.encode(s.content))
            // A readable copy; when read back it must agree with `content`.
            if let text = String(validating: s.content, as: UTF8.self) { o["text"] = .string(text) }
        case .external(let e):
            o["cardinality"] = .string("external")
            o["contentType"] = .string(e.contentType)
            o["url"] = .string(e.url)
            o["expires"] = .uint(UInt64(e.expires))
            o["size"] = .uint(e.size)
            o["encAlg"] = .uint(UInt64(e.encAlg))
            o["key"] = .string(Hex.encode(e.key))
            o["nonce"] = .string(Hex.encode(e.nonce))
            o["aad"] = .string(Hex.encode(e.aad))
            o["hashAlg"] = .uint(UInt64(e.hashAlg))
            o["contentHash"] = .string(Hex.encode(e.contentHash))
            o["description"] = .string(e.description)
            o["filename"] = .string(e.filename)
        case .multi(let m):
            o["cardinality"] = .string("multi")
            o["partSemantics"] = .string(m.semantics.name)
            o["parts"] = .array(m.parts.map(\.json))
        }
        return .object(o)
    }
}

extension CBOR {
    /// The typed CBOR-in-JSON form (see the top of this file).
    var json: JSONValue {
        switch self {
        case .unsigned(let n): return .uint(n)
        case .negative(let n): return n <= UInt64(Int64.max) ? .int(-1 - Int64(n)) : .object(["nint": .uint(n)])
        case .bytes(let b): return .object(["bytes": .string(Hex.encode(b))])
        case .text(let s): return .string(s)
        case .array(let items): return .array(items.map(\.json))
        case .map(let entries): return .object(["map": .array(entries.map { .array([$0.key.json, $0.value.json]) })])
        case .tagged(let tag, let item): return .object(["tag": .uint(tag), "value": item.json])
        case .bool(let b): return .bool(b)
        case .null: return .null
        case .undefined: return .object(["undefined": .bool(true)])
        case .simple(let v): return .object(["simple": .uint(UInt64(v))])
        case .float(let d):
            if d.isNaN { return .object(["float": .string("NaN")]) }
            if d.isInfinite { return .object(["float": .string(d > 0 ? "Infinity" : "-Infinity")]) }
            // JSON numbers lose the sign of zero.
            if d == 0, d.sign == .minus { return .object(["float": .string("-0")]) }
            return .object(["float": .double(d)])
        }
    }
}

/// Reads one JSON object field by field, so unknown or misspelled fields are refused rather than ignored.
struct JSONReader {
    private var fields: [String: JSONValue]
    private let path: String

    init(_ value: JSONValue, path: String) throws(MIMIError) {
        guard case .object(let o) = value else { throw .invalidJSON("\(path) must be an object") }
        fields = o
        self.path = path
    }

    mutating func optional(_ key: String) throws(MIMIError) -> JSONValue? {
        guard let v = fields.removeValue(forKey: key) else { return nil }
        if case .null = v { return nil }
        return v
    }

    /// The field as written, `null` included.
    mutating func raw(_ key: String) throws(MIMIError) -> JSONValue {
        guard let v = fields.removeValue(forKey: key) else { throw .invalidJSON("\(path).\(key) is missing") }
        return v
    }

    mutating func required(_ key: String) throws(MIMIError) -> JSONValue {
        guard let v = try optional(key) else { throw .invalidJSON("\(path).\(key) is missing") }
        return v
    }

    /// Throws if fields were left unread.
    func finish() throws(MIMIError) {
        if let extra = fields.keys.sorted().first { throw .invalidJSON("\(path).\(extra) is not a known field") }
    }

    mutating func hex(_ key: String) throws(MIMIError) -> [UInt8] {
        try JSONReader.hex(try required(key), path: "\(path).\(key)")
    }

    mutating func string(_ key: String) throws(MIMIError) -> String {
        guard case .string(let s) = try required(key) else { throw .invalidJSON("\(path).\(key) must be a string") }
        return s
    }

    mutating func bool(_ key: String) throws(MIMIError) -> Bool {
        guard case .bool(let b) = try required(key) else { throw .invalidJSON("\(path).\(key) must be true or false") }
        return b
    }

    mutating func uint(_ key: String, max: UInt64) throws(MIMIError) -> UInt64 {
        let n = try JSONReader.unsigned(try required(key), path: "\(path).\(key)")
        guard n <= max else { throw .invalidJSON("\(path).\(key) must be at most \(max)") }
        return n
    }

    mutating func messageId(_ key: String) throws(MIMIError) -> MessageId? {
        guard let v = try optional(key) else { return nil }
        let b = try JSONReader.hex(v, path: "\(path).\(key)")
        guard let id = MessageId(bytes: b) else { throw .invalidMessageIdLength(field: key, length: b.count) }
        return id
    }

    static func hex(_ value: JSONValue, path: String) throws(MIMIError) -> [UInt8] {
        guard case .string(let s) = value, let b = Hex.decode(s) else {
            throw .invalidJSON("\(path) must be a hex string")
        }
        return b
    }

    static func unsigned(_ value: JSONValue, path: String) throws(MIMIError) -> UInt64 {
        switch value {
        case .int(let i) where i >= 0: return UInt64(i)
        case .uint(let u): return u
        default: throw .invalidJSON("\(path) must be a non-negative integer")
        }
    }

    static func extensions(_ value: JSONValue) throws(MIMIError) -> MIMIExtensions {
        var o = try JSONReader(value, path: "$.extensions")
        var result = MIMIExtensions()
        if let s = try o.optional("senderUri") {
            guard case .string(let t) = s else { throw .invalidJSON("$.extensions.senderUri must be a string") }
            result.senderUri = t
        }
        if let r = try o.optional("roomUri") {
            guard case .string(let t) = r else { throw .invalidJSON("$.extensions.roomUri must be a string") }
            result.roomUri = t
        }
        if let other = try o.optional("other") {
            guard case .array(let entries) = other else { throw .invalidJSON("$.extensions.other must be an array") }
            for (i, entry) in entries.enumerated() {
                guard case .array(let pair) = entry, pair.count == 2 else {
                    throw .invalidJSON("$.extensions.other[\(i)] must be a [key, value] pair")
                }
                result.other.append(CBOR.MapEntry(
                    key: try cbor(pair[0], path: "$.extensions.other[\(i)][0]"),
                    value: try cbor(pair[1], path: "$.extensions.other[\(i)][1]")))
            }
        }
        try o.finish()
        return result
    }

    static func part(_ value: JSONValue, path: String) throws(MIMIError) -> NestedPart {
        var o = try JSONReader(value, path: path)
        let disposition: Disposition
        switch try o.required("disposition") {
        case .string(let name):
            guard let d = Disposition(name: name) else { throw .invalidJSON("\(path).disposition '\(name)' is unknown") }
            disposition = d
        case let other:
            let n = try unsigned(other, path: "\(path).disposition")
            guard n <= 255 else { throw .invalidJSON("\(path).disposition must be at most 255") }
            disposition = Disposition(rawValue: UInt8(n))
        }
        let language = try o.string("language")
        let content: NestedPart.Content
        switch try o.string("cardinality") {
        case "null":
            content = .null
        case "single":
            let contentType = try o.string("contentType")
            var hexContent: [UInt8]? = nil
            if let v = try o.optional("content") { hexContent = try hex(v, path: "\(path).content") }
            var textContent: [UInt8]? = nil
            if let t = try o.optional("text") {
                guard case .string(let s) = t else { throw .invalidJSON("\(path).text must be a string") }
                textContent = Array(s.utf8)
            }
            if let hexContent, let textContent, hexContent != textContent {
                throw .invalidJSON("\(path).text and \(path).content disagree; give one of them")
            }
            guard let bytes = hexContent ?? textContent else {
                throw .invalidJSON("\(path) needs content (hex) or text")
            }
            content = .single(SinglePart(contentType: contentType, content: bytes))
        case "external":
            content = .external(ExternalPart(
                contentType: try o.string("contentType"),
                url: try o.string("url"),
                expires: UInt32(try o.uint("expires", max: UInt64(UInt32.max))),
                size: try o.uint("size", max: .max),
                encAlg: UInt16(try o.uint("encAlg", max: UInt64(UInt16.max))),
                key: try o.hex("key"),
                nonce: try o.hex("nonce"),
                aad: try o.hex("aad"),
                hashAlg: UInt8(try o.uint("hashAlg", max: UInt64(UInt8.max))),
                contentHash: try o.hex("contentHash"),
                description: try o.string("description"),
                filename: try o.string("filename")))
        case "multi":
            let name = try o.string("partSemantics")
            guard let semantics = PartSemantics(name: name) else {
                throw .invalidJSON("\(path).partSemantics '\(name)' is not chooseOne, singleUnit or processAll")
            }
            guard case .array(let items) = try o.required("parts") else {
                throw .invalidJSON("\(path).parts must be an array")
            }
            var parts: [NestedPart] = []
            for (i, item) in items.enumerated() { parts.append(try part(item, path: "\(path).parts[\(i)]")) }
            content = .multi(MultiPart(semantics: semantics, parts: parts))
        case let other:
            throw .invalidJSON("\(path).cardinality '\(other)' is not null, single, external or multi")
        }
        try o.finish()
        return NestedPart(disposition: disposition, language: language, content: content)
    }

    /// The inverse of ``CBOR/json``.
    static func cbor(_ value: JSONValue, path: String) throws(MIMIError) -> CBOR {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .uint(let u): return .unsigned(u)
        case .double: throw .invalidJSON("\(path): write floats as {\"float\": x}")
        case .string(let s): return .text(s)
        case .array(let items):
            var out: [CBOR] = []
            for (i, item) in items.enumerated() { out.append(try cbor(item, path: "\(path)[\(i)]")) }
            return .array(out)
        case .object(let o):
            var r = try JSONReader(value, path: path)
            let result: CBOR
            if let b = try r.optional("bytes") {
                result = .bytes(try hex(b, path: "\(path).bytes"))
            } else if let m = try r.optional("map") {
                guard case .array(let entries) = m else { throw .invalidJSON("\(path).map must be an array") }
                var out: [CBOR.MapEntry] = []
                for (i, entry) in entries.enumerated() {
                    guard case .array(let pair) = entry, pair.count == 2 else {
                        throw .invalidJSON("\(path).map[\(i)] must be a [key, value] pair")
                    }
                    out.append(CBOR.MapEntry(key: try cbor(pair[0], path: "\(path).map[\(i)][0]"),
                                             value: try cbor(pair[1], path: "\(path).map[\(i)][1]")))
                }
                result = .map(out)
            } else if o["tag"] != nil {
                let tag = try r.uint("tag", max: .max)
                result = .tagged(tag, try cbor(try r.raw("value"), path: "\(path).value"))
            } else if let n = try r.optional("nint") {
                result = .negative(try unsigned(n, path: "\(path).nint"))
            } else if let u = try r.optional("undefined") {
                guard case .bool(true) = u else { throw .invalidJSON("\(path).undefined must be true") }
                result = .undefined
            } else if let s = try r.optional("simple") {
                let v = try unsigned(s, path: "\(path).simple")
                guard v <= 255, !(20...31).contains(v) else {
                    throw .invalidJSON("\(path).simple must be 0-19 or 32-255")
                }
                result = .simple(UInt8(v))
            } else if let f = try r.optional("float") {
                switch f {
                case .double(let d): result = .float(d)
                case .int(let i): result = .float(Double(i))
                case .uint(let u): result = .float(Double(u))
                case .string("NaN"): result = .float(.nan)
                case .string("Infinity"): result = .float(.infinity)
                case .string("-Infinity"): result = .float(-.infinity)
                case .string("-0"): result = .float(-0.0)
                default: throw .invalidJSON("\(path).float must be a number, \"NaN\", \"Infinity\", \"-Infinity\" or \"-0\"")
                }
            } else {
                throw .invalidJSON("\(path) must have one of bytes, map, tag, nint, undefined, simple, float")
            }
            try r.finish()
            return result
        }
    }
}
