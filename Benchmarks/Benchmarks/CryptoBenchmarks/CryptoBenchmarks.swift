// Envelope sealing and opening for an established pair (pairwise keys cached on both sides, so no X25519
// and no Ed25519 per envelope), against the raw libsodium XChaCha20-Poly1305 on the same bytes; and the
// Ed25519 signature the node puts on each federation transaction.
import Benchmark
import CSodium  // the parent's system-library module, visible through ParleyCrypto; only for the raw baseline
import ParleyCrypto

/// Two users on two nodes whose pair is already established in both nodes' caches.
private final class EstablishedPair: Sendable {
    let sender = UserSecretKeys.generate()
    let recipient = UserSecretKeys.generate()
    let senderURI = "mimi://a.example/u/alice"
    let recipientBundle: UserKeyBundle
    let sealer = EnvelopeSealer(cache: PairwiseKeyCache())
    let opener: EnvelopeOpener
    static let sentAt: Int64 = 1_760_000_000_000
    static let expiresAt: Int64 = sentAt + 86_400_000

    init() throws {
        let nodeA = NodeSigningKey.generate(), nodeB = NodeSigningKey.generate()
        let senderBundle = UserKeyBundle.issue(userURI: senderURI, keys: sender, createdAt: Self.sentAt, nodeKey: nodeA)
        recipientBundle = UserKeyBundle.issue(
            userURI: "mimi://b.example/u/bob", keys: recipient, createdAt: Self.sentAt, nodeKey: nodeB)
        opener = EnvelopeOpener(cache: PairwiseKeyCache()) { _, _ in senderBundle }
        // The first envelope carries the establishment blob; opening it fills the receiver's cache.
        let first = try seal(Array("hello".utf8))
        _ = try opener.open(first, recipient: recipient, now: Self.sentAt)
    }

    func seal(_ content: [UInt8]) throws -> Envelope {
        try sealer.seal(content: content, sender: sender, senderURI: senderURI, recipients: [recipientBundle],
                        origin: "a.example", destination: "b.example", sentAt: Self.sentAt, expiresAt: Self.expiresAt)
    }

    func open(_ envelope: Envelope) throws -> OpenedEnvelope {
        try opener.open(envelope, recipient: recipient, now: Self.sentAt)
    }
}

private func payload(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
}

private let sizes: [(label: String, count: Int)] = [("100 B", 100), ("1 KiB", 1024), ("16 KiB", 16 * 1024)]

/// One libsodium XChaCha20-Poly1305 encryption into a fresh array, as the sealer's own helper does it.
private func rawSeal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: plaintext.count + Int(crypto_aead_xchacha20poly1305_ietf_ABYTES))
    var outLength: UInt64 = 0
    _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
        &out, &outLength, plaintext, UInt64(plaintext.count), nil, 0, nil, nonce, key)
    return out
}

/// The matching decryption; nil when the tag does not verify.
private func rawOpen(_ ciphertext: [UInt8], key: [UInt8], nonce: [UInt8]) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: ciphertext.count - Int(crypto_aead_xchacha20poly1305_ietf_ABYTES))
    var outLength: UInt64 = 0
    let rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
        &out, &outLength, nil, ciphertext, UInt64(ciphertext.count), nil, 0, nonce, key)
    return rc == 0 ? out : nil
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],  // CPU time ticks at 10 ms here: useless per iteration
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(1),
        maxIterations: 1_000
    )

    let pair: EstablishedPair
    do {
        pair = try EstablishedPair()
    } catch {
        Benchmark("Crypto setup failed") { benchmark in benchmark.error("establishing the pair: \(error)") }
        return
    }

    for size in sizes {
        let content = payload(size.count)
        Benchmark("Crypto seal \(size.label)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try pair.seal(content))
            }
        }
    }

    for size in sizes {
        // Sealed once, opened many times: no replay guard, so the same envelope opens every time.
        let envelope = try? pair.seal(payload(size.count))
        Benchmark("Crypto open \(size.label)") { benchmark in
            guard let envelope else { return benchmark.error("sealing the input failed") }
            for _ in benchmark.scaledIterations {
                blackHole(try pair.open(envelope))
            }
        }
    }

    // Raw baseline: one AEAD call on the same bytes, fixed key and nonce, no associated data.
    _ = sodium_init()
    let key = payload(Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES))
    let nonce = payload(Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES))
    for size in sizes {
        let plaintext = payload(size.count)
        Benchmark("Crypto raw XChaCha20-Poly1305 encrypt \(size.label)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(rawSeal(plaintext, key: key, nonce: nonce))
            }
        }
    }
    for size in sizes {
        let ciphertext = rawSeal(payload(size.count), key: key, nonce: nonce)
        Benchmark("Crypto raw XChaCha20-Poly1305 decrypt \(size.label)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(rawOpen(ciphertext, key: key, nonce: nonce))
            }
        }
    }

    // Per federation transaction, not per envelope: sign on the sender, verify on the receiver.
    let nodeKey = NodeSigningKey.generate()
    let message = payload(1024)
    let signature = nodeKey.sign(message)
    let ed25519 = Benchmark.Configuration(scalingFactor: .one, maxIterations: 100_000)
    Benchmark("Crypto Ed25519 sign 1 KiB", configuration: ed25519) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(nodeKey.sign(message))
        }
    }
    Benchmark("Crypto Ed25519 verify 1 KiB", configuration: ed25519) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(nodeKey.publicKey.verify(signature: signature, message: message))
        }
    }
    Benchmark("Crypto Ed25519 sign+verify 1 KiB", configuration: ed25519) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(nodeKey.publicKey.verify(signature: nodeKey.sign(message), message: message))
        }
    }
}
