import Foundation
import Testing
@testable import ParleyStore

@Suite struct MigrationTests {
    @Test func newStoreInMissingDirectoryIsCreatedPrivateWalAndFullySynced() async throws {
        let dir = try TempDir()
        let path = dir.url.appendingPathComponent("nested/deeper/node.sqlite").path
        let store = try ParleyStore(path: path)
        defer { try? store.close() }

        #expect(try await store.appliedMigrations() == Self.allMigrations)
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

    @Test func theLogIsCheckpointedEveryTenThousandPagesUnlessAskedOtherwise() async throws {
        let dir = try TempDir()
        let standard = try ParleyStore(path: dir.url.appendingPathComponent("a.sqlite").path)
        defer { try? standard.close() }
        #expect(standard.checkpointer.thresholdPages == 10_000)
        let custom = try ParleyStore(path: dir.url.appendingPathComponent("b.sqlite").path, options: .init(walCheckpointPages: 250))
        defer { try? custom.close() }
        #expect(custom.checkpointer.thresholdPages == 250)
        #expect(custom.checkpointer.backstopPages == 1_000)
        // The checkpointer's hook replaced SQLite's own inline checkpoint on the writer.
        #expect(try await custom.writerPragma("wal_autocheckpoint") == "0")
    }

    @Test(arguments: [true, false])
    func theLogIsRewoundOnceItHoldsTheConfiguredNumberOfPages(background: Bool) async throws {
        let dir = try TempDir()
        func walBytes(afterIngestingWith pages: Int) async throws -> Int {
            let path = dir.url.appendingPathComponent("wal-\(pages).sqlite").path
            var options = ParleyStore.Options(durability: .normal, walCheckpointPages: pages)
            options.backgroundCheckpoints = background
            let store = try ParleyStore(path: path, options: options)
            defer { try? store.close() }
            // One commit per event, each rewriting a few pages: ~1,000 pages of log in all.
            for n in 1...300 { _ = try await store.ingest(event("evt-\(n)", envelopes: [envelope(n)])) }
            return try walFileSize(ofStoreAt: path)
        }
        let short = try await walBytes(afterIngestingWith: 16)
        let long = try await walBytes(afterIngestingWith: 10_000)
        // At most the backstop (4 × 16 pages) and the commit that crossed it; a page is 4,096 bytes + a 24-byte header.
        #expect(short < 80 * 4_120, "checkpointed every 16 pages, the log is rewound and stays small")
        #expect(long > 4 * short, "with a 10,000-page interval nothing was checkpointed yet (\(long) vs \(short) bytes)")
    }

    @Test func theBackgroundCopiesTheLogAndTheWriterOnlyFinishesIt() async throws {
        let dir = try TempDir()
        let path = dir.path()
        let store = try ParleyStore(path: path, options: .init(durability: .normal, walCheckpointPages: 64))
        defer { try? store.close() }
        let body = Data(repeating: 0x5A, count: 1_024)
        var largest = 0
        for n in 1...1_500 {
            _ = try await store.ingest(event("evt-\(n)", envelopes: [envelope(n, conversation: "c\(n % 7)", sealed: body)]))
            largest = max(largest, try walFileSize(ofStoreAt: path))
        }
        let statistics = store.checkpointer.statistics
        #expect(statistics.background > 0, "the copying ran on the checkpointer's own connection")
        #expect(statistics.restarts > 0, "the log started again from its beginning")
        // The backstop (4 × 64 pages) and the commit that crossed it (a few dozen pages at most); a page is
        // 4,096 bytes + a 24-byte header, after the log's own 32-byte header.
        #expect(largest <= (4 * 64 + 48) * 4_120 + 32, "the log stayed within the backstop (\(largest) bytes)")
        #expect(try await store.outboxDepth(tenant: "a.example", peer: "b.example") == 1_500)
        #expect(try await store.scalarTexts("PRAGMA integrity_check") == ["ok"])
    }

    @Test func withoutABackgroundConnectionTheWriterCheckpointsInline() async throws {
        let dir = try TempDir()
        var options = ParleyStore.Options(durability: .normal, walCheckpointPages: 32)
        options.backgroundCheckpoints = false
        let store = try ParleyStore(path: dir.path(), options: options)
        defer { try? store.close() }
        for n in 1...200 { _ = try await store.ingest(event("evt-\(n)", envelopes: [envelope(n)])) }
        let statistics = store.checkpointer.statistics
        #expect(statistics.background == 0)
        #expect(statistics.inline > 0)
        #expect(statistics.restarts > 0)
    }

    @Test func writeStatisticsCountEachCommitAndTheLogFramesItAppended() async throws {
        let dir = try TempDir()
        let path = dir.path()
        let store = try ParleyStore(path: path, options: .init(durability: .normal))
        defer { try? store.close() }
        #expect(store.writeStatistics == StoreWriteStatistics(), "the migrations' commits are not counted")
        let fileSize = try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber
        // A page per table and index at least (a file not yet checkpointed holds only its first page or two).
        #expect((fileSize?.intValue ?? 0) > 16 * 4_096, "opening copied the migrations' log into the file")
        let body = Data(repeating: 0x5A, count: 1_024)
        for n in 1...30 {
            _ = try await store.ingest(event("evt-\(n)", envelopes: [envelope(n, conversation: "c\(n % 3)", sealed: body)]))
        }
        let written = store.writeStatistics
        #expect(written.commits == 30)
        // Opening copied the migrations' log into the file, so these commits started the log again: every frame in it
        // is theirs. Counted independently, from the log file's own frame headers.
        let frames = try framesInLog(ofStoreAt: path)
        #expect(written.walFrames == frames)
        #expect(frames >= 30, "each commit appended at least its body's page")

        // A transaction that changes nothing appends no frame and is not counted.
        _ = try await store.ingest(event("evt-1", envelopes: [envelope(1, conversation: "c1", sealed: body)]))
        #expect(store.writeStatistics == written)
    }

    @Test func aCheckpointIntervalOfZeroPagesIsRefusedBeforeTheFileIsTouched() throws {
        let dir = try TempDir()
        let path = dir.url.appendingPathComponent("never.sqlite").path
        #expect { try ParleyStore(path: path, options: .init(walCheckpointPages: 0)) } throws: { error in
            (error as? StoreError)?.code == .invalidArgument
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func emptyExistingFileIsMigratedFromScratch() async throws {
        let dir = try TempDir()
        let path = dir.path()
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let store = try ParleyStore(path: path)
        defer { try? store.close() }
        #expect(try await store.appliedMigrations() == Self.allMigrations)
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
        #expect(try await second.appliedMigrations() == Self.allMigrations)
        #expect(try await second.outboxDepth(tenant: "a.example", peer: "b.example") == 1)
    }

    @Test func fileAtVersion1GainsKeyIdIndexAndContactTableAndKeepsItsKeys() async throws {
        let dir = try TempDir()
        let first = try ParleyStore(path: dir.path())
        try await first.putKey(StoredKey(tenant: "a.example", kind: .userSecret, owner: "alice", keyId: "k1", material: Data([1]), createdAt: 1))
        // Roll the file back to what a v1 node wrote.
        try await first.unsafeExecute(Self.rollBackV7)
        try await first.unsafeExecute(Self.rollBackV6)
        try await first.unsafeExecute(Self.rollBackV5)
        try await first.unsafeExecute(Self.rollBackV4)
        try await first.unsafeExecute(Self.rollBackV3)
        try await first.unsafeExecute("DROP INDEX key_material_by_id")
        try await first.unsafeExecute("DROP TABLE contact")
        try await first.unsafeExecute("DELETE FROM grdb_migrations WHERE identifier IN ('v2', 'v3')")
        try first.close()

        let second = try ParleyStore(path: dir.path())
        defer { try? second.close() }
        #expect(try await second.appliedMigrations() == Self.allMigrations)
        #expect(try await second.scalarTexts("SELECT name FROM sqlite_master WHERE name = 'key_material_by_id'") == ["key_material_by_id"])
        #expect(try await second.key(tenant: "a.example", kind: .userSecret, withId: "k1")?.owner == "alice")
        #expect(try await second.contactCount(tenant: "a.example") == 0)
    }

    static let allMigrations = ["v1", "v2", "v3", "v4", "v5", "v6", "v7"]

    /// What a v6 node's file had instead of v7's delivery times (its marker rows are added by the test that needs them).
    static let rollBackV7 = """
        DROP INDEX id_map_delivered;
        ALTER TABLE id_map DROP COLUMN delivered_at;
        DELETE FROM grdb_migrations WHERE identifier = 'v7';
        """

    /// What a v5 node's file had instead of v6's queue tables: the same tables with their state checks as `IN` lists
    /// (v6's own rebuild, run with the old checks).
    static let rollBackV6 = Schema.v6
        .replacingOccurrences(of: "_v6", with: "_v5")
        .replacingOccurrences(
            of: "CHECK (state = 'pending' OR state = 'inflight' OR state = 'sent' OR state = 'dead')",
            with: "CHECK (state IN ('pending', 'inflight', 'sent', 'dead'))")
        .replacingOccurrences(
            of: "CHECK (receipt_status = 'queued' OR receipt_status = 'sent' OR receipt_status = 'delivered'\n"
                + "               OR receipt_status = 'read' OR receipt_status = 'failed')",
            with: "CHECK (receipt_status IN ('queued', 'sent', 'delivered', 'read', 'failed'))")
        .replacingOccurrences(
            of: "CHECK (state = 'pending' OR state = 'inflight' OR state = 'delivered' OR state = 'failed')",
            with: "CHECK (state IN ('pending', 'inflight', 'delivered', 'failed'))")
        + "DELETE FROM grdb_migrations WHERE identifier = 'v6';"

    /// What a v4 node's file had instead of v5's body tables: the sealed bytes in the queue rows.
    static let rollBackV5 = """
        ALTER TABLE outbox ADD COLUMN sealed BLOB;
        UPDATE outbox SET sealed = (SELECT b.sealed FROM outbox_body AS b WHERE b.seq = outbox.seq);
        DROP TABLE outbox_body;
        ALTER TABLE inbox ADD COLUMN sealed BLOB;
        UPDATE inbox SET sealed = (SELECT b.sealed FROM inbox_body AS b WHERE b.seq = inbox.seq);
        DROP TABLE inbox_body;
        DELETE FROM grdb_migrations WHERE identifier = 'v5';
        """

    /// What a v3 node's file had instead of v4's outbox columns: a delivery_state table (its v1 definition with v3's
    /// indexes), here filled from the outbox rows as a v3 node would have kept it.
    static let rollBackV4 = """
        CREATE TABLE delivery_state (
            tenant TEXT NOT NULL, envelope_id BLOB NOT NULL, peer TEXT NOT NULL, canonical_id BLOB,
            status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed')),
            reason TEXT, updated_at INTEGER NOT NULL,
            PRIMARY KEY (tenant, envelope_id)
        ) WITHOUT ROWID;
        CREATE INDEX delivery_state_message ON delivery_state (tenant, canonical_id) WHERE canonical_id IS NOT NULL;
        CREATE INDEX delivery_state_settled ON delivery_state (tenant, updated_at) WHERE status <> 'queued';
        INSERT INTO delivery_state (tenant, envelope_id, peer, canonical_id, status, reason, updated_at)
            SELECT tenant, envelope_id, peer, canonical_id, \(Schema.deliveryStatusSQL),
                   CASE WHEN receipt_status IS NOT NULL AND receipt_status <> 'sent' THEN receipt_reason
                        WHEN state = 'dead' THEN dead_reason END,
                   coalesce(receipt_at, updated_at)
            FROM outbox;
        ALTER TABLE id_map DROP COLUMN envelope_id;
        ALTER TABLE outbox DROP COLUMN receipt_status;
        ALTER TABLE outbox DROP COLUMN receipt_reason;
        ALTER TABLE outbox DROP COLUMN receipt_at;
        DELETE FROM grdb_migrations WHERE identifier = 'v4';
        """

    @Test func fileAtVersion3FoldsItsDeliveryRecordsIntoTheOutboxRowsTheyShadowed() async throws {
        let dir = try TempDir()
        let first = try ParleyStore(path: dir.path())
        let messages = (1...5).map { IdMapping(app: "whatsapp", conversation: "c1", nativeId: "wamid.\($0)", canonicalId: canonicalId($0)) }
        _ = try await first.ingest(event("e1", envelopes: (1...5).map { envelope($0) }, mappings: messages))
        _ = try await first.markOutboxSent(tenant: "a.example", envelopeIds: [1, 2, 3].map { envelopeId($0) }, now: 2_000)
        _ = try await first.deadLetterOutbox(tenant: "a.example", [DeadLetter(envelopeId: envelopeId(4), reason: "expired")], now: 2_500)
        try await first.unsafeExecute(Self.rollBackV7)
        try await first.unsafeExecute(Self.rollBackV6)
        try await first.unsafeExecute(Self.rollBackV5)
        try await first.unsafeExecute(Self.rollBackV4)
        // What receipts had done to a v3 node's records: 2 was read, 3 failed at the peer's app, 5 is still queued.
        try await first.unsafeExecute("""
            UPDATE delivery_state SET status = 'read', updated_at = 3000 WHERE envelope_id = x'\(hex(envelopeId(2)))';
            UPDATE delivery_state SET status = 'failed', reason = 'native.blocked', updated_at = 3100 WHERE envelope_id = x'\(hex(envelopeId(3)))';
            """)
        #expect(try await first.scalarTexts("SELECT count(*) FROM delivery_state") == ["5"])
        try first.close()

        let second = try ParleyStore(path: dir.path())
        defer { try? second.close() }
        #expect(try await second.appliedMigrations() == Self.allMigrations)
        #expect(try await second.scalarTexts("SELECT name FROM sqlite_master WHERE name LIKE 'delivery_state%'").isEmpty)
        var seen: [String] = []
        for n in 1...5 {
            let record = try await second.deliveryRecord(tenant: "a.example", envelopeId: envelopeId(n))
            seen.append([record?.status.rawValue ?? "none", record?.reason ?? "-", "\(record?.updatedAt ?? 0)"].joined(separator: " "))
        }
        #expect(seen == ["sent - 2000", "read - 3000", "failed native.blocked 3100", "failed expired 2500", "queued - 1000"])
        // Receipts find their records by message again: the migration linked each message's id map row to its envelope.
        #expect(try await second.scalarTexts("SELECT count(*) FROM id_map WHERE envelope_id IS NOT NULL") == ["5"])
        #expect(try await second.recordDeliveryStatus(tenant: "a.example", peer: "b.example", canonicalId: canonicalId(1), status: .delivered, now: 4_000) == 1)
        #expect(try await second.deliveryRecords(tenant: "a.example", canonicalId: canonicalId(2)).map(\.status) == [.read])
    }

    /// Outgoing rows 1–3 (1 sent) and incoming row 7: what the queue migration tests carry across.
    static func queueThreeOutgoingOneSentAndOneIncoming(_ store: ParleyStore) async throws {
        _ = try await store.ingest(event("e1", envelopes: (1...3).map { envelope($0) }))
        _ = try await store.markOutboxSent(tenant: "a.example", envelopeIds: [envelopeId(1)], now: 2_000)
        _ = try await store.receive(tenant: "a.example", origin: "b.example", transactionId: "t1",
                                    envelopes: [InboundEnvelope(envelopeId: envelopeId(7), conversation: "c1", sealed: sealed(7))], now: 1_000)
    }

    static func expectClaimsHandOutTheUnsentBytes(_ store: ParleyStore) async throws {
        let claim = try await store.claimOutbox(tenant: "a.example", peer: "b.example", limit: 10, maxPerConversation: 10, leaseMillis: 1_000, now: 3_000)
        #expect(claim.items.map(\.sealed) == [sealed(2), sealed(3)])
        let inbox = try await store.claimInbox(tenant: "a.example", limit: 10, leaseMillis: 1_000, now: 3_000)
        #expect(inbox.items.map(\.sealed) == [sealed(7)])
    }

    @Test func fileAtVersion4MovesEachRowsSealedBytesBesideItAndHandsThemOutAsBefore() async throws {
        let dir = try TempDir()
        let first = try ParleyStore(path: dir.path())
        try await Self.queueThreeOutgoingOneSentAndOneIncoming(first)
        try await first.unsafeExecute(Self.rollBackV7)
        try await first.unsafeExecute(Self.rollBackV6)
        try await first.unsafeExecute(Self.rollBackV5)
        #expect(try await first.scalarTexts("SELECT count(*) FROM outbox WHERE sealed IS NOT NULL") == ["3"])
        try first.close()

        let second = try ParleyStore(path: dir.path())
        defer { try? second.close() }
        #expect(try await second.appliedMigrations() == Self.allMigrations)
        #expect(try await second.scalarTexts("SELECT name FROM pragma_table_info('outbox') WHERE name = 'sealed'").isEmpty)
        #expect(try await second.scalarTexts("SELECT name FROM pragma_table_info('inbox') WHERE name = 'sealed'").isEmpty)
        #expect(try await second.outboxEntry(tenant: "a.example", envelopeId: envelopeId(1))?.item.sealed == sealed(1))
        try await Self.expectClaimsHandOutTheUnsentBytes(second)
        // Rows queued after the migration keep their bytes beside them too.
        _ = try await second.ingest(event("e2", envelopes: [envelope(4)]))
        #expect(try await second.outboxEntry(tenant: "a.example", envelopeId: envelopeId(4))?.item.sealed == sealed(4))
    }

    @Test func fileAtVersion5RebuildsItsQueuesWithTheSameRowsBytesAndIndexes() async throws {
        let dir = try TempDir()
        let first = try ParleyStore(path: dir.path())
        try await Self.queueThreeOutgoingOneSentAndOneIncoming(first)
        try await first.unsafeExecute(Self.rollBackV7)
        try await first.unsafeExecute(Self.rollBackV6)
        let oldOutbox = try await first.scalarTexts("SELECT sql FROM sqlite_master WHERE name = 'outbox'").first ?? ""
        #expect(oldOutbox.contains("(state IN (") && oldOutbox.contains("(receipt_status IN ("))
        let seqs = try await first.scalarTexts("SELECT seq FROM outbox ORDER BY seq")
        let indexes = try await first.scalarTexts("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('outbox', 'inbox') ORDER BY 1")
        try first.close()

        let second = try ParleyStore(path: dir.path())
        defer { try? second.close() }
        #expect(try await second.appliedMigrations() == Self.allMigrations)
        #expect(try await second.scalarTexts("SELECT sql FROM sqlite_master WHERE name IN ('outbox', 'inbox') AND sql LIKE '%IN (%'").isEmpty)
        #expect(try await second.scalarTexts("SELECT seq FROM outbox ORDER BY seq") == seqs)
        #expect(try await second.scalarTexts("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('outbox', 'inbox') ORDER BY 1") == indexes)
        #expect(try await second.scalarTexts("PRAGMA integrity_check") == ["ok"])
        #expect(try await second.outboxEntry(tenant: "a.example", envelopeId: envelopeId(1))?.item.sealed == sealed(1))
        try await Self.expectClaimsHandOutTheUnsentBytes(second)
        // The checks still hold.
        await #expect(throws: StoreError.self) { try await second.unsafeExecute("UPDATE outbox SET state = 'lost'") }
        await #expect(throws: StoreError.self) { try await second.unsafeExecute("UPDATE outbox SET receipt_status = 'seen'") }
        await #expect(throws: StoreError.self) { try await second.unsafeExecute("UPDATE inbox SET state = 'lost'") }
    }

    @Test func fileAtVersion6TurnsItsDeliveryMarkerRowsIntoDeliveryTimesOfTheRowsTheyMarked() async throws {
        let dir = try TempDir()
        let first = try ParleyStore(path: dir.path())
        let messages = (1...3).map { IdMapping(app: "messenger", conversation: "psid-1", nativeId: "m_\($0)", canonicalId: canonicalId($0)) }
        let own = IdMapping(app: "messenger", conversation: "psid-1", nativeId: "m_own", canonicalId: canonicalId(9))
        _ = try await first.recordIdMappings(tenant: "a.example", messages + [own], now: 1_000)
        try await first.unsafeExecute(Self.rollBackV7)
        // A v6 node marked each delivery with a second row: "in@" + the 15-digit delivery time + "|" + the native id.
        var markers = (1...3).map { n in
            IdMapping(app: "messenger", conversation: "psid-1", nativeId: "in@\(String(repeating: "0", count: 11))\(n)000|m_\(n)",
                      canonicalId: canonicalId(n))
        }
        markers.append(IdMapping(app: "messenger", conversation: "psid-1", nativeId: "in@looks-like-a-marker", canonicalId: canonicalId(8)))
        for marker in markers {
            try await first.unsafeExecute("""
                INSERT INTO id_map (tenant, app, conversation, native_id, canonical_id, created_at)
                VALUES ('a.example', 'messenger', 'psid-1', '\(marker.nativeId)', x'\(hex(marker.canonicalId))', 1000)
                """)
        }
        try first.close()

        let second = try ParleyStore(path: dir.path())
        defer { try? second.close() }
        #expect(try await second.appliedMigrations() == Self.allMigrations)
        let read = try await second.deliveredMessages(tenant: "a.example", app: "messenger", conversation: "psid-1",
                                                      deliveredFrom: 0, through: 2_500, limit: 10)
        #expect(read.map(\.nativeId) == ["m_1", "m_2"])
        #expect(read.map(\.deliveredAt) == [1_000, 2_000])
        #expect(try await second.scalarTexts("SELECT native_id FROM id_map ORDER BY native_id")
                == ["in@looks-like-a-marker", "m_1", "m_2", "m_3", "m_own"], "marker rows are gone, other rows kept")
        #expect(try await second.nativeIds(tenant: "a.example", canonicalId: canonicalId(9)).first?.deliveredAt == nil)
    }

    @Test func queueWritesBuildNoTemporaryTablesForTheirChecks() async throws {
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path())
        defer { try? store.close() }
        // A CHECK written `state IN (…)` with three or more values builds a temporary table on every write (v6).
        for sql in [
            """
            INSERT INTO outbox (tenant, envelope_id, peer, conversation, state, created_at, expires_at, next_attempt_at, updated_at)
            VALUES ('t', x'01', 'p', 'c', 'pending', 1, 2, 1, 1)
            """,
            "UPDATE outbox SET state = 'sent', receipt_status = 'read' WHERE seq = 1",
            """
            INSERT INTO inbox (tenant, origin, envelope_id, conversation, state, received_at, next_attempt_at, updated_at)
            VALUES ('t', 'o', x'01', 'c', 'pending', 1, 1, 1)
            """,
            "UPDATE inbox SET state = 'delivered' WHERE seq = 1",
        ] {
            let opcodes = try await store.bytecode(sql)
            #expect(opcodes.contains("Insert") || opcodes.contains("IdxInsert"), "\(sql) compiled to no write")
            #expect(!opcodes.contains("OpenEphemeral"), "\(sql) builds a temporary table")
        }
    }

    /// What a v2 node's file had instead of v3's indexes.
    static let rollBackV3 = """
        DROP INDEX outbox_finished; CREATE INDEX outbox_state ON outbox (tenant, state, updated_at);
        DROP INDEX inbox_finished; CREATE INDEX inbox_state ON inbox (tenant, state, updated_at);
        DROP INDEX delivery_state_settled; CREATE INDEX delivery_state_age ON delivery_state (tenant, updated_at);
        DELETE FROM grdb_migrations WHERE identifier = 'v3';
        """

    @Test func fileAtVersion2GetsRetentionIndexesOfFinishedRowsOnlyAndRetentionStillFindsThem() async throws {
        let dir = try TempDir()
        let first = try ParleyStore(path: dir.path())
        _ = try await first.ingest(event("e1", envelopes: [envelope(1)]))
        _ = try await first.ingest(event("e2", envelopes: [envelope(2)]))
        _ = try await first.markOutboxSent(tenant: "a.example", envelopeIds: [envelope(1).envelopeId], now: 2_000)
        try await first.unsafeExecute(Self.rollBackV7)
        try await first.unsafeExecute(Self.rollBackV6)
        try await first.unsafeExecute(Self.rollBackV5)
        try await first.unsafeExecute(Self.rollBackV4)
        try await first.unsafeExecute(Self.rollBackV3)
        try first.close()

        let second = try ParleyStore(path: dir.path())
        defer { try? second.close() }
        #expect(try await second.appliedMigrations() == Self.allMigrations)
        let indexes = try await second.scalarTexts("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ('outbox_state', 'outbox_finished', 'inbox_finished', 'delivery_state_settled') ORDER BY name")
        #expect(indexes == ["inbox_finished", "outbox_finished"])  // v4 folded delivery_state into the outbox
        // Retention's queries use the new indexes (their WHERE implies the index's) and find the finished row only.
        let plan = try await second.queryPlan("DELETE FROM outbox WHERE tenant = 'a.example' AND state IN ('sent', 'dead') AND updated_at < 10000")
        #expect(plan.joined().contains("outbox_finished"))
        let counts = try await second.purge(tenant: "a.example", rowsBefore: 10_000, ciphertextBefore: 10_000)
        #expect(counts.outboxRowsDeleted == 1)
        #expect(counts.deliveryRecordsDeleted == 1)
        #expect(try await second.outboxDepth(tenant: "a.example", peer: "b.example") == 1)
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
        // Point lookups run on a connection of their own, closed with the rest.
        let lookupError = await #expect(throws: StoreError.self) { try await store.hasConsent(tenant: "t", user: "u") }
        #expect(lookupError?.code == .closed)
    }

    @Test func pointLookupsSeeCommitsFromAnotherStoreOnTheFileAtOnce() async throws {
        // `parley users consent` writes through a store of its own while the node runs.
        let dir = try TempDir()
        let node = try ParleyStore(path: dir.path())
        defer { try? node.close() }
        let command = try ParleyStore(path: dir.path())
        for round in 0..<20 {
            try await command.grantConsent(tenant: "a.example", user: "u\(round)", now: Int64(round))
            #expect(try await node.hasConsent(tenant: "a.example", user: "u\(round)"))
            #expect(try await command.revokeConsent(tenant: "a.example", user: "u\(round)", now: Int64(round) + 1))
            #expect(try await !node.hasConsent(tenant: "a.example", user: "u\(round)"))
        }
        try command.close()
    }

    @Test(.timeLimit(.minutes(1)))
    func pointLookupsBesidePoolReadsAndWritesAllFinishWithOneReader() async throws {
        // Lookups hold a Swift concurrency thread while they read; with one pool reader and far more tasks than
        // threads, every kind of access must still finish.
        let dir = try TempDir()
        let store = try ParleyStore(path: dir.path(), options: ParleyStore.Options(maximumReaders: 1))
        defer { try? store.close() }
        try await store.grantConsent(tenant: "a.example", users: (0..<50).map { "u\($0)" }, now: 1)
        let found = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<300 {
                group.addTask {
                    switch task % 3 {
                    case 0: return try await store.consentingUsers(tenant: "a.example", among: ["u\(task % 50)", "nobody"]).count
                    case 1: return try await store.consents(tenant: "a.example", grantedOnly: true).isEmpty ? 0 : 1
                    default:
                        try await store.grantConsent(tenant: "a.example", user: "u\(task % 50)", now: Int64(task))
                        return 1
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(found == 300)
    }
}

private func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

/// The size in bytes of the write-ahead log of the open store at `path`.
private func walFileSize(ofStoreAt path: String) throws -> Int {
    let size = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? NSNumber
    return size?.intValue ?? 0
}

/// The frames of the current log in a store's `-wal` file: those after the 32-byte header whose salts match the
/// header's (frames left from before the log last started again carry older salts).
private func framesInLog(ofStoreAt path: String) throws -> Int {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "-wal")))
    func word(_ offset: Int) -> UInt32 { bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) } }
    guard bytes.count >= 32 else { return 0 }
    let pageSize = Int(word(8))
    let salts = (word(16), word(20))
    var frames = 0
    var offset = 32
    while offset + 24 + pageSize <= bytes.count, (word(offset + 8), word(offset + 12)) == salts {
        frames += 1
        offset += 24 + pageSize
    }
    return frames
}
