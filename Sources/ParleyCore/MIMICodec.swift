// Reading and writing MIMI content straight from/to bytes, without an intermediate CBOR tree:
// the node does this for every message.

extension MIMIContent {
    /// Decodes MIMI content, accepting only deterministic CBOR in exactly the draft's shape and limits.
    public init(decoding bytes: [UInt8]) throws(MIMIError) {
        var r = CBORReader(bytes)
        try r.expectArray(field: "content", count: 7)
        let salt = try r.readByteString(field: "salt")
        guard salt.count == MIMIContent.saltLength else { throw .invalidSaltLength(salt.count) }
        self.salt = salt
        replaces = try r.readOptionalMessageId(field: "replaces")
        topicId = try r.readByteString(field: "topicId")
        if try r.readNullIfPresent() {
            expires = nil
        } else {
            try r.expectArray(field: "expires", count: 2)
            let relative = try r.readBool(field: "expires.relative")
            let time = try r.readUInt(field: "expires.time", max: UInt64(UInt32.max))
            expires = Expiration(relative: relative, time: UInt32(time))
        }
        inReplyTo = try r.readOptionalMessageId(field: "inReplyTo")
        extensions = try r.readExtensions()
        var partCount = 0
        body = try r.readNestedPart(level: 1, count: &partCount)
        do { try r.expectEnd() } catch { throw .cbor(error) }
    }

    /// The deterministic CBOR encoding. For decoded content this is byte-for-byte the input.
    public func encoded() -> [UInt8] {
        var w = CBORWriter(capacity: 128 + body.estimatedSize)
        w.arrayHeader(7)
        w.byteString(salt)
        if let replaces { w.byteString(replaces.bytes) } else { w.null() }
        w.byteString(topicId)
        if let expires {
            w.arrayHeader(2)
            w.bool(expires.relative)
            w.unsigned(UInt64(expires.time))
        } else {
            w.null()
        }
        if let inReplyTo { w.byteString(inReplyTo.bytes) } else { w.null() }
        var entries: [CBOR.MapEntry] = []
        entries.reserveCapacity(extensions.other.count + 2)
        if let s = extensions.senderUri { entries.append(.init(key: .unsigned(1), value: .text(s))) }
        if let r = extensions.roomUri { entries.append(.init(key: .unsigned(2), value: .text(r))) }
        entries.append(contentsOf: extensions.other)
        w.map(entries)
        w.append(body)
        return w.bytes
    }

    /// Checks that ``encoded()`` yields content that ``init(decoding:)`` accepts (salt length, extension
    /// keys and depth, part depth and count, multipart sizes), throwing the error a receiver would.
    public func validate() throws(MIMIError) {
        _ = try MIMIContent(decoding: encoded())
    }

    /// The id of this content as it would be sent: derived from ``encoded()`` and the extension URIs
    /// (or the URIs given, which take precedence, e.g. from MLS).
    public func messageId(senderUri: String? = nil, roomUri: String? = nil) throws(MIMIError) -> MessageId {
        guard let sender = senderUri ?? extensions.senderUri else { throw .missingURI(field: "senderUri") }
        guard let room = roomUri ?? extensions.roomUri else { throw .missingURI(field: "roomUri") }
        return try MessageId.derive(content: encoded(), senderUri: sender, roomUri: room, salt: salt)
    }

    /// Decodes received bytes and derives their message id from exactly those bytes.
    /// - Parameters:
    ///   - senderUri: overrides the `senderUri` extension (e.g. the MLS-authenticated sender).
    ///   - roomUri: overrides the `roomUri` extension.
    public static func messageId(
        of bytes: [UInt8], senderUri: String? = nil, roomUri: String? = nil
    ) throws(MIMIError) -> (content: MIMIContent, id: MessageId) {
        let content = try MIMIContent(decoding: bytes)
        guard let sender = senderUri ?? content.extensions.senderUri else { throw .missingURI(field: "senderUri") }
        guard let room = roomUri ?? content.extensions.roomUri else { throw .missingURI(field: "roomUri") }
        let id = try MessageId.derive(content: bytes, senderUri: sender, roomUri: room, salt: content.salt)
        return (content, id)
    }
}

extension NestedPart {
    /// A rough byte count, for reserving the output buffer.
    var estimatedSize: Int {
        switch content {
        case .null: 4
        case .single(let s): 8 + s.contentType.utf8.count + s.content.count
        case .external(let e): 64 + e.url.utf8.count + e.key.count + e.nonce.count + e.contentHash.count
            + e.description.utf8.count + e.filename.utf8.count + e.contentType.utf8.count
        case .multi(let m): m.parts.reduce(4) { $0 + $1.estimatedSize }
        }
    }
}

extension CBORWriter {
    mutating func append(_ part: NestedPart) {
        switch part.content {
        case .null:
            arrayHeader(3)
        case .single:
            arrayHeader(5)
        case .external:
            arrayHeader(15)
        case .multi:
            arrayHeader(5)
        }
        unsigned(UInt64(part.disposition.rawValue))
        text(part.language)
        unsigned(UInt64(part.content.cardinality))
        switch part.content {
        case .null:
            break
        case .single(let s):
            text(s.contentType)
            byteString(s.content)
        case .external(let e):
            text(e.contentType)
            text(e.url)
            unsigned(UInt64(e.expires))
            unsigned(e.size)
            unsigned(UInt64(e.encAlg))
            byteString(e.key)
            byteString(e.nonce)
            byteString(e.aad)
            unsigned(UInt64(e.hashAlg))
            byteString(e.contentHash)
            text(e.description)
            text(e.filename)
        case .multi(let m):
            unsigned(UInt64(m.semantics.rawValue))
            arrayHeader(m.parts.count)
            for p in m.parts { append(p) }
        }
    }
}

// MARK: - Typed reads for MIMI fields

extension CBORReader {
    private mutating func head(_ field: String) throws(MIMIError) -> Head {
        do { return try readHead() } catch { throw .cbor(error) }
    }

    private static func typeName(_ h: Head) -> String {
        switch h.major {
        case 0: "an unsigned integer"
        case 1: "a negative integer"
        case 2: "a byte string"
        case 3: "a text string"
        case 4: "an array"
        case 5: "a map"
        case 6: "a tag"
        default:
            switch h.info {
            case 20, 21: "a boolean"
            case 22: "null"
            case 25, 26, 27: "a float"
            default: "a simple value"
            }
        }
    }

    private static func wrongType(_ field: String, expected: String, found h: Head) -> MIMIError {
        .invalidStructure(field: field, reason: "expected \(expected), found \(typeName(h))")
    }

    @discardableResult
    mutating func expectArray(field: String, count: Int? = nil) throws(MIMIError) -> Int {
        let h = try head(field)
        guard h.major == 4 else { throw CBORReader.wrongType(field, expected: "an array", found: h) }
        if let count, h.argument != UInt64(count) {
            throw .invalidStructure(field: field, reason: "expected \(count) elements, found \(h.argument)")
        }
        // Each element takes at least one byte; a larger count can only be truncated input.
        guard h.argument <= UInt64(bytes.count - position) else { throw .cbor(.truncated(offset: h.offset)) }
        return Int(h.argument)
    }

    mutating func readUInt(field: String, max: UInt64 = .max) throws(MIMIError) -> UInt64 {
        let h = try head(field)
        guard h.major == 0 else { throw CBORReader.wrongType(field, expected: "an unsigned integer", found: h) }
        guard h.argument <= max else { throw .valueOutOfRange(field: field, value: h.argument) }
        return h.argument
    }

    mutating func readBool(field: String) throws(MIMIError) -> Bool {
        let h = try head(field)
        guard h.major == 7, h.info == 20 || h.info == 21 else {
            throw CBORReader.wrongType(field, expected: "a boolean", found: h)
        }
        return h.info == 21
    }

    mutating func readByteString(field: String) throws(MIMIError) -> [UInt8] {
        let h = try head(field)
        guard h.major == 2 else { throw CBORReader.wrongType(field, expected: "a byte string", found: h) }
        do { return Array(bytes[try take(h.argument, from: h.offset)]) } catch { throw .cbor(error) }
    }

    mutating func readText(field: String) throws(MIMIError) -> String {
        let h = try head(field)
        guard h.major == 3 else { throw CBORReader.wrongType(field, expected: "a text string", found: h) }
        do { return try text(in: try take(h.argument, from: h.offset), offset: h.offset) } catch { throw .cbor(error) }
    }

    /// Consumes a `null` if one is next.
    mutating func readNullIfPresent() throws(MIMIError) -> Bool {
        let b: UInt8
        do { b = try peekByte() } catch { throw .cbor(error) }
        if b == 0xF6 {
            _ = try head("null")
            return true
        }
        return false
    }

    mutating func readOptionalMessageId(field: String) throws(MIMIError) -> MessageId? {
        if try readNullIfPresent() { return nil }
        let b = try readByteString(field: field)
        guard let id = MessageId(bytes: b) else { throw .invalidMessageIdLength(field: field, length: b.count) }
        return id
    }

    mutating func readExtensions() throws(MIMIError) -> MIMIExtensions {
        let h = try head("extensions")
        guard h.major == 5 else { throw CBORReader.wrongType("extensions", expected: "a map", found: h) }
        guard h.argument <= UInt64(bytes.count - position) / 2 else { throw .cbor(.truncated(offset: h.offset)) }
        var result = MIMIExtensions()
        var previousKey: Range<Int>? = nil
        for _ in 0..<h.argument {
            let keyStart = position
            let key = try readExtensionItem()
            let keyRange = keyStart..<position
            if let previousKey {
                do { try checkKeyOrder(previousKey, keyRange) } catch { throw .cbor(error) }
            }
            previousKey = keyRange
            switch key {
            case .unsigned(let n) where n > CBORReader.maxSafeInteger,
                 .negative(let n) where n >= CBORReader.maxSafeInteger:
                throw .invalidExtensionKey("integer key outside ±(2^53 - 1)")
            case .text(let t) where t.utf8.isEmpty || t.utf8.count > 255:
                throw .invalidExtensionKey("text key must be 1 to 255 bytes, found \(t.utf8.count)")
            case .unsigned, .negative, .text:
                break
            default:
                throw .invalidExtensionKey("keys must be integers or text strings")
            }
            let value = try readExtensionItem()
            try CBORReader.checkInnerMapKeys(value)
            switch (key, value) {
            case (.unsigned(1), .text(let s)): result.senderUri = s
            case (.unsigned(2), .text(let s)): result.roomUri = s
            case (.unsigned(1), _): throw .invalidExtensionValue(key: "1 (senderUri)")
            case (.unsigned(2), _): throw .invalidExtensionValue(key: "2 (roomUri)")
            default: result.other.append(CBOR.MapEntry(key: key, value: value))
            }
        }
        return result
    }

    static let maxSafeInteger: UInt64 = (1 << 53) - 1

    /// Reads a key or value inside the extensions map (which is depth 1 of the draft's 4 levels).
    private mutating func readExtensionItem() throws(MIMIError) -> CBOR {
        do {
            return try readValue(depth: 1, maxDepth: MIMIContent.maxExtensionDepth)
        } catch {
            if case .nestingTooDeep = error { throw .extensionNestingTooDeep(limit: MIMIContent.maxExtensionDepth) }
            throw .cbor(error)
        }
    }

    /// Maps at any level inside an extension may only have integer (±(2^53 − 1)), text or byte-string keys.
    private static func checkInnerMapKeys(_ value: CBOR) throws(MIMIError) {
        switch value {
        case .array(let items):
            for item in items { try checkInnerMapKeys(item) }
        case .tagged(_, let item):
            try checkInnerMapKeys(item)
        case .map(let entries):
            for entry in entries {
                switch entry.key {
                case .unsigned(let n) where n > maxSafeInteger, .negative(let n) where n >= maxSafeInteger:
                    throw .invalidExtensionKey("integer map key outside ±(2^53 - 1)")
                case .unsigned, .negative, .text, .bytes:
                    break
                default:
                    throw .invalidExtensionKey("keys of maps inside extensions must be integers, text or bytes")
                }
                try checkInnerMapKeys(entry.value)
            }
        default:
            break
        }
    }

    mutating func readNestedPart(level: Int, count: inout Int) throws(MIMIError) -> NestedPart {
        guard level <= MIMIContent.maxPartDepth else { throw .partNestingTooDeep(limit: MIMIContent.maxPartDepth) }
        count += 1
        guard count <= MIMIContent.maxPartCount else { throw .tooManyParts(limit: MIMIContent.maxPartCount) }
        let elements = try expectArray(field: "part")
        guard elements >= 3 else {
            throw .invalidStructure(field: "part", reason: "expected at least 3 elements, found \(elements)")
        }
        let disposition = try readUInt(field: "disposition", max: 255)
        let language = try readText(field: "language")
        let cardinality = try readUInt(field: "cardinality")
        let expected: Int
        switch cardinality {
        case 0: expected = 3
        case 1: expected = 5
        case 2: expected = 15
        case 3: expected = 5
        default: throw .unknownCardinality(cardinality)
        }
        guard elements == expected else {
            throw .invalidStructure(
                field: "part", reason: "cardinality \(cardinality) needs \(expected) elements, found \(elements)")
        }
        let content: NestedPart.Content
        switch cardinality {
        case 0:
            content = .null
        case 1:
            let contentType = try readText(field: "contentType")
            content = .single(SinglePart(contentType: contentType, content: try readByteString(field: "content")))
        case 2:
            content = .external(ExternalPart(
                contentType: try readText(field: "contentType"),
                url: try readText(field: "url"),
                expires: UInt32(try readUInt(field: "external.expires", max: UInt64(UInt32.max))),
                size: try readUInt(field: "size"),
                encAlg: UInt16(try readUInt(field: "encAlg", max: UInt64(UInt16.max))),
                key: try readByteString(field: "key"),
                nonce: try readByteString(field: "nonce"),
                aad: try readByteString(field: "aad"),
                hashAlg: UInt8(try readUInt(field: "hashAlg", max: UInt64(UInt8.max))),
                contentHash: try readByteString(field: "contentHash"),
                description: try readText(field: "description"),
                filename: try readText(field: "filename")))
        default:
            let semanticsValue = try readUInt(field: "partSemantics")
            guard semanticsValue <= 255, let semantics = PartSemantics(rawValue: UInt8(semanticsValue)) else {
                throw .unknownPartSemantics(semanticsValue)
            }
            let n = try expectArray(field: "parts")
            guard n >= 2 else { throw .tooFewParts(n) }
            var parts: [NestedPart] = []
            parts.reserveCapacity(n)
            for _ in 0..<n { parts.append(try readNestedPart(level: level + 1, count: &count)) }
            content = .multi(MultiPart(semantics: semantics, parts: parts))
        }
        return NestedPart(disposition: Disposition(rawValue: UInt8(disposition)), language: language, content: content)
    }
}
