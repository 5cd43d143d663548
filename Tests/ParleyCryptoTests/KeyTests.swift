import Foundation
import Synchronization
import Testing
@testable import ParleyCrypto

@Suite("Node and user keys")
struct KeyTests {
    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("parley-crypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("A generated node key signs what its public key verifies, and nothing else")
    func generatedNodeKeySignsAndVerifies() {
        let key = NodeSigningKey.generate()
        let other = NodeSigningKey.generate()
        let message = Array("transaction".utf8)
        let signature = key.sign(message)
        #expect(signature.count == 64)
        #expect(key.publicKey.verify(signature: signature, message: message))
        #expect(!other.publicKey.verify(signature: signature, message: message))
        #expect(key.keyId != other.keyId)
    }

    @Test("A node key from a seed is deterministic and rejects a wrong-length seed")
    func nodeKeyFromSeed() throws {
        let seed = [UInt8](repeating: 9, count: 32)
        #expect(try NodeSigningKey(seed: seed).publicKey == NodeSigningKey(seed: seed).publicKey)
        #expect(throws: KeyError(.invalidKey, "an Ed25519 seed is 32 bytes, got 31")) { try NodeSigningKey(seed: Array(seed.prefix(31))) }
    }

    @Test("Key ids are 16 bytes of labelled BLAKE2b over the public key, shown as hex")
    func keyIdDerivation() throws {
        let key = try NodeSigningKey(seed: [UInt8](repeating: 9, count: 32))
        let expected = Array(Hashing.blake2b(Array("parley/node-key-id/v1".utf8) + key.publicKey.bytes, outputLength: 32).prefix(16))
        #expect(key.keyId.bytes == expected)
        #expect(key.keyId.hex.count == 32)
        #expect(try KeyId(hex: key.keyId.hex) == key.keyId)
        #expect(throws: KeyError.self) { try KeyId(hex: "abcd") }
        #expect(throws: KeyError.self) { try KeyId(bytes: [1, 2, 3]) }
    }

    @Test("A node key file round-trips and is written with mode 0600")
    func nodeKeyFileRoundTrip() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("node.key").path
        let key = NodeSigningKey.generate()
        try key.write(toFile: path)
        let loaded = try NodeSigningKey(contentsOfFile: path)
        #expect(loaded.publicKey == key.publicKey)
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(key.exportSeedBase64()))
    }

    @Test("Writing a node key over an existing file is refused unless asked")
    func nodeKeyFileNotOverwritten() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("node.key").path
        let first = NodeSigningKey.generate()
        try first.write(toFile: path)
        let second = NodeSigningKey.generate()
        let error = #expect(throws: KeyError.self) { try second.write(toFile: path) }
        #expect(error?.code == .fileWriteFailed)
        #expect(try NodeSigningKey(contentsOfFile: path).publicKey == first.publicKey)
        try second.write(toFile: path, overwrite: true)
        #expect(try NodeSigningKey(contentsOfFile: path).publicKey == second.publicKey)
    }

    @Test("Loading a node key reports a missing file, bad base64 and a wrong length distinctly")
    func nodeKeyFileErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = #expect(throws: KeyError.self) { try NodeSigningKey(contentsOfFile: dir.appendingPathComponent("none").path) }
        #expect(missing?.code == .fileNotFound)

        let garbage = dir.appendingPathComponent("garbage.key").path
        try "# comment\nnot base64 at all!\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let malformed = #expect(throws: KeyError.self) { try NodeSigningKey(contentsOfFile: garbage) }
        #expect(malformed?.code == .fileMalformed)

        let short = dir.appendingPathComponent("short.key").path
        try (Data([1, 2, 3]).base64EncodedString() + "\n").write(toFile: short, atomically: true, encoding: .utf8)
        let wrongLength = #expect(throws: KeyError.self) { try NodeSigningKey(contentsOfFile: short) }
        #expect(wrongLength?.code == .fileMalformed)

        let unwritable = dir.appendingPathComponent("no/such/dir/node.key").path
        let writeError = #expect(throws: KeyError.self) { try NodeSigningKey.generate().write(toFile: unwritable) }
        #expect(writeError?.code == .fileWriteFailed)
    }

    @Test("A node public key round-trips through base64 and JSON, and rejects bad input")
    func nodePublicKeyEncoding() throws {
        let key = NodeSigningKey.generate().publicKey
        #expect(try NodePublicKey(base64: key.base64) == key)
        let json = try JSONEncoder().encode([key])
        #expect(try JSONDecoder().decode([NodePublicKey].self, from: json) == [key])
        #expect(throws: KeyError.self) { try NodePublicKey(base64: "%%%") }
        #expect(throws: KeyError.self) { try NodePublicKey(base64: Data([1, 2]).base64EncodedString()) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([NodePublicKey].self, from: Data("[\"AAAA\"]".utf8)) }
    }

    @Test("User secret keys survive serialization and refuse wrong lengths or versions")
    func userSecretKeysSerialization() throws {
        let keys = UserSecretKeys.generate()
        let stored = keys.serialized()
        #expect(stored.count == UserSecretKeys.serializedByteCount)
        let restored = try UserSecretKeys(serialized: stored)
        #expect(restored.keyId == keys.keyId)
        #expect(restored.encryptionPublicKey == keys.encryptionPublicKey)
        #expect(restored.identityPublicKey == keys.identityPublicKey)
        #expect(throws: KeyError.self) { try UserSecretKeys(serialized: Array(stored.prefix(64))) }
        var wrongVersion = stored
        wrongVersion[0] = 9
        #expect(throws: KeyError.self) { try UserSecretKeys(serialized: wrongVersion) }
    }

    @Test("User secret keys are wiped when released")
    func userSecretKeysAreZeroedOnRelease() throws {
        let reports = Mutex<[Bool]>([])
        do {
            let keys = try UserSecretKeys(identitySeed: [UInt8](repeating: 0xa5, count: 32),
                                          encryptionSecret: [UInt8](repeating: 0x5a, count: 32),
                                          wipeObserver: { zeroed in reports.withLock { $0.append(zeroed) } })
            // Use the keys so the secrets demonstrably held non-zero bytes before release.
            #expect(keys.serialized().dropFirst().contains { $0 != 0 })
            #expect(reports.withLock { $0.isEmpty })
        }
        // Two buffers: the identity secret and the encryption secret, both read back as zeros.
        #expect(reports.withLock { $0 } == [true, true])
    }

    @Test("A key bundle verifies against its node key and no other")
    func keyBundleVerification() throws {
        let node = NodeSigningKey.generate()
        let user = TestUser("mimi://b.example/u/bob", node: node)
        try user.bundle.verify(nodeKey: node.publicKey)
        #expect(user.bundle.keyId == user.keys.keyId)
        let otherNode = NodeSigningKey.generate()
        let error = #expect(throws: EnvelopeError.self) { try user.bundle.verify(nodeKey: otherNode.publicKey) }
        #expect(error?.code == .badSignature)
    }

    @Test("A key bundle with any signed field changed fails verification")
    func keyBundleTamperingDetected() throws {
        let node = NodeSigningKey.generate()
        let b = TestUser("mimi://b.example/u/bob", node: node).bundle
        let other = UserSecretKeys.generate()
        let variants: [(UserKeyBundle, EnvelopeError.Code)] = [
            (UserKeyBundle(userURI: "mimi://b.example/u/mallory", identityKey: b.identityKey, encryptionKey: b.encryptionKey,
                           keyId: b.keyId, createdAt: b.createdAt, nodeKeyId: b.nodeKeyId, signature: b.signature), .badSignature),
            (UserKeyBundle(userURI: b.userURI, identityKey: b.identityKey, encryptionKey: b.encryptionKey,
                           keyId: b.keyId, createdAt: b.createdAt + 1, nodeKeyId: b.nodeKeyId, signature: b.signature), .badSignature),
            // Swapping in another encryption key also breaks the key id binding.
            (UserKeyBundle(userURI: b.userURI, identityKey: b.identityKey, encryptionKey: other.encryptionPublicKey,
                           keyId: b.keyId, createdAt: b.createdAt, nodeKeyId: b.nodeKeyId, signature: b.signature), .malformed),
            (UserKeyBundle(userURI: b.userURI, identityKey: b.identityKey, encryptionKey: other.encryptionPublicKey,
                           keyId: UserSecretKeys.keyId(identity: b.identityKey, encryption: other.encryptionPublicKey),
                           createdAt: b.createdAt, nodeKeyId: b.nodeKeyId, signature: b.signature), .badSignature),
            (UserKeyBundle(userURI: "bob@b.example", identityKey: b.identityKey, encryptionKey: b.encryptionKey,
                           keyId: b.keyId, createdAt: b.createdAt, nodeKeyId: b.nodeKeyId, signature: b.signature), .malformed),
        ]
        for (bundle, code) in variants {
            let error = #expect(throws: EnvelopeError.self) { try bundle.verify(nodeKey: node.publicKey) }
            #expect(error?.code == code)
        }
    }

    @Test("A key bundle round-trips through JSON and bad JSON is a decoding error")
    func keyBundleJSON() throws {
        let node = NodeSigningKey.generate()
        let bundle = TestUser("mimi://b.example/u/bob", node: node).bundle
        let json = try JSONEncoder().encode(bundle)
        let decoded = try JSONDecoder().decode(UserKeyBundle.self, from: json)
        #expect(decoded == bundle)
        try decoded.verify(nodeKey: node.publicKey)
        let object = try #require(JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(Set(object.keys) == ["userURI", "identityKey", "encryptionKey", "keyId", "createdAt", "nodeKeyId", "signature"])
        #expect(object["createdAt"] as? Int == Int(bundle.createdAt))
        var broken = object
        broken["encryptionKey"] = Data([1, 2, 3]).base64EncodedString()
        let brokenJSON = try JSONSerialization.data(withJSONObject: broken)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(UserKeyBundle.self, from: brokenJSON) }
    }
}
