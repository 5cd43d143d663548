import ParleyStore
import Synchronization

/// Depths of the durable queues, per tenant and peer, for backpressure and metrics.
///
/// Queued envelopes live in the store, so memory never grows with a queue; the disk would. When the outbox to a
/// peer (a slow or absent peer) or the inbox from a peer (a slow app here) holds `limit` envelopes, the node pushes
/// back: webhooks get 503 with Retry-After (the app keeps the messages and redelivers), and the peer's transactions
/// get 503 with Retry-After (its sender waits, its own outbox fills and pushes back on its app in turn).
/// A depth is counted at most once per `refresh` per queue, so the check costs nothing per message.
final class QueueGauge: Sendable {
    enum Queue: Sendable, Hashable {
        /// Envelopes waiting to go to a peer.
        case outbox
        /// Envelopes from a peer waiting for delivery to the app.
        case inbox
    }

    private struct Key: Hashable {
        let queue: Queue
        let tenant: String
        let peer: String
    }

    private struct Reading {
        let depth: Int
        let at: ContinuousClock.Instant
    }

    /// Envelopes a queue may hold before the node pushes back.
    let limit: Int
    private let store: ParleyStore
    private let refresh: Duration
    private let readings = Mutex<[Key: Reading]>([:])

    init(store: ParleyStore, limit: Int, refresh: Duration = .seconds(1)) {
        self.store = store
        self.limit = limit
        self.refresh = refresh
    }

    /// The queue's depth, counted again if the last count is older than `refresh`.
    func depth(_ queue: Queue, tenant: String, peer: String) async throws -> Int {
        let key = Key(queue: queue, tenant: tenant, peer: peer)
        let now = ContinuousClock.now
        if let reading = readings.withLock({ $0[key] }), now - reading.at < refresh { return reading.depth }
        let depth = switch queue {
        case .outbox: try await store.outboxDepth(tenant: tenant, peer: peer)
        case .inbox: try await store.inboxDepth(tenant: tenant, origin: peer)
        }
        readings.withLock { $0[key] = Reading(depth: depth, at: now) }
        return depth
    }

    /// Throws ``QueueFull`` when the queue is at its limit, so the caller pushes back with 503 + Retry-After.
    func requireRoom(_ queue: Queue, tenant: String, peer: String) async throws {
        let depth = try await depth(queue, tenant: tenant, peer: peer)
        if depth >= limit {
            throw QueueFull(queue: queue, tenant: tenant, peer: peer, depth: depth, retryAfterSeconds: retryAfterSeconds)
        }
    }

    /// Seconds a pushed-back sender should wait: long enough for a full queue to drain a little, short enough that
    /// a recovered peer is used again soon.
    let retryAfterSeconds = 2
}

/// A queue is at its limit: the caller is told to come back after `retryAfterSeconds` (HTTP 503 + Retry-After).
struct QueueFull: Error, Sendable, CustomStringConvertible {
    let queue: QueueGauge.Queue
    let tenant: String
    let peer: String
    let depth: Int
    let retryAfterSeconds: Int

    /// `queue.outbox_full` / `queue.inbox_full`.
    var code: String { queue == .outbox ? "queue.outbox_full" : "queue.inbox_full" }

    var description: String {
        switch queue {
        case .outbox: "\(depth) envelopes of \(tenant) are waiting for \(peer); redeliver in \(retryAfterSeconds) s"
        case .inbox: "\(depth) envelopes from \(peer) are waiting for delivery to \(tenant)'s app; retry in \(retryAfterSeconds) s"
        }
    }
}
