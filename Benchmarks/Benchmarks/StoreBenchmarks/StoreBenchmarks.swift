// The store's hot writes: outbox ingest of 1 KiB sealed rows (one event per transaction, and 100 per
// transaction as the IngressCommitter batches them), and the federation sender's claim + markSent of 100
// rows; each with durability FULL (the default: every commit synced) and NORMAL. The baseline is a plain
// GRDB insert of a row of the same size into a one-table WAL database, with the same batching and the
// same synchronous setting. Databases live in a fresh temporary directory per benchmark
// (`$PARLEY_BENCH_DB_DIR`, default the system temporary directory) and are removed afterwards.
//
// Inputs (ids, rows) are built before `startMeasurement()` in each iteration; only the store call is measured.
import Benchmark
import Foundation
import GRDB
import ParleyStore

private let rowBytes = 1024
private let batchSize = 100
private let base: Int64 = 1_760_000_000_000
private let sealed = Data((0..<rowBytes).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) })

private func scratchDirectory() throws -> URL {
    let root = ProcessInfo.processInfo.environment["PARLEY_BENCH_DB_DIR"].map { URL(fileURLWithPath: $0) }
        ?? FileManager.default.temporaryDirectory
    let directory = root.appendingPathComponent("parley-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// A 16-byte envelope id unique within one database.
private func envelopeId(_ n: Int) -> Data {
    var bytes = Data(count: 16)
    withUnsafeBytes(of: UInt64(n).bigEndian) { bytes.replaceSubrange(8..<16, with: $0) }
    bytes[0] = 0xE1
    return bytes
}

private func event(_ n: Int, conversations: Int = 10) -> IngressEvent {
    IngressEvent(
        tenant: "bench", app: "whatsapp", nativeEventKey: "wamid.\(n)", receivedAt: base,
        envelopes: [OutboundEnvelope(
            envelopeId: envelopeId(n), peer: "b.example", conversation: "c\(n % conversations)", sealed: sealed,
            createdAt: base, expiresAt: base + 86_400_000)])
}

/// Per-benchmark state: set up before the first iteration, torn down after the last.
/// Benchmarks of one suite run one after another, so the box is never used concurrently.
private final class StoreState: @unchecked Sendable {
    var directory: URL?
    var store: ParleyStore?
    var raw: DatabasePool?
    var next = 0

    func take(_ count: Int) -> Range<Int> {
        defer { next += count }
        return next..<(next + count)
    }

    func openStore(_ durability: ParleyStore.Options.Durability) throws {
        let directory = try scratchDirectory()
        self.directory = directory
        store = try ParleyStore(path: directory.appendingPathComponent("store.sqlite").path,
                                options: .init(durability: durability))
        next = 0
    }

    /// A one-table WAL database configured like the store (one writer, `synchronous` set on it).
    func openRaw(_ durability: ParleyStore.Options.Durability) throws {
        let directory = try scratchDirectory()
        self.directory = directory
        let pool = try DatabasePool(path: directory.appendingPathComponent("raw.sqlite").path)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability == .full ? "FULL" : "NORMAL")")
            try db.execute(sql: """
                CREATE TABLE rows (seq INTEGER PRIMARY KEY, envelope_id BLOB NOT NULL UNIQUE, peer TEXT NOT NULL,
                                   conversation TEXT NOT NULL, sealed BLOB NOT NULL, created_at INTEGER NOT NULL)
                """)
        }
        raw = pool
        next = 0
    }

    func close() throws {
        try store?.close()
        try raw?.close()
        store = nil
        raw = nil
        if let directory { try FileManager.default.removeItem(at: directory) }
        directory = nil
    }
}

private struct RawRow: Sendable {
    var envelopeId: Data
    var conversation: String
}

private func insertRaw(_ rows: [RawRow], into pool: DatabasePool) async throws {
    try await pool.write { db in
        let statement = try db.cachedStatement(sql: """
            INSERT INTO rows (envelope_id, peer, conversation, sealed, created_at) VALUES (?, 'b.example', ?, ?, ?)
            """)
        for row in rows {
            try statement.execute(arguments: [row.envelopeId, row.conversation, sealed, base])
        }
    }
}

private struct SetupFailure: Error, CustomStringConvertible {
    var description: String
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],  // CPU time ticks at 10 ms here: useless per iteration
        timeUnits: .microseconds,
        warmupIterations: 3,
        maxDuration: .seconds(2),
        maxIterations: 2_000
    )
    let batchConfiguration = Benchmark.Configuration(maxDuration: .seconds(2), maxIterations: 300)

    for durability in [ParleyStore.Options.Durability.full, .normal] {
        let label = durability.rawValue

        let single = StoreState()
        Benchmark("Store ingest 1 row/txn (\(label))") { benchmark in
            guard let store = single.store else { throw SetupFailure(description: "store not open") }
            let input = event(single.take(1).lowerBound)
            benchmark.startMeasurement()
            let result = try await store.ingest(input)
            benchmark.stopMeasurement()
            guard result.insertedEnvelopes.count == 1 else { throw SetupFailure(description: "row not inserted") }
        } setup: {
            try single.openStore(durability)
        } teardown: {
            try single.close()
        }

        let batch = StoreState()
        Benchmark("Store ingest 100 rows/txn (\(label))", configuration: batchConfiguration) { benchmark in
            guard let store = batch.store else { throw SetupFailure(description: "store not open") }
            let input = batch.take(batchSize).map { event($0) }
            benchmark.startMeasurement()
            let results = try await store.ingest(input)
            benchmark.stopMeasurement()
            guard results.count == batchSize else { throw SetupFailure(description: "batch not inserted") }
        } setup: {
            try batch.openStore(durability)
        } teardown: {
            try batch.close()
        }

        // 100 due rows in 10 conversations, claimed as the federation sender does (maxPerConversation 64).
        let claim = StoreState()
        Benchmark("Store claim+markSent 100 rows (\(label))", configuration: batchConfiguration) { benchmark in
            guard let store = claim.store else { throw SetupFailure(description: "store not open") }
            _ = try await store.ingest(claim.take(batchSize).map { event($0) })
            benchmark.startMeasurement()
            let claimed = try await store.claimOutbox(
                tenant: "bench", peer: "b.example", limit: batchSize, maxPerConversation: 64, leaseMillis: 60_000, now: base)
            let sent = try await store.markOutboxSent(tenant: "bench", envelopeIds: claimed.items.map(\.envelopeId), now: base)
            benchmark.stopMeasurement()
            guard claimed.items.count == batchSize, sent == batchSize else {
                throw SetupFailure(description: "claimed \(claimed.items.count) and sent \(sent) rows, expected \(batchSize)")
            }
        } setup: {
            try claim.openStore(durability)
        } teardown: {
            try claim.close()
        }

        let rawSingle = StoreState()
        Benchmark("Store raw GRDB insert 1 row/txn (\(label))") { benchmark in
            guard let pool = rawSingle.raw else { throw SetupFailure(description: "database not open") }
            let n = rawSingle.take(1).lowerBound
            let rows = [RawRow(envelopeId: envelopeId(n), conversation: "c\(n % 10)")]
            benchmark.startMeasurement()
            try await insertRaw(rows, into: pool)
        } setup: {
            try rawSingle.openRaw(durability)
        } teardown: {
            try rawSingle.close()
        }

        let rawBatch = StoreState()
        Benchmark("Store raw GRDB insert 100 rows/txn (\(label))", configuration: batchConfiguration) { benchmark in
            guard let pool = rawBatch.raw else { throw SetupFailure(description: "database not open") }
            let rows = rawBatch.take(batchSize).map { RawRow(envelopeId: envelopeId($0), conversation: "c\($0 % 10)") }
            benchmark.startMeasurement()
            try await insertRaw(rows, into: pool)
        } setup: {
            try rawBatch.openRaw(durability)
        } teardown: {
            try rawBatch.close()
        }
    }

    // The sender's claim with a deep queue behind it (a peer back after an outage): 100,000 rows queued to one
    // peer, in 64 conversations (deep) or 10,000 (wide). Each iteration claims 500 as the sender does and marks
    // them sent outside the measurement, so the queue stays above 50,000 rows throughout.
    let deepConfiguration = Benchmark.Configuration(warmupIterations: 2, maxDuration: .seconds(10), maxIterations: 90)
    for conversations in [64, 10_000] {
        let deep = StoreState()
        Benchmark("Store claim 500 of 100,000 queued, \(conversations) conversations", configuration: deepConfiguration) { benchmark in
            guard let store = deep.store else { throw SetupFailure(description: "store not open") }
            benchmark.startMeasurement()
            let claimed = try await store.claimOutbox(
                tenant: "bench", peer: "b.example", limit: 500, maxPerConversation: 64, leaseMillis: 60_000, now: base)
            benchmark.stopMeasurement()
            let sent = try await store.markOutboxSent(tenant: "bench", envelopeIds: claimed.items.map(\.envelopeId), now: base)
            guard !claimed.items.isEmpty, sent == claimed.items.count else {
                throw SetupFailure(description: "claimed \(claimed.items.count) and sent \(sent) rows")
            }
        } setup: {
            try deep.openStore(.normal)
            guard let store = deep.store else { throw SetupFailure(description: "store not open") }
            for _ in 0..<100 {
                _ = try await store.ingest(deep.take(1_000).map { event($0, conversations: conversations) })
            }
        } teardown: {
            try deep.close()
        }
    }
}
