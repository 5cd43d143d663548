/// A simulated app user (a person using WhatsApp / Messenger / Instagram).
public struct SimUser: Sendable, Codable, Equatable {
    /// Opaque id: the WhatsApp `wa_id`, Messenger PSID or Instagram IGSID the business sees.
    public var id: String
    /// Display name (WhatsApp `contacts[].profile.name`).
    public var name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// A reaction placed on a message.
public struct SimReaction: Sendable, Codable, Equatable {
    /// `business` or the user id.
    public var actor: String
    public var emoji: String

    public init(actor: String, emoji: String) {
        self.actor = actor
        self.emoji = emoji
    }
}

/// A message between a user and a business account, as the simulator stores it.
public struct SimMessage: Sendable, Codable, Equatable {
    /// The native id (wamid / mid).
    public var nativeId: String
    /// The business account id (phone_number_id / Page id / IG account id).
    public var account: String
    /// The user on the other side.
    public var user: String
    /// `toUser` (the business sent it) or `toBusiness` (the user sent it).
    public var direction: String
    /// `text`, `image`, `video`, `audio`, `document`/`file`.
    public var kind: String
    public var text: String?
    /// Native id this message replies to.
    public var replyTo: String?
    public var mediaURL: String?
    public var caption: String?
    public var groupId: String?
    /// For business messages: `sent`, `delivered`, `read`. For the user's own messages: what the bridge
    /// reported through the Parley extension (`sent` until then, `delivered`, `read`, `failed`).
    public var status: String
    public var errorCode: Int?
    public var errorMessage: String?
    /// Number of edits (the text is the latest version).
    public var edits: Int
    public var deleted: Bool
    public var reactions: [SimReaction]
    /// Unix milliseconds.
    public var timestampMs: Int64
}

/// What a user sees: messages the business sent them, and their own sent messages with their statuses.
public struct SimMailbox: Sendable, Codable, Equatable {
    public var inbox: [SimMessage]
    public var sent: [SimMessage]
}

/// One webhook POST (a batch of updates) and its delivery state.
public struct SimWebhookDelivery: Sendable, Codable, Equatable {
    public var id: Int64
    public var account: String
    /// The exact raw body that was (or will be) signed and POSTed.
    public var body: String
    public var itemCount: Int
    public var attempts: Int
    /// `pending` or `delivered`.
    public var state: String
    public var lastStatus: Int?
    public var lastError: String?
    public var createdMs: Int64
    public var deliveredMs: Int64?
}

/// A fault to inject into the simulator's own HTTP server (the native send API; `/sim/` is never affected).
public struct SimFault: Sendable, Codable, Equatable {
    /// `error500`, `rateLimit`, `slow`, `drop`, `down` (the native API), or `reorderWebhooks` (outgoing webhooks).
    public var mode: String
    /// How many requests it applies to; nil = until cleared.
    public var count: Int?
    /// `rateLimit`: the Retry-After seconds.
    public var retryAfterSeconds: Int?
    /// `slow`: delay per request; `down`: how long the listener stays closed.
    public var delayMs: Int?

    public init(mode: String, count: Int? = nil, retryAfterSeconds: Int? = nil, delayMs: Int? = nil) {
        self.mode = mode
        self.count = count
        self.retryAfterSeconds = retryAfterSeconds
        self.delayMs = delayMs
    }
}

/// Result of a user action through the scripting API.
public struct SimActionResult: Sendable, Codable, Equatable {
    /// Native id of what the user sent (message, reaction on WhatsApp), if any.
    public var nativeId: String?
    /// How many webhook updates were queued (0 when the real app sends nothing, e.g. an Instagram edit).
    public var queuedUpdates: Int
}
