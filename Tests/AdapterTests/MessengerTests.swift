import MessengerAdapter
import ParleyKit
import Testing

/// A `page` webhook around messaging items given as JSON text.
func pageWebhook(_ items: String, key: String = "messaging", object: String = "page", entryId: String = "PAGE") -> [UInt8] {
    bytes(#"{"object":"\#(object)","entry":[{"id":"\#(entryId)","time":1700000000999,"\#(key)":[\#(items)]}]}"#)
}

@Suite struct MessengerDecodeTests {
    let fb = MessengerAdapter()

    /// Meta's reference pages print only the messaging[] element: decode it wrapped, and bare.
    func decodeElement(_ name: String) throws -> [BridgeEvent] {
        let wrapped = try fb.decode(envelope(object: "page", entryId: "<PAGE_ID>", time: 1, element: fixture(name)))
        #expect(try fb.decode(fixture(name)) == wrapped)
        return wrapped
    }

    @Test func textElementFixtureDecodesToAMessage() throws {
        #expect(try decodeElement("messenger_text.json") == [BridgeEvent(
            kind: .message, nativeId: "mid.1457764197618:41d102a3e1ae206a38", conversation: "<PSID>", sender: "<PSID>",
            recipient: "<PAGE_ID>", timestamp: 1_458_692_752_478, text: "hello, world!")])
    }

    @Test func fullEnvelopeFixtureDecodesToAMessage() throws {
        #expect(try fb.decode(fixture("messenger_text_full_envelope.json")) == [BridgeEvent(
            kind: .message, nativeId: "m_3vs...", conversation: "<PSID>", sender: "<PSID>", recipient: "<PAGE_ID>",
            timestamp: 1_697_643_027_400, text: "find flights from SFO to LAX next Thursday")])
    }

    @Test func attachmentFixtureDecodesToAnImageByUrl() throws {
        #expect(try decodeElement("messenger_attachment_image.json") == [BridgeEvent(
            kind: .message, nativeId: "mid.$cAAJdkrCd2ORnva8ErFhjGm0X_Q_c", conversation: "<PSID>", sender: "<PSID>",
            recipient: "<PAGE_ID>", timestamp: 1_518_479_195_308, attachments: [Attachment(kind: "image", url: "<IMAGE_URL>")])])
    }

    @Test func replyToFixtureTargetsTheQuotedMid() throws {
        #expect(try decodeElement("messenger_reply_to.json") == [BridgeEvent(
            kind: .message, nativeId: "m_1457764197618:41d102a3e1ae206a38", conversation: "<PSID>", sender: "<PSID>",
            recipient: "<PAGE_ID>", timestamp: 1_458_692_752_478, text: "hello, world!",
            target: "m_1fTq8oLumEyIp3Q2MR-aY7IfLZDamVrALniheU", metadata: ["subtype": "reply"])])
    }

    @Test func reactionFixtureIsAReactionWithEmoji() throws {
        #expect(try fb.decode(fixture("messenger_reaction.json")) == [BridgeEvent(
            kind: .reaction, nativeId: "original_message_id:react:USER_ID:1572465098502", conversation: "USER_ID",
            sender: "USER_ID", recipient: "PAGE_ID", timestamp: 1_572_465_098_502, target: "original_message_id",
            emoji: "😢", metadata: ["reaction": "sad"])])
    }

    @Test func deliveryFixtureGivesOneReceiptPerMidTimedByTheWatermark() throws {
        #expect(try decodeElement("messenger_delivery.json") == [BridgeEvent(
            kind: .receipt, nativeId: "mid.1458668856218:ed81099e15d3f4f233:delivered", conversation: "<PSID>",
            sender: "<PSID>", recipient: "<PAGE_ID>", timestamp: 1_458_668_856_253,
            target: "mid.1458668856218:ed81099e15d3f4f233", status: .delivered, watermark: 1_458_668_856_253)])
    }

    @Test func readFixtureIsAWatermarkReceipt() throws {
        #expect(try decodeElement("messenger_read.json") == [BridgeEvent(
            kind: .receipt, nativeId: "<PSID>@1458668856253:read", conversation: "<PSID>", sender: "<PSID>",
            recipient: "<PAGE_ID>", timestamp: 1_458_668_856_463, status: .read, watermark: 1_458_668_856_253)])
    }

    @Test func deliveryWithoutMidsIsOneWatermarkReceipt() throws {
        let events = try fb.decode(pageWebhook(#"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"delivery":{"watermark":1458668856253}}"#))
        #expect(events.count == 1)
        #expect(events.first?.kind == .receipt)
        #expect(events.first?.status == .delivered)
        #expect(events.first?.target == nil)
        #expect(events.first?.watermark == 1_458_668_856_253)
        let two = try fb.decode(pageWebhook(#"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":5,"delivery":{"mids":["m_1","m_2"],"watermark":4}}"#))
        #expect(two.map(\.target) == ["m_1", "m_2"])
    }

    @Test func standbyItemsAreDecodedAndMarked() throws {
        let events = try fb.decode(pageWebhook(
            #"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":7,"message":{"mid":"m_s","text":"hi"}}"#, key: "standby"))
        #expect(events.map(\.kind) == [.message])
        #expect(events.first?.text == "hi")
        #expect(events.first?.metadata["standby"] == "1")
    }

    @Test func unreactWithoutEmojiIsAReactionRemoval() throws {
        let events = try fb.decode(pageWebhook(
            #"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":8,"reaction":{"mid":"m_t","action":"unreact"}}"#))
        #expect(events.first?.kind == .reaction)
        #expect(events.first?.target == "m_t")
        #expect(events.first?.emoji == nil)
    }

    @Test func messageEditIsAnEditOfTheMid() throws {
        let events = try fb.decode(pageWebhook(
            #"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":9,"message_edit":{"mid":"m_e","text":"fixed","num_edit":2}}"#))
        #expect(events == [BridgeEvent(kind: .edit, nativeId: "m_e:edit:2", conversation: "U", sender: "U",
                                       recipient: "PAGE", timestamp: 9, text: "fixed", target: "m_e")])
    }

    @Test func echoIsKindEchoInTheUsersThreadWithAppIdAndTag() throws {
        let ours = try fb.decode(pageWebhook(#"""
        {"sender":{"id":"PAGE"},"recipient":{"id":"U"},"timestamp":10,
         "message":{"is_echo":true,"app_id":1517776481860111,"metadata":"parley","mid":"m_echo","text":"sent by the bridge"}}
        """#))
        #expect(ours == [BridgeEvent(kind: .echo, nativeId: "m_echo", conversation: "U", sender: "PAGE", recipient: "PAGE",
                                     timestamp: 10, text: "sent by the bridge",
                                     metadata: ["app_id": "1517776481860111", "metadata": "parley", "parley": "1"])])
        // Un-swapped sender/recipient (as in restfb's fixture): still the user's thread.
        let unswapped = try fb.decode(pageWebhook(
            #"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":10,"message":{"is_echo":true,"app_id":"42","mid":"m_h","text":"agent"}}"#))
        #expect(unswapped.first?.conversation == "U")
        #expect(unswapped.first?.sender == "PAGE")
        #expect(unswapped.first?.metadata["parley"] == nil)
    }

    @Test func postbackIsAMessageWithTheTitle() throws {
        let events = try fb.decode(pageWebhook(
            #"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":11,"postback":{"mid":"m_pb","title":"Get Started","payload":"START"}}"#))
        #expect(events == [BridgeEvent(kind: .message, nativeId: "m_pb", conversation: "U", sender: "U", recipient: "PAGE",
                                       timestamp: 11, text: "Get Started",
                                       metadata: ["subtype": "postback", "payload": "START"])])
    }

    @Test func dashboardTestBodyWithChangesYieldsNoEvents() throws {
        let body = #"{"object":"page","entry":[{"id":"0","time":1,"changes":[{"field":"messages","value":{"message":"test"}}]}]}"#
        #expect(try fb.decode(bytes(body)).isEmpty)
    }

    @Test func unknownItemsAreUnsupported() throws {
        let events = try fb.decode(pageWebhook(#"{"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":3,"optin":{"ref":"x"}}"#))
        #expect(events.map(\.kind) == [.unsupported])
        #expect(events.first?.metadata["unsupported_type"] == "optin")
    }

    @Test func isDeletedAndLegacyLocationAreDecoded() throws {
        let events = try fb.decode(pageWebhook(#"""
        {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":3,"message":{"mid":"m_d","is_deleted":true}},
        {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":4,"message":{"mid":"m_l","attachments":[{"type":"location","title":"Pin","payload":{"coordinates":{"lat":1.5,"long":2.5}}}]}}
        """#))
        #expect(events.map(\.kind) == [.delete, .message])
        #expect(events[0].target == "m_d")
        #expect(events[1].attachments == [Attachment(kind: "location", caption: "Pin", latitude: 1.5, longitude: 2.5)])
    }

    @Test func doubledStickerAttachmentsCollapseToTheSticker() throws {
        let events = try fb.decode(pageWebhook(#"""
        {"sender":{"id":"U"},"recipient":{"id":"PAGE"},"timestamp":3,"message":{"mid":"m_st","attachments":[
          {"type":"image","payload":{"url":"https://cdn/s.png","sticker_id":369239263222822}},
          {"type":"sticker","payload":{"url":"https://cdn/s.png","sticker_id":369239263222822}}]}}
        """#))
        #expect(events.first?.attachments == [Attachment(kind: "sticker", url: "https://cdn/s.png")])
    }

    @Test func malformedAndIncompleteBodiesGiveTypedErrors() {
        #expect(adapterError { try fb.decode(bytes("not json")) }?.code == .malformedPayload)
        #expect(adapterError { try fb.decode(bytes(#"{"object":"instagram","entry":[]}"#)) }?.code == .malformedPayload)
        #expect(adapterError { try fb.decode(bytes(#"{"entry":[]}"#)) }?.code == .missingField)
        #expect(adapterError { try fb.decode(bytes(#"{"object":"page"}"#)) }?.code == .missingField)
        #expect(adapterError { try fb.decode(pageWebhook(#"{"recipient":{"id":"PAGE"},"message":{"mid":"m","text":"x"}}"#)) }?.code == .missingField)
        #expect(adapterError { try fb.decode(pageWebhook(#"{"sender":{"id":"U"},"message":{"text":"x"}}"#)) }?.code == .missingField)
        #expect(adapterError { try fb.decode(pageWebhook(#"{"sender":{"id":"U"},"reaction":{"action":"react"}}"#)) }?.code == .missingField)
        #expect(adapterError { try fb.decode(pageWebhook(#"{"sender":{"id":"U"},"delivery":{}}"#)) }?.code == .missingField)
        #expect(adapterError { try fb.decode(pageWebhook(#"7"#)) }?.code == .missingField)
    }
}

@Suite struct MessengerEncodeTests {
    let fb = MessengerAdapter()
    let tagged: [String: Any] = ["message": ["metadata": "parley"]]

    func out(_ kind: BridgeEvent.Kind, to user: String = "<PSID>", text: String? = nil, target: String? = nil,
             emoji: String? = nil, status: BridgeEvent.Status? = nil, attachments: [Attachment] = []) -> BridgeEvent {
        BridgeEvent(kind: kind, nativeId: "", conversation: user, sender: "", recipient: "PAGE", timestamp: 0,
                    text: text, target: target, emoji: emoji, status: status, attachments: attachments)
    }

    @Test func textMatchesTheSendTextFixturePlusTag() throws {
        let requests = try fb.encode(out(.message, text: "Hello, world!"))
        #expect(requests.map(\.path) == ["/PAGE/messages"])
        try expectBody(try #require(requests.first), equalsFixture: "messenger_send_text.json", adding: tagged)
    }

    @Test func replyMatchesTheSendReplyFixturePlusTag() throws {
        let requests = try fb.encode(out(.message, text: "Hello, world!", target: "<MESSAGE_ID>"))
        try expectBody(try #require(requests.first), equalsFixture: "messenger_send_reply.json", adding: tagged)
    }

    @Test func imageMatchesTheSendImageFixturePlusMessagingTypeAndTag() throws {
        let requests = try fb.encode(out(.message, to: "1254459154682919", attachments: [
            Attachment(kind: "image", url: "http://www.messenger-rocks.com/image.jpg")]))
        try expectBody(try #require(requests.first), equalsFixture: "messenger_send_image.json",
                       adding: ["messaging_type": "RESPONSE", "message": ["metadata": "parley"]])
    }

    @Test func reactionsAreSenderActionsWithPayload() throws {
        try expectBody(try #require(try fb.encode(out(.reaction, target: "m_1", emoji: "❤️")).first),
                       equals: #"{"recipient":{"id":"<PSID>"},"sender_action":"react","payload":{"message_id":"m_1","reaction":"❤️"}}"#)
        try expectBody(try #require(try fb.encode(out(.reaction, target: "m_1", emoji: "")).first),
                       equals: #"{"recipient":{"id":"<PSID>"},"sender_action":"unreact","payload":{"message_id":"m_1"}}"#)
    }

    @Test func receiptsUseMarkSeenAndTheParleyExtension() throws {
        try expectBody(try #require(try fb.encode(out(.receipt, target: "m_1", status: .read)).first),
                       equals: #"{"recipient":{"id":"<PSID>"},"sender_action":"mark_seen","payload":{"message_id":"m_1"}}"#)
        try expectBody(try #require(try fb.encode(out(.receipt, target: "m_1", status: .delivered)).first),
                       equals: #"{"recipient":{"id":"<PSID>"},"sender_action":"mark_delivered","payload":{"message_id":"m_1"}}"#)
        var failed = out(.receipt, target: "m_1", status: .failed)
        failed.failure = .init(code: "policy.no_consent", message: "not opted in")
        try expectBody(try #require(try fb.encode(failed).first),
                       equals: #"{"recipient":{"id":"<PSID>"},"sender_action":"mark_failed","payload":{"message_id":"m_1","error":{"code":"policy.no_consent","message":"not opted in"}}}"#)
        #expect(adapterError { try fb.encode(out(.receipt, status: .delivered)) }?.code == .missingField)
    }

    @Test func typingIsTypingOn() throws {
        try expectBody(try #require(try fb.encode(out(.typing)).first),
                       equals: #"{"recipient":{"id":"<PSID>"},"sender_action":"typing_on"}"#)
    }

    @Test func captionsAndUnsendableAttachmentsBecomeText() throws {
        let requests = try fb.encode(out(.message, attachments: [
            Attachment(kind: "image", url: "https://x/i.png", caption: "cap"),
            Attachment(kind: "location", caption: "Office", latitude: 1.5, longitude: 2.5),
            Attachment(kind: "story_mention", url: "https://cdn/story"),
        ]))
        let messages = try requests.map { try bodyObject($0)["message"] as? [String: Any] }
        #expect(messages.map { $0?["text"] as? String } == [nil, "cap", "Office\n📍 1.5,2.5", "https://cdn/story"])
    }

    @Test func limitIs2000Characters() throws {
        #expect(try fb.encode(out(.message, text: String(repeating: "😀", count: 2000))).count == 1)
        #expect(adapterError { try fb.encode(out(.message, text: String(repeating: "a", count: 2001))) }?.code == .limitExceeded)
        // Over the limit in bytes but not in characters, and over it in characters made of several bytes each.
        #expect(try fb.encode(out(.message, text: String(repeating: "👩‍👩‍👧", count: 2000))).count == 1)
        let error = adapterError { try fb.encode(out(.message, text: String(repeating: "é", count: 2001))) }
        #expect(error?.code == .limitExceeded)
        #expect(error?.message.contains("2001 characters") == true)
    }

    @Test func editsDeletesGroupsAndIncompleteEventsAreRefused() {
        #expect(!fb.capabilities.outboundKinds.contains(.edit))
        #expect(!fb.capabilities.outboundKinds.contains(.delete))
        #expect(adapterError { try fb.encode(out(.edit, text: "x", target: "m")) }?.code == .unsupportedEvent)
        #expect(adapterError { try fb.encode(out(.delete, target: "m")) }?.code == .unsupportedEvent)
        var group = out(.message, text: "x")
        group.isGroup = true
        #expect(adapterError { try fb.encode(group) }?.code == .unsupportedEvent)
        #expect(adapterError { try fb.encode(out(.message, attachments: [Attachment(kind: "image", mediaId: "1")])) }?.code == .missingField)
        #expect(adapterError { try fb.encode(out(.reaction, emoji: "👍")) }?.code == .missingField)
    }

    @Test func sendResponsesMapToOutcomes() throws {
        #expect(try fb.decodeSendResponse(status: 200, body: bytes(#"{"recipient_id":"1254477777772919","message_id":"m_AG5Hz2U"}"#))
                == .accepted(nativeId: "m_AG5Hz2U"))
        #expect(try fb.decodeSendResponse(status: 200, body: bytes(#"{"recipient_id":"1254477777772919"}"#)) == .accepted(nativeId: nil))
        guard case .rejected(let f) = try fb.decodeSendResponse(status: 400, body: bytes(
            #"{"error":{"message":"(#100) No matching user found","type":"OAuthException","code":100,"error_subcode":2018001,"fbtrace_id":"BLBz"}}"#)) else {
            Issue.record("code 100 must be rejected")
            return
        }
        #expect(f.code == "100")
        #expect(f.message.contains("2018001"))
        guard case .retryable(let r) = try fb.decodeSendResponse(status: 400, body: bytes(#"{"error":{"message":"Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613}}"#)) else {
            Issue.record("code 613 must be retryable")
            return
        }
        #expect(r.code == "613")
        guard case .retryable = try fb.decodeSendResponse(status: 500, body: bytes(#"{"error":{"message":"boom","code":2}}"#)) else {
            Issue.record("a 500 must be retryable")
            return
        }
        #expect(adapterError { try fb.decodeSendResponse(status: 200, body: bytes(#"{}"#)) }?.code == .badResponse)
    }
}
