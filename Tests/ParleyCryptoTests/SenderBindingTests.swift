import Testing
@testable import ParleyCrypto

/// A sender's node that holds a genuine pair key but lies inside the envelope: about the sending
/// user, or about its origin. These envelopes cannot come out of `EnvelopeSealer` (it validates its
/// input), so they are assembled here from the same internal pieces, the way a hostile node would.
@Suite("Sender binding")
struct SenderBindingTests {
    let f = Fixture()

    private func handSealed(innerSender: String, origin: String, pairCache: PairwiseKeyCache) throws -> Envelope {
        let (pair, isNew) = try pairCache.outgoing(local: f.alice.keys, remote: f.bob.bundle)
        let id = EnvelopeID(unchecked: Sodium.randomBytes(16))
        let nonce = Sodium.randomBytes(24)
        let contentKey = Sodium.randomBytes(32)
        let blob = isNew ? Establishment.seal(senderURI: f.alice.uri, senderKeyId: f.alice.keys.keyId, recipient: f.bob.bundle,
                                              pairId: pair.outgoingPairId, random: SystemRandom()) : nil
        let wrapped = pair.wrapKey.withUnsafePointer {
            Sodium.aeadSeal(contentKey, ad: EnvelopeSealer.wrapAD(id: id, recipient: f.bob.keys.keyId, pairId: pair.outgoingPairId),
                            nonce: nonce, key: $0)
        }
        let slot = RecipientSlot(recipientKeyId: f.bob.keys.keyId, pairId: pair.outgoingPairId, establishment: blob, wrappedKey: wrapped)
        let inner = InnerPlaintext.encode(senderURI: innerSender, senderKeyId: f.alice.keys.keyId, sentAt: Fixture.sentAt, content: [42])
        let header = Envelope.encodeHeader(id: id, origin: origin, destination: "b.example", expiresAt: Fixture.expiresAt,
                                           slots: [slot], nonce: nonce, bodyLength: inner.count + 16)
        let body = contentKey.withUnsafeBufferPointer { Sodium.aeadSeal(inner, ad: header, nonce: nonce, key: $0.baseAddress!) }
        return try Envelope(parsing: header + body)
    }

    private func code(_ body: () throws -> Void) -> EnvelopeError.Code? {
        do { try body(); return nil } catch let error as EnvelopeError { return error.code } catch { return nil }
    }

    @Test("The hand-assembled control envelope opens, so the refusals below are about the lie alone")
    func controlOpens() throws {
        let envelope = try handSealed(innerSender: f.alice.uri, origin: "a.example", pairCache: PairwiseKeyCache())
        let opener = EnvelopeOpener(cache: PairwiseKeyCache(), resolver: f.resolver([f.alice]))
        #expect(try opener.open(envelope, recipient: f.bob.keys, now: Fixture.sentAt).content == [42])
    }

    @Test("An inner sender other than the pair's user is refused as badSignature")
    func innerSenderMustBePairUser() throws {
        let envelope = try handSealed(innerSender: "mimi://a.example/u/ceo", origin: "a.example", pairCache: PairwiseKeyCache())
        let opener = EnvelopeOpener(cache: PairwiseKeyCache(), resolver: f.resolver([f.alice]))
        #expect(code { _ = try opener.open(envelope, recipient: f.bob.keys, now: Fixture.sentAt) } == .badSignature)
    }

    @Test("A sender outside the header's origin domain is refused as badSignature")
    func senderMustBelongToOrigin() throws {
        let envelope = try handSealed(innerSender: f.alice.uri, origin: "c.example", pairCache: PairwiseKeyCache())
        let opener = EnvelopeOpener(cache: PairwiseKeyCache(), resolver: f.resolver([f.alice]))
        #expect(code { _ = try opener.open(envelope, recipient: f.bob.keys, now: Fixture.sentAt) } == .badSignature)
    }

    @Test("Concurrent sealing and opening through shared caches delivers every envelope intact")
    func concurrentUseIsSafe() async throws {
        let senderCache = PairwiseKeyCache()
        let receiverCache = PairwiseKeyCache()
        let guardian = InMemoryReplayGuard()
        let sealer = EnvelopeSealer(cache: senderCache)
        let opener = EnvelopeOpener(cache: receiverCache, replayGuard: guardian, resolver: f.resolver([f.alice]))
        let (alice, bob) = (f.alice, f.bob)
        let delivered = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var count = 0
                    for n in 0..<20 {
                        let content = Array("task \(task) message \(n)".utf8)
                        // Every envelope establishes, so any task may be the first to reach the receiver.
                        let envelope = try sealer.seal(content: content, sender: alice.keys, senderURI: alice.uri,
                                                       recipients: [bob.bundle], origin: "a.example", destination: "b.example",
                                                       sentAt: Fixture.sentAt, expiresAt: Fixture.expiresAt, establishment: .always)
                        let opened = try opener.open(try Envelope(parsing: envelope.serialized()), recipient: bob.keys, now: Fixture.sentAt)
                        if opened.content == content { count += 1 }
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(delivered == 160)
        #expect(guardian.count == 160)
        #expect(senderCache.statistics.count == 1)
        #expect(receiverCache.statistics.count == 1)
    }
}
