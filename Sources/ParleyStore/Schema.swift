import GRDB

/// Versioned schema. Migrations are append-only: never edit a registered migration, add `v2`, `v3`, … instead.
/// Plain SQL (no SQLite-only types beyond INTEGER/TEXT/BLOB) so the same tables can move to PostgreSQL.
enum Schema {
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: v1)
        }
        migrator.registerMigration("v2") { db in
            try db.execute(sql: v2)
        }
        migrator.registerMigration("v3") { db in
            try db.execute(sql: v3)
        }
        migrator.registerMigration("v4") { db in
            try db.execute(sql: v4)
        }
        migrator.registerMigration("v5") { db in
            try db.execute(sql: v5)
        }
        migrator.registerMigration("v6") { db in
            try db.execute(sql: v6)
        }
        migrator.registerMigration("v7") { db in
            try db.execute(sql: v7)
        }
        return migrator
    }()

    static let v1 = """
        -- Native webhook events already ingested: (tenant, app, key) → skip a retried webhook.
        CREATE TABLE native_event (
            tenant      TEXT    NOT NULL,
            app         TEXT    NOT NULL,
            event_key   TEXT    NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (tenant, app, event_key)
        ) WITHOUT ROWID;
        CREATE INDEX native_event_age ON native_event (tenant, received_at);

        -- Envelopes waiting for / sent to a peer. seq is the insertion order used for per-conversation ordering.
        CREATE TABLE outbox (
            seq             INTEGER PRIMARY KEY,
            tenant          TEXT    NOT NULL,
            envelope_id     BLOB    NOT NULL,
            peer            TEXT    NOT NULL,
            conversation    TEXT    NOT NULL,
            canonical_id    BLOB,
            sealed          BLOB,
            state           TEXT    NOT NULL CHECK (state IN ('pending', 'inflight', 'sent', 'dead')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            created_at      INTEGER NOT NULL,
            expires_at      INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            lease_until     INTEGER,
            lease_token     TEXT,
            lease_lapsed    INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT,
            dead_reason     TEXT,
            updated_at      INTEGER NOT NULL,
            UNIQUE (tenant, envelope_id)
        );
        -- The claim and expiry queries walk only live rows, per conversation in seq order; the index covers their
        -- columns so the walk never touches the table.
        CREATE INDEX outbox_live ON outbox (tenant, peer, conversation, seq, state, next_attempt_at, lease_until, expires_at)
            WHERE state IN ('pending', 'inflight');
        -- Retention and stats.
        CREATE INDEX outbox_state ON outbox (tenant, state, updated_at);

        -- Envelopes received from peers, deduplicated per (tenant, origin, envelope id).
        CREATE TABLE inbox (
            seq             INTEGER PRIMARY KEY,
            tenant          TEXT    NOT NULL,
            origin          TEXT    NOT NULL,
            envelope_id     BLOB    NOT NULL,
            conversation    TEXT    NOT NULL,
            sealed          BLOB,
            state           TEXT    NOT NULL CHECK (state IN ('pending', 'inflight', 'delivered', 'failed')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            received_at     INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            lease_until     INTEGER,
            lease_token     TEXT,
            lease_lapsed    INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT,
            fail_reason     TEXT,
            native_id       TEXT,
            updated_at      INTEGER NOT NULL,
            UNIQUE (tenant, origin, envelope_id)
        );
        CREATE INDEX inbox_live ON inbox (tenant, origin, conversation, seq, state, next_attempt_at, lease_until)
            WHERE state IN ('pending', 'inflight');
        CREATE INDEX inbox_state ON inbox (tenant, state, updated_at);

        -- Federation transactions received, per origin (idempotent PUT /v1/send/{txnId}).
        CREATE TABLE received_txn (
            tenant         TEXT    NOT NULL,
            origin         TEXT    NOT NULL,
            txn_id         TEXT    NOT NULL,
            received_at    INTEGER NOT NULL,
            envelope_count INTEGER NOT NULL,
            PRIMARY KEY (tenant, origin, txn_id)
        ) WITHOUT ROWID;
        CREATE INDEX received_txn_age ON received_txn (tenant, received_at);

        -- Native id ⇄ canonical (MIMI) message id.
        CREATE TABLE id_map (
            tenant       TEXT    NOT NULL,
            app          TEXT    NOT NULL,
            conversation TEXT    NOT NULL,
            native_id    TEXT    NOT NULL,
            canonical_id BLOB    NOT NULL CHECK (length(canonical_id) = 32),
            created_at   INTEGER NOT NULL,
            PRIMARY KEY (tenant, app, conversation, native_id)
        ) WITHOUT ROWID;
        CREATE INDEX id_map_canonical ON id_map (tenant, canonical_id);

        -- Origin-side delivery state per outbound envelope.
        CREATE TABLE delivery_state (
            tenant       TEXT    NOT NULL,
            envelope_id  BLOB    NOT NULL,
            peer         TEXT    NOT NULL,
            canonical_id BLOB,
            status       TEXT    NOT NULL CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed')),
            reason       TEXT,
            updated_at   INTEGER NOT NULL,
            PRIMARY KEY (tenant, envelope_id)
        ) WITHOUT ROWID;
        CREATE INDEX delivery_state_message ON delivery_state (tenant, canonical_id) WHERE canonical_id IS NOT NULL;
        CREATE INDEX delivery_state_age ON delivery_state (tenant, updated_at);

        -- Node keys, user bundles and secret keys. owner is '' for node-level keys.
        CREATE TABLE key_material (
            tenant     TEXT    NOT NULL,
            kind       TEXT    NOT NULL,
            owner      TEXT    NOT NULL,
            key_id     TEXT    NOT NULL,
            material   BLOB    NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (tenant, kind, owner, key_id)
        ) WITHOUT ROWID;

        -- Peers' user key bundles, fetched over federation and cached.
        CREATE TABLE peer_bundle (
            tenant     TEXT    NOT NULL,
            peer       TEXT    NOT NULL,
            user       TEXT    NOT NULL,
            bundle     BLOB    NOT NULL,
            fetched_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            PRIMARY KEY (tenant, peer, user)
        ) WITHOUT ROWID;

        -- Per-user consent to cross-app messaging; no row means not granted.
        CREATE TABLE consent (
            tenant     TEXT    NOT NULL,
            user       TEXT    NOT NULL,
            granted    INTEGER NOT NULL CHECK (granted IN (0, 1)),
            granted_at INTEGER,
            revoked_at INTEGER,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (tenant, user)
        ) WITHOUT ROWID;
        """

    /// Millions of users: keys are looked up one at a time by key id (the id an envelope names) instead of being
    /// loaded whole, and contacts (native account ↔ remote user) live here in bulk instead of only in the config.
    static let v2 = """
        CREATE INDEX key_material_by_id ON key_material (tenant, kind, key_id);

        CREATE TABLE contact (
            tenant     TEXT    NOT NULL,
            account    TEXT    NOT NULL,
            remote     TEXT    NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (tenant, account)
        ) WITHOUT ROWID;
        -- One account per remote user and tenant, so replies find their way back.
        CREATE UNIQUE INDEX contact_by_remote ON contact (tenant, remote);
        """

    /// Fewer index writes per message: retention only ever looks for finished rows (and settled delivery records),
    /// so the indexes it uses hold only those. A row now enters them once, when it finishes, instead of being
    /// re-indexed on every state change (ingest, claim, sent): two to four B-tree writes fewer per message and side.
    static let v3 = """
        DROP INDEX outbox_state;
        CREATE INDEX outbox_finished ON outbox (tenant, updated_at) WHERE state IN ('sent', 'dead');
        DROP INDEX inbox_state;
        CREATE INDEX inbox_finished ON inbox (tenant, updated_at) WHERE state IN ('delivered', 'failed');
        DROP INDEX delivery_state_age;
        CREATE INDEX delivery_state_settled ON delivery_state (tenant, updated_at) WHERE status <> 'queued';
        """

    /// One row per outbound message instead of two: the origin-side delivery state lives in the outbox row it
    /// shadowed. `queued`, `sent` and `failed` (dead-lettered) follow from the row's own state, so ingest writes one
    /// row fewer and a "sent" mark one update fewer; what only a receipt tells (`delivered`, `read`, a peer's
    /// `failed`) is kept in `receipt_*`. Records whose outbox row retention had already deleted go with the table.
    ///
    /// Receipts name messages, not envelopes: a message's id map row, written with its envelope, now names that
    /// envelope (`id_map.envelope_id`), so a record is found by message through `id_map_canonical`, which the id map
    /// needs anyway. An index of the outbox by canonical id would cost a random page write per message (canonical ids
    /// are hashes): a fifth of what the sending node wrote to disk per message.
    static let v4 = """
        ALTER TABLE outbox ADD COLUMN receipt_status TEXT
            CHECK (receipt_status IN ('queued', 'sent', 'delivered', 'read', 'failed'));
        ALTER TABLE outbox ADD COLUMN receipt_reason TEXT;
        ALTER TABLE outbox ADD COLUMN receipt_at INTEGER;
        UPDATE outbox SET receipt_status = d.status, receipt_reason = d.reason, receipt_at = d.updated_at
        FROM delivery_state AS d
        WHERE d.tenant = outbox.tenant AND d.envelope_id = outbox.envelope_id
          AND d.status <> (CASE outbox.state WHEN 'sent' THEN 'sent' WHEN 'dead' THEN 'failed' ELSE 'queued' END);
        ALTER TABLE id_map ADD COLUMN envelope_id BLOB;
        UPDATE id_map SET envelope_id = (
            SELECT d.envelope_id FROM delivery_state AS d
            WHERE d.tenant = id_map.tenant AND d.canonical_id = id_map.canonical_id ORDER BY d.updated_at LIMIT 1)
        WHERE EXISTS (SELECT 1 FROM delivery_state AS d WHERE d.tenant = id_map.tenant AND d.canonical_id = id_map.canonical_id);
        DROP TABLE delivery_state;
        """

    /// Small queue rows: the sealed bytes move out of `outbox` and `inbox` into `outbox_body` and `inbox_body`, keyed by
    /// the row's `seq`. A queue row is written three times on its way (queued, claimed, finished) and its bytes never
    /// change: with them inside, each of those writes rewrote ~1.2 KiB per 1 KiB message, three rows to a 4 KiB page, and
    /// every such page went into the write-ahead log again. A row is now ~150 B; the bytes are written once, appended in
    /// `seq` order, and read by the claim that hands the row out.
    static let v5 = """
        CREATE TABLE outbox_body (
            seq    INTEGER PRIMARY KEY,
            sealed BLOB    NOT NULL
        );
        INSERT INTO outbox_body (seq, sealed) SELECT seq, sealed FROM outbox WHERE sealed IS NOT NULL;
        ALTER TABLE outbox DROP COLUMN sealed;
        CREATE TABLE inbox_body (
            seq    INTEGER PRIMARY KEY,
            sealed BLOB    NOT NULL
        );
        INSERT INTO inbox_body (seq, sealed) SELECT seq, sealed FROM inbox WHERE sealed IS NOT NULL;
        ALTER TABLE inbox DROP COLUMN sealed;
        """

    /// The queue tables again, with their state checks spelled as comparisons. SQLite evaluates `x IN (a, b, c)` with
    /// more than two constants by building a temporary table, once per statement execution; in a CHECK that meant
    /// one or two temporary tables for every queue row inserted and every state change (claim, sent, delivered). A
    /// CHECK cannot be altered in place, so each table is copied into its new form, with the same rows, `seq`s and
    /// indexes (the `_body` tables are keyed by `seq` and stay as they are).
    static let v6 = """
        CREATE TABLE outbox_v6 (
            seq             INTEGER PRIMARY KEY,
            tenant          TEXT    NOT NULL,
            envelope_id     BLOB    NOT NULL,
            peer            TEXT    NOT NULL,
            conversation    TEXT    NOT NULL,
            canonical_id    BLOB,
            state           TEXT    NOT NULL
                CHECK (state = 'pending' OR state = 'inflight' OR state = 'sent' OR state = 'dead'),
            attempts        INTEGER NOT NULL DEFAULT 0,
            created_at      INTEGER NOT NULL,
            expires_at      INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            lease_until     INTEGER,
            lease_token     TEXT,
            lease_lapsed    INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT,
            dead_reason     TEXT,
            updated_at      INTEGER NOT NULL,
            receipt_status  TEXT
                CHECK (receipt_status = 'queued' OR receipt_status = 'sent' OR receipt_status = 'delivered'
                       OR receipt_status = 'read' OR receipt_status = 'failed'),
            receipt_reason  TEXT,
            receipt_at      INTEGER,
            UNIQUE (tenant, envelope_id)
        );
        INSERT INTO outbox_v6 (seq, tenant, envelope_id, peer, conversation, canonical_id, state, attempts, created_at,
                               expires_at, next_attempt_at, lease_until, lease_token, lease_lapsed, last_error,
                               dead_reason, updated_at, receipt_status, receipt_reason, receipt_at)
            SELECT seq, tenant, envelope_id, peer, conversation, canonical_id, state, attempts, created_at,
                   expires_at, next_attempt_at, lease_until, lease_token, lease_lapsed, last_error,
                   dead_reason, updated_at, receipt_status, receipt_reason, receipt_at
            FROM outbox;
        DROP TABLE outbox;
        ALTER TABLE outbox_v6 RENAME TO outbox;
        CREATE INDEX outbox_live ON outbox (tenant, peer, conversation, seq, state, next_attempt_at, lease_until, expires_at)
            WHERE state IN ('pending', 'inflight');
        CREATE INDEX outbox_finished ON outbox (tenant, updated_at) WHERE state IN ('sent', 'dead');

        CREATE TABLE inbox_v6 (
            seq             INTEGER PRIMARY KEY,
            tenant          TEXT    NOT NULL,
            origin          TEXT    NOT NULL,
            envelope_id     BLOB    NOT NULL,
            conversation    TEXT    NOT NULL,
            state           TEXT    NOT NULL
                CHECK (state = 'pending' OR state = 'inflight' OR state = 'delivered' OR state = 'failed'),
            attempts        INTEGER NOT NULL DEFAULT 0,
            received_at     INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            lease_until     INTEGER,
            lease_token     TEXT,
            lease_lapsed    INTEGER NOT NULL DEFAULT 0,
            last_error      TEXT,
            fail_reason     TEXT,
            native_id       TEXT,
            updated_at      INTEGER NOT NULL,
            UNIQUE (tenant, origin, envelope_id)
        );
        INSERT INTO inbox_v6 (seq, tenant, origin, envelope_id, conversation, state, attempts, received_at, next_attempt_at,
                              lease_until, lease_token, lease_lapsed, last_error, fail_reason, native_id, updated_at)
            SELECT seq, tenant, origin, envelope_id, conversation, state, attempts, received_at, next_attempt_at,
                   lease_until, lease_token, lease_lapsed, last_error, fail_reason, native_id, updated_at
            FROM inbox;
        DROP TABLE inbox;
        ALTER TABLE inbox_v6 RENAME TO inbox;
        CREATE INDEX inbox_live ON inbox (tenant, origin, conversation, seq, state, next_attempt_at, lease_until)
            WHERE state IN ('pending', 'inflight');
        CREATE INDEX inbox_finished ON inbox (tenant, updated_at) WHERE state IN ('delivered', 'failed');
        """

    /// The shape of v6's delivery marker keys: `in@`, the 15-digit delivery time, `|`, the native id.
    private static let v6DeliveryMarker = "in@" + String(repeating: "[0-9]", count: 15) + "|*"

    /// When a bridged message reached this node's app is a column of its id map row, instead of a second row keyed
    /// `in@<15-digit time>|<native id>` that watermark receipts ("read up to time T") looked up by key range. The marker
    /// row cost every delivery a second insert into the id map and into its random-keyed canonical-id index; the
    /// column rides on the row being inserted anyway, and its partial index grows in time order per conversation.
    static let v7 = """
        ALTER TABLE id_map ADD COLUMN delivered_at INTEGER;
        UPDATE id_map SET delivered_at = marker.at
        FROM (SELECT tenant, app, conversation, substr(native_id, 20) AS native_id,
                     CAST(substr(native_id, 4, 15) AS INTEGER) AS at
              FROM id_map WHERE native_id GLOB '\(v6DeliveryMarker)') AS marker
        WHERE id_map.tenant = marker.tenant AND id_map.app = marker.app AND id_map.conversation = marker.conversation
          AND id_map.native_id = marker.native_id;
        DELETE FROM id_map WHERE native_id GLOB '\(v6DeliveryMarker)';
        CREATE INDEX id_map_delivered ON id_map (tenant, app, conversation, delivered_at) WHERE delivered_at IS NOT NULL;
        """

    /// A queue row's sealed bytes (`outbox` or `inbox`), as a column expression for the row's own queries.
    static func sealedColumn(_ table: String) -> String {
        "(SELECT body.sealed FROM \(table)_body AS body WHERE body.seq = \(table).seq)"
    }

    /// The delivery status of an outbox row, in SQL (see ``ParleyStore/deliveryRecord(_:)``): a receipt's
    /// `delivered`, `read` or `failed` outranks the row's state; otherwise a dead row is `failed`, a sent one (or one a
    /// caller recorded as sent) `sent`, a live one `queued`.
    static let deliveryStatusSQL = """
        CASE WHEN receipt_status = 'delivered' OR receipt_status = 'read' OR receipt_status = 'failed' THEN receipt_status
             WHEN state = 'dead' THEN 'failed'
             WHEN state = 'sent' OR receipt_status = 'sent' THEN 'sent'
             ELSE 'queued' END
        """
}
