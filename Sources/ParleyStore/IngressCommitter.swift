import Foundation

/// Group commit for ingress: concurrent single-event calls share one transaction (one sync).
///
/// Webhook handlers each call ``ingest(_:)`` and wait for their own result. While one batch is being written, the
/// events that arrive queue up and go into the next transaction together, so under load the number of syncs per
/// second stays roughly constant while events per sync grows; with no load, an event is written alone at once.
/// A result is returned only after the transaction holding it committed, so the webhook may be acknowledged then.
/// If a batch fails (disk full, …) every caller in it gets the error and nothing of that batch was written.
public actor IngressCommitter {
    private let store: ParleyStore
    private let maxBatch: Int
    private var waiting: [(event: IngressEvent, continuation: CheckedContinuation<IngressResult, any Error>)] = []
    private var draining = false

    /// - Parameter maxBatch: the most events written in one transaction.
    public init(store: ParleyStore, maxBatch: Int = 512) {
        self.store = store
        self.maxBatch = max(1, maxBatch)
    }

    /// Ingests one event, committed together with whatever other events are waiting. Same contract as `ParleyStore.ingest`.
    public func ingest(_ event: IngressEvent) async throws(StoreError) -> IngressResult {
        // Validate here so one bad event fails alone instead of failing the batch it would join.
        try ParleyStore.validate(event)
        do {
            return try await withCheckedThrowingContinuation { continuation in
                enqueue(event, continuation)
            }
        } catch {
            throw StoreError.wrap(error, "ingesting a native event")
        }
    }

    private func enqueue(_ event: IngressEvent, _ continuation: CheckedContinuation<IngressResult, any Error>) {
        waiting.append((event, continuation))
        guard !draining else { return }
        draining = true
        Task { await self.drain() }
    }

    private func drain() async {
        while !waiting.isEmpty {
            let batch = Array(waiting.prefix(maxBatch))
            waiting.removeFirst(batch.count)
            do {
                let results = try await store.ingest(batch.map(\.event))
                for (entry, result) in zip(batch, results) { entry.continuation.resume(returning: result) }
                // ingest returns one result per event; anything else is a store bug, but never leave a caller hanging.
                for entry in batch.dropFirst(results.count) {
                    entry.continuation.resume(throwing: StoreError(.internal, "batch ingest returned too few results"))
                }
            } catch {
                for entry in batch { entry.continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}
