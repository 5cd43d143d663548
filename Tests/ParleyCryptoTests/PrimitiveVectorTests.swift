import CSodium
import Testing
@testable import ParleyCrypto

/// Known-answer tests for every libsodium binding ParleyCrypto wraps, through the same internal
/// functions production uses, so a wrong binding (swapped arguments, wrong variant) is caught.
@Suite("Primitive known-answer tests")
struct PrimitiveVectorTests {
    struct Ed25519Vector: Sendable, CustomTestStringConvertible {
        let name: String, seed: String, publicKey: String, message: String, signature: String
        var testDescription: String { name }
    }

    /// RFC 8032 §7.1, TEST 1-3.
    static let rfc8032: [Ed25519Vector] = [
        .init(name: "TEST 1",
              seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
              publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
              message: "",
              signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        .init(name: "TEST 2",
              seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
              publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
              message: "72",
              signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        .init(name: "TEST 3",
              seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
              publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
              message: "af82",
              signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ]

    @Test("Ed25519 signing key reproduces RFC 8032 public key and signature", arguments: rfc8032)
    func ed25519SignsLikeRFC8032(vector: Ed25519Vector) throws {
        let key = try NodeSigningKey(seed: hex(vector.seed))
        #expect(hexString(key.publicKey.bytes) == vector.publicKey)
        #expect(hexString(key.sign(hex(vector.message))) == vector.signature)
    }

    @Test("Ed25519 verification accepts RFC 8032 signatures and rejects altered ones", arguments: rfc8032)
    func ed25519VerifiesRFC8032(vector: Ed25519Vector) throws {
        let publicKey = try NodePublicKey(bytes: hex(vector.publicKey))
        let signature = hex(vector.signature)
        #expect(publicKey.verify(signature: signature, message: hex(vector.message)))
        var altered = signature
        altered[10] ^= 0x01
        #expect(!publicKey.verify(signature: altered, message: hex(vector.message)))
        #expect(!publicKey.verify(signature: signature, message: hex(vector.message) + [0]))
        #expect(!publicKey.verify(signature: Array(signature.prefix(63)), message: hex(vector.message)))
    }

    @Test("User identity keys sign like RFC 8032 TEST 2")
    func userIdentityKeySignsLikeRFC8032() throws {
        let vector = Self.rfc8032[1]
        let keys = try UserSecretKeys(identitySeed: hex(vector.seed), encryptionSecret: [UInt8](repeating: 7, count: 32))
        #expect(hexString(keys.identityPublicKey) == vector.publicKey)
        #expect(hexString(keys.sign(hex(vector.message))) == vector.signature)
    }

    @Test("X25519 matches RFC 7748 section 5.2 vectors")
    func x25519MatchesRFC7748Vectors() {
        let vectors = [
            ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
             "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
             "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
            // u has its top bit set, which X25519 must ignore.
            ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
             "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
             "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
        ]
        for (scalar, u, expected) in vectors {
            let result = hex(scalar).withUnsafeBufferPointer { Sodium.x25519(secret: $0.baseAddress!, publicKey: hex(u)) }
            #expect(result.map(hexString) == expected)
        }
    }

    @Test("X25519 Diffie-Hellman matches RFC 7748 section 6.1 in both directions")
    func x25519DiffieHellmanMatchesRFC7748() throws {
        let alicePrivate = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        let bobPrivate = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        // Through UserSecretKeys, so the public-key derivation used by bundles is checked too.
        let alice = try UserSecretKeys(identitySeed: [UInt8](repeating: 1, count: 32), encryptionSecret: alicePrivate)
        let bob = try UserSecretKeys(identitySeed: [UInt8](repeating: 2, count: 32), encryptionSecret: bobPrivate)
        #expect(hexString(alice.encryptionPublicKey) == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(hexString(bob.encryptionPublicKey) == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let ab = alice.encryptionSecret.withUnsafePointer { Sodium.x25519(secret: $0, publicKey: bob.encryptionPublicKey) }
        let ba = bob.encryptionSecret.withUnsafePointer { Sodium.x25519(secret: $0, publicKey: alice.encryptionPublicKey) }
        #expect(ab.map(hexString) == shared)
        #expect(ba.map(hexString) == shared)
    }

    @Test("X25519 refuses a low-order public key instead of returning an all-zero secret")
    func x25519RefusesLowOrderPoint() {
        let secret = [UInt8](repeating: 0x55, count: 32)
        let zeroPoint = [UInt8](repeating: 0, count: 32)
        #expect(secret.withUnsafeBufferPointer { Sodium.x25519(secret: $0.baseAddress!, publicKey: zeroPoint) } == nil)
    }

    @Test("HMAC-SHA256 matches RFC 4231 test cases 1-4 and 6")
    func hmacSHA256MatchesRFC4231() {
        let cases: [([UInt8], [UInt8], String)] = [
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (Array(1...25), [UInt8](repeating: 0xcd, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            // Case 6: a key longer than the block must be hashed first.
            ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        ]
        for (key, data, mac) in cases {
            #expect(hexString(Hashing.hmacSHA256(key: key, message: data)) == mac)
        }
    }

    @Test("HMAC-SHA256 equals libsodium's for keys and messages of every length around the block edges")
    func hmacSHA256MatchesLibsodium() {
        var generator = SystemRandomNumberGenerator()
        let keyLengths = [0, 1, 31, 32, 63, 64, 65, 127, 128, 200]
        let messageLengths = [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1_000, 6_150]
        for keyLength in keyLengths {
            for messageLength in messageLengths {
                let key = (0..<keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let message = (0..<messageLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
                var state = crypto_auth_hmacsha256_state()
                var expected = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
                _ = crypto_auth_hmacsha256_init(&state, key, key.count)
                _ = crypto_auth_hmacsha256_update(&state, message, UInt64(message.count))
                _ = crypto_auth_hmacsha256_final(&state, &expected)
                #expect(Hashing.hmacSHA256(key: key, message: message) == expected, "key \(keyLength) B, message \(messageLength) B")
            }
        }
    }

    @Test("SHA-256 and BLAKE2b-512 match the FIPS 180 and RFC 7693 'abc' examples")
    func hashesMatchPublishedExamples() {
        #expect(hexString(Hashing.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(Hashing.blake2b(Array("abc".utf8), outputLength: 64)) ==
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923")
    }

    @Test("SHA-256 (CParleySHA256, not libsodium's) gives libsodium's digest at every length around the block edges")
    func sha256MatchesLibsodium() {
        var generator = SystemRandomNumberGenerator()
        let lengths = Array(0...200) + [1023, 1024, 1025, 4096, 65_537, 200_000]
        for length in lengths {
            let message = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var expected = [UInt8](repeating: 0, count: 32)
            _ = crypto_hash_sha256(&expected, message, UInt64(message.count))
            #expect(Hashing.sha256(message) == expected, "length \(length)")
        }
    }

    @Test("XChaCha20-Poly1305 matches draft-irtf-cfrg-xchacha-03 A.3.1 and rejects a changed tag or AD")
    func xchachaMatchesDraftVector() {
        let key = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
        let nonce = hex("404142434445464748494a4b4c4d4e4f5051525354555657")
        let ad = hex("50515253c0c1c2c3c4c5c6c7")
        let plaintext = Array("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.".utf8)
        let expected = """
            bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
            731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
            2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
            21f9664c97637da9768812f615c68b13b52e
            c0875924c1c7987947deafd8780acf49
            """.filter { !$0.isWhitespace }
        let sealed = key.withUnsafeBufferPointer { Sodium.aeadSeal(plaintext, ad: ad, nonce: nonce, key: $0.baseAddress!) }
        #expect(hexString(sealed) == expected)
        let opened = key.withUnsafeBufferPointer { Sodium.aeadOpen(sealed, ad: ad, nonce: nonce, key: $0.baseAddress!) }
        #expect(opened == plaintext)
        var badTag = sealed
        badTag[badTag.count - 1] ^= 0x80
        #expect(key.withUnsafeBufferPointer { Sodium.aeadOpen(badTag, ad: ad, nonce: nonce, key: $0.baseAddress!) } == nil)
        #expect(key.withUnsafeBufferPointer { Sodium.aeadOpen(sealed, ad: ad + [0], nonce: nonce, key: $0.baseAddress!) } == nil)
    }

    @Test("Hex helpers round-trip and reject non-hex input")
    func hexHelpersRoundTrip() {
        #expect(Hashing.bytes(fromHex: "00ffA5") == [0x00, 0xff, 0xa5])
        #expect(Hashing.hex([0x00, 0xff, 0xa5]) == "00ffa5")
        #expect(Hashing.bytes(fromHex: "abc") == nil)
        #expect(Hashing.bytes(fromHex: "zz") == nil)
        #expect(Hashing.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Hashing.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Hashing.constantTimeEqual([1, 2, 3], [1, 2]))
    }
}
