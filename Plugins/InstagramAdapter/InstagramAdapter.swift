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
        try InstagramEncoder.encode(event)
    }

    public func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        let root = try GraphResponse.root(status: status, body: body)
        if let failure = GraphResponse.failure(status: status, root: root) { return failure }
        if let mid = root?.nonEmpty("message_id") { return .accepted(nativeId: mid) }
        // Sender actions (mark_seen, react, typing_on…) answer `{"recipient_id": …}` only.
        if root?.nonEmpty("recipient_id") != nil || root?.flag("success") == true { return .accepted(nativeId: nil) }
        throw AdapterError(.badResponse, "Instagram answered HTTP \(status) with neither message_id nor recipient_id")
    }
}
