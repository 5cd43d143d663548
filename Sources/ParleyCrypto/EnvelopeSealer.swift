/// When the sealer includes an establishment blob in a recipient's slot.
public enum EstablishmentPolicy: Sendable, Equatable {
    /// Only when the pair was not in the cache (the first envelope of a pair, as far as this node knows).
    case whenNewPair
    /// In every slot. The blob depends only on the pair, so it is made once per pair (two X25519
    /// operations) and reused: after the first envelope this costs 90-odd bytes per recipient and no
    /// asymmetric operation. Use it when a receiver may lose its pair cache before opening what is
    /// queued for it (a restart), or to resend after a peer answered `envelope.unknown_key`.
    case always
}

/// Seals canonical content into an ``Envelope`` for one or more recipients on one destination domain.
///
/// Cost per envelope once every pair is established: two XChaCha20-Poly1305 encryptions plus one key
/// wrap per extra recipient; no X25519 and no Ed25519.
public struct EnvelopeSealer: Sendable {
    /// The pair cache (share it with the node's ``EnvelopeOpener``).
    public let cache: PairwiseKeyCache
    let random: any RandomSource

    /// A sealer using `cache` and the system CSPRNG.
    public init(cache: PairwiseKeyCache) {
        self.init(cache: cache, random: SystemRandom())
    }

    /// Test hook: fixed randomness, drawn in this order: envelope id (16), nonce (24), content key (32),
    /// then one ephemeral secret (32) per establishment blob made (new blobs only), in recipient order.
    init(cache: PairwiseKeyCache, random: any RandomSource) {
        self.cache = cache
        self.random = random
    }

    /// Seals `content` from `sender` (whose URI is `senderURI`, on domain `origin`) to `recipients`
    /// (verified key bundles, all on domain `destination`).
    ///
    /// - Parameters:
    ///   - sentAt: sealing time, Unix milliseconds, carried inside the AEAD.
    ///   - expiresAt: Unix milliseconds after which the recipient refuses the envelope; must be after `sentAt`.
    ///   - establishment: when to include establishment blobs (default: for pairs new to the cache).
    /// - Throws: `EnvelopeError` with code `.invalidInput` (no or duplicate recipients, domains that do not
    ///   match the URIs, expiry not after sending, content over ``Envelope/maxBodyBytes``).
    public func seal(content: [UInt8], sender: UserSecretKeys, senderURI: String, recipients: [UserKeyBundle],
                     origin: String, destination: String, sentAt: Int64, expiresAt: Int64,
                     establishment: EstablishmentPolicy = .whenNewPair) throws(EnvelopeError) -> Envelope {
        let origin = origin.lowercased()
        let destination = destination.lowercased()
        try validate(senderURI: senderURI, recipients: recipients, origin: origin, destination: destination,
                     sentAt: sentAt, expiresAt: expiresAt, contentCount: content.count)

        let id = EnvelopeID(unchecked: random.envelopeId(expiresAt: expiresAt))
        let nonce = random.bytes(Sodium.aeadNonceBytes)
        let contentKey = SecretBytes(copying: random.bytes(Envelope.contentKeyBytes))

        var slots: [RecipientSlot] = []
        slots.reserveCapacity(recipients.count)
        for recipient in recipients {
            let (pair, isNew) = try cache.outgoing(local: sender, remote: recipient)
            var blob: [UInt8]? = nil
            if isNew || establishment == .always {
                if let cached = pair.cachedEstablishment {
                    blob = cached
                } else {
                    guard let sealed = Establishment.seal(senderURI: senderURI, senderKeyId: sender.keyId, recipient: recipient,
                                                          pairId: pair.outgoingPairId, random: random) else {
                        throw .invalidInput("recipient \(recipient.userURI) has an invalid encryption key")
                    }
                    cache.noteX25519(2)
                    cache.noteEstablishmentSealed()
                    pair.storeEstablishment(sealed)
                    blob = sealed
                }
            }
            let wrapped = contentKey.withUnsafePointer { key in
                let plain = Array(UnsafeBufferPointer(start: key, count: Envelope.contentKeyBytes))
                return pair.wrapKey.withUnsafePointer {
                    Sodium.aeadSeal(plain, ad: Self.wrapAD(id: id, recipient: recipient.keyId, pairId: pair.outgoingPairId),
                                    nonce: nonce, key: $0)
                }
            }
            slots.append(RecipientSlot(recipientKeyId: recipient.keyId, pairId: pair.outgoingPairId,
                                       establishment: blob, wrappedKey: wrapped))
        }

        let inner = InnerPlaintext.encode(senderURI: senderURI, senderKeyId: sender.keyId, sentAt: sentAt, content: content)
        let header = Envelope.encodeHeader(id: id, origin: origin, destination: destination, expiresAt: expiresAt,
                                           slots: slots, nonce: nonce, bodyLength: inner.count + Sodium.aeadTagBytes)
        let body = contentKey.withUnsafePointer { Sodium.aeadSeal(inner, ad: header, nonce: nonce, key: $0) }
        return Envelope(id: id, origin: origin, destination: destination, expiresAt: expiresAt, slots: slots,
                        nonce: nonce, ciphertext: body, headerBytes: header)
    }

    /// Associated data of a key wrap: `"parley/wrap/v1"` ‖ envelope id ‖ recipient key id ‖ pair id.
    static func wrapAD(id: EnvelopeID, recipient: KeyId, pairId: [UInt8]) -> [UInt8] {
        Array("parley/wrap/v1".utf8) + id.bytes + recipient.bytes + pairId
    }

    private func validate(senderURI: String, recipients: [UserKeyBundle], origin: String, destination: String,
                          sentAt: Int64, expiresAt: Int64, contentCount: Int) throws(EnvelopeError) {
        guard !recipients.isEmpty, recipients.count <= Envelope.maxRecipients else {
            throw .invalidInput("an envelope needs 1...\(Envelope.maxRecipients) recipients, got \(recipients.count)")
        }
        guard Set(recipients.map(\.keyId)).count == recipients.count else {
            throw .invalidInput("the same recipient key appears twice; list each recipient once")
        }
        for (name, domain) in [("origin", origin), ("destination", destination)] {
            guard !domain.isEmpty, domain.utf8.count <= Envelope.maxDomainBytes else {
                throw .invalidInput("\(name) domain must be 1...\(Envelope.maxDomainBytes) bytes")
            }
        }
        guard MimiURI.domain(of: senderURI) == origin, senderURI.utf8.count <= Int(UInt16.max) else {
            throw .invalidInput("sender \(senderURI.prefix(120)) is not a mimi:// URI on the origin domain \(origin)")
        }
        for recipient in recipients {
            guard MimiURI.domain(of: recipient.userURI) == destination else {
                throw .invalidInput("recipient \(recipient.userURI.prefix(120)) is not on the destination domain \(destination); seal one envelope per destination")
            }
            guard recipient.encryptionKey.count == 32 else {
                throw .invalidInput("recipient \(recipient.userURI.prefix(120)) has an encryption key of \(recipient.encryptionKey.count) bytes, not 32")
            }
        }
        guard sentAt >= 0, expiresAt > sentAt else {
            throw .invalidInput("expiresAt (\(expiresAt)) must be after sentAt (\(sentAt)), both Unix milliseconds")
        }
        let innerOverhead = 2 + senderURI.utf8.count + KeyId.byteCount + 8 + 4 + Sodium.aeadTagBytes
        guard contentCount <= Envelope.maxBodyBytes - innerOverhead else {
            throw .invalidInput("content of \(contentCount) bytes exceeds the envelope limit of \(Envelope.maxBodyBytes - innerOverhead)")
        }
    }
}
