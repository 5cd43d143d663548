import Foundation

/// A short, stable identifier for a public key: the first 16 bytes of
/// BLAKE2b-256(label ‖ public key bytes), shown as 32 lower-case hex digits.
/// Labels: `parley/node-key-id/v1` for node keys, `parley/user-key-id/v1` for user keys
/// (over identity public ‖ encryption public). See docs/ENVELOPE.md.
public struct KeyId: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// Length in bytes.
    public static let byteCount = 16

    /// The 16 id bytes.
    public let bytes: [UInt8]

    /// Wraps 16 bytes; throws `KeyError.invalidKey` for any other length.
    public init(bytes: [UInt8]) throws(KeyError) {
        guard bytes.count == Self.byteCount else {
            throw KeyError(.invalidKey, "a key id is \(Self.byteCount) bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Parses 32 hex digits.
    public init(hex: String) throws(KeyError) {
        guard let bytes = Base16.decode(hex), bytes.count == Self.byteCount else {
            throw KeyError(.invalidKey, "a key id is \(Self.byteCount * 2) hex digits, got \"\(hex.prefix(80))\"")
        }
        self.bytes = bytes
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    static func derive(label: String, _ material: [UInt8]) -> KeyId {
        KeyId(unchecked: Array(Sodium.blake2b(Array(label.utf8) + material, outputLength: 32).prefix(byteCount)))
    }

    /// 32 lower-case hex digits.
    public var hex: String { Base16.encode(bytes) }
    public var description: String { hex }

    public static func < (lhs: KeyId, rhs: KeyId) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

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

/// A node's Ed25519 public key, as pinned in peers' configuration and published in `/.well-known/parley`.
/// Encodes as base64 (standard alphabet, padded) in JSON.
public struct NodePublicKey: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The 32 public key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 bytes; throws `KeyError.invalidKey` for any other length.
    public init(bytes: [UInt8]) throws(KeyError) {
        guard bytes.count == Sodium.ed25519PublicKeyBytes else {
            throw KeyError(.invalidKey, "an Ed25519 public key is 32 bytes, got \(bytes.count)")
        }
        self.bytes = bytes
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// Parses the base64 form (as written in config files and node descriptors).
    public init(base64: String) throws(KeyError) {
        let trimmed = base64.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed) else {
            throw KeyError(.invalidKey, "node public key is not base64: \"\(trimmed.prefix(80))\"")
        }
        try self.init(bytes: [UInt8](data))
    }

    /// Standard base64 of the 32 bytes.
    public var base64: String { Data(bytes).base64EncodedString() }

    /// `parley/node-key-id/v1` key id of this key.
    public var keyId: KeyId { KeyId.derive(label: "parley/node-key-id/v1", bytes) }

    public var description: String { "NodePublicKey(\(keyId.hex))" }

    /// True when `signature` is this key's Ed25519 signature over `message`.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        Sodium.ed25519Verify(signature: signature, message: message, publicKey: bytes)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(base64: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(base64)
    }
}

/// A node's Ed25519 signing key. It signs federation requests and the node's users' key bundles
/// (never individual envelopes). The secret is held in memory ParleyCrypto wipes when the key is released.
///
/// File form: a text file holding the 32-byte seed in base64 on one line; lines starting with `#`
/// and blank lines are ignored. ``write(toFile:overwrite:)`` creates it with mode 0600.
public final class NodeSigningKey: Sendable {
    /// seed ‖ public key, as libsodium's `crypto_sign` wants it.
    private let secret: SecretBytes
    /// The matching public key.
    public let publicKey: NodePublicKey

    /// A fresh random key.
    public static func generate() -> NodeSigningKey {
        var seed = Sodium.randomBytes(Sodium.ed25519SeedBytes)
        defer { Sodium.memzero(&seed) }
        return NodeSigningKey(validSeed: seed)
    }

    /// The key whose RFC 8032 private key ("seed") is `seed` (32 bytes).
    public convenience init(seed: [UInt8]) throws(KeyError) {
        guard seed.count == Sodium.ed25519SeedBytes else {
            throw KeyError(.invalidKey, "an Ed25519 seed is 32 bytes, got \(seed.count)")
        }
        self.init(validSeed: seed)
    }

    private init(validSeed seed: [UInt8]) {
        Sodium.ensureInitialized()
        var publicBytes: [UInt8] = []
        secret = SecretBytes(count: Sodium.ed25519SecretKeyBytes) { sk in
            publicBytes = Sodium.ed25519KeyPair(seed: seed, secretKey: sk)
        }
        publicKey = NodePublicKey(unchecked: publicBytes)
    }

    /// The key id of ``publicKey``.
    public var keyId: KeyId { publicKey.keyId }

    /// The Ed25519 signature (64 bytes) over `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        secret.withUnsafePointer { Sodium.ed25519Sign(message, secretKey: $0) }
    }

    /// The base64 seed, as written in the key file. Treat the result as secret.
    public func exportSeedBase64() -> String {
        var seed = Array(secret.copyBytes().prefix(Sodium.ed25519SeedBytes))
        defer { Sodium.memzero(&seed) }
        return Data(seed).base64EncodedString()
    }

    /// Reads a key file (see the type's documentation for the format).
    public convenience init(contentsOfFile path: String) throws(KeyError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw KeyError(.fileNotFound, "node key file \(path) does not exist; create one with `parley config` or NodeSigningKey.generate()")
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw KeyError(.fileUnreadable, "cannot read node key file \(path): \(error.localizedDescription)")
        }
        let lines = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1, let data = Data(base64Encoded: lines[0]) else {
            throw KeyError(.fileMalformed, "node key file \(path) must hold exactly one base64 line (the 32-byte Ed25519 seed)")
        }
        var seed = [UInt8](data)
        defer { Sodium.memzero(&seed) }
        guard seed.count == Sodium.ed25519SeedBytes else {
            throw KeyError(.fileMalformed, "node key file \(path) holds \(seed.count) bytes; an Ed25519 seed is 32")
        }
        self.init(validSeed: seed)
    }

    /// Writes the key file with permissions 0600. Refuses to replace an existing file unless `overwrite`.
    public func write(toFile path: String, overwrite: Bool = false) throws(KeyError) {
        let fm = FileManager.default
        if fm.fileExists(atPath: path), !overwrite {
            throw KeyError(.fileWriteFailed, "node key file \(path) already exists; refusing to replace a key (pass overwrite to rotate)")
        }
        let text = "# Parley node signing key: Ed25519 seed, base64. Keep secret. Key id \(keyId.hex)\n\(exportSeedBase64())\n"
        // Write beside the target with 0600 from the start, then rename, so the file is never world-readable
        // and never half-written.
        let temporary = path + ".tmp-\(UUID().uuidString)"
        guard fm.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw KeyError(.fileWriteFailed, "cannot create \(temporary): check that the directory exists and is writable")
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(atPath: temporary)
            throw KeyError(.fileWriteFailed, "cannot move key file into place at \(path): \(reason)")
        }
    }
}
