import Foundation
import ParleyCore
import ParleyCrypto
@testable import ParleyNode
import Testing

@Suite("Policy, payloads and webhook signatures")
struct PolicyAndPayloadTests {
    @Test("denied and unlisted peers are refused; the local domain is always allowed")
    func peerPolicy() throws {
        var policy = Policy()
        policy.allowedPeers = ["messenger.example"]
        policy.deniedPeers = ["evil.example"]
        let engine = PolicyEngine(policy: policy)
        try engine.checkPeer("messenger.example", localDomain: "wa.example")
        try engine.checkPeer("wa.example", localDomain: "wa.example")
        #expect(throws: Refusal.peerDenied("instagram.example")) { try engine.checkPeer("instagram.example", localDomain: "wa.example") }
        #expect(throws: Refusal.peerDenied("evil.example")) { try engine.checkPeer("evil.example", localDomain: "wa.example") }
    }

    @Test("kinds and sizes are checked with their own codes")
    func kindAndSize() throws {
        var policy = Policy()
        policy.acceptedKinds = [.message]
        policy.maxTextBytes = 10
        policy.maxAttachments = 1
        let engine = PolicyEngine(policy: policy)
        try engine.checkKind(.message)
        #expect(throws: Refusal.kindRefused("reaction")) { try engine.checkKind(.reaction) }
        try engine.checkSize(textBytes: 10, attachments: 1)
        #expect(throws: Refusal.tooLarge(11, limit: 10)) { try engine.checkSize(textBytes: 11, attachments: 0) }
        do {
            try engine.checkSize(textBytes: 1, attachments: 2)
            Issue.record("two attachments accepted")
        } catch {
            #expect(error.code == "policy.too_many_attachments")
        }
    }

    @Test("the per-peer rate limit allows a burst, refuses beyond it, and refills with time")
    func rateLimit() {
        let limiter = RateLimiter(rate: 2, burst: 3)
        #expect((0..<3).allSatisfy { _ in limiter.take("p", now: 100) })
        #expect(!limiter.take("p", now: 100))
        #expect(limiter.take("other", now: 100))
        #expect(limiter.take("p", now: 100.5))
        #expect(!limiter.take("p", now: 100.5))
        #expect(RateLimiter(rate: 0, burst: 1).take("p", now: 0))
    }

    @Test("sealed payloads round-trip and reject malformed bytes")
    func payloadRoundTrip() throws {
        let id = try #require(MessageId(bytes: [1] + Array(repeating: 7, count: 31)))
        let cases: [SealedPayload] = [
            .content([0xA1, 0x01, 0x02]),
            .receipt(messageId: id, status: .read, failure: nil),
            .receipt(messageId: id, status: .failed, failure: .init(code: "policy.too_large", message: "too big")),
        ]
        for payload in cases {
            #expect(try SealedPayload(decoding: payload.encoded()) == payload)
        }
        let receipt = SealedPayload.receipt(messageId: id, status: .read, failure: nil).encoded()
        for bad in [[], [9], Array(receipt.dropLast()), receipt + [0]] as [[UInt8]] {
            #expect(throws: Refusal.self) { try SealedPayload(decoding: bad) }
        }
    }

    @Test("failure notices carry no content and round-trip")
    func noticeRoundTrip() throws {
        let notice = FailureNotice(nativeTarget: "wamid.X==", failure: .init(code: "policy.sender_no_consent", message: "no"))
        let decoded = try #require(FailureNotice(decoding: notice.encoded()))
        #expect(decoded.nativeTarget == "wamid.X==")
        #expect(decoded.failure.code == "policy.sender_no_consent")
        #expect(FailureNotice(decoding: Array(notice.encoded().dropLast())) == nil)
    }

    @Test("X-Hub-Signature-256 is checked over the raw bytes")
    func hubSignature() {
        let body = Array(#"{"object":"page","text":"\u00e4"}"#.utf8)
        let secret = Secret("app-secret")
        let good = "sha256=" + Hashing.hex(Hashing.hmacSHA256(key: Array("app-secret".utf8), message: body))
        #expect(BridgeNode.verifyHubSignature(good, body: body, secret: secret))
        #expect(!BridgeNode.verifyHubSignature(good, body: body + [0x20], secret: secret))
        #expect(!BridgeNode.verifyHubSignature(good, body: body, secret: Secret("other")))
        #expect(!BridgeNode.verifyHubSignature(nil, body: body, secret: secret))
        #expect(!BridgeNode.verifyHubSignature("sha1=abc", body: body, secret: secret))
        #expect(!BridgeNode.verifyHubSignature(String(good.dropLast(2)), body: body, secret: secret))
    }

    @Test("both ends compute the same room for a 1:1 conversation, and conversation keys round-trip")
    func roomsAndConversations() throws {
        let a = "mimi://whatsapp.example/u/1555", b = "mimi://messenger.example/u/2400"
        #expect(ConversationKey.roomURI(a, b) == ConversationKey.roomURI(b, a))
        #expect(ConversationKey.roomURI(a, b) != ConversationKey.roomURI(a, "mimi://messenger.example/u/2401"))
        #expect(MIMIAddress(ConversationKey.roomURI(a, b))?.kind == .room)
        let key = ConversationKey(localUser: "US.123|x", account: "1001")
        #expect(ConversationKey(rawValue: key.rawValue) == key)
        #expect(MIMIAddress("mimi://example.com/u/bob") == MIMIAddress(domain: "example.com", id: "bob"))
        #expect(MIMIAddress("https://example.com/u/bob") == nil)
        #expect(MIMIAddress("mimi://example.com/x/bob") == nil)
    }
}

@Suite("Trace log")
struct TraceLogTests {
    @Test("the trace keeps the newest entries in order once it wraps, and reads from any sequence number")
    func wrapsInOrder() {
        let trace = TraceLog(capacity: 4)
        #expect(trace.since(0).isEmpty)
        for i in 0..<3 { trace.record("sealed", tenant: "t", peer: "p", envelope: "e\(i)", bytes: i) }
        #expect(trace.since(0).map(\.envelope) == ["e0", "e1", "e2"])
        for i in 3..<10 { trace.record("sent", tenant: "t", peer: "p", envelope: "e\(i)", bytes: i) }
        #expect(trace.since(0).map(\.seq) == [6, 7, 8, 9])
        #expect(trace.since(0).map(\.envelope) == ["e6", "e7", "e8", "e9"])
        #expect(trace.since(8).map(\.envelope) == ["e8", "e9"])
        #expect(trace.since(10).isEmpty)
        #expect(trace.since(99).isEmpty)
    }
}
