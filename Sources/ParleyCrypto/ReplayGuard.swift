import Synchronization

/// Remembers envelope ids that have been opened, so a second delivery of the same envelope is refused
/// with `EnvelopeError.replay`. The node backs this with its inbox table; ``InMemoryReplayGuard`` is for
/// tests and single-process use.
///
/// The opener calls it only after the envelope authenticated, so forged envelopes cannot fill it.
public protocol ReplayGuard: Sendable {
    /// Records `envelopeId`, or throws `EnvelopeError` with code `.replay` if it was recorded before.
    /// Any other error (a storage failure) propagates from `EnvelopeOpener.open` unchanged.
    func checkAndRecord(envelopeId: EnvelopeID) throws

    /// As above, with the envelope's expiry (Unix ms), after which the record may be forgotten:
    /// an expired envelope is refused by the opener before the guard is consulted.
    /// The default implementation ignores `expiresAt`.
    func checkAndRecord(envelopeId: EnvelopeID, expiresAt: Int64) throws
}

extension ReplayGuard {
    /// Ignores `expiresAt` and calls ``checkAndRecord(envelopeId:)``.
    public func checkAndRecord(envelopeId: EnvelopeID, expiresAt: Int64) throws {
        try checkAndRecord(envelopeId: envelopeId)
    }
}

/// A bounded in-memory ``ReplayGuard``: it remembers the most recent `capacity` ids and forgets the
/// oldest first. Size it to hold at least every envelope that can arrive within the expiry window.
public final class InMemoryReplayGuard: ReplayGuard {
    private struct State {
        var seen = Set<EnvelopeID>()
        var order: [EnvelopeID] = []
        var head = 0
    }

    /// The most ids remembered at once.
    public let capacity: Int
    private let state = Mutex(State())

    /// A guard remembering up to `capacity` ids (at least 1).
    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
    }

    /// Number of ids currently remembered.
    public var count: Int { state.withLock { $0.seen.count } }

    /// Records `envelopeId`; throws `EnvelopeError` `.replay` if it is among the remembered ids.
    public func checkAndRecord(envelopeId: EnvelopeID) throws {
        let fresh = state.withLock { s -> Bool in
            guard s.seen.insert(envelopeId).inserted else { return false }
            // Ring buffer: once full, overwrite (and forget) the oldest id.
            if s.order.count < capacity {
                s.order.append(envelopeId)
            } else {
                s.seen.remove(s.order[s.head])
                s.order[s.head] = envelopeId
                s.head = (s.head + 1) % capacity
            }
            return true
        }
        guard fresh else { throw EnvelopeError.replay("envelope \(envelopeId) was already delivered") }
    }
}
