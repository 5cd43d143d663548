import Testing
@testable import ParleyCrypto

/// Reproduces the worked example of docs/ENVELOPE.md byte for byte. The same bytes are rebuilt
/// independently (Python `cryptography` + `hashlib`, no libsodium) by Appendix A of docs/ENVELOPE.md.
/// If a change here is intended, the document, this test and that script change together.
@Suite("docs/ENVELOPE.md worked example")
struct WorkedExampleTests {
    static let sentAt: Int64 = 1_767_225_600_000      // 2026-01-01T00:00:00Z
    static let expiresAt: Int64 = 1_767_830_400_000   // seven days later
    static let content = Array("Hello, Bob!".utf8)

    static let expectedWire = """
        011111111111111111111111111111111109612e6578616d706c6509622e6578616d706c650000019b9ae72c0000013e38ab9191e3bbbec4
        e63d608151be653c6f86bff7caac0956b95795f78804c5005aff2ee45601ec1b67310c7790404585ae697331eee1c1f8cf2419731c1fff3e
        6b9301c770f1350bceccff8f820153c268395f4bce0dd972d24d7535d9f1ff44c3a2e5a4e6f789e16ef63d5d1daa83ea5f099eea7ec1b49d
        659b300281a07e520fbc2af4f24e52e59c4fbcb4c1d3fa869b9327c95250123630507dbfde9830ed19d6e6d9851b639dc94ac42222222222
        2222222222222222222222222222222222222200000051ec4fa62fe5940609cb9d7254099f31b44ac70f5f68e44752707283c6ae85008bb2
        3037daa68dad88d0ed685c4ccf63141c9cd099006179dc907828fd20b6e855f0568225d82c771ce941c6b2b7437ee1f8
        """.filter { !$0.isWhitespace }

    struct Parties {
        let nodeA: NodeSigningKey
        let nodeB: NodeSigningKey
        let alice: UserSecretKeys
        let bob: UserSecretKeys
        let aliceBundle: UserKeyBundle
        let bobBundle: UserKeyBundle

        init() throws {
            nodeA = try NodeSigningKey(seed: [UInt8](repeating: 0x0a, count: 32))
            nodeB = try NodeSigningKey(seed: [UInt8](repeating: 0x0b, count: 32))
            alice = try UserSecretKeys(identitySeed: [UInt8](repeating: 0xa1, count: 32), encryptionSecret: [UInt8](repeating: 0xa2, count: 32))
            bob = try UserSecretKeys(identitySeed: [UInt8](repeating: 0xb1, count: 32), encryptionSecret: [UInt8](repeating: 0xb2, count: 32))
            aliceBundle = UserKeyBundle.issue(userURI: "mimi://a.example/u/alice", keys: alice, createdAt: WorkedExampleTests.sentAt, nodeKey: nodeA)
            bobBundle = UserKeyBundle.issue(userURI: "mimi://b.example/u/bob", keys: bob, createdAt: WorkedExampleTests.sentAt, nodeKey: nodeB)
        }
    }

    private func sealExample(_ p: Parties, random: ScriptedRandom) throws -> Envelope {
        try EnvelopeSealer(cache: PairwiseKeyCache(), random: random).seal(
            content: Self.content, sender: p.alice, senderURI: "mimi://a.example/u/alice", recipients: [p.bobBundle],
            origin: "a.example", destination: "b.example", sentAt: Self.sentAt, expiresAt: Self.expiresAt)
    }

    private func exampleRandom() -> ScriptedRandom {
        ScriptedRandom([[UInt8](repeating: 0x11, count: 16), [UInt8](repeating: 0x22, count: 24),
                        [UInt8](repeating: 0x33, count: 32), [UInt8](repeating: 0x44, count: 32)])
    }

    @Test("Keys and key ids match the documented values")
    func keysMatchDocument() throws {
        let p = try Parties()
        #expect(hexString(p.alice.encryptionPublicKey) == "3c5c6ce2dd99e10d2c3de05d773aa15e3e6d971ed4e41389c93b4bbdda177212")
        #expect(hexString(p.bob.encryptionPublicKey) == "db48257e1237976a74ad8cfedca00213408fe89ac6251f1b930245f242b5c31a")
        #expect(hexString(p.alice.identityPublicKey) == "bc7cbcb5636375fa1d82434d466724d92377f53b980695dd49d26d0ce12205a5")
        #expect(hexString(p.bob.identityPublicKey) == "4721b5b632272e65a68dda7ac25b4185f8b01916db185c14287db92e2b770fae")
        #expect(p.alice.keyId.hex == "5c2e619d9791cc11750b9286a0e52840")
        #expect(p.bob.keyId.hex == "3e38ab9191e3bbbec4e63d608151be65")
        #expect(p.nodeA.keyId.hex == "fa4074087a37e905d9ebf8e2ab9455ca")
    }

    @Test("Pairwise derivation matches the documented intermediate values from both ends")
    func pairwiseDerivationMatchesDocument() throws {
        let p = try Parties()
        let fromAlice = try #require(PairEntry.derive(local: p.alice, remoteKeyId: p.bob.keyId, remoteURI: p.bobBundle.userURI,
                                                      remoteEncryptionKey: p.bob.encryptionPublicKey))
        let fromBob = try #require(PairEntry.derive(local: p.bob, remoteKeyId: p.alice.keyId, remoteURI: p.aliceBundle.userURI,
                                                    remoteEncryptionKey: p.alice.encryptionPublicKey))
        #expect(hexString(fromAlice.wrapKey.copyBytes()) == "dcc4474d29977a5509424fa2a5673e190358475327e03ddb904649e7f5a6ef78")
        #expect(fromBob.wrapKey.copyBytes() == fromAlice.wrapKey.copyBytes())
        #expect(hexString(fromAlice.outgoingPairId) == "3c6f86bff7caac0956b95795f78804c5")
        #expect(hexString(fromAlice.incomingPairId) == "83c5e79828db91fbd969042838b50bfa")
        #expect(fromBob.incomingPairId == fromAlice.outgoingPairId)
        #expect(fromBob.outgoingPairId == fromAlice.incomingPairId)
    }

    @Test("Sealing with the documented randomness yields the documented bytes, which Bob opens")
    func envelopeMatchesDocumentByteForByte() throws {
        let p = try Parties()
        let random = exampleRandom()
        let envelope = try sealExample(p, random: random)
        #expect(random.mismatchCount == 0)
        #expect(random.unusedCount == 0)
        #expect(hexString(envelope.serialized()) == Self.expectedWire)

        let parsed = try Envelope(parsing: hex(Self.expectedWire))
        let aliceBundle = p.aliceBundle
        let nodeAKey = p.nodeA.publicKey
        let opener = EnvelopeOpener(cache: PairwiseKeyCache()) { uri, keyId in
            guard uri == aliceBundle.userURI, keyId == aliceBundle.keyId else { throw EnvelopeError(.unknownKey, uri) }
            try aliceBundle.verify(nodeKey: nodeAKey)
            return aliceBundle
        }
        let opened = try opener.open(parsed, recipient: p.bob, now: Self.sentAt + 1_000)
        #expect(opened.content == Self.content)
        #expect(opened.senderURI == "mimi://a.example/u/alice")
        #expect(opened.senderKeyId == p.alice.keyId)
        #expect(opened.sentAt == Self.sentAt)
        #expect(opened.envelopeId.hex == "11111111111111111111111111111111")
    }

    @Test("The documented federation header for sending the example verifies")
    func federationHeaderMatchesDocument() throws {
        let p = try Parties()
        let body = hex(Self.expectedWire)
        let signature = FederationSignature.sign(method: "PUT", path: "/v1/send/txn-0001", origin: "a.example",
                                                 destination: "b.example", body: body, timestamp: 1_767_225_600, key: p.nodeA)
        let documented = #"Parley origin="a.example",key="fa4074087a37e905d9ebf8e2ab9455ca",ts="1767225600",sig="tM9Y8RDYLcVpiU5mAVZoqHwdGyOyy1PAuj4OeMOM3v6EsvpRojfElXtS97I/qyB3U/dW463T7QZghdcGYGHbDw==""#
        #expect(signature.headerValue == documented)
        let nodeAKey = p.nodeA.publicKey
        let verified = try FederationSignature.verify(header: documented, method: "PUT", path: "/v1/send/txn-0001",
                                                      destination: "b.example", body: body, now: 1_767_225_630) { origin, keyId in
            origin == "a.example" && keyId == nodeAKey.keyId ? nodeAKey : nil
        }
        #expect(verified.origin == "a.example")
    }
}
