import ParleyKit
import Testing
import WhatsAppAdapter

/// A `whatsapp_business_account` webhook around one change value (given as JSON text).
func waWebhook(_ value: String, field: String = "messages") -> [UInt8] {
    bytes("""
    {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"\(field)","value":\(value)}]}]}
    """)
}

/// A change value for phone number id 106540352242922 with the given messages/statuses arrays.
func waValue(messages: String = "[]", statuses: String = "[]", contacts: String = "[]") -> String {
    """
    {"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},\
    "contacts":\(contacts),"messages":\(messages),"statuses":\(statuses)}
    """
}

@Suite struct WhatsAppDecodeTests {
    let wa = WhatsAppAdapter()

    @Test func textFixtureDecodesToOneMessageWithMillisecondTimestamp() throws {
        let events = try wa.decode(fixture("whatsapp_text.json"))
        #expect(events == [BridgeEvent(
            kind: .message, nativeId: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            conversation: "16505551234", sender: "16505551234", recipient: "106540352242922",
            timestamp: 1_749_416_383_000, text: "Does it come in another color?",
            metadata: ["name": "Sheena Nelson"])])
    }

    @Test func imageFixtureDecodesMediaIdMimeHexShaCaptionAndUrl() throws {
        let events = try wa.decode(fixture("whatsapp_image.json"))
        #expect(events == [BridgeEvent(
            kind: .message, nativeId: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            conversation: "16505551234", sender: "16505551234", recipient: "106540352242922",
            timestamp: 1_744_344_496_000,
            attachments: [Attachment(
                kind: "image", url: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...",
                mediaId: "1003383421387256", mimeType: "image/jpeg", caption: "Taj Mahal",
                sha256: "49f227634806293b0995459bc310b593e1400f41591efcf07e9bced335f41942")],
            metadata: ["name": "Sheena Nelson"])])
    }

    @Test func reactionFixtureIsAReactionTargetingTheReactedWamid() throws {
        let events = try wa.decode(fixture("whatsapp_reaction.json"))
        #expect(events == [BridgeEvent(
            kind: .reaction, nativeId: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
            conversation: "16505551234", sender: "16505551234", recipient: "106540352242922",
            timestamp: 1_749_419_544_000, target: "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=",
            emoji: "👍", metadata: ["name": "Sheena Nelson"])])
    }

    @Test func replyContextFixtureTargetsTheQuotedMessage() throws {
        let events = try wa.decode(fixture("whatsapp_reply_context.json"))
        #expect(events == [BridgeEvent(
            kind: .message, nativeId: "wamid.xyzxyz", conversation: "972987654321", sender: "972987654321",
            recipient: "1122334455667", timestamp: 1_697_044_746_000, text: "replied text", target: "wamid.xyzxyz==",
            metadata: ["subtype": "reply", "name": "Test Name"])])
    }

    @Test func statusReadFixtureIsAReadReceiptForTheWamid() throws {
        let events = try wa.decode(fixture("whatsapp_status_read.json"))
        #expect(events == [BridgeEvent(
            kind: .receipt, nativeId: "wamid.xyzxyz:read", conversation: "972987654321", sender: "972987654321",
            recipient: "1122334455667", timestamp: 1_689_380_458_000, target: "wamid.xyzxyz", status: .read)])
    }

    @Test func bsuidWithoutPhoneKeysTheUserOnTheBSUID() throws {
        let events = try wa.decode(waWebhook(waValue(
            messages: #"[{"from_user_id":"US.13491208655302741918","id":"wamid.B1","timestamp":"1749416383","type":"text","text":{"body":"hi"}}]"#,
            contacts: #"[{"profile":{"name":"N","username":"@n"},"user_id":"US.13491208655302741918"}]"#)))
        #expect(events.count == 1)
        #expect(events.first?.sender == "US.13491208655302741918")
        #expect(events.first?.conversation == "US.13491208655302741918")
        #expect(events.first?.metadata["phone"] == nil)
        #expect(events.first?.metadata["name"] == "N")
    }

    @Test func bsuidWithPhoneKeysOnBSUIDAndKeepsThePhone() throws {
        let events = try wa.decode(waWebhook(waValue(
            messages: #"[{"from":"16505551234","from_user_id":"US.1","id":"wamid.B2","timestamp":"1","type":"text","text":{"body":"x"}}]"#)))
        #expect(events.first?.sender == "US.1")
        #expect(events.first?.metadata["phone"] == "16505551234")
    }

    @Test func batchWithManyMessagesAndStatusesKeepsOrderAndFailures() throws {
        let messages = #"""
        [{"from":"111","id":"wamid.M1","timestamp":"10","type":"text","text":{"body":"one"}},
         {"from":"222","id":"wamid.M2","timestamp":"11","type":"text","text":{"body":"two"}}]
        """#
        let statuses = #"""
        [{"id":"wamid.S1","status":"delivered","timestamp":"12","recipient_id":"111","biz_opaque_callback_data":"parley"},
         {"id":"wamid.S2","status":"failed","timestamp":"13","recipient_id":"222",
          "errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",
                     "error_data":{"details":"More than 24 hours have passed"}}]},
         {"id":"wamid.S3","status":"played","timestamp":"14","recipient_id":"111","recipient_user_id":"US.9"}]
        """#
        let events = try wa.decode(waWebhook(waValue(messages: messages, statuses: statuses)))
        #expect(events.map(\.kind) == [.message, .message, .receipt, .receipt, .receipt])
        #expect(events.map(\.text) == ["one", "two", nil, nil, nil])
        #expect(events.map(\.timestamp) == [10_000, 11_000, 12_000, 13_000, 14_000])
        #expect(events[2].status == .delivered)
        #expect(events[2].target == "wamid.S1")
        #expect(events[2].metadata["parley"] == "1")
        #expect(events[3].status == .failed)
        #expect(events[3].failure == BridgeEvent.Failure(code: "131047", message: "More than 24 hours have passed"))
        #expect(events[4].status == .played)
        #expect(events[4].conversation == "US.9")
    }

    @Test func reactionRemovalGivesNilEmojiWhetherOmittedOrEmpty() throws {
        let omitted = try wa.decode(waWebhook(waValue(messages:
            #"[{"from":"1","id":"wamid.R1","timestamp":"5","type":"reaction","reaction":{"message_id":"wamid.T"}}]"#)))
        let empty = try wa.decode(waWebhook(waValue(messages:
            #"[{"from":"1","id":"wamid.R1","timestamp":"5","type":"reaction","reaction":{"message_id":"wamid.T","emoji":""}}]"#)))
        #expect(omitted == empty)
        #expect(omitted.first?.kind == .reaction)
        #expect(omitted.first?.target == "wamid.T")
        #expect(omitted.first?.emoji == nil)
    }

    @Test func reactionToleratesTheMesssageIdTypo() throws {
        let events = try wa.decode(waWebhook(waValue(messages:
            #"[{"from":"1","id":"wamid.R2","timestamp":"5","type":"reaction","reaction":{"messsage_id":"wamid.T2","emoji":"❤️"}}]"#)))
        #expect(events.first?.target == "wamid.T2")
        #expect(events.first?.emoji == "❤️")
    }

    @Test func unsupportedEditIsUnsupportedWithEditTypeAndFailure() throws {
        let events = try wa.decode(waWebhook(waValue(messages: #"""
        [{"from":"1","id":"wamid.E1","timestamp":"7","type":"unsupported","unsupported":{"type":"edit"},
          "errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown",
                     "error_data":{"details":"Message type is currently not supported."}}]}]
        """#)))
        #expect(events == [BridgeEvent(
            kind: .unsupported, nativeId: "wamid.E1", conversation: "1", sender: "1", recipient: "106540352242922",
            timestamp: 7000, failure: .init(code: "131051", message: "Message type is currently not supported."),
            metadata: ["unsupported_type": "edit"])])
    }

    @Test func coexistenceEditAndRevokeBecomeEditAndDelete() throws {
        let events = try wa.decode(waWebhook(waValue(messages: #"""
        [{"from":"1","id":"wamid.E2","timestamp":"8","type":"edit",
          "edit":{"original_message_id":"wamid.O","message":{"type":"text","text":{"body":"fixed"}}}},
         {"from":"1","id":"wamid.D1","timestamp":"9","type":"revoke","revoke":{"original_message_id":"wamid.O"}}]
        """#)))
        #expect(events.map(\.kind) == [.edit, .delete])
        #expect(events.map(\.target) == ["wamid.O", "wamid.O"])
        #expect(events[0].text == "fixed")
        #expect(events[1].text == nil)
    }

    @Test func groupMessageUsesTheGroupAsConversation() throws {
        let events = try wa.decode(waWebhook(waValue(messages: #"""
        [{"from":"16505551234","group_id":"120363418770915618@g.us","id":"wamid.G1","timestamp":"3","type":"text","text":{"body":"hey all"}}]
        """#)))
        #expect(events.first?.conversation == "120363418770915618@g.us")
        #expect(events.first?.sender == "16505551234")
        #expect(events.first?.isGroup == true)
    }

    @Test func groupStatusUsesGroupAndParticipant() throws {
        let events = try wa.decode(waWebhook(waValue(statuses: #"""
        [{"id":"wamid.GS","status":"read","timestamp":"3","recipient_type":"group","recipient_id":"G1","recipient_participant_id":"16505551234"}]
        """#)))
        #expect(events.first?.conversation == "G1")
        #expect(events.first?.sender == "16505551234")
        #expect(events.first?.isGroup == true)
    }

    @Test func locationBecomesALocationAttachment() throws {
        let events = try wa.decode(waWebhook(waValue(messages: #"""
        [{"from":"1","id":"wamid.L","timestamp":"2","type":"location",
          "location":{"latitude":37.483307,"longitude":-122.148981,"name":"Main Office","address":"1 Hacker Way"}}]
        """#)))
        #expect(events.first?.kind == .message)
        #expect(events.first?.attachments == [Attachment(
            kind: "location", caption: "Main Office, 1 Hacker Way", latitude: 37.483307, longitude: -122.148981)])
    }

    @Test func interactiveRepliesAndButtonsBecomeText() throws {
        let events = try wa.decode(waWebhook(waValue(messages: #"""
        [{"from":"1","id":"wamid.I1","timestamp":"2","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"b1","title":"Yes"}}},
         {"from":"1","id":"wamid.I2","timestamp":"2","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"r2","title":"Row 2","description":"d"}}},
         {"from":"1","id":"wamid.I3","timestamp":"2","type":"button","button":{"payload":"P","text":"Stop promotions"}}]
        """#)))
        #expect(events.map(\.kind) == [.message, .message, .message])
        #expect(events.map(\.text) == ["Yes", "Row 2", "Stop promotions"])
        #expect(events.map { $0.metadata["payload"] } == ["b1", "r2", "P"])
    }

    @Test func documentAudioVideoAndStickerMedia() throws {
        let events = try wa.decode(waWebhook(waValue(messages: #"""
        [{"from":"1","id":"wamid.A1","timestamp":"2","type":"document","document":{"id":"m1","mime_type":"application/pdf","filename":"a.pdf","caption":"c","sha256":"!!"}},
         {"from":"1","id":"wamid.A2","timestamp":"2","type":"audio","audio":{"id":"m2","mime_type":"audio/ogg","voice":true}},
         {"from":"1","id":"wamid.A3","timestamp":"2","type":"video","video":{"id":"m3","mime_type":"video/mp4"}},
         {"from":"1","id":"wamid.A4","timestamp":"2","type":"sticker","sticker":{"id":"m4","mime_type":"image/webp","animated":false}}]
        """#)))
        #expect(events.map { $0.attachments.first?.kind } == ["file", "audio", "video", "sticker"])
        #expect(events.map { $0.attachments.first?.mediaId } == ["m1", "m2", "m3", "m4"])
        #expect(events[0].attachments.first?.filename == "a.pdf")
        #expect(events[0].attachments.first?.sha256 == "!!")  // not base64: passed through
        #expect(events[1].metadata["voice"] == "1")
    }

    @Test func smbMessageEchoesBecomeEchoesInTheUsersConversation() throws {
        let events = try wa.decode(waWebhook(#"""
        {"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
         "message_echoes":[{"from":"15550783881","to":"16505551234","id":"wamid.EC","timestamp":"20","type":"text","text":{"body":"typed in the app"}}]}
        """#, field: "smb_message_echoes"))
        #expect(events == [BridgeEvent(
            kind: .echo, nativeId: "wamid.EC", conversation: "16505551234", sender: "15550783881",
            recipient: "106540352242922", timestamp: 20_000, text: "typed in the app", metadata: ["echo_of": "message"])])
    }

    @Test func unknownMessageTypesAndFieldsAreUnsupportedNotErrors() throws {
        let events = try wa.decode(waWebhook(waValue(messages: #"""
        [{"from":"1","id":"wamid.C","timestamp":"2","type":"contacts","contacts":[]},
         {"from":"1","id":"wamid.O","timestamp":"2","type":"order","order":{}}]
        """#)))
        #expect(events.map(\.kind) == [.unsupported, .unsupported])
        #expect(events.map { $0.metadata["unsupported_type"] } == ["contacts", "order"])
        let other = try wa.decode(waWebhook(#"{"event":"APPROVED"}"#, field: "message_template_status_update"))
        #expect(other.map(\.kind) == [.unsupported])
        #expect(other.first?.metadata["field"] == "message_template_status_update")
    }

    @Test func malformedAndIncompleteBodiesGiveTypedErrors() {
        #expect(adapterError { try wa.decode(bytes("{")) }?.code == .malformedPayload)
        #expect(adapterError { try wa.decode(bytes("[1]")) }?.code == .malformedPayload)
        #expect(adapterError { try wa.decode([]) }?.code == .malformedPayload)
        #expect(adapterError { try wa.decode(bytes(#"{"object":"page","entry":[]}"#)) }?.code == .malformedPayload)
        #expect(adapterError { try wa.decode(bytes(#"{"entry":[]}"#)) }?.code == .missingField)
        #expect(adapterError { try wa.decode(bytes(#"{"object":"whatsapp_business_account"}"#)) }?.code == .missingField)
        #expect(adapterError { try wa.decode(waWebhook(waValue(messages: #"[{"from":"1","timestamp":"1","type":"text","text":{"body":"x"}}]"#))) }?.code == .missingField)
        #expect(adapterError { try wa.decode(waWebhook(waValue(messages: #"[{"from":"1","id":"w","type":"text","text":{"body":"x"}}]"#))) }?.code == .missingField)
        #expect(adapterError { try wa.decode(waWebhook(waValue(messages: #"[{"from":"1","id":"w","timestamp":"soon","type":"text","text":{"body":"x"}}]"#))) }?.code == .missingField)
        #expect(adapterError { try wa.decode(waWebhook(waValue(messages: #"[{"id":"w","timestamp":"1","type":"text","text":{"body":"x"}}]"#))) }?.code == .missingField)
        #expect(adapterError { try wa.decode(waWebhook(waValue(messages: #"[{"from":"1","id":"w","timestamp":"1","type":"reaction","reaction":{}}]"#))) }?.code == .missingField)
        #expect(adapterError { try wa.decode(waWebhook(#"{"messages":[{"from":"1","id":"w","timestamp":"1","type":"text","text":{"body":"x"}}]}"#)) }?.code == .missingField)
        #expect(adapterError { try wa.decode(waWebhook(waValue(messages: #"[{"from":"1","id":"w","timestamp":"99999999999999999","type":"text","text":{"body":"x"}}]"#))) }?.code == .malformedPayload)
    }

    @Test func emptyChangeValueYieldsNoEvents() throws {
        #expect(try wa.decode(waWebhook(waValue())).isEmpty)
        #expect(try wa.decode(bytes(#"{"object":"whatsapp_business_account","entry":[]}"#)).isEmpty)
    }
}
