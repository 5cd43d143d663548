import MetaGraph
import ParleyKit

/// The adapter's C entry point, loaded by the host with `dlopen`.
@_cdecl("parley_adapter_v1") public func parleyAdapterEntry(_ hostVersion: UInt32, _ table: UnsafeMutableRawPointer?) -> Int32 { parleyExport(InstagramAdapter(), hostVersion: hostVersion, into: table) }

/// Codec for Instagram Messaging: `object: "instagram"` webhooks in, Send API bodies
/// (`POST /{ig_account_id}/messages`) out.
///
/// Ids: `conversation` is the user's IGSID (1:1 only), `recipient` the Instagram account id, message ids the long
/// base64-like mids.
///
/// Decisions worth knowing:
/// - Story replies are messages with `metadata["subtype"] = "story_reply"`, `story_url`, `story_id` (no target:
///   a story has no mid); story mentions carry a `story_mention` attachment with the story URL.
/// - `like_heart` decodes to a message with text "❤️" (`metadata["subtype"] = "like_heart"`), so it can cross to
///   any app; messages carrying only `unsupported_type`/`ephemeral` media decode to `unsupported`.
/// - `is_deleted` (`true` or `"true"`) decodes to `delete` with the mid as target.
/// - Events without an id of their own get a synthetic `nativeId` (`"<mid>:read"`, `"<mid>:deleted"`,
///   `"<mid>:<action>:<igsid>:<timestamp>"`) for deduplication.
/// - Echoes arrive in the normal stream with `is_echo`; a bridge send (`message.metadata == "parley"`) also gets
///   `metadata["parley"] = "1"`.
public struct InstagramAdapter: Adapter {
    public init() {}

    public var name: String { "instagram" }

    public var capabilities: AdapterCapabilities { Self.declaredCapabilities }

    /// In UTF-8 bytes.
    static let maxText = 1000
    static let bridgeTag = "parley"

    static let sendAPI = MetaSendAPI(
        app: "Instagram", accountName: "the Instagram account id", userIdName: "IGSID", bridgeTag: bridgeTag, maxText: maxText,
        textLimitUnit: .utf8Bytes, messagingType: nil, reusableMedia: false,
        reactionValue: reactionName)

    static let declaredCapabilities = AdapterCapabilities(
        inboundKinds: [.message, .delete, .reaction, .receipt, .echo, .unsupported],
        // Instagram cannot edit or delete a sent message: the host applies its fallbacks.
        outboundKinds: [.message, .reaction, .receipt, .typing],
        maxTextLength: maxText, textLimitUnit: .utf8Bytes,
        mediaKinds: ["image", "video", "audio", "file"],
        groups: false, reactions: true, edits: false, deletes: false,
        // Instagram reports only `read`; `delivered`/`failed` go out through the Parley extension.
        receipts: [.delivered, .read, .failed]
    )

    public func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        try InstagramDecoder.decode(payload)
    }

    public func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        try Self.sendAPI.encode(event)
    }

    public func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        try Self.sendAPI.decodeSendResponse(status: status, body: body)
    }

    /// The Send API takes a reaction *name*, not an emoji; an emoji with no Instagram name becomes `love`
    /// (the name Meta's own example sends) rather than failing the whole reaction.
    @Sendable static func reactionName(_ emoji: String) -> String {
        switch emoji {
        case "❤️", "❤", "♥️", "😍", "love": return "love"
        case "👍", "like": return "like"
        case "😂", "😆", "laugh": return "laugh"
        case "😮", "😯", "wow": return "wow"
        case "😢", "😭", "sad": return "sad"
        case "😠", "😡", "angry": return "angry"
        default: return "love"
        }
    }
}
