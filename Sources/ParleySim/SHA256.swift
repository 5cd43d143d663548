// SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104). CryptoKit is not available here and the simulator must not
// depend on ParleyCrypto, so it signs webhooks with this; both are ParleyCore's.
import ParleyCore

/// SHA-256 digest of a byte sequence.
public enum SimSHA256 {
    /// The 32-byte digest of `message`.
    public static func hash<Bytes: Collection<UInt8>>(_ message: Bytes) -> [UInt8] { SHA256.hash(Array(message)) }

    /// HMAC-SHA256(key, message) as 32 bytes.
    public static func hmac<K: Collection<UInt8>, M: Collection<UInt8>>(key: K, message: M) -> [UInt8] {
        SHA256.hmac(key: Array(key), message: Array(message))
    }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(bytes.count * 2)
        for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 0x0f)]) }
        return s
    }

    /// The `X-Hub-Signature-256` header value Meta sends: `sha256=<hex HMAC-SHA256(app secret, raw body)>`.
    public static func hubSignature(secret: String, body: [UInt8]) -> String {
        "sha256=" + hex(hmac(key: Array(secret.utf8), message: body))
    }
}
