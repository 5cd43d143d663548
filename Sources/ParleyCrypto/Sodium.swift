import CSodium
import ParleyCore

/// Thin, internal bindings to the libsodium primitives ParleyCrypto uses. Every public type goes through
/// these functions, so the known-answer tests in ParleyCryptoTests check the exact calls production makes.
enum Sodium {
    /// `sodium_init()` is idempotent and thread-safe, but it must run before any randomness is drawn.
    /// A Swift `static let` runs its initializer exactly once, on first use, from whichever thread gets there.
    private static let initialized: Bool = sodium_init() >= 0

    /// Call at every entry point that may draw randomness. libsodium only fails to initialise when the
    /// operating system offers no entropy source, and then no key can be made safely: that is a broken
    /// host, not bad input, so it stops the process with a message instead of limping on.
    @inline(__always)
    static func ensureInitialized() {
        precondition(initialized, "libsodium failed to initialise (no system randomness source?)")
    }

    /// libsodium's generator, drawn in blocks: a seal takes several small draws, and each direct call is a system
    /// call (`getrandom`).
    private static let randomPool = RandomPool { buffer in
        ensureInitialized()
        guard let base = buffer.baseAddress else { return }
        randombytes_buf(base, buffer.count)
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        randomPool.bytes(count)
    }

    /// Constant-time comparison (for MACs and tags); false when the lengths differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in sodium_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
        }
    }

    static func memzero(_ bytes: inout [UInt8]) {
        let count = bytes.count
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, count) }
    }

    // MARK: Ed25519

    static let ed25519SeedBytes = Int(crypto_sign_SEEDBYTES)
    static let ed25519PublicKeyBytes = Int(crypto_sign_PUBLICKEYBYTES)
    static let ed25519SecretKeyBytes = Int(crypto_sign_SECRETKEYBYTES)
    static let ed25519SignatureBytes = Int(crypto_sign_BYTES)

    /// Fills `secretKey` (64 bytes: seed ‖ public key) from a 32-byte seed and returns the public key.
    static func ed25519KeyPair(seed: [UInt8], secretKey: UnsafeMutablePointer<UInt8>) -> [UInt8] {
        var publicKey = [UInt8](repeating: 0, count: ed25519PublicKeyBytes)
        _ = crypto_sign_seed_keypair(&publicKey, secretKey, seed)
        return publicKey
    }

    static func ed25519Sign(_ message: [UInt8], secretKey: UnsafePointer<UInt8>) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: ed25519SignatureBytes)
        _ = crypto_sign_detached(&signature, nil, message, UInt64(message.count), secretKey)
        return signature
    }

    static func ed25519Verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == ed25519SignatureBytes, publicKey.count == ed25519PublicKeyBytes else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }

    // MARK: X25519

    static let x25519Bytes = Int(crypto_scalarmult_BYTES)

    /// The X25519 function of RFC 7748. Returns nil when the result is all zeros (the peer sent a
    /// low-order point), which libsodium reports and which must never become a key.
    static func x25519(secret: UnsafePointer<UInt8>, publicKey: [UInt8]) -> [UInt8]? {
        guard publicKey.count == x25519Bytes else { return nil }
        var out = [UInt8](repeating: 0, count: x25519Bytes)
        guard crypto_scalarmult(&out, secret, publicKey) == 0 else { return nil }
        return out
    }

    static func x25519Base(secret: UnsafePointer<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: x25519Bytes)
        _ = crypto_scalarmult_base(&out, secret)
        return out
    }

    // MARK: BLAKE2b, HMAC-SHA256

    /// BLAKE2b with an output length of `outputLength` (16...64) and an optional key (16...64 bytes).
    static func blake2b(_ message: [UInt8], key: [UInt8]? = nil, outputLength: Int = 32) -> [UInt8] {
        precondition((Int(crypto_generichash_BYTES_MIN)...Int(crypto_generichash_BYTES_MAX)).contains(outputLength))
        var out = [UInt8](repeating: 0, count: outputLength)
        if let key {
            precondition(key.count <= Int(crypto_generichash_KEYBYTES_MAX))
            _ = crypto_generichash(&out, outputLength, message, UInt64(message.count), key, key.count)
        } else {
            _ = crypto_generichash(&out, outputLength, message, UInt64(message.count), nil, 0)
        }
        return out
    }



    // MARK: XChaCha20-Poly1305 (IETF AEAD)

    static let aeadKeyBytes = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    static let aeadNonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    static let aeadTagBytes = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    static func aeadSeal(_ plaintext: [UInt8], ad: [UInt8], nonce: [UInt8], key: UnsafePointer<UInt8>) -> [UInt8] {
        precondition(nonce.count == aeadNonceBytes)
        var out = [UInt8](repeating: 0, count: plaintext.count + aeadTagBytes)
        var outLength: UInt64 = 0
        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
            &out, &outLength, plaintext, UInt64(plaintext.count), ad, UInt64(ad.count), nil, nonce, key)
        return out
    }

    /// Nil when the tag does not verify (wrong key, or any bit of ciphertext, nonce or `ad` changed).
    static func aeadOpen(_ ciphertext: [UInt8], ad: [UInt8], nonce: [UInt8], key: UnsafePointer<UInt8>) -> [UInt8]? {
        guard nonce.count == aeadNonceBytes, ciphertext.count >= aeadTagBytes else { return nil }
        var out = [UInt8](repeating: 0, count: ciphertext.count - aeadTagBytes)
        var outLength: UInt64 = 0
        let rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
            &out, &outLength, nil, ciphertext, UInt64(ciphertext.count), ad, UInt64(ad.count), nonce, key)
        return rc == 0 ? out : nil
    }
}

// MARK: - Encoding helpers

enum Base16 {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Nil for an odd length or a non-hex character; accepts upper and lower case.
    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            guard let high = value(chars[index]), let low = value(chars[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Public hashing and MAC helpers, so other modules (the simulators' webhook signatures, the node's
/// body digests) use the same bindings instead of bringing their own.
public enum Hashing {
    /// SHA-256 of `message` (32 bytes), through ParleyCore's (the CPU's SHA extensions where it has them).
    public static func sha256(_ message: [UInt8]) -> [UInt8] { SHA256.hash(message) }

    /// HMAC-SHA256 (RFC 2104) of `message` under `key` (any length).
    /// ParleyCore's SHA-256 (the CPU's SHA extensions where it has them): several times libsodium's speed on a
    /// webhook body.
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        SHA256.hmac(key: key, message: message)
    }

    /// Unkeyed BLAKE2b with `outputLength` bytes of output (clamped to 16...64).
    public static func blake2b(_ message: [UInt8], outputLength: Int = 32) -> [UInt8] {
        Sodium.blake2b(message, outputLength: max(16, min(64, outputLength)))
    }

    /// Compares two MACs or digests in constant time.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool { Sodium.constantTimeEqual(a, b) }

    /// Lower-case hex of `bytes`.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String { Base16.encode(bytes) }

    /// Bytes of a hex string, or nil when it is not hex.
    public static func bytes(fromHex text: String) -> [UInt8]? { Base16.decode(text) }
}
