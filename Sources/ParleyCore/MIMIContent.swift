/// A MIMI content message (draft-ietf-mimi-content, `mimiContent`): the 7-element CBOR array.
///
/// Decoding is strict (deterministic CBOR, exact shapes, the draft's limits) and lossless: unknown
/// dispositions and unknown extension keys are kept, so ``encoded()`` of a decoded message reproduces the
/// received bytes exactly. The message id, however, must always be derived from the bytes as received
/// (``MessageId/derive(content:senderUri:roomUri:salt:)``), which is what ``messageId(of:)`` does.
public struct MIMIContent: Sendable, Hashable {
    /// The length of the per-message random salt.
    public static let saltLength = 16
    /// NestedParts may nest at most this many levels (the root part is level 1).
    public static let maxPartDepth = 4
    /// More body parts than this are treated as malicious (draft §Security Considerations).
    public static let maxPartCount = 1024
    /// Tags, maps and arrays inside the extensions map, counting the map itself, may nest this deep.
    public static let maxExtensionDepth = 4

    /// 16 cryptographically random bytes.
    public var salt: [UInt8]
    /// The first version of the message this one edits or deletes (or the reaction it removes).
    public var replaces: MessageId?
    /// A thread/topic grouping; empty for none.
    public var topicId: [UInt8]
    /// When the message should disappear; `nil` for never.
    public var expires: Expiration?
    /// The specific message version this one replies or reacts to.
    public var inReplyTo: MessageId?
    /// The `mimiExtensions` map.
    public var extensions: MIMIExtensions
    /// The body.
    public var body: NestedPart

    public init(
        salt: [UInt8], replaces: MessageId? = nil, topicId: [UInt8] = [], expires: Expiration? = nil,
        inReplyTo: MessageId? = nil, extensions: MIMIExtensions = MIMIExtensions(), body: NestedPart
    ) {
        self.salt = salt
        self.replaces = replaces
        self.topicId = topicId
        self.expires = expires
        self.inReplyTo = inReplyTo
        self.extensions = extensions
        self.body = body
    }

    /// A fresh salt from the system's cryptographically secure generator (drawn from the process's pool, so a
    /// salt costs no system call of its own).
    public static func randomSalt() -> [UInt8] {
        RandomPool.system.bytes(saltLength)
    }
}

/// The `expires` field: a relative (seconds after reading) or absolute (Unix seconds) expiry.
public struct Expiration: Sendable, Hashable {
    public var relative: Bool
    public var time: UInt32

    public init(relative: Bool, time: UInt32) {
        self.relative = relative
        self.time = time
    }
}

/// The `mimiExtensions` map: the two registered URIs plus every other entry, kept as is.
public struct MIMIExtensions: Sendable, Hashable {
    /// Key 1: the sending user's URI.
    public var senderUri: String?
    /// Key 2: the room's URI.
    public var roomUri: String?
    /// Every other entry, in the deterministic order of their encoded keys. Keys are integers in
    /// ±(2^53 − 1) or text of 1–255 UTF-8 bytes; keys 1 and 2 belong in the fields above.
    public var other: [CBOR.MapEntry]

    public init(senderUri: String? = nil, roomUri: String? = nil, other: [CBOR.MapEntry] = []) {
        self.senderUri = senderUri
        self.roomUri = roomUri
        self.other = other
    }

    /// The value of another extension, by key.
    public subscript(key: CBOR) -> CBOR? {
        other.first { $0.key == key }?.value
    }

    var isEmpty: Bool { senderUri == nil && roomUri == nil && other.isEmpty }
}

/// A `NestedPart`: disposition, language and one of the four cardinalities.
public struct NestedPart: Sendable, Hashable {
    public var disposition: Disposition
    /// Empty, or a comma-separated list of RFC 5646 language tags.
    public var language: String
    public var content: Content

    public init(disposition: Disposition = .render, language: String = "", content: Content) {
        self.disposition = disposition
        self.language = language
        self.content = content
    }

    /// The cardinality-specific rest of a part.
    public enum Content: Sendable, Hashable {
        /// `nullpart` (0): no content (deletes and unlikes).
        case null
        /// `single` (1): inline content.
        case single(SinglePart)
        /// `external` (2): content fetched from a URL.
        case external(ExternalPart)
        /// `multi` (3): two or more nested parts.
        case multi(MultiPart)

        /// The CDDL cardinality number.
        public var cardinality: UInt8 {
            switch self {
            case .null: 0
            case .single: 1
            case .external: 2
            case .multi: 3
            }
        }
    }
}

/// An inline part.
public struct SinglePart: Sendable, Hashable {
    /// An IANA media type with parameters, e.g. `text/plain;charset=utf-8`.
    public var contentType: String
    public var content: [UInt8]

    public init(contentType: String, content: [UInt8]) {
        self.contentType = contentType
        self.content = content
    }
}

/// An external part (draft §External content): usually an encrypted blob plus what decrypts and checks it.
public struct ExternalPart: Sendable, Hashable {
    public var contentType: String
    public var url: String
    /// Unix seconds after which the URL is invalid; 0 for never.
    public var expires: UInt32
    /// Size of the content in bytes; 0 when unknown.
    public var size: UInt64
    /// IANA AEAD algorithm number (1 = AES-128-GCM); 0 when not encrypted.
    public var encAlg: UInt16
    public var key: [UInt8]
    public var nonce: [UInt8]
    public var aad: [UInt8]
    /// IANA Named Information hash algorithm (1 = SHA-256).
    public var hashAlg: UInt8
    public var contentHash: [UInt8]
    public var description: String
    public var filename: String

    public init(
        contentType: String, url: String, expires: UInt32 = 0, size: UInt64 = 0, encAlg: UInt16 = 0,
        key: [UInt8] = [], nonce: [UInt8] = [], aad: [UInt8] = [], hashAlg: UInt8 = 0,
        contentHash: [UInt8] = [], description: String = "", filename: String = ""
    ) {
        self.contentType = contentType
        self.url = url
        self.expires = expires
        self.size = size
        self.encAlg = encAlg
        self.key = key
        self.nonce = nonce
        self.aad = aad
        self.hashAlg = hashAlg
        self.contentHash = contentHash
        self.description = description
        self.filename = filename
    }

    /// AEAD algorithm 1 (RFC 5116), the one MIMI requires.
    public static let aes128GCM: UInt16 = 1
    /// Named Information hash algorithm 1.
    public static let sha256: UInt8 = 1
}

/// A multipart part.
public struct MultiPart: Sendable, Hashable {
    public var semantics: PartSemantics
    /// At least two parts.
    public var parts: [NestedPart]

    public init(semantics: PartSemantics, parts: [NestedPart]) {
        self.semantics = semantics
        self.parts = parts
    }
}

/// How the parts of a multipart relate.
public enum PartSemantics: UInt8, Sendable, Hashable, CaseIterable {
    /// The receiver picks exactly one part (like multipart/alternative).
    case chooseOne = 0
    /// All parts form one unit (like multipart/related).
    case singleUnit = 1
    /// Each part is processed on its own (like multipart/mixed).
    case processAll = 2

    /// The CDDL name.
    public var name: String {
        switch self {
        case .chooseOne: "chooseOne"
        case .singleUnit: "singleUnit"
        case .processAll: "processAll"
        }
    }

    public init?(name: String) {
        guard let match = PartSemantics.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

/// A part disposition (0–255). Unknown values are kept; receivers treat them as `render`.
public struct Disposition: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let unspecified = Disposition(rawValue: 0)
    public static let render = Disposition(rawValue: 1)
    public static let reaction = Disposition(rawValue: 2)
    public static let profile = Disposition(rawValue: 3)
    public static let inline = Disposition(rawValue: 4)
    public static let icon = Disposition(rawValue: 5)
    public static let attachment = Disposition(rawValue: 6)
    public static let session = Disposition(rawValue: 7)
    public static let preview = Disposition(rawValue: 8)

    private static let names = [
        "unspecified", "render", "reaction", "profile", "inline", "icon", "attachment", "session", "preview",
    ]

    /// The registered name, or `nil` for values the draft does not define.
    public var name: String? {
        Int(rawValue) < Disposition.names.count ? Disposition.names[Int(rawValue)] : nil
    }

    /// Looks up a registered name.
    public init?(name: String) {
        guard let index = Disposition.names.firstIndex(of: name) else { return nil }
        self.rawValue = UInt8(index)
    }

    public var description: String { name ?? String(rawValue) }
}

/// Why bytes or JSON were refused as MIMI content. Each case has a stable ``code``.
public enum MIMIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The bytes are not deterministic CBOR.
    case cbor(CBORError)
    /// A field has the wrong CBOR type or the wrong number of elements.
    case invalidStructure(field: String, reason: String)
    /// The salt is not 16 bytes.
    case invalidSaltLength(Int)
    /// A message id is not 32 bytes.
    case invalidMessageIdLength(field: String, length: Int)
    /// A number does not fit its field (`uint .size n`, disposition ≤ 255).
    case valueOutOfRange(field: String, value: UInt64)
    /// A cardinality other than 0–3.
    case unknownCardinality(UInt64)
    /// A part semantics other than 0–2.
    case unknownPartSemantics(UInt64)
    /// A multipart with fewer than two parts.
    case tooFewParts(Int)
    /// Parts nested more than 4 levels deep.
    case partNestingTooDeep(limit: Int)
    /// More than 1024 parts.
    case tooManyParts(limit: Int)
    /// Tags, maps and arrays in the extensions nested more than 4 levels deep.
    case extensionNestingTooDeep(limit: Int)
    /// An extension key (or a key of a map inside an extension) of a forbidden type or size.
    case invalidExtensionKey(String)
    /// A registered extension with a value of the wrong type (senderUri/roomUri must be text).
    case invalidExtensionValue(key: String)
    /// A URI longer than the 65535 bytes the message-id length prefix can express.
    case uriTooLong(field: String, length: Int)
    /// The sender or room URI needed for the message id is not known.
    case missingURI(field: String)
    /// The JSON form could not be read.
    case invalidJSON(String)

    /// A stable machine-readable code, e.g. `mimi.salt_length`; CBOR problems keep their `cbor.*` code.
    public var code: String {
        switch self {
        case .cbor(let e): e.code
        case .invalidStructure: "mimi.structure"
        case .invalidSaltLength: "mimi.salt_length"
        case .invalidMessageIdLength: "mimi.message_id_length"
        case .valueOutOfRange: "mimi.out_of_range"
        case .unknownCardinality: "mimi.unknown_cardinality"
        case .unknownPartSemantics: "mimi.unknown_part_semantics"
        case .tooFewParts: "mimi.too_few_parts"
        case .partNestingTooDeep: "mimi.parts_too_deep"
        case .tooManyParts: "mimi.too_many_parts"
        case .extensionNestingTooDeep: "mimi.extensions_too_deep"
        case .invalidExtensionKey: "mimi.extension_key"
        case .invalidExtensionValue: "mimi.extension_value"
        case .uriTooLong: "mimi.uri_too_long"
        case .missingURI: "mimi.missing_uri"
        case .invalidJSON: "mimi.json"
        }
    }

    /// Text a person can act on.
    public var message: String {
        switch self {
        case .cbor(let e): "not deterministic CBOR: \(e.message) at byte \(e.offset)"
        case .invalidStructure(let field, let reason): "\(field): \(reason)"
        case .invalidSaltLength(let n): "salt must be 16 bytes, found \(n)"
        case .invalidMessageIdLength(let field, let n): "\(field) must be a 32-byte message id, found \(n) bytes"
        case .valueOutOfRange(let field, let v): "\(field) value \(v) is out of range"
        case .unknownCardinality(let v): "unknown part cardinality \(v) (expected 0-3)"
        case .unknownPartSemantics(let v): "unknown part semantics \(v) (expected 0-2)"
        case .tooFewParts(let n): "a multipart needs at least 2 parts, found \(n)"
        case .partNestingTooDeep(let limit): "body parts nested more than \(limit) levels deep"
        case .tooManyParts(let limit): "more than \(limit) body parts"
        case .extensionNestingTooDeep(let limit): "extensions nested more than \(limit) levels deep"
        case .invalidExtensionKey(let reason): "invalid extension key: \(reason)"
        case .invalidExtensionValue(let key): "extension \(key) must be a text string"
        case .uriTooLong(let field, let n): "\(field) is \(n) bytes; at most 65535 fit the message id input"
        case .missingURI(let field): "\(field) is needed to compute the message id but is not known"
        case .invalidJSON(let reason): "invalid MIMI content JSON: \(reason)"
        }
    }

    public var description: String { "\(code): \(message)" }
}
