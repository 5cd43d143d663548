import ParleyCore
import Synchronization

/// Where sealing draws its randomness. Production uses the system CSPRNG; tests inject fixed bytes to
/// reproduce the worked example in docs/ENVELOPE.md byte for byte.
protocol RandomSource: Sendable {
    func bytes(_ count: Int) -> [UInt8]
    /// A new envelope id for an envelope that expires at `expiresAt`.
    func envelopeId(expiresAt: Int64) -> [UInt8]
}

extension RandomSource {
    /// All 16 bytes drawn from the source (the test hook's order: docs/ENVELOPE.md's worked example).
    func envelopeId(expiresAt: Int64) -> [UInt8] { bytes(EnvelopeID.byteCount) }
}

/// libsodium's `randombytes_buf`.
struct SystemRandom: RandomSource {
    func bytes(_ count: Int) -> [UInt8] { Sodium.randomBytes(count) }

    /// Time-ordered, like a UUIDv7: the low 48 bits of `expiresAt` (Unix ms, big-endian), then 80 random bits.
    /// Stores index envelopes by id on both sides; ids that grow with time append to those indexes instead of
    /// writing a random page of each per envelope. The prefix tells nothing new: `expiresAt` is in the clear header.
    func envelopeId(expiresAt: Int64) -> [UInt8] {
        let millis = UInt64(max(0, expiresAt))
        return (0..<6).map { UInt8(truncatingIfNeeded: millis >> (40 - 8 * $0)) } + Sodium.randomBytes(EnvelopeID.byteCount - 6)
    }
}

/// The keys one sender/recipient pair shares, derived once from X25519 and kept for later envelopes.
/// Derivation (docs/ENVELOPE.md "Pairwise keys"):
///
///     shared   = X25519(local secret, remote public)
///     pairKey  = BLAKE2b-256(key: shared,  "parley/pairwise/v1" ‖ min(pkA, pkB) ‖ max(pkA, pkB))
///     wrapKey  = BLAKE2b-256(key: pairKey, "parley/wrap-key/v1")
///     pairId(from X to Y) = BLAKE2b-128(key: pairKey, "parley/pair-id/v1" ‖ pkX ‖ pkY)
///
/// Both ends compute the same values; the pair id is directional, so the ids a relay sees for A→B and
/// B→A differ and neither can be computed without the pairwise key.
final class PairEntry: Sendable {
    let localKeyId: KeyId
    let remoteKeyId: KeyId
    let remoteURI: String
    let wrapKey: SecretBytes
    /// Pair id of envelopes sealed by the local user to the remote user.
    let outgoingPairId: [UInt8]
    /// Pair id of envelopes sealed by the remote user to the local user.
    let incomingPairId: [UInt8]
    /// The establishment blob for envelopes from the local user to the remote one, made once per pair:
    /// it depends only on the pair, so every later envelope can carry it again at no asymmetric cost.
    private let establishment = Mutex<[UInt8]?>(nil)

    init(localKeyId: KeyId, remoteKeyId: KeyId, remoteURI: String, wrapKey: SecretBytes,
         outgoingPairId: [UInt8], incomingPairId: [UInt8]) {
        self.localKeyId = localKeyId
        self.remoteKeyId = remoteKeyId
        self.remoteURI = remoteURI
        self.wrapKey = wrapKey
        self.outgoingPairId = outgoingPairId
        self.incomingPairId = incomingPairId
    }

    static let pairIdBytes = 16

    var cachedEstablishment: [UInt8]? { establishment.withLock { $0 } }

    func storeEstablishment(_ blob: [UInt8]) { establishment.withLock { if $0 == nil { $0 = blob } } }

    /// Runs the one X25519 of a pair and the BLAKE2b derivations above. Nil for a low-order public key.
    static func derive(local: UserSecretKeys, remoteKeyId: KeyId, remoteURI: String,
                       remoteEncryptionKey: [UInt8]) -> PairEntry? {
        guard var shared = local.encryptionSecret.withUnsafePointer({ Sodium.x25519(secret: $0, publicKey: remoteEncryptionKey) }) else {
            return nil
        }
        defer { Sodium.memzero(&shared) }
        let localPublic = local.encryptionPublicKey
        let (low, high) = localPublic.lexicographicallyPrecedes(remoteEncryptionKey)
            ? (localPublic, remoteEncryptionKey) : (remoteEncryptionKey, localPublic)
        var pairKey = Sodium.blake2b(Array("parley/pairwise/v1".utf8) + low + high, key: shared, outputLength: 32)
        defer { Sodium.memzero(&pairKey) }
        let wrap = SecretBytes(copying: Sodium.blake2b(Array("parley/wrap-key/v1".utf8), key: pairKey, outputLength: 32))
        let label = Array("parley/pair-id/v1".utf8)
        return PairEntry(
            localKeyId: local.keyId, remoteKeyId: remoteKeyId, remoteURI: remoteURI, wrapKey: wrap,
            outgoingPairId: Sodium.blake2b(label + localPublic + remoteEncryptionKey, key: pairKey, outputLength: pairIdBytes),
            incomingPairId: Sodium.blake2b(label + remoteEncryptionKey + localPublic, key: pairKey, outputLength: pairIdBytes))
    }
}

/// A bounded, thread-safe cache of pairwise keys, shared by an ``EnvelopeSealer`` and an
/// ``EnvelopeOpener`` (one per node is the intended use). An established pair costs no asymmetric
/// operation per envelope: X25519 runs once when a pair is first seen (on either side) and again only
/// after the entry has been evicted or forgotten.
///
/// When the cache is full, the least recently used eighth of the entries is dropped. A peer whose
/// entry is gone answers `envelope.unknown_key`; the sender then calls ``forget(localKeyId:remoteKeyId:)``
/// (or seals with ``EstablishmentPolicy/always``) so the next envelope establishes the pair again.
public final class PairwiseKeyCache: Sendable {
    /// Counters, for metrics and for tests that check no asymmetric operation happens per message.
    public struct Statistics: Sendable, Equatable {
        /// X25519 operations run on behalf of this cache's users: pair derivations plus the ephemeral
        /// key agreement of establishment blobs (two when sealing one, one when opening one).
        public var x25519Operations = 0
        /// Lookups that found an entry.
        public var hits = 0
        /// Lookups that found none.
        public var misses = 0
        /// Entries dropped because the cache was full.
        public var evictions = 0
        /// Establishment blobs written by the sealer.
        public var establishmentsSealed = 0
        /// Establishment blobs opened (pairs established from an incoming envelope).
        public var establishmentsOpened = 0
        /// Entries currently held.
        public var count = 0
    }

    private struct PeerKey: Hashable {
        let local: KeyId
        let remote: KeyId
    }

    private struct IncomingKey: Hashable {
        let local: KeyId
        let pairId: [UInt8]
    }

    private struct State {
        var byPeers: LRUCache<PeerKey, PairEntry>
        var byIncoming: [IncomingKey: PeerKey] = [:]
        var stats = Statistics()
    }

    /// The most entries held at once.
    public let capacity: Int
    private let state: Mutex<State>

    /// A cache holding up to `capacity` pairs (at least 8).
    public init(capacity: Int = 10_000) {
        let pairs = LRUCache<PeerKey, PairEntry>(capacity: capacity)
        self.capacity = pairs.capacity
        self.state = Mutex(State(byPeers: pairs))
    }

    /// A snapshot of the counters.
    public var statistics: Statistics {
        state.withLock { s in
            var stats = s.stats
            stats.count = s.byPeers.count
            return stats
        }
    }

    /// Drops the pair so that the next envelope from `localKeyId` to `remoteKeyId` establishes it anew.
    public func forget(localKeyId: KeyId, remoteKeyId: KeyId) {
        state.withLock { s in
            if let entry = s.byPeers.removeValue(forKey: PeerKey(local: localKeyId, remote: remoteKeyId)) {
                s.byIncoming[IncomingKey(local: localKeyId, pairId: entry.incomingPairId)] = nil
            }
        }
    }

    /// Drops every pair (for example after a user's keys were rotated).
    public func removeAll() {
        state.withLock { s in
            s.byPeers.removeAll()
            s.byIncoming.removeAll()
        }
    }

    // MARK: Internal, used by the sealer and opener

    /// The pair for sealing from `local` to `remote`; `isNew` when it had to be derived (so the sealer
    /// must include an establishment blob).
    func outgoing(local: UserSecretKeys, remote: UserKeyBundle) throws(EnvelopeError) -> (entry: PairEntry, isNew: Bool) {
        let key = PeerKey(local: local.keyId, remote: remote.keyId)
        let cached: PairEntry? = state.withLock { s in
            if let entry = s.byPeers.value(forKey: key), entry.remoteURI == remote.userURI {
                s.stats.hits += 1
                return entry
            }
            s.stats.misses += 1
            return nil
        }
        if let cached { return (cached, false) }
        // Derive outside the lock: X25519 is the slow part and must not serialise other users.
        guard let entry = PairEntry.derive(local: local, remoteKeyId: remote.keyId, remoteURI: remote.userURI,
                                           remoteEncryptionKey: remote.encryptionKey) else {
            throw .invalidInput("recipient \(remote.userURI) has an invalid encryption key (low-order point)")
        }
        noteX25519(1)
        insert(entry)
        return (entry, true)
    }

    /// The pair an incoming envelope addressed to `local` names by `pairId`, if known.
    func incoming(local: KeyId, pairId: [UInt8]) -> PairEntry? {
        state.withLock { s in
            guard let peer = s.byIncoming[IncomingKey(local: local, pairId: pairId)], let entry = s.byPeers.value(forKey: peer) else {
                s.stats.misses += 1
                return nil
            }
            s.stats.hits += 1
            return entry
        }
    }

    func insert(_ entry: PairEntry) {
        state.withLock { s in
            let key = PeerKey(local: entry.localKeyId, remote: entry.remoteKeyId)
            if let old = s.byPeers.peek(key) {
                s.byIncoming[IncomingKey(local: key.local, pairId: old.incomingPairId)] = nil
            }
            s.byIncoming[IncomingKey(local: key.local, pairId: entry.incomingPairId)] = key
            for (victim, evicted) in s.byPeers.insert(entry, forKey: key) {
                s.byIncoming[IncomingKey(local: victim.local, pairId: evicted.incomingPairId)] = nil
                s.stats.evictions += 1
            }
        }
    }

    func noteX25519(_ count: Int) { state.withLock { $0.stats.x25519Operations += count } }
    func noteEstablishmentSealed() { state.withLock { $0.stats.establishmentsSealed += 1 } }
    func noteEstablishmentOpened() { state.withLock { $0.stats.establishmentsOpened += 1 } }
}
