import Synchronization
@testable import ParleyCrypto

/// Hex literal → bytes; an invalid literal is a bug in the test itself, so it yields an empty array
/// that makes the comparing expectation fail loudly rather than crashing the run.
func hex(_ text: String) -> [UInt8] {
    Hashing.bytes(fromHex: text.filter { !$0.isWhitespace }) ?? []
}

func hexString(_ bytes: [UInt8]) -> String { Hashing.hex(bytes) }

/// Randomness that hands out the given chunks in order (the sealer's test hook). Asking for a chunk of
/// another size, or for more chunks than scripted, records a mismatch the test then checks.
final class ScriptedRandom: RandomSource {
    private let chunks: Mutex<[[UInt8]]>
    private let mismatches = Mutex(0)

    init(_ chunks: [[UInt8]]) { self.chunks = Mutex(chunks) }

    func bytes(_ count: Int) -> [UInt8] {
        let next: [UInt8]? = chunks.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        guard let next, next.count == count else {
            mismatches.withLock { $0 += 1 }
            return [UInt8](repeating: 0, count: count)
        }
        return next
    }

    var mismatchCount: Int { mismatches.withLock { $0 } }
    var unusedCount: Int { chunks.withLock { $0.count } }
}

/// A user with keys and a bundle signed by their node.
struct TestUser {
    let uri: String
    let keys: UserSecretKeys
    let bundle: UserKeyBundle

    init(_ uri: String, node: NodeSigningKey, keys: UserSecretKeys = .generate(), createdAt: Int64 = 1_767_225_600_000) {
        self.uri = uri
        self.keys = keys
        self.bundle = UserKeyBundle.issue(userURI: uri, keys: keys, createdAt: createdAt, nodeKey: node)
    }
}

/// A small federation: node a.example with alice, node b.example with bob, carol and dave.
struct Fixture {
    let nodeA = NodeSigningKey.generate()
    let nodeB = NodeSigningKey.generate()
    let alice: TestUser
    let bob: TestUser
    let carol: TestUser
    let dave: TestUser

    init() {
        alice = TestUser("mimi://a.example/u/alice", node: nodeA)
        bob = TestUser("mimi://b.example/u/bob", node: nodeB)
        carol = TestUser("mimi://b.example/u/carol", node: nodeB)
        dave = TestUser("mimi://b.example/u/dave", node: nodeB)
    }

    /// A resolver over the given users that verifies each bundle against its node key, as the node will.
    func resolver(_ users: [TestUser]) -> EnvelopeOpener.KeyResolver {
        let bundles = users.map(\.bundle)
        let nodeKeys = ["a.example": nodeA.publicKey, "b.example": nodeB.publicKey]
        return { uri, keyId in
            guard let bundle = bundles.first(where: { $0.userURI == uri && $0.keyId == keyId }),
                  let domain = MimiURI.domain(of: uri), let nodeKey = nodeKeys[domain] else {
                throw EnvelopeError(.unknownKey, "no bundle for \(uri)")
            }
            try bundle.verify(nodeKey: nodeKey)
            return bundle
        }
    }

    static let sentAt: Int64 = 1_767_225_600_000
    static let expiresAt: Int64 = sentAt + 7 * 24 * 3_600_000
}
