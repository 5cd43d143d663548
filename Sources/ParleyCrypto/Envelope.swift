/// The 16 random bytes that identify an envelope (dedup and replay key).
public struct EnvelopeID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Length in bytes.
    public static let byteCount = 16
    /// The id bytes.
    public let bytes: [UInt8]

    /// Wraps 16 bytes; throws `EnvelopeError.malformed` for any other length.
    public init(bytes: [UInt8]) throws(EnvelopeError) {
        guard bytes.count == Self.byteCount else { throw .malformed("an envelope id is 16 bytes, got \(bytes.count)") }
        self.bytes = bytes
    }

    /// Parses 32 hex digits.
    public init(hex: String) throws(EnvelopeError) {
        guard let bytes = Base16.decode(hex) else { throw .malformed("envelope id \"\(hex.prefix(80))\" is not hex") }
        try self.init(bytes: bytes)
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// 32 lower-case hex digits.
    public var hex: String { Base16.encode(bytes) }
    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(hex: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// One recipient's entry in the envelope header.
public struct RecipientSlot: Sendable, Equatable {
    /// The recipient user's key id (public: relays route and the destination picks the key by it).
    public let recipientKeyId: KeyId
    /// Directional pair id (16 bytes): opaque to everyone but the two ends.
    public let pairId: [UInt8]
    /// Present on a pair's first envelope: ephemeral X25519 public key (32) ‖ AEAD(sender URI, sender key id).
    public let establishment: [UInt8]?
    /// The content key under the pair's wrap key (32 + 16-byte tag).
    public let wrappedKey: [UInt8]
}

/// A sealed envelope: a header in the clear (authenticated as AEAD associated data) and the
/// XChaCha20-Poly1305 body. Wire format: docs/ENVELOPE.md.
public struct Envelope: Sendable, Equatable {
    /// Format version this code writes and reads.
    public static let currentVersion: UInt8 = 1
    /// Most recipient slots in one envelope.
    public static let maxRecipients = 1024
    /// Largest body (ciphertext with tag) accepted: 64 MiB. Nodes apply their own, smaller, policy limits.
    public static let maxBodyBytes = 64 << 20
    static let contentKeyBytes = 32
    static let wrappedKeyBytes = 48
    static let maxDomainBytes = 253

    /// Format version (1).
    public let version: UInt8
    /// Envelope id.
    public let id: EnvelopeID
    /// Origin operator domain (lower case).
    public let origin: String
    /// Destination operator domain (lower case).
    public let destination: String
    /// After this instant (Unix milliseconds) the envelope is refused.
    public let expiresAt: Int64
    /// Recipient slots, in the order the sender listed recipients.
    public let slots: [RecipientSlot]
    /// The 24-byte XChaCha20 nonce of the body and of the key wraps.
    public let nonce: [UInt8]
    /// The body: inner plaintext under the content key, with the 16-byte tag.
    public let ciphertext: [UInt8]
    /// Every serialized byte before the body: the body's associated data.
    let headerBytes: [UInt8]

    /// The recipient key ids, in slot order.
    public var recipientKeyIds: [KeyId] { slots.map(\.recipientKeyId) }
    /// Length of the body in bytes (ciphertext with tag).
    public var bodyLength: Int { ciphertext.count }

    init(id: EnvelopeID, origin: String, destination: String, expiresAt: Int64, slots: [RecipientSlot],
         nonce: [UInt8], ciphertext: [UInt8], headerBytes: [UInt8]) {
        version = Self.currentVersion
        self.id = id
        self.origin = origin
        self.destination = destination
        self.expiresAt = expiresAt
        self.slots = slots
        self.nonce = nonce
        self.ciphertext = ciphertext
        self.headerBytes = headerBytes
    }

    /// The header bytes for the given fields; `bodyLength` is the ciphertext length to come.
    static func encodeHeader(id: EnvelopeID, origin: String, destination: String, expiresAt: Int64,
                             slots: [RecipientSlot], nonce: [UInt8], bodyLength: Int) -> [UInt8] {
        var w = ByteWriter(capacity: 64 + slots.count * 100)
        w.u8(currentVersion)
        w.raw(id.bytes)
        w.short(Array(origin.utf8))
        w.short(Array(destination.utf8))
        w.i64(expiresAt)
        w.u16(UInt16(slots.count))
        for slot in slots {
            w.raw(slot.recipientKeyId.bytes)
            w.raw(slot.pairId)
            w.medium(slot.establishment ?? [])
            w.raw(slot.wrappedKey)
        }
        w.raw(nonce)
        w.u32(UInt32(bodyLength))
        return w.bytes
    }

    /// The wire bytes.
    public func serialized() -> [UInt8] { headerBytes + ciphertext }

    /// Parses wire bytes strictly: any truncation, out-of-range length, duplicate recipient, unknown
    /// version or trailing byte is `EnvelopeError.malformed`. Authenticity is checked only when opening.
    public init(parsing bytes: [UInt8]) throws(EnvelopeError) {
        var r = ByteReader(bytes)
        version = try r.u8("version")
        guard version == Self.currentVersion else {
            throw .malformed("envelope version \(version) is not supported (this build reads version \(Self.currentVersion))")
        }
        id = EnvelopeID(unchecked: try r.raw(EnvelopeID.byteCount, "envelope id"))
        origin = try Self.domain(try r.short("origin"), "origin")
        destination = try Self.domain(try r.short("destination"), "destination")
        expiresAt = try r.i64("expiresAt")
        guard expiresAt >= 0 else { throw .malformed("expiresAt is negative") }
        let count = Int(try r.u16("recipient count"))
        guard (1...Self.maxRecipients).contains(count) else {
            throw .malformed("recipient count \(count) is outside 1...\(Self.maxRecipients)")
        }
        var slots: [RecipientSlot] = []
        slots.reserveCapacity(count)
        var seen = Set<KeyId>()
        for index in 0..<count {
            let keyId = KeyId(unchecked: try r.raw(KeyId.byteCount, "recipient \(index) key id"))
            guard seen.insert(keyId).inserted else { throw .malformed("recipient key id \(keyId) appears twice") }
            let pairId = try r.raw(PairEntry.pairIdBytes, "recipient \(index) pair id")
            let establishment = try r.medium("recipient \(index) establishment")
            guard establishment.isEmpty || establishment.count >= Establishment.minimumBytes else {
                throw .malformed("recipient \(index) establishment blob is \(establishment.count) bytes, shorter than any valid one")
            }
            let wrapped = try r.raw(Self.wrappedKeyBytes, "recipient \(index) wrapped key")
            slots.append(RecipientSlot(recipientKeyId: keyId, pairId: pairId,
                                       establishment: establishment.isEmpty ? nil : establishment, wrappedKey: wrapped))
        }
        self.slots = slots
        nonce = try r.raw(Sodium.aeadNonceBytes, "nonce")
        let bodyLength = Int(try r.u32("body length"))
        guard (Sodium.aeadTagBytes...Self.maxBodyBytes).contains(bodyLength) else {
            throw .malformed("body length \(bodyLength) is outside \(Sodium.aeadTagBytes)...\(Self.maxBodyBytes)")
        }
        headerBytes = Array(bytes[0..<r.offset])
        ciphertext = try r.raw(bodyLength, "body")
        guard r.isAtEnd else { throw .malformed("\(r.remaining) unexpected bytes after the body") }
    }

    private static func domain(_ bytes: [UInt8], _ field: String) throws(EnvelopeError) -> String {
        guard !bytes.isEmpty else { throw .malformed("\(field) domain is empty") }
        let text = try ByteReader.utf8(bytes, field)
        guard text == text.lowercased() else { throw .malformed("\(field) domain \"\(text)\" is not lower case") }
        return text
    }
}

/// What ``EnvelopeOpener`` returns: the authenticated inside of an envelope.
public struct OpenedEnvelope: Sendable, Equatable {
    /// The envelope id (already recorded by the replay guard, when one was given).
    public let envelopeId: EnvelopeID
    /// Origin domain from the header (the sender's URI is checked to belong to it).
    public let origin: String
    /// Destination domain from the header.
    public let destination: String
    /// The canonical content bytes, exactly as sealed.
    public let content: [UInt8]
    /// The authenticated sending user.
    public let senderURI: String
    /// The sending user's key id.
    public let senderKeyId: KeyId
    /// When the sender sealed it, Unix milliseconds (as claimed by the sender's node).
    public let sentAt: Int64
}

/// Inner plaintext: u16 len ‖ sender URI ‖ sender key id (16) ‖ sentAt (i64) ‖ u32 len ‖ content.
enum InnerPlaintext {
    static func encode(senderURI: String, senderKeyId: KeyId, sentAt: Int64, content: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: content.count + senderURI.utf8.count + 32)
        w.medium(Array(senderURI.utf8))
        w.raw(senderKeyId.bytes)
        w.i64(sentAt)
        w.long(content)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(EnvelopeError) -> (senderURI: String, senderKeyId: KeyId, sentAt: Int64, content: [UInt8]) {
        var r = ByteReader(bytes)
        let uri = try ByteReader.utf8(try r.medium("sender URI"), "sender URI")
        let keyId = KeyId(unchecked: try r.raw(KeyId.byteCount, "sender key id"))
        let sentAt = try r.i64("sentAt")
        let content = try r.long("content")
        guard r.isAtEnd else { throw .malformed("\(r.remaining) unexpected bytes after the content") }
        return (uri, keyId, sentAt, content)
    }
}

/// The establishment blob that lets a recipient learn who a new pair's sender is, without the sender
/// appearing in the clear. A sealed box built from the listed primitives (so it is deterministic under
/// the test randomness hook):
///
///     esk = 32 random bytes, epk = X25519(esk, 9)
///     k   = BLAKE2b-256(key: X25519(esk, recipient public), "parley/establish/v1" ‖ epk ‖ recipient public)
///     blob = epk ‖ XChaCha20-Poly1305(k, nonce: 24 zero bytes, ad: recipient key id ‖ pair id,
///                                     u16 len ‖ sender URI ‖ sender key id)
///
/// The all-zero nonce is safe because `k` is fresh for every blob (a new ephemeral key each time).
enum Establishment {
    static let minimumBytes = 32 + 2 + 1 + KeyId.byteCount + 16

    static func key(shared: [UInt8], ephemeralPublic: [UInt8], recipientPublic: [UInt8]) -> SecretBytes {
        SecretBytes(copying: Sodium.blake2b(Array("parley/establish/v1".utf8) + ephemeralPublic + recipientPublic,
                                            key: shared, outputLength: 32))
    }

    static func seal(senderURI: String, senderKeyId: KeyId, recipient: UserKeyBundle, pairId: [UInt8],
                     random: any RandomSource) -> [UInt8]? {
        let ephemeral = SecretBytes(copying: random.bytes(32))
        let ephemeralPublic = ephemeral.withUnsafePointer { Sodium.x25519Base(secret: $0) }
        guard var shared = ephemeral.withUnsafePointer({ Sodium.x25519(secret: $0, publicKey: recipient.encryptionKey) }) else {
            return nil
        }
        defer { Sodium.memzero(&shared) }
        let key = key(shared: shared, ephemeralPublic: ephemeralPublic, recipientPublic: recipient.encryptionKey)
        var w = ByteWriter()
        w.medium(Array(senderURI.utf8))
        w.raw(senderKeyId.bytes)
        let sealed = key.withUnsafePointer {
            Sodium.aeadSeal(w.bytes, ad: recipient.keyId.bytes + pairId, nonce: zeroNonce, key: $0)
        }
        return ephemeralPublic + sealed
    }

    /// The claimed sender, or `tampered` when the blob was not sealed to `recipient`.
    static func open(_ blob: [UInt8], recipient: UserSecretKeys, pairId: [UInt8]) throws(EnvelopeError) -> (uri: String, keyId: KeyId) {
        let ephemeralPublic = Array(blob.prefix(32))
        guard var shared = recipient.encryptionSecret.withUnsafePointer({ Sodium.x25519(secret: $0, publicKey: ephemeralPublic) }) else {
            throw .tampered("establishment blob carries an invalid ephemeral key")
        }
        defer { Sodium.memzero(&shared) }
        let key = key(shared: shared, ephemeralPublic: ephemeralPublic, recipientPublic: recipient.encryptionPublicKey)
        guard let plain = key.withUnsafePointer({
            Sodium.aeadOpen(Array(blob.dropFirst(32)), ad: recipient.keyId.bytes + pairId, nonce: zeroNonce, key: $0)
        }) else {
            throw .tampered("establishment blob does not authenticate under this recipient's key")
        }
        var r = ByteReader(plain)
        let uri = try ByteReader.utf8(try r.medium("establishment sender URI"), "establishment sender URI")
        let keyId = KeyId(unchecked: try r.raw(KeyId.byteCount, "establishment sender key id"))
        guard r.isAtEnd else { throw .malformed("unexpected bytes after the establishment sender") }
        return (uri, keyId)
    }

    static let zeroNonce = [UInt8](repeating: 0, count: 24)
}
