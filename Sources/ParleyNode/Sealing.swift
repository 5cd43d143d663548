import Foundation
import ParleyCore
import ParleyCrypto

/// What the clear header of an envelope says (before opening), with the parsed envelope to open later.
struct EnvelopeHeaderInfo: Sendable {
    var envelope: Envelope
    var envelopeId: [UInt8] { envelope.id.bytes }
    var origin: String { envelope.origin }
    var destination: String { envelope.destination }
}

/// An opened envelope: the payload and who sent it to whom.
struct OpenedPayload: Sendable {
    var payload: SealedPayload
    var senderURI: String
    var recipientURI: String
    var sentAt: Int64
}

/// The node's use of ParleyCrypto: one pair cache shared by sealing and opening, so an established pair costs no
/// X25519 per message.
struct Sealing: Sendable {
    /// Bounded so memory stays flat however many conversations there are: a pair that fell out costs one
    /// establishment (X25519) when it is next used.
    let cache: PairwiseKeyCache

    init(pairCacheEntries: Int) {
        cache = PairwiseKeyCache(capacity: pairCacheEntries)
    }

    func seal(
        payload: [UInt8], sender: KeyDirectory.LocalKeys, recipient: UserKeyBundle, origin: String, destination: String,
        sentAt: Int64, expiresAt: Int64
    ) throws -> (envelopeId: [UInt8], bytes: [UInt8]) {
        // Establishment rides on every envelope: a receiver that restarted (and lost its pair cache) must still be
        // able to open what was queued before. TODO(perf): persist pair ids so this can become .whenNewPair.
        let envelope = try EnvelopeSealer(cache: cache).seal(
            content: payload, sender: sender.secret, senderURI: sender.bundle.userURI, recipients: [recipient],
            origin: origin, destination: destination, sentAt: sentAt, expiresAt: max(expiresAt, sentAt + 1),
            establishment: .always)
        return (envelope.id.bytes, envelope.serialized())
    }

    func header(_ bytes: [UInt8]) throws(EnvelopeError) -> EnvelopeHeaderInfo {
        EnvelopeHeaderInfo(envelope: try Envelope(parsing: bytes))
    }

    func open(_ bytes: [UInt8], tenant: TenantRuntime, keys: KeyDirectory, peer: PeerRuntime, now: Int64 = BridgeNode.nowMillis()) async throws -> OpenedPayload {
        try await open(Envelope(parsing: bytes), tenant: tenant, keys: keys, peer: peer, now: now)
    }

    /// Opens an envelope already parsed (admission parsed it to read its header).
    func open(_ envelope: Envelope, tenant: TenantRuntime, keys: KeyDirectory, peer: PeerRuntime, now: Int64 = BridgeNode.nowMillis()) async throws -> OpenedPayload {
        var recipient: KeyDirectory.LocalKeys?
        for keyId in envelope.recipientKeyIds {
            if let found = try await keys.localKeys(tenant: tenant.name, keyId: keyId) {
                recipient = found
                break
            }
        }
        guard let recipient else {
            throw EnvelopeError(.wrongRecipient, "none of the envelope's recipient keys belongs to a user of \(tenant.domain)")
        }
        let opener = EnvelopeOpener(cache: cache) { uri, _ in
            throw EnvelopeError(.unknownKey, "no bundle for \(uri)")
        }
        let opened = try await opener.open(envelope, recipient: recipient.secret, now: now) { uri, keyId in
            guard let sender = MIMIAddress(uri), sender.domain == envelope.origin else {
                throw EnvelopeError(.badSignature, "sender \(uri) is not on the origin domain \(envelope.origin)")
            }
            let bundle = try await keys.remoteBundle(tenant: tenant.name, uri: uri, peer: peer)
            guard bundle.keyId == keyId else { throw EnvelopeError(.unknownKey, "\(uri) has no key \(keyId)") }
            return bundle
        }
        return OpenedPayload(
            payload: try SealedPayload(decoding: opened.content), senderURI: opened.senderURI,
            recipientURI: recipient.bundle.userURI, sentAt: opened.sentAt)
    }
}
