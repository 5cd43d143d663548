/// What an adapter produces from a native payload and consumes to build a native request.
///
/// A `BridgeEvent` speaks in the *native* ids of one app (message ids, user ids, thread ids); the node
/// maps them to canonical MIMI ids and back. Its JSON form (``BridgeEvent/jsonDebugForm``, the Codable
/// encoding) is also what crosses the adapter ABI and what `parley translate` prints, one object a line.
public struct BridgeEvent: Sendable, Hashable, Codable {
    /// The kinds of event an app can express.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case message, edit, delete, reaction, receipt, typing, echo, unsupported
    }

    /// Delivery states carried by `receipt` events.
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        case sent, delivered, read, played, failed
    }

    /// A reason an app gave (or the bridge gives) for a failed delivery or an unsupported event.
    public struct Failure: Sendable, Hashable, Codable {
        /// A stable machine-readable code, e.g. `"131051"` from WhatsApp or `"policy.no_consent"` from a node.
        public var code: String
        /// Text a person can act on.
        public var message: String

        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    public var kind: Kind
    /// The app's own id for this event (a wamid, an `m_…` mid, a status id); empty when the app gives none.
    public var nativeId: String
    /// The native thread: the app user's id in a 1:1 chat, the group id in a group.
    public var conversation: String
    /// The native id of whoever caused the event.
    public var sender: String
    /// The native account that received it: WhatsApp `phone_number_id`, a Page id, an Instagram account id.
    /// Outbound, the account the request is sent as.
    public var recipient: String?
    /// Unix milliseconds.
    public var timestamp: Int64
    public var text: String?
    /// The native id a reply, reaction, edit, delete or receipt refers to.
    public var target: String?
    /// The reaction; `nil` or empty on a `reaction` event means the reaction was removed.
    public var emoji: String?
    /// For `receipt` events.
    public var status: Status?
    /// Receipts that cover everything up to a time (Messenger watermarks), Unix milliseconds.
    public var watermark: Int64?
    public var attachments: [Attachment]
    public var isGroup: Bool
    public var failure: Failure?
    /// Adapter-specific details that have no common field (e.g. `"subtype": "story_reply"`).
    public var metadata: [String: String]

    public init(
        kind: Kind, nativeId: String, conversation: String, sender: String, recipient: String? = nil,
        timestamp: Int64, text: String? = nil, target: String? = nil, emoji: String? = nil,
        status: Status? = nil, watermark: Int64? = nil, attachments: [Attachment] = [],
        isGroup: Bool = false, failure: Failure? = nil, metadata: [String: String] = [:]
    ) {
        self.kind = kind
        self.nativeId = nativeId
        self.conversation = conversation
        self.sender = sender
        self.recipient = recipient
        self.timestamp = timestamp
        self.text = text
        self.target = target
        self.emoji = emoji
        self.status = status
        self.watermark = watermark
        self.attachments = attachments
        self.isGroup = isGroup
        self.failure = failure
        self.metadata = metadata
    }

    /// The ``metadata`` key that marks an event decoded from a native *send* body rather than a webhook.
    public static let directionKey = "direction"
    /// The ``metadata`` value of ``directionKey`` on events decoded from send bodies.
    public static let outboundDirection = "outbound"

    /// Whether this event was decoded from a native send request (what the bridge itself sends), so it must
    /// never be bridged again.
    public var isOutboundRequest: Bool { metadata[Self.directionKey] == Self.outboundDirection }

    enum CodingKeys: String, CodingKey {
        case kind, nativeId, conversation, sender, recipient, timestamp, text, target, emoji, status,
             watermark, attachments, isGroup, failure, metadata
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        nativeId = try c.decodeIfPresent(String.self, forKey: .nativeId) ?? ""
        conversation = try c.decode(String.self, forKey: .conversation)
        sender = try c.decode(String.self, forKey: .sender)
        recipient = try c.decodeIfPresent(String.self, forKey: .recipient)
        timestamp = try c.decode(Int64.self, forKey: .timestamp)
        text = try c.decodeIfPresent(String.self, forKey: .text)
        target = try c.decodeIfPresent(String.self, forKey: .target)
        emoji = try c.decodeIfPresent(String.self, forKey: .emoji)
        status = try c.decodeIfPresent(Status.self, forKey: .status)
        watermark = try c.decodeIfPresent(Int64.self, forKey: .watermark)
        attachments = try c.decodeIfPresent([Attachment].self, forKey: .attachments) ?? []
        isGroup = try c.decodeIfPresent(Bool.self, forKey: .isGroup) ?? false
        failure = try c.decodeIfPresent(Failure.self, forKey: .failure)
        metadata = try c.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(nativeId, forKey: .nativeId)
        try c.encode(conversation, forKey: .conversation)
        try c.encode(sender, forKey: .sender)
        try c.encodeIfPresent(recipient, forKey: .recipient)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encodeIfPresent(text, forKey: .text)
        try c.encodeIfPresent(target, forKey: .target)
        try c.encodeIfPresent(emoji, forKey: .emoji)
        try c.encodeIfPresent(status, forKey: .status)
        try c.encodeIfPresent(watermark, forKey: .watermark)
        if !attachments.isEmpty { try c.encode(attachments, forKey: .attachments) }
        if isGroup { try c.encode(isGroup, forKey: .isGroup) }
        try c.encodeIfPresent(failure, forKey: .failure)
        if !metadata.isEmpty { try c.encode(metadata, forKey: .metadata) }
    }
}

/// Media or a location attached to a message.
public struct Attachment: Sendable, Hashable, Codable {
    /// `image`, `video`, `audio`, `file`, `sticker`, `location`, `share`, `story_mention`, …
    public var kind: String
    /// A link the destination can fetch (CDN URL, or our own blob URL).
    public var url: String?
    /// An app-side media id (WhatsApp media ids need an authenticated fetch).
    public var mediaId: String?
    public var mimeType: String?
    public var caption: String?
    public var filename: String?
    /// Hex SHA-256 of the media bytes when the app gives it.
    public var sha256: String?
    public var latitude: Double?
    public var longitude: Double?

    public init(
        kind: String, url: String? = nil, mediaId: String? = nil, mimeType: String? = nil,
        caption: String? = nil, filename: String? = nil, sha256: String? = nil,
        latitude: Double? = nil, longitude: Double? = nil
    ) {
        self.kind = kind
        self.url = url
        self.mediaId = mediaId
        self.mimeType = mimeType
        self.caption = caption
        self.filename = filename
        self.sha256 = sha256
        self.latitude = latitude
        self.longitude = longitude
    }
}
