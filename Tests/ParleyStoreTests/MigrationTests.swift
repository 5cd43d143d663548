import Foundation
import Testing
@testable import ParleyStore

@Suite struct MigrationTests {
    @Test func newStoreInMissingDirectoryIsCreatedPrivateWalAndFullySynced() async throws {
        let dir = try TempDir()
        let path = dir.url.appendingPathComponent("nested/deeper/node.sqlite").path
        let store = try ParleyStore(path: path)
        defer { try? store.close() }

        #expect(try await store.appliedMigrations() == ["v1", "v2"])
        #expect(try await store.scalarTexts("PRAGMA journal_mode") == ["wal"])
        #expect(try await store.writerPragma("synchronous") == "2")  // FULL
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func normalDurabilityIsOnlyUsedWhenAskedFor() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path(), options: .init(durability: .normal))
        defer { try? store.close() }
        #expect(try await store.writerPragma("synchronous") == "1")  // NORMAL
    }

    @Test func emptyExistingFileIsMigratedFromScratch() async throws {
        let dir = try TempDir()
        let path = dir.path()
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let store = try ParleyStore(path: path)
        defer { try? store.close() }
        #expect(try await store.appliedMigrations() == ["v1", "v2"])
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 0)
    }

    @Test func reopeningAnExistingFileKeepsDataAndDoesNotMigrateAgain() async throws {
        let dir = try TempDir()
        let first = try ParleyStore(path: dir.path())
        _ = try await first.ingest(event("e1", envelopes: [envelope(1)]))
        let schemaVersion = try await first.scalarTexts("PRAGMA schema_version")
        try first.close()

        let second = try ParleyStore(path: dir.path())
        defer { try? second.close() }
        // schema_version changes with any DDL, so an unchanged value proves no migration ran again.
        #expect(try await second.scalarTexts("PRAGMA schema_version") == schemaVersion)
        #expect(try await second.appliedMigrations() == ["v1", "v2"])
        #expect(try await second.outboxDepth(tenant: "a.example", peer: "b.example") == 1)
    }

    @Test func fileAtVersion1GainsKeyIdIndexAndContactTableAndKeepsItsKeys() async throws {
        let dir = try TempDir()
        let first = try ParleyStore(path: dir.path())
        try await first.putKey(StoredKey(tenant: "a.example", kind: .userSecret, owner: "alice", keyId: "k1", material: Data([1]), createdAt: 1))
        // Roll the file back to what a v1 node wrote.
        try await first.unsafeExecute("DROP INDEX key_material_by_id")
        try await first.unsafeExecute("DROP TABLE contact")
        try await first.unsafeExecute("DELETE FROM grdb_migrations WHERE identifier = 'v2'")
        try first.close()

        let second = try ParleyStore(path: dir.path())
        defer { try? second.close() }
        #expect(try await second.appliedMigrations() == ["v1", "v2"])
        #expect(try await second.scalarTexts("SELECT name FROM sqlite_master WHERE name = 'key_material_by_id'") == ["key_material_by_id"])
        #expect(try await second.key(tenant: "a.example", kind: .userSecret, withId: "k1")?.owner == "alice")
        #expect(try await second.contactCount(tenant: "a.example") == 0)
    }

    @Test func fileFromANewerParleyIsRefused() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        try await store.unsafeExecute("INSERT INTO grdb_migrations (identifier) VALUES ('v999-future')")
        try store.close()

        let error = #expect(throws: StoreError.self) { try ParleyStore(path: dir.path()) }
        #expect(error?.code == .schemaTooNew)
    }

    @Test func fileThatIsNotADatabaseIsReportedCorrupt() throws {
        let dir = try TempDir()
        let path = dir.path()
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        #expect(FileManager.default.createFile(atPath: path, contents: garbage))
        let error = #expect(throws: StoreError.self) { try ParleyStore(path: path) }
        #expect(error?.code == .corrupt)
    }

    @Test func unwritableLocationIsReportedAsOpenFailure() throws {
        let dir = try TempDir()
        // A regular file where a directory is needed cannot be fixed by retrying.
        let blocker = dir.path("blocker")
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8)))
        let error = #expect(throws: StoreError.self) { try ParleyStore(path: blocker + "/node.sqlite") }
        #expect(error?.code == .openFailed)
    }

    @Test func closedStoreRefusesCallsWithClosedCode() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        try store.close()
        try store.close()  // twice is fine
        let error = await #expect(throws: StoreError.self) { try await store.outboxDepth(tenant: "t", peer: "p") }
        #expect(error?.code == .closed)
    }
}
