import ParleyKit
import Testing
import WhatsAppAdapter

@Suite struct WhatsAppEncodeTests {
    let wa = WhatsAppAdapter()
    let tag: [String: Any] = ["biz_opaque_callback_data": "parley"]

    func out(
        _ kind: BridgeEvent.Kind, to user: String = "+16505551234", text: String? = nil, target: String? = nil,
        emoji: String? = nil, status: BridgeEvent.Status? = nil, attachments: [Attachment] = [], isGroup: Bool = false
    ) -> BridgeEvent {
        BridgeEvent(kind: kind, nativeId: "", conversation: user, sender: "", recipient: "106540352242922",
                    timestamp: 0, text: text, target: target, emoji: emoji, status: status,
                    attachments: attachments, isGroup: isGroup)
    }

    @Test func textWithALinkMatchesTheSendTextFixture() throws {
        let requests = try wa.encode(out(.message, text: "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/"))
        #expect(requests.count == 1)
        #expect(requests.first?.path == "/106540352242922/messages")
        try expectBody(try #require(requests.first), equalsFixture: "whatsapp_send_text.json", adding: tag)
    }

    @Test func replyMatchesTheContextualReplyFixtureWithoutPreview() throws {
        let requests = try wa.encode(out(.message, text: "You're welcome, Pablo!",
                                         target: "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTdCNTg5RjY1MEMyRjlGMjRGNgA="))
        try expectBody(try #require(requests.first), equalsFixture: "whatsapp_send_reply_text.json", adding: tag)
    }

    @Test func reactionMatchesTheSendReactionFixture() throws {
        let requests = try wa.encode(out(.reaction, target: "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQUZCMTY0MDc2MUYwNzBDNTY5MAA=", emoji: "😀"))
        try expectBody(try #require(requests.first), equalsFixture: "whatsapp_send_reaction.json", adding: tag)
    }

    @Test func reactionRemovalSendsAnEmptyEmoji() throws {
        let request = try #require(try wa.encode(out(.reaction, target: "wamid.T", emoji: nil)).first)
        #expect(try bodyObject(request)["reaction"] as? [String: String] == ["message_id": "wamid.T", "emoji": ""])
    }

    @Test func imageByMediaIdMatchesTheSendImageFixture() throws {
        let image = Attachment(kind: "image", mediaId: "1479537139650973", caption: "The best succulent ever?")
        let requests = try wa.encode(out(.message, attachments: [image]))
        try expectBody(try #require(requests.first), equalsFixture: "whatsapp_send_image.json", adding: tag)
    }

    @Test func markReadMatchesTheMarkReadFixture() throws {
        let requests = try wa.encode(out(.receipt, target: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA", status: .read))
        try expectBody(try #require(requests.first), equalsFixture: "whatsapp_mark_read.json")
    }

    @Test func mediaByLinkCarriesCaptionAndTextFoldsIntoIt() throws {
        let requests = try wa.encode(out(.message, text: "look", attachments: [
            Attachment(kind: "video", url: "https://blob/v.mp4"),
            Attachment(kind: "file", url: "https://blob/a.pdf", filename: "a.pdf"),
            Attachment(kind: "audio", url: "https://blob/a.ogg", caption: "voice note"),
        ]))
        #expect(requests.count == 4)
        try expectBody(requests[0], equals: #"{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"video","video":{"link":"https://blob/v.mp4","caption":"look"},"biz_opaque_callback_data":"parley"}"#)
        try expectBody(requests[1], equals: #"{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"document","document":{"link":"https://blob/a.pdf","filename":"a.pdf"},"biz_opaque_callback_data":"parley"}"#)
        try expectBody(requests[2], equals: #"{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"audio","audio":{"link":"https://blob/a.ogg"},"biz_opaque_callback_data":"parley"}"#)
        // Audio cannot carry a caption, so it follows as text.
        try expectBody(requests[3], equals: #"{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"text","text":{"body":"voice note"},"biz_opaque_callback_data":"parley"}"#)
    }

    @Test func groupsUseRecipientTypeGroup() throws {
        let request = try #require(try wa.encode(out(.message, to: "120363418770915618@g.us", text: "hi", isGroup: true)).first)
        try expectBody(request, equals: #"{"messaging_product":"whatsapp","recipient_type":"group","to":"120363418770915618@g.us","type":"text","text":{"body":"hi"},"biz_opaque_callback_data":"parley"}"#)
    }

    @Test func bsuidConversationsAreAddressedThroughRecipient() throws {
        let request = try #require(try wa.encode(out(.message, to: "US.13491208655302741918", text: "hi")).first)
        let body = try bodyObject(request)
        #expect(body["recipient"] as? String == "US.13491208655302741918")
        #expect(body["to"] == nil)
    }

    @Test func locationIsANativeLocationMessage() throws {
        let request = try #require(try wa.encode(out(.message, attachments: [
            Attachment(kind: "location", caption: "Office", latitude: 1.5, longitude: -2.25)])).first)
        try expectBody(request, equals: #"{"messaging_product":"whatsapp","recipient_type":"individual","to":"+16505551234","type":"location","location":{"latitude":1.5,"longitude":-2.25,"name":"Office"},"biz_opaque_callback_data":"parley"}"#)
    }

    @Test func deliveredAndFailedUseTheParleyStatusExtension() throws {
        let delivered = try #require(try wa.encode(out(.receipt, target: "wamid.X", status: .delivered)).first)
        try expectBody(delivered, equals: #"{"messaging_product":"whatsapp","status":"delivered","message_id":"wamid.X"}"#)
        var failed = out(.receipt, target: "wamid.X", status: .failed)
        failed.failure = .init(code: "policy.no_consent", message: "The recipient has not opted in")
        try expectBody(try #require(try wa.encode(failed).first), equals: #"{"messaging_product":"whatsapp","status":"failed","message_id":"wamid.X","errors":[{"code":"policy.no_consent","title":"policy.no_consent","message":"The recipient has not opted in"}]}"#)
        failed.failure = .init(code: "131047", message: "window closed")
        try expectBody(try #require(try wa.encode(failed).first), equals: #"{"messaging_product":"whatsapp","status":"failed","message_id":"wamid.X","errors":[{"code":131047,"title":"131047","message":"window closed"}]}"#)
        let played = try #require(try wa.encode(out(.receipt, target: "wamid.X", status: .played)).first)
        #expect(try bodyObject(played)["status"] as? String == "read")
    }

    @Test func limitsAreEnforcedInCharacters() throws {
        #expect(try wa.encode(out(.message, text: String(repeating: "é", count: 4096))).count == 1)
        #expect(adapterError { try wa.encode(out(.message, text: String(repeating: "a", count: 4097))) }?.code == .limitExceeded)
        let longCaption = Attachment(kind: "image", url: "https://x/i.png", caption: String(repeating: "c", count: 1025))
        #expect(adapterError { try wa.encode(out(.message, attachments: [longCaption])) }?.code == .limitExceeded)
        // Text too long to be a caption goes first as its own message.
        let requests = try wa.encode(out(.message, text: String(repeating: "t", count: 2000), target: "wamid.Q",
                                         attachments: [Attachment(kind: "image", url: "https://x/i.png")]))
        #expect(try requests.map { try bodyObject($0)["type"] as? String } == ["text", "image"])
        #expect(try bodyObject(requests[0])["context"] as? [String: String] == ["message_id": "wamid.Q"])
    }

    @Test func editsDeletesAndBadEventsAreRefused() {
        #expect(!wa.capabilities.outboundKinds.contains(.edit))
        #expect(!wa.capabilities.outboundKinds.contains(.delete))
        #expect(adapterError { try wa.encode(out(.edit, text: "x", target: "wamid.O")) }?.code == .unsupportedEvent)
        #expect(adapterError { try wa.encode(out(.delete, target: "wamid.O")) }?.code == .unsupportedEvent)
        #expect(adapterError { try wa.encode(out(.receipt, target: "wamid.O", status: .sent)) }?.code == .unsupportedEvent)
        #expect(adapterError { try wa.encode(out(.reaction, emoji: "👍")) }?.code == .missingField)
        #expect(adapterError { try wa.encode(out(.message)) }?.code == .missingField)
        var noAccount = out(.message, text: "x")
        noAccount.recipient = nil
        #expect(adapterError { try wa.encode(noAccount) }?.code == .missingField)
        #expect(adapterError { try wa.encode(out(.message, attachments: [Attachment(kind: "image")])) }?.code == .missingField)
    }

    @Test func sendResponsesMapToAcceptedRejectedOrRetryable() throws {
        let ok = #"{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.NEW"}]}"#
        #expect(try wa.decodeSendResponse(status: 200, body: bytes(ok)) == .accepted(nativeId: "wamid.NEW"))
        #expect(try wa.decodeSendResponse(status: 200, body: bytes(#"{"success":true}"#)) == .accepted(nativeId: nil))
        let invalid = #"{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100,"error_subcode":2494010,"fbtrace_id":"Az8"}}"#
        guard case .rejected(let failure) = try wa.decodeSendResponse(status: 400, body: bytes(invalid)) else {
            Issue.record("a 400 with code 100 must be rejected")
            return
        }
        #expect(failure.code == "100")
        #expect(failure.message.contains("Invalid parameter"))
        let throttled = #"{"error":{"message":"Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"A"}}"#
        guard case .retryable(let t) = try wa.decodeSendResponse(status: 400, body: bytes(throttled)) else {
            Issue.record("code 130429 must be retryable")
            return
        }
        #expect(t.code == "130429")
        guard case .retryable(let s) = try wa.decodeSendResponse(status: 503, body: bytes("upstream down")) else {
            Issue.record("a 503 must be retryable")
            return
        }
        #expect(s.code == "http.503")
        guard case .retryable = try wa.decodeSendResponse(status: 429, body: []) else {
            Issue.record("a 429 must be retryable")
            return
        }
        #expect(adapterError { try wa.decodeSendResponse(status: 200, body: bytes("nope")) }?.code == .badResponse)
        #expect(adapterError { try wa.decodeSendResponse(status: 200, body: bytes(#"{"messages":[]}"#)) }?.code == .badResponse)
    }
}
