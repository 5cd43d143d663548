import Foundation
import GRDB

/// An error from ``ParleyStore``, with a stable ``Code`` a caller can switch on and a message a person can act on.
///
/// Every public store method throws only this type. Errors raised by SQLite (through GRDB) are wrapped with a code
/// that says what the caller can do about them: retry later (``Code/busy``), free space (``Code/diskFull``),
/// fix permissions (``Code/readOnly``), restore a backup (``Code/corrupt``), or fix its own input
/// (``Code/invalidArgument``). When a write method throws, nothing of that call was committed.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable machine-readable codes. The raw values are part of the public contract (logs, metrics, CLI output).
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The database file or its directory could not be created or opened.
        case openFailed = "store.open_failed"
        /// The file was written by a newer Parley (it has migrations this build does not know). Upgrade Parley.
        case schemaTooNew = "store.schema_too_new"
        /// A schema migration failed; the file is left at the last completed migration.
        case migrationFailed = "store.migration_failed"
        /// Another process holds a lock on the database for longer than the busy timeout. Retry later.
        case busy = "store.busy"
        /// The disk (or a quota) is full. Nothing was written; free space and retry.
        case diskFull = "store.disk_full"
        /// The file or its directory is not writable by this process.
        case readOnly = "store.read_only"
        /// The file is not a SQLite database or is damaged. Restore from a backup.
        case corrupt = "store.corrupt"
        /// The operating system reported an I/O error.
        case io = "store.io"
        /// A write conflicted with stored data (a uniqueness or check constraint).
        case constraint = "store.constraint"
        /// The caller passed a value the store refuses (empty key, wrong id length, …). Fix the input.
        case invalidArgument = "store.invalid_argument"
        /// The calling task was cancelled before the write committed; nothing was written.
        case cancelled = "store.cancelled"
        /// The store was closed with ``ParleyStore/close()``.
        case closed = "store.closed"
        /// Anything else; the message carries SQLite's own description.
        case `internal` = "store.internal"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    static func invalid(_ message: String) -> StoreError { StoreError(.invalidArgument, message) }

    /// Wraps any error thrown while performing `operation`, keeping ``StoreError``s as they are.
    static func wrap(_ error: any Error, _ operation: String) -> StoreError {
        if let error = error as? StoreError { return error }
        if error is CancellationError {
            return StoreError(.cancelled, "\(operation) was cancelled; nothing was written")
        }
        guard let dbError = error as? DatabaseError else {
            return StoreError(.internal, "\(operation) failed: \(error)")
        }
        let detail = dbError.message ?? "\(dbError.resultCode)"
        switch dbError.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StoreError(.busy, "\(operation) failed: the database is locked by another connection or process (\(detail)); retry later")
        case .SQLITE_FULL:
            return StoreError(.diskFull, "\(operation) failed: the disk is full (\(detail)); nothing was written, free space and retry")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH:
            return StoreError(.readOnly, "\(operation) failed: the database is not writable (\(detail)); check the permissions of the file and its directory")
        case .SQLITE_CANTOPEN:
            return StoreError(.openFailed, "\(operation) failed: cannot open the database file (\(detail)); check that the path exists and is accessible")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_FORMAT:
            return StoreError(.corrupt, "\(operation) failed: the database file is damaged or not a Parley store (\(detail)); restore it from a backup")
        case .SQLITE_IOERR:
            return StoreError(.io, "\(operation) failed: disk I/O error (\(detail)); check the disk and retry")
        case .SQLITE_CONSTRAINT:
            return StoreError(.constraint, "\(operation) failed: the write conflicts with stored data (\(detail))")
        case .SQLITE_MISUSE where detail.contains("closed"):
            return StoreError(.closed, "\(operation) failed: the store is closed")
        default:
            return StoreError(.internal, "\(operation) failed: \(detail)")
        }
    }
}
