import Foundation

/// A user's secret keys: an Ed25519 identity key and an X25519 encryption key. Held by the user's own
/// node (the tenant that hosts the user). The secrets live in memory that is wiped with
/// `sodium_memzero` when the last reference is released.
///
/// Storage form (``serialized()``), 65 bytes: `0x01` ‖ Ed25519 seed (32) ‖ X25519 secret (32).
public final class UserSecretKeys: Sendable {
    /// Storage format version written by ``serialized()``.
    public static let storageVersion: UInt8 = 1
    /// Length of ``serialized()``.
    public static let serializedByteCount = 65

    /// Ed25519 seed ‖ public (64 bytes).
    private let identitySecret: SecretBytes
    /// X25519 secret scalar (32 bytes).
    let encryptionSecret: SecretBytes

    /// The Ed25519 identity public key (32 bytes).
    public let identityPublicKey: [UInt8]
    /// The X25519 encryption public key (32 bytes); envelopes for this user are sealed to it.
    public let encryptionPublicKey: [UInt8]
    /// `parley/user-key-id/v1` id over identity ‖ encryption public keys; appears in envelope headers.
    public let keyId: KeyId

    /// Fresh random keys.
    public static func generate() -> UserSecretKeys {
        var seed = Sodium.randomBytes(32)
        var encryption = Sodium.randomBytes(32)
        defer { Sodium.memzero(&seed); Sodium.memzero(&encryption) }
        return UserSecretKeys(validIdentitySeed: seed, encryptionSecret: encryption, wipeObserver: nil)
    }

    /// Keys from explicit secrets (an Ed25519 seed and an X25519 secret, 32 bytes each).
    public convenience init(identitySeed: [UInt8], encryptionSecret: [UInt8]) throws(KeyError) {
        try self.init(identitySeed: identitySeed, encryptionSecret: encryptionSecret, wipeObserver: nil)
    }

    /// Restores keys from ``serialized()`` bytes.
    public convenience init(serialized bytes: [UInt8]) throws(KeyError) {
        guard bytes.count == Self.serializedByteCount else {
            throw KeyError(.invalidKey, "stored user keys are \(Self.serializedByteCount) bytes, got \(bytes.count)")
        }
        guard bytes[0] == Self.storageVersion else {
            throw KeyError(.invalidKey, "stored user keys have format version \(bytes[0]); this build reads version \(Self.storageVersion)")
        }
        var seed = Array(bytes[1..<33])
        var encryption = Array(bytes[33..<65])
        defer { Sodium.memzero(&seed); Sodium.memzero(&encryption) }
        try self.init(identitySeed: seed, encryptionSecret: encryption, wipeObserver: nil)
    }

    /// Test hook: `wipeObserver` is told for each secret buffer whether it read all zeros after the wipe.
    convenience init(identitySeed: [UInt8], encryptionSecret: [UInt8],
                     wipeObserver: (@Sendable (Bool) -> Void)?) throws(KeyError) {
        guard identitySeed.count == 32, encryptionSecret.count == 32 else {
            throw KeyError(.invalidKey, "user identity seed and encryption secret are 32 bytes each, got \(identitySeed.count) and \(encryptionSecret.count)")
        }
        self.init(validIdentitySeed: identitySeed, encryptionSecret: encryptionSecret, wipeObserver: wipeObserver)
    }

    private init(validIdentitySeed seed: [UInt8], encryptionSecret: [UInt8], wipeObserver: (@Sendable (Bool) -> Void)?) {
        Sodium.ensureInitialized()
        var identityPublic: [UInt8] = []
        identitySecret = SecretBytes(count: Sodium.ed25519SecretKeyBytes, wipeObserver: wipeObserver) { sk in
            identityPublic = Sodium.ed25519KeyPair(seed: seed, secretKey: sk)
        }
        let encryption = SecretBytes(copying: encryptionSecret, wipeObserver: wipeObserver)
        self.encryptionSecret = encryption
        identityPublicKey = identityPublic
        encryptionPublicKey = encryption.withUnsafePointer { Sodium.x25519Base(secret: $0) }
        keyId = UserSecretKeys.keyId(identity: identityPublicKey, encryption: encryptionPublicKey)
    }

    static func keyId(identity: [UInt8], encryption: [UInt8]) -> KeyId {
        KeyId.derive(label: "parley/user-key-id/v1", identity + encryption)
    }

    /// The storage form (65 bytes, see the type's documentation). The caller owns this copy of the
    /// secrets: store it encrypted at rest and wipe it when done.
    public func serialized() -> [UInt8] {
        var out = [Self.storageVersion]
        out += identitySecret.copyBytes().prefix(32)
        out += encryptionSecret.copyBytes()
        return out
    }

    /// An Ed25519 signature by the user's identity key.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        identitySecret.withUnsafePointer { Sodium.ed25519Sign(message, secretKey: $0) }
    }
}

/// A user's public keys, signed by the user's node: what `GET /v1/keys/{user}` returns.
///
/// JSON: `{"userURI": "...", "identityKey": base64, "encryptionKey": base64, "keyId": hex,
/// "createdAt": Unix ms, "nodeKeyId": hex, "signature": base64}`. The signature is the node key's
/// Ed25519 signature over ``canonicalBytes()`` (docs/ENVELOPE.md "Key bundle").
public struct UserKeyBundle: Sendable, Equatable, Codable {
    /// The user's MIMI URI, `mimi://<domain>/u/<user>`.
    public let userURI: String
    /// Ed25519 identity public key (32 bytes).
    public let identityKey: [UInt8]
    /// X25519 encryption public key (32 bytes).
    public let encryptionKey: [UInt8]
    /// The user key id (derived from the two public keys; checked by ``verify(nodeKey:)``).
    public let keyId: KeyId
    /// When the bundle was issued, Unix milliseconds.
    public let createdAt: Int64
    /// Key id of the node key that signed the bundle (lets a peer pick among a node's keys during rotation).
    public let nodeKeyId: KeyId
    /// Ed25519 signature by the node key over ``canonicalBytes()`` (64 bytes).
    public let signature: [UInt8]

    /// Issues a bundle for `keys`, signed by the node key that hosts `userURI`.
    public static func issue(userURI: String, keys: UserSecretKeys, createdAt: Int64, nodeKey: NodeSigningKey) -> UserKeyBundle {
        let unsigned = UserKeyBundle(userURI: userURI, identityKey: keys.identityPublicKey, encryptionKey: keys.encryptionPublicKey,
                                     keyId: keys.keyId, createdAt: createdAt, nodeKeyId: nodeKey.keyId, signature: [])
        return UserKeyBundle(userURI: userURI, identityKey: unsigned.identityKey, encryptionKey: unsigned.encryptionKey,
                             keyId: unsigned.keyId, createdAt: createdAt, nodeKeyId: unsigned.nodeKeyId,
                             signature: nodeKey.sign(unsigned.canonicalBytes()))
    }

    /// Builds a bundle from its parts without checking anything; call ``verify(nodeKey:)`` before use.
    public init(userURI: String, identityKey: [UInt8], encryptionKey: [UInt8], keyId: KeyId,
                createdAt: Int64, nodeKeyId: KeyId, signature: [UInt8]) {
        self.userURI = userURI
        self.identityKey = identityKey
        self.encryptionKey = encryptionKey
        self.keyId = keyId
        self.createdAt = createdAt
        self.nodeKeyId = nodeKeyId
        self.signature = signature
    }

    /// The bytes the node signs:
    /// `"parley/user-key-bundle/v1"` ‖ u16 len ‖ userURI (UTF-8) ‖ identityKey (32) ‖ encryptionKey (32)
    /// ‖ keyId (16) ‖ createdAt (i64 BE) ‖ nodeKeyId (16).
    public func canonicalBytes() -> [UInt8] {
        var w = ByteWriter(capacity: 160)
        w.raw(Array("parley/user-key-bundle/v1".utf8))
        w.medium(Array(userURI.utf8.prefix(Int(UInt16.max))))
        w.raw(identityKey)
        w.raw(encryptionKey)
        w.raw(keyId.bytes)
        w.i64(createdAt)
        w.raw(nodeKeyId.bytes)
        return w.bytes
    }

    /// Checks the bundle is well formed and signed by `nodeKey`. Throws `EnvelopeError.malformed`
    /// (wrong lengths, a key id that does not match the keys, a URI that is not `mimi://`) or
    /// `EnvelopeError.badSignature` (a different node key, or a signature that does not verify).
    public func verify(nodeKey: NodePublicKey) throws(EnvelopeError) {
        guard identityKey.count == 32, encryptionKey.count == 32, signature.count == 64 else {
            throw .malformed("key bundle for \(userURI) has a key or signature of the wrong length")
        }
        guard userURI.utf8.count <= Int(UInt16.max), MimiURI.domain(of: userURI) != nil else {
            throw .malformed("key bundle user \"\(userURI.prefix(120))\" is not a mimi://<domain>/u/<user> URI")
        }
        guard UserSecretKeys.keyId(identity: identityKey, encryption: encryptionKey) == keyId else {
            throw .malformed("key bundle for \(userURI) names key id \(keyId) but its keys hash to another id")
        }
        guard nodeKeyId == nodeKey.keyId else {
            throw .badSignature("key bundle for \(userURI) was signed by node key \(nodeKeyId), not the pinned key \(nodeKey.keyId)")
        }
        guard nodeKey.verify(signature: signature, message: canonicalBytes()) else {
            throw .badSignature("key bundle for \(userURI) does not carry a valid signature by node key \(nodeKey.keyId)")
        }
    }

    private enum CodingKeys: String, CodingKey {
        case userURI, identityKey, encryptionKey, keyId, createdAt, nodeKeyId, signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func base64(_ key: CodingKeys, length: Int) throws -> [UInt8] {
            let text = try c.decode(String.self, forKey: key)
            guard let data = Data(base64Encoded: text), data.count == length else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "expected base64 of \(length) bytes")
            }
            return [UInt8](data)
        }
        userURI = try c.decode(String.self, forKey: .userURI)
        identityKey = try base64(.identityKey, length: 32)
        encryptionKey = try base64(.encryptionKey, length: 32)
        keyId = try c.decode(KeyId.self, forKey: .keyId)
        createdAt = try c.decode(Int64.self, forKey: .createdAt)
        nodeKeyId = try c.decode(KeyId.self, forKey: .nodeKeyId)
        signature = try base64(.signature, length: 64)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(userURI, forKey: .userURI)
        try c.encode(Data(identityKey).base64EncodedString(), forKey: .identityKey)
        try c.encode(Data(encryptionKey).base64EncodedString(), forKey: .encryptionKey)
        try c.encode(keyId, forKey: .keyId)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(nodeKeyId, forKey: .nodeKeyId)
        try c.encode(Data(signature).base64EncodedString(), forKey: .signature)
    }
}

/// Minimal reading of MIMI URIs (`mimi://<domain>/u/<user>`), enough to tie a sender to its origin domain.
enum MimiURI {
    /// The lower-cased domain of a `mimi://domain/...` URI with a non-empty path, or nil.
    static func domain(of uri: String) -> String? {
        let prefix = "mimi://"
        guard uri.lowercased().hasPrefix(prefix) else { return nil }
        let rest = uri.dropFirst(prefix.count)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let domain = rest[..<slash]
        guard !domain.isEmpty, rest.index(after: slash) < rest.endIndex else { return nil }
        return domain.lowercased()
    }
}
