import Foundation
import Testing
@testable import ParleyCrypto

@Suite("Federation request signing")
struct FederationSignatureTests {
    let nodeA = NodeSigningKey.generate()
    let body = Array(#"{"envelopes":["AAEC"]}"#.utf8)
    let now: Int64 = 1_767_225_600

    private func signed(at timestamp: Int64? = nil) -> FederationSignature {
        FederationSignature.sign(method: "PUT", path: "/v1/send/txn-1", origin: "a.example", destination: "b.example",
                                 body: body, timestamp: timestamp ?? now, key: nodeA)
    }

    private func verify(_ header: String?, method: String = "PUT", path: String = "/v1/send/txn-1",
                        destination: String = "b.example", body: [UInt8]? = nil, now: Int64? = nil,
                        pinned: [String: [NodePublicKey]]? = nil) throws(FederationAuthError) -> FederationSignature {
        let pins = pinned ?? ["a.example": [nodeA.publicKey]]
        return try FederationSignature.verify(header: header, method: method, path: path, destination: destination,
                                              body: body ?? self.body, now: now ?? self.now) { origin, keyId in
            pins[origin]?.first { $0.keyId == keyId }
        }
    }

    /// The code of the FederationAuthError `body` throws; nil when it throws nothing or another error.
    private func code(_ body: () throws -> Void) -> FederationAuthError.Code? {
        do { try body(); return nil } catch let error as FederationAuthError { return error.code } catch { return nil }
    }

    @Test("A signed request verifies and names its origin")
    func signedRequestVerifies() throws {
        let header = signed().headerValue
        #expect(header.hasPrefix("Parley origin=\"a.example\",key=\"\(nodeA.keyId.hex)\",ts=\"\(now)\",sig=\""))
        let verified = try verify(header)
        #expect(verified.origin == "a.example")
        #expect(verified.keyId == nodeA.keyId)
        #expect(try FederationSignature(parsing: header) == signed())
    }

    @Test("authorizationHeader signs and encodes in one step")
    func authorizationHeaderConvenience() throws {
        let header = FederationSignature.authorizationHeader(method: "PUT", path: "/v1/send/txn-1", origin: "a.example",
                                                             destination: "b.example", timestamp: now, body: body, key: nodeA)
        #expect(header == signed().headerValue)
        #expect(try verify(header).origin == "a.example")
    }

    @Test("The canonical string covers method, path, domains, time and the body digest")
    func canonicalStringLayout() {
        let text = String(decoding: FederationSignature.canonicalBytes(method: "put", path: "/v1/send/t", origin: "A.example",
                                                                       destination: "b.example", timestamp: 42, body: []), as: UTF8.self)
        #expect(text == """
            PARLEY-FEDERATION-V1
            PUT
            /v1/send/t
            a.example
            b.example
            42
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
    }

    @Test("A request changed in any signed part fails as badSignature")
    func changedRequestFails() {
        let header = signed().headerValue
        #expect(code { _ = try verify(header, method: "POST") } == .badSignature)
        #expect(code { _ = try verify(header, path: "/v1/send/txn-2") } == .badSignature)
        #expect(code { _ = try verify(header, destination: "c.example") } == .badSignature)
        #expect(code { _ = try verify(header, body: body + [0x20]) } == .badSignature)
        let otherTime = header.replacingOccurrences(of: "ts=\"\(now)\"", with: "ts=\"\(now + 1)\"")
        #expect(code { _ = try verify(otherTime) } == .badSignature)
    }

    @Test("A missing or non-Parley header fails as missing")
    func missingHeader() {
        #expect(code { _ = try verify(nil) } == .missing)
        #expect(code { _ = try verify("  ") } == .missing)
        #expect(code { _ = try verify("Bearer abc") } == .missing)
    }

    @Test("Malformed headers fail as malformed")
    func malformedHeaders() {
        let good = signed()
        let sig = Data(good.signature).base64EncodedString()
        let key = nodeA.keyId.hex
        let cases = [
            "Parley origin=\"a.example\",key=\"\(key)\",ts=\"\(now)\"",
            "Parley origin=\"a.example\",key=\"zz\",ts=\"\(now)\",sig=\"\(sig)\"",
            "Parley origin=\"a.example\",key=\"\(key)\",ts=\"soon\",sig=\"\(sig)\"",
            "Parley origin=\"a.example\",key=\"\(key)\",ts=\"-5\",sig=\"\(sig)\"",
            "Parley origin=\"a.example\",key=\"\(key)\",ts=\"\(now)\",sig=\"AAAA\"",
            "Parley origin=\"a.example\",origin=\"b.example\",key=\"\(key)\",ts=\"\(now)\",sig=\"\(sig)\"",
            "Parley origin=a.example,key=\"\(key)\",ts=\"\(now)\",sig=\"\(sig)\"",
            "Parley origin=\"a.example\" key=\"\(key)\",ts=\"\(now)\",sig=\"\(sig)\"",
            "Parley origin=\"a.example",
            "Parley garbage",
        ]
        for header in cases {
            #expect(code { _ = try verify(header) } == .malformed, "\(header)")
        }
    }

    @Test("Parameters parse in any order, with spaces after commas and any scheme case")
    func lenientParameterLayout() throws {
        let good = signed()
        let sig = Data(good.signature).base64EncodedString()
        let header = "parley sig=\"\(sig)\", ts=\"\(now)\", key=\"\(nodeA.keyId.hex)\", origin=\"a.example\""
        #expect(try verify(header).origin == "a.example")
    }

    @Test("A timestamp outside the skew window fails as clockSkew")
    func clockSkew() throws {
        #expect(code { _ = try verify(signed(at: now - 301).headerValue) } == .clockSkew)
        #expect(code { _ = try verify(signed(at: now + 301).headerValue) } == .clockSkew)
        _ = try verify(signed(at: now - 300).headerValue)
        _ = try verify(signed(at: now + 300).headerValue)
        #expect(code { _ = try verify(signed(at: Int64.min + 1).headerValue) } == .malformed)
    }

    @Test("An unpinned origin or key fails as unknownKey")
    func unknownKey() {
        let header = signed().headerValue
        #expect(code { _ = try verify(header, pinned: [:]) } == .unknownKey)
        #expect(code { _ = try verify(header, pinned: ["a.example": [NodeSigningKey.generate().publicKey]]) } == .unknownKey)
        // A key pinned for another origin does not vouch for this one.
        #expect(code { _ = try verify(header, pinned: ["c.example": [nodeA.publicKey]]) } == .unknownKey)
    }

    @Test("A signature by another key that claims the pinned key id fails as badSignature")
    func forgedKeyId() throws {
        let mallory = NodeSigningKey.generate()
        let forged = FederationSignature.sign(method: "PUT", path: "/v1/send/txn-1", origin: "a.example", destination: "b.example",
                                              body: body, timestamp: now, key: mallory)
        let header = forged.headerValue.replacingOccurrences(of: mallory.keyId.hex, with: nodeA.keyId.hex)
        #expect(code { _ = try verify(header) } == .badSignature)
    }

    @Test("During key rotation either pinned key verifies")
    func rotationWithTwoPinnedKeys() throws {
        let next = NodeSigningKey.generate()
        let pins = ["a.example": [nodeA.publicKey, next.publicKey]]
        let header = FederationSignature.sign(method: "PUT", path: "/v1/send/txn-1", origin: "a.example", destination: "b.example",
                                              body: body, timestamp: now, key: next).headerValue
        #expect(try verify(header, pinned: pins).keyId == next.keyId)
        #expect(try verify(signed().headerValue, pinned: pins).keyId == nodeA.keyId)
    }
}
