import Foundation
import GRDB
import Logging
import Synchronization

/// The node's durable state: outbox, inbox, native-event dedup, id map, delivery state, keys, consent.
///
/// One SQLite file in WAL mode, opened as a GRDB `DatabasePool` (one writer, concurrent readers). Every method
/// that writes several rows does so in one transaction, and every row is scoped by tenant, since one node may host
/// several operators. Sealed envelopes are stored as opaque BLOBs; the store never sees content.
///
/// Durability: by default every commit that stores something new (ingest, receive, delivered, keys, consent…) is
/// durable when the method returns, also across power loss (`PRAGMA synchronous = FULL`, which in WAL mode syncs the
/// log at that commit). Commits that only record progress on stored rows (claims, "sent" marks, retries, hand-backs)
/// are not synced on their own: the next synced commit makes them durable too, and a power loss before it can only
/// undo them, which repeats a send the peer deduplicates. That is what lets the node
/// acknowledge a webhook or a federation PUT as soon as the call returns. Batch methods
/// (``ingest(_:)`` with many events, ``receive(tenant:origin:transactionId:envelopes:now:)``, the
/// ``IngressCommitter``) put many rows under one sync, which is how throughput stays high with FULL.
/// ``Options/Durability/normal`` skips the per-commit sync: a process crash still loses nothing, but a power loss or
/// kernel crash may roll back the last commits, so it is only for benchmarks or throw-away nodes.
///
/// All timestamps are Unix milliseconds passed in by the caller (`now:`); the store has no clock.
public final class ParleyStore: Sendable {
    /// Open options.
    public struct Options: Sendable {
        public enum Durability: String, Sendable {
            /// `synchronous = FULL`: an acknowledged commit survives process crash and power loss. The default.
            case full
            /// `synchronous = NORMAL`: survives process crash; a power loss may lose the last commits.
            case normal
        }

        public var durability: Durability
        /// How long a write waits for another process's lock before failing with ``StoreError/Code/busy``.
        public var busyTimeout: TimeInterval
        /// Concurrent read connections.
        public var maximumReaders: Int
        /// WAL pages after which the log is checkpointed into the database file (SQLite's `wal_autocheckpoint`
        /// has 1,000). The copying happens on a connection of its own, beside the commits, and the writer only
        /// finishes the last few hundred pages (see ``BackgroundCheckpointer``).
        ///
        /// A checkpoint copies the newest version of each page in the log once, however often it was rewritten,
        /// and syncs the database file. The hot pages (the queues' tails, their indexes) are rewritten by nearly
        /// every commit, so a longer log between checkpoints copies and syncs them far less often per message;
        /// the price is a log file of this many pages (4 KiB each) or somewhat more on disk, and at most four
        /// times as many if checkpoints cannot keep up.
        public var walCheckpointPages: Int

        public init(durability: Durability = .full, busyTimeout: TimeInterval = 5, maximumReaders: Int = 4,
                    walCheckpointPages: Int = 10_000) {
            self.durability = durability
            self.busyTimeout = busyTimeout
            self.maximumReaders = maximumReaders
            self.walCheckpointPages = walCheckpointPages
        }

        /// Live rows a claim reads in one pass before it walks conversation by conversation instead (see
        /// ``ClaimWalk``); 0 always walks. Tests set it to reach both paths.
        var claimScanRows = ClaimWalk.defaultScanRows
        /// Whether checkpoints copy the log on a connection of their own; tests turn it off to reach the writer's
        /// inline checkpoints alone.
        var backgroundCheckpoints = true
    }

    /// The database file path.
    public let path: String
    let pool: DatabasePool
    let durability: Options.Durability
    let claimScanRows: Int
    let logger: Logger
    private let isClosed = Mutex(false)
    let checkpointer: BackgroundCheckpointer
    /// Point reads run on this connection, on the calling thread (see ``lookup(_:_:)``).
    let lookups: DatabaseQueue
    /// Where each scope's next claim starts, and its last search for expired rows.
    let progress = ClaimProgress()

    /// Opens (creating if needed) the store at `path` and migrates it to the current schema.
    ///
    /// Creates missing parent directories (mode 0700) and a new file with mode 0600, since the store holds secret
    /// keys. Applies only the migrations the file has not recorded yet.
    /// - Throws: ``StoreError`` with ``StoreError/Code/openFailed``, ``StoreError/Code/schemaTooNew``,
    ///   ``StoreError/Code/migrationFailed`` or the code of the SQLite failure.
    public init(path: String, options: Options = Options(), logger: Logger = Logger(label: "parley.store")) throws(StoreError) {
        self.path = path
        self.logger = logger
        self.durability = options.durability
        claimScanRows = max(0, options.claimScanRows)
        try Check.positive(options.walCheckpointPages, "walCheckpointPages")
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw StoreError(.openFailed, "cannot create directory \(directory.path) for the store: \(error.localizedDescription)")
        }
        // Create the file ourselves so it (and the -wal/-shm files SQLite derives from it) is private.
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw StoreError(.openFailed, "cannot create the store file \(path); check that its directory is writable")
            }
        }

        var config = Configuration()
        config.label = "parley.store"
        config.busyMode = .timeout(options.busyTimeout)
        config.maximumReaderCount = max(1, options.maximumReaders)
        let synchronous = options.durability == .full ? "FULL" : "NORMAL"
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw StoreError.wrap(error, "opening the store at \(path)")
        }
        self.pool = pool
        // GRDB sets `synchronous = NORMAL` on the writer when it enables WAL, after `prepareDatabase` ran, so the
        // level is set here, on the pool's one long-lived writer connection, before anything is written. Only the
        // writer commits, so only it checkpoints.
        do {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
                // Inline checkpoints while migrating; the checkpointer's hook takes over once the schema is current.
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(options.walCheckpointPages)")
            }
        } catch {
            try? pool.close()
            throw StoreError.wrap(error, "configuring durability of \(path)")
        }

        let migrator = Schema.migrator
        do {
            let superseded = try pool.read { db in try migrator.hasBeenSuperseded(db) }
            if superseded {
                try? pool.close()
                throw StoreError(.schemaTooNew, "the store at \(path) was written by a newer Parley (unknown schema migrations); upgrade Parley or restore an older backup")
            }
        } catch let error as StoreError {
            throw error
        } catch {
            try? pool.close()
            throw StoreError.wrap(error, "reading the schema version of \(path)")
        }
        do {
            try migrator.migrate(pool)
        } catch {
            try? pool.close()
            let wrapped = StoreError.wrap(error, "migrating the store at \(path)")
            throw wrapped.code == .internal || wrapped.code == .constraint
                ? StoreError(.migrationFailed, wrapped.message) : wrapped
        }
        var lookupConfig = Configuration()
        lookupConfig.label = "parley.store.lookups"
        lookupConfig.busyMode = .timeout(options.busyTimeout)
        do {
            lookups = try DatabaseQueue(path: path, configuration: lookupConfig)
        } catch {
            try? pool.close()
            throw StoreError.wrap(error, "opening the lookup connection to \(path)")
        }
        checkpointer = BackgroundCheckpointer(
            path: path, thresholdPages: options.walCheckpointPages, background: options.backgroundCheckpoints,
            busyTimeout: options.busyTimeout, logger: logger)
        pool.writeWithoutTransaction { db in checkpointer.install(on: db) }
        logger.debug("store opened", metadata: ["path": "\(path)", "durability": "\(options.durability.rawValue)"])
    }

    /// Commits and log frames written since the store opened (migrations excepted); cheap enough to read per scrape.
    public var writeStatistics: StoreWriteStatistics { checkpointer.writes }

    /// Closes every connection. Later calls throw ``StoreError/Code/closed``. Safe to call twice.
    public func close() throws(StoreError) {
        let wasClosed = isClosed.withLock { closed in
            defer { closed = true }
            return closed
        }
        if wasClosed { return }
        pool.writeWithoutTransaction { db in checkpointer.uninstall(from: db) }
        checkpointer.close()
        // The pool closes even if the lookup connection would not.
        let lookupsClosed = Result { try lookups.close() }
        do {
            try pool.close()
            try lookupsClosed.get()
        } catch { throw StoreError.wrap(error, "closing the store") }
    }

    /// The migrations recorded in the file, in order (e.g. `["v1"]`).
    public func appliedMigrations() async throws(StoreError) -> [String] {
        try await read("listing migrations") { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid")
        }
    }

    /// Tenants that have any queued row, key, or consent record.
    public func tenants() async throws(StoreError) -> [String] {
        try await read("listing tenants") { db in
            try String.fetchAll(db, sql: """
                SELECT tenant FROM outbox UNION SELECT tenant FROM inbox UNION SELECT tenant FROM key_material
                UNION SELECT tenant FROM consent ORDER BY 1
                """)
        }
    }

    /// Runs a read-only query and returns its first column as text (for `parley status` diagnostics and tests),
    /// e.g. `PRAGMA journal_mode` or `PRAGMA integrity_check`.
    func scalarTexts(_ sql: String) async throws(StoreError) -> [String] {
        try await read("running a diagnostic query") { db in
            try Row.fetchAll(db, sql: sql).map { row in Self.text(row[0]) }
        }
    }

    /// The `detail` lines of `EXPLAIN QUERY PLAN` for `sql` (tests: that a query uses the index meant for it).
    func queryPlan(_ sql: String) async throws(StoreError) -> [String] {
        try await read("explaining a query") { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }
        }
    }

    private static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: "NULL"
        case .int64(let int): String(int)
        case .double(let double): String(double)
        case .string(let string): string
        case .blob(let data): data.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// The opcodes SQLite compiles `sql` to (tests: that a hot statement builds no temporary table). On the writer,
    /// since `sql` may be a write; `EXPLAIN` runs nothing.
    func bytecode(_ sql: String) async throws(StoreError) -> [String] {
        try await write("explaining a statement", synced: false) { db in
            try Row.fetchAll(db, sql: "EXPLAIN \(sql)").map { row in Self.text(row["opcode"]) }
        }
    }

    /// Runs raw SQL in a write transaction (tests only: to simulate files from other versions).
    func unsafeExecute(_ sql: String) async throws(StoreError) {
        try await write("running raw SQL") { db in try db.execute(sql: sql) }
    }

    /// Runs a PRAGMA on the writer connection (where `synchronous` and friends were set).
    func writerPragma(_ name: String) async throws(StoreError) -> String? {
        try await write("reading PRAGMA \(name)") { db in
            try Row.fetchOne(db, sql: "PRAGMA \(name)").map { row in Self.text(row[0]) }
        }
    }

    // MARK: Transaction helpers

    /// Runs `body` in one write transaction; the transaction is committed (and synced) before this returns.
    ///
    /// `synced: false` is for commits that only record progress on rows already durable (claims, "sent" marks,
    /// retries): with durability FULL they skip their own sync and become durable with the next synced commit (the
    /// WAL is one ordered log, so a later sync covers them). A power loss can only undo such a commit, which
    /// repeats work (a resend or redelivery the peer deduplicates by envelope id); it never loses or reorders what
    /// a synced commit acknowledged. One sync fewer per batch is what keeps the sender's and receiver's loops from
    /// waiting on the disk between every step.
    func write<T: Sendable>(_ operation: String, synced: Bool = true, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        if isClosed.withLock({ $0 }) { throw StoreError(.closed, "\(operation) failed: the store is closed") }
        do {
            guard !synced, durability == .full else { return try await pool.write(body) }
            return try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                defer { try? db.execute(sql: "PRAGMA synchronous = FULL") }
                var result: T?
                try db.inTransaction {
                    result = try body(db)
                    return .commit
                }
                guard let result else { throw StoreError(.internal, "\(operation): the transaction produced no result") }
                return result
            }
        } catch {
            let wrapped = StoreError.wrap(error, operation)
            logger.warning("store write failed", metadata: ["operation": "\(operation)", "code": "\(wrapped.code.rawValue)"])
            throw wrapped
        }
    }

    /// The members of `candidates` for which `sql` (a query with `?` parameters) finds a row, in one read: the
    /// batched form of "does this exist?" for a webhook's or a transaction's worth of keys.
    func present<Candidate: Hashable & Sendable>(
        _ operation: String, among candidates: some Sequence<Candidate> & Sendable, sql: String,
        arguments: @escaping @Sendable (Candidate) -> StatementArguments
    ) async throws(StoreError) -> Set<Candidate> {
        try await lookup(operation) { db in
            let statement = try db.cachedStatement(sql: sql)
            var found: Set<Candidate> = []
            for candidate in candidates where try Bool.fetchOne(statement, arguments: arguments(candidate)) != nil {
                found.insert(candidate)
            }
            return found
        }
    }

    /// Like ``read(_:_:)`` for point reads: one statement, or several whose answers need not come from one snapshot
    /// (each statement is atomic by itself), so no BEGIN/COMMIT around them. They run on a connection of their own,
    /// on the calling thread: a lookup on the hot path (a webhook's consent check, a transaction's duplicate check,
    /// a reply's target, a key by id) takes a few microseconds of SQLite, less than the two thread switches a hop to
    /// one of the pool's readers and back costs, and it sits on every message's way through. Two callers at once
    /// take turns on the connection; neither waits on anything that needs a Swift concurrency thread, so a blocked
    /// caller always gets its turn.
    func lookup<T: Sendable>(_ operation: String, _ body: (Database) throws -> T) async throws(StoreError) -> T {
        try await reading(operation) { try lookups.unsafeRead(body) }
    }

    func read<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        try await reading(operation) { try await pool.read(body) }
    }

    private func reading<T: Sendable>(_ operation: String, _ perform: () async throws -> T) async throws(StoreError) -> T {
        if isClosed.withLock({ $0 }) { throw StoreError(.closed, "\(operation) failed: the store is closed") }
        do {
            return try await perform()
        } catch {
            throw StoreError.wrap(error, operation)
        }
    }
}

// MARK: - Validation

enum Check {
    static func name(_ value: String, _ what: String) throws(StoreError) {
        if value.isEmpty { throw .invalid("\(what) must not be empty") }
        if value.utf8.count > 1024 { throw .invalid("\(what) is longer than 1024 bytes") }
    }

    static func envelopeId(_ value: Data) throws(StoreError) {
        if value.isEmpty || value.count > 64 {
            throw .invalid("envelope id must be 1–64 bytes, got \(value.count)")
        }
    }

    static func canonicalId(_ value: Data) throws(StoreError) {
        if value.count != 32 { throw .invalid("canonical message id must be 32 bytes, got \(value.count)") }
    }

    static func positive(_ value: Int, _ what: String) throws(StoreError) {
        if value <= 0 { throw .invalid("\(what) must be positive, got \(value)") }
    }

    static func leaseEnd(now: Int64, leaseMillis: Int64) throws(StoreError) -> Int64 {
        let (end, overflow) = now.addingReportingOverflow(leaseMillis)
        if overflow { throw .invalid("lease end \(now) + \(leaseMillis) ms does not fit in Int64 milliseconds") }
        return end
    }

    static func mapping(_ m: IdMapping) throws(StoreError) {
        try name(m.app, "app")
        try name(m.conversation, "conversation")
        try name(m.nativeId, "native id")
        try canonicalId(m.canonicalId)
    }
}

/// A new lease token: random, so a stale holder can never match a newer claim.
func newLeaseToken() -> String { UUID().uuidString.lowercased() }
