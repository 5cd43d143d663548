/// A problem with key material: a key file that cannot be read or written, or bytes that are not a key.
public struct KeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable codes, safe to match on and to log.
    public enum Code: String, Sendable, Equatable {
        /// The key file does not exist.
        case fileNotFound = "key.file_not_found"
        /// The key file exists but could not be read (permissions, I/O).
        case fileUnreadable = "key.file_unreadable"
        /// The key file's content is not a base64 seed of the right length.
        case fileMalformed = "key.file_malformed"
        /// The key file could not be written (directory missing, permissions, already exists).
        case fileWriteFailed = "key.file_write_failed"
        /// Bytes or text given as a key have the wrong length or encoding.
        case invalidKey = "key.invalid"
    }

    /// What went wrong, as a stable code.
    public let code: Code
    /// A sentence a person can act on.
    public let message: String

    /// An error with a stable `code` and a `message` saying what to do about it.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Why an envelope (or a key bundle) was refused. The node passes `code.rawValue` back to the origin
/// as the rejection reason, so the codes are part of the federation protocol and must not change.
public struct EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable codes, one per distinct failure.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// An authentication tag did not verify: the bytes were changed after sealing.
        case tampered = "envelope.tampered"
        /// None of the recipient key ids in the header belongs to the key that tried to open it.
        case wrongRecipient = "envelope.wrong_recipient"
        /// The sender's pair or key is not known here and the envelope does not carry what is needed
        /// to establish it (or the key resolver could not find the sender's key bundle).
        /// The origin should seal again with `EstablishmentPolicy.always`.
        case unknownKey = "envelope.unknown_key"
        /// Sender authentication failed: the claimed sending user or key does not match the keys that
        /// sealed the envelope, or a key bundle's node signature does not verify.
        case badSignature = "envelope.bad_signature"
        /// This envelope id has been opened before.
        case replay = "envelope.replay"
        /// The envelope's expiry time has passed.
        case expired = "envelope.expired"
        /// The bytes are not a well-formed envelope (or key bundle) of a version this code reads.
        case malformed = "envelope.malformed"
        /// Sealing was asked for something invalid (no recipients, expiry before sending, oversize content).
        case invalidInput = "envelope.invalid_input"
    }

    /// What went wrong, as a stable code.
    public let code: Code
    /// A sentence a person can act on.
    public let message: String

    /// An error with a stable `code` and a `message` saying what to do about it.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func tampered(_ m: String) -> Self { .init(.tampered, m) }
    static func wrongRecipient(_ m: String) -> Self { .init(.wrongRecipient, m) }
    static func unknownKey(_ m: String) -> Self { .init(.unknownKey, m) }
    static func badSignature(_ m: String) -> Self { .init(.badSignature, m) }
    static func replay(_ m: String) -> Self { .init(.replay, m) }
    static func expired(_ m: String) -> Self { .init(.expired, m) }
    static func malformed(_ m: String) -> Self { .init(.malformed, m) }
    static func invalidInput(_ m: String) -> Self { .init(.invalidInput, m) }
}

/// Why a federation request's `Authorization: Parley ...` header was refused.
public struct FederationAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable codes, one per distinct failure.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The request has no Authorization header (or not the Parley scheme).
        case missing = "federation.auth_missing"
        /// The header does not parse: missing or repeated parameter, bad base64/hex, bad timestamp.
        case malformed = "federation.auth_malformed"
        /// The signature does not verify over the request as received.
        case badSignature = "federation.bad_signature"
        /// The request's timestamp is too far from this node's clock.
        case clockSkew = "federation.clock_skew"
        /// The origin is not a configured peer, or the key id is not one of its pinned keys.
        case unknownKey = "federation.unknown_key"
    }

    /// What went wrong, as a stable code.
    public let code: Code
    /// A sentence a person can act on.
    public let message: String

    /// An error with a stable `code` and a `message` saying what to do about it.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
