import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import Logging
import Synchronization

/// Copies the WAL back into the database file mostly on a connection and a thread of its own, so that commits do not
/// wait for it.
///
/// SQLite's own `wal_autocheckpoint` runs the whole checkpoint inside the commit that crosses the threshold. With a
/// 10,000-page log that takes 15–70 ms on a small machine, during which the writer takes no other transaction: at a
/// few thousand messages a second that happens about once a second per node, and it is what the slowest percent of
/// messages waited for. Here the writer's WAL hook (which replaces the automatic checkpoint) asks this checkpointer
/// for a passive checkpoint instead. A passive checkpoint takes no lock that a writer or a reader needs, so commits
/// go on while it copies.
///
/// The log only starts again from its beginning when every frame in it has been copied, which a background pass
/// racing the commits rarely achieves. So once the background has copied all but ``residualPages`` of the log, the
/// writer finishes the job itself, inline, as SQLite would have done: copying a few hundred pages and syncing is a
/// short pause where copying the whole log was a long one. If the background falls behind (or could not open its
/// connection), the writer checkpoints inline from ``backstopPages`` on, so the log stays bounded whatever happens
/// here.
final class BackgroundCheckpointer: Sendable {
    /// WAL pages at which a checkpoint is due.
    let thresholdPages: Int
    /// Pages not yet copied that the writer copies inline to finish a checkpoint.
    let residualPages: Int
    /// WAL pages at which the writer checkpoints inline whatever the background has done.
    let backstopPages: Int
    private let connection: DatabaseQueue?
    private let queue = DispatchQueue(label: "parley.store.checkpoint", qos: .utility)
    private let state = Mutex(State())
    private let logger: Logger

    private struct State {
        var running = false
        var requested = false
        var closed = false
        /// Pages of the current log known to be copied into the database file.
        var copied = 0
        /// The log's length at the last commit; it only shrinks when the log starts again.
        var lastLength = 0
        /// Counts the log's restarts, so a background result from before one is not taken for the new log.
        var generation = 0
        var backgroundPasses = 0
        var inlinePasses = 0
        var writes = StoreWriteStatistics()
    }

    /// Commits that wrote to the log and the frames they appended, since the store opened.
    var writes: StoreWriteStatistics { state.withLock { $0.writes } }

    /// For tests: passes run in the background and on the writer, and how often the log started again.
    var statistics: (background: Int, inline: Int, restarts: Int) {
        state.withLock { ($0.backgroundPasses, $0.inlinePasses, $0.generation) }
    }

    /// A checkpointer for the store at `path`; `background: false` leaves every checkpoint to the writer, as
    /// `wal_autocheckpoint` would.
    init(path: String, thresholdPages: Int, background: Bool, busyTimeout: TimeInterval, logger: Logger) {
        self.thresholdPages = thresholdPages
        residualPages = max(1, min(256, thresholdPages / 8))
        backstopPages = thresholdPages * 4
        self.logger = logger
        guard background else {
            connection = nil
            return
        }
        var config = Configuration()
        config.label = "parley.store.checkpoint"
        config.busyMode = .timeout(busyTimeout)
        do {
            connection = try DatabaseQueue(path: path, configuration: config)
        } catch {
            // Not fatal: the writer checkpoints inline instead.
            logger.warning("no background checkpoint connection; the writer will checkpoint inline", metadata: ["error": "\(error)"])
            connection = nil
        }
    }

    /// Installs the WAL hook on the writer connection `db`, in place of `wal_autocheckpoint`.
    ///
    /// First copies what the log holds (the migrations' pages, or a previous run's), so that the hook's frame counts
    /// start from the log's real length rather than from zero.
    func install(on db: Database) {
        var logFrames: Int32 = 0, copied: Int32 = 0
        if sqlite3_wal_checkpoint_v2(db.sqliteConnection, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &copied) == SQLITE_OK,
           logFrames > 0 {
            state.withLock { state in
                state.lastLength = Int(logFrames)
                state.copied = Int(copied)
            }
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(db.sqliteConnection, { context, connection, schema, pages in
            guard let context else { return SQLITE_OK }
            let checkpointer = Unmanaged<BackgroundCheckpointer>.fromOpaque(context).takeUnretainedValue()
            checkpointer.committed(logLength: Int(pages), writer: connection, schema: schema)
            return SQLITE_OK
        }, context)
    }

    /// Removes the hook from `db` (before the checkpointer goes away).
    func uninstall(from db: Database) {
        sqlite3_wal_hook(db.sqliteConnection, nil, nil)
    }

    /// Called by SQLite on the writer's thread after each commit, with the log's length in pages.
    private func committed(logLength pages: Int, writer: OpaquePointer?, schema: UnsafePointer<CChar>?) {
        enum Action { case none, background, inline }
        let action = state.withLock { state -> Action in
            state.writes.commits += 1
            if pages < state.lastLength {
                state.generation += 1
                state.copied = 0
                state.writes.walFrames += pages
            } else {
                state.writes.walFrames += pages - state.lastLength
            }
            state.lastLength = pages
            guard pages >= thresholdPages else { return .none }
            if connection == nil || pages >= backstopPages || pages - state.copied <= residualPages { return .inline }
            return .background
        }
        switch action {
        case .none:
            return
        case .background:
            request()
        case .inline:
            // No commit can come in between (this is the one writer, inside its commit), so once this copies the
            // rest, the next commit starts the log again. A failed checkpoint is not the commit's error.
            var copied: Int32 = 0
            var result = sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nil, &copied)
            if result == SQLITE_BUSY, pages >= backstopPages {
                // The background pass holds the checkpoint lock. Past the backstop the log must not grow on: wait for
                // it (it never waits for the writer, and no commit can queue up a further pass meanwhile), then copy.
                queue.sync {}
                result = sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nil, &copied)
            }
            // SQLITE_BUSY below the backstop: the background pass is still at it; the next commit looks again.
            guard result == SQLITE_OK else { return }
            state.withLock { state in
                state.copied = max(state.copied, Int(copied))
                state.inlinePasses += 1
            }
        }
    }

    private func request() {
        let start = state.withLock { state -> Bool in
            if state.closed { return false }
            if state.running {
                state.requested = true
                return false
            }
            state.running = true
            return true
        }
        if start { queue.async { self.run() } }
    }

    private func run() {
        while true {
            let generation = state.withLock { $0.generation }
            var copied = 0
            do {
                copied = try connection?.writeWithoutTransaction { db in try db.checkpoint(.passive).checkpointedFrameCount } ?? 0
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // The writer is finishing a checkpoint itself.
            } catch {
                logger.warning("background checkpoint failed", metadata: ["error": "\(error)"])
            }
            let again = state.withLock { state -> Bool in
                state.backgroundPasses += 1
                if state.generation == generation { state.copied = max(state.copied, copied) }
                if state.requested, !state.closed {
                    state.requested = false
                    return true
                }
                state.running = false
                return false
            }
            guard again else { return }
            // The commits that raced the last pass: let a few more gather rather than sync the file for each.
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    /// Stops taking requests, waits for a running pass, and closes the connection.
    func close() {
        state.withLock { $0.closed = true }
        queue.sync {}
        try? connection?.close()
    }
}
