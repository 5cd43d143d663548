import Foundation
import ParleyCore

/// Node-to-node request signing. The origin node signs each federation HTTP request with its
/// ``NodeSigningKey``; the destination verifies it with the origin's pinned ``NodePublicKey``.
///
/// Signed string (UTF-8, lines joined by `\n`, no trailing newline):
///
///     PARLEY-FEDERATION-V1
///     <METHOD, upper case>
///     <request target: path and query exactly as sent, e.g. /v1/send/txn-1>
///     <origin domain, lower case>
///     <destination domain, lower case>
///     <timestamp, Unix seconds, decimal>
///     <SHA-256 of the body, lower-case hex (of the empty string when there is no body)>
///
/// Header: `Authorization: Parley origin="a.example",key="<node key id hex>",ts="<seconds>",sig="<base64>"`.
/// The destination is not in the header: the verifier uses its own domain, so a request signed for
/// another node fails as `badSignature`. Replayed requests within the skew window are harmless because
/// `PUT /v1/send/{txnId}` is idempotent per transaction and per envelope.
public struct FederationSignature: Sendable, Equatable {
    /// The HTTP header that carries the signature.
    public static let headerName = "Authorization"
    /// The authorization scheme.
    public static let scheme = "Parley"
    /// Default allowed difference between the request's timestamp and the verifier's clock, seconds.
    public static let defaultMaxSkew: Int64 = 300

    /// Origin domain (lower case).
    public let origin: String
    /// Key id of the origin node key that signed.
    public let keyId: KeyId
    /// Signing time, Unix seconds.
    public let timestamp: Int64
    /// Ed25519 signature over ``canonicalBytes(method:path:origin:destination:timestamp:body:)``.
    public let signature: [UInt8]

    /// The bytes that are signed (see the type's documentation).
    public static func canonicalBytes(method: String, path: String, origin: String, destination: String,
                                      timestamp: Int64, body: [UInt8]) -> [UInt8] {
        let lines = [
            "PARLEY-FEDERATION-V1",
            method.uppercased(),
            path,
            origin.lowercased(),
            destination.lowercased(),
            String(timestamp),
            Base16.encode(SHA256.hash(body)),
        ]
        return Array(lines.joined(separator: "\n").utf8)
    }

    /// Signs a request about to be sent from `origin` to `destination`.
    public static func sign(method: String, path: String, origin: String, destination: String, body: [UInt8],
                            timestamp: Int64, key: NodeSigningKey) -> FederationSignature {
        let bytes = canonicalBytes(method: method, path: path, origin: origin, destination: destination,
                                   timestamp: timestamp, body: body)
        return FederationSignature(origin: origin.lowercased(), keyId: key.keyId, timestamp: timestamp, signature: key.sign(bytes))
    }

    /// Signs a request and returns the `Authorization` header value in one step.
    public static func authorizationHeader(method: String, path: String, origin: String, destination: String,
                                           timestamp: Int64, body: [UInt8], key: NodeSigningKey) -> String {
        sign(method: method, path: path, origin: origin, destination: destination, body: body,
             timestamp: timestamp, key: key).headerValue
    }

    init(origin: String, keyId: KeyId, timestamp: Int64, signature: [UInt8]) {
        self.origin = origin
        self.keyId = keyId
        self.timestamp = timestamp
        self.signature = signature
    }

    /// The `Authorization` header value.
    public var headerValue: String {
        "\(Self.scheme) origin=\"\(origin)\",key=\"\(keyId.hex)\",ts=\"\(timestamp)\",sig=\"\(Data(signature).base64EncodedString())\""
    }

    /// Parses an `Authorization` header value. Throws `missing` when the value is empty or uses another
    /// scheme, `malformed` for anything else wrong with it.
    public init(parsing header: String) throws(FederationAuthError) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " "),
              trimmed[..<space].caseInsensitiveCompare(Self.scheme) == .orderedSame else {
            throw FederationAuthError(.missing, "Authorization header does not use the \(Self.scheme) scheme")
        }
        var params: [String: String] = [:]
        var rest = Substring(trimmed[trimmed.index(after: space)...])
        while true {
            rest = rest.drop(while: { $0 == " " })
            if rest.isEmpty { break }
            guard let equals = rest.firstIndex(of: "=") else {
                throw FederationAuthError(.malformed, "Authorization parameter without '=' near \"\(rest.prefix(40))\"")
            }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            guard rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") else {
                throw FederationAuthError(.malformed, "Authorization parameter \(name) must be a quoted string")
            }
            let value = String(rest[rest.index(after: rest.startIndex)..<close])
            guard params.updateValue(value, forKey: name) == nil else {
                throw FederationAuthError(.malformed, "Authorization parameter \(name) appears twice")
            }
            rest = rest[rest.index(after: close)...].drop(while: { $0 == " " })
            if rest.first == "," { rest = rest.dropFirst() } else if !rest.isEmpty {
                throw FederationAuthError(.malformed, "Authorization parameters must be separated by commas")
            }
        }
        func required(_ name: String) throws(FederationAuthError) -> String {
            guard let value = params[name], !value.isEmpty else {
                throw FederationAuthError(.malformed, "Authorization header lacks the \(name) parameter")
            }
            return value
        }
        origin = try required("origin").lowercased()
        do { keyId = try KeyId(hex: try required("key")) } catch let error as FederationAuthError {
            throw error
        } catch {
            throw FederationAuthError(.malformed, "Authorization key is not a 32-hex-digit key id")
        }
        let ts = try required("ts")
        guard ts.allSatisfy(\.isASCIIDigit), ts.count <= 18, let seconds = Int64(ts) else {
            throw FederationAuthError(.malformed, "Authorization ts must be Unix seconds, got \"\(ts.prefix(40))\"")
        }
        timestamp = seconds
        guard let sig = Data(base64Encoded: try required("sig")), sig.count == 64 else {
            throw FederationAuthError(.malformed, "Authorization sig must be the base64 of a 64-byte Ed25519 signature")
        }
        signature = [UInt8](sig)
    }

    /// Verifies a received request.
    ///
    /// - Parameters:
    ///   - header: the `Authorization` header value, or nil when absent.
    ///   - destination: this node's own domain (the one the request was addressed to).
    ///   - now: the current time, Unix seconds.
    ///   - maxSkew: the largest accepted |now − ts|, seconds.
    ///   - pinnedKey: the configured key(s) of a peer domain: returns the public key for
    ///     `(origin, keyId)`, or nil when the origin is not a peer or the key is not pinned for it.
    /// - Returns: the parsed signature (its `origin` is now authenticated).
    /// - Throws: `FederationAuthError`: `missing`, `malformed`, `unknownKey`, `clockSkew`, `badSignature`.
    public static func verify(header: String?, method: String, path: String, destination: String, body: [UInt8],
                              now: Int64, maxSkew: Int64 = defaultMaxSkew,
                              pinnedKey: (_ origin: String, _ keyId: KeyId) -> NodePublicKey?) throws(FederationAuthError) -> FederationSignature {
        guard let header, !header.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw FederationAuthError(.missing, "federation request has no Authorization header; peers must sign requests")
        }
        let parsed = try FederationSignature(parsing: header)
        guard let key = pinnedKey(parsed.origin, parsed.keyId) else {
            throw FederationAuthError(.unknownKey, "origin \(parsed.origin) with key \(parsed.keyId) is not a configured peer key")
        }
        try parsed.verify(method: method, path: path, destination: destination, body: body, now: now, maxSkew: maxSkew, publicKey: key)
        return parsed
    }

    /// Verifies against a single pinned key (which must be the one named in the header).
    public func verify(method: String, path: String, destination: String, body: [UInt8], now: Int64,
                       maxSkew: Int64 = defaultMaxSkew, publicKey: NodePublicKey) throws(FederationAuthError) {
        guard publicKey.keyId == keyId else {
            throw FederationAuthError(.unknownKey, "request was signed with key \(keyId), but \(origin) is pinned to \(publicKey.keyId)")
        }
        let (difference, overflow) = now.subtractingReportingOverflow(timestamp)
        guard !overflow, difference.magnitude <= maxSkew.magnitude else {
            throw FederationAuthError(.clockSkew, "request timestamp \(timestamp) is more than \(maxSkew) s from this node's clock (\(now)); check both nodes' time sync")
        }
        let bytes = Self.canonicalBytes(method: method, path: path, origin: origin, destination: destination,
                                        timestamp: timestamp, body: body)
        guard publicKey.verify(signature: signature, message: bytes) else {
            throw FederationAuthError(.badSignature, "signature by \(origin) key \(keyId) does not match this request (method, path, destination \(destination.lowercased()) or body differ)")
        }
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
