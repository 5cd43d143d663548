import MetaGraph
import ParleyKit

/// The adapter's C entry point, loaded by the host with `dlopen`.
@_cdecl("parley_adapter_v1") public func parleyAdapterEntry(_ hostVersion: UInt32, _ table: UnsafeMutableRawPointer?) -> Int32 { parleyExport(WhatsAppAdapter(), hostVersion: hostVersion, into: table) }

/// Codec for the WhatsApp Business Cloud API: `whatsapp_business_account` webhooks in,
/// `POST /{phone_number_id}/messages` bodies out.
///
/// Ids: `conversation` is the user's id (BSUID `user_id` first, phone digits otherwise) or the group id;
/// `recipient` is the business `phone_number_id`; message ids are wamids.
///
/// Decisions worth knowing:
/// - User edits on regular numbers arrive as `type: "unsupported"`, `unsupported.type: "edit"` with no text and no
///   original id; they decode to kind `unsupported` with `metadata["unsupported_type"] = "edit"` (an `edit` event
///   without a target could not be applied). Coexistence `edit`/`revoke` messages decode to `edit`/`delete`.
/// - Status updates carry no id of their own; their `nativeId` is `"<wamid>:<status>"` (Meta's dedupe key).
/// - Every message the bridge sends carries `biz_opaque_callback_data: "parley"`; statuses echoing it get
///   `metadata["parley"] = "1"`.
public struct WhatsAppAdapter: Adapter {
    public init() {}

    public var name: String { "whatsapp" }

    public var capabilities: AdapterCapabilities { Self.declaredCapabilities }

    static let maxText = 4096
    static let maxCaption = 1024
    static let bridgeTag = "parley"

    static let declaredCapabilities = AdapterCapabilities(
        inboundKinds: [.message, .edit, .delete, .reaction, .receipt, .echo, .unsupported],
        // The Cloud API cannot edit or delete a sent message: the host applies its fallbacks.
        outboundKinds: [.message, .reaction, .receipt],
        maxTextLength: maxText, textLimitUnit: .characters,
        mediaKinds: ["image", "video", "audio", "file", "sticker"],
        groups: true, reactions: true, edits: false, deletes: false,
        // `sent` and `played` are reported only; outbound `played` is sent as `read`.
        receipts: [.sent, .delivered, .read, .played, .failed]
    )

    public func decode(_ payload: [UInt8]) throws(AdapterError) -> [BridgeEvent] {
        try WhatsAppDecoder.decode(payload)
    }

    public func encode(_ event: BridgeEvent) throws(AdapterError) -> [NativeRequest] {
        try WhatsAppEncoder.encode(event)
    }

    public func decodeSendResponse(status: Int, body: [UInt8]) throws(AdapterError) -> SendOutcome {
        let root = try GraphResponse.root(status: status, body: body)
        if let failure = GraphResponse.failure(status: status, root: root) { return failure }
        if let id = root?.arr("messages")?.first?.object?.nonEmpty("id") {
            return .accepted(nativeId: id)
        }
        // Mark-read (and the Parley delivered/failed extension) answer `{"success": true}`.
        if root?.flag("success") == true { return .accepted(nativeId: nil) }
        throw AdapterError(.badResponse, "WhatsApp answered HTTP \(status) with neither messages[].id nor success")
    }
}
