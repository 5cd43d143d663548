import GRDB
import Synchronization

/// How the outbox and inbox claims find their rows without reading the whole queue.
///
/// Order is kept per conversation (the *partition*): a row may be handed out only when every earlier live row of
/// its conversation is claimable too, and at most `perConversation` rows of one conversation go out together. The
/// walk visits one conversation at a time through the covering `*_live` index (a seek to the next conversation,
/// then at most `perConversation` of its rows), so a claim reads O(conversations visited × perConversation) index
/// entries, however many rows are queued behind them. A single query over every live row of the scope cost
/// ~120 ms per claim with 100,000 rows queued to a peer, inside the one write transaction every ingest waits for.
///
/// A short queue is cheaper to read whole: a claim first reads up to `scanRows` live rows of the scope in index
/// order in one statement, and only when there are more does it walk. Both paths choose the same rows.
///
/// Of the due rows it finds, a claim takes the oldest `limit` (oldest first across conversations, as one query over
/// every row would). A walk visits at most `visitLimit` conversations, and the next walk of the same scope starts
/// after the last one visited, wrapping around: with more conversations waiting than that, they take turns, so a
/// claim's cost stays bounded and none is left behind.
struct ClaimWalk: Sendable {
    /// The queue table.
    let table: String
    /// Columns a claim's scope fixes (`tenant`, and `peer` for the outbox), bound in this order.
    let scope: [String]
    /// Columns naming a conversation, in the `*_live` index's order.
    let partition: [String]
    /// Whether rows carry `expires_at`; an expired row is never handed out (it is dead-lettered instead).
    let expires: Bool

    /// The run query with no bound, a lower bound, an upper bound, and both (index: lower + 2 × upper).
    private let runQueries: [String]
    /// The scope's live rows in index order (conversation, then seq), at most as many as bound last.
    private let scanQuery: String

    /// Live rows read in one pass before walking: a few hundred rows cost less read at once than that many seeks.
    static let defaultScanRows = 1_024

    init(table: String, scope: [String], partition: [String], expires: Bool) {
        self.table = table
        self.scope = scope
        self.partition = partition
        self.expires = expires
        runQueries = [(false, false), (true, false), (false, true), (true, true)].map { lower, upper in
            Self.runSQL(table: table, scope: scope, partition: partition, expires: expires, lowerBound: lower, upperBound: upper)
        }
        scanQuery = """
            SELECT seq, \(partition.joined(separator: ", ")), state, next_attempt_at, lease_until\(expires ? ", expires_at" : "")
            FROM \(table) WHERE \(Self.liveSQL(scope)) ORDER BY \(partition.joined(separator: ", ")), seq LIMIT ?
            """
    }

    static let outbox = ClaimWalk(table: "outbox", scope: ["tenant", "peer"], partition: ["conversation"], expires: true)
    static let inbox = ClaimWalk(table: "inbox", scope: ["tenant"], partition: ["origin", "conversation"], expires: false)

    /// Conversations visited per claim at most, whatever the limit.
    static let minimumVisits = 256

    /// Walks the scope from where its previous claim ended and leases what it found: the rows become `inflight`
    /// under `token` until `leaseUntil`, with one more attempt counted. Returns the claimed rows (`seq`, then
    /// `columns`) in seq order.
    func claim(
        _ db: Database, scope values: [String], progress: ClaimProgress, limit: Int, perConversation: Int,
        now: Int64, leaseUntil: Int64, token: String, returning columns: String, scanRows: Int
    ) throws -> (rows: [Row], stoppedEarly: Bool) {
        let key = progressKey(values)
        let found = try wholeScope(db, scope: values, limit: limit, perConversation: perConversation, now: now, scanRows: scanRows)
            ?? candidates(db, scope: values, after: progress.cursor(key), limit: limit,
                          perConversation: perConversation, now: now, visitLimit: max(limit, Self.minimumVisits))
        progress.setCursor(found.lastVisited, for: key)
        let stoppedEarly = progress.reportStop(key, stoppedEarly: found.stoppedEarly, foundRows: !found.seqs.isEmpty)
        var rows: [Row] = []
        try ParleyStore.forEachChunk(of: found.seqs) { seqs, marks in
            rows += try Row.fetchAll(db.cachedStatement(sql: """
                UPDATE \(table) SET state = 'inflight', lease_until = ?, lease_token = ?,
                       lease_lapsed = (state = 'inflight'), attempts = attempts + 1, updated_at = ?
                WHERE seq IN (\(marks))
                RETURNING seq, \(columns)
                """), arguments: StatementArguments([leaseUntil, token, now] as [any DatabaseValueConvertible]) + StatementArguments(seqs))
        }
        rows.sort { ($0[0] as Int64) < ($1[0] as Int64) }
        return (rows, stoppedEarly)
    }

    /// The key of a scope's entry in ``ClaimProgress``.
    func progressKey(_ values: [String]) -> String {
        ([table] + values).joined(separator: "\u{0}")
    }

    /// What one walk found.
    struct Found {
        /// The rows to claim (in seq order once ``keepOldest(_:)`` ran).
        var seqs: [Int64] = []
        /// The conversation the walk ended on: the next walk starts after it.
        var lastVisited: [String]?
        /// The walk hit `visitLimit` before it had seen every conversation.
        var stoppedEarly = false

        /// Sorts the rows and keeps the oldest `limit`: each conversation's taken rows stay a prefix of its run.
        mutating func keepOldest(_ limit: Int) {
            seqs.sort()
            if seqs.count > limit { seqs.removeLast(seqs.count - limit) }
        }
    }

    /// The claim's choice from one read of the whole scope, or `nil` when it holds `scanRows` live rows or more.
    func wholeScope(
        _ db: Database, scope values: [String], limit: Int, perConversation: Int, now: Int64, scanRows: Int
    ) throws -> Found? {
        guard scanRows > 0 else { return nil }
        let rows = try Row.fetchAll(db.cachedStatement(sql: scanQuery),
                                    arguments: StatementArguments(values) + [scanRows])
        guard rows.count < scanRows else { return nil }
        var found = Found()
        // Rows come in index order, so each conversation's rows are one contiguous run, oldest first.
        var start = rows.startIndex
        while start < rows.endIndex {
            var end = start + 1
            while end < rows.endIndex, sameConversation(rows[start], rows[end]) { end += 1 }
            takeDuePrefix(of: rows[start..<min(end, start + perConversation)], now: now, into: &found.seqs)
            start = end
        }
        found.keepOldest(limit)
        return found
    }

    /// Walks the scope's conversations from after `cursor` (see the type's documentation).
    func candidates(
        _ db: Database, scope values: [String], after cursor: [String]?, limit: Int, perConversation: Int,
        now: Int64, visitLimit: Int
    ) throws -> Found {
        var found = Found()
        var visits = 0
        // Lap one runs from after the cursor to the end, lap two from the start up to the cursor itself.
        var lower = cursor
        var upper: [String]? = nil
        var secondLap = cursor == nil
        while true {
            guard visits < visitLimit else {
                found.stoppedEarly = true
                break
            }
            var arguments = StatementArguments(values)
            arguments += StatementArguments(values)
            if let lower { arguments += StatementArguments(lower) }
            if let upper { arguments += StatementArguments(upper) }
            arguments += [perConversation]
            let query = runQueries[(lower == nil ? 0 : 1) + (upper == nil ? 0 : 2)]
            let rows = try Row.fetchAll(db.cachedStatement(sql: query), arguments: arguments)
            guard let head = rows.first else {
                if secondLap { break }
                secondLap = true
                upper = cursor
                lower = nil
                continue
            }
            visits += 1
            let conversation = partition.indices.map { head[1 + $0] as String }
            found.lastVisited = conversation
            lower = conversation
            takeDuePrefix(of: rows[...], now: now, into: &found.seqs)
        }
        found.keepOldest(limit)
        return found
    }

    /// Appends the seqs of a conversation's run up to its first row that is not due: rows behind one that must
    /// wait wait too.
    private func takeDuePrefix(of run: ArraySlice<Row>, now: Int64, into seqs: inout [Int64]) {
        for row in run {
            guard claimable(row, now: now) else { return }
            seqs.append(row[0])
        }
    }

    private func sameConversation(_ a: Row, _ b: Row) -> Bool {
        partition.indices.allSatisfy { (a[1 + $0] as DatabaseValue) == (b[1 + $0] as DatabaseValue) }
    }

    private func claimable(_ row: Row, now: Int64) -> Bool {
        let base = 1 + partition.count
        let state: String = row[base]
        let nextAttemptAt: Int64 = row[base + 1]
        let leaseUntil: Int64? = row[base + 2]
        let due = state == "pending" ? nextAttemptAt <= now : state == "inflight" && (leaseUntil.map { $0 <= now } ?? false)
        guard due else { return false }
        if expires {
            let expiresAt: Int64 = row[base + 3]
            return expiresAt > now
        }
        return true
    }

    /// The scope's live rows: `scope` columns bound in order.
    private static func liveSQL(_ scope: [String]) -> String {
        scope.map { "\($0) = ?" }.joined(separator: " AND ") + " AND state IN ('pending', 'inflight')"
    }

    /// The next conversation's first live rows after `lower` (when bound) and not after `upper` (when bound).
    private static func runSQL(
        table: String, scope: [String], partition: [String], expires: Bool, lowerBound: Bool, upperBound: Bool
    ) -> String {
        let live = liveSQL(scope)
        let key = "(" + partition.joined(separator: ", ") + ")"
        let marks = "(" + partition.map { _ in "?" }.joined(separator: ", ") + ")"
        var next = "SELECT \(partition.joined(separator: ", ")) FROM \(table) WHERE \(live)"
        if lowerBound { next += " AND \(key) > \(marks)" }
        if upperBound { next += " AND \(key) <= \(marks)" }
        next += " ORDER BY \(partition.joined(separator: ", ")) LIMIT 1"
        return """
            SELECT seq, \(partition.joined(separator: ", ")), state, next_attempt_at, lease_until\(expires ? ", expires_at" : "")
            FROM \(table) WHERE \(live) AND \(key) = (\(next))
            ORDER BY seq LIMIT ?
            """
    }
}

/// Per-scope progress of the claims: where the next walk starts and when expired rows were last looked for.
///
/// In memory only: after a restart walks start at the first conversation again and the first claim looks for
/// expired rows, which changes whose turn comes first and nothing else.
final class ClaimProgress: Sendable {
    private struct State {
        var cursors: [String: [String]] = [:]
        var expiryChecks: [String: Int64] = [:]
        var emptyEarlyStops: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// Outbox claims look for expired rows at most this often (in `now` milliseconds): the search reads every live
    /// row of the peer, too much to do on every claim when a long queue is waiting.
    static let expiryIntervalMillis: Int64 = 1_000

    func cursor(_ scope: String) -> [String]? {
        state.withLock { $0.cursors[scope] }
    }

    func setCursor(_ cursor: [String]?, for scope: String) {
        state.withLock { $0.cursors[scope] = cursor }
    }

    /// Whether to tell the caller that a walk stopped early. An empty early stop is told only when the previous
    /// claim of the scope was not one too: a caller that claims again at once on it then makes at most one extra
    /// claim, instead of spinning while hundreds of conversations are all held back (retries not yet due).
    func reportStop(_ scope: String, stoppedEarly: Bool, foundRows: Bool) -> Bool {
        state.withLock { state in
            let streak = stoppedEarly && !foundRows ? state.emptyEarlyStops[scope, default: 0] + 1 : 0
            state.emptyEarlyStops[scope] = streak
            return stoppedEarly && streak <= 1
        }
    }

    /// Whether a claim at `now` should look for expired rows; records the look when it should.
    func expiryDue(_ scope: String, now: Int64) -> Bool {
        state.withLock { state in
            // A clock that went back counts as due, so a row is never kept past its expiry by a stale record.
            if let last = state.expiryChecks[scope], now >= last, now - last < Self.expiryIntervalMillis { return false }
            state.expiryChecks[scope] = now
            return true
        }
    }
}
