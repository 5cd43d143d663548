import Foundation

/// Group commit: concurrent single-item calls share one transaction (one sync).
///
/// Callers each ``submit(_:)`` an item and wait for their own output. While one batch is being written, the items
/// that arrive queue up and go into the next transaction together, so under load the number of syncs per second
/// stays roughly constant while items per sync grows; with no load, an item is written alone at once. An output is
/// returned only after the transaction holding it committed. If a batch fails (disk full, …) every caller in it
/// gets the error and nothing of that batch was written.
public actor GroupCommitter<Item: Sendable, Output: Sendable> {
    /// Writes a batch in one transaction and returns one output per item, in order.
    public typealias Commit = @Sendable ([Item]) async throws -> [Output]

    private let commit: Commit
    private let maxBatch: Int
    private var waiting: [(item: Item, continuation: CheckedContinuation<Output, any Error>)] = []
    private var draining = false

    /// - Parameter maxBatch: the most items written in one transaction.
    public init(maxBatch: Int = 512, commit: @escaping Commit) {
        self.commit = commit
        self.maxBatch = max(1, maxBatch)
    }

    /// Writes `item` together with whatever other items are waiting; returns once that transaction committed.
    public func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append((item, continuation))
            guard !draining else { return }
            draining = true
            Task { await self.drain() }
        }
    }

    private func drain() async {
        while !waiting.isEmpty {
            let batch = Array(waiting.prefix(maxBatch))
            waiting.removeFirst(batch.count)
            do {
                let outputs = try await commit(batch.map(\.item))
                for (entry, output) in zip(batch, outputs) { entry.continuation.resume(returning: output) }
                // One output per item is the contract; anything else is a bug, but never leave a caller hanging.
                for entry in batch.dropFirst(outputs.count) {
                    entry.continuation.resume(throwing: StoreError(.internal, "a batch commit returned too few results"))
                }
            } catch {
                for entry in batch { entry.continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}

/// Group commit for ingress: concurrent single-event calls share one transaction (one sync).
///
/// See ``GroupCommitter``. A result is returned only after the transaction holding it committed, so the webhook
/// may be acknowledged then.
public final class IngressCommitter: Sendable {
    /// Each item is one caller's events (a webhook's worth), kept together and answered together.
    private let group: GroupCommitter<[IngressEvent], [IngressResult]>

    /// - Parameter maxBatch: the most callers whose events are written in one transaction.
    public init(store: ParleyStore, maxBatch: Int = 512) {
        group = GroupCommitter(maxBatch: maxBatch) { batches in
            var results = try await store.ingest(batches.flatMap { $0 })[...]
            return batches.map { batch in
                defer { results = results.dropFirst(batch.count) }
                return Array(results.prefix(batch.count))
            }
        }
    }

    /// Ingests one event, committed together with whatever other events are waiting. Same contract as `ParleyStore.ingest`.
    public func ingest(_ event: IngressEvent) async throws(StoreError) -> IngressResult {
        guard let result = try await ingest([event]).first else {
            throw StoreError(.internal, "ingest returned no result")
        }
        return result
    }

    /// Ingests one caller's events in the same transaction as whatever else is waiting; one result per event, in
    /// order. Same contract as `ParleyStore.ingest(_:)` for a batch.
    public func ingest(_ events: [IngressEvent]) async throws(StoreError) -> [IngressResult] {
        // Validate here so one bad caller fails alone instead of failing the transaction it would join.
        for event in events { try ParleyStore.validate(event) }
        do {
            return try await group.submit(events)
        } catch {
            throw StoreError.wrap(error, "ingesting native events")
        }
    }
}
