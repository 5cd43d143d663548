/// Opens envelopes addressed to local users: finds the pairwise key (from the cache, or by opening the
/// slot's establishment blob and asking the resolver for the sender's verified key bundle), unwraps the
/// content key, decrypts and authenticates the body, checks the sender, then records the id with the
/// replay guard.
///
/// Establishment is accepted on any envelope, not only a pair's first: a sender whose earlier envelope
/// was lost, or that resends after `envelope.unknown_key`, simply includes it again. When the pair is
/// already cached the blob is ignored and costs nothing.
///
/// Checks run in this order, so each failure has one code: parse (`malformed`), expiry (`expired`),
/// recipient slot (`wrongRecipient`), pair (`unknownKey`, or `tampered`/`badSignature` for a bad
/// establishment), key unwrap and body (`tampered`), sender identity (`badSignature`), replay (`replay`).
public struct EnvelopeOpener: Sendable {
    /// Looks up the verified key bundle of a sending user: `(senderURI, senderKeyId) -> bundle`.
    /// The caller verifies the bundle's node signature (``UserKeyBundle/verify(nodeKey:)``) against the
    /// sender's pinned node key before returning it. Throw `EnvelopeError` with code `.unknownKey` when
    /// no such user or key exists; any other error propagates from `open` unchanged (a transient failure
    /// the caller may retry).
    public typealias KeyResolver = @Sendable (_ senderURI: String, _ senderKeyId: KeyId) throws -> UserKeyBundle

    /// The pair cache (share it with the node's ``EnvelopeSealer``).
    public let cache: PairwiseKeyCache
    /// Consulted after authentication, when present.
    public let replayGuard: (any ReplayGuard)?
    private let resolver: KeyResolver

    /// An opener with a synchronous resolver (for example, a lookup in already-fetched, verified bundles).
    public init(cache: PairwiseKeyCache, replayGuard: (any ReplayGuard)? = nil, resolver: @escaping KeyResolver) {
        self.cache = cache
        self.replayGuard = replayGuard
        self.resolver = resolver
    }

    /// Opens `envelope` with the secret keys of the recipient whose key id is in its header.
    /// - Parameter now: the current time, Unix milliseconds (the envelope is expired when `now >= expiresAt`).
    /// - Throws: `EnvelopeError` (see the type's documentation), or an error from the resolver or the
    ///   replay guard that is not an `EnvelopeError`.
    public func open(_ envelope: Envelope, recipient keys: UserSecretKeys, now: Int64) throws -> OpenedEnvelope {
        switch try locate(envelope, keys: keys, now: now) {
        case .ready(let slot, let pair):
            return try finish(envelope, slot: slot, pair: pair)
        case .needsSender(let slot, let uri, let keyId):
            let bundle = try resolver(uri, keyId)
            let pair = try establish(slot: slot, keys: keys, claimedURI: uri, claimedKeyId: keyId, bundle: bundle)
            return try finish(envelope, slot: slot, pair: pair)
        }
    }

    /// As ``open(_:recipient:now:)``, but looks a new sender up with `resolver` (which may fetch
    /// `GET /v1/keys/{user}` from the origin) instead of the opener's own resolver.
    public func open(_ envelope: Envelope, recipient keys: UserSecretKeys, now: Int64,
                     resolver: (_ senderURI: String, _ senderKeyId: KeyId) async throws -> UserKeyBundle) async throws -> OpenedEnvelope {
        switch try locate(envelope, keys: keys, now: now) {
        case .ready(let slot, let pair):
            return try finish(envelope, slot: slot, pair: pair)
        case .needsSender(let slot, let uri, let keyId):
            let bundle = try await resolver(uri, keyId)
            let pair = try establish(slot: slot, keys: keys, claimedURI: uri, claimedKeyId: keyId, bundle: bundle)
            return try finish(envelope, slot: slot, pair: pair)
        }
    }

    // MARK: Steps

    private enum Located {
        case ready(RecipientSlot, PairEntry)
        case needsSender(RecipientSlot, uri: String, keyId: KeyId)
    }

    private func locate(_ envelope: Envelope, keys: UserSecretKeys, now: Int64) throws(EnvelopeError) -> Located {
        guard now < envelope.expiresAt else {
            throw .expired("envelope \(envelope.id) expired at \(envelope.expiresAt) (now \(now), Unix ms)")
        }
        guard let slot = envelope.slots.first(where: { $0.recipientKeyId == keys.keyId }) else {
            throw .wrongRecipient("envelope \(envelope.id) is addressed to key ids \(envelope.recipientKeyIds.map(\.hex)), not \(keys.keyId)")
        }
        if let pair = cache.incoming(local: keys.keyId, pairId: slot.pairId) {
            return .ready(slot, pair)
        }
        guard let blob = slot.establishment else {
            throw .unknownKey("envelope \(envelope.id) names a pair this node does not know and carries no establishment; the origin should resend with establishment")
        }
        let (uri, keyId) = try Establishment.open(blob, recipient: keys, pairId: slot.pairId)
        cache.noteX25519(1)
        return .needsSender(slot, uri: uri, keyId: keyId)
    }

    private func establish(slot: RecipientSlot, keys: UserSecretKeys, claimedURI: String, claimedKeyId: KeyId,
                           bundle: UserKeyBundle) throws(EnvelopeError) -> PairEntry {
        guard bundle.userURI == claimedURI, bundle.keyId == claimedKeyId else {
            throw .badSignature("resolver returned the bundle of \(bundle.userURI) key \(bundle.keyId) for \(claimedURI) key \(claimedKeyId)")
        }
        guard let pair = PairEntry.derive(local: keys, remoteKeyId: bundle.keyId, remoteURI: bundle.userURI,
                                          remoteEncryptionKey: bundle.encryptionKey) else {
            throw .badSignature("sender \(claimedURI) has an invalid encryption key")
        }
        cache.noteX25519(1)
        // Only the holder of the claimed sender's secret key can have computed this pair id.
        guard Sodium.constantTimeEqual(pair.incomingPairId, slot.pairId) else {
            throw .badSignature("envelope claims to come from \(claimedURI) key \(claimedKeyId), but was not sealed with that user's key")
        }
        cache.insert(pair)
        cache.noteEstablishmentOpened()
        return pair
    }

    private func finish(_ envelope: Envelope, slot: RecipientSlot, pair: PairEntry) throws -> OpenedEnvelope {
        let wrapAD = EnvelopeSealer.wrapAD(id: envelope.id, recipient: slot.recipientKeyId, pairId: slot.pairId)
        guard let contentKeyBytes = pair.wrapKey.withUnsafePointer({
            Sodium.aeadOpen(slot.wrappedKey, ad: wrapAD, nonce: envelope.nonce, key: $0)
        }) else {
            throw EnvelopeError.tampered("envelope \(envelope.id): the content key for this recipient does not authenticate")
        }
        let contentKey = SecretBytes(copying: contentKeyBytes)
        var wipe = contentKeyBytes
        Sodium.memzero(&wipe)
        guard let inner = contentKey.withUnsafePointer({
            Sodium.aeadOpen(envelope.ciphertext, ad: envelope.headerBytes, nonce: envelope.nonce, key: $0)
        }) else {
            throw EnvelopeError.tampered("envelope \(envelope.id): header or body was altered after sealing")
        }
        let decoded = try InnerPlaintext.decode(inner)
        guard decoded.senderURI == pair.remoteURI, decoded.senderKeyId == pair.remoteKeyId else {
            throw EnvelopeError.badSignature("envelope \(envelope.id) claims sender \(decoded.senderURI) but was sealed by \(pair.remoteURI)")
        }
        guard MimiURI.domain(of: decoded.senderURI) == envelope.origin else {
            throw EnvelopeError.badSignature("sender \(decoded.senderURI) does not belong to origin \(envelope.origin)")
        }
        if let replayGuard {
            try replayGuard.checkAndRecord(envelopeId: envelope.id, expiresAt: envelope.expiresAt)
        }
        return OpenedEnvelope(envelopeId: envelope.id, origin: envelope.origin, destination: envelope.destination,
                              content: decoded.content, senderURI: decoded.senderURI, senderKeyId: decoded.senderKeyId,
                              sentAt: decoded.sentAt)
    }
}
