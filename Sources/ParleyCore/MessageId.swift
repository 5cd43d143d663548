/// A MIMI message id: 32 bytes, the first naming the hash algorithm (IANA Named Information registry;
/// `0x01` = SHA-256), followed by the first 31 bytes of the hash (draft-ietf-mimi-content §2.3).
/// Its `Codable` form is the lowercase hex string.
public struct MessageId: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The 32 bytes.
    public let bytes: [UInt8]

    /// The length every MIMI message id has.
    public static let length = 32
    /// The hash-algorithm byte for SHA-256, the MIMI default and the only one this implementation computes.
    public static let sha256Algorithm: UInt8 = 0x01

    /// Wraps 32 bytes; `nil` for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == MessageId.length else { return nil }
        self.bytes = bytes
    }

    /// Parses 64 hex digits; `nil` for anything else.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// The hash algorithm named by the first byte.
    public var hashAlgorithm: UInt8 { bytes[0] }

    /// Lowercase hex.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = MessageId(hex: text) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "a message id is 64 hex digits, found '\(text)'"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }

    /// Byte order: the draft sorts messages with equal timestamps by the lexically lowest id.
    public static func < (lhs: MessageId, rhs: MessageId) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// Derives the id of a message exactly as the draft specifies:
    /// `0x01 || SHA-256(u16(len senderUri) || senderUri || u16(len roomUri) || roomUri || content || salt)[0..<31]`,
    /// lengths being big-endian byte counts of the UTF-8 URIs.
    ///
    /// - Parameters:
    ///   - content: the MIMI content bytes *as received* (or as sent); not a re-encoding.
    ///   - senderUri: the sending user's URI (the `senderUri` extension, or what MLS says).
    ///   - roomUri: the room's URI.
    ///   - salt: the content's 16-byte salt.
    public static func derive(
        content: [UInt8], senderUri: String, roomUri: String, salt: [UInt8]
    ) throws(MIMIError) -> MessageId {
        let sender = Array(senderUri.utf8), room = Array(roomUri.utf8)
        guard sender.count <= Int(UInt16.max) else { throw .uriTooLong(field: "senderUri", length: sender.count) }
        guard room.count <= Int(UInt16.max) else { throw .uriTooLong(field: "roomUri", length: room.count) }
        guard salt.count == MIMIContent.saltLength else { throw .invalidSaltLength(salt.count) }
        // One contiguous input: hashing a few small pieces costs more than copying them.
        var input: [UInt8] = []
        input.reserveCapacity(4 + sender.count + room.count + content.count + salt.count)
        input.append(UInt8(sender.count >> 8))
        input.append(UInt8(sender.count & 0xFF))
        input.append(contentsOf: sender)
        input.append(UInt8(room.count >> 8))
        input.append(UInt8(room.count & 0xFF))
        input.append(contentsOf: room)
        input.append(contentsOf: content)
        input.append(contentsOf: salt)
        let digest = SHA256.hash(input)
        var id: [UInt8] = [sha256Algorithm]
        id.reserveCapacity(length)
        id.append(contentsOf: digest.prefix(length - 1))
        return MessageId(unchecked: id)
    }

    private init(unchecked bytes: [UInt8]) {
        self.bytes = bytes
    }
}

/// Lowercase hex encoding and strict decoding.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hex of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (either case); `nil` for an odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
