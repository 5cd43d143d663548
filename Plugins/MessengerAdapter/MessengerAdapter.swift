import MetaGraph
import ParleyKit

/// The adapter's C entry point, loaded by the host with `dlopen`.
@_cdecl("parley_adapter_v1") public func parleyAdapterEntry(_ hostVersion: UInt32, _ table: UnsafeMutableRawPointer?) -> Int32 { parleyExport(MessengerAdapter(), hostVersion: hostVersion, into: table) }

/// Codec for the Messenger Platform: `object: "page"` webhooks in, Send API bodies (`POST /{page_id}/messages`) out.
///
/// Ids: `conversation` is the user's PSID (Page threads are 1:1), `recipient` the Page id, message ids `m_…` mids.
///
/// Decisions worth knowing:
/// - Events without an id of their own get a stable synthetic `nativeId` for deduplication:
///   receipts `"<mid>:<status>"` (watermarks `"<psid>@<watermark>:<status>"`), reactions
///   `"<mid>:<action>:<psid>:<timestamp>"`, edits `"<mid>:edit:<num_edit>"`, deletes `"<mid>:deleted"`.
/// - Echoes (`is_echo`) decode to kind `echo` with `app_id` and `metadata` copied into ``BridgeEvent/metadata``;
///   a send tagged by the bridge (`message.metadata == "parley"`) also gets `metadata["parley"] = "1"`.
/// - Postbacks decode to messages whose text is the button title (`metadata["payload"]` keeps the payload).
/// - A body with `changes` and no `messaging` (the App Dashboard "Test" button) yields no events.
public struct MessengerAdapter: Adapter {
    public init() {}

    public var name: String { "messenger" }

    public var capabilities: AdapterCapabilities { Self.declaredCapabilities }

    static let maxText = 2000
    static let bridgeTag = "parley"

    static let sendAPI = MetaSendAPI(
        app: "Messenger", accountName: "the Page id", userIdName: "PSID", bridgeTag: bridgeTag, maxText: maxText,
        textLimitUnit: .characters, messagingType: "RESPONSE", reusableMedia: true)

    static let declaredCapabilities = AdapterCapabilities(
        inboundKinds: [.message, .edit, .delete, .reaction, .receipt, .echo, .unsupported],
        // The Send API cannot edit or delete a sent message: the host applies its fallbacks.
        outboundKinds: [.message, .reaction, .receipt, .typing],
        maxTextLength: maxText, textLimitUnit: .characters,
        mediaKinds: ["image", "video", "audio", "file"],
        groups: false, reactions: true, edits: false, deletes: false,
        // Messenger reports delivered/read; `failed` (and `delivered`) go out through the Parley extension.
        receipts: [.delivered, .read, .failed]
    )

    public func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        try MessengerDecoder.decode(payload)
    }

    public func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        try Self.sendAPI.encode(event)
    }

    public func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        try Self.sendAPI.decodeSendResponse(status: status, body: body)
    }
}
