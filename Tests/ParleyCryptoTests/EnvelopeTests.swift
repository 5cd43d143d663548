import Testing
@testable import ParleyCrypto

@Suite("Envelope sealing and opening")
struct EnvelopeTests {
    let f = Fixture()
    let content = Array("canonical MIMI content bytes \u{1F510}".utf8)

    private func seal(_ sealer: EnvelopeSealer, to recipients: [TestUser], content: [UInt8]? = nil,
                      establishment: EstablishmentPolicy = .whenNewPair) throws -> Envelope {
        try sealer.seal(content: content ?? self.content, sender: f.alice.keys, senderURI: f.alice.uri,
                        recipients: recipients.map(\.bundle), origin: "a.example", destination: "b.example",
                        sentAt: Fixture.sentAt, expiresAt: Fixture.expiresAt, establishment: establishment)
    }

    private func opener(_ cache: PairwiseKeyCache = PairwiseKeyCache(), guard replayGuard: (any ReplayGuard)? = nil) -> EnvelopeOpener {
        EnvelopeOpener(cache: cache, replayGuard: replayGuard, resolver: f.resolver([f.alice, f.bob, f.carol, f.dave]))
    }

    private func expectError(_ code: EnvelopeError.Code, _ body: () throws -> Void,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected \(code.rawValue), nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as EnvelopeError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("One recipient: content, sender, time and id survive the wire")
    func roundTripOneRecipient() throws {
        let sealer = EnvelopeSealer(cache: PairwiseKeyCache())
        let envelope = try seal(sealer, to: [f.bob])
        let parsed = try Envelope(parsing: envelope.serialized())
        #expect(parsed == envelope)
        let opened = try opener().open(parsed, recipient: f.bob.keys, now: Fixture.sentAt + 1)
        #expect(opened.content == content)
        #expect(opened.senderURI == f.alice.uri)
        #expect(opened.senderKeyId == f.alice.keys.keyId)
        #expect(opened.sentAt == Fixture.sentAt)
        #expect(opened.envelopeId == envelope.id)
        #expect(opened.origin == "a.example")
        #expect(opened.destination == "b.example")
    }

    @Test("Envelope ids grow with the expiry time and are otherwise random, so stores append them to their indexes")
    func envelopeIdsAreTimeOrdered() throws {
        let sealer = EnvelopeSealer(cache: PairwiseKeyCache())
        func id(expiresAt: Int64) throws -> [UInt8] {
            try sealer.seal(content: content, sender: f.alice.keys, senderURI: f.alice.uri, recipients: [f.bob.bundle],
                            origin: "a.example", destination: "b.example", sentAt: Fixture.sentAt, expiresAt: expiresAt).id.bytes
        }
        let early = try id(expiresAt: Fixture.expiresAt)
        let sameMillisecond = try id(expiresAt: Fixture.expiresAt)
        let later = try id(expiresAt: Fixture.expiresAt + 1)
        let prefix = (0..<6).map { UInt8(truncatingIfNeeded: UInt64(Fixture.expiresAt) >> (40 - 8 * $0)) }
        #expect(Array(early.prefix(6)) == prefix)
        #expect(early != sameMillisecond)
        #expect(early.lexicographicallyPrecedes(later) && sameMillisecond.lexicographicallyPrecedes(later))
    }

    @Test("Three recipients share one body and each opens it with their own key")
    func roundTripThreeRecipients() throws {
        let sealer = EnvelopeSealer(cache: PairwiseKeyCache())
        let envelope = try seal(sealer, to: [f.bob, f.carol, f.dave])
        #expect(envelope.recipientKeyIds == [f.bob, f.carol, f.dave].map(\.keys.keyId))
        let bytes = envelope.serialized()
        let nodeCache = PairwiseKeyCache()
        for user in [f.bob, f.carol, f.dave] {
            let opened = try opener(nodeCache).open(try Envelope(parsing: bytes), recipient: user.keys, now: Fixture.sentAt)
            #expect(opened.content == content)
            #expect(opened.senderURI == f.alice.uri)
        }
        #expect(Set(envelope.slots.map(\.pairId)).count == 3)
    }

    @Test("Empty content and large content both round-trip")
    func roundTripContentSizes() throws {
        let sealer = EnvelopeSealer(cache: PairwiseKeyCache())
        let cache = PairwiseKeyCache()
        for size in [0, 1, 100_000] {
            let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let envelope = try seal(sealer, to: [f.bob], content: body)
            let opened = try opener(cache).open(try Envelope(parsing: envelope.serialized()), recipient: f.bob.keys, now: Fixture.sentAt)
            #expect(opened.content == body)
        }
    }

    @Test("The header shows no sending user and the body hides the content")
    func sealedSenderAndContentAreHidden() throws {
        let envelope = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob])
        let wire = envelope.serialized()
        func contains(_ needle: [UInt8]) -> Bool {
            guard wire.count >= needle.count else { return false }
            return (0...(wire.count - needle.count)).contains { Array(wire[$0..<$0 + needle.count]) == needle }
        }
        #expect(!contains(Array("alice".utf8)))
        #expect(!contains(f.alice.keys.keyId.bytes))
        #expect(!contains(f.alice.keys.encryptionPublicKey))
        #expect(!contains(Array("canonical".utf8)))
        #expect(contains(Array("b.example".utf8)))
        #expect(contains(f.bob.keys.keyId.bytes))
    }

    @Test("An established pair seals and opens with no X25519 operation")
    func establishedPairCostsNoAsymmetricOperation() throws {
        let senderCache = PairwiseKeyCache()
        let receiverCache = PairwiseKeyCache()
        let sealer = EnvelopeSealer(cache: senderCache)
        let bobOpener = opener(receiverCache)

        let first = try seal(sealer, to: [f.bob])
        #expect(first.slots[0].establishment != nil)
        _ = try bobOpener.open(first, recipient: f.bob.keys, now: Fixture.sentAt)
        let senderAfterFirst = senderCache.statistics
        let receiverAfterFirst = receiverCache.statistics
        // Sender: one pair derivation + two for the establishment blob; receiver: one + one.
        #expect(senderAfterFirst.x25519Operations == 3)
        #expect(receiverAfterFirst.x25519Operations == 2)
        #expect(senderAfterFirst.establishmentsSealed == 1)
        #expect(receiverAfterFirst.establishmentsOpened == 1)

        for _ in 0..<5 {
            let next = try seal(sealer, to: [f.bob])
            #expect(next.slots[0].establishment == nil)
            #expect(next.slots[0].pairId == first.slots[0].pairId)
            let opened = try bobOpener.open(try Envelope(parsing: next.serialized()), recipient: f.bob.keys, now: Fixture.sentAt)
            #expect(opened.senderURI == f.alice.uri)
        }
        #expect(senderCache.statistics.x25519Operations == senderAfterFirst.x25519Operations)
        #expect(receiverCache.statistics.x25519Operations == receiverAfterFirst.x25519Operations)
        #expect(senderCache.statistics.hits == senderAfterFirst.hits + 5)
    }

    @Test("Establishment on every envelope is made once per pair, and a receiver that lost its cache still opens")
    func alwaysEstablishReusesOneBlobPerPair() throws {
        let senderCache = PairwiseKeyCache()
        let sealer = EnvelopeSealer(cache: senderCache)
        let envelopes = try (0..<4).map { _ in try seal(sealer, to: [f.bob, f.carol], establishment: .always) }
        // Two pairs: one derivation and one blob (two X25519) each, then nothing more.
        #expect(senderCache.statistics.x25519Operations == 6)
        #expect(senderCache.statistics.establishmentsSealed == 2)
        #expect(Set(envelopes.map { $0.slots[0].establishment ?? [] }).count == 1)
        #expect(envelopes.allSatisfy { $0.slots.allSatisfy { $0.establishment != nil } })
        // A receiver restarted after the first envelope (empty cache) opens a later one on its own.
        let restarted = PairwiseKeyCache()
        let opened = try opener(restarted).open(try Envelope(parsing: envelopes[3].serialized()), recipient: f.carol.keys, now: Fixture.sentAt)
        #expect(opened.senderURI == f.alice.uri)
        #expect(restarted.statistics.establishmentsOpened == 1)
        // Once established there, further blobs are ignored: no X25519 on the receiver either.
        let before = restarted.statistics.x25519Operations
        _ = try opener(restarted).open(envelopes[2], recipient: f.carol.keys, now: Fixture.sentAt)
        #expect(restarted.statistics.x25519Operations == before)
    }

    @Test("A reply from the recipient reuses the pair the first envelope established")
    func replyReusesEstablishedPair() throws {
        let cacheA = PairwiseKeyCache()
        let cacheB = PairwiseKeyCache()
        _ = try opener(cacheB).open(try seal(EnvelopeSealer(cache: cacheA), to: [f.bob]), recipient: f.bob.keys, now: Fixture.sentAt)
        let before = cacheB.statistics.x25519Operations
        let reply = try EnvelopeSealer(cache: cacheB).seal(
            content: [1, 2, 3], sender: f.bob.keys, senderURI: f.bob.uri, recipients: [f.alice.bundle],
            origin: "b.example", destination: "a.example", sentAt: Fixture.sentAt, expiresAt: Fixture.expiresAt)
        #expect(reply.slots[0].establishment == nil)
        #expect(cacheB.statistics.x25519Operations == before)
        let opened = try opener(cacheA).open(reply, recipient: f.alice.keys, now: Fixture.sentAt)
        #expect(opened.senderURI == f.bob.uri)
        #expect(opened.content == [1, 2, 3])
    }

    @Test("Flipping any header or body byte is detected")
    func tamperingIsDetected() throws {
        let sealer = EnvelopeSealer(cache: PairwiseKeyCache())
        let envelope = try seal(sealer, to: [f.bob])
        let wire = envelope.serialized()
        // Positions of fields whose change still parses: envelope id, expiry, pair id, wrapped key, nonce, body.
        let idOffset = 1
        let expiryOffset = 1 + 16 + 1 + 9 + 1 + 9
        let body = wire.count - envelope.ciphertext.count
        for offset in [idOffset, expiryOffset + 7, body - 5, body, wire.count - 1] {
            var bytes = wire
            bytes[offset] ^= 0x01
            let tampered = try Envelope(parsing: bytes)
            expectError(.tampered) { _ = try opener().open(tampered, recipient: f.bob.keys, now: Fixture.sentAt) }
        }
    }

    @Test("A wrapped key moved to another recipient's slot, or a stripped slot, is detected")
    func slotManipulationIsDetected() throws {
        let cache = PairwiseKeyCache()
        let sealer = EnvelopeSealer(cache: cache)
        let nodeCache = PairwiseKeyCache()
        // Establish every pair first, so later envelopes carry no establishment blobs.
        let first = try seal(sealer, to: [f.bob, f.carol])
        _ = try opener(nodeCache).open(first, recipient: f.bob.keys, now: Fixture.sentAt)
        _ = try opener(nodeCache).open(first, recipient: f.carol.keys, now: Fixture.sentAt)
        let envelope = try seal(sealer, to: [f.bob, f.carol])
        #expect(envelope.slots.allSatisfy { $0.establishment == nil })
        func rebuilt(_ slots: [RecipientSlot]) throws -> Envelope {
            try Envelope(parsing: Envelope.encodeHeader(id: envelope.id, origin: envelope.origin, destination: envelope.destination,
                                                        expiresAt: envelope.expiresAt, slots: slots, nonce: envelope.nonce,
                                                        bodyLength: envelope.ciphertext.count) + envelope.ciphertext)
        }
        let stripped = try rebuilt([envelope.slots[0]])
        expectError(.tampered) { _ = try opener(nodeCache).open(stripped, recipient: f.bob.keys, now: Fixture.sentAt) }
        let (b, c) = (envelope.slots[0], envelope.slots[1])
        let swapped = try rebuilt([
            RecipientSlot(recipientKeyId: b.recipientKeyId, pairId: b.pairId, establishment: nil, wrappedKey: c.wrappedKey),
            RecipientSlot(recipientKeyId: c.recipientKeyId, pairId: c.pairId, establishment: nil, wrappedKey: b.wrappedKey),
        ])
        expectError(.tampered) { _ = try opener(nodeCache).open(swapped, recipient: f.bob.keys, now: Fixture.sentAt) }
        // Untouched, it still opens for both.
        #expect(try opener(nodeCache).open(envelope, recipient: f.carol.keys, now: Fixture.sentAt).content == content)
    }

    @Test("An envelope for someone else is refused as wrongRecipient")
    func wrongRecipientIsRefused() throws {
        let envelope = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob])
        expectError(.wrongRecipient) { _ = try opener().open(envelope, recipient: f.carol.keys, now: Fixture.sentAt) }
    }

    @Test("A pair unknown to the recipient without establishment is refused as unknownKey, and resending with establishment recovers")
    func unknownPairIsRefusedAndRecovers() throws {
        let sealer = EnvelopeSealer(cache: PairwiseKeyCache())
        _ = try seal(sealer, to: [f.bob])  // first envelope lost in transit
        let second = try seal(sealer, to: [f.bob])
        #expect(second.slots[0].establishment == nil)
        let bobOpener = opener()
        expectError(.unknownKey) { _ = try bobOpener.open(second, recipient: f.bob.keys, now: Fixture.sentAt) }
        let resent = try seal(sealer, to: [f.bob], establishment: .always)
        #expect(try bobOpener.open(resent, recipient: f.bob.keys, now: Fixture.sentAt).senderURI == f.alice.uri)
        // Forgetting the pair on the sender side also makes the next envelope establish it.
        sealer.cache.forget(localKeyId: f.alice.keys.keyId, remoteKeyId: f.bob.keys.keyId)
        #expect(try seal(sealer, to: [f.bob]).slots[0].establishment != nil)
    }

    @Test("A sender the resolver does not know is refused as unknownKey")
    func unknownSenderIsRefused() throws {
        let envelope = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob])
        let noAlice = EnvelopeOpener(cache: PairwiseKeyCache(), resolver: f.resolver([f.bob]))
        expectError(.unknownKey) { _ = try noAlice.open(envelope, recipient: f.bob.keys, now: Fixture.sentAt) }
    }

    @Test("An envelope whose establishment names another user than the sealer is refused as badSignature")
    func impersonationIsRefused() throws {
        // Mallory seals to Bob but claims, inside the establishment blob, to be Alice.
        let mallory = UserSecretKeys.generate()
        let sealer = EnvelopeSealer(cache: PairwiseKeyCache())
        let genuine = try sealer.seal(content: content, sender: mallory, senderURI: "mimi://a.example/u/mallory",
                                      recipients: [f.bob.bundle], origin: "a.example", destination: "b.example",
                                      sentAt: Fixture.sentAt, expiresAt: Fixture.expiresAt)
        let slot = genuine.slots[0]
        let forgedBlob = try #require(Establishment.seal(senderURI: f.alice.uri, senderKeyId: f.alice.keys.keyId, recipient: f.bob.bundle,
                                                         pairId: slot.pairId, random: SystemRandom()))
        let forgedSlot = RecipientSlot(recipientKeyId: slot.recipientKeyId, pairId: slot.pairId, establishment: forgedBlob, wrappedKey: slot.wrappedKey)
        let wire = Envelope.encodeHeader(id: genuine.id, origin: genuine.origin, destination: genuine.destination, expiresAt: genuine.expiresAt,
                                         slots: [forgedSlot], nonce: genuine.nonce, bodyLength: genuine.ciphertext.count) + genuine.ciphertext
        expectError(.badSignature) { _ = try opener().open(try Envelope(parsing: wire), recipient: f.bob.keys, now: Fixture.sentAt) }
    }

    @Test("A relabelled origin is detected, and the sealer refuses a sender outside its origin")
    func originIsBoundToSender() throws {
        // Relabelling the origin in the clear header breaks the body's associated data.
        let cache = PairwiseKeyCache()
        let envelope = try seal(EnvelopeSealer(cache: cache), to: [f.bob])
        let relabeled = Envelope.encodeHeader(id: envelope.id, origin: "c.example", destination: envelope.destination,
                                              expiresAt: envelope.expiresAt, slots: envelope.slots, nonce: envelope.nonce,
                                              bodyLength: envelope.ciphertext.count) + envelope.ciphertext
        expectError(.tampered) { _ = try opener().open(try Envelope(parsing: relabeled), recipient: f.bob.keys, now: Fixture.sentAt) }
        // And the sealer refuses to produce such an envelope in the first place.
        expectError(.invalidInput) {
            _ = try EnvelopeSealer(cache: cache).seal(content: content, sender: f.alice.keys, senderURI: f.alice.uri,
                                                      recipients: [f.bob.bundle], origin: "c.example", destination: "b.example",
                                                      sentAt: Fixture.sentAt, expiresAt: Fixture.expiresAt)
        }
    }

    @Test("A second delivery of the same envelope is refused as replay")
    func replayIsRefused() throws {
        let envelope = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob])
        let guardian = InMemoryReplayGuard(capacity: 10)
        let bobOpener = opener(guard: guardian)
        _ = try bobOpener.open(envelope, recipient: f.bob.keys, now: Fixture.sentAt)
        expectError(.replay) { _ = try bobOpener.open(envelope, recipient: f.bob.keys, now: Fixture.sentAt) }
        #expect(guardian.count == 1)
    }

    @Test("A tampered envelope does not consume its id in the replay guard")
    func forgeriesDoNotPoisonReplayGuard() throws {
        let envelope = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob])
        var bytes = envelope.serialized()
        bytes[bytes.count - 1] ^= 0xff
        let guardian = InMemoryReplayGuard()
        let bobOpener = opener(guard: guardian)
        expectError(.tampered) { _ = try bobOpener.open(try Envelope(parsing: bytes), recipient: f.bob.keys, now: Fixture.sentAt) }
        #expect(guardian.count == 0)
        #expect(try bobOpener.open(envelope, recipient: f.bob.keys, now: Fixture.sentAt).content == content)
    }

    @Test("An envelope at or after its expiry is refused as expired")
    func expiredIsRefused() throws {
        let envelope = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob])
        expectError(.expired) { _ = try opener().open(envelope, recipient: f.bob.keys, now: Fixture.expiresAt) }
        expectError(.expired) { _ = try opener().open(envelope, recipient: f.bob.keys, now: Fixture.expiresAt + 1) }
        #expect(try opener().open(envelope, recipient: f.bob.keys, now: Fixture.expiresAt - 1).content == content)
    }

    @Test("Every truncation and trailing garbage is malformed, never a crash")
    func malformedInputIsRefused() throws {
        let wire = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob, f.carol]).serialized()
        for length in 0..<wire.count {
            #expect(throws: EnvelopeError.self) { try Envelope(parsing: Array(wire.prefix(length))) }
        }
        let trailing = #expect(throws: EnvelopeError.self) { try Envelope(parsing: wire + [0]) }
        #expect(trailing?.code == .malformed)
        var badVersion = wire
        badVersion[0] = 2
        #expect((#expect(throws: EnvelopeError.self) { try Envelope(parsing: badVersion) })?.code == .malformed)
    }

    @Test("Random bytes never crash the parser")
    func randomBytesAreMalformed() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let length = Int.random(in: 0..<400, using: &generator)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if !bytes.isEmpty { bytes[0] = 1 }
            do { _ = try Envelope(parsing: bytes) } catch { #expect(error.code == .malformed) }
        }
    }

    @Test("A header naming the same recipient twice is malformed")
    func duplicateRecipientIsMalformed() throws {
        let envelope = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob])
        let doubled = Envelope.encodeHeader(id: envelope.id, origin: envelope.origin, destination: envelope.destination,
                                            expiresAt: envelope.expiresAt, slots: envelope.slots + envelope.slots,
                                            nonce: envelope.nonce, bodyLength: envelope.ciphertext.count) + envelope.ciphertext
        #expect((#expect(throws: EnvelopeError.self) { try Envelope(parsing: doubled) })?.code == .malformed)
    }

    @Test("Sealing refuses invalid requests with invalidInput")
    func sealRefusesInvalidInput() throws {
        let sealer = EnvelopeSealer(cache: PairwiseKeyCache())
        func attempt(recipients: [UserKeyBundle], destination: String = "b.example", senderURI: String? = nil,
                     sentAt: Int64 = Fixture.sentAt, expiresAt: Int64 = Fixture.expiresAt) {
            expectError(.invalidInput) {
                _ = try sealer.seal(content: content, sender: f.alice.keys, senderURI: senderURI ?? f.alice.uri, recipients: recipients,
                                    origin: "a.example", destination: destination, sentAt: sentAt, expiresAt: expiresAt)
            }
        }
        attempt(recipients: [])
        attempt(recipients: [f.bob.bundle, f.bob.bundle])
        attempt(recipients: [f.bob.bundle], destination: "c.example")
        attempt(recipients: [f.bob.bundle], senderURI: "mimi://b.example/u/alice")
        attempt(recipients: [f.bob.bundle], expiresAt: Fixture.sentAt)
        attempt(recipients: [f.bob.bundle], destination: "")
    }

    @Test("The async open resolves a new sender through the given resolver")
    func asyncOpenUsesGivenResolver() async throws {
        let envelope = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob])
        let failing = EnvelopeOpener(cache: PairwiseKeyCache(), resolver: { _, _ in throw EnvelopeError(.unknownKey, "not here") })
        let aliceBundle = f.alice.bundle
        let opened = try await failing.open(envelope, recipient: f.bob.keys, now: Fixture.sentAt) { uri, keyId in
            #expect(uri == aliceBundle.userURI)
            #expect(keyId == aliceBundle.keyId)
            return aliceBundle
        }
        #expect(opened.content == content)
    }

    @Test("A resolver returning a bundle for another user is refused as badSignature")
    func resolverMismatchIsRefused() throws {
        let envelope = try seal(EnvelopeSealer(cache: PairwiseKeyCache()), to: [f.bob])
        let carolBundle = f.carol.bundle
        let lying = EnvelopeOpener(cache: PairwiseKeyCache(), resolver: { _, _ in carolBundle })
        expectError(.badSignature) { _ = try lying.open(envelope, recipient: f.bob.keys, now: Fixture.sentAt) }
    }

    @Test("Error codes are distinct and stable")
    func errorCodesAreDistinct() {
        let codes = EnvelopeError.Code.allCases.map(\.rawValue)
        #expect(Set(codes).count == codes.count)
        #expect(EnvelopeError.Code.wrongRecipient.rawValue == "envelope.wrong_recipient")
        #expect(EnvelopeError.Code.replay.rawValue == "envelope.replay")
    }
}

@Suite("Pairwise key cache and replay guard")
struct CacheTests {
    @Test("The pair cache stays within capacity by evicting least recently used pairs")
    func pairCacheIsBounded() throws {
        let node = NodeSigningKey.generate()
        let cache = PairwiseKeyCache(capacity: 8)
        let sealer = EnvelopeSealer(cache: cache)
        let alice = UserSecretKeys.generate()
        let recipients = (0..<20).map { TestUser("mimi://b.example/u/u\($0)", node: node) }
        for user in recipients {
            _ = try sealer.seal(content: [1], sender: alice, senderURI: "mimi://a.example/u/alice", recipients: [user.bundle],
                                origin: "a.example", destination: "b.example", sentAt: 0, expiresAt: 1)
        }
        let stats = cache.statistics
        #expect(stats.count <= 8)
        #expect(stats.evictions == 20 - stats.count)
        // The most recent pair survived; the first one was evicted and must be established again.
        let last = try sealer.seal(content: [1], sender: alice, senderURI: "mimi://a.example/u/alice", recipients: [recipients[19].bundle],
                                   origin: "a.example", destination: "b.example", sentAt: 0, expiresAt: 1)
        #expect(last.slots[0].establishment == nil)
        let first = try sealer.seal(content: [1], sender: alice, senderURI: "mimi://a.example/u/alice", recipients: [recipients[0].bundle],
                                    origin: "a.example", destination: "b.example", sentAt: 0, expiresAt: 1)
        #expect(first.slots[0].establishment != nil)
    }

    @Test("The in-memory replay guard forgets the oldest ids beyond its capacity")
    func replayGuardIsBounded() throws {
        let guardian = InMemoryReplayGuard(capacity: 3)
        let ids = (0..<5).map { EnvelopeID(unchecked: [UInt8](repeating: UInt8($0), count: 16)) }
        for id in ids { try guardian.checkAndRecord(envelopeId: id) }
        #expect(guardian.count == 3)
        #expect(throws: EnvelopeError.self) { try guardian.checkAndRecord(envelopeId: ids[4]) }
        #expect(throws: EnvelopeError.self) { try guardian.checkAndRecord(envelopeId: ids[2]) }
        // ids[0] was forgotten, so it is accepted again (the opener's expiry check covers this gap).
        try guardian.checkAndRecord(envelopeId: ids[0])
    }
}
