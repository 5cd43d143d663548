import Foundation

// Value types of the store API. All timestamps are Unix milliseconds (`Int64`) supplied by the caller, so the
// store has no clock of its own and tests are deterministic. Sealed bytes are opaque: the store never sees content.

// MARK: - Ingress

/// One envelope to queue for a peer: sealed bytes plus what the sender needs to schedule and order it.
public struct OutboundEnvelope: Sendable, Hashable {
    /// The envelope id (opaque bytes, 1–64 bytes; unique per tenant).
    public var envelopeId: Data
    /// The destination operator's domain.
    public var peer: String
    /// The conversation key; rows with the same (tenant, peer, conversation) are handed out in insertion order.
    public var conversation: String
    /// The sealed envelope as it will go on the wire.
    public var sealed: Data
    /// The canonical (MIMI) message id inside, when the caller wants receipts for it to find this envelope.
    public var canonicalId: Data?
    public var createdAt: Int64
    /// After this time the envelope is dead-lettered with reason ``DeadLetterReason/expired`` instead of sent.
    public var expiresAt: Int64
    /// The earliest time the sender may hand it out (usually `createdAt`).
    public var nextAttemptAt: Int64

    public init(
        envelopeId: Data, peer: String, conversation: String, sealed: Data, canonicalId: Data? = nil,
        createdAt: Int64, expiresAt: Int64, nextAttemptAt: Int64? = nil
    ) {
        self.envelopeId = envelopeId
        self.peer = peer
        self.conversation = conversation
        self.sealed = sealed
        self.canonicalId = canonicalId
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.nextAttemptAt = nextAttemptAt ?? createdAt
    }
}

/// A native id ⇄ canonical id pair. The canonical id is the 32-byte MIMI message id.
public struct IdMapping: Sendable, Hashable {
    /// The adapter/app name, e.g. `"whatsapp"`.
    public var app: String
    /// The native conversation the native id lives in.
    public var conversation: String
    public var nativeId: String
    /// Exactly 32 bytes.
    public var canonicalId: Data
    /// When this node's app accepted the message (Unix ms), for a message the bridge delivered into this app; `nil`
    /// for one that came from it. Watermark receipts ("read up to time T") find messages by it
    /// (``ParleyStore/deliveredMessages(tenant:app:conversation:deliveredFrom:through:limit:)``).
    public var deliveredAt: Int64?

    public init(app: String, conversation: String, nativeId: String, canonicalId: Data, deliveredAt: Int64? = nil) {
        self.app = app
        self.conversation = conversation
        self.nativeId = nativeId
        self.canonicalId = canonicalId
        self.deliveredAt = deliveredAt
    }
}

/// What one native webhook event produced: envelopes to queue and id map rows to remember.
public struct IngressEvent: Sendable, Hashable {
    public var tenant: String
    /// The app the webhook came from; part of the dedup key.
    public var app: String
    /// The app's own identity of the delivery (e.g. a message id or status id); a retried webhook carries the same key.
    public var nativeEventKey: String
    public var receivedAt: Int64
    public var envelopes: [OutboundEnvelope]
    public var idMappings: [IdMapping]
    /// What tells a retried webhook's copy of this event from a new one.
    public var deduplication: Deduplication

    /// How ``ParleyStore/ingest(_:)-([IngressEvent])`` recognises an event it has already ingested.
    public enum Deduplication: Sendable, Hashable {
        /// A row keyed by (tenant, app, `nativeEventKey`), kept until retention removes it.
        case nativeEventKey
        /// The first of `idMappings`: a message's own native id ⇄ canonical id row, which is written anyway. An event
        /// whose native key is already mapped is a duplicate; no separate dedup row is written, and the id map is
        /// never purged, so the message is recognised for as long as the node knows it.
        case firstIdMapping
    }

    public init(
        tenant: String, app: String, nativeEventKey: String, receivedAt: Int64,
        envelopes: [OutboundEnvelope], idMappings: [IdMapping] = [], deduplication: Deduplication = .nativeEventKey
    ) {
        self.tenant = tenant
        self.app = app
        self.nativeEventKey = nativeEventKey
        self.receivedAt = receivedAt
        self.envelopes = envelopes
        self.idMappings = idMappings
        self.deduplication = deduplication
    }
}

/// The result of ingesting one event.
public struct IngressResult: Sendable, Hashable {
    public var nativeEventKey: String
    /// `true` when (tenant, app, nativeEventKey) had been seen before; then nothing was inserted.
    public var duplicate: Bool
    /// Envelope ids inserted into the outbox (an id already present for the tenant is skipped).
    public var insertedEnvelopes: [Data]
    /// Id map rows inserted (a pair already present is skipped).
    public var insertedMappings: [IdMapping]
}

// MARK: - Outbox (federation sender)

/// A row of the outbox handed out by ``ParleyStore/claimOutbox(tenant:peer:limit:maxPerConversation:leaseMillis:now:)``.
public struct OutboxItem: Sendable, Hashable {
    public var tenant: String
    public var envelopeId: Data
    public var peer: String
    public var conversation: String
    /// `nil` only for rows whose ciphertext retention already removed (never for a claimable row).
    public var sealed: Data?
    public var canonicalId: Data?
    public var createdAt: Int64
    public var expiresAt: Int64
    /// How many times this row has been handed out, including this time (1 on the first claim).
    public var attempt: Int
    /// `true` when the previous hand-out ended without any outcome being recorded (its lease expired, e.g. the
    /// process crashed): the envelope may already have reached the peer. The peer dedups by envelope id, so resending
    /// is safe for the outbox.
    public var previousClaimUnresolved: Bool
    public var lastError: String?
}

/// Rows claimed for one send, all under one lease.
public struct OutboxClaim: Sendable, Hashable {
    /// Pass this back to ``ParleyStore/scheduleOutboxRetry(tenant:leaseToken:retries:now:)``.
    public var leaseToken: String
    public var leaseUntil: Int64
    /// In send order: oldest first, and within a conversation strictly in insertion order.
    public var items: [OutboxItem]
    /// The claim stopped at its limit on conversations visited before it had looked at all of them: there may be
    /// due rows it did not reach, so claim again at once rather than wait (even when ``items`` is empty). Not set
    /// on a second empty claim in a row, so claiming again on it never spins.
    public var stoppedEarly: Bool
    /// Rows of this peer that had expired and were dead-lettered (reason `expired`) by this call, so the caller can
    /// report the failure to the sending app.
    public var expired: [OutboxItem]
    /// How many of the claim's `markingSent` rows changed to sent (already-finished rows are skipped).
    public var markedSent: Int = 0
}

/// Reason codes for dead-lettered envelopes. Known codes are constants; any peer-given code can be used.
public struct DeadLetterReason: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    /// The envelope's `expiresAt` passed before it could be sent.
    public static let expired: DeadLetterReason = "expired"
}

/// A retry to schedule for a claimed row.
public struct RetrySchedule: Sendable, Hashable {
    public var envelopeId: Data
    public var nextAttemptAt: Int64
    public var error: String

    public init(envelopeId: Data, nextAttemptAt: Int64, error: String) {
        self.envelopeId = envelopeId
        self.nextAttemptAt = nextAttemptAt
        self.error = error
    }
}

/// A row to dead-letter: expired, or permanently rejected by the peer.
public struct DeadLetter: Sendable, Hashable {
    public var envelopeId: Data
    public var reason: DeadLetterReason
    public var detail: String?

    public init(envelopeId: Data, reason: DeadLetterReason, detail: String? = nil) {
        self.envelopeId = envelopeId
        self.reason = reason
        self.detail = detail
    }
}

// MARK: - Inbox (federation receiver and egress)

/// An envelope received from a peer, after the transaction's signature was verified and policy accepted it.
public struct InboundEnvelope: Sendable, Hashable {
    public var envelopeId: Data
    public var conversation: String
    public var sealed: Data

    public init(envelopeId: Data, conversation: String, sealed: Data) {
        self.envelopeId = envelopeId
        self.conversation = conversation
        self.sealed = sealed
    }
}

/// The per-envelope answer to a received transaction.
public enum InboundAcceptance: String, Sendable, Hashable {
    /// Newly stored; it will be delivered.
    case accepted
    /// Already stored earlier (same origin, same envelope id); nothing changed. The sender treats it as success.
    case duplicate
}

/// The result of ``ParleyStore/receive(tenant:origin:transactionId:envelopes:now:)``.
public struct ReceiveResult: Sendable, Hashable {
    /// `false` when this (tenant, origin, transactionId) was recorded before: a retried PUT.
    public var transactionWasNew: Bool
    /// One entry per input envelope, in input order.
    public var outcomes: [Outcome]

    public struct Outcome: Sendable, Hashable {
        public var envelopeId: Data
        public var acceptance: InboundAcceptance
    }
}

/// Identifies an inbox row: envelope ids are unique per (tenant, origin), so one origin cannot shadow another's.
public struct InboxKey: Sendable, Hashable {
    public var origin: String
    public var envelopeId: Data

    public init(origin: String, envelopeId: Data) {
        self.origin = origin
        self.envelopeId = envelopeId
    }
}

/// A row of the inbox handed out by ``ParleyStore/claimInbox(tenant:limit:maxPerConversation:leaseMillis:now:)``.
///
/// Idempotency toward the app: a row marked delivered is never handed out again. A row whose lease expired
/// without an outcome (the node crashed between calling the app and ``ParleyStore/markDelivered(tenant:key:nativeId:mapping:now:)``)
/// is handed out again with ``attempt`` > 1 and ``previousClaimUnresolved`` = `true`: the app may already have the
/// message. The caller decides — resend (at-least-once), resend with an app idempotency key derived from the
/// envelope id when the app supports one, or ``ParleyStore/markInboxFailed(tenant:failures:now:)``.
public struct InboxItem: Sendable, Hashable {
    public var tenant: String
    public var key: InboxKey
    public var conversation: String
    public var sealed: Data?
    public var receivedAt: Int64
    /// How many times this row has been handed out, including this time (1 on the first claim).
    public var attempt: Int
    /// The previous hand-out ended without an outcome (its lease expired): the send to the app may have happened.
    public var previousClaimUnresolved: Bool
    public var lastError: String?
}

/// Inbox rows claimed for delivery, all under one lease.
public struct InboxClaim: Sendable, Hashable {
    public var leaseToken: String
    public var leaseUntil: Int64
    /// Oldest first; within an (origin, conversation) strictly in arrival order.
    public var items: [InboxItem]
    /// As ``OutboxClaim/stoppedEarly``: claim again at once, there may be due rows this claim did not reach.
    public var stoppedEarly: Bool
    /// For each of the claim's `markingDelivered` rows, in order, whether it changed to delivered (`false`: it was
    /// already delivered or failed).
    public var markedDelivered: [Bool] = []
}

/// A retry to schedule for a claimed inbox row.
public struct InboxRetry: Sendable, Hashable {
    public var key: InboxKey
    public var nextAttemptAt: Int64
    public var error: String

    public init(key: InboxKey, nextAttemptAt: Int64, error: String) {
        self.key = key
        self.nextAttemptAt = nextAttemptAt
        self.error = error
    }
}

/// An inbox row that cannot be delivered.
public struct InboxFailure: Sendable, Hashable {
    public var key: InboxKey
    /// A stable code, e.g. `"app.rejected"` or an app's own error code.
    public var reason: String
    public var detail: String?

    public init(key: InboxKey, reason: String, detail: String? = nil) {
        self.key = key
        self.reason = reason
        self.detail = detail
    }
}

// MARK: - Delivery state (origin side)

/// Where an outbound envelope stands, as far as the origin knows.
///
/// Progress is monotonic: `queued` < `sent` < `delivered` < `read`; `failed` can replace `queued` or `sent` only,
/// and nothing replaces `read` or `failed`. A late `delivered` after `read` is therefore ignored.
public enum DeliveryStatus: String, Sendable, Hashable, CaseIterable {
    case queued, sent, delivered, read, failed

    var rank: Int {
        switch self {
        case .queued: 0
        case .sent: 1
        case .delivered: 2
        case .read: 3
        case .failed: 4
        }
    }

    /// Whether a record in state `self` may move to `next`.
    func canAdvance(to next: DeliveryStatus) -> Bool {
        switch (self, next) {
        case (.read, _), (.failed, _): false
        case (_, .failed): self == .queued || self == .sent
        default: next.rank > rank
        }
    }
}

/// The delivery state of one outbound envelope.
public struct DeliveryRecord: Sendable, Hashable {
    public var tenant: String
    public var envelopeId: Data
    public var peer: String
    public var canonicalId: Data?
    public var status: DeliveryStatus
    /// For `failed`: the reason code (a dead-letter reason or the peer's code).
    public var reason: String?
    public var updatedAt: Int64
}

// MARK: - Keys

/// The kind of a stored key. Known kinds are constants; other components may add their own names.
public struct KeyKind: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    /// The node's own secret key material (signing/agreement); owner is `""`.
    public static let nodeSecret: KeyKind = "node.secret"
    /// The node's public descriptor keys; owner is `""`.
    public static let nodePublic: KeyKind = "node.public"
    /// A local user's public key bundle; owner is the user.
    public static let userBundle: KeyKind = "user.bundle"
    /// A local user's secret keys; owner is the user.
    public static let userSecret: KeyKind = "user.secret"
}

/// Key material as stored: opaque bytes under (tenant, kind, owner, keyId).
public struct StoredKey: Sendable, Hashable {
    public var tenant: String
    public var kind: KeyKind
    /// The user the key belongs to, or `""` for node-level keys.
    public var owner: String
    public var keyId: String
    public var material: Data
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(tenant: String, kind: KeyKind, owner: String = "", keyId: String, material: Data, createdAt: Int64, updatedAt: Int64? = nil) {
        self.tenant = tenant
        self.kind = kind
        self.owner = owner
        self.keyId = keyId
        self.material = material
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }
}

/// A peer user's key bundle fetched from its node, cached until `expiresAt`.
public struct PeerBundle: Sendable, Hashable {
    public var tenant: String
    public var peer: String
    public var user: String
    public var bundle: Data
    public var fetchedAt: Int64
    public var expiresAt: Int64

    public init(tenant: String, peer: String, user: String, bundle: Data, fetchedAt: Int64, expiresAt: Int64) {
        self.tenant = tenant
        self.peer = peer
        self.user = user
        self.bundle = bundle
        self.fetchedAt = fetchedAt
        self.expiresAt = expiresAt
    }
}

// MARK: - Consent

/// A user's consent to cross-app messaging. Absent means not granted (off by default).
public struct ConsentRecord: Sendable, Hashable {
    public var tenant: String
    public var user: String
    public var granted: Bool
    /// The latest grant, if any.
    public var grantedAt: Int64?
    /// The latest revocation, if any.
    public var revokedAt: Int64?
    public var updatedAt: Int64
}

// MARK: - Contacts

/// A contact: the native account that stands, in a local user's app, for a user of another operator. Contacts in a
/// node's config are for a handful of accounts; the store holds them in bulk (`parley contacts import`).
public struct ContactRecord: Sendable, Hashable {
    public var tenant: String
    /// The native account id (WhatsApp phone_number_id, Page id, Instagram account id).
    public var account: String
    /// The remote user's MIMI URI.
    public var remote: String

    public init(tenant: String, account: String, remote: String) {
        self.tenant = tenant
        self.account = account
        self.remote = remote
    }
}

// MARK: - Retention and stats

/// What ``ParleyStore/purge(tenant:rowsBefore:ciphertextBefore:)`` removed.
public struct PurgeCounts: Sendable, Hashable {
    /// Sent or dead outbox rows deleted.
    public var outboxRowsDeleted = 0
    /// Delivered or failed inbox rows deleted.
    public var inboxRowsDeleted = 0
    /// Sealed bytes removed from terminal rows that were kept (outbox and inbox).
    public var ciphertextsCleared = 0
    public var deliveryRecordsDeleted = 0
    public var nativeEventsDeleted = 0
    public var transactionsDeleted = 0
    public var peerBundlesDeleted = 0

    public init() {}
}

/// Row counts for one (peer, state) of a queue.
public struct QueueCount: Sendable, Hashable {
    /// The destination peer (outbox) or origin peer (inbox).
    public var peer: String
    /// `pending`, `inflight`, `sent`, `dead` (outbox) or `pending`, `inflight`, `delivered`, `failed` (inbox).
    public var state: String
    public var count: Int
    /// The oldest row's creation/arrival time, for lag metrics.
    public var oldest: Int64?
}

/// Counts for `parley status` and metrics.
public struct StoreStats: Sendable, Hashable {
    public var tenant: String
    public var outbox: [QueueCount]
    public var inbox: [QueueCount]
    public var delivery: [DeliveryStatus: Int]
    public var consentsGranted: Int
}

/// What the store's writer has written since it opened: how often it committed and how much it appended to the
/// write-ahead log. Frames per message is the store's write amplification: each frame is one page (4 KiB) written to
/// the log, synced with its commit and later copied into the database file.
public struct StoreWriteStatistics: Sendable, Hashable {
    /// Transactions that wrote to the log (a transaction that changed nothing writes no frames and is not counted).
    public var commits: Int
    /// Log frames (pages) those transactions appended.
    public var walFrames: Int

    public init(commits: Int = 0, walFrames: Int = 0) {
        self.commits = commits
        self.walFrames = walFrames
    }
}
